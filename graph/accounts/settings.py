"""An account's settings, consent types and custom fields through GraphQL (admin only):
``domain.accounts.settings``, ``domain.people.consents``, ``domain.people.custom_fields``."""

from __future__ import annotations

import strawberry

from domain.accounts import settings
from domain.people import consents, custom_fields
from graph.accounts.schema import Account
from graph.catalog.types import ConsentType, CustomFieldDefinition
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.inputs import reference_pk, to_domain
from graph.core.permissions import IsAdmin
from graph.jobs.schema import Job


@strawberry.input(description="Only what is given changes.")
class ChangeAccountSettingsInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="At most 200 characters.")
    timezone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An IANA zone (Europe/Amsterdam). Day-based conditions follow it once the job this queues "
        "has dated orders and events again.",
    )
    modules: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The whole new list. Switching recommendations on queues a rescore; switching a module off "
        "deletes nothing.",
    )
    tag_name_policy: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="preserve or canonical. To canonical: every tag gets its canonical name; tags that would "
        "then share one are reported (CONFLICT, nothing changed) unless mergeCollidingTags.",
    )
    merge_colliding_tags: bool = strawberry.field(
        default=False, description="With tagNamePolicy canonical: merge each colliding group into its oldest tag."
    )
    page_language: str | None = strawberry.field(
        default=strawberry.UNSET, description="nl or en: the language of the preference centre."
    )
    brand_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The venue's name on its pages (\"\": the account's name)."
    )
    logo_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="An https:// address of the venue's logo (null: none)."
    )
    brand_colour: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="#rrggbb for buttons and headings; white text must read on it (contrast at least 4.5:1).",
    )


@strawberry.type
class AccountSettingsChanged:
    account: Account
    jobs: list[Job] = strawberry.field(description="Follow-up work queued (local dates, rescore).")
    merged_tags: int = strawberry.field(description="Tags merged into another (their canonical names collided).")
    renamed_tags: int = strawberry.field(description="Tags that took their canonical name.")


ChangeAccountSettingsPayload, ChangeAccountSettingsError, ChangeAccountSettingsFailure = mutation_payload(
    "ChangeAccountSettings", AccountSettingsChanged
)


@strawberry.input(description="Feeds and exports name a consent by its key: lower-case letters, digits, - and _.")
class CreateConsentTypeInput:
    key: str
    name: str = strawberry.field(description="What the person is asked (at most 200 characters).")
    description: str = strawberry.field(default="", description="At most 2,000 characters.")


@strawberry.input(description="Only what is given changes; the key stays.")
class ChangeConsentTypeInput:
    consent_type_id: strawberry.ID
    name: str | None = strawberry.field(default=strawberry.UNSET)
    description: str | None = strawberry.field(default=strawberry.UNSET)


@strawberry.input
class RetireConsentTypeInput:
    consent_type_id: strawberry.ID


@strawberry.type
class ConsentTypeSuccess:
    consent_type: ConsentType


CreateConsentTypePayload, CreateConsentTypeError, CreateConsentTypeFailure = mutation_payload(
    "CreateConsentType", ConsentTypeSuccess
)
ChangeConsentTypePayload, ChangeConsentTypeError, ChangeConsentTypeFailure = mutation_payload(
    "ChangeConsentType", ConsentTypeSuccess
)
RetireConsentTypePayload, RetireConsentTypeError, RetireConsentTypeFailure = mutation_payload(
    "RetireConsentType", ConsentTypeSuccess
)


@strawberry.input(description="A key (a letter, then letters, digits or _) and type never change.")
class CreateCustomFieldInput:
    key: str
    label: str
    type: str = strawberry.field(description="text, number, date, boolean or choice.")
    choices: list[str] = strawberry.field(default_factory=list, description="A choice field's values: 1 to 100.")
    description: str = ""


@strawberry.input(description="Only what is given changes.")
class ChangeCustomFieldInput:
    key: str
    label: str | None = strawberry.field(default=strawberry.UNSET)
    description: str | None = strawberry.field(default=strawberry.UNSET)


@strawberry.input
class RetireCustomFieldInput:
    key: str


@strawberry.type
class CustomFieldSuccess:
    custom_field: CustomFieldDefinition


CreateCustomFieldPayload, CreateCustomFieldError, CreateCustomFieldFailure = mutation_payload(
    "CreateCustomField", CustomFieldSuccess
)
ChangeCustomFieldPayload, ChangeCustomFieldError, ChangeCustomFieldFailure = mutation_payload(
    "ChangeCustomField", CustomFieldSuccess
)
RetireCustomFieldPayload, RetireCustomFieldError, RetireCustomFieldFailure = mutation_payload(
    "RetireCustomField", CustomFieldSuccess
)


@strawberry.type
class AccountSettingsMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="A new field the account keeps on persons.")
    def create_custom_field(self, info: Info, input: CreateCustomFieldInput) -> CreateCustomFieldPayload | None:
        ctx = info.context

        def action():
            made = custom_fields.create_custom_field(
                ctx.session,
                ctx.viewer.account_id,
                key=input.key,
                label=input.label,
                type=input.type,
                choices=tuple(input.choices),
                description=input.description,
            )
            return CustomFieldSuccess(custom_field=made)

        return run_mutation(info, action, CreateCustomFieldError, CreateCustomFieldFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Relabel or describe a custom field.")
    def change_custom_field(self, info: Info, input: ChangeCustomFieldInput) -> ChangeCustomFieldPayload | None:
        ctx = info.context

        def action():
            changes = to_domain(input, custom_fields.CustomFieldChanges, skip=("key",))
            changed = custom_fields.change_custom_field(ctx.session, ctx.viewer.account_id, input.key, changes)
            return CustomFieldSuccess(custom_field=changed)

        return run_mutation(info, action, ChangeCustomFieldError, ChangeCustomFieldFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Stop writing and testing a custom field; persons' values stay. Refused while segments test it.",
    )
    def retire_custom_field(self, info: Info, input: RetireCustomFieldInput) -> RetireCustomFieldPayload | None:
        ctx = info.context

        def action():
            retired = custom_fields.retire_custom_field(ctx.session, ctx.viewer.account_id, input.key)
            return CustomFieldSuccess(custom_field=retired)

        return run_mutation(info, action, RetireCustomFieldError, RetireCustomFieldFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="A new consent the account asks for.")
    def create_consent_type(self, info: Info, input: CreateConsentTypeInput) -> CreateConsentTypePayload | None:
        ctx = info.context

        def action():
            made = consents.create_consent_type(
                ctx.session, ctx.viewer.account_id, key=input.key, name=input.name, description=input.description
            )
            return ConsentTypeSuccess(consent_type=made)

        return run_mutation(info, action, CreateConsentTypeError, CreateConsentTypeFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Rename a consent type or describe it anew.")
    def change_consent_type(self, info: Info, input: ChangeConsentTypeInput) -> ChangeConsentTypePayload | None:
        ctx = info.context

        def action():
            changes = to_domain(input, consents.ConsentTypeChanges, skip=("consent_type_id",))
            type_id = reference_pk(input.consent_type_id, "ConsentType")
            changed = consents.change_consent_type(ctx.session, ctx.viewer.account_id, type_id, changes)
            return ConsentTypeSuccess(consent_type=changed)

        return run_mutation(info, action, ChangeConsentTypeError, ChangeConsentTypeFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Stop asking for a consent; persons' states stay. Refused while segments use it.",
    )
    def retire_consent_type(self, info: Info, input: RetireConsentTypeInput) -> RetireConsentTypePayload | None:
        ctx = info.context

        def action():
            type_id = reference_pk(input.consent_type_id, "ConsentType")
            retired = consents.retire_consent_type(ctx.session, ctx.viewer.account_id, type_id)
            return ConsentTypeSuccess(consent_type=retired)

        return run_mutation(info, action, RetireConsentTypeError, RetireConsentTypeFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="The account's name, time zone, modules and tag name policy."
    )
    def change_account_settings(
        self, info: Info, input: ChangeAccountSettingsInput
    ) -> ChangeAccountSettingsPayload | None:
        ctx = info.context

        def action():
            changes = to_domain(input, settings.SettingsChanges)
            done = settings.change_settings(
                ctx.session, ctx.viewer.account_id, changes, changed_by=ctx.viewer.staff_user_id
            )
            return AccountSettingsChanged(
                account=done.account, jobs=list(done.jobs), merged_tags=done.merged_tags, renamed_tags=done.renamed_tags
            )

        return run_mutation(info, action, ChangeAccountSettingsError, ChangeAccountSettingsFailure)


__all__ = ["AccountSettingsMutation"]
