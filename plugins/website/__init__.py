"""Built-in website plugin: publishes the account's website document (public tags, upcoming
productions with their events and venues) to the venue's site.

Reading needs no plugin: the website key reads the document at ``/website/feed.json`` and the
same data through GraphQL. Installed, the plugin also *pushes*: whenever the document changed,
it POSTs it to ``push_url``, signed the Standard Webhooks way with the installation's
``signing_secret`` (README.md beside this file says how to verify). Registered through the
``marquee.plugins`` entry point in ``pyproject.toml``, like any third-party plugin.
"""

from __future__ import annotations

from domain.webhooks.delivery import deliver
from domain.website.contract import WebsiteExport, WebsiteExporter
from plugins import hookimpl

NAME = "website"


@hookimpl
def register_plugin_info() -> dict:
    return {
        "name": NAME,
        "description": "Pushes the website document (public tags, upcoming productions, events and venues) to the "
        "venue's website whenever it changes, signed the Standard Webhooks way.",
        "version": "1.0",
        "scopes": ["tags:read", "catalog:read"],
        "config": [
            {
                "name": "push_url",
                "type": "url",
                "required": True,
                "description": "Where the document is POSTed (application/json) when it changed.",
            },
            {
                "name": "signing_secret",
                "type": "signing_secret",
                "description": "The Standard Webhooks secret (whsec_…) the site verifies with; generated when "
                "not given and shown once.",
            },
            {
                "name": "push_every_minutes",
                "type": "integer",
                "minimum": 1,
                "maximum": 1440,
                "default": 15,
                "description": "How often to check for changes no event announces (a tag's label, a show passing "
                "into the past); changed productions and their tags are pushed within a scheduler tick.",
            },
        ],
    }


def push(export: WebsiteExport) -> dict:
    delivery = deliver(
        export.config["push_url"],
        export.config["signing_secret"],
        export.message_id,
        export.body,
        private_targets=export.private_targets,
    )
    return {"status": delivery.status, "attempts": delivery.attempts}


@hookimpl
def register_website_exporters() -> list[WebsiteExporter]:
    return [
        WebsiteExporter(
            plugin=NAME,
            name="website.push",
            export=push,
            description="POSTs the changed document to push_url, signed (webhook-id, -timestamp, -signature).",
            every_setting="push_every_minutes",
        )
    ]
