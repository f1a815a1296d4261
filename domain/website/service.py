"""Publishing the website document through the plugins' exporters.

Each exporter of an installed plugin has a schedule (``website:<exporter>``, every
``every_setting`` minutes while the plugin is enabled) whose job, ``export_website``, builds the
document and hands it to the exporter only when its ETag differs from the one it last published.
Changes that surely alter the document (productions imported or changed, tags attached to
productions, tags merged) bring the account's export schedules forward to now, so the next
scheduler tick publishes them; every other change (a tag's label, a production dropping out of
"upcoming" as time passes) is published by the next scheduled run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from domain import clock
from domain.errors import ErrorCode, InputError
from domain.events import DomainEvent, ProductionsChanged, TagsAttached, TagsMerged
from domain.integrations import service as integrations
from domain.integrations.registry import PluginInfo
from domain.scheduling.models import Schedule
from domain.website.contract import EXPORT_JOB, WebsiteExport, WebsiteExporter
from domain.website.document import IdOf, encode, website_document
from domain.website.models import WebsiteExport as WebsiteExportRow

__all__ = ["EXPORT_JOB", "hasten_exports", "run_export", "find_exporter"]


def changes_document(event: DomainEvent) -> bool:
    if isinstance(event, ProductionsChanged | TagsMerged):
        return True
    return isinstance(event, TagsAttached) and event.target == "production"


def hasten_exports(session: Session, events: Iterable[DomainEvent]) -> int:
    """Bring the export schedules of the accounts whose document the events changed forward to
    now (the next tick fires them once). Returns how many schedules moved."""
    accounts = sorted({e.account_id for e in events if changes_document(e)})
    if not accounts:
        return 0
    now = clock.now()
    moved = session.execute(
        update(Schedule)
        .where(Schedule.account_id.in_(accounts), Schedule.job_kind == EXPORT_JOB, Schedule.next_run_at > now)
        .values(next_run_at=now)
    )
    return moved.rowcount or 0


def _last_published(session: Session, account_id: int, exporter: str) -> tuple[str, str] | None:
    row = session.execute(
        select(WebsiteExportRow.etag, WebsiteExportRow.config_digest).where(
            WebsiteExportRow.account_id == account_id, WebsiteExportRow.exporter == exporter
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def _digest(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(dict(config), option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:32]


def run_export(
    new_session: Callable[[], Session],
    account_id: int,
    exporter: WebsiteExporter,
    infos: Iterable[PluginInfo],
    id_of: IdOf,
    *,
    message_id: str,
    private_targets: bool = False,
) -> dict[str, Any]:
    """Publish the account's document through ``exporter`` if it (or the exporter's settings:
    a new URL, a new secret) changed since its last publication; the new ETag is stored only
    after the exporter returned."""
    with new_session() as session:
        info = integrations.find_plugin(infos, exporter.plugin)
        installation = integrations.get_installation(session, account_id, exporter.plugin)
        if installation is None or not installation.enabled:
            raise InputError.single(
                ErrorCode.CONFLICT, f"plugin {exporter.plugin!r} is not installed and enabled", "plugin"
            )
        config = integrations.effective_config(info, installation)
        document = website_document(session, account_id, id_of)
        body, etag = encode(document)
        digest = _digest(config)
        if _last_published(session, account_id, exporter.name) == (etag, digest):
            return {"exporter": exporter.name, "published": False, "etag": etag}
    exporter.export(
        WebsiteExport(
            account_id=account_id,
            config=config,
            document=document,
            body=body,
            etag=etag,
            message_id=message_id,
            private_targets=private_targets,
        )
    )
    with new_session() as session, session.begin():
        statement = pg_insert(WebsiteExportRow).values(
            account_id=account_id,
            plugin=exporter.plugin,
            exporter=exporter.name,
            etag=etag,
            config_digest=digest,
            message_id=message_id,
            exported_at=clock.now(),
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[WebsiteExportRow.account_id, WebsiteExportRow.exporter],
                set_={
                    "etag": statement.excluded.etag,
                    "config_digest": statement.excluded.config_digest,
                    "message_id": statement.excluded.message_id,
                    "exported_at": func.now(),
                },
            )
        )
    return {
        "exporter": exporter.name,
        "published": True,
        "etag": etag,
        "productions": len(document["productions"]),
        "tags": len(document["tags"]),
        "bytes": len(body),
    }


def find_exporter(exporters: Mapping[str, WebsiteExporter], name: str) -> WebsiteExporter:
    found = exporters.get(name)
    if found is None:
        known = ", ".join(sorted(exporters)) or "none"
        raise InputError.single(ErrorCode.NOT_FOUND, f"no website exporter {name!r} (exporters: {known})", "exporter")
    return found
