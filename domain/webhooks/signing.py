"""Signing outgoing webhooks the Standard Webhooks way (https://www.standardwebhooks.com).

Every request carries ``webhook-id`` (the same for every retry of one message, so a receiver can
drop duplicates), ``webhook-timestamp`` (seconds since the epoch, of this attempt) and
``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the
secret's bytes). Secrets are ``whsec_`` and base64 of 32 random bytes. The website exporter
signs with this module, and so will the audience pusher and any other outgoing call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ValueError says what is wrong with it."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"a signing secret starts with {PREFIX}")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret is whsec_ followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"a signing secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt at delivering ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp  # transport time, not clock.now()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
