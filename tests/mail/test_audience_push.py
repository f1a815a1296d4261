"""Audience pushes to a real HTTP server on loopback: batches signed the Standard Webhooks way; a
target that fails twice and then succeeds still receives every member exactly once; a batch whose
delivery was not recorded goes again under the same webhook-id."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text

from domain.actions.service import Target
from domain.errors import InputError
from domain.integrations import service as integrations
from domain.mail import audiences
from domain.segments import service as segments
from domain.webhooks import delivery
from graph.core.ids import to_global_id
from tests.website.test_website_feed import Receiver

PUSH = """mutation($input: PushAudienceInput!) { pushAudience(input: $input) {
  ... on SegmentActionStarted { action { id kind job { kind } } }
  ... on PushAudienceFailure { errors { code path message } } } }"""


def _noop(fraction: float, message: str = "") -> None:
    pass


@pytest.fixture()
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


def _members(session, account_id: int, n: int) -> None:
    session.execute(
        text(
            "INSERT INTO person (account_id, email, first_name, city) "
            "SELECT :a, 'lid' || i || '@example.nl', 'Lid' || i, 'Utrecht' FROM generate_series(1, :n) AS i"
        ),
        {"a": account_id, "n": n},
    )


def test_a_push_reaches_a_flaky_target_with_every_member_exactly_once(
    gql, runtime, session, account, receiver, monkeypatch
):
    monkeypatch.setattr(delivery, "WAITS", (0.01, 0.01))
    _members(session, account.id, 250)
    segment = segments.create_segment(session, account.id, name="Iedereen", rules={"all": []})
    info = integrations.find_plugin(runtime.plugins.plugin_infos(), "audience_webhook")
    installed = integrations.install_plugin(
        session, account.id, info, integrations.PluginSetup(config={"push_url": receiver.url})
    )
    receiver.secret = installed.secrets["signing_secret"]
    started = gql(
        PUSH,
        {"input": {"segmentId": to_global_id("Segment", segment.id), "fields": ["EMAIL", "CITY"]}},
        token=account.marketer_token,
    )
    assert started["data"]["pushAudience"]["action"]["kind"] == "PUSH"
    job_id = session.execute(
        text("SELECT id FROM job WHERE account_id = :a AND kind = 'push_audience'"), {"a": account.id}
    ).scalar_one()

    receiver.fail_next = 2  # the first batch: 500, 500, then accepted
    pushers, infos = runtime.plugins.audience_pushers(), runtime.plugins.plugin_infos()
    result = audiences.run_push(
        runtime.new_session,
        job_id,
        pushers=pushers,
        infos=infos,
        person_id=to_global_id,
        progress=_noop,
        private_targets=True,
    )
    assert result == {"members": 250, "batches": 3, "pushed": 250}
    assert all(r["verified"] for r in receiver.received) and len(receiver.received) == 5
    ids = [r["headers"]["webhook-id"] for r in receiver.received]
    assert ids[0] == ids[1] == ids[2] and len(set(ids)) == 3  # one batch retried under its id
    accepted = {r["headers"]["webhook-id"]: r["document"] for r in receiver.received}  # what the receiver keeps
    members = Counter(m["email"] for batch in accepted.values() for m in batch["members"])
    assert len(members) == 250 and set(members.values()) == {1}
    first = accepted[ids[0]]
    assert (first["type"], first["batch"], first["batches"], first["segment"]) == ("audience.batch", 1, 3, "Iedereen")
    assert set(first["members"][0]) == {"id", "email", "city"} and first["members"][0]["id"].startswith("UGVyc29u")

    # Rerun (a redelivered message): every batch delivered, nothing sent again.
    audiences.run_push(
        runtime.new_session,
        job_id,
        pushers=pushers,
        infos=infos,
        person_id=to_global_id,
        progress=_noop,
        private_targets=True,
    )
    assert len(receiver.received) == 5
    # A batch whose delivery the worker could not record before it died goes again, under the same id.
    session.execute(
        text("UPDATE audience_push_batch SET delivered_at = NULL WHERE account_id = :a AND batch = 2"),
        {"a": account.id},
    )
    session.execute(text("UPDATE job SET status = 'running' WHERE id = :j"), {"j": job_id})
    audiences.run_push(
        runtime.new_session,
        job_id,
        pushers=pushers,
        infos=infos,
        person_id=to_global_id,
        progress=_noop,
        private_targets=True,
    )
    assert len(receiver.received) == 6 and receiver.received[-1]["headers"]["webhook-id"] == ids[3]


def test_a_push_needs_an_installed_pusher_and_known_fields(gql, runtime, session, account):
    segment = segments.create_segment(session, account.id, name="Iedereen", rules={"all": []})
    sid = to_global_id("Segment", segment.id)
    for variables, code, path in [
        ({"segmentId": sid}, "NOT_FOUND", ["input", "pusher"]),  # audience_webhook not installed
        ({"segmentId": sid, "pusher": "audience.nope"}, "NOT_FOUND", ["input", "pusher"]),
        ({"segmentId": sid, "fields": []}, "NOT_FOUND", ["input", "pusher"]),
    ]:
        errors = gql(PUSH, {"input": variables}, token=account.marketer_token)["data"]["pushAudience"]["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, path), errors
    with pytest.raises(InputError):
        audiences.start_push(
            session,
            account.id,
            Target(segment.id),
            pusher="audience.webhook",
            fields=("phone",),
            pushers=runtime.plugins.audience_pushers(),
        )
    assert session.execute(text("SELECT count(*) FROM job WHERE account_id = :a"), {"a": account.id}).scalar() == 0
