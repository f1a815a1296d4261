"""GraphQL inputs become the domain's own dataclasses: field for field, by name.

``to_domain(input, DomainClass, ids={...})`` builds the domain object from the input's fields of
the same names. Nothing is renamed: an input field the class does not have is a programming error
(``TypeError`` here, and a test checks every input against its class). A field left out
(``strawberry.UNSET``) becomes the domain's ``UNSET`` (a change object leaves it as it is) or the
class's default; lists become tuples; fields named in ``ids`` hold global ids and become row ids.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry

from domain.changes import UNSET
from graph.core.ids import pk_or_none


def reference_pk(global_id: Any, type_name: str) -> int:
    """The row id behind a global id, or 0 (no row has it) for anything else: the domain checks
    references and reports a missing one as not found, at its own path."""
    return pk_or_none(global_id, type_name) or 0


def to_domain(
    value: Any, cls: type, *, ids: dict[str, str] | None = None, skip: tuple[str, ...] = (), **extra: Any
) -> Any:
    """``skip``: input fields that are not part of the object (the id of the row an update changes)."""
    ids = ids or {}
    names = {f.name for f in dataclasses.fields(cls)}
    given = {
        f.python_name: getattr(value, f.python_name)
        for f in value.__strawberry_definition__.fields
        if f.python_name not in skip
    }
    unknown = set(given) - names
    if unknown:
        raise TypeError(f"{type(value).__name__} has fields {sorted(unknown)} that {cls.__name__} has not")
    values: dict[str, Any] = {}
    for name, item in given.items():
        if item is strawberry.UNSET:
            if _default_is_unset(cls, name):
                values[name] = UNSET
            continue
        if name in ids and item is not None:
            item = (
                [reference_pk(v, ids[name]) for v in item] if isinstance(item, list) else reference_pk(item, ids[name])
            )
        values[name] = tuple(item) if isinstance(item, list) else item
    return cls(**values, **extra)


def _default_is_unset(cls: type, name: str) -> bool:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default is UNSET


__all__ = ["to_domain", "reference_pk"]
