"""Built-in ticketing plugin: persons, venues, productions, events, orders, tickets and
subscriptions from a ticketing system (the feed format: README.md beside this file).

Registered through the ``marquee.plugins`` entry point in ``pyproject.toml``, like any third-party
plugin. Per account an admin installs it and sets where its records come from (``source``: the
name their external ids belong to) and the tags to link to every person it writes.
"""

from __future__ import annotations

from plugins import hookimpl

NAME = "ticketing"


@hookimpl
def register_plugin_info() -> dict:
    return {
        "name": NAME,
        "description": "Imports a ticketing system's feed (JSON Lines or CSV): persons, productions, events, "
        "orders and tickets, idempotently and incrementally.",
        "version": "1.0",
        "scopes": ["people:write", "catalog:write", "tags:write", "imports:write"],
        "config": [
            {
                "name": "source",
                "type": "text",
                "default": NAME,
                "description": "The system the feed's ids belong to (one external id per source).",
            },
            {
                "name": "tag_persons",
                "type": "text",
                "description": "Comma-separated tag names linked (source integration) to every person the feed "
                "creates or updates.",
            },
        ],
    }
