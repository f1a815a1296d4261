"""Text as people type it, made comparable: Unicode normalised, invisible characters dropped,
and a look-alike key for uniqueness (names that only *look* the same are the same name).

``clean``: NFKC (so full-width letters, ligatures and compatibility forms become the usual ones)
and every format character (zero-width space and joiners, BOM, direction marks) removed.
``look_alike_key``: the cleaned text case-folded, with letters of other scripts that look like a
Latin letter or digit (Cyrillic а, Greek ο …; Unicode's confusables) replaced by it, so "Jazz"
with a Cyrillic а is the tag "Jazz". Latin letters with diacritics stay themselves (ł is not l).
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from importlib import resources

_KEPT_SCRIPTS = {"LATIN", "COMMON", "INHERITED"}


def clean(value: str) -> str:
    if value.isascii():  # NFKC leaves ASCII as it is, and no ASCII character is a format character
        return value
    normalised = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in normalised if unicodedata.category(ch) != "Cf")


@lru_cache(maxsize=1)
def _latin_look_alikes() -> dict[int, str]:
    """Characters of other scripts that Unicode lists as confusable with one ASCII letter or digit."""
    from confusable_homoglyphs import categories  # noqa: PLC0415

    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[int, str] = {}
    for character, homoglyphs in data.items():
        if len(character) != 1 or categories.alias(character) in _KEPT_SCRIPTS:
            continue
        for glyph in homoglyphs:
            target = glyph.get("c", "")
            if len(target) == 1 and target.isascii() and target.isalnum():
                table.setdefault(ord(character), target.casefold())
                break
    return table


def look_alike_key(value: str) -> str:
    return clean(value).casefold().translate(_latin_look_alikes())


def scripts(value: str) -> set[str]:
    """The scripts of the letters in ``value`` (LATIN, CYRILLIC, GREEK …)."""
    from confusable_homoglyphs import categories  # noqa: PLC0415

    return {categories.alias(ch) for ch in value if ch.isalpha()} - {"COMMON", "INHERITED"}
