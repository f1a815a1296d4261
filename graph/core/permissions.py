"""Permission classes declared on fields. The domain checks the account scope again.

Instances are shared by all requests (and threads), so a refusal raises its error rather
than storing a message on the instance.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission

from domain.viewer import ViewerKind

IMPORTS_WRITE = "imports:write"


class _ViewerPermission(BasePermission):
    forbidden_message = "you are not allowed to do this"

    def allows(self, viewer) -> bool:
        raise NotImplementedError

    def has_permission(self, source: Any, info, **kwargs) -> bool:
        ctx = info.context
        viewer = ctx.viewer
        if viewer is None:
            raise GraphQLError(
                ctx.auth_error or "authentication required: send 'Authorization: Bearer <token>'",
                extensions={"code": "UNAUTHENTICATED"},
            )
        if not self.allows(viewer):
            raise GraphQLError(self.forbidden_message, extensions={"code": "FORBIDDEN"})
        return True


class IsAuthenticated(_ViewerPermission):
    def allows(self, viewer) -> bool:
        return True


class IsStaff(_ViewerPermission):
    """Any staff user of the account (roles admin, marketer, viewer)."""

    forbidden_message = "this needs a staff user"

    def allows(self, viewer) -> bool:
        return viewer.kind is ViewerKind.STAFF


class CanEdit(_ViewerPermission):
    """Staff with role marketer or admin: the ``viewer`` role cannot mutate."""

    forbidden_message = "this needs a staff user with role marketer or admin"

    def allows(self, viewer) -> bool:
        return viewer.has_role("marketer")


class IsAdmin(_ViewerPermission):
    forbidden_message = "this needs a staff user with role admin"

    def allows(self, viewer) -> bool:
        return viewer.has_role("admin")


class CanImport(_ViewerPermission):
    """Staff with role marketer or admin, or a connector key holding ``imports:write``."""

    forbidden_message = "this needs a staff user with role marketer or admin, or a connector key with imports:write"

    def allows(self, viewer) -> bool:
        return viewer.has_role("marketer") or (viewer.kind is ViewerKind.CONNECTOR and IMPORTS_WRITE in viewer.scopes)


CATALOG_READ = "catalog:read"


class CanReadCatalog(_ViewerPermission):
    """Staff, the account's website key, or a connector key holding ``catalog:read``: venues,
    productions and events are public information (their tags show as each viewer may see them)."""

    forbidden_message = "this needs a staff user, a website key, or a connector key with catalog:read"

    def allows(self, viewer) -> bool:
        return viewer.kind in (ViewerKind.STAFF, ViewerKind.WEBSITE) or (
            viewer.kind is ViewerKind.CONNECTOR and CATALOG_READ in viewer.scopes
        )


PEOPLE_READ = "people:read"


class CanReadPeople(_ViewerPermission):
    """Staff, or a connector key holding ``people:read`` (a CRM or mailer syncing profiles)."""

    forbidden_message = "this needs a staff user or a connector key with people:read"

    def allows(self, viewer) -> bool:
        return viewer.kind is ViewerKind.STAFF or (viewer.kind is ViewerKind.CONNECTOR and PEOPLE_READ in viewer.scopes)
