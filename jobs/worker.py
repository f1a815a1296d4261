"""Run dramatiq worker processes over ``jobs.actors`` (``marquee worker``).

The worker is dramatiq's own CLI in a child process (``python -m dramatiq jobs.entry:broker``), which
inherits the environment: ``MARQUEE_DATABASE_URL`` and ``MARQUEE_REDIS_URL`` must be set (the
``marquee`` CLI sets them, starting embedded servers when none are configured). Signals sent to
this process (Ctrl-C, SIGTERM, SIGHUP) are passed on once, so the worker shuts down cleanly:
running jobs are interrupted and requeued, or finish within dramatiq's shutdown timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def worker_command(processes: int = 1, threads: int = 4, *, queues: list[str] | None = None) -> list[str]:
    if processes < 1 or threads < 1:
        raise ValueError("processes and threads must be at least 1")
    # jobs.entry configures JSON logging in each worker process; dramatiq's own plain format is off.
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "jobs.entry:broker",
        "--skip-logging",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    if queues:
        argv += ["--queues", *queues]
    return argv


def run_worker(
    processes: int = 1, threads: int = 4, *, env: Mapping[str, str] | None = None, queues: list[str] | None = None
) -> int:
    """Run the worker until it stops; return its exit code (0 after a requested shutdown)."""
    env = dict(os.environ if env is None else env)
    missing = [name for name in ("MARQUEE_DATABASE_URL", "MARQUEE_REDIS_URL") if not env.get(name)]
    if missing:
        raise RuntimeError(f"{' and '.join(missing)} must be set for the worker")
    # Its own session: a terminal's Ctrl-C reaches only us, and we pass it on exactly once.
    proc = subprocess.Popen(worker_command(processes, threads, queues=queues), env=env, start_new_session=True)

    def forward(signum, _frame):
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in FORWARDED_SIGNALS:
            previous[sig] = signal.signal(sig, forward)
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:  # we are leaving for another reason: do not orphan the worker
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
