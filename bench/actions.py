"""Issue 12 benchmark rows: acting on a segment of the 1,000,000-person data set.

The segment is ``city = Amsterdam`` (about 121,000 members at 1M persons). Each action's
snapshot is taken through the segment engine and then cut to exactly the size the row names
(the first members by id), so the rows measure the action at that size. The label row tags
100,000 members with a new tag (source staff) in the job's one transaction, commit included;
the CSV rows write 10,000 and 100,000 members' contact fields and show the process's peak
memory at both sizes (it must not grow with the export). The actions, their tags and jobs are
removed afterwards. See bench/README.md.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark
from domain.actions import export as exports
from domain.actions import service as actions
from domain.segments import service as segments
from domain.tags import service as tags

LABEL_MEMBERS, LABEL_TARGET_S = 100_000, 5.0
CSV_SMALL, CSV_LARGE, CSV_TARGET_S = 10_000, 100_000, 10.0
FLAT = 1.5  # the large export's peak memory growth may be at most this times the small one's
RULES = {"type": "text", "field": "city", "operator": "eq", "value": "Amsterdam"}


def _noop(fraction: float, message: str = "") -> None:
    pass


def _new_session(ds: Dataset):
    return lambda: Session(ds.engine, expire_on_commit=False)


def _segment(session: Session, ds: Dataset) -> int:
    found = session.execute(
        text("SELECT id FROM segment WHERE account_id = :a AND name = 'bench: Amsterdam'"), {"a": ds.account_id}
    ).scalar()
    if found is None:
        found = segments.create_segment(session, ds.account_id, name="bench: Amsterdam", rules=RULES).id
    return found


def _snapshot(ds: Dataset, action_job: int, size: int) -> int:
    """Take the action's snapshot through the engine, then keep its first ``size`` members."""
    with Session(ds.engine, expire_on_commit=False) as session, session.begin():
        action = actions.action_of_job(session, action_job, lock=True)
        actions.take_snapshot(session, action)
        session.execute(
            text(
                "DELETE FROM action_member WHERE account_id = :a AND action_id = :id AND person_id > "
                "(SELECT person_id FROM action_member WHERE account_id = :a AND action_id = :id "
                "ORDER BY person_id OFFSET :n - 1 LIMIT 1)"
            ),
            {"a": ds.account_id, "id": action.id, "n": size},
        )
        kept = session.execute(
            text("SELECT count(*) FROM action_member WHERE account_id = :a AND action_id = :id"),
            {"a": ds.account_id, "id": action.id},
        ).scalar_one()
        action.members = kept
    return kept


def _drop(ds: Dataset, job_ids: list[int], tag_ids: list[int]) -> None:
    with ds.engine.begin() as conn:
        if tag_ids:
            conn.execute(
                text("DELETE FROM person_tag WHERE account_id = :a AND tag_id = ANY(:t)"),
                {"a": ds.account_id, "t": tag_ids},
            )
            conn.execute(
                text("DELETE FROM tag WHERE account_id = :a AND id = ANY(:t)"), {"a": ds.account_id, "t": tag_ids}
            )
        conn.execute(text("DELETE FROM job WHERE account_id = :a AND id = ANY(:j)"), {"a": ds.account_id, "j": job_ids})
    # What a run deleted is vacuumed away (not timed): a server without autovacuum (this bench's,
    # often) would otherwise make every later run read the dead ledger and snapshot rows of all before.
    with ds.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) action_member, mail_send, audience_push_batch, person_tag"))


@benchmark("label-segment")
def label_segment(ds: Dataset) -> Result:
    with Session(ds.engine, expire_on_commit=False) as session:
        segment_id = _segment(session, ds)
        tag = tags.create_tags(
            session, ds.account_id, tags.TagFields(names=f"bench label {time.time_ns()}"), policy="preserve"
        )[0]
        action = actions.start_label(
            session, ds.account_id, actions.Target(segment_id), tag_ids=[tag.id], actor="staff:bench"
        )
        session.commit()
    try:
        members = _snapshot(ds, action.job_id, LABEL_MEMBERS)
        started = time.perf_counter()
        result = actions.run_label(_new_session(ds), action.job_id, _noop)
        seconds = time.perf_counter() - started
        with Session(ds.engine) as session:
            counted = tags.counters(session, ds.account_id, [tag.id])[tag.id].persons
    finally:
        _drop(ds, [action.job_id], [tag.id])
    exact = result["links_added"] == members == counted
    return Result(
        f"label-segment {members:,} members",
        f"{seconds:.2f} s ({members / seconds:,.0f} links/s), counter {counted:,}",
        f"< {LABEL_TARGET_S:.0f} s, exact",
        seconds < LABEL_TARGET_S and exact,
        seconds=seconds,
        details=result,
    )


def _export(ds: Dataset, segment_id: int, size: int, storage: Path, baseline: int) -> tuple[dict, float, float, int]:
    with Session(ds.engine, expire_on_commit=False) as session:
        fields = ("email", "first_name", "last_name", "postal_code", "city")
        action = exports.start_csv_export(
            session, ds.account_id, actions.Target(segment_id), exports.CsvOptions(fields=fields)
        )
        session.commit()
    _snapshot(ds, action.job_id, size)
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = exports.run_export(_new_session(ds), action.job_id, storage, _noop)
    finally:
        done.set()
        sampler.join()
    return result, time.perf_counter() - started, (peak[0] - baseline) / 2**20, action.job_id


_csv_runs: dict[str, object] = {}


def _csv_both(ds: Dataset) -> dict:
    if _csv_runs:
        return _csv_runs
    with Session(ds.engine) as session:
        segment_id = _segment(session, ds)
        session.commit()
    jobs: list[int] = []
    with tempfile.TemporaryDirectory(prefix="marquee-bench-export-") as storage:
        baseline = psutil.Process().memory_info().rss
        try:
            for size in (CSV_SMALL, CSV_LARGE):
                result, seconds, mb, job_id = _export(ds, segment_id, size, Path(storage), baseline)
                jobs.append(job_id)
                _csv_runs[str(size)] = (result, seconds, mb)
        finally:
            _drop(ds, jobs, [])
    return _csv_runs


@benchmark("export-csv")
def export_csv(ds: Dataset) -> Result:
    result, seconds, _ = _csv_both(ds)[str(CSV_LARGE)]  # type: ignore[misc]
    return Result(
        f"export-csv {result['rows']:,} members",
        f"{seconds:.2f} s ({result['rows'] / seconds:,.0f} rows/s, {result['bytes'] / 2**20:.1f} MB)",
        f"< {CSV_TARGET_S:.0f} s",
        seconds < CSV_TARGET_S and result["rows"] == CSV_LARGE,
        seconds=seconds,
        details=result,
    )


@benchmark("export-csv-memory")
def export_csv_memory(ds: Dataset) -> Result:
    runs = _csv_both(ds)
    small_mb, large_mb = runs[str(CSV_SMALL)][2], runs[str(CSV_LARGE)][2]  # type: ignore[index]
    ratio = large_mb / max(small_mb, 1.0)
    return Result(
        "export-csv-memory (peak RSS above start)",
        f"{small_mb:.0f} MB at {CSV_SMALL:,}, {large_mb:.0f} MB at {CSV_LARGE:,} ({ratio:.2f}x)",
        f"flat: ≤ {FLAT}x",
        ratio <= FLAT,
        details={"small_mb": small_mb, "large_mb": large_mb},
    )


# -- XLSX export and offer e-mail ------------------------------------------------------------------

XLSX_MEMBERS = 100_000
OFFER_MEMBERS, OFFER_TARGET_PER_S = 100_000, 300.0


@benchmark("export-xlsx")
def export_xlsx(ds: Dataset) -> Result:
    from domain.actions import workbook

    with Session(ds.engine, expire_on_commit=False) as session:
        action = workbook.start_xlsx_export(session, ds.account_id, actions.Target(_segment(session, ds)))
        session.commit()
    try:
        _snapshot(ds, action.job_id, XLSX_MEMBERS)
        with tempfile.TemporaryDirectory(prefix="marquee-bench-xlsx-") as storage:
            started = time.perf_counter()
            result = workbook.run_xlsx_export(_new_session(ds), action.job_id, Path(storage), _noop)
            seconds = time.perf_counter() - started
    finally:
        _drop(ds, [action.job_id], [])
    return Result(
        f"export-xlsx {result['rows']:,} members",
        f"{seconds:.1f} s ({result['rows'] / seconds:,.0f} rows/s, {result['bytes'] / 2**20:.1f} MB)",
        "reported (no target)",
        None if result["rows"] == XLSX_MEMBERS else False,
        seconds=seconds,
        details=result,
    )


def _smtp_sink() -> tuple[object, int]:
    """aiosmtpd's discarding Sink in a process of its own on loopback (not sharing this one's GIL)."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the SMTP sink did not start")


@benchmark("offer-email")
def offer_email(ds: Dataset) -> Result:
    from domain.integrations import service as integrations
    from domain.mail import offers
    from domain.mail.links import Links
    from plugins.manager import PluginFacade, build_plugin_manager

    plugins = PluginFacade(build_plugin_manager())
    infos, mailers = plugins.plugin_infos(), plugins.mailers()
    sink, port = _smtp_sink()
    job_id = None
    try:
        with Session(ds.engine, expire_on_commit=False) as session:
            session.execute(
                text("DELETE FROM plugin_installation WHERE account_id = :a AND plugin = 'mailer'"),
                {"a": ds.account_id},
            )
            config = {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from_address": "bench@example.nl",
                "rate_per_second": 0,  # what the path can do; the connections are the plugin's default
            }
            integrations.install_plugin(
                session,
                ds.account_id,
                integrations.find_plugin(infos, "mailer"),
                integrations.PluginSetup(config=config),
            )
            consent_id = session.execute(
                text("SELECT id FROM consent_type WHERE account_id = :a AND key = 'offers_email'"), {"a": ds.account_id}
            ).scalar_one()
            segment_id = (
                session.execute(
                    text("SELECT id FROM segment WHERE account_id = :a AND name = 'bench: everyone'"),
                    {"a": ds.account_id},
                ).scalar()
                or segments.create_segment(session, ds.account_id, name="bench: everyone", rules={"all": []}).id
            )
            layout = offers.create_layout(
                session,
                ds.account_id,
                name=f"bench {time.time_ns()}",
                html='<html><body><h1>{{ offer.title }}</h1>{{ content }}<p><a href="{{ offer.url }}">Bestel</a></p>'
                '<p><a href="{{ unsubscribe_url }}">Afmelden</a></p></body></html>',
            )
            action = offers.start_offer(
                session,
                ds.account_id,
                actions.Target(segment_id, ("event", ds.counts["first_event_id"])),
                offers.OfferSpec(
                    layout_id=layout.id,  # type: ignore[arg-type]
                    consent_type_id=consent_id,
                    subject="Voor jou, {{ person.first_name }}: {{ offer.title }}",
                    text="Beste {{ person.first_name }},\n\nEr zijn nog plaatsen voor {{ offer.title }}.",
                    offer_url="https://venue.example/offer",
                ),
                mailers=mailers,
                infos=infos,
            )
            session.commit()
            job_id = action.job_id
        with Session(ds.engine, expire_on_commit=False) as session, session.begin():
            found = actions.action_of_job(session, job_id, lock=True)
            actions.take_snapshot(session, found)
            # Keep the first OFFER_MEMBERS members who hold the consent (the others would be skipped).
            session.execute(
                text(
                    "DELETE FROM action_member m WHERE m.account_id = :a AND m.action_id = :act AND m.person_id NOT IN "
                    "(SELECT am.person_id FROM action_member am JOIN person_consent c ON c.account_id = am.account_id "
                    "AND c.person_id = am.person_id AND c.consent_type_id = :c AND c.granted "
                    "WHERE am.account_id = :a AND am.action_id = :act ORDER BY am.person_id LIMIT :n)"
                ),
                {"a": ds.account_id, "act": found.id, "c": consent_id, "n": OFFER_MEMBERS},
            )
            found.members = OFFER_MEMBERS
        settings_links = Links("marquee-bench-secret-key", "https://marquee.example")
        started = time.perf_counter()
        result = offers.run_offer(
            _new_session(ds), job_id, mailers=mailers, infos=infos, links=settings_links, progress=_noop
        )
        seconds = time.perf_counter() - started
    finally:
        sink.kill()  # type: ignore[attr-defined]
        with ds.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM plugin_installation WHERE account_id = :a AND plugin = 'mailer'"),
                {"a": ds.account_id},
            )
            conn.execute(
                text("DELETE FROM mail_layout WHERE account_id = :a AND name LIKE 'bench %'"), {"a": ds.account_id}
            )
        if job_id is not None:
            _drop(ds, [job_id], [])
    rate = result["sent"] / seconds
    return Result(
        f"offer-email {result['sent']:,} mails to an SMTP sink",
        f"{rate:,.0f} mails/s ({seconds:.0f} s; {result.get('connections', '?')} connections)",
        f"≥ {OFFER_TARGET_PER_S:.0f}/s, all sent",
        rate >= OFFER_TARGET_PER_S and result["sent"] == OFFER_MEMBERS,
        seconds=seconds,
        details=result,
    )
