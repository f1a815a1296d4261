"""Settings read from the environment (prefix ``MARQUEE_``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and says what would do."""


def _int(value: str | None, default: int, name: str = "setting") -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from None


def _seconds(value: str | None, default: float, name: str = "MARQUEE_SCHEDULER_TICK_SECONDS") -> float:
    if value in (None, ""):
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0.1 <= seconds <= 3600:
        raise SettingsError(f"{name} must be between 0.1 and 3600 seconds, not {value!r}")
    return seconds


ENVIRONMENTS = ("development", "test", "production")
DEVELOPMENT_SECRET = "dev-insecure-secret-change-me"
MIN_SECRET_LENGTH = 32


def check_secret(secret: str | None) -> str:
    """A production secret: set, not the published development one, long and varied enough."""
    if not secret:
        raise SettingsError(
            "MARQUEE_SECRET_KEY must be set in production (for example: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if secret == DEVELOPMENT_SECRET:
        raise SettingsError("MARQUEE_SECRET_KEY is the published development secret; production needs its own")
    if len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 10:
        raise SettingsError(f"MARQUEE_SECRET_KEY is too weak: use at least {MIN_SECRET_LENGTH} random characters")
    return secret


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.cwd() / ".marquee")
    secret_key: str = DEVELOPMENT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    max_query_depth: int = 12
    max_query_tokens: int = 4000
    max_aliases: int = 30
    introspection: bool = True
    graphql_ide: bool = True
    db_pool_size: int = 10
    preference_link_max_age: int = 60 * 60 * 24 * 30
    statement_budget_ms: int = 15_000  # segment counts, member lists, membership tests
    fixed_now: datetime | None = None  # outside production: "now" for every rule (domain.clock)
    frame_ancestors: tuple[str, ...] = ()  # origins that may frame the preference page (none by default)
    storage_dir: Path | None = None  # uploaded feeds and segment exports; default: data_dir / "storage"
    download_link_seconds: int = 3600  # how long a signed export download link works
    export_keep_days: int = 7  # segment export files older than this are removed
    upload_max_bytes: int = 1 << 30  # one feed upload (an authenticated multipart request)
    scheduler_tick_seconds: float = 30.0  # how often each worker process fires due schedules
    # May outgoing webhooks go to loopback, private or link-local addresses? Off in production.
    webhook_private_targets: bool = True

    @property
    def storage(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def settings_from_env(env: os._Environ | dict | None = None) -> Settings:
    env = os.environ if env is None else env
    environment = env.get("MARQUEE_ENV") or "development"
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"MARQUEE_ENV is {environment!r}; use one of {', '.join(ENVIRONMENTS)}")
    production = environment == "production"
    data_dir = Path(env.get("MARQUEE_DATA_DIR") or (Path.cwd() / ".marquee"))
    secret = env.get("MARQUEE_SECRET_KEY")
    if production:
        secret = check_secret(secret)
    secret = secret or DEVELOPMENT_SECRET
    return Settings(
        environment=environment,
        database_url=env.get("MARQUEE_DATABASE_URL") or None,
        redis_url=env.get("MARQUEE_REDIS_URL") or None,
        data_dir=data_dir,
        secret_key=secret,
        host=env.get("MARQUEE_HOST", "127.0.0.1"),
        port=_int(env.get("MARQUEE_PORT"), 8000, "MARQUEE_PORT"),
        public_url=env.get("MARQUEE_PUBLIC_URL") or None,
        max_query_depth=_int(env.get("MARQUEE_MAX_QUERY_DEPTH"), 12, "MARQUEE_MAX_QUERY_DEPTH"),
        max_query_tokens=_int(env.get("MARQUEE_MAX_QUERY_TOKENS"), 4000, "MARQUEE_MAX_QUERY_TOKENS"),
        max_aliases=_int(env.get("MARQUEE_MAX_ALIASES"), 30, "MARQUEE_MAX_ALIASES"),
        introspection=_bool(env.get("MARQUEE_INTROSPECTION"), not production),
        graphql_ide=_bool(env.get("MARQUEE_GRAPHQL_IDE"), not production),
        db_pool_size=_int(env.get("MARQUEE_DB_POOL_SIZE"), 10, "MARQUEE_DB_POOL_SIZE"),
        statement_budget_ms=_int(env.get("MARQUEE_STATEMENT_BUDGET_MS"), 15_000, "MARQUEE_STATEMENT_BUDGET_MS"),
        fixed_now=_instant(env.get("MARQUEE_NOW"), production),
        frame_ancestors=_origins(env.get("MARQUEE_FRAME_ANCESTORS")),
        storage_dir=Path(env["MARQUEE_STORAGE_DIR"]) if env.get("MARQUEE_STORAGE_DIR") else None,
        export_keep_days=_int(env.get("MARQUEE_EXPORT_KEEP_DAYS"), 7, "MARQUEE_EXPORT_KEEP_DAYS"),
        download_link_seconds=_int(env.get("MARQUEE_DOWNLOAD_LINK_SECONDS"), 3600, "MARQUEE_DOWNLOAD_LINK_SECONDS"),
        upload_max_bytes=_int(env.get("MARQUEE_UPLOAD_MAX_BYTES"), 1 << 30, "MARQUEE_UPLOAD_MAX_BYTES"),
        scheduler_tick_seconds=_seconds(env.get("MARQUEE_SCHEDULER_TICK_SECONDS"), 30.0),
        webhook_private_targets=_bool(env.get("MARQUEE_WEBHOOK_PRIVATE_TARGETS"), not production),
    )


def _origins(value: str | None) -> tuple[str, ...]:
    """``MARQUEE_FRAME_ANCESTORS``: space- or comma-separated origins (https://www.venue.nl)."""
    origins = tuple(o for o in (value or "").replace(",", " ").split() if o)
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?|'self'", origin):
            raise SettingsError(f"MARQUEE_FRAME_ANCESTORS: {origin!r} is not an origin such as https://www.venue.nl")
    return origins


def _instant(value: str | None, production: bool) -> datetime | None:
    """``MARQUEE_NOW``: an ISO instant with its offset (2026-05-01T12:00:00+02:00)."""
    if not value:
        return None
    if production:
        raise SettingsError("MARQUEE_NOW fixes the clock for tests and demos; production runs on the real clock")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(
            f"MARQUEE_NOW must be an ISO instant such as 2026-05-01T12:00:00+02:00, not {value!r}"
        ) from None
    if instant.tzinfo is None:
        raise SettingsError("MARQUEE_NOW needs its offset from UTC (…+02:00 or …Z)")
    return instant


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
