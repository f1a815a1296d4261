"""The ticketing plugin's pull reader: pages through a ticketing system's HTTP API.

The API it expects (a thin adapter in front of Ticketmatic, pretix, Eventbrite … maps their
changed-since endpoints onto it; see README.md): ``GET <pull_url>?since=<cursor>&limit=<n>`` with
``Authorization: Bearer <api_key>`` answers ``{"records": [...], "next": "<cursor>", "more": true}``.
``next`` is the server's watermark for the following request; records may repeat across pages.
HTTP 429 and 503 are waited out (``Retry-After``, at most a minute), other failures retried a few
times with backoff; after that the run fails and the stored cursor stays where the last committed
page left it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

from domain.imports.contract import FeedPage, FeedRun

ATTEMPTS = 4
MAX_WAIT = 60.0
TIMEOUT = 30.0
MAX_PAGE_BYTES = 50_000_000


class PullFailed(Exception):
    """The ticketing system did not answer usably; the next run starts from the stored cursor."""


def _get(url: str, api_key: str | None, sleep: Callable[[float], None]) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                body = response.read(MAX_PAGE_BYTES + 1)
            if len(body) > MAX_PAGE_BYTES:
                raise PullFailed(f"{url}: a page is larger than {MAX_PAGE_BYTES:,} bytes")
            page = json.loads(body)
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise PullFailed(f"{url}: the answer is not an object with a list of records")
            return page
        except urllib.error.HTTPError as error:
            retryable = error.code in (429, 500, 502, 503, 504)
            if not retryable or attempt == ATTEMPTS:
                raise PullFailed(f"{url}: HTTP {error.code}") from None
            wait = _retry_after(error.headers.get("Retry-After"), attempt)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if attempt == ATTEMPTS:
                raise PullFailed(f"{url}: {error}") from None
            wait = _retry_after(None, attempt)
        except ValueError:
            raise PullFailed(f"{url}: the answer is not JSON") from None
        sleep(wait)
    raise PullFailed(url)  # not reached


def _retry_after(header: str | None, attempt: int) -> float:
    if header and header.strip().isdigit():
        return min(float(header.strip()), MAX_WAIT)
    return min(0.5 * 2 ** (attempt - 1), MAX_WAIT)


def read_pages(run: FeedRun, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[FeedPage]:
    url = run.config.get("pull_url")
    if not url:
        raise PullFailed("the ticketing plugin has no pull_url set for this account")
    cursor = run.cursor
    limit = int(run.config.get("page_size") or 500)
    while True:
        query = urllib.parse.urlencode({"limit": limit, **({"since": cursor} if cursor else {})})
        page = _get(f"{url}{'&' if '?' in url else '?'}{query}", run.config.get("api_key"), sleep)
        following = page.get("next")
        following = str(following) if following is not None else cursor
        yield FeedPage(records=page["records"], cursor=following)
        if not page.get("more") or following == cursor:
            return
        cursor = following
