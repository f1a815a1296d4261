"""Job progress over the graphql-transport-ws protocol: the current state first, each change
after, complete when the job has finished; authentication at connection_init."""

from __future__ import annotations

import concurrent.futures

import pytest

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
    ws.send_json({"id": "1", "type": "subscribe",
                  "payload": {"query": SUBSCRIBE, "variables": {"id": to_global_id("Job", job_id)}}})


def test_job_progress_streams_changes_until_the_job_ends(gql, session, account, monkeypatch):
    monkeypatch.setattr(jobs_schema, "POLL_SECONDS", 0.05)
    job = jobs_state.create_job(session, account.id, kind="demo", params={})
    session.flush()
    ws, init = _connect(gql, account.admin_token)
    with ws:
        _subscribe(ws, init, job.id)
        first = receive(ws)
        assert first["type"] == "next" and first["payload"]["data"]["jobProgress"]["status"] == "queued"
        job.status, job.progress, job.progress_message = "running", 0.5, "half way"
        session.flush()
        assert receive(ws)["payload"]["data"]["jobProgress"] == {
            "status": "running", "progress": 0.5, "progressMessage": "half way"}
        job.status, job.progress = "succeeded", 1.0
        session.flush()
        assert receive(ws)["payload"]["data"]["jobProgress"]["status"] == "succeeded"
        assert receive(ws) == {"id": "1", "type": "complete"}


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
    with pytest.raises(WebSocketDisconnect) as closed:
        with ws:
            ws.send_json(init)
            receive(ws)
    assert closed.value.code == 4403
