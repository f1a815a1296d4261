"""Offer e-mails through GraphQL: layouts, sending an offer to a segment, its send ledger."""

from __future__ import annotations

import enum

import strawberry

from domain.mail import audiences, offers
from graph.actions.schema import SegmentActionStarted, _target
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.inputs import reference_pk
from graph.core.permissions import CanEdit, IsStaff
from graph.mail.types import MailLayout
from graph.segments.inputs import SegmentModeInput


@strawberry.input
class MailLayoutInput:
    name: str
    html: str = strawberry.field(description="At most 100,000 characters; must place {{ unsubscribe_url }}.")
    text: str = ""


@strawberry.input
class UpdateMailLayoutInput:
    id: strawberry.ID
    name: str
    html: str
    text: str = ""


@strawberry.input
class DeleteMailLayoutInput:
    id: strawberry.ID


@strawberry.type
class MailLayoutSuccess:
    layout: MailLayout


@strawberry.type
class DeleteMailLayoutSuccess:
    deleted_id: strawberry.ID


@strawberry.input(
    description="Mail an offer to a segment's members for an event or a production (mode is required): only to "
    "those whose consent is granted when their mail goes, each at most once."
)
class SendOfferInput:
    segment_id: strawberry.ID
    mode: SegmentModeInput | None = strawberry.field(
        default=None,
        description="Required: the event or production offered (its ticket holders are left out). Without it the "
        "offer is refused with REQUIRED at input.mode.",
    )
    layout_id: strawberry.ID
    consent_type_id: strawberry.ID = strawberry.field(description="The consent a member must have granted.")
    subject: str = strawberry.field(
        description="A template (at most 300 characters), e.g. 'Voor jou, {{ person.first_name }}'."
    )
    text: str = strawberry.field(description="The custom text, a template; becomes {{ content }} in the layout.")
    offer_url: str = strawberry.field(description="The event's or production's page; tracked in the mail.")
    mailer: str = strawberry.field(default="mailer.smtp", description="A registered mailer (see plugins).")
    picks_action_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A finished computePersonalPicks action: each mail's templates get the person's picks as "
        "{{ picks }} (title, starts_at, venue, reasons).",
    )


@strawberry.enum(description="A contact field an audience push sends with each member.")
class PushField(enum.Enum):
    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    LANGUAGE = "language"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    COUNTRY = "country"


@strawberry.input(description="Hand a segment's members to an external tool through an audience pusher, in batches.")
class PushAudienceInput:
    segment_id: strawberry.ID
    pusher: str = strawberry.field(default="audience.webhook", description="A registered pusher (see plugins).")
    fields: list[PushField] = strawberry.field(
        default_factory=lambda: [PushField.EMAIL, PushField.FIRST_NAME, PushField.LAST_NAME],
        description="Sent with each member besides its id.",
    )
    mode: SegmentModeInput | None = None


PushAudiencePayload, PushAudienceError, PushAudienceFailure = mutation_payload("PushAudience", SegmentActionStarted)
CreateMailLayoutPayload, CreateMailLayoutError, CreateMailLayoutFailure = mutation_payload(
    "CreateMailLayout", MailLayoutSuccess
)
UpdateMailLayoutPayload, UpdateMailLayoutError, UpdateMailLayoutFailure = mutation_payload(
    "UpdateMailLayout", MailLayoutSuccess
)
DeleteMailLayoutPayload, DeleteMailLayoutError, DeleteMailLayoutFailure = mutation_payload(
    "DeleteMailLayout", DeleteMailLayoutSuccess
)
SendOfferPayload, SendOfferError, SendOfferFailure = mutation_payload("SendOffer", SegmentActionStarted)


@strawberry.type
class MailQuery:
    @strawberry.field(permission_classes=[IsStaff], description="The account's mail layouts, by name.")
    def mail_layouts(self, info: Info) -> list[MailLayout]:
        return offers.list_layouts(info.context.session, info.context.viewer.account_id)  # type: ignore[return-value]


@strawberry.type
class MailMutation:
    @strawberry.mutation(permission_classes=[CanEdit], description="Add a mail layout (its templates must compile).")
    def create_mail_layout(self, info: Info, input: MailLayoutInput) -> CreateMailLayoutPayload | None:
        ctx = info.context

        def action():
            layout = offers.create_layout(
                ctx.session, ctx.viewer.account_id, name=input.name, html=input.html, text_=input.text
            )
            return MailLayoutSuccess(layout=layout)  # type: ignore[arg-type]

        return run_mutation(info, action, CreateMailLayoutError, CreateMailLayoutFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit], description="Change a layout; offers already started keep their copy."
    )
    def update_mail_layout(self, info: Info, input: UpdateMailLayoutInput) -> UpdateMailLayoutPayload | None:
        ctx = info.context

        def action():
            layout = offers.update_layout(
                ctx.session,
                ctx.viewer.account_id,
                reference_pk(input.id, "MailLayout"),
                name=input.name,
                html=input.html,
                text_=input.text,
            )
            return MailLayoutSuccess(layout=layout)  # type: ignore[arg-type]

        return run_mutation(info, action, UpdateMailLayoutError, UpdateMailLayoutFailure)

    @strawberry.mutation(permission_classes=[CanEdit], description="Delete a layout; offers under way keep their copy.")
    def delete_mail_layout(self, info: Info, input: DeleteMailLayoutInput) -> DeleteMailLayoutPayload | None:
        ctx = info.context

        def action():
            offers.delete_layout(ctx.session, ctx.viewer.account_id, reference_pk(input.id, "MailLayout"))
            return DeleteMailLayoutSuccess(deleted_id=input.id)

        return run_mutation(info, action, DeleteMailLayoutError, DeleteMailLayoutFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Push a segment's members (as they are when the job starts) to an external tool in batches of "
        "100; each batch keeps its webhook-id over retries. Follow the action's job.",
    )
    def push_audience(self, info: Info, input: PushAudienceInput) -> PushAudiencePayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            started = audiences.start_push(
                ctx.session,
                viewer.account_id,
                _target(input.segment_id, input.mode),
                pusher=input.pusher,
                fields=tuple(f.value for f in input.fields),
                pushers=ctx.runtime.plugins.audience_pushers(),
                created_by=viewer.staff_user_id,
            )
            return SegmentActionStarted(action=started)  # type: ignore[arg-type]

        return run_mutation(info, action, PushAudienceError, PushAudienceFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Mail an offer to a segment's members for an event or a production, within minutes. Follow the "
        "action's job; its sendCounts and sends say who got one and why others did not.",
    )
    def send_offer(self, info: Info, input: SendOfferInput) -> SendOfferPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            spec = offers.OfferSpec(
                layout_id=reference_pk(input.layout_id, "MailLayout"),
                consent_type_id=reference_pk(input.consent_type_id, "ConsentType"),
                subject=input.subject,
                text=input.text,
                offer_url=input.offer_url,
                mailer=input.mailer,
                picks_action_id=None
                if input.picks_action_id is None
                else reference_pk(input.picks_action_id, "SegmentAction"),
            )
            plugins = ctx.runtime.plugins
            started = offers.start_offer(
                ctx.session,
                viewer.account_id,
                _target(input.segment_id, input.mode),
                spec,
                mailers=plugins.mailers(),
                infos=plugins.plugin_infos(),
                created_by=viewer.staff_user_id,
            )
            return SegmentActionStarted(action=started)  # type: ignore[arg-type]

        return run_mutation(info, action, SendOfferError, SendOfferFailure)
