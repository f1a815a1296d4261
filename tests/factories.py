"""Factories that build rows through the domain (or directly where no domain call exists)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, UTC

from domain.catalog.models import Event, Production, Venue
from domain.people import service as people
from domain.tags import service as tags

_counter = itertools.count(1)


def person(session, account_id: int, **values):
    n = next(_counter)
    values.setdefault("email", f"person{n}@example.nl")
    values.setdefault("first_name", f"First{n}")
    values.setdefault("last_name", f"Last{n}")
    return people.create_person(session, account_id, people.PersonFields(**values), timezone_name="Europe/Amsterdam")


def tag(session, account_id: int, name: str | None = None, *, policy: str = "preserve", **values):
    name = name or f"tag {next(_counter)}"
    return tags.create_tags(session, account_id, tags.TagFields(names=name, **values), policy=policy)[0]


def production(session, account_id: int, title: str | None = None, **values):
    row = Production(account_id=account_id, title=title or f"Show {next(_counter)}", **values)
    session.add(row)
    session.flush()
    return row


def venue(session, account_id: int, **values):
    values.setdefault("name", f"Zaal {next(_counter)}")
    row = Venue(account_id=account_id, **values)
    session.add(row)
    session.flush()
    return row


def event(session, account_id: int, production_id: int, venue_id: int, starts_at: datetime | None = None):
    row = Event(
        account_id=account_id,
        production_id=production_id,
        venue_id=venue_id,
        starts_at=starts_at or datetime.now(UTC) + timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row


def installed_plugin(session, account_id: int, name: str, scopes: tuple[str, ...] = (), *, enabled: bool = True):
    """A plugin installation granting ``scopes`` (the plugin declares exactly those)."""
    from domain.integrations import service as integrations
    from domain.integrations.registry import PluginInfo

    info = PluginInfo(name=name, scopes=tuple(scopes))
    installation = integrations.install_plugin(
        session, account_id, info, integrations.PluginSetup(granted_scopes=tuple(scopes))
    )
    if not enabled:
        integrations.change_installation(session, account_id, info, integrations.InstallationChanges(enabled=False))
    return installation
