"""POSTing a signed message to a receiver, with a few quick retries.

A delivery tries ``ATTEMPTS`` times within one job run, waiting between attempts (``Retry-After``
when the receiver sends one, at most a minute); 2xx is delivered, anything else (a redirect too,
or no answer) is a failed attempt. When every attempt failed it raises :class:`DeliveryFailed`, so the job
fails and is retried later with the queue's backoff; the message keeps its id throughout.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from domain.webhooks.signing import signed_headers

ATTEMPTS = 3
WAITS = (1.0, 4.0)  # seconds before the second and third attempts
MAX_WAIT = 60.0
TIMEOUT = 15.0
USER_AGENT = "Marquee-Webhooks/1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: urllib would re-send the POST as a GET without its
    body and count the page it lands on as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx: a failed attempt


_OPENER = urllib.request.build_opener(_NoRedirects)


class DeliveryFailed(Exception):
    """No attempt was accepted; the message names the last answer."""


@dataclass(frozen=True)
class Delivery:
    status: int
    attempts: int


class TargetRefused(DeliveryFailed):
    """The receiver's address is not a public one (and private targets are not allowed)."""


def check_target(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or otherwise
    non-public address: an account admin must not make Marquee call into its own network."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as failure:
        raise DeliveryFailed(f"{host!r} does not resolve: {failure}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise TargetRefused(f"{host!r} resolves to {ip}, which is not a public address")


def _wait(header: str | None, attempt: int) -> float:
    if header and header.strip().isdigit():
        return min(float(header.strip()), MAX_WAIT)
    return WAITS[min(attempt, len(WAITS) - 1)]


def deliver(
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    sleep: Callable[[float], None] = time.sleep,
    private_targets: bool = False,
) -> Delivery:
    """POST ``body`` signed to ``url``; ``private_targets``: allow non-public addresses (tests,
    development; ``MARQUEE_WEBHOOK_PRIVATE_TARGETS``)."""
    if not private_targets:
        check_target(url)
    last = "no attempt"
    for attempt in range(ATTEMPTS):
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, **signed_headers(secret, message_id, body)}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        retry_after = None
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as response:  # http(s) only: checked when configured
                return Delivery(status=response.status, attempts=attempt + 1)
        except urllib.error.HTTPError as answer:
            last = f"HTTP {answer.code}"
            retry_after = answer.headers.get("Retry-After")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as failure:
            last = f"no answer ({getattr(failure, 'reason', failure)})"
        if attempt + 1 < ATTEMPTS:
            sleep(_wait(retry_after, attempt))
    raise DeliveryFailed(f"{url} did not accept message {message_id} after {ATTEMPTS} attempts: {last}")
