"""Real worker processes for the fault tests: started in a process group of their own (so that a
kill takes dramatiq's worker processes along), killed with SIGKILL mid-job, stopped cleanly.

The fault tests build tens of thousands of rows in one transaction. They ANALYZE a table they filled
before inserting rows that reference it, as the importer does: the suite's rolled-back tests leave
tables whose statistics say "empty" over many pages, and then the planner checks each foreign key
with whatever index comes first (seen: person by its postal-code index, 20 ms per row, minutes per
insert)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from jobs.worker import worker_command


def worker_env(db_url: str, redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    """The environment of a worker on the test session's database and broker namespace."""
    return dict(
        os.environ,
        MARQUEE_DATABASE_URL=db_url,
        MARQUEE_REDIS_URL=redis_url,
        MARQUEE_REDIS_NAMESPACE=namespace,
        **extra,
    )


@contextmanager
def running_worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """One worker process (one thread); on leaving, one still running is stopped with SIGINT (a
    clean stop), or killed when it has not stopped within a minute."""
    process = subprocess.Popen(
        worker_command(processes=1, threads=1),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    kill(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the worker's whole process group, as a crash or the OOM killer would; returns
    once every process of the group is gone (waiting for the parent alone let a dramatiq worker
    process finish a job and record it after the test took it for dead)."""
    import time

    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _alive_in_group(process.pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of group {process.pid} outlived SIGKILL by 30 s")
        time.sleep(0.01)


def _alive_in_group(group: int) -> bool:
    """Whether a process of the group still runs (zombies awaiting their reaper do not)."""
    import psutil

    for found in psutil.process_iter(["status"]):
        try:
            if os.getpgid(found.pid) == group and found.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def wait_until_running(engine, job_id: int, timeout: float = 120) -> None:
    """Until the job's row says running (the worker has started it), or ``timeout`` seconds."""
    import time

    from sqlalchemy import text

    deadline, status = time.monotonic() + timeout, None
    with engine.connect() as conn:
        while time.monotonic() < deadline and status != "running":
            status = conn.execute(text("SELECT status FROM job WHERE id = :j"), {"j": job_id}).scalar()
            conn.rollback()
            time.sleep(0.005)
