"""The checks a staff-given name or label and its description share (consent types, custom fields)."""

from __future__ import annotations

from domain.changes import UNSET
from domain.errors import Collector, ErrorCode

MAX_LABEL = 200
MAX_DESCRIPTION = 2000


def check_label_and_description(problems: Collector, label, description, *, label_field: str, what: str) -> None:
    """``label`` (at most ``MAX_LABEL`` characters, not blank) and ``description`` (at most
    ``MAX_DESCRIPTION``); ``UNSET`` for either: not given, not checked."""
    if label is not UNSET:
        if not (label or "").strip():
            problems.add(ErrorCode.REQUIRED, f"{what} needs a {label_field}", label_field)
        elif len(label.strip()) > MAX_LABEL:
            problems.add(ErrorCode.TOO_LONG, f"a {label_field} has at most {MAX_LABEL} characters", label_field)
    if description is not UNSET and len(description or "") > MAX_DESCRIPTION:
        problems.add(ErrorCode.TOO_LONG, f"a description has at most {MAX_DESCRIPTION} characters", "description")
