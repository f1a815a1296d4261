"""Signed, expiring preference-centre links: each is scoped to one person of one account."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from domain import clock

PERSON_TOKEN_PREFIX = "mqp_"
_SALT = "marquee.person-link"


class ClockSigner(TimestampSigner):
    """Signs and checks link ages with ``domain.clock`` (a fixed clock expires links too)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def sign_person_token(secret_key: str, *, account_id: int, person_id: int, version: int = 0) -> str:
    """``version``: the person's link version; revoking a person's links raises it, and a link of
    an older version is no longer valid."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT, signer=ClockSigner)
    return PERSON_TOKEN_PREFIX + serializer.dumps([account_id, person_id, version])


class PersonTokenExpired(Exception):
    pass


def verify_person_token(secret_key: str, token: str, *, max_age: int) -> tuple[int, int, int] | None:
    """Return (account_id, person_id, link version) for a well-signed, unexpired link; None when
    forged or malformed (links made before versions existed are version 0).

    Raises PersonTokenExpired for a genuine link that is too old, so the page can say so.
    """
    if not token.startswith(PERSON_TOKEN_PREFIX) or len(token) > 500:
        return None
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT, signer=ClockSigner)
    try:
        payload = serializer.loads(token[len(PERSON_TOKEN_PREFIX) :], max_age=max_age)
    except SignatureExpired:
        raise PersonTokenExpired() from None
    except (BadSignature, ValueError, TypeError):
        return None
    if (
        not isinstance(payload, list)
        or len(payload) not in (2, 3)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in payload)
    ):
        return None
    account_id, person_id, version = (*payload, 0)[:3]
    return account_id, person_id, version


def preference_link(
    secret_key: str, base_url: str, max_age: int, *, account_id: int, person_id: int, version: int = 0
) -> tuple[str, str, datetime]:
    """A person's preference-centre link: (url, token, expires at). The token rides in the URL
    fragment, so it never reaches server logs or referrers."""
    token = sign_person_token(secret_key, account_id=account_id, person_id=person_id, version=version)
    expires = clock.now() + timedelta(seconds=max_age)
    return f"{base_url}/preferences#token={token}", token, expires
