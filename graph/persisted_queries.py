"""Apollo-style automatic persisted queries (APQ), the query store in Redis.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": …}``, first without the
query; when the hash is unknown it gets ``PERSISTED_QUERY_NOT_FOUND`` and sends the query with the
hash once, which stores it. Every API process shares the store, so a query registered through one
is known to all. Without Redis (a single process) the store is in memory. Documents are stored
under their own SHA-256, so a stored text can never differ from what its hash names.

The Redis that holds the store also carries the job queue, so only what a client could not abuse
goes in: documents of at most ``MAX_STORED_BYTES`` that parsed and validated, sent by an
authenticated viewer (``store`` is called after execution). Anything else still runs; it is
just not remembered, and its client keeps sending the text.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from graph.core.lru import LRU

log = logging.getLogger(__name__)

KEY_PREFIX = "marquee:apq:"
TTL_SECONDS = 7 * 24 * 3600
MAX_STORED_BYTES = 20_000


class PersistedQueryError(Exception):
    """``status`` 200 with a GraphQL error for an unknown hash (the client retries with the
    query); 400 for a request that is wrong."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class PersistedQueries:
    def __init__(self, redis_url: str | None, *, local_size: int = 2048):
        self._redis = None
        if redis_url:
            import redis  # noqa: PLC0415

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._local = LRU(local_size)  # this process's copy of what it stored or read

    def resolve(self, query: str | None, persisted: Any) -> str:
        """The document to run for a request carrying ``persistedQuery`` (nothing is stored yet)."""
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryError(
                "PERSISTED_QUERY_VERSION_NOT_SUPPORTED", "Unsupported persisted query version (only version 1).", 400
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise PersistedQueryError("BAD_PERSISTED_QUERY", "sha256Hash must be 64 lower-case hex digits.", 400)
        if query is None:
            stored = self._get(digest)
            if stored is None:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)
            return stored
        if not isinstance(query, str) or hashlib.sha256(query.encode()).hexdigest() != digest:
            raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query", 400)
        return query

    def store(self, query: str) -> bool:
        """Remember a document that ran for an authenticated viewer without request errors;
        False when it is too large to keep."""
        encoded = query.encode()
        if len(encoded) > MAX_STORED_BYTES:
            return False
        digest = hashlib.sha256(encoded).hexdigest()
        if self._local.get(digest) is None:
            self._put(digest, query)
        return True

    def _get(self, digest: str) -> str | None:
        found = self._local.get(digest)
        if found is not None:
            return found
        if self._redis is None:
            return None
        try:
            found = self._redis.get(KEY_PREFIX + digest)
        except Exception as error:  # noqa: BLE001  (Redis down: the client sends the query again)
            log.warning("persisted query store unavailable: %s", error)
            return None
        if found is None:
            return None
        query = found.decode()
        self._local.put(digest, query)
        return query

    def _put(self, digest: str, query: str) -> None:
        self._local.put(digest, query)
        if self._redis is not None:
            try:
                self._redis.set(KEY_PREFIX + digest, query.encode(), ex=TTL_SECONDS)
            except Exception as error:  # noqa: BLE001  (still served from this process)
                log.warning("persisted query not shared, store unavailable: %s", error)
