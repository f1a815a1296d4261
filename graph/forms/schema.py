"""Forms, the preference centre (person viewers) and preference links."""

from __future__ import annotations

import dataclasses
from datetime import datetime


import strawberry

from domain.errors import ErrorCode as Code
from domain.errors import InputError
from domain.forms import service as forms
from domain.forms.models import Form as FormRow
from domain.tags.visibility import roots
from domain.viewer import ViewerKind
from graph.accounts.schema import PageLook, page_look
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from domain.changes import UNSET
from graph.core.ids import pk_of, pks_of, to_global_id
from graph.core.inputs import reference_pk, to_domain
from graph.executor import Shared
from graph.core.node import Node
from graph.core.permissions import CanEdit, IsAuthenticated, IsStaff
from graph.tags.types import Tag
from graph.tags.views import tag_global_id, viewer_tag_views


@strawberry.type(description="A campaign step form or the preference centre.")
class Form(Node):
    title: str
    tags_title: str
    tags_description: str
    kind: str = strawberry.field(description="preference_centre or campaign.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Form", self.id))

    @strawberry.field(description="The tags on the form, in the form's order (staff view).")
    def tags(self, info: Info) -> list[Tag]:
        ctx = info.context
        positions = forms.form_tag_positions(ctx.session, ctx.viewer.account_id, self.id)
        views = viewer_tag_views(ctx)
        return [views[pk] for pk in sorted(positions, key=positions.get) if pk in views]

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (FormRow, cls))


@strawberry.type(description="A consent the person can grant or withdraw on the preference centre.")
class ConsentChoice:
    consent_type_id: strawberry.ID
    name: str
    description: str
    granted: bool


@strawberry.type(description="The preference centre as the person of the link sees it.")
class PreferenceCentre:
    title: str
    tags_title: str
    tags_description: str
    first_name: str | None
    tags: list[Tag] = strawberry.field(description="Main tags with their visible subtags, in position order.")
    consents: list[ConsentChoice]
    look: PageLook


def preference_centre_for(ctx) -> PreferenceCentre:
    """The person's preference centre (domain.forms): form, visible tags with `selected`, consents.
    The tag list is completed once per key and shared (graph.executor.Shared)."""
    viewer = ctx.viewer
    view = forms.preference_centre_view(
        ctx.session, viewer.account_id, viewer.person_id, ctx.tags_version, tag_global_id, page=ctx.person_page
    )
    page, form = view.page, view.form
    consents = [
        ConsentChoice(
            consent_type_id=strawberry.ID(to_global_id("ConsentType", type_id)),
            name=name,
            description=description,
            granted=granted,
        )
        for type_id, name, description, granted in (page.consents if page else ())
    ]
    return PreferenceCentre(
        title=form.title,
        tags_title=form.tags_title,
        tags_description=form.tags_description,
        first_name=page.first_name if page else None,
        tags=Shared(view.tags_key, lambda: roots(view.views())),
        consents=consents,
        look=page_look(ctx.session, viewer.account_id),
    )


@strawberry.type
class FormQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Person viewers: your preference centre. Null for other viewers.",
    )
    def preference_centre(self, info: Info) -> PreferenceCentre | None:
        ctx = info.context
        if ctx.viewer.kind is not ViewerKind.PERSON:
            return None
        return preference_centre_for(ctx)

    @strawberry.field(permission_classes=[IsStaff], description="The account's forms (a few; all of them).")
    def forms(self, info: Info) -> list[Form]:
        return forms.list_forms(info.context.session, info.context.viewer.account_id)


@strawberry.input
class FormInput:
    title: str
    tags_title: str = ""
    tags_description: str = ""
    tag_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description='Tags marked "show on form", in the order shown.'
    )


@strawberry.input
class UpdateFormInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    tags_title: str | None = strawberry.UNSET
    tags_description: str | None = strawberry.UNSET
    tag_ids: list[strawberry.ID] | None = strawberry.UNSET


@strawberry.input
class PreferenceLinkInput:
    person_id: strawberry.ID


@strawberry.input
class ConsentChoiceInput:
    consent_type_id: strawberry.ID
    granted: bool


@strawberry.input
class SubmitPreferencesInput:
    selected_tag_ids: list[strawberry.ID] = strawberry.field(
        description="Every tag the person wants; visible tags left out lose the person's own choice. At most 500."
    )
    consents: list[ConsentChoiceInput] = strawberry.field(
        default_factory=list, description="Each consent type at most once; at most 50."
    )


@strawberry.type
class FormSuccess:
    form: Form


@strawberry.type
class PreferenceLinkSuccess:
    url: str
    token: str
    expires_at: datetime


@strawberry.type
class SubmitPreferencesSuccess:
    preference_centre: PreferenceCentre


CreateFormPayload, CreateFormError, CreateFormFailure = mutation_payload("CreateForm", FormSuccess)
UpdateFormPayload, UpdateFormError, UpdateFormFailure = mutation_payload("UpdateForm", FormSuccess)
CreatePreferenceLinkPayload, CreatePreferenceLinkError, CreatePreferenceLinkFailure = mutation_payload(
    "CreatePreferenceLink", PreferenceLinkSuccess
)
SubmitPreferencesPayload, SubmitPreferencesError, SubmitPreferencesFailure = mutation_payload(
    "SubmitPreferences", SubmitPreferencesSuccess
)


@strawberry.type
class RevokePreferenceLinksSuccess:
    person_id: strawberry.ID


RevokePreferenceLinksPayload, RevokePreferenceLinksError, RevokePreferenceLinksFailure = mutation_payload(
    "RevokePreferenceLinks", RevokePreferenceLinksSuccess
)


@strawberry.type
class FormMutation:
    @strawberry.mutation(permission_classes=[CanEdit])
    def create_form(self, info: Info, input: FormInput) -> CreateFormPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            form = forms.create_form(
                ctx.session, viewer.account_id, to_domain(input, forms.FormFields, ids={"tag_ids": "Tag"})
            )
            ctx.commit()
            ctx.refresh_tags_version()
            return FormSuccess(form=form)

        return run_mutation(info, action, CreateFormError, CreateFormFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Change a form; pass the preference centre's id (see `forms`) to edit it.",
    )
    def update_form(self, info: Info, input: UpdateFormInput) -> UpdateFormPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            changes = to_domain(input, forms.FormChanges, ids={"tag_ids": "Tag"}, skip=("id",))
            if changes.tag_ids is None:  # null: the tags stay as they are
                changes = dataclasses.replace(changes, tag_ids=UNSET)
            form = forms.update_form(ctx.session, viewer.account_id, pk_of(input.id, "Form", "id"), changes)
            ctx.commit()
            ctx.refresh_tags_version()
            return FormSuccess(form=form)

        return run_mutation(info, action, UpdateFormError, UpdateFormFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit], description="Make sure the account has its preference-centre form and return it."
    )
    def ensure_preference_centre(self, info: Info) -> UpdateFormPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            return FormSuccess(form=forms.preference_centre(ctx.session, viewer.account_id))

        return run_mutation(info, action, UpdateFormError, UpdateFormFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit], description="A signed, expiring link to one person's preference centre."
    )
    def create_preference_link(self, info: Info, input: PreferenceLinkInput) -> CreatePreferenceLinkPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            settings = ctx.runtime.settings
            url, token, expires = forms.make_preference_link(
                ctx.session,
                viewer.account_id,
                reference_pk(input.person_id, "Person"),
                secret_key=settings.secret_key,
                base_url=settings.base_url,
                max_age=settings.preference_link_max_age,
            )
            return PreferenceLinkSuccess(url=url, token=token, expires_at=expires)

        return run_mutation(info, action, CreatePreferenceLinkError, CreatePreferenceLinkFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Withdraw every preference link made for a person so far (a new link works).",
    )
    def revoke_preference_links(self, info: Info, input: PreferenceLinkInput) -> RevokePreferenceLinksPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            person_id = reference_pk(input.person_id, "Person")
            forms.revoke_preference_links(ctx.session, viewer.account_id, person_id)
            return RevokePreferenceLinksSuccess(person_id=input.person_id)

        return run_mutation(info, action, RevokePreferenceLinksError, RevokePreferenceLinksFailure)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Person viewers: save interests and consents on the preference centre.",
    )
    def submit_preferences(self, info: Info, input: SubmitPreferencesInput) -> SubmitPreferencesPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            if viewer.kind is not ViewerKind.PERSON:
                raise InputError.single(Code.FORBIDDEN, "only the person of a preference link can do this")
            form = forms.preference_centre(ctx.session, viewer.account_id)
            visible = set(
                forms.preference_centre_view(
                    ctx.session, viewer.account_id, viewer.person_id, ctx.tags_version, tag_global_id
                ).views()
            )
            forms.submit_form(
                ctx.session,
                viewer.account_id,
                form_id=form.id,
                person_id=viewer.person_id,
                visible_tag_ids=visible,
                selected_tag_ids=_visible_pks(input.selected_tag_ids),
                consents=[(reference_pk(c.consent_type_id, "ConsentType"), c.granted) for c in input.consents],
            )
            ctx.commit()
            return SubmitPreferencesSuccess(preference_centre=preference_centre_for(ctx))

        return run_mutation(info, action, SubmitPreferencesError, SubmitPreferencesFailure)


def _visible_pks(global_ids) -> list[int]:
    return pks_of(global_ids, "Tag", "selected_tag_ids")
