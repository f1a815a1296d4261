"""Starting and polling jobs through GraphQL; the message goes through the real Redis broker."""

import json
import uuid

import pytest

from jobs import broker as job_broker

START = """mutation($i: LoadDemoDataInput!) { loadDemoData(input: $i) { __typename
  ... on JobStarted { job { id kind status progress } }
  ... on LoadDemoDataFailure { errors { code path } } } }"""


@pytest.fixture()
def broker(redis_url):
    b = job_broker.setup_broker(redis_url, namespace=f"marquee-test-{uuid.uuid4().hex[:8]}")
    yield b
    b.flush_all()


def test_admin_starts_a_job_and_polls_it(gql, account, broker):
    r = gql(START, {"i": {"people": 50, "seed": 3}}, token=account.admin_token)
    job = r["data"]["loadDemoData"]["job"]
    assert (job["kind"], job["status"], job["progress"]) == ("load_demo_data", "queued", 0.0)
    # The message is on the queue with the job's id, for a worker to pick up.
    raw = broker.client.lrange(f"{broker.namespace}:marquee", 0, -1) or []
    messages = [json.loads(broker.client.hget(f"{broker.namespace}:marquee.msgs", m)) for m in raw]
    assert [m["actor_name"] for m in messages] == ["marquee.load_demo_data"]
    r = gql(
        "query($id: ID!) { job(id: $id) { status } jobs(first: 5) { edges { node { id } } } }",
        {"id": job["id"]},
        token=account.viewer_token,
    )
    assert r["data"]["job"] == {"status": "queued"}
    assert [e["node"]["id"] for e in r["data"]["jobs"]["edges"]] == [job["id"]]


def test_bad_input_and_roles(gql, account, other_account, broker):
    r = gql(START, {"i": {"people": 0}}, token=account.admin_token)
    assert r["data"]["loadDemoData"]["errors"] == [{"code": "OUT_OF_RANGE", "path": ["input", "people"]}]
    r = gql(START, {"i": {"people": 5}}, token=account.marketer_token)
    assert r["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    started = gql(START, {"i": {"people": 5}}, token=other_account.admin_token)["data"]["loadDemoData"]["job"]
    r = gql("query($id: ID!) { job(id: $id) { status } }", {"id": started["id"]}, token=account.admin_token)
    assert r["data"]["job"] is None


def test_demo_data_is_refused_at_once_for_an_account_with_persons(gql, session, account, broker, connection):
    from tests import factories as f

    f.person(session, account.id)
    r = gql(START, {"i": {"people": 5}}, token=account.admin_token)
    assert r["data"]["loadDemoData"]["errors"] == [{"code": "CONFLICT", "path": ["input"]}]
    from sqlalchemy import text

    assert (
        connection.execute(text("select count(*) from job where account_id = :a"), {"a": account.id}).scalar_one() == 0
    )
    assert broker.client.lrange(f"{broker.namespace}:marquee", 0, -1) == []


def test_jobs_reach_the_queue_when_their_transaction_commits(runtime, account):
    from domain.jobs_state import service as jobs_state

    handed: list = []
    session = runtime.new_session()
    session.info[jobs_state.JOB_SINK] = handed.extend
    jobs_state.create_job(session, account.id, kind="load_demo_data", params={})
    session.rollback()
    assert handed == []  # rolled back: never queued
    job = jobs_state.create_job(session, account.id, kind="load_demo_data", params={})
    assert handed == []  # not before the commit
    session.commit()
    assert [j.id for j in handed] == [job.id]
    session.close()
