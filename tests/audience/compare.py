"""Two audience indexes hold the same: arrays equal, links and same-order tickets as row sets."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from domain.audience.index import AudienceIndex

LINKS = ("tags", "consents", "submissions", "subscriptions", "scores")  # rows of one key come in no fixed order


def arrays(value, path=""):
    if isinstance(value, np.ndarray):
        yield path, value
    elif hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            yield from arrays(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from arrays(value[key], f"{path}[{key}]")


def _link_rows(links) -> list[tuple]:
    return sorted(zip(*(links.keys, links.persons, *links.columns.values())))


def _prices(index: AudienceIndex) -> np.ndarray:
    """Ticket prices in (event, person, order, price) order: tickets of one order for one event
    come from PostgreSQL in no fixed order."""
    f = index.facts
    return f.cents[np.lexsort((f.cents, f.order_pair, f.person, f.event))]


def assert_same_index(left: AudienceIndex, right: AudienceIndex) -> None:
    ours, theirs = dict(arrays(left)), dict(arrays(right))
    assert ours.keys() == theirs.keys() and len(ours) > 30
    for path in ours:
        if path.split(".")[1] in LINKS or path.startswith(".derived") or path == ".facts.cents":
            continue
        assert ours[path].dtype == theirs[path].dtype, path
        assert np.array_equal(ours[path], theirs[path], equal_nan=ours[path].dtype.kind == "f"), path
    assert np.array_equal(_prices(left), _prices(right))
    for name in LINKS:
        a, b = getattr(left, name), getattr(right, name)
        assert _link_rows(a) == _link_rows(b), name
        kinds = [x.dtype for x in (a.keys, a.persons, *a.columns.values())]
        assert kinds == [x.dtype for x in (b.keys, b.persons, *b.columns.values())], name
    assert {k: c.exact for k, c in left.custom.items()} == {k: c.exact for k, c in right.custom.items()}
