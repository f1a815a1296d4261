"""Who sends a request: staff, a person (preference-centre link), the website or a connector."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from domain.errors import forbidden


class ViewerKind(str, enum.Enum):
    STAFF = "staff"
    PERSON = "person"
    WEBSITE = "website"
    CONNECTOR = "connector"


ROLE_RANK = {"viewer": 0, "marketer": 1, "admin": 2}


@dataclass(frozen=True)
class AccountInfo:
    """The account facts most requests need, loaded with the credentials."""

    id: int
    name: str
    timezone: str
    modules: tuple[str, ...]
    tag_name_policy: str
    tags_version: int = 0


@dataclass(frozen=True)
class Viewer:
    kind: ViewerKind
    account: AccountInfo
    role: str | None = None
    staff_user_id: int | None = None
    person_id: int | None = None
    plugin: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def is_staff(self) -> bool:
        return self.kind is ViewerKind.STAFF

    def has_role(self, minimum: str) -> bool:
        return self.is_staff and ROLE_RANK.get(self.role or "", -1) >= ROLE_RANK[minimum]

    def require_staff(self, minimum: str = "viewer") -> None:
        if not self.has_role(minimum):
            raise forbidden(f"this needs a staff user with role {minimum} or higher")
