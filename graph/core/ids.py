"""Opaque global ids ("Person:42" in URL-safe base64). Decoding never crosses accounts:
the id only names the row; every lookup still filters by the viewer's account."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, int] | None:
    """Return (type name, pk), or None when the id is malformed or of another type."""
    if not isinstance(global_id, str) or len(global_id) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode((global_id + "=" * (-len(global_id) % 4)).encode()).decode()
        type_name, _, pk = raw.partition(":")
        value = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if value <= 0 or value >= 2**63 or (expected is not None and type_name != expected):
        return None
    return type_name, value


def pk_or_none(global_id, type_name: str) -> int | None:
    """The row id behind a global id of this type, or None (lookups answer null)."""
    decoded = from_global_id(global_id, type_name)
    return decoded[1] if decoded else None


def pk_of(global_id, type_name: str, *path: str) -> int:
    """The row id behind a global id given as input; anything else is "not found" at ``path``."""
    from domain.errors import ErrorCode, InputError  # noqa: PLC0415

    pk = pk_or_none(global_id, type_name)
    if pk is None:
        raise InputError.single(ErrorCode.NOT_FOUND, f"{type_name.lower()} not found", *path)
    return pk


def optional_pk(global_id, type_name: str, *path: str) -> int | None:
    return None if global_id is None else pk_of(global_id, type_name, *path)


def pks_of(global_ids, type_name: str, *path: str) -> list[int]:
    return [pk_of(g, type_name, *path, str(i)) for i, g in enumerate(global_ids)]
