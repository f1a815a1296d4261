"""Automatic persisted queries: the hash alone after the query was stored once, shared between
API processes through Redis, typed errors for wrong requests."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from graph.persisted_queries import PersistedQueries, PersistedQueryError


def _fresh_query() -> tuple[str, str]:
    """A document no earlier run stored (the store outlives a test run)."""
    query = f"query Apq_{uuid.uuid4().hex} {{ viewer {{ kind }} }}"
    return query, hashlib.sha256(query.encode()).hexdigest()


def _ext(digest: str, version: int = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def test_hash_first_then_query_then_hash_alone(gql, account):
    query, digest = _fresh_query()
    headers = {"authorization": f"Bearer {account.admin_token}"}
    unknown = gql.http.post("/graphql", json={"extensions": _ext(digest)}, headers=headers)
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    stored = gql.http.post("/graphql", json={"query": query, "extensions": _ext(digest)}, headers=headers)
    assert stored.json() == {"data": {"viewer": {"kind": "STAFF"}}}
    again = gql.http.post("/graphql", json={"extensions": _ext(digest)}, headers=headers)
    assert again.json() == {"data": {"viewer": {"kind": "STAFF"}}}
    by_get = gql.http.get(
        "/graphql", params={"extensions": json.dumps(_ext(digest))}, headers={**headers, "accept": "*/*"}
    )
    assert by_get.status_code == 200 and by_get.json() == {"data": {"viewer": {"kind": "STAFF"}}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "{ __typename }", "extensions": _ext("0" * 64)}, "provided sha does not match query"),
        ({"extensions": _ext("0" * 64, version=2)}, "Unsupported persisted query version"),
        ({"extensions": _ext("not-a-hash")}, "sha256Hash must be 64 lower-case hex digits"),
    ],
)
def test_wrong_persisted_query_requests_are_400(gql, body, message):
    response = gql.http.post("/graphql", json=body)
    assert response.status_code == 400 and message in response.text


def test_a_query_stored_by_one_process_is_known_to_another(redis_url):
    query, digest = _fresh_query()
    one, other = PersistedQueries(redis_url), PersistedQueries(redis_url)
    with pytest.raises(PersistedQueryError) as missing:
        other.resolve(None, _ext(digest)["persistedQuery"])
    assert missing.value.code == "PERSISTED_QUERY_NOT_FOUND"
    assert one.resolve(query, _ext(digest)["persistedQuery"]) == query
    assert one.store(query)
    assert other.resolve(None, _ext(digest)["persistedQuery"]) == query


def test_without_a_reachable_store_queries_still_run():
    query, digest = _fresh_query()
    store = PersistedQueries("redis://127.0.0.1:1/0")  # nothing listens there
    with pytest.raises(PersistedQueryError) as missing:
        store.resolve(None, _ext(digest)["persistedQuery"])
    assert missing.value.code == "PERSISTED_QUERY_NOT_FOUND"  # the client will send the query
    assert store.resolve(query, _ext(digest)["persistedQuery"]) == query
    assert store.store(query)
    assert store.resolve(None, _ext(digest)["persistedQuery"]) == query  # kept in this process


def _stored(redis_url: str, digest: str) -> bool:
    import redis

    from graph.persisted_queries import KEY_PREFIX

    return redis.Redis.from_url(redis_url).exists(KEY_PREFIX + digest) == 1


def test_anonymous_clients_cannot_fill_the_store(gql, redis_url):
    junk = "x" * 100_000 + uuid.uuid4().hex  # not even GraphQL
    digest = hashlib.sha256(junk.encode()).hexdigest()
    response = gql.http.post(
        "/graphql",
        json={"query": junk, "extensions": _ext(digest)},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert not _stored(redis_url, digest)
    query, digest = _fresh_query()  # valid, but nobody authenticated
    response = gql.http.post("/graphql", json={"query": query, "extensions": _ext(digest)})
    assert response.json() == {"data": {"viewer": None}}
    assert not _stored(redis_url, digest)


def test_only_documents_that_validate_are_stored(gql, account, redis_url):
    headers = {"authorization": f"Bearer {account.admin_token}", "accept": "application/graphql-response+json"}
    invalid = f"query Bad_{uuid.uuid4().hex} {{ noSuchField }}"
    digest = hashlib.sha256(invalid.encode()).hexdigest()
    response = gql.http.post("/graphql", json={"query": invalid, "extensions": _ext(digest)}, headers=headers)
    assert response.status_code == 400
    assert not _stored(redis_url, digest)
    query, digest = _fresh_query()
    gql.http.post("/graphql", json={"query": query, "extensions": _ext(digest)}, headers=headers)
    assert _stored(redis_url, digest)


def test_large_documents_run_but_are_not_stored(gql, account, redis_url):
    from graph.persisted_queries import MAX_STORED_BYTES

    query = f"query Big_{uuid.uuid4().hex} {{ viewer {{ kind }} }} # " + "x" * MAX_STORED_BYTES
    digest = hashlib.sha256(query.encode()).hexdigest()
    headers = {"authorization": f"Bearer {account.admin_token}"}
    response = gql.http.post("/graphql", json={"query": query, "extensions": _ext(digest)}, headers=headers)
    assert response.json() == {"data": {"viewer": {"kind": "STAFF"}}}
    assert not _stored(redis_url, digest)
