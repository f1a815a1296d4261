"""Background jobs: poll their status and progress; start the demo-data load."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import anyio

import strawberry
from strawberry.scalars import JSON

from graphql import GraphQLError

from domain.accounts import service as accounts
from domain.demo import service as demo
from domain.jobs_state import service as jobs_state
from domain.jobs_state.models import Job as JobRow
from domain.jobs_state.models import JobStatus
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import from_global_id, to_global_id
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import IsAdmin, IsStaff


@strawberry.type(description="Long work (imports, exports, sends, demo data) done by a worker.")
class Job(Node):
    kind: str
    status: str = strawberry.field(description="queued, running, succeeded or failed.")
    progress: float = strawberry.field(description="From 0 to 1.")
    progress_message: str
    result: JSON | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Job", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (JobRow, cls))


@strawberry.type
class JobConnection:
    edges: list[Edge[Job]]
    page_info: PageInfo


@strawberry.type
class JobQuery:
    @strawberry.field(permission_classes=[IsStaff], description="One job; null when not found in your account.")
    def job(self, info: Info, id: strawberry.ID) -> Job | None:
        decoded = from_global_id(id, "Job")
        if decoded is None:
            return None
        return jobs_state.get_job(info.context.session, info.context.viewer.account_id, decoded[1])

    @strawberry.field(permission_classes=[IsStaff], description="Jobs, newest first. " + FIRST_DESCRIPTION)
    def jobs(self, info: Info, first: int | None = None, after: str | None = None) -> JobConnection:
        page = jobs_state.list_jobs(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return JobConnection(edges=edges(page), page_info=page_info(page))


POLL_SECONDS = 0.5  # without a listening connection: look at the job this often
RECHECK_SECONDS = 10.0  # with one (a change wakes the subscription at once): look anyway this often
FINAL_STATUSES = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)


@strawberry.type
class JobSubscription:
    @strawberry.subscription(
        permission_classes=[IsStaff],
        description=(
            "A job as it changes (status, progress, message), over graphql-transport-ws: the current state "
            "first, then each change; ends after it succeeded or failed. One null when not found in your account."
        ),
    )
    async def job_progress(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Job | None, None]:
        ctx = info.context
        account_id = ctx.viewer.account_id
        decoded = from_global_id(id, "Job")
        if decoded is None:
            yield None
            return

        token_id = ctx.viewer.token_id

        def read():
            with ctx.runtime.new_session(read_only=True) as session:  # a short session per look
                if token_id is not None and not accounts.token_is_valid(session, token_id):
                    raise GraphQLError("the token was revoked or has expired", extensions={"code": "UNAUTHENTICATED"})
                return jobs_state.get_job(session, account_id, decoded[1])

        # Woken by the job row's change notification (migration 0006), registered before the
        # first look so that no change slips between a look and the wait.
        listener = ctx.runtime.listener(jobs_state.JOB_CHANNEL)
        async with listener.waiter(str(decoded[1])) as waiter:
            seen = None
            while True:
                job = await anyio.to_thread.run_sync(read)
                if job is None:
                    yield None
                    return
                state = (job.status, job.progress, job.progress_message)
                if state != seen:
                    seen = state
                    yield job
                if job.status in FINAL_STATUSES:
                    return
                await waiter.wait(RECHECK_SECONDS if listener.listening else POLL_SECONDS)


@strawberry.input
class LoadDemoDataInput:
    people: int = strawberry.field(default=10_000, description="Persons to generate (1 to 5,000,000).")
    seed: int = strawberry.field(default=42, description="Same seed, same data (0 to 2147483647).")


@strawberry.type
class JobStarted:
    job: Job


LoadDemoDataPayload, LoadDemoDataError, LoadDemoDataFailure = mutation_payload("LoadDemoData", JobStarted)


@strawberry.type
class JobMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Fill this (empty) account with demo data in the background; poll the job.",
    )
    def load_demo_data(self, info: Info, input: LoadDemoDataInput) -> LoadDemoDataPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():  # the job reaches the queue when this commits
            return JobStarted(
                job=demo.start_demo_load(
                    ctx.session,
                    viewer.account_id,
                    people=input.people,
                    seed=input.seed,
                    created_by=viewer.staff_user_id,
                )
            )

        return run_mutation(info, action, LoadDemoDataError, LoadDemoDataFailure)
