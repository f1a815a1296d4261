"""The viewer and its account."""

from __future__ import annotations

import strawberry

from domain.accounts.models import Account as AccountRow
from domain.viewer import AccountInfo
from domain.viewer import ViewerKind as ViewerKindEnum
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.node import Node

ViewerKind = strawberry.enum(ViewerKindEnum, name="ViewerKind")


@strawberry.type(description="How the account's pages for persons look and speak (the preference centre).")
class PageLook:
    venue_name: str
    logo_url: str | None
    colour: str = strawberry.field(description="#rrggbb for buttons and headings.")
    language: str = strawberry.field(description="nl or en.")


def page_look(session, account_id: int) -> PageLook:
    row = session.get(AccountRow, account_id)
    return PageLook(
        venue_name=row.brand_name or row.name,
        logo_url=row.logo_url,
        colour=row.brand_colour,
        language=row.page_language,
    )


@strawberry.type(description="A tenant: one venue or organisation.")
class Account(Node):
    name: str
    timezone: str = strawberry.field(description='Decides what "a day" is in rules and counts.')
    modules: list[str]
    tag_name_policy: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Account", self.id))

    @strawberry.field(description="The look of the preference centre (changeAccountSettings sets it).")
    def look(self, info: Info) -> PageLook:
        return page_look(info.context.session, self.id)  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (AccountInfo, AccountRow, cls))


@strawberry.type(description="Whoever sends the request.")
class Viewer:
    kind: ViewerKind
    role: str | None = strawberry.field(description="Staff role: admin, marketer or viewer.")
    account: Account
    plugin: str | None = strawberry.field(description="For connector keys: the plugin the key belongs to.")

    @strawberry.field(description="What a connector key may read or write.")
    def scopes(self) -> list[str]:
        return sorted(self.scopes)

    @strawberry.field(description="For a person viewer: their own id.")
    def person_id(self) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("Person", self.person_id)) if self.person_id else None


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The authenticated viewer; null without valid credentials.")
    def viewer(self, info: Info) -> Viewer | None:
        return info.context.viewer
