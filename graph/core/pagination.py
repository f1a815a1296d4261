"""Relay cursor connections."""

from __future__ import annotations

from typing import Generic, TypeVar
from collections.abc import Callable

import strawberry

from domain.pagination import MAX_PAGE_SIZE, Page

T = TypeVar("T")

FIRST_DESCRIPTION = f"Page size: at most {MAX_PAGE_SIZE} (default 50)."


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


def page_info(page: Page) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.start_cursor,
        end_cursor=page.end_cursor,
    )


def edges(page: Page, wrap: Callable = lambda x: x) -> list:
    return [Edge(cursor=c, node=wrap(item)) for item, c in zip(page.items, page.cursors)]
