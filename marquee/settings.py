"""Settings read from the environment (prefix ``MARQUEE_``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.cwd() / ".marquee")
    secret_key: str = "dev-insecure-secret-change-me"
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

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def settings_from_env(env: os._Environ | dict | None = None) -> Settings:
    env = os.environ if env is None else env
    environment = env.get("MARQUEE_ENV", "development")
    production = environment == "production"
    data_dir = Path(env.get("MARQUEE_DATA_DIR") or (Path.cwd() / ".marquee"))
    secret = env.get("MARQUEE_SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("MARQUEE_SECRET_KEY must be set in production")
        secret = "dev-insecure-secret-change-me"
    return Settings(
        environment=environment,
        database_url=env.get("MARQUEE_DATABASE_URL") or None,
        redis_url=env.get("MARQUEE_REDIS_URL") or None,
        data_dir=data_dir,
        secret_key=secret,
        host=env.get("MARQUEE_HOST", "127.0.0.1"),
        port=_int(env.get("MARQUEE_PORT"), 8000),
        public_url=env.get("MARQUEE_PUBLIC_URL") or None,
        max_query_depth=_int(env.get("MARQUEE_MAX_QUERY_DEPTH"), 12),
        max_query_tokens=_int(env.get("MARQUEE_MAX_QUERY_TOKENS"), 4000),
        max_aliases=_int(env.get("MARQUEE_MAX_ALIASES"), 30),
        introspection=_bool(env.get("MARQUEE_INTROSPECTION"), not production),
        graphql_ide=_bool(env.get("MARQUEE_GRAPHQL_IDE"), not production),
        db_pool_size=_int(env.get("MARQUEE_DB_POOL_SIZE"), 10),
        statement_budget_ms=_int(env.get("MARQUEE_STATEMENT_BUDGET_MS"), 15_000),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
