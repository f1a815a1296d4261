"""What a feed reader is: the contract between the importer and the plugins that fetch feeds.

A plugin contributes readers through the ``register_feed_readers`` hook. A reader is called with
a :class:`FeedRun` (the account, the plugin's configuration with its secrets, and the cursor the
last run stopped at) and yields :class:`FeedPage` objects: raw records in the feed format
(``plugins/ticketing/README.md``) and the cursor *after* them. The importer imports each page and
only then stores its cursor, so a run that dies resumes after the last page that committed; a
page may come twice (overlapping windows, a retry) because imports are idempotent.

The four ways systems sync all fit: changed-since polling (cursor: the server's watermark), an
id-cursor event stream (cursor: the last id), a full snapshot (cursor: None, every run reads all)
and webhooks used as a trigger to fetch (the webhook starts a run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FeedRun:
    account_id: int
    config: Mapping[str, Any]
    cursor: str | None = None


@dataclass(frozen=True)
class FeedPage:
    records: Sequence[Any]
    cursor: str | None = None


@dataclass(frozen=True)
class FeedReader:
    plugin: str  # the plugin whose installation (settings, enabled) the reader runs under
    name: str  # unique among readers, e.g. "ticketing.pull"
    read: Callable[[FeedRun], Iterator[FeedPage]]
    description: str = ""
    # The plugin setting (an integer) holding the minutes between scheduled runs for an account;
    # unset or 0 there, or None here: the reader runs only on demand (pullFeed).
    every_setting: str | None = None
