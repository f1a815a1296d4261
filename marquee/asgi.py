"""ASGI entry point for uvicorn: ``uvicorn --factory marquee.asgi:create``."""

from __future__ import annotations

import logging

from marquee.logs import configure_logging
from marquee.runtime import get_runtime


def create():
    from graph.app import create_app  # noqa: PLC0415

    configure_logging()
    logging.getLogger(__name__).info("API starting")
    return create_app(get_runtime())
