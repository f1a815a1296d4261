"""An account's data written out as a ticketing feed (JSON Lines, plugins/ticketing/README.md).

``marquee demo-data --feed PATH`` writes the demo account this way, so the import path runs on
realistic data (the benchmark imports such a feed). PostgreSQL builds each record's JSON and the
rows stream through a server-side cursor: memory stays flat whatever the account's size.
``max_tickets`` keeps the first orders (by id) holding at most that many tickets, with their
persons and subscriptions; venues, productions and events are always written whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection

FETCH = 5_000

# Ids in the feed: the row's own external id when it came from a source, else kind and Marquee id.
_ID = "coalesce({t}.external_id, '{p}' || {t}.id)"


def _statements(limit_orders: bool) -> list[tuple[str, str]]:
    order_filter = "AND o.id <= :last_order" if limit_orders else ""
    person_filter = (
        f"AND EXISTS (SELECT 1 FROM orders o WHERE o.account_id = p.account_id AND o.person_id = p.id {order_filter})"
        if limit_orders
        else ""
    )
    pid = "coalesce((SELECT i.external_id FROM person_identity i WHERE i.account_id = p.account_id"
    pid += " AND i.person_id = p.id ORDER BY i.source LIMIT 1), 'C' || p.id)"
    return [
        (
            "venue",
            f"""SELECT json_strip_nulls(json_build_object('type', 'venue', 'id', {_ID.format(t="v", p="V")},
                'name', v.name, 'address', v.address, 'city', v.city,
                'latitude', v.latitude, 'longitude', v.longitude))::text
            FROM venue v WHERE v.account_id = :a ORDER BY v.id""",
        ),
        (
            "production",
            f"""SELECT json_strip_nulls(json_build_object('type', 'production', 'id', {_ID.format(t="pr", p="P")},
                'title', pr.title, 'promoter', pr.promoter, 'season', pr.season, 'description', pr.description,
                'tags', (SELECT json_agg(t.name ORDER BY t.name) FROM production_tag pt
                         JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id
                         WHERE pt.account_id = pr.account_id AND pt.production_id = pr.id)))::text
            FROM production pr WHERE pr.account_id = :a ORDER BY pr.id""",
        ),
        (
            "event",
            f"""SELECT json_strip_nulls(json_build_object('type', 'event', 'id', {_ID.format(t="e", p="E")},
                'production', (SELECT {_ID.format(t="pr", p="P")} FROM production pr
                               WHERE pr.account_id = e.account_id AND pr.id = e.production_id),
                'venue', (SELECT {_ID.format(t="v", p="V")} FROM venue v
                          WHERE v.account_id = e.account_id AND v.id = e.venue_id),
                'starts_at', e.starts_at, 'capacity', e.capacity, 'status', e.status))::text
            FROM event e WHERE e.account_id = :a ORDER BY e.id""",
        ),
        (
            "person",
            f"""SELECT json_strip_nulls(json_build_object('type', 'person', 'id', {pid},
                'email', p.email, 'first_name', p.first_name, 'last_name', p.last_name, 'gender', p.gender,
                'birth_date', p.birth_date, 'language', p.language, 'address', p.address,
                'postal_code', p.postal_code, 'city', p.city, 'country', p.country,
                'latitude', p.latitude, 'longitude', p.longitude,
                'consents', (SELECT json_object_agg(ct.key, json_build_object('granted', pc.granted,
                                 'at', pc.updated_at))
                             FROM person_consent pc JOIN consent_type ct
                               ON ct.account_id = pc.account_id AND ct.id = pc.consent_type_id
                             WHERE pc.account_id = p.account_id AND pc.person_id = p.id)))::text
            FROM person p WHERE p.account_id = :a {person_filter} ORDER BY p.id""",
        ),
        (
            "order",
            f"""SELECT json_strip_nulls(json_build_object('type', 'order', 'id', {_ID.format(t="o", p="O")},
                'person', (SELECT {pid} FROM person p WHERE p.account_id = o.account_id AND p.id = o.person_id),
                'created_at', o.created_at, 'channel', o.channel, 'status', o.status,
                'tickets', (SELECT json_agg(json_strip_nulls(json_build_object(
                                'id', {_ID.format(t="k", p="T")},
                                'event', coalesce(e.external_id, 'E' || e.id),
                                'price', k.price::text, 'status', k.status, 'scanned_at', k.scanned_at)) ORDER BY k.id)
                            FROM ticket k JOIN event e ON e.account_id = k.account_id AND e.id = k.event_id
                            WHERE k.account_id = o.account_id AND k.order_id = o.id)))::text
            FROM orders o WHERE o.account_id = :a {order_filter} ORDER BY o.id""",
        ),
        (
            "subscription",
            f"""SELECT json_strip_nulls(json_build_object('type', 'subscription', 'id', {_ID.format(t="s", p="S")},
                'person', (SELECT {pid} FROM person p WHERE p.account_id = s.account_id AND p.id = s.person_id),
                'name', s.name, 'valid_from', s.valid_from, 'valid_until', s.valid_until))::text
            FROM subscription s WHERE s.account_id = :a
              {
                "AND EXISTS (SELECT 1 FROM orders o WHERE o.account_id = s.account_id AND o.person_id = s.person_id "
                + order_filter
                + ")"
                if limit_orders
                else ""
            }
            ORDER BY s.id""",
        ),
    ]


def last_order_within(connection: Connection, account_id: int, max_tickets: int) -> int | None:
    """The highest order id such that orders up to it hold at most ``max_tickets`` tickets."""
    return connection.execute(
        text(
            """SELECT order_id FROM (
                 SELECT order_id, sum(n) OVER (ORDER BY order_id) AS running
                 FROM (SELECT order_id, count(*) AS n FROM ticket WHERE account_id = :a GROUP BY order_id) t
               ) x WHERE running <= :max ORDER BY order_id DESC LIMIT 1"""
        ),
        {"a": account_id, "max": max_tickets},
    ).scalar()


def write_feed(
    connection: Connection,
    account_id: int,
    out: IO[str],
    *,
    max_tickets: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write the account's data to ``out`` as JSON Lines; return the records written per kind."""
    params: dict[str, object] = {"a": account_id}
    if max_tickets is not None:
        params["last_order"] = last_order_within(connection, account_id, max_tickets) or 0
    counts: dict[str, int] = {}
    for kind, statement in _statements(max_tickets is not None):
        written = 0
        streamed = text(statement).execution_options(stream_results=True, yield_per=FETCH)
        for (line,) in connection.execute(streamed, params):
            out.write(line)
            out.write("\n")
            written += 1
            if progress is not None and written % 50_000 == 0:
                progress(kind, written)
        counts[kind] = written
    return counts
