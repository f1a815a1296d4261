"""The public GraphQL-over-HTTP conformance suite (graphql-http's serverAudits, run with node
against the served /graphql with a staff token): no error and no warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session

from domain.accounts import service as accounts
from tests.browser.test_preferences_page import server  # noqa: F401  (the uvicorn fixture)

AUDIT = Path(__file__).resolve().parent.parent / "graphql_http"


def _require_audit():
    if shutil.which("node") and (AUDIT / "node_modules" / "graphql-http").exists():
        return
    if os.environ.get("CI"):
        pytest.fail("graphql-http is not installed: .ci/run must run `npm ci` in tests/graphql_http")
    pytest.skip("node and graphql-http are needed: npm ci --prefix tests/graphql_http (.ci/run does it)")


def test_graphql_http_server_audits_pass(server, committed_engine):  # noqa: F811
    _require_audit()
    runtime, base = server
    with Session(committed_engine, expire_on_commit=False) as session:
        account = accounts.create_account(session, name="Audited Venue")
        user = accounts.create_staff_user(session, account.id, email="admin@audit.test", role="admin")
        _, token = accounts.issue_token(session, account.id, kind="staff", staff_user_id=user.id)
        session.commit()
    done = subprocess.run(
        ["node", str(AUDIT / "audit.mjs"), f"{base}/graphql", token],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=AUDIT,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) > 50
    failing = [r for r in results if r["status"] != "ok"]
    assert failing == [], "\n".join(f"{r['status']} {r['id']} {r['name']}: {r['reason']}" for r in failing)
