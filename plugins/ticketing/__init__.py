"""Built-in ticketing plugin: persons, venues, productions, events, orders, tickets and
subscriptions from a ticketing system (the feed format: README.md beside this file).

Registered through the ``marquee.plugins`` entry point in ``pyproject.toml``, like any third-party
plugin. Per account an admin installs it and sets where its records come from (``source``: the
name their external ids belong to) and the tags to link to every person it writes.
"""

from __future__ import annotations

from domain.imports.contract import FeedReader
from plugins import hookimpl
from plugins.ticketing.pull import read_pages

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
            {
                "name": "create_consent_types",
                "type": "boolean",
                "default": True,
                "description": "A consent key the account does not have yet becomes a new consent type (named after "
                "the key; rename it later). Off: such consents are refused.",
            },
            {
                "name": "pull_url",
                "type": "url",
                "description": "The ticketing system's changed-since endpoint for the pull reader (README.md).",
            },
            {"name": "api_key", "type": "text", "secret": True, "description": "Sent as a bearer token."},
            {"name": "page_size", "type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
            {
                "name": "pull_every_minutes",
                "type": "integer",
                "minimum": 0,
                "maximum": 10080,
                "description": "Run the pull reader on a schedule, every so many minutes (0 or unset: only on demand).",
            },
        ],
    }


@hookimpl
def register_feed_readers() -> list[FeedReader]:
    return [
        FeedReader(
            plugin=NAME,
            name="ticketing.pull",
            read=read_pages,
            description="Pages through the ticketing system's API from the stored cursor.",
            every_setting="pull_every_minutes",
        )
    ]
