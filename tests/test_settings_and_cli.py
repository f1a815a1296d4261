"""Settings refuse what cannot be used (unknown environments, weak production secrets), and the
command line answers errors in one line with a meaningful exit code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from marquee.settings import DEVELOPMENT_SECRET, SettingsError, settings_from_env

STRONG = "k3Jd9-xQ2pLm7vBn4Tz8Wc1Ry6Hs5Ua0Ge"


@pytest.mark.parametrize("name", ["Production", "prod", "PRODUCTION", "staging", "dev"])
def test_unknown_environment_names_are_refused(name):
    with pytest.raises(SettingsError, match="MARQUEE_ENV is"):
        settings_from_env({"MARQUEE_ENV": name, "MARQUEE_SECRET_KEY": STRONG})


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "must be set in production"),
        ("", "must be set in production"),
        (DEVELOPMENT_SECRET, "published development secret"),
        ("x", "too weak"),
        ("a" * 64, "too weak"),
        ("abcdefgh" * 3, "too weak"),
    ],
)
def test_production_refuses_missing_default_or_weak_secrets(secret, message):
    env = {"MARQUEE_ENV": "production"}
    if secret is not None:
        env["MARQUEE_SECRET_KEY"] = secret
    with pytest.raises(SettingsError, match=message):
        settings_from_env(env)


def test_production_takes_a_strong_secret_and_turns_the_explorer_off():
    settings = settings_from_env({"MARQUEE_ENV": "production", "MARQUEE_SECRET_KEY": STRONG})
    assert settings.is_production and settings.secret_key == STRONG
    assert not settings.introspection and not settings.graphql_ide


def test_development_keeps_its_default_secret():
    assert settings_from_env({}).secret_key == DEVELOPMENT_SECRET


def test_numbers_in_settings_are_checked():
    with pytest.raises(SettingsError, match="MARQUEE_PORT must be a whole number"):
        settings_from_env({"MARQUEE_PORT": "eighty"})


def marquee(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "marquee.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_prints_its_version():
    done = marquee("--version")
    assert done.returncode == 0 and done.stdout.startswith("marquee ")


def test_cli_settings_errors_are_one_line_with_exit_code_2():
    done = marquee("db", "upgrade", env={"MARQUEE_ENV": "production", "MARQUEE_SECRET_KEY": "x"})
    assert done.returncode == 2
    assert done.stderr.strip().startswith("settings: MARQUEE_SECRET_KEY is too weak")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 2


def test_cli_unknown_revision_is_one_line_with_exit_code_2(db_url):
    done = marquee("db", "upgrade", "badrev", env={"MARQUEE_DATABASE_URL": db_url})
    assert done.returncode == 2
    assert done.stderr.strip() == "database: Can't locate revision identified by 'badrev'"
    assert "XDG_RUNTIME_DIR" not in done.stderr


def test_cli_help_shows_where_serve_listens():
    done = marquee("serve", "--help")
    assert done.returncode == 0
    assert "MARQUEE_HOST or 127.0.0.1" in done.stdout and "MARQUEE_PORT or 8000" in done.stdout


def test_demo_data_comes_with_scored_interests(db_url, committed_engine):
    """A new user's demo shows interests and personal tips at once: the loader scores them."""
    import uuid

    from sqlalchemy import text

    slug = f"cli-demo-{uuid.uuid4().hex[:6]}"
    done = marquee("demo-data", "--people", "200", "--account", slug, env={"MARQUEE_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    assert "interests:" in done.stdout + done.stderr
    with committed_engine.begin() as conn:
        account = conn.execute(text("SELECT id FROM account WHERE slug = :s"), {"s": slug}).scalar_one()
        try:
            scored = conn.execute(
                text("SELECT count(DISTINCT person_id) FROM interest_score WHERE account_id = :a"), {"a": account}
            ).scalar_one()
            assert scored > 100  # nearly every demo person has bought, clicked or visited something
        finally:
            conn.execute(text("DELETE FROM account WHERE id = :a"), {"a": account})
