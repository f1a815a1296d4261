"""What a website exporter is: a plugin's way of publishing the account's website document.

A plugin contributes exporters through the ``register_website_exporters`` hook. The core builds
the document (:mod:`domain.website.document`: public tags, upcoming productions with their
events and venues), and calls an exporter with a :class:`WebsiteExport` only when the document
differs from what that exporter last published for the account; once ``export`` returns, the
document's ETag is stored as published. ``export`` raises to fail (the job is retried with
backoff, with the same ``message_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

EXPORT_JOB = "export_website"  # the job kind that runs one exporter for one account


@dataclass(frozen=True)
class WebsiteExport:
    account_id: int
    config: Mapping[str, Any]  # the plugin's settings with its secrets
    document: Mapping[str, Any]
    body: bytes  # the document as sent: UTF-8 JSON
    etag: str
    message_id: str  # the same for every retry of this publication
    private_targets: bool = False  # may the exporter call loopback / private addresses (not in production)


@dataclass(frozen=True)
class WebsiteExporter:
    plugin: str  # whose per-account installation configures and enables the exporter
    name: str  # unique, e.g. "website.push"
    export: Callable[[WebsiteExport], Any]
    description: str = ""
    # The plugin's integer setting with the minutes between scheduled checks (None: events only).
    every_setting: str | None = None


def schedule_name(exporter: WebsiteExporter) -> str:
    return f"website:{exporter.name}"
