"""Feed imports through GraphQL: upload a feed file, follow its job."""

from __future__ import annotations

import enum

import strawberry
from strawberry.file_uploads import Upload

from domain.imports import service as imports
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.permissions import CanImport
from graph.jobs.schema import JobStarted


@strawberry.enum(description="How a feed file is written (plugins/ticketing/README.md).")
class FeedFormat(enum.Enum):
    JSONL = "jsonl"
    CSV = "csv"


@strawberry.input
class ImportFeedInput:
    file: Upload = strawberry.field(
        description="The feed, sent as a GraphQL multipart request (at most MARQUEE_UPLOAD_MAX_BYTES, 1 GiB)."
    )
    plugin: str = strawberry.field(default="ticketing", description="The installed plugin whose feed this is.")
    format: FeedFormat | None = strawberry.field(default=None, description="Default: by the file name (.csv).")


ImportFeedPayload, ImportFeedError, ImportFeedFailure = mutation_payload("ImportFeed", JobStarted)


@strawberry.input
class PullFeedInput:
    reader: str = strawberry.field(description='A registered feed reader, e.g. "ticketing.pull" (see `plugins`).')


PullFeedPayload, PullFeedError, PullFeedFailure = mutation_payload("PullFeed", JobStarted)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        permission_classes=[CanImport],
        description="Import a feed file in the background: follow the job (jobProgress); its result counts what "
        "was created, updated and left unchanged per kind, and lists refused records with their reasons.",
    )
    def import_feed(self, info: Info, input: ImportFeedInput) -> ImportFeedPayload | None:
        ctx, viewer = info.context, info.context.viewer
        settings = ctx.runtime.settings

        def action():
            upload = input.file
            job = imports.start_feed_import(
                ctx.session,
                viewer.account_id,
                ctx.runtime.plugins.plugin_infos(),
                plugin=input.plugin,
                stream=upload.file,
                filename=upload.filename or "feed",
                format=input.format.value if input.format else None,
                storage_dir=settings.storage,
                max_bytes=settings.upload_max_bytes,
                created_by=viewer.staff_user_id,
            )
            return JobStarted(job=job)

        return run_mutation(info, action, ImportFeedError, ImportFeedFailure)

    @strawberry.mutation(
        permission_classes=[CanImport],
        description="Run a feed reader now, from where its last run stopped; follow the job (jobProgress).",
    )
    def pull_feed(self, info: Info, input: PullFeedInput) -> PullFeedPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            plugins = ctx.runtime.plugins
            job = imports.start_feed_pull(
                ctx.session,
                viewer.account_id,
                plugins.plugin_infos(),
                plugins.feed_readers(),
                reader=input.reader,
                created_by=viewer.staff_user_id,
            )
            return JobStarted(job=job)

        return run_mutation(info, action, PullFeedError, PullFeedFailure)
