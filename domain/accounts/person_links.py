"""Signed, expiring preference-centre links: each is scoped to one person of one account."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from domain import clock

PERSON_TOKEN_PREFIX = "mqp_"
_SALT = "marquee.person-link"


class ClockSigner(TimestampSigner):
    """Signs and checks link ages with ``domain.clock`` (a fixed clock expires links too)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def sign_person_token(secret_key: str, *, account_id: int, person_id: int) -> str:
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT, signer=ClockSigner)
    return PERSON_TOKEN_PREFIX + serializer.dumps([account_id, person_id])


class PersonTokenExpired(Exception):
    pass


def verify_person_token(secret_key: str, token: str, *, max_age: int) -> tuple[int, int] | None:
    """Return (account_id, person_id) for a valid link; None when forged or malformed.

    Raises PersonTokenExpired for a genuine link that is too old, so the page can say so.
    """
    if not token.startswith(PERSON_TOKEN_PREFIX) or len(token) > 500:
        return None
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT, signer=ClockSigner)
    try:
        account_id, person_id = serializer.loads(token[len(PERSON_TOKEN_PREFIX):], max_age=max_age)
    except SignatureExpired:
        raise PersonTokenExpired() from None
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(account_id, int) or not isinstance(person_id, int):
        return None
    return account_id, person_id


def preference_link(secret_key: str, base_url: str, max_age: int, *, account_id: int,
                    person_id: int) -> tuple[str, str, datetime]:
    """A person's preference-centre link: (url, token, expires at). The token rides in the URL
    fragment, so it never reaches server logs or referrers."""
    token = sign_person_token(secret_key, account_id=account_id, person_id=person_id)
    expires = clock.now() + timedelta(seconds=max_age)
    return f"{base_url}/preferences#token={token}", token, expires
