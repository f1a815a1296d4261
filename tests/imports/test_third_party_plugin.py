"""A plugin from a separate package, installed through its entry point, contributes a feed reader
and hears events, with nothing in the core naming it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.imports import service as imports
from domain.integrations import service as integrations
from marquee.runtime import build_runtime

PACKAGE = Path(__file__).resolve().parents[1] / "plugin_packages" / "marquee-example-feed"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """pip installs the package into a scratch folder (not the project's environment)."""
    source = tmp_path_factory.mktemp("src") / PACKAGE.name
    shutil.copytree(PACKAGE, source)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return target


def test_a_third_party_feed_reader_imports_and_hears_events(
    installed, monkeypatch, connection, db_engine, test_settings, session, account, tmp_path
):
    from tests.conftest import _joined_session

    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("EXAMPLE_FEED_LOG", str(log))
    monkeypatch.syspath_prepend(str(installed))
    runtime = build_runtime(test_settings, engine=db_engine)  # entry points read now, the new one included
    runtime.session_factory = lambda: _joined_session(connection)
    infos = runtime.plugins.plugin_infos()
    assert "example-feed" in {i.name for i in infos}
    readers = runtime.plugins.feed_readers()
    reader = readers["example-feed.people"]

    info = integrations.find_plugin(infos, "example-feed")
    integrations.install_plugin(
        session,
        account.id,
        info,
        integrations.PluginSetup(config={"token": "Geheim"}, granted_scopes=("people:write",)),
    )
    session.flush()
    first = imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    assert (first["pages"], first["counts"]["person"]["created"]) == (3, 15)
    names = session.execute(text("SELECT DISTINCT first_name FROM person WHERE account_id = :a"), {"a": account.id})
    assert names.scalars().all() == ["Geheim"]  # the reader got its secret setting

    again = imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    assert again["pages"] == 0  # the stored cursor says all three pages are in
    integrations.change_installation(session, account.id, info, integrations.InstallationChanges(config={"pages": 4}))
    more = imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    assert (more["pages"], more["counts"]["person"]["created"]) == (1, 5)

    heard = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(h["hook"], h["account_id"], h["records"]) for h in heard] == [
        ("on_import_finished", account.id, 15),
        ("on_import_finished", account.id, 0),
        ("on_import_finished", account.id, 5),
    ]
