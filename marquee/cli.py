"""The ``marquee`` command line.

Exit codes: 0 success, 1 failure, 2 bad usage, input or settings, 3 not found. Errors are one
line on stderr; ``MARQUEE_DEBUG=1`` shows the traceback of an unexpected one.
"""

from __future__ import annotations


import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from marquee.settings import Settings, get_settings

if TYPE_CHECKING:
    from domain.recommendations.scoring import RebuildResult

app = typer.Typer(
    help="Marquee: audience CRM and marketing platform for venues.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
import_app = typer.Typer(help="Import feeds.", no_args_is_help=True)
app.add_typer(import_app, name="import")
console = Console(stderr=True)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_IMPORT_REFUSED = 1  # `marquee import`: some records were refused, the rest imported
EXIT_IMPORT_FAILED = 2  # `marquee import`: nothing could be imported (no account, plugin, readable file)
DEMO_SLUG = "demo"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version  # noqa: PLC0415

        typer.echo(f"marquee {version('marquee')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Marquee: audience CRM and marketing platform for venues."""


def main() -> None:
    """The console script: typer's app, with one-line errors and meaningful exit codes."""
    from alembic.util.exc import CommandError  # noqa: PLC0415

    from domain.errors import InputError  # noqa: PLC0415
    from marquee.settings import SettingsError  # noqa: PLC0415

    try:
        code = app(standalone_mode=False)  # without standalone mode click returns typer.Exit's code
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except (typer.Exit, SystemExit) as done:
        raise SystemExit(getattr(done, "exit_code", getattr(done, "code", 0)) or 0) from None
    except typer.Abort:
        console.print("aborted")
        raise SystemExit(EXIT_FAILURE) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except click_exceptions() as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except SettingsError as error:
        console.print(f"[red]settings: {error}[/red]")
        raise SystemExit(EXIT_USAGE) from None
    except CommandError as error:
        console.print(f"[red]database: {error}[/red]")
        raise SystemExit(EXIT_USAGE) from None
    except InputError as error:
        _print_problems(error)
        raise SystemExit(EXIT_USAGE) from None
    except Exception as error:
        if os.environ.get("MARQUEE_DEBUG"):
            raise
        console.print(f"[red]error: {type(error).__name__}: {error}[/red] (MARQUEE_DEBUG=1 shows the traceback)")
        raise SystemExit(EXIT_FAILURE) from None


def click_exceptions() -> tuple[type[BaseException], ...]:
    """Usage errors: click's, and those of the copy of click that newer typer releases carry."""
    import click  # noqa: PLC0415

    found: list[type[BaseException]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException  # noqa: PLC0415

        found.append(ClickException)
    except ImportError:
        pass
    return tuple(found)


@contextmanager
def servers(*, need_redis: bool = True) -> Iterator[Settings]:
    """Settings with URLs for PostgreSQL and Redis, starting embedded servers when none are
    configured. The URLs are exported so child processes (API, worker) share the servers."""
    from marquee.embedded import ensure_servers  # noqa: PLC0415

    settings = get_settings()
    # SIGTERM ends the command like Ctrl-C: the servers below are stopped on the way out (its
    # default action, or uvicorn re-raising it after its own shutdown, would skip that).
    previous = (
        signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    )
    running = ensure_servers(settings.database_url, settings.redis_url, settings.data_dir, need_redis=need_redis)
    try:
        assert running.database_url is not None
        os.environ["MARQUEE_DATABASE_URL"] = running.database_url
        if running.redis_url:
            os.environ["MARQUEE_REDIS_URL"] = running.redis_url
        get_settings.cache_clear()
        yield replace(settings, database_url=running.database_url, redis_url=running.redis_url)
    finally:
        running.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _engine(settings: Settings):
    from marquee.db import make_engine  # noqa: PLC0415

    return make_engine(settings.database_url, pool_size=2)


def _migrate(settings: Settings) -> None:
    from marquee.migrate import upgrade  # noqa: PLC0415

    engine = _engine(settings)
    upgrade(engine)
    engine.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database schema (to the newest revision by default)."""
    from marquee.migrate import upgrade  # noqa: PLC0415

    with servers(need_redis=False) as settings:
        engine = _engine(settings)
        upgrade(engine, revision)
        engine.dispose()
    console.print(f"[green]database at {revision}[/green]")


@app.command("create-account")
def create_account(
    name: str = typer.Argument(..., help="Display name of the venue."),
    slug: str | None = typer.Option(None, help="Short unique name (default: from the name)."),
    timezone: str = typer.Option("Europe/Amsterdam", help="IANA time zone of the account."),
    module: list[str] = typer.Option([], help="Module to switch on: recommendations, business."),
    admin_email: str = typer.Option(..., help="E-mail of the first admin user."),
    tag_name_policy: str = typer.Option("preserve", help="preserve or canonical."),
) -> None:
    """Create an account with an admin user and print the admin's API token."""
    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.errors import InputError  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415

    with servers(need_redis=False) as settings:
        _migrate(settings)
        try:
            with session_scope(_engine(settings)) as session:
                account = accounts.create_account(
                    session,
                    name=name,
                    slug=slug,
                    timezone_name=timezone,
                    modules=module,
                    tag_name_policy=tag_name_policy,
                )
                user = accounts.create_staff_user(session, account.id, email=admin_email, role="admin")
                _, secret = accounts.issue_token(
                    session, account.id, kind="staff", staff_user_id=user.id, name="created by marquee create-account"
                )
                slug_out = account.slug
        except InputError as exc:
            _fail_input(exc)
    console.print(f"account [bold]{slug_out}[/bold] created")
    typer.echo(secret)


@app.command("create-token")
def create_token(
    account: str = typer.Option(..., help="Account slug."),
    kind: str = typer.Option("staff", help="staff, website or connector."),
    email: str | None = typer.Option(None, help="Staff user's e-mail (kind staff)."),
    role: str = typer.Option("admin", help="Role when the staff user is created."),
    plugin: str | None = typer.Option(None, help="Plugin name (kind connector)."),
    scope: list[str] = typer.Option([], help="Scopes of a connector key (default: all its plugin is granted)."),
    name: str = typer.Option("", help="A note to recognise the token by."),
) -> None:
    """Issue a bearer token (the secret is printed once)."""
    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.errors import InputError  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415

    if kind not in ("staff", "website", "connector"):
        raise typer.BadParameter("kind is staff, website or connector", param_hint="--kind")
    if kind == "staff" and not email:
        raise typer.BadParameter("a staff token needs --email", param_hint="--email")
    if kind == "connector" and not plugin:
        raise typer.BadParameter("a connector key needs --plugin", param_hint="--plugin")
    with servers(need_redis=False) as settings:
        try:
            with session_scope(_engine(settings)) as session:
                found = accounts.get_account_by_slug(session, account)
                if found is None:
                    console.print(f"[red]no account {account!r}[/red]")
                    raise typer.Exit(EXIT_NOT_FOUND)
                user_id = None
                if kind == "staff":
                    user = accounts.get_staff_user_by_email(session, found.id, email) or accounts.create_staff_user(
                        session, found.id, email=email, role=role
                    )
                    user_id = user.id
                _, secret = accounts.issue_token(
                    session,
                    found.id,
                    kind=kind,
                    staff_user_id=user_id,
                    plugin=plugin,
                    scopes=scope or None,
                    name=name,
                )
        except InputError as exc:
            _fail_input(exc)
    typer.echo(secret)


@app.command("install-plugin")
def install_plugin(
    plugin: str = typer.Argument(..., help="Plugin name (see the `plugins` query)."),
    account: str = typer.Option(..., help="Account slug."),
    grant: list[str] = typer.Option([], help="A scope to grant (repeat the option)."),
    setting: list[str] = typer.Option([], "--set", help="name=value (a JSON value, else text); repeat."),
) -> None:
    """Install a registered plugin for an account (the installPlugin mutation, for operators)."""
    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.errors import InputError  # noqa: PLC0415
    from domain.integrations import service as integrations  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415
    from plugins.manager import PluginFacade, build_plugin_manager  # noqa: PLC0415

    config = {}
    for item in setting:
        key, sep, raw = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not name=value", param_hint="--set")
        try:
            config[key.strip()] = json.loads(raw)
        except ValueError:
            config[key.strip()] = raw
    with servers(need_redis=False) as settings:
        try:
            with session_scope(_engine(settings)) as session:
                found = accounts.get_account_by_slug(session, account)
                if found is None:
                    console.print(f"[red]no account {account!r}[/red]")
                    raise typer.Exit(EXIT_NOT_FOUND)
                info = integrations.find_plugin(PluginFacade(build_plugin_manager()).plugin_infos(), plugin)
                installation = integrations.install_plugin(
                    session, found.id, info, integrations.PluginSetup(config=config, granted_scopes=tuple(grant))
                )
                generated = integrations.generated_secrets(info, config, installation, installing=True)
        except InputError as exc:
            _fail_input(exc)
    console.print(f"plugin [bold]{plugin}[/bold] installed for {account}")
    for name, value in generated.items():
        console.print(f"{name} (shown once, copy it now): {value}", soft_wrap=True)


@import_app.command("ticketing")
def import_ticketing(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The feed file (.jsonl or .csv)."),
    account: str = typer.Option(..., help="Account slug (the ticketing plugin installed for it)."),
    format: str = typer.Option("auto", help="jsonl, csv, or auto (by the file's extension)."),
    delimiter: str = typer.Option(",", help="CSV column separator."),
    recheck: bool = typer.Option(
        False, "--recheck", help="Check every record against the database, also those unchanged since last written."
    ),
) -> None:
    """Import a ticketing feed. Exit status: 0 clean, 1 some records refused, 2 failed."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn  # noqa: PLC0415

    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.errors import InputError  # noqa: PLC0415
    from domain.imports import service as imports  # noqa: PLC0415
    from domain.imports.importer import run_import  # noqa: PLC0415
    from domain.imports.readers import FeedFormatError, read_csv, read_jsonl  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415
    from plugins.manager import PluginFacade, build_plugin_manager  # noqa: PLC0415

    kind = format if format != "auto" else ("csv" if path.suffix.lower() in (".csv", ".txt") else "jsonl")
    if kind not in ("jsonl", "csv"):
        raise typer.BadParameter("format is jsonl, csv or auto", param_hint="--format")
    with servers(need_redis=False) as settings:
        engine = _engine(settings)
        try:
            with session_scope(engine) as session:
                found = accounts.get_account_by_slug(session, account)
                if found is None:
                    console.print(f"[red]no account {account!r}[/red]")
                    raise typer.Exit(EXIT_IMPORT_FAILED)
                account_id = found.id
                options = imports.feed_options(
                    session, account_id, PluginFacade(build_plugin_manager()).plugin_infos(), "ticketing"
                )
                options = replace(options, skip_unchanged=not recheck)
        except InputError as exc:
            _print_problems(exc)
            raise typer.Exit(EXIT_IMPORT_FAILED) from None
        from sqlmodel import Session  # noqa: PLC0415

        with path.open("rb") as stream, Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task(f"importing {path.name}", total=path.stat().st_size)
            records = read_csv(stream, delimiter=delimiter) if kind == "csv" else read_jsonl(stream)
            try:
                result = run_import(
                    lambda: Session(engine),
                    account_id,
                    records,
                    options,
                    progress=lambda _: bar.update(task, completed=stream.tell()),
                )
            except (FeedFormatError, UnicodeDecodeError) as error:
                console.print(f"[red]{path}: {error}[/red]")
                raise typer.Exit(EXIT_IMPORT_FAILED) from None
        from domain.audit import service as audit  # noqa: PLC0415
        from domain.audit.models import AuditOutcome  # noqa: PLC0415

        with session_scope(engine) as session:  # the import in the account's audit trail, like a job's
            audit.record(
                session,
                audit.Entry(
                    account_id=account_id,
                    actor="worker",
                    action="cli:import_ticketing",
                    outcome=AuditOutcome.DONE,
                    figures={"records": result.records, "changes": result.changes, "refused": result.refused},
                ),
            )
    summary = result.as_dict()
    for kind_name, counts in summary["counts"].items():
        console.print(f"{kind_name}: " + ", ".join(f"{n:,} {what}" for what, n in sorted(counts.items())))
    for refusal in result.refusals[:50]:
        console.print(
            f"[yellow]line {refusal.line}: {refusal.kind or 'record'} {refusal.external_id or ''}"
            f" {refusal.field}: {refusal.message}[/yellow]"
        )
    if result.refused > 50:
        console.print(f"[yellow]… and {result.refused - 50:,} more refused records[/yellow]")
    console.print(f"{result.records:,} records, {result.changes:,} changes, {result.refused:,} refused")
    raise typer.Exit(EXIT_IMPORT_REFUSED if result.refused else 0)


@app.command("rescore")
def rescore(account: str = typer.Option(..., help="Account slug (with the recommendations module on).")) -> None:
    """Score every person of an account again from their interactions (as after a rule change)."""
    from sqlmodel import Session  # noqa: PLC0415

    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.errors import InputError  # noqa: PLC0415
    from domain.recommendations import scoring  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415

    with servers(need_redis=False) as settings:
        engine = _engine(settings)
        with session_scope(engine) as session:
            found = accounts.get_account_by_slug(session, account)
        if found is None:
            console.print(f"[red]no account {account!r}[/red]")
            raise typer.Exit(EXIT_USAGE)
        started = time.perf_counter()
        try:
            result = scoring.rebuild_interest_scores(lambda: Session(engine), found.id)
        except InputError as exc:
            _fail_input(exc)
    console.print(
        f"{result.persons:,} persons, {result.scores:,} interest scores in {time.perf_counter() - started:.1f} s"
    )


def _print_problems(exc) -> None:
    for problem in exc.problems:
        console.print(f"[red]{'.'.join(problem.path) or 'input'}: {problem.message}[/red]")


def _fail_input(exc) -> None:
    _print_problems(exc)
    raise typer.Exit(EXIT_USAGE)


def _load_demo(settings: Settings, *, people: int, seed: int, slug: str) -> tuple[int, bool]:
    """Create the demo account and fill it, with a progress bar; returns (account id, loaded now)."""
    from sqlalchemy import func, select  # noqa: PLC0415

    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.demo.generator import load_demo_data  # noqa: PLC0415
    from domain.people.models import Person  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415

    engine = _engine(settings)
    with session_scope(engine) as session:
        account = accounts.get_account_by_slug(session, slug)
        if account is None:
            account = accounts.create_account(
                session, name="Stadsschouwburg Demo", slug=slug, modules=["recommendations", "business"]
            )
        account_id = int(account.id)
        existing = session.execute(
            select(func.count()).select_from(Person).where(Person.account_id == account_id)
        ).scalar_one()
    if existing:
        console.print(f"account [bold]{slug}[/bold] already holds {existing:,} persons; not loading again")
        engine.dispose()
        return account_id, False
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("demo data", total=1.0)

        def report(fraction: float, message: str) -> None:
            progress.update(task, completed=fraction, description=f"demo data: {message}")

        with engine.begin() as conn:
            counts = load_demo_data(conn, account_id, people=people, seed=seed, progress=report)
        scored = _score_demo(engine, account_id, progress, task)
    engine.dispose()
    console.print(
        f"loaded in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))
    )
    if scored is not None:
        console.print(f"interests: {scored.scores:,} scores for {scored.persons:,} persons")
    return account_id, True


def _score_demo(engine, account_id: int, progress: Progress, task) -> RebuildResult | None:
    """Score the loaded persons' interests when the account has the recommendations module (the
    loader writes with triggers off, so nothing scored them): interests, tips and interest
    conditions have something to show from the start."""
    from sqlmodel import Session  # noqa: PLC0415

    from domain.accounts.models import Account, Module  # noqa: PLC0415
    from domain.recommendations import scoring  # noqa: PLC0415

    with Session(engine) as session:
        account = session.get(Account, account_id)
        if account is None or not account.has_module(Module.RECOMMENDATIONS):
            return None

    def report(fraction: float, message: str) -> None:
        progress.update(task, completed=fraction, description=f"interests: {message}")

    return scoring.rebuild_interest_scores(lambda: Session(engine), account_id, progress=report)


@app.command("demo-data")
def demo_data(
    people: int = typer.Option(20_000, min=1, max=5_000_000, help="Number of persons."),
    seed: int = typer.Option(42, help="Same seed, same data."),
    account: str = typer.Option(DEMO_SLUG, help="Slug of the account to create and fill."),
    feed: Path | None = typer.Option(
        None,
        dir_okay=False,
        help="Also write the account's data as a ticketing feed (JSON Lines) to this file; an account that "
        "already holds data is only written.",
    ),
    max_tickets: int | None = typer.Option(
        None, min=1, help="With --feed: the first orders holding at most this many tickets, with their persons."
    ),
) -> None:
    """Load realistic demo data (persons, catalogue, orders, consents) into a new account."""
    with servers(need_redis=False) as settings:
        _migrate(settings)
        account_id, _ = _load_demo(settings, people=people, seed=seed, slug=account)
        if feed is not None:
            _write_feed(settings, account_id, feed, max_tickets)


def _write_feed(settings: Settings, account_id: int, path: Path, max_tickets: int | None) -> None:
    from domain.demo.feed import write_feed  # noqa: PLC0415

    engine = _engine(settings)
    started = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    try:
        with engine.connect() as conn, partial.open("w", encoding="utf-8") as out:
            counts = write_feed(
                conn,
                account_id,
                out,
                max_tickets=max_tickets,
                progress=lambda kind, n: console.print(f"  {kind}: {n:,}"),
            )
        partial.replace(path)  # a feed file is whole or absent
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    listed = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    console.print(f"feed written to {path} in {time.perf_counter() - started:.1f} s: {listed}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on.", show_default="MARQUEE_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="TCP port.", show_default="MARQUEE_PORT or 8000"),
    workers: int = typer.Option(1, help="API processes."),
) -> None:
    """Run the API (GraphQL at /graphql)."""
    import uvicorn  # noqa: PLC0415

    with servers() as settings:
        uvicorn.run(
            "marquee.asgi:create",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="warning",
        )


@app.command()
def worker(
    processes: int = typer.Option(1, help="Worker processes."),
    threads: int = typer.Option(4, help="Threads per process."),
    queue: list[str] = typer.Option(
        [], "--queue", help="Only these queues (repeatable): marquee (all other work), bulk (offer e-mails, pushes)."
    ),
) -> None:
    """Run the background worker (dramatiq on Redis); every queue unless --queue is given."""
    from jobs.worker import run_worker  # noqa: PLC0415

    with servers():
        raise typer.Exit(run_worker(processes=processes, threads=threads, queues=queue or None))


@app.command()
def demo(
    people: int = typer.Option(20_000, min=1, help="Persons in the demo account."),
    port: int = typer.Option(None, help="TCP port of the API.", show_default="MARQUEE_PORT or 8000"),
    reset: bool = typer.Option(False, "--reset", help="Delete the demo account and load it again."),
) -> None:
    """Everything at once: servers, migrations, demo data, API and worker. Ctrl-C stops it all."""
    from domain.accounts import service as accounts  # noqa: PLC0415
    from domain.demo.service import create_demo_segments, demo_person  # noqa: PLC0415
    from domain.forms import service as forms  # noqa: PLC0415
    from marquee.db import session_scope  # noqa: PLC0415

    with servers() as settings:
        _migrate(settings)
        port = port or settings.port
        if reset:
            with session_scope(_engine(settings)) as session:
                found = accounts.get_account_by_slug(session, DEMO_SLUG)
                if found is not None:
                    accounts.delete_account(session, found.id)
                    console.print(f"demo account [bold]{DEMO_SLUG}[/bold] deleted")
        account_id, _ = _load_demo(settings, people=people, seed=42, slug=DEMO_SLUG)
        engine = _engine(settings)
        with session_scope(engine) as session:
            user = accounts.get_staff_user_by_email(
                session, account_id, "admin@demo.example"
            ) or accounts.create_staff_user(
                session, account_id, email="admin@demo.example", role="admin", name="Demo Admin"
            )
            _, token = accounts.issue_token(session, account_id, kind="staff", staff_user_id=user.id, name="make demo")
            create_demo_segments(session, account_id)
            forms.preference_centre(session, account_id)
            shown = demo_person(session, account_id)
            link = None
            if shown is not None:
                base = settings.public_url or f"http://{settings.host}:{port}"
                link, _, _ = forms.make_preference_link(
                    session,
                    account_id,
                    shown.id,
                    secret_key=settings.secret_key,
                    base_url=base,
                    max_age=settings.preference_link_max_age,
                )
                who = f"{shown.first_name} {shown.last_name or ''}".strip()
        engine.dispose()
        env = dict(os.environ, MARQUEE_PORT=str(port))
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "marquee.asgi:create",
                "--host",
                settings.host,
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        work = subprocess.Popen([sys.executable, "-m", "marquee.cli", "worker"], env=env)
        children = [api, work]
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            _wait_until_up(f"http://{settings.host}:{port}/healthz", api)
            url = f"http://{settings.host}:{port}"
            query = '{"query":"{ segments { edges { node { name count } } } }"}'
            preference = f"  Preference centre of {who}:\n    {link}\n" if link else ""
            typer.echo(
                f"\nMarquee is running.\n"
                f"  Explorer (signed in as the demo admin):\n    {url}/graphql#token={token}\n"
                f"  GraphQL endpoint:     {url}/graphql\n"
                f"  Staff token (admin of account '{DEMO_SLUG}'):\n    {token}\n"
                f"{preference}"
                f"  Saved segments, counted:\n    curl -s {url}/graphql -H 'Authorization: Bearer {token}' "
                f"-H 'Content-Type: application/json' -d '{query}'\n"
                f"  Start again with fresh demo data: marquee demo --reset (or make demo-reset)\n"
                f"Press Ctrl-C to stop."
            )
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            console.print("[red]a process stopped; shutting down[/red]")
            raise typer.Exit(1)
        except KeyboardInterrupt:
            console.print("stopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()


def _interrupt(signum, frame) -> None:
    """SIGTERM stops `marquee demo` as cleanly as Ctrl-C: children first, then the servers."""
    raise KeyboardInterrupt


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the API process exited during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the API did not answer at {url} within {timeout:.0f} s")


if __name__ == "__main__":
    main()
