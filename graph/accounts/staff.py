"""Staff users, bearer credentials and logging in through GraphQL (admin only, but ``logIn``):
``domain.accounts.staff``, ``domain.accounts.login``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.accounts import invitations, login, staff
from domain.accounts.models import ApiToken as ApiTokenRow
from domain.accounts.models import Role as RoleEnum
from domain.accounts.models import StaffUser as StaffUserRow
from domain.accounts.models import TokenKind as TokenKindEnum
from domain.catalog.service import rows_by_id
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import to_global_id
from graph.core.inputs import reference_pk, to_domain
from graph.core.loaders import BatchLoader, loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import IsAdmin

StaffRole = strawberry.enum(RoleEnum, name="StaffRole", description="What a staff user may do.")
TokenKind = strawberry.enum(
    TokenKindEnum,
    name="TokenKind",
    description="staff: a staff user's API token; website: the account's website key; connector: a plugin's key.",
)


def StaffUserByIdLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: rows_by_id(ctx.session, StaffUserRow, ctx.viewer.account_id, ids))


@strawberry.type(description="Someone who works in the account (an admin, marketer or viewer).")
class StaffUser(Node):
    email: str
    name: str
    created_at: datetime
    deactivated_at: datetime | None = strawberry.field(description="Set: none of their tokens is accepted.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("StaffUser", self.id))

    @strawberry.field
    def role(self) -> StaffRole:
        return RoleEnum(self.role)

    @strawberry.field(description="Whether they can act (not deactivated).")
    def active(self) -> bool:
        return self.deactivated_at is None

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (StaffUserRow, cls))


@strawberry.type(description="A bearer credential, as listed: never its secret.")
class ApiToken(Node):
    name: str
    prefix: str = strawberry.field(description="The secret's first characters, to tell tokens apart.")
    plugin: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="To the minute: written at most once a minute.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ApiToken", self.id))

    @strawberry.field
    def kind(self) -> TokenKind:
        return TokenKindEnum(self.kind)

    @strawberry.field(description="For a staff token: whose it is.")
    def staff_user(self, info: Info) -> StaffUser | None:
        if self.staff_user_id is None:
            return None
        return loader(info.context, StaffUserByIdLoader).load(self.staff_user_id)

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (ApiTokenRow, cls))


@strawberry.type
class StaffUserConnection:
    edges: list[Edge[StaffUser]]
    page_info: PageInfo


@strawberry.type
class ApiTokenConnection:
    edges: list[Edge[ApiToken]]
    page_info: PageInfo


@strawberry.type
class StaffQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="The account's staff users. " + FIRST_DESCRIPTION)
    def staff_users(self, info: Info, first: int | None = None, after: str | None = None) -> StaffUserConnection:
        page = staff.list_staff_users(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return StaffUserConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The account's credentials, newest first; revoked ones only with includeRevoked. "
        + FIRST_DESCRIPTION,
    )
    def api_tokens(
        self,
        info: Info,
        kind: TokenKind | None = None,
        include_revoked: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> ApiTokenConnection:
        page = staff.list_tokens(
            info.context.session,
            info.context.viewer.account_id,
            kind=None if kind is None else TokenKindEnum(kind),
            include_revoked=include_revoked,
            first=first,
            after=after,
        )
        loader(info.context, StaffUserByIdLoader).want(t.staff_user_id for t in page.items if t.staff_user_id)
        return ApiTokenConnection(edges=edges(page), page_info=page_info(page))


@strawberry.input
class CreateStaffUserInput:
    email: str
    role: StaffRole
    name: str = ""
    password: str | None = strawberry.field(
        default=None, description="12 to 200 characters; stored as an argon2 hash. Without: API tokens only."
    )


@strawberry.input
class ChangeStaffRoleInput:
    staff_user_id: strawberry.ID
    role: StaffRole


@strawberry.input
class StaffUserIdInput:
    staff_user_id: strawberry.ID


@strawberry.input(
    description="A staff token names its user; a connector key its plugin (and scopes); a website key neither."
)
class IssueApiTokenInput:
    kind: TokenKind
    name: str = ""
    staff_user_id: strawberry.ID | None = None
    plugin: str | None = None
    scopes: list[str] | None = strawberry.field(
        default=None, description="Connector keys: at most 100; by default all the plugin is granted now."
    )
    expires_at: datetime | None = None


@strawberry.input
class RevokeApiTokenInput:
    token_id: strawberry.ID


@strawberry.type
class StaffUserSuccess:
    staff_user: StaffUser


@strawberry.type(description="The new credential. Copy the secret now: no query returns it.")
class ApiTokenIssued:
    token: ApiToken
    secret: str


@strawberry.type
class ApiTokenSuccess:
    token: ApiToken


CreateStaffUserPayload, CreateStaffUserError, CreateStaffUserFailure = mutation_payload(
    "CreateStaffUser", StaffUserSuccess
)
ChangeStaffRolePayload, ChangeStaffRoleError, ChangeStaffRoleFailure = mutation_payload(
    "ChangeStaffRole", StaffUserSuccess
)
DeactivateStaffUserPayload, DeactivateStaffUserError, DeactivateStaffUserFailure = mutation_payload(
    "DeactivateStaffUser", StaffUserSuccess
)
ReactivateStaffUserPayload, ReactivateStaffUserError, ReactivateStaffUserFailure = mutation_payload(
    "ReactivateStaffUser", StaffUserSuccess
)
IssueApiTokenPayload, IssueApiTokenError, IssueApiTokenFailure = mutation_payload("IssueApiToken", ApiTokenIssued)
RevokeApiTokenPayload, RevokeApiTokenError, RevokeApiTokenFailure = mutation_payload("RevokeApiToken", ApiTokenSuccess)


@strawberry.input(description="A staff user's e-mail address and password, in the account with this short name.")
class LogInInput:
    account: str = strawberry.field(description="The account's slug (its short name, as in its links).")
    email: str
    password: str


@strawberry.type(description="A staff token for the user who logged in. Copy the secret now: no query returns it.")
class LoggedIn:
    secret: str
    expires_at: datetime
    staff_user: StaffUser


LogInPayload, LogInError, LogInFailure = mutation_payload("LogIn", LoggedIn)


@strawberry.input(description="A new staff user who chooses their own password through the invitation.")
class InviteStaffUserInput:
    email: str
    role: StaffRole
    name: str = ""


@strawberry.type(
    description=f"Hand the token to the invited user (in your invitation e-mail or page): with it they choose their "
    f"password once (acceptStaffInvitation). Valid {invitations.INVITATION_DAYS} days; no query returns it again."
)
class StaffInvitation:
    staff_user: StaffUser
    token: str
    expires_at: datetime


@strawberry.input
class AcceptStaffInvitationInput:
    token: str
    password: str = strawberry.field(description="12 to 200 characters.")


InviteStaffUserPayload, InviteStaffUserError, InviteStaffUserFailure = mutation_payload(
    "InviteStaffUser", StaffInvitation
)
RenewStaffInvitationPayload, RenewStaffInvitationError, RenewStaffInvitationFailure = mutation_payload(
    "RenewStaffInvitation", StaffInvitation
)
AcceptStaffInvitationPayload, AcceptStaffInvitationError, AcceptStaffInvitationFailure = mutation_payload(
    "AcceptStaffInvitation", LoggedIn
)


def _client(info: Info) -> str:
    request = info.context.request
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


@strawberry.type
class StaffMutation:
    @strawberry.mutation(
        description=f"Log in with e-mail address and password: a staff token valid {login.LOGIN_TOKEN_HOURS} hours. "
        f"After {login.MAX_FAILURES} wrong passwords for one address (or {login.MAX_CLIENT_FAILURES} from one client) "
        "in 15 minutes the answer is RATE_LIMITED; every wrong combination gets the same UNAUTHENTICATED."
    )
    def log_in(self, info: Info, input: LogInInput) -> LogInPayload | None:
        ctx = info.context

        def action():
            done = login.log_in(
                ctx.session,
                ctx.runtime.login_attempts,
                account=input.account,
                email=input.email,
                password=input.password,
                client=_client(info),
            )
            return LoggedIn(secret=done.secret, expires_at=done.expires_at, staff_user=done.staff_user)

        return run_mutation(info, action, LogInError, LogInFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a staff user who sets their own password.")
    def invite_staff_user(self, info: Info, input: InviteStaffUserInput) -> InviteStaffUserPayload | None:
        ctx = info.context

        def action():
            made = invitations.invite_staff_user(
                ctx.session,
                ctx.viewer.account_id,
                email=input.email,
                role=RoleEnum(input.role).value,
                name=input.name,
                secret_key=ctx.runtime.settings.secret_key,
            )
            return StaffInvitation(staff_user=made.staff_user, token=made.token, expires_at=made.expires_at)

        return run_mutation(info, action, InviteStaffUserError, InviteStaffUserFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="A fresh invitation for a user who has no password yet."
    )
    def renew_staff_invitation(self, info: Info, input: StaffUserIdInput) -> RenewStaffInvitationPayload | None:
        ctx = info.context

        def action():
            made = invitations.renew_invitation(
                ctx.session,
                ctx.viewer.account_id,
                reference_pk(input.staff_user_id, "StaffUser"),
                secret_key=ctx.runtime.settings.secret_key,
            )
            return StaffInvitation(staff_user=made.staff_user, token=made.token, expires_at=made.expires_at)

        return run_mutation(info, action, RenewStaffInvitationError, RenewStaffInvitationFailure)

    @strawberry.mutation(
        description="The invited user chooses their password (once) and is logged in: a staff token valid "
        f"{login.LOGIN_TOKEN_HOURS} hours. No credentials needed: the invitation is the permission."
    )
    def accept_staff_invitation(
        self, info: Info, input: AcceptStaffInvitationInput
    ) -> AcceptStaffInvitationPayload | None:
        ctx = info.context

        def action():
            done = invitations.accept_invitation(
                ctx.session, secret_key=ctx.runtime.settings.secret_key, token=input.token, password=input.password
            )
            return LoggedIn(secret=done.secret, expires_at=done.expires_at, staff_user=done.staff_user)

        return run_mutation(info, action, AcceptStaffInvitationError, AcceptStaffInvitationFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a staff user (e-mail unique in the account).")
    def create_staff_user(self, info: Info, input: CreateStaffUserInput) -> CreateStaffUserPayload | None:
        ctx = info.context

        def action():
            user = staff.create_staff_user(
                ctx.session,
                ctx.viewer.account_id,
                email=input.email,
                role=RoleEnum(input.role).value,
                name=input.name,
                password=input.password,
            )
            return StaffUserSuccess(staff_user=user)

        return run_mutation(info, action, CreateStaffUserError, CreateStaffUserFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="The account keeps at least one active admin.")
    def change_staff_role(self, info: Info, input: ChangeStaffRoleInput) -> ChangeStaffRolePayload | None:
        ctx = info.context

        def action():
            user_id = reference_pk(input.staff_user_id, "StaffUser")
            user = staff.change_staff_role(ctx.session, ctx.viewer.account_id, user_id, RoleEnum(input.role).value)
            return StaffUserSuccess(staff_user=user)

        return run_mutation(info, action, ChangeStaffRoleError, ChangeStaffRoleFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Every token of the user is refused from the next request on (not the last active admin).",
    )
    def deactivate_staff_user(self, info: Info, input: StaffUserIdInput) -> DeactivateStaffUserPayload | None:
        ctx = info.context

        def action():
            user_id = reference_pk(input.staff_user_id, "StaffUser")
            return StaffUserSuccess(staff_user=staff.deactivate_staff_user(ctx.session, ctx.viewer.account_id, user_id))

        return run_mutation(info, action, DeactivateStaffUserError, DeactivateStaffUserFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="The user acts again with their unrevoked tokens.")
    def reactivate_staff_user(self, info: Info, input: StaffUserIdInput) -> ReactivateStaffUserPayload | None:
        ctx = info.context

        def action():
            user_id = reference_pk(input.staff_user_id, "StaffUser")
            return StaffUserSuccess(staff_user=staff.reactivate_staff_user(ctx.session, ctx.viewer.account_id, user_id))

        return run_mutation(info, action, ReactivateStaffUserError, ReactivateStaffUserFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="A new credential; its secret is shown this once.")
    def issue_api_token(self, info: Info, input: IssueApiTokenInput) -> IssueApiTokenPayload | None:
        ctx = info.context

        def action():
            request = to_domain(input, staff.TokenRequest, ids={"staff_user_id": "StaffUser"})
            token, secret = staff.issue_token(ctx.session, ctx.viewer.account_id, request)
            return ApiTokenIssued(token=token, secret=secret)

        return run_mutation(info, action, IssueApiTokenError, IssueApiTokenFailure)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Revoke a credential for good.")
    def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload | None:
        ctx = info.context

        def action():
            token_id = reference_pk(input.token_id, "ApiToken")
            return ApiTokenSuccess(token=staff.revoke_token(ctx.session, ctx.viewer.account_id, token_id))

        return run_mutation(info, action, RevokeApiTokenError, RevokeApiTokenFailure)


__all__ = ["StaffQuery", "StaffMutation", "StaffUser", "ApiToken"]
