"""The links in an offer e-mail: one-click unsubscribe, tracked redirects, the open pixel.

Each carries an opaque signed token (itsdangerous, the server's secret key, one salt per purpose):
it names the account, person and action, so the endpoints need no login and no cookie (RFC 8058:
the one-click POST comes from the mailbox provider), and a changed token is refused. Tokens do not
expire: an unsubscribe link must keep working as long as the mail is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE, CLICK, OPEN = "marquee.mail.unsubscribe", "marquee.mail.click", "marquee.mail.open"
MAX_TOKEN = 4096


@dataclass(frozen=True)
class LinkData:
    account_id: int
    action_id: int
    person_id: int
    consent_type_id: int | None = None  # unsubscribe: the consent it withdraws
    url: str | None = None  # click: where it forwards


class Links:
    """Makes and reads the tokens, and the absolute URLs that carry them."""

    def __init__(self, secret_key: str, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._serializers = {p: URLSafeSerializer(secret_key, salt=p) for p in (UNSUBSCRIBE, CLICK, OPEN)}

    def unsubscribe_url(self, account_id: int, action_id: int, person_id: int, consent_type_id: int) -> str:
        token = self._serializers[UNSUBSCRIBE].dumps([account_id, action_id, person_id, consent_type_id])
        return f"{self.base_url}/mail/unsubscribe/{token}"

    def click_url(self, account_id: int, action_id: int, person_id: int, url: str) -> str:
        token = self._serializers[CLICK].dumps([account_id, action_id, person_id, url])
        return f"{self.base_url}/mail/click/{token}"

    def open_url(self, account_id: int, action_id: int, person_id: int) -> str:
        token = self._serializers[OPEN].dumps([account_id, action_id, person_id])
        return f"{self.base_url}/mail/open/{token}.gif"

    def read(self, purpose: str, token: str) -> LinkData | None:
        """The token's data, or None when it was changed or is not one of ours."""
        if len(token) > MAX_TOKEN:
            return None
        try:
            values = self._serializers[purpose].loads(token)
        except BadSignature:
            return None
        if purpose == UNSUBSCRIBE:
            account_id, action_id, person_id, consent_type_id = values
            return LinkData(account_id, action_id, person_id, consent_type_id=consent_type_id)
        if purpose == CLICK:
            account_id, action_id, person_id, url = values
            return LinkData(account_id, action_id, person_id, url=url)
        account_id, action_id, person_id = values
        return LinkData(account_id, action_id, person_id)
