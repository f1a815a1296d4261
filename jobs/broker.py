"""The dramatiq broker, built in exactly one place.

``setup_broker(url)`` builds a ``RedisBroker`` for ``MARQUEE_REDIS_URL`` (``redis://host:port/db``
or ``unix:///path/redis.socket``, which redis-py's ``from_url`` understands) and makes it the
global broker. Marquee's actors are declared with :func:`actor`; when the broker is replaced
(tests point it at their own Redis and key namespace) the actors already declared move to the
new broker, so the order of imports does not matter.

Keys in Redis are prefixed with the namespace (``MARQUEE_REDIS_NAMESPACE``, default
``marquee``), so several installations or test runs can share one Redis.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any
from collections.abc import Callable

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from marquee.settings import settings_from_env

log = logging.getLogger(__name__)

QUEUE = "marquee"
DEFAULT_NAMESPACE = "marquee"
DEFAULT_MAX_RETRIES = 3

_lock = threading.RLock()
_broker: RedisBroker | None = None
_actors: dict[str, dramatiq.Actor] = {}


def setup_broker(redis_url: str | None = None, *, namespace: str | None = None) -> RedisBroker:
    """Build the Redis broker, make it dramatiq's global broker and move Marquee's actors onto it."""
    global _broker
    url = redis_url or settings_from_env().redis_url
    if not url:
        raise RuntimeError(
            "MARQUEE_REDIS_URL is not set (run through `marquee`, which starts an embedded "
            "Redis when none is configured)"
        )
    namespace = namespace or os.environ.get("MARQUEE_REDIS_NAMESPACE") or DEFAULT_NAMESPACE
    broker = RedisBroker(url=url, namespace=namespace)
    broker.add_middleware(CurrentMessage())
    with _lock:
        previous = _broker
        for declared in _actors.values():
            declared.broker = broker
            broker.declare_actor(declared)
        dramatiq.set_broker(broker)
        _broker = broker
    if previous is not None and previous is not broker:
        try:
            previous.close()
        except Exception:  # best effort: the old connection pool may already be gone
            log.debug("closing the previous broker failed", exc_info=True)
    log.info("dramatiq broker: Redis %s, namespace %r", _redacted(url), namespace)
    return broker


def current_broker() -> RedisBroker | None:
    """The broker set up by ``setup_broker``, or None before that."""
    return _broker


def get_broker() -> RedisBroker:
    """The Marquee broker, set up from settings on first use."""
    with _lock:
        return _broker if _broker is not None else setup_broker()


def actor(actor_name: str, *, max_retries: int = DEFAULT_MAX_RETRIES, **options: Any) -> Callable:
    """Declare a Marquee actor on the Marquee broker, on the ``marquee`` queue.

    ``actor_name`` is an explicit dotted name (``"marquee.load_demo_data"``): messages outlive
    deploys, so the name must not follow the function around. Actors take ids and JSON values.
    """
    if "." not in actor_name:
        raise ValueError(f"actor names are dotted, like 'marquee.{actor_name}'")

    def decorate(fn: Callable) -> dramatiq.Actor:
        with _lock:
            declared = dramatiq.actor(
                fn,
                actor_name=actor_name,
                queue_name=options.pop("queue_name", QUEUE),
                broker=get_broker(),
                max_retries=max_retries,
                **options,
            )
            _actors[actor_name] = declared
        return declared

    return decorate


def will_retry(exc: BaseException) -> bool:
    """Inside an actor: will dramatiq's Retries middleware retry the current message after ``exc``?"""
    message = CurrentMessage.get_current_message()
    if message is None:
        return False
    broker = _broker
    declared = (broker.actors.get(message.actor_name) if broker is not None else None) or _actors.get(
        message.actor_name
    )
    actor_options = declared.options if declared is not None else {}
    throws = message.options.get("throws") or actor_options.get("throws")
    if throws and isinstance(exc, throws):
        return False
    max_retries = message.options.get("max_retries", actor_options.get("max_retries", 20))
    return max_retries is None or message.options.get("retries", 0) < max_retries


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
