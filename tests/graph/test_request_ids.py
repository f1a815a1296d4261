"""Every request has an id: echoed in ``X-Request-Id`` and on the JSON log lines written while
serving it, also from the worker thread that executes GraphQL."""

from __future__ import annotations

import json
import logging

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from graph.app import RequestId
from marquee.logs import JsonFormatter, RequestIdFilter


def test_graphql_responses_carry_a_request_id(gql):
    response = gql.http.post("/graphql", json={"query": "{ __typename }"})
    generated = response.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    again = gql.http.post("/graphql", json={"query": "{ __typename }"})
    assert again.headers["x-request-id"] != generated
    assert (
        gql.http.post("/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "lb-7f3a:42"}).headers[
            "x-request-id"
        ]
        == "lb-7f3a:42"
    )
    refused = gql.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "no spaces <or> markup"}
    ).headers["x-request-id"]
    assert refused != "no spaces <or> markup" and len(refused) == 32


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


def test_log_lines_written_while_serving_carry_its_id():
    log = logging.getLogger("tests.request_ids")
    lines = _Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)

    async def endpoint(request):
        log.info("in the event loop")
        await anyio.to_thread.run_sync(lambda: log.info("in a worker thread"))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", endpoint)], middleware=[Middleware(RequestId)])
    try:
        response = TestClient(app).get("/", headers={"x-request-id": "abc-123"})
        log.info("after the request")
    finally:
        log.removeHandler(lines)
    assert response.headers["x-request-id"] == "abc-123"
    assert [(line["message"], line.get("request_id")) for line in lines.lines] == [
        ("in the event loop", "abc-123"),
        ("in a worker thread", "abc-123"),
        ("after the request", None),
    ]
