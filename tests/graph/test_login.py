"""Logging in with e-mail address and password: a token that works and expires, one answer for
every wrong combination, attempts limited before any hash is checked, bad input refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain.accounts import login, staff

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) {
  ... on LoggedIn { secret expiresAt staffUser { email role } }
  ... on LogInFailure { errors { code path message } } } }"""
WHO = "{ viewer { kind role } }"
PASSWORD = "correct horse battery staple"


@pytest.fixture()
def sanne(session, account):
    return staff.create_staff_user(session, account.id, email="sanne@venue.nl", role="marketer", password=PASSWORD)


def _log_in(gql, account, email="sanne@venue.nl", password=PASSWORD):
    variables = {"input": {"account": account.account.slug, "email": email, "password": password}}
    return gql(LOG_IN, variables)["data"]["logIn"]


def test_the_right_password_buys_a_token_that_works_and_expires(gql, account, sanne):
    done = _log_in(gql, account, email="Sanne@Venue.NL")
    assert done["staffUser"] == {"email": "sanne@venue.nl", "role": "MARKETER"}
    expires = datetime.fromisoformat(done["expiresAt"])
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=login.LOGIN_TOKEN_HOURS)
    assert gql(WHO, token=done["secret"])["data"]["viewer"] == {"kind": "STAFF", "role": "marketer"}


def test_every_wrong_combination_gets_the_same_answer(gql, session, account, other_account, sanne):
    staff.create_staff_user(session, account.id, email="gone@venue.nl", role="viewer", password=PASSWORD)
    staff.deactivate_staff_user(
        session, account.id, session.execute(text("SELECT id FROM staff_user WHERE email = 'gone@venue.nl'")).scalar()
    )
    answers = [
        _log_in(gql, account, password="wrong password"),
        _log_in(gql, account, email="nobody@venue.nl"),
        _log_in(gql, account, email="gone@venue.nl"),  # deactivated
        _log_in(gql, account, email=account.admin.email),  # no password set: tokens only
        _log_in(gql, other_account),  # the right user, in another account
    ]
    assert {(a["errors"][0]["code"], a["errors"][0]["message"]) for a in answers} == {("UNAUTHENTICATED", login.WRONG)}
    tokens = session.execute(text("SELECT count(*) FROM api_token WHERE name = 'login'")).scalar()
    assert tokens == 0


def test_attempts_are_limited_per_address_before_any_hash_is_checked(gql, session, account, sanne, monkeypatch):
    staff.create_staff_user(session, account.id, email="bram@venue.nl", role="viewer", password=PASSWORD)
    for _ in range(login.MAX_FAILURES):
        assert _log_in(gql, account, password="guess")["errors"][0]["code"] == "UNAUTHENTICATED"
    checked = []
    real = login._verify
    monkeypatch.setattr(login, "_verify", lambda *args: checked.append(args) or real(*args))
    limited = _log_in(gql, account)  # even the right password
    assert limited["errors"][0]["code"] == "RATE_LIMITED" and checked == []
    assert "secret" in _log_in(gql, account, email="bram@venue.nl")  # another address is not limited
    assert len(checked) == 1


def test_attempts_are_limited_per_client(gql, account, sanne):
    for n in range(login.MAX_CLIENT_FAILURES):
        assert _log_in(gql, account, email=f"guess{n}@venue.nl")["errors"][0]["code"] == "UNAUTHENTICATED"
    assert _log_in(gql, account)["errors"][0]["code"] == "RATE_LIMITED"


def test_bad_input_is_refused_with_paths(gql, account, sanne):
    variables = {"input": {"account": "", "email": "", "password": "p" * (login.MAX_PASSWORD + 1)}}
    errors = gql(LOG_IN, variables)["data"]["logIn"]["errors"]
    assert {(e["code"], tuple(e["path"])) for e in errors} == {
        ("INVALID", ("input", "account")),
        ("INVALID_EMAIL", ("input", "email")),
        ("OUT_OF_RANGE", ("input", "password")),
    }


def test_the_redis_counter_counts_within_its_window_and_clears(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    counter = login.RedisAttempts(client, prefix=f"test:{uuid.uuid4().hex}:login:")
    assert counter.count("k") == 0
    counter.fail("k", 60)
    counter.fail("k", 60)
    assert counter.count("k") == 2
    assert 0 < client.ttl(counter.PREFIX + "k") <= 60
    counter.clear("k")
    assert counter.count("k") == 0
