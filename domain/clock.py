"""What time it is, for every rule that depends on "now": relative segment conditions, job and
token timestamps, preference-link expiry.

Normally the system clock. Outside production the runtime may fix it at one instant (setting
``MARQUEE_NOW``), so tests, demos and acceptance checks can evaluate "in the last 30 days" at a
known moment through the API. Production refuses that setting.
"""

from __future__ import annotations

from datetime import date, datetime, UTC
from zoneinfo import ZoneInfo

_fixed: datetime | None = None


def now() -> datetime:
    return _fixed if _fixed is not None else datetime.now(UTC)


def today(timezone_name: str) -> date:
    """Today's date in a time zone (an account's)."""
    return now().astimezone(ZoneInfo(timezone_name)).date()


def fix(instant: datetime | None) -> None:
    """Fix the clock at ``instant`` (aware), or let it run again with None."""
    global _fixed
    if instant is not None and instant.tzinfo is None:
        raise ValueError("a fixed instant needs a time zone")
    _fixed = instant


def fixed() -> datetime | None:
    return _fixed
