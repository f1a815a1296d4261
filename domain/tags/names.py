"""Tag names under the account's policy (SPEC 3.3). Pure functions."""

from __future__ import annotations

import re

from domain.errors import Collector, ErrorCode, InputError
from domain.text import clean, look_alike_key

MAX_NAME_LENGTH = 100
MAX_NAMES = 100  # names typed into one field (comma-separated)
MAX_TYPED_LENGTH = MAX_NAMES * (MAX_NAME_LENGTH + 2)
_POLISH = str.maketrans({"Ą": "A", "Ć": "C", "Ę": "E", "Ł": "L", "Ń": "N", "Ó": "O", "Ś": "S", "Ź": "Z", "Ż": "Z"})
_KEPT_PUNCTUATION = set("–([{)]}_")
_WHITESPACE = re.compile(r"\s+")


def canonical(name: str) -> str:
    """Upper-case, Polish letters folded to ASCII, letters/digits/spaces and – ( [ { ) ] } _ kept,
    every other character becomes ``_``, runs of white space collapse to one space."""
    upper = _WHITESPACE.sub(" ", name.strip()).upper().translate(_POLISH)
    return "".join(ch if ch.isalnum() or ch == " " or ch in _KEPT_PUNCTUATION else "_" for ch in upper)


def normalise(name: str, policy: str) -> str:
    name = clean(name)
    return canonical(name) if policy == "canonical" else name.strip()


def name_key(name: str) -> str:
    """Two names that differ only in case, or only look alike (a Cyrillic а for an a, a zero-width
    space), are the same tag."""
    return look_alike_key(name)


def split_names(typed: str, policy: str, *path: str) -> list[str]:
    """Split typed input on commas and normalise each piece; duplicates (by key) collapse.

    Raises InputError when nothing is left, a name is too long, or there are more than MAX_NAMES.
    """
    if len(typed or "") > MAX_TYPED_LENGTH:
        raise InputError.single(ErrorCode.TOO_LONG, f"at most {MAX_TYPED_LENGTH} characters of names at once", *path)
    problems = Collector()
    names: list[str] = []
    seen: set[str] = set()
    for piece in (typed or "").split(","):
        name = normalise(piece, policy)
        if not name:
            continue
        if len(name) > MAX_NAME_LENGTH:
            problems.add(ErrorCode.TOO_LONG, f"a tag name is at most {MAX_NAME_LENGTH} characters", *path)
            continue
        if name_key(name) not in seen:
            seen.add(name_key(name))
            names.append(name)
    problems.raise_if_any()
    if not names:
        raise InputError.single(ErrorCode.REQUIRED, "a tag needs a name", *path)
    if len(names) > MAX_NAMES:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"at most {MAX_NAMES} tags at once", *path)
    return names


def single_name(typed: str, policy: str, *path: str) -> str:
    """A name that must not contain a comma (renaming one tag)."""
    if "," in (typed or ""):
        raise InputError.single(ErrorCode.INVALID, "a comma separates tags; one tag's name cannot hold it", *path)
    return split_names(typed, policy, *path)[0]
