"""Errors the domain reports for bad input. The API turns them into typed payload errors.

Every problem names a code, a readable message and the path of the offending input field
(``("email",)``, ``("rules", "all", "0", "tag", "tag_id")``), in the domain's own terms (its field
names); the API turns them into input paths (``["input", "email"]``) in one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ErrorCode(str, enum.Enum):
    INVALID = "invalid"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    OUT_OF_RANGE = "out_of_range"
    INVALID_EMAIL = "invalid_email"
    INVALID_CHOICE = "invalid_choice"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    CYCLE = "cycle"
    TOO_COSTLY = "too_costly"
    MODULE_NOT_ENABLED = "module_not_enabled"
    UNAUTHENTICATED = "unauthenticated"  # credentials that do not hold (logging in)
    RATE_LIMITED = "rate_limited"  # too many attempts lately: try again later


class Key(str):
    """A path element that is data, not a field name (a custom field's key): kept as it is when
    the path becomes an input path."""


@dataclass(frozen=True)
class Problem:
    code: ErrorCode
    message: str
    path: tuple[str, ...] = ()


@dataclass
class InputError(Exception):
    """One or more problems with the input; nothing was written."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def single(cls, code: ErrorCode, message: str, *path: str) -> InputError:
        return cls([Problem(code, message, tuple(path))])


def not_found(what: str, *path: str) -> InputError:
    return InputError.single(ErrorCode.NOT_FOUND, f"{what} not found", *path)


def forbidden(message: str = "you are not allowed to do this") -> InputError:
    return InputError.single(ErrorCode.FORBIDDEN, message)


class Collector:
    """Gathers problems while validating, then raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, code: ErrorCode, message: str, *path: str) -> None:
        self.problems.append(Problem(code, message, tuple(path)))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(list(self.problems))
