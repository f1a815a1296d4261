"""Acting on a segment: label its members, export them; follow each action and its job."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload

from domain.actions import export as exports
from domain.actions import service as actions
from domain.actions import workbook
from domain.actions.models import SegmentAction as SegmentActionRow
from domain.catalog.service import rows_by_id
from domain.catalog.models import Event as EventRow
from domain.catalog.models import Production as ProductionRow
from domain.jobs_state.models import Job as JobRow
from domain.segments.models import Segment as SegmentRow
from graph.catalog.types import Event, Production
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import from_global_id, to_global_id
from graph.core.inputs import reference_pk
from graph.core.loaders import BatchLoader, loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import CanEdit, IsStaff
from graph.jobs.schema import Job, JobStarted
from graph.mail.types import (
    LedgerCountsByActionLoader,
    MailSendConnection,
    SendCounts,
    SendStatus,
    send_counts,
    sends_page,
)
from graph.segments.inputs import SegmentModeInput, mode_of
from graph.segments.schema import Segment

if TYPE_CHECKING:
    from graph.recommendations.schema import PersonalPick


def _rows(ctx, model):
    return BatchLoader(lambda ids: rows_by_id(ctx.session, model, ctx.viewer.account_id, ids))


def JobByIdLoader(ctx) -> BatchLoader:
    return _rows(ctx, JobRow)


def SegmentByIdLoader(ctx) -> BatchLoader:
    return _rows(ctx, SegmentRow)


def EventOfActionLoader(ctx) -> BatchLoader:
    return _rows(ctx, EventRow)


def ProductionOfActionLoader(ctx) -> BatchLoader:
    return _rows(ctx, ProductionRow)


@strawberry.enum(description="What an action does with the segment's members.")
class SegmentActionKind(enum.Enum):
    EXPORT = "export"
    LABEL = "label"
    OFFER = "offer"
    PUSH = "push"
    PICKS = "picks"


@strawberry.enum(description="Whom an action's members were taken for (see SegmentModeInput).")
class SegmentActionMode(enum.Enum):
    ALL = "all"
    EVENT = "event"
    PRODUCTION = "production"


@strawberry.type(
    description="An action on a segment's members (a label, an export, an offer e-mail, an audience push), run as "
    "a job over a snapshot of the members taken when it started: a retry acts on the same persons."
)
class SegmentAction(Node):
    kind: SegmentActionKind
    segment_name: str = strawberry.field(description="The segment's name when the action started.")
    mode: SegmentActionMode
    members: int | None = strawberry.field(description="The snapshot's size; null until it is taken.")
    snapshot_at: datetime | None
    created_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("SegmentAction", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (SegmentActionRow, cls))

    @strawberry.field(description="Null when the segment was deleted meanwhile.")
    def segment(self, info: Info) -> Segment | None:
        return None if self.segment_id is None else loader(info.context, SegmentByIdLoader).load(self.segment_id)  # type: ignore[attr-defined, return-value]

    @strawberry.field(description="In event mode: the event (null when deleted meanwhile).")
    def event(self, info: Info) -> Event | None:
        return None if self.event_id is None else loader(info.context, EventOfActionLoader).load(self.event_id)  # type: ignore[attr-defined, return-value]

    @strawberry.field(description="In production mode: the production (null when deleted meanwhile).")
    def production(self, info: Info) -> Production | None:
        production_id = self.production_id  # type: ignore[attr-defined]
        return None if production_id is None else loader(info.context, ProductionOfActionLoader).load(production_id)  # type: ignore[return-value]

    @strawberry.field(description="The job that runs it: status, progress (jobProgress), result, error.")
    def job(self, info: Info) -> Job:
        return loader(info.context, JobByIdLoader).load(self.job_id)  # type: ignore[attr-defined, return-value]

    @strawberry.field(
        description="For a finished export: a signed link to its file that works for MARQUEE_DOWNLOAD_LINK_SECONDS "
        "(an hour by default; read this field again for a fresh one). Null before the file is written."
    )
    def download_url(self, info: Info) -> str | None:
        if self.kind != SegmentActionKind.EXPORT.value or self.file is None:  # type: ignore[attr-defined]
            return None
        settings = info.context.runtime.settings
        return settings.base_url + exports.download_path(settings.secret_key, self, settings.download_link_seconds)  # type: ignore[arg-type]

    @strawberry.field(description="For an offer: its send ledger counted (null for other actions).")
    def send_counts(self, info: Info) -> SendCounts | None:
        if self.kind != SegmentActionKind.OFFER.value:
            return None
        return send_counts(info, self.id)  # type: ignore[arg-type]

    @strawberry.field(
        description="For an offer: each member's mail (status, reason, address), by person; only those with status "
        "when given. " + FIRST_DESCRIPTION
    )
    def sends(
        self, info: Info, status: SendStatus | None = None, first: int | None = None, after: str | None = None
    ) -> MailSendConnection | None:
        if self.kind != SegmentActionKind.OFFER.value:
            return None
        return sends_page(info, self.id, status, first, after)  # type: ignore[arg-type]

    @strawberry.field(
        description="For a personal picks action: what it picked for one member, best first (empty for a person "
        "not in its snapshot; null for other actions)."
    )
    def personal_picks(
        self, info: Info, person_id: strawberry.ID
    ) -> list[Annotated[PersonalPick, strawberry.lazy("graph.recommendations.schema")]] | None:
        from domain.recommendations import picks  # noqa: PLC0415
        from graph.recommendations.schema import personal_pick_of  # noqa: PLC0415

        if self.kind != SegmentActionKind.PICKS.value:
            return None
        person = reference_pk(person_id, "Person")
        found = picks.member_picks(info.context.session, info.context.viewer.account_id, self.id, [person])  # type: ignore[arg-type]
        return [personal_pick_of(p) for p in found[person]]  # type: ignore[misc]


@strawberry.type
class SegmentActionConnection:
    edges: list[Edge[SegmentAction]]
    page_info: PageInfo


@strawberry.type
class SegmentActionStarted:
    action: SegmentAction


@strawberry.input(description="Tag every member of a segment (source staff, by you) as it is when the job starts.")
class LabelSegmentMembersInput:
    segment_id: strawberry.ID
    tag_ids: list[strawberry.ID] = strawberry.field(description=f"1 to {actions.MAX_LABEL_TAGS} tags.")
    mode: SegmentModeInput | None = strawberry.field(
        default=None, description="Label the members for an event or a production (ticket holders left out)."
    )


@strawberry.enum(description="How a CSV export is written.")
class CsvDialect(enum.Enum):
    STANDARD = "standard"
    EXCEL_NL = "excel_nl"


@strawberry.enum(description="A contact field a CSV export may hold.")
class ContactField(enum.Enum):
    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    GENDER = "gender"
    BIRTH_DATE = "birth_date"
    LANGUAGE = "language"
    ADDRESS = "address"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    COUNTRY = "country"


@strawberry.enum(description="The file an export writes.")
class ExportFormat(enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"


@strawberry.input(description="Export a segment's members to a file (a job); download it through downloadUrl.")
class ExportSegmentInput:
    segment_id: strawberry.ID
    format: ExportFormat = strawberry.field(
        default=ExportFormat.CSV,
        description="CSV: the chosen contact fields. XLSX: all customer data in the layout updatePersonsFromWorkbook "
        "reads back (fields and dialect do not apply).",
    )
    fields: list[ContactField] = strawberry.field(
        default_factory=lambda: [ContactField.EMAIL, ContactField.FIRST_NAME, ContactField.LAST_NAME],
        description=f"The columns, in this order (each at most once; {len(exports.CONTACT_FIELDS)} exist).",
    )
    dialect: CsvDialect = strawberry.field(
        default=CsvDialect.STANDARD,
        description="STANDARD: UTF-8, comma (RFC 4180). EXCEL_NL: what a Dutch Excel opens by double-click — UTF-8 "
        "with byte-order mark, semicolons, and cells that would start a formula prefixed with an apostrophe.",
    )
    mode: SegmentModeInput | None = None


LabelSegmentMembersPayload, LabelSegmentMembersError, LabelSegmentMembersFailure = mutation_payload(
    "LabelSegmentMembers", SegmentActionStarted
)
ExportSegmentPayload, ExportSegmentError, ExportSegmentFailure = mutation_payload("ExportSegment", SegmentActionStarted)


def _target(segment_id: strawberry.ID, mode: SegmentModeInput | None) -> actions.Target:
    return actions.Target(segment_id=reference_pk(segment_id, "Segment"), mode=mode_of(mode))


@strawberry.type
class ActionQuery:
    @strawberry.field(
        permission_classes=[IsStaff],
        description="Actions on segments, newest first; only those on one segment with segmentId. " + FIRST_DESCRIPTION,
    )
    def segment_actions(
        self, info: Info, segment_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> SegmentActionConnection:
        ctx = info.context
        segment = None if segment_id is None else reference_pk(segment_id, "Segment")
        page = actions.list_actions(ctx.session, ctx.viewer.account_id, segment_id=segment, first=first, after=after)
        loader(ctx, JobByIdLoader).want(a.job_id for a in page.items)
        loader(ctx, LedgerCountsByActionLoader).want(a.id for a in page.items if a.kind == "offer")
        return SegmentActionConnection(edges=edges(page), page_info=page_info(page))


@strawberry.type
class ActionMutation:
    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Tag every member of a segment (as it is when the job starts) with one or more tags, source "
        "staff. Follow the action's job; its result counts the links added per tag.",
    )
    def label_segment_members(self, info: Info, input: LabelSegmentMembersInput) -> LabelSegmentMembersPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            return SegmentActionStarted(
                action=actions.start_label(
                    ctx.session,
                    viewer.account_id,
                    _target(input.segment_id, input.mode),
                    tag_ids=[reference_pk(t, "Tag") for t in input.tag_ids],
                    actor=f"staff:{viewer.staff_user_id}",
                    created_by=viewer.staff_user_id,
                )
            )

        return run_mutation(info, action, LabelSegmentMembersError, LabelSegmentMembersFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Export a segment's members (as they are when the job starts) to a CSV file; when the job has "
        "succeeded, the action's downloadUrl gives the file.",
    )
    def export_segment(self, info: Info, input: ExportSegmentInput) -> ExportSegmentPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            if input.format is ExportFormat.XLSX:
                return SegmentActionStarted(
                    action=workbook.start_xlsx_export(
                        ctx.session,
                        viewer.account_id,
                        _target(input.segment_id, input.mode),
                        created_by=viewer.staff_user_id,
                    )
                )
            options = exports.CsvOptions(
                fields=tuple(f.value for f in input.fields), dialect=exports.CsvDialect(input.dialect.value)
            )
            return SegmentActionStarted(
                action=exports.start_csv_export(
                    ctx.session,
                    viewer.account_id,
                    _target(input.segment_id, input.mode),
                    options,
                    created_by=viewer.staff_user_id,
                )
            )

        return run_mutation(info, action, ExportSegmentError, ExportSegmentFailure)


@strawberry.input(description="A workbook in the layout of an XLSX segment export, cells changed.")
class UpdatePersonsFromWorkbookInput:
    file: Upload = strawberry.field(
        description="The .xlsx file, sent as a GraphQL multipart request (at most MARQUEE_UPLOAD_MAX_BYTES)."
    )


UpdatePersonsFromWorkbookPayload, UpdatePersonsFromWorkbookError, UpdatePersonsFromWorkbookFailure = mutation_payload(
    "UpdatePersonsFromWorkbook", JobStarted
)


@strawberry.type
class WorkbookMutation:
    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Update persons from a workbook (the layout of an XLSX segment export) in the background. Each "
        "row is applied whole or not at all; the job's result counts updated, unchanged and refused rows and lists "
        "each refused row with its column and reason.",
    )
    def update_persons_from_workbook(
        self, info: Info, input: UpdatePersonsFromWorkbookInput
    ) -> UpdatePersonsFromWorkbookPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            return JobStarted(
                job=workbook.start_workbook_update(
                    ctx.session,
                    viewer.account_id,
                    stream=input.file.file,
                    storage_dir=ctx.runtime.settings.storage,
                    max_bytes=ctx.runtime.settings.upload_max_bytes,
                    created_by=viewer.staff_user_id,
                )
            )

        return run_mutation(info, action, UpdatePersonsFromWorkbookError, UpdatePersonsFromWorkbookFailure)


def decode_action_id(global_id: str) -> int | None:
    decoded = from_global_id(global_id, "SegmentAction")
    return None if decoded is None else decoded[1]
