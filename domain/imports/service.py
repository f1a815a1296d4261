"""Feed imports for an account: options from the plugin's installation, the run, its result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from domain import clock, events
from domain.imports.contract import FeedReader, FeedRun
from domain.imports.models import FeedCursor
from domain.storage import kept_upload
from domain.errors import ErrorCode, InputError
from domain.imports.importer import ImportOptions, ImportResult, ImportStatistics, run_import
from domain.imports.readers import read_csv, read_jsonl
from domain.jobs_state.models import Job
from domain.jobs_state.service import create_job
from domain.integrations import service as integrations
from domain.integrations.registry import PluginInfo


def _feed_config(session: Session, account_id: int, infos: Iterable[PluginInfo], plugin: str) -> dict:
    """``plugin``'s settings for this account (secrets included): installed and enabled, or a typed error."""
    info = integrations.find_plugin(infos, plugin)
    installation = integrations.get_installation(session, account_id, plugin)
    if installation is None:
        raise InputError.single(
            ErrorCode.NOT_FOUND, f"plugin {plugin!r} is not installed for this account: install it first", "plugin"
        )
    if not installation.enabled:
        raise InputError.single(ErrorCode.CONFLICT, f"plugin {plugin!r} is disabled for this account", "plugin")
    return integrations.effective_config(info, installation)


def _options(config: Mapping, plugin: str) -> ImportOptions:
    tag_names = tuple(n.strip() for n in str(config.get("tag_persons") or "").split(",") if n.strip())
    return ImportOptions(
        source=str(config.get("source") or plugin),
        tag_persons=tag_names,
        create_consent_types=bool(config.get("create_consent_types", True)),
    )


def feed_options(session: Session, account_id: int, infos: Iterable[PluginInfo], plugin: str) -> ImportOptions:
    """How ``plugin``'s feed imports for this account: it must be installed and enabled."""
    return _options(_feed_config(session, account_id, infos, plugin), plugin)


FORMATS = ("jsonl", "csv")
CHUNK = 1 << 20


def feed_format(filename: str, given: str | None) -> str:
    """``jsonl`` or ``csv``: as given, else by the file's extension (JSON Lines otherwise)."""
    if given is not None:
        if given not in FORMATS:
            raise InputError.single(ErrorCode.INVALID_CHOICE, "format is jsonl or csv", "format")
        return given
    return "csv" if filename.lower().endswith((".csv", ".txt")) else "jsonl"


def start_feed_import(
    session: Session,
    account_id: int,
    infos: Iterable[PluginInfo],
    *,
    plugin: str,
    stream: IO[bytes],
    filename: str,
    format: str | None,
    storage_dir: Path,
    max_bytes: int,
    created_by: int | None = None,
) -> Job:
    """Keep an uploaded feed in the storage folder and queue its import (job ``import_feed``).

    The file is copied in chunks (never whole in memory) and refused beyond ``max_bytes``; it is
    removed again when the request does not commit, and by the job once its import succeeded."""
    feed_options(session, account_id, infos, plugin)  # installed and enabled, or a typed error now
    kind = feed_format(filename, format)
    with kept_upload(session, stream, storage_dir, f"feeds/{account_id}", kind, max_bytes=max_bytes, what="feed") as (
        target,
        size,
    ):
        return create_job(
            session,
            account_id,
            kind="import_feed",
            params={
                "plugin": plugin,
                "path": str(target.relative_to(storage_dir)),
                "format": kind,
                "bytes": size,
                "filename": filename[:200],
            },
            created_by=created_by,
        )


def _announce_finished(
    new_session: Callable[[], Session],
    account_id: int,
    plugin: str,
    options: ImportOptions,
    result: ImportResult,
    job_id: int | None,
) -> None:
    """Tell plugins an import ended (the event goes out when this little transaction commits)."""
    with new_session() as session:
        events.record(
            session,
            events.ImportFinished(
                account_id=account_id,
                plugin=plugin,
                source=options.source,
                records=result.records,
                changes=result.changes,
                refused=result.refused,
                job_id=job_id,
            ),
        )
        session.commit()


def run_feed_import(
    new_session: Callable[[], Session],
    job: Job,
    infos: Iterable[PluginInfo],
    *,
    storage_dir: Path,
    progress: Callable[[float, str], None],
) -> dict:
    """The ``import_feed`` job's work: the stored feed through the importer, with progress by bytes."""
    params = job.params
    path = (storage_dir / params["path"]).resolve()
    if storage_dir.resolve() not in path.parents or not path.is_file():
        raise InputError.single(ErrorCode.NOT_FOUND, "the uploaded feed is no longer stored", "path")
    with new_session() as session:
        options = feed_options(session, job.account_id, infos, params["plugin"])
    size = max(1, int(params.get("bytes") or path.stat().st_size))
    with path.open("rb") as stream:
        records = read_csv(stream) if params.get("format") == "csv" else read_jsonl(stream)

        def report(result: ImportResult) -> None:
            progress(stream.tell() / size, f"{result.records:,} records, {result.refused:,} refused")

        result = run_import(new_session, job.account_id, records, options, progress=report)
    _announce_finished(new_session, job.account_id, params["plugin"], options, result, job.id)
    path.unlink(missing_ok=True)
    return result.as_dict()


def _stored_cursor(session: Session, account_id: int, reader: str) -> str | None:
    return session.execute(
        select(FeedCursor.cursor).where(FeedCursor.account_id == account_id, FeedCursor.reader == reader)
    ).scalar_one_or_none()


def _store_cursor(session: Session, account_id: int, reader: FeedReader, cursor: str | None) -> None:
    statement = pg_insert(FeedCursor).values(
        account_id=account_id, plugin=reader.plugin, reader=reader.name, cursor=cursor, updated_at=clock.now()
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FeedCursor.account_id, FeedCursor.reader],
            set_={"cursor": statement.excluded.cursor, "updated_at": statement.excluded.updated_at},
        )
    )


def run_feed_reader(
    new_session: Callable[[], Session],
    account_id: int,
    reader: FeedReader,
    infos: Iterable[PluginInfo],
    *,
    job_id: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Read a feed page by page from where the last run stopped: each page is imported, then its
    cursor stored, so a run that dies resumes after the last page that committed."""
    infos = list(infos)
    with new_session() as session:
        config = _feed_config(session, account_id, infos, reader.plugin)
        options = _options(config, reader.plugin)
        cursor = _stored_cursor(session, account_id, reader.name)
    total = ImportResult()
    statistics = ImportStatistics(new_session, account_id)  # one for every page of the run
    statistics.start()
    pages = 0
    for page in reader.read(FeedRun(account_id=account_id, config=config, cursor=cursor)):
        # Refusals name the record's place in the whole run (1 = the run's first record).
        lines = ((number, record) for number, record in enumerate(page.records, start=total.records + 1))
        result = run_import(new_session, account_id, lines, options, statistics=statistics)
        with new_session() as session, session.begin():
            _store_cursor(session, account_id, reader, page.cursor)
        pages += 1
        total.merge(result)
        if progress is not None:
            progress(0.0, f"{pages} pages, {total.records:,} records, {total.refused:,} refused")
    _announce_finished(new_session, account_id, reader.plugin, options, total, job_id)
    return {"reader": reader.name, "pages": pages, **total.as_dict()}


def start_feed_pull(
    session: Session,
    account_id: int,
    infos: Iterable[PluginInfo],
    readers: Mapping[str, FeedReader],
    *,
    reader: str,
    created_by: int | None = None,
) -> Job:
    """Queue a run of a feed reader for the account (its plugin installed and enabled)."""
    found = readers.get(reader)
    if found is None:
        known = ", ".join(sorted(readers)) or "none"
        raise InputError.single(ErrorCode.NOT_FOUND, f"no feed reader {reader!r} (readers: {known})", "reader")
    feed_options(session, account_id, infos, found.plugin)
    return create_job(
        session, account_id, kind="pull_feed", params={"reader": reader, "plugin": found.plugin}, created_by=created_by
    )


FEED_JOB_KINDS = ("import_feed", "pull_feed", "export_website")  # a plugin's runs
MAX_RUNS = 50


def feed_runs(session: Session, account_id: int, plugins: list[str], *, first: int = 10) -> dict[str, list[Job]]:
    """Each plugin's newest feed runs (upload imports and pulls; at most 50), in one statement."""
    out: dict[str, list[Job]] = {p: [] for p in plugins}
    if not plugins:
        return out
    first = max(0, min(first, MAX_RUNS))
    plugin = Job.params["plugin"].astext
    ranked = (
        select(
            Job,
            func.row_number().over(partition_by=plugin, order_by=(Job.created_at.desc(), Job.id.desc())).label("n"),
        )
        .where(Job.account_id == account_id, Job.kind.in_(FEED_JOB_KINDS), plugin.in_(plugins))
        .subquery()
    )
    newest = aliased(Job, ranked)
    for job in session.execute(select(newest).where(ranked.c.n <= first).order_by(ranked.c.n)).scalars():
        out[job.params["plugin"]].append(job)
    return out
