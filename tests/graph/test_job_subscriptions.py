"""Job progress over the graphql-transport-ws protocol: the current state first, each change
after, complete when the job has finished; authentication at connection_init."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
from sqlalchemy import text

from domain.jobs_state import service as jobs_state
from graph.core.ids import to_global_id
from graph.jobs import schema as jobs_schema

SUBSCRIBE = "subscription($id: ID!) { jobProgress(id: $id) { status progress progressMessage } }"
_WAIT = concurrent.futures.ThreadPoolExecutor(max_workers=2)


def receive(ws, seconds: float = 10.0) -> dict:
    """The next message, or a failed test (never a hung suite) when none comes in time."""
    future = _WAIT.submit(ws.receive_json)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        ws.close()
        pytest.fail(f"no WebSocket message within {seconds} s")


def _connect(gql, token: str | None):
    ws = gql.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    return ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"} if token else {}}


def _subscribe(ws, init: dict, job_id: int) -> None:
    ws.send_json(init)
    assert receive(ws)["type"] == "connection_ack"
    ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIBE, "variables": {"id": to_global_id("Job", job_id)}},
        }
    )


@pytest.fixture()
def committed(committed_engine, test_settings):
    """An account and a queued job committed for real, and a client whose runtime uses real
    sessions: job changes are committed, so their notifications are delivered. (Sessions that
    join the test's transaction cannot serve here: a read session rolling back to its savepoint
    can undo a write the test flushed meanwhile.)"""
    from sqlmodel import Session

    from graph.app import create_app
    from marquee.runtime import build_runtime
    from tests.conftest import AccountFixture
    from tests.graphql_client import GraphQLClient

    with Session(committed_engine, expire_on_commit=False) as session:
        account = AccountFixture(session, "Notified Venue")
        job = jobs_state.create_job(session, account.id, kind="demo", params={})
        session.commit()
    runtime = build_runtime(test_settings, engine=committed_engine, load_entrypoints=False)
    return GraphQLClient(create_app(runtime)), runtime, account, job.id


def _stream_a_job(client, engine, token: str, job_id: int) -> None:
    ws, init = _connect(client, token)
    with ws:
        _subscribe(ws, init, job_id)
        first = receive(ws)
        assert first["type"] == "next" and first["payload"]["data"]["jobProgress"]["status"] == "queued"
        jobs_state.start_job(engine, job_id)
        assert receive(ws)["payload"]["data"]["jobProgress"]["status"] == "running"
        jobs_state.report_progress(engine, job_id, 0.5, "half way", force=True)
        assert receive(ws)["payload"]["data"]["jobProgress"] == {
            "status": "running",
            "progress": 0.5,
            "progressMessage": "half way",
        }
        jobs_state.finish_job(engine, job_id, {"ok": True})
        assert receive(ws)["payload"]["data"]["jobProgress"]["status"] == "succeeded"
        assert receive(ws) == {"id": "1", "type": "complete"}


def test_job_progress_streams_each_change_as_it_is_committed(committed, committed_engine, monkeypatch):
    """Every change arrives within the receive timeout although the subscription would only
    look again after 30 s on its own: the job row's notification wakes it."""
    client, runtime, account, job_id = committed
    monkeypatch.setattr(jobs_schema, "POLL_SECONDS", 30.0)
    monkeypatch.setattr(jobs_schema, "RECHECK_SECONDS", 30.0)
    _stream_a_job(client, committed_engine, account.admin_token, job_id)
    # The last waiter gone, the listening connection is closed.
    listening = "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN marquee_job'"
    deadline = time.monotonic() + 5
    with committed_engine.connect() as conn:
        while conn.execute(text(listening)).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert conn.execute(text(listening)).scalar_one() == 0


def test_without_a_listening_connection_the_subscription_polls(committed, committed_engine, monkeypatch):
    from sqlalchemy.engine import make_url

    from marquee.notifications import Listener

    client, runtime, account, job_id = committed
    unreachable = Listener(
        make_url("postgresql://postgres@127.0.0.1:9/none"), jobs_state.JOB_CHANNEL, retry_seconds=0.2
    )
    monkeypatch.setattr(runtime, "listener", lambda channel: unreachable)
    monkeypatch.setattr(jobs_schema, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(jobs_schema, "RECHECK_SECONDS", 30.0)
    _stream_a_job(client, committed_engine, account.admin_token, job_id)
    assert not unreachable.listening


def test_another_accounts_job_is_null(gql, session, account, other_account):
    job = jobs_state.create_job(session, other_account.id, kind="demo", params={})
    session.flush()
    ws, init = _connect(gql, account.admin_token)
    with ws:
        _subscribe(ws, init, job.id)
        assert receive(ws)["payload"] == {"data": {"jobProgress": None}}
        assert receive(ws) == {"id": "1", "type": "complete"}


def test_queries_go_over_http_not_the_socket(gql, account):
    ws, init = _connect(gql, account.admin_token)
    with ws:
        ws.send_json(init)
        assert receive(ws)["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { kind } }"}})
        answer = receive(ws)
        assert answer["type"] == "error" or answer["payload"].get("errors"), answer


def test_a_socket_without_credentials_is_refused(gql):
    from starlette.websockets import WebSocketDisconnect

    ws, init = _connect(gql, None)
    with pytest.raises(WebSocketDisconnect) as closed, ws:
        ws.send_json(init)
        receive(ws)
    assert closed.value.code == 4403


def test_a_subscription_ends_when_its_token_is_revoked(committed, committed_engine):
    from sqlmodel import Session

    from domain.accounts import service as accounts
    from domain.accounts.models import ApiToken

    client, runtime, account, job_id = committed
    ws, init = _connect(client, account.admin_token)
    with ws:
        _subscribe(ws, init, job_id)
        assert receive(ws)["payload"]["data"]["jobProgress"]["status"] == "queued"
        with Session(committed_engine) as session:
            token_id = session.execute(
                text("SELECT id FROM api_token WHERE staff_user_id = :u"), {"u": account.admin.id}
            ).scalar_one()
            accounts.revoke_token(session, account.id, token_id)
            session.commit()
        jobs_state.start_job(committed_engine, job_id)  # a change wakes the subscription
        message = receive(ws)
        assert message["type"] in ("next", "error")
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["message"] == "the token was revoked or has expired"
    assert ApiToken  # the model the token lives in
