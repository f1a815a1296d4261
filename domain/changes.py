"""``UNSET``: a field of a change object that was not given (leave it as it is), as opposed to
None (clear it). Change objects are frozen dataclasses whose fields default to ``UNSET``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


class Unset:
    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def given(changes: Any) -> dict[str, Any]:
    """The fields of a change object that were given."""
    return {f.name: getattr(changes, f.name) for f in fields(changes) if getattr(changes, f.name) is not UNSET}
