"""Per-request batch loaders (synchronous: the schema executes in a worker thread).

A list resolver announces the keys its items will need (``want``); the first ``load`` of any
key fetches every announced key in one query. A list of 50 persons with their consents costs
one query for the persons and one for all their consents, whatever the page size.
"""

from __future__ import annotations

from typing import Generic, TypeVar
from collections.abc import Callable, Hashable, Iterable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], dict[K, V]], default: Callable[[], V] | None = None):
        self._fetch = fetch
        self._default = default
        self._cache: dict[K, V | None] = {}
        self._pending: set[K] = set()

    def want(self, keys: Iterable[K]) -> None:
        self._pending.update(k for k in keys if k not in self._cache)

    def prime(self, key: K, value: V) -> None:
        self._cache[key] = value

    def load(self, key: K) -> V | None:
        if key not in self._cache:
            self._pending.add(key)
            batch = list(self._pending)
            self._pending.clear()
            found = self._fetch(batch)
            self._cache.update(found)
            for k in batch:
                if k not in found:
                    self._cache[k] = self._default() if self._default else None
        return self._cache[key]

    def load_many(self, keys: Iterable[K]) -> list[V | None]:
        keys = list(keys)
        self.want(keys)
        return [self.load(k) for k in keys]


def loader(ctx, factory: Callable) -> BatchLoader:
    """The request's loader made by ``factory`` (named ``<Thing>By<Key>Loader``)."""
    return ctx.loaders.get(factory.__name__, factory)
