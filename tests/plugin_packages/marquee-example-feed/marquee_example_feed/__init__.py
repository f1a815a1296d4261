"""An example third-party plugin: reads a paged feed of persons and records what it hears.

It uses only Marquee's public seams: the hook marker, the feed-reader contract and the events.
The pages come from the ``pages`` setting; the cursor says which page comes next. Events are
appended as JSON lines to the file named by the ``EXAMPLE_FEED_LOG`` environment variable.
"""

from __future__ import annotations

import json
import os

import pluggy

from domain.imports.contract import FeedPage, FeedReader

hookimpl = pluggy.HookimplMarker("marquee")

NAME = "example-feed"


@hookimpl
def register_plugin_info():
    return {
        "name": NAME,
        "description": "Example feed: persons in pages",
        "version": "0.1.0",
        "scopes": ["people:write", "imports:write"],
        "config": [
            {"name": "pages", "type": "integer", "minimum": 1, "maximum": 100, "default": 3},
            {"name": "per_page", "type": "integer", "minimum": 1, "maximum": 1000, "default": 5},
            {"name": "source", "type": "text", "default": "example"},
            {"name": "token", "type": "text", "secret": True},
        ],
    }


def _read(run):
    start = int(run.cursor or 0)
    for page in range(start, int(run.config["pages"])):
        size = int(run.config["per_page"])
        records = [
            {
                "type": "person",
                "id": f"X{page}-{n}",
                "email": f"x{page}-{n}@example.org",
                "first_name": run.config["token"],
            }
            for n in range(size)
        ]
        yield FeedPage(records=records, cursor=str(page + 1))


@hookimpl
def register_feed_readers():
    return [FeedReader(plugin=NAME, name="example-feed.people", read=_read, description="persons, a page at a time")]


def _log(kind, event):
    path = os.environ.get("EXAMPLE_FEED_LOG")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"hook": kind, **{k: v for k, v in vars(event).items()}}) + "\n")


@hookimpl
def on_import_finished(event):
    _log("on_import_finished", event)


@hookimpl
def on_person_merged(event):
    _log("on_person_merged", event)
