"""Issue 5: twenty representative segment rule sets, each counted through the compiler and by a
hand-written SQL query (written from SPEC 5, not from the compiler's output), with their ratio.

Every condition kind appears; more than half the sets combine a purchase condition with an event
scope. Ids are looked up by name in the generated data (tags, consent types, venues, promoters).
Issue 15 adds the audience index: each set is counted through the index, the compiled SQL and the
hand-written SQL, the three counts must agree, and the index's median must be ≤ 150 ms for every set
(the SQL back end's figures and its ratio to the hand-written SQL are printed beside it).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark, ms, percentile
from domain.audience import counting as audience
from domain.audience.index import build_index
from domain.budgets import OverBudget, time_budget
from domain.segments import service as segments

RUNS = 9
TARGET_MS = 150.0


@dataclass
class Names:
    """Ids of named things in the generated account."""

    account_id: int
    now: datetime
    today: object
    tag: dict[str, int]
    consent: dict[str, int]
    venue_id: int
    promoter: str
    season: str
    productions: list[int]
    future_events: list[int]
    saved: dict[str, int] = field(default_factory=dict)

    def descendants(self, session, name: str) -> list[int]:
        from domain.tags.service import descendant_ids

        return sorted(descendant_ids(session, self.account_id, [self.tag[name]]))


@dataclass
class RuleSet:
    name: str
    conditions: int
    build: Callable[[Names, Session], tuple[dict, dict | None, int | None]]  # rules, scope, parent
    hand_sql: Callable[[Names, Session], str]  # a COUNT query; parameters :a, :now, :today


def _lookup(session: Session, account_id: int) -> Names:
    tz = ZoneInfo(session.execute(text("select timezone from account where id = :a"), {"a": account_id}).scalar())
    now = datetime.now(UTC)
    rows = session.execute(text("select name, id from tag where account_id = :a"), {"a": account_id}).all()
    consents = session.execute(text("select key, id from consent_type where account_id = :a"), {"a": account_id}).all()
    venue = session.execute(text("select min(id) from venue where account_id = :a"), {"a": account_id}).scalar()
    promoter = session.execute(
        text("""select promoter from production where account_id = :a and promoter is not null
                                       group by 1 order by count(*) desc, 1 limit 1"""),
        {"a": account_id},
    ).scalar()
    productions = list(
        session.execute(
            text("""select id from production where account_id = :a order by id
                                               limit 3 offset 5"""),
            {"a": account_id},
        ).scalars()
    )
    future = list(
        session.execute(
            text("""select id from event where account_id = :a and starts_at > :now
                                          order by starts_at limit 4"""),
            {"a": account_id, "now": now},
        ).scalars()
    )
    return Names(
        account_id,
        now,
        now.astimezone(tz).date(),
        dict(rows),
        dict(consents),
        venue,
        promoter,
        "2025-2026",
        productions,
        future,
    )


def ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def age_bounds(n: Names, low: int | None, high: int | None) -> str:
    from domain.segments.compiler import latest_birth_date_for_age

    parts = ["p.birth_date IS NOT NULL"]
    if low is not None:
        parts.append(f"p.birth_date <= DATE '{latest_birth_date_for_age(n.today, low)}'")
    if high is not None:
        parts.append(f"p.birth_date > DATE '{latest_birth_date_for_age(n.today, high + 1)}'")
    return " AND ".join(parts)


def scope_events_sql(
    n: Names,
    *,
    genre: list[int] = (),
    label: list[int] = (),
    promoters=(),
    seasons=(),
    productions=(),
    events=(),
    days_back: int | None = None,
) -> str:
    """Hand-written: the events a scope admits."""
    where = ["e.account_id = :a"]
    if genre:
        where.append(
            f"e.production_id IN (SELECT production_id FROM production_tag WHERE account_id = :a "
            f"AND tag_id IN ({ids(genre)}))"
        )
    if label:
        where.append(
            f"e.production_id IN (SELECT production_id FROM production_tag WHERE account_id = :a "
            f"AND tag_id IN ({ids(label)}))"
        )
    if promoters or seasons:
        sub = ["pr.account_id = :a"]
        if promoters:
            sub.append(f"pr.promoter IN ({', '.join(q(x) for x in promoters)})")
        if seasons:
            sub.append(f"pr.season IN ({', '.join(q(x) for x in seasons)})")
        where.append(f"e.production_id IN (SELECT pr.id FROM production pr WHERE {' AND '.join(sub)})")
    if productions:
        where.append(f"e.production_id IN ({ids(productions)})")
    if events:
        where.append(f"e.id IN ({ids(events)})")
    if days_back is not None:
        where.append(
            f"(e.starts_at > :now OR (e.starts_at AT TIME ZONE 'Europe/Amsterdam')::date >= "
            f"CAST(:today AS date) - {int(days_back)})"
        )
    return f"SELECT e.id FROM event e WHERE {' AND '.join(where)}"


def scoped_figures_sql(events_sql: str, *, orders: bool = False) -> str:
    extra = ", count(DISTINCT order_id) AS orders, count(DISTINCT event_id) AS events" if orders else ""
    return (
        f"SELECT person_id, count(*) AS tickets, sum(price) AS revenue, max(order_date) AS last_date, "
        f"bool_or(channel = 'online') AS online, bool_or(channel = 'box_office') AS box{extra} "
        f"FROM ticket_fact WHERE account_id = :a AND event_id IN ({events_sql}) GROUP BY person_id"
    )


def has_tag(tag_ids, source: str | None = None) -> str:
    src = f" AND source = '{source}'" if source else ""
    return f"p.id IN (SELECT person_id FROM person_tag WHERE account_id = :a AND tag_id IN ({ids(tag_ids)}){src})"


def consent(n: Names, key: str) -> str:
    return (
        f"p.id IN (SELECT person_id FROM person_consent WHERE account_id = :a AND consent_type_id = "
        f"{n.consent[key]} AND granted)"
    )


SUBSCRIBED = (
    "p.id IN (SELECT person_id FROM subscription WHERE account_id = :a AND valid_from <= CAST(:today AS date) "
    "AND (valid_until IS NULL OR valid_until >= CAST(:today AS date)))"
)


def local_date(column: str) -> str:
    return f"({column} AT TIME ZONE 'Europe/Amsterdam')::date"


def jazz_recent(n: Names, s, figures: str) -> str:
    """Set s01's conditions (s13 is nested under it), on its scoped figures ``figures``."""
    return (
        f"{figures}.revenue >= 50 AND {figures}.last_date BETWEEN CAST(:today AS date) - 365 "
        f"AND CAST(:today AS date) AND {has_tag(n.descendants(s, 'Jazz'))} AND {consent(n, 'newsletter')} "
        f"AND {age_bounds(n, 25, 70)}"
    )


RULE_SETS: list[RuleSet] = []


def rule_set(name: str, conditions: int):
    def register(pair):
        build, hand = pair
        RULE_SETS.append(RuleSet(name, conditions, build, hand))
        return pair

    return register


# --------------------------------------------------------------------------- the twenty sets
# 1. Jazz lovers who bought recently (scoped: Jazz productions, 120 days back): 5 conditions.
rule_set("s01-jazz-recent-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "revenue", "min": 50},
                    {"type": "last_purchase", "mode": "within", "days": 365},
                    {"type": "tag", "tag_id": n.tag["Jazz"], "include_subtags": True},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                    {"type": "age", "min": 25, "max": 70},
                ]
            },
            {"genre_tag_ids": n.descendants(s, "Jazz"), "days_back": 120},
            None,
        ),
        lambda n, s: (
            f"""
        WITH f AS ({scoped_figures_sql(scope_events_sql(n, genre=n.descendants(s, "Jazz"), days_back=120))})
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id
        WHERE p.account_id = :a AND {jazz_recent(n, s, "f")}"""
        ),
    )
)

# 2. Loyal dance fans in Utrecht, no classical (unscoped): 5 conditions.
rule_set("s02-dance-utrecht-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "orders", "min": 3},
                    {"type": "tag", "tag_id": n.tag["Dans"]},
                    {"not": {"type": "tag", "tag_id": n.tag["Klassieke muziek"]}},
                    {"type": "gender", "values": ["female", "other"]},
                    {"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN person_stats st ON st.account_id = p.account_id AND st.person_id = p.id
        WHERE p.account_id = :a AND st.orders >= 3 AND {has_tag([n.tag["Dans"]])}
          AND NOT {has_tag([n.tag["Klassieke muziek"]])} AND p.gender IN ('female', 'other')
          AND lower(p.city) = 'utrecht'"""
        ),
    )
)

# 3. Season 2025-2026 heavy buyers through both channels, no subscription: 5 conditions.
rule_set("s03-season-both-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "tickets", "min": 4},
                    {"type": "channel", "channel": "both"},
                    {"type": "subscription", "holder": False},
                    {"type": "text", "field": "language", "operator": "eq", "value": "nl"},
                    {"type": "added_on", "before": str(n.today - timedelta(days=90))},
                ]
            },
            {"seasons": [n.season]},
            None,
        ),
        # by hand too from the per-season figures (aggregating the season's 2.7M tickets takes seconds)
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN person_season_stats f ON f.account_id = p.account_id AND f.person_id = p.id
        WHERE p.account_id = :a AND f.season = {q(n.season)} AND f.tickets >= 4 AND f.has_online AND f.has_box_office
          AND NOT {SUBSCRIBED}
          AND lower(p.language) = 'nl' AND {local_date("p.created_at")} <= DATE '{n.today - timedelta(days=90)}'"""
        ),
    )
)

# 4. Impulsive regulars near the venue, top promoter, one year back: 5 conditions.
rule_set("s04-impulsive-near-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "events", "min": 2},
                    {"type": "impulsive", "max_days_before": 3, "min_times": 2},
                    {"type": "distance", "km": 30, "venue_id": n.venue_id},
                    {"type": "consent", "consent_type_id": n.consent["offers_email"]},
                    {"type": "text", "field": "postal_code", "operator": "starts_with", "value": "3"},
                ]
            },
            {"promoters": [n.promoter], "days_back": 365},
            None,
        ),
        lambda n, s: (
            f"""
        WITH ev AS ({scope_events_sql(n, promoters=[n.promoter], days_back=365)}),
        f AS (SELECT person_id, count(DISTINCT event_id) AS events FROM ticket_fact
              WHERE account_id = :a AND event_id IN (SELECT id FROM ev) GROUP BY person_id),
        imp AS (SELECT person_id FROM ticket_fact WHERE account_id = :a AND event_id IN (SELECT id FROM ev)
                AND event_date - order_date BETWEEN 0 AND 3 GROUP BY person_id
                HAVING count(DISTINCT (order_id, event_id)) >= 2),
        v AS (SELECT latitude, longitude FROM venue WHERE account_id = :a AND id = {n.venue_id})
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id, v
        WHERE p.account_id = :a AND f.events >= 2 AND p.id IN (SELECT person_id FROM imp)
          AND 2 * 6371.0 * asin(sqrt(power(sin(radians(p.latitude - v.latitude) / 2), 2)
              + cos(radians(p.latitude)) * cos(radians(v.latitude)) * power(sin(radians(p.longitude - v.longitude) / 2), 2))) <= 30
          AND {consent(n, "offers_email")} AND p.postal_code LIKE '3%'"""
        ),
    )
)

# 5. Lapsed seniors who are not VIP (unscoped): 5 conditions.
rule_set("s05-lapsed-seniors-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "last_purchase", "mode": "not_within", "days": 365},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                    {"type": "age", "min": 60},
                    {"type": "tag", "tag_id": n.tag["VIP"], "has": False},
                    {"type": "text", "field": "country", "operator": "eq", "value": "NL"},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p
        WHERE p.account_id = :a
          AND NOT EXISTS (SELECT 1 FROM person_stats st WHERE st.account_id = :a AND st.person_id = p.id
                          AND st.last_order_date >= CAST(:today AS date) - 365)
          AND {consent(n, "newsletter")} AND {age_bounds(n, 60, None)} AND NOT {has_tag([n.tag["VIP"]])}
          AND upper(p.country) = 'NL'"""
        ),
    )
)

# 6. Cabaret audience of the last half year with stated interest or a form: 5 conditions.
rule_set("s06-cabaret-interest-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "revenue", "min": 20, "max": 200},
                    {
                        "any": [
                            {"type": "tag", "tag_id": n.tag["Cabaret"], "source": "person"},
                            {"type": "form", "within_days": 365},
                        ]
                    },
                    {"type": "subscription", "holder": False},
                    {"type": "gender", "values": ["all"]},
                    {"type": "custom_field", "key": "household_size", "operator": "gte", "value": 2},
                ]
            },
            {"genre_tag_ids": n.descendants(s, "Cabaret"), "days_back": 180},
            None,
        ),
        lambda n, s: (
            f"""
        WITH f AS ({scoped_figures_sql(scope_events_sql(n, genre=n.descendants(s, "Cabaret"), days_back=180))})
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id
        WHERE p.account_id = :a AND f.revenue BETWEEN 20 AND 200
          AND ({has_tag([n.tag["Cabaret"]], "person")} OR p.id IN (SELECT person_id FROM form_submission
               WHERE account_id = :a AND {local_date("submitted_at")} >= CAST(:today AS date) - 365))
          AND NOT {SUBSCRIBED}
          AND jsonb_typeof(p.custom_fields -> 'household_size') = 'number'
          AND (p.custom_fields ->> 'household_size')::numeric >= 2"""
        ),
    )
)

# 7. Young box-office-only buyers added in the last two years (unscoped).
rule_set("s07-box-office-only", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "channel", "channel": "box_office"},
                    {"not": {"type": "channel", "channel": "online"}},
                    {"type": "age", "max": 35},
                    {"type": "text", "field": "email", "operator": "ends_with", "value": ".nl"},
                    {"type": "added_on", "last_days": 730},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN person_stats st ON st.account_id = p.account_id AND st.person_id = p.id
        WHERE p.account_id = :a AND st.has_box_office AND NOT st.has_online AND {age_bounds(n, None, 35)}
          AND lower(p.email) LIKE '%.nl' AND {local_date("p.created_at")} >= CAST(:today AS date) - 730"""
        ),
    )
)

# 8. Buyers of three productions with the newsletter.
rule_set("s08-productions-newsletter", 2)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "tickets", "min": 1},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                ]
            },
            {"production_ids": n.productions},
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p WHERE p.account_id = :a
          AND p.id IN (SELECT person_id FROM ticket_fact WHERE account_id = :a
                       AND production_id IN ({ids(n.productions)}))
          AND {consent(n, "newsletter")}"""
        ),
    )
)

# 9. Within 15 km of a point.
rule_set("s09-distance-point", 1)(
    (
        lambda n, s: ({"type": "distance", "km": 15, "latitude": 52.0907, "longitude": 5.1214}, None, None),
        lambda n, s: (
            """
        SELECT count(*) FROM person p WHERE p.account_id = :a AND p.latitude IS NOT NULL
          AND 2 * 6371.0 * asin(sqrt(power(sin(radians(p.latitude - 52.0907) / 2), 2)
              + cos(radians(p.latitude)) * cos(radians(52.0907)) * power(sin(radians(p.longitude - 5.1214) / 2), 2))) <= 15"""
        ),
    )
)

# 10. Custom fields of every type.
rule_set("s10-custom-fields", 4)(
    (
        lambda n, s: (
            {
                "all": [
                    {
                        "type": "custom_field",
                        "key": "seating_preference",
                        "operator": "in",
                        "value": ["balkon", "loge"],
                    },
                    {
                        "any": [
                            {"type": "custom_field", "key": "wheelchair_space", "operator": "is_true"},
                            {"type": "custom_field", "key": "dietary_wishes", "operator": "is_not_empty"},
                        ]
                    },
                    {"type": "custom_field", "key": "friend_since", "operator": "before", "value": "2024-01-01"},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            """
        SELECT count(*) FROM person p WHERE p.account_id = :a
          AND p.custom_fields ->> 'seating_preference' IN ('balkon', 'loge')
          AND (p.custom_fields -> 'wheelchair_space' = 'true'::jsonb
               OR coalesce(p.custom_fields ->> 'dietary_wishes', '') !~ '^\\s*$')
          AND (p.custom_fields ->> 'friend_since')::date < DATE '2024-01-01'"""
        ),
    )
)

# 11. Last-minute online buyers of the last month and upcoming events, VIP.
rule_set("s11-last-minute-vip", 4)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "impulsive", "max_days_before": 1},
                    {"type": "channel", "channel": "online"},
                    {"type": "last_purchase", "mode": "within", "days": 30},
                    {"type": "tag", "tag_id": n.tag["VIP"]},
                ]
            },
            {"days_back": 30},
            None,
        ),
        lambda n, s: (
            f"""
        WITH ev AS ({scope_events_sql(n, days_back=30)}),
        f AS ({scoped_figures_sql("SELECT id FROM ev")})
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id
        WHERE p.account_id = :a AND f.online AND f.last_date >= CAST(:today AS date) - 30
          AND p.id IN (SELECT person_id FROM ticket_fact WHERE account_id = :a AND event_id IN (SELECT id FROM ev)
                       AND event_date - order_date BETWEEN 0 AND 1)
          AND {has_tag([n.tag["VIP"]])}"""
        ),
    )
)

# 12. Membership of other segments: in the lapsed seniors or the dance fans, not press.
rule_set("s12-segment-membership", 3)(
    (
        lambda n, s: (
            {
                "all": [
                    {
                        "any": [
                            {"type": "segment", "segment_id": n.saved["s05-lapsed-seniors-5"]},
                            {"type": "segment", "segment_id": n.saved["s02-dance-utrecht-5"]},
                        ]
                    },
                    {"type": "tag", "tag_id": n.tag["Pers"], "has": False},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p LEFT JOIN person_stats st ON st.account_id = p.account_id AND st.person_id = p.id
        WHERE p.account_id = :a AND NOT {has_tag([n.tag["Pers"]])} AND (
          (coalesce(st.last_order_date < CAST(:today AS date) - 365, true) AND {consent(n, "newsletter")}
           AND {age_bounds(n, 60, None)} AND NOT {has_tag([n.tag["VIP"]])} AND upper(p.country) = 'NL')
          OR (coalesce(st.orders, 0) >= 3 AND {has_tag([n.tag["Dans"]])} AND NOT {has_tag([n.tag["Klassieke muziek"]])}
              AND p.gender IN ('female', 'other') AND lower(p.city) = 'utrecht'))"""
        ),
    )
)

# 13. A view nested under the Jazz segment: Jazz buyers who also bought dance this season.
rule_set("s13-nested-view", 2)(
    (
        lambda n, s: (
            {"type": "purchase", "metric": "tickets", "min": 1},
            {"seasons": [n.season], "genre_tag_ids": n.descendants(s, "Dans")},
            n.saved["s01-jazz-recent-5"],
        ),
        lambda n, s: (
            f"""
        WITH jf AS ({scoped_figures_sql(scope_events_sql(n, genre=n.descendants(s, "Jazz"), days_back=120))}),
        df AS ({scoped_figures_sql(scope_events_sql(n, seasons=[n.season], genre=n.descendants(s, "Dans")))})
        SELECT count(*) FROM person p JOIN jf ON jf.person_id = p.id JOIN df ON df.person_id = p.id
        WHERE p.account_id = :a AND {jazz_recent(n, s, "jf")}"""
        ),
    )
)

# 14. Smart-colour productions, big spenders aged 30-50, not on the post list.
rule_set("s14-smart-colour-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "revenue", "min": 100},
                    {"type": "age", "min": 30, "max": 50},
                    {"type": "consent", "consent_type_id": n.consent["post"], "granted": False},
                    {"type": "text", "field": "language", "operator": "in", "values": ["nl", "en"]},
                    {"type": "channel", "channel": "online"},
                ]
            },
            {"label_tag_ids": n.descendants(s, "Smart colours")},
            None,
        ),
        lambda n, s: (
            f"""
        WITH f AS ({scoped_figures_sql(scope_events_sql(n, label=n.descendants(s, "Smart colours")))})
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id
        WHERE p.account_id = :a AND f.revenue >= 100 AND {age_bounds(n, 30, 50)} AND NOT {consent(n, "post")}
          AND lower(p.language) IN ('nl', 'en') AND f.online"""
        ),
    )
)

# 15. Top spenders with a subscription (unscoped): 5 conditions.
rule_set("s15-top-spenders-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "revenue", "min": 300},
                    {"type": "purchase", "metric": "events", "min": 5},
                    {"type": "subscription"},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                    {"type": "added_on", "before": str(n.today - timedelta(days=365))},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN person_stats st ON st.account_id = p.account_id AND st.person_id = p.id
        WHERE p.account_id = :a AND st.revenue >= 300 AND st.events >= 5 AND {SUBSCRIBED}
          AND {consent(n, "newsletter")} AND {local_date("p.created_at")} < DATE '{n.today - timedelta(days=365)}'"""
        ),
    )
)

# 16. Around the city (any of three) with at least one ticket.
rule_set("s16-any-region", 4)(
    (
        lambda n, s: (
            {
                "all": [
                    {
                        "any": [
                            {
                                "type": "text",
                                "field": "city",
                                "operator": "in",
                                "values": ["Amsterdam", "Rotterdam", "Den Haag"],
                            },
                            {"type": "tag", "tag_id": n.tag["Utrecht"], "include_subtags": True},
                            {"type": "distance", "km": 10, "venue_id": n.venue_id},
                        ]
                    },
                    {"type": "purchase", "metric": "tickets", "min": 1},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN person_stats st ON st.account_id = p.account_id AND st.person_id = p.id,
             (SELECT latitude, longitude FROM venue WHERE account_id = :a AND id = {n.venue_id}) v
        WHERE p.account_id = :a AND (lower(p.city) IN ('amsterdam', 'rotterdam', 'den haag')
           OR {has_tag(n.descendants(s, "Utrecht"))}
           OR 2 * 6371.0 * asin(sqrt(power(sin(radians(p.latitude - v.latitude) / 2), 2)
              + cos(radians(p.latitude)) * cos(radians(v.latitude)) * power(sin(radians(p.longitude - v.longitude) / 2), 2))) <= 10)"""
        ),
    )
)

# 17. Men with two or more tickets for the next events (scope: events).
rule_set("s17-next-events", 2)(
    (
        lambda n, s: (
            {"all": [{"type": "purchase", "metric": "tickets", "min": 2}, {"type": "gender", "values": ["male"]}]},
            {"event_ids": n.future_events},
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p JOIN (SELECT person_id, count(*) AS tickets FROM ticket_fact
              WHERE account_id = :a AND event_id IN ({ids(n.future_events)}) GROUP BY person_id) f
          ON f.person_id = p.id
        WHERE p.account_id = :a AND f.tickets >= 2 AND p.gender = 'male'"""
        ),
    )
)

# 18. Classical regulars of the last year who chose classical themselves: 5 conditions.
rule_set("s18-classical-regulars-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "purchase", "metric": "orders", "min": 2},
                    {"type": "last_purchase", "mode": "within", "days": 90},
                    {"type": "tag", "tag_id": n.tag["Klassieke muziek"], "source": "person", "include_subtags": True},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                    {"type": "age", "min": 50},
                ]
            },
            {"genre_tag_ids": n.descendants(s, "Klassieke muziek"), "days_back": 365},
            None,
        ),
        lambda n, s: (
            f"""
        WITH f AS ({
                scoped_figures_sql(
                    scope_events_sql(n, genre=n.descendants(s, "Klassieke muziek"), days_back=365), orders=True
                )
            })
        SELECT count(*) FROM person p JOIN f ON f.person_id = p.id
        WHERE p.account_id = :a AND f.orders >= 2 AND f.last_date >= CAST(:today AS date) - 90
          AND {has_tag(n.descendants(s, "Klassieke muziek"), "person")} AND {consent(n, "newsletter")}
          AND {age_bounds(n, 50, None)}"""
        ),
    )
)

# 19. Names and postal codes (text operators).
rule_set("s19-text-operators", 3)(
    (
        lambda n, s: (
            {
                "all": [
                    {
                        "any": [
                            {"type": "text", "field": "last_name", "operator": "starts_with", "value": "de "},
                            {"type": "text", "field": "first_name", "operator": "contains", "value": "an"},
                        ]
                    },
                    {"type": "text", "field": "email", "operator": "is_not_empty"},
                    {"type": "text", "field": "postal_code", "operator": "not_in", "values": ["1011 AB", "3511 AA"]},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            """
        SELECT count(*) FROM person p WHERE p.account_id = :a
          AND (lower(p.last_name) LIKE 'de %' OR strpos(lower(p.first_name), 'an') > 0)
          AND coalesce(p.email, '') !~ '^\\s*$'
          AND (p.postal_code IS NULL OR lower(p.postal_code) NOT IN ('1011 ab', '3511 aa'))"""
        ),
    )
)

# 20. Engaged persons: recent form, own Jazz choice, not staff-labelled VIP, subscribed, consenting.
rule_set("s20-engaged-5", 5)(
    (
        lambda n, s: (
            {
                "all": [
                    {"type": "form", "within_days": 365},
                    {"type": "tag", "tag_id": n.tag["Jazz"], "source": "person"},
                    {"type": "tag", "tag_id": n.tag["VIP"], "source": "staff", "has": False},
                    {"type": "subscription", "holder": False},
                    {"type": "consent", "consent_type_id": n.consent["newsletter"]},
                ]
            },
            None,
            None,
        ),
        lambda n, s: (
            f"""
        SELECT count(*) FROM person p WHERE p.account_id = :a
          AND p.id IN (SELECT person_id FROM form_submission WHERE account_id = :a
                       AND {local_date("submitted_at")} >= CAST(:today AS date) - 365)
          AND {has_tag([n.tag["Jazz"]], "person")} AND NOT {has_tag([n.tag["VIP"]], "staff")}
          AND NOT {SUBSCRIBED} AND {consent(n, "newsletter")}"""
        ),
    )
)


# --------------------------------------------------------------------------- running


def _time(run: Callable[[], int]) -> tuple[list[float], int]:
    run()  # warm
    samples, value = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        value = run()
        samples.append(time.perf_counter() - started)
    return samples, value


def _prepare(session: Session, account_id: int) -> Names:
    names = _lookup(session, account_id)
    for spec in RULE_SETS:
        if spec.name in ("s01-jazz-recent-5", "s02-dance-utrecht-5", "s05-lapsed-seniors-5"):
            rules, scope, parent = spec.build(names, session)
            existing = session.execute(
                text("select id from segment where account_id = :a and name = :n"), {"a": account_id, "n": spec.name}
            ).scalar()
            if existing is None:
                existing = segments.create_segment(
                    session, account_id, name=spec.name, rules=rules, scope=scope, parent_id=parent
                ).id
            names.saved[spec.name] = existing
    session.commit()
    return names


_STATE: dict = {}


def _index(ds: Dataset):
    """The account's audience index, built once per run in one REPEATABLE READ snapshot."""
    if "index" not in _STATE:
        with Session(ds.engine) as session:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            started = time.perf_counter()
            _STATE["index"] = build_index(session, ds.account_id)
            _STATE["index_build_s"] = time.perf_counter() - started
    return _STATE["index"]


def _run_set(ds: Dataset, spec: RuleSet) -> Result:
    if "names" not in _STATE:
        with Session(ds.engine) as session:
            _STATE["names"] = _prepare(session, ds.account_id)
    names = _STATE["names"]
    index = _index(ds)
    with Session(ds.engine) as session:
        rules, scope, parent = spec.build(names, session)
        hand = spec.hand_sql(names, session)
        params = {"a": ds.account_id, "now": names.now, "today": names.today}

        def compiled() -> int:
            return segments.count_matching_with_report(
                session, ds.account_id, rules=rules, scope=scope, parent_id=parent, now=names.now, backend="sql"
            )[0]

        def indexed() -> int:
            return audience.count_matching(session, index, rules=rules, scope=scope, parent_id=parent, now=names.now)

        def handwritten() -> int:  # with the settings and the budget the compiled statements get
            with time_budget(session, "the hand-written statement"):
                return session.execute(text(hand), params).scalar_one()

        try:
            compiled_samples, compiled_count = _time(compiled)
        except OverBudget as over:
            return Result(f"segment {spec.name}", f"over budget: {over}", f"median <= {TARGET_MS:.0f} ms", False)
        index_samples, index_count = _time(indexed)
        try:
            hand_samples, hand_count = _time(handwritten)
        except OverBudget:
            hand_samples, hand_count = [float("inf")], -1
    median, hand_median = statistics.median(compiled_samples), statistics.median(hand_samples)
    ratio = median / hand_median if hand_median else float("inf")  # the SQL back end's (issue 5: <= 1.3)
    index_median = statistics.median(index_samples)
    same = compiled_count == hand_count == index_count
    ok = same and index_median * 1000 <= TARGET_MS
    figure = (
        f"index {ms(index_median)} (p95 {ms(percentile(index_samples, 95))}), SQL {ms(median)} "
        f"(p95 {ms(percentile(compiled_samples, 95))}), hand {ms(hand_median)} (SQL/hand {ratio:.2f}x), "
        f"{compiled_count:,} members"
        + ("" if same else f" MISMATCH hand {hand_count:,} index {index_count:,}")
        + f"; index {index.nbytes / index.size * 1e6 / 2**20:,.0f} MB per 1M persons, built in "
        f"{_STATE['index_build_s']:.1f} s"
    )
    target = f"index median <= {TARGET_MS:.0f} ms, all three counts equal"
    return Result(
        f"segment {spec.name}",
        figure,
        target,
        ok,
        seconds=median,
        details={
            "index_ms": index_median * 1000,
            "index_p95_ms": percentile(index_samples, 95) * 1000,
            "index_count": index_count,
            "index_mb_per_million": index.nbytes / index.size * 1e6 / 2**20,
            "compiled_ms": median * 1000,
            "compiled_p95_ms": percentile(compiled_samples, 95) * 1000,
            "hand_ms": hand_median * 1000,
            "ratio": ratio,
            "count": compiled_count,
            "hand_count": hand_count,
            "conditions": spec.conditions,
            "rules": rules,
            "scope": scope,
        },
    )


for _spec in RULE_SETS:
    benchmark(f"segment-{_spec.name}")(lambda ds, spec=_spec: _run_set(ds, spec))


def count_statement_sql(session: Session, account_id: int, rules, scope, parent) -> str:
    """The compiled SQL of a rule set (for EXPLAIN while tuning)."""
    stmt = segments.member_statement(session, account_id, rules=rules, scope=scope, parent_id=parent)
    return str(
        select(func.count())
        .select_from(stmt.subquery())
        .compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    )


BURST = 10_000  # committed writes before the counts (issue 15: the count right after a burst)


@benchmark("segment-after-burst")
def after_burst(ds: Dataset) -> Result:
    """Every set counted once through a live index right after 10,000 committed writes (one tag
    link each, each its own transaction): catch-up included, compared with the SQL back end. Each
    set is counted once before the writes (the index warm, as one that has been answering). The
    index follows the journal in the background as the registry's do (every second), so the first
    count reads what the last moment wrote and carries the rest forward."""
    from domain.audience.live import LiveIndex

    if "names" not in _STATE:
        with Session(ds.engine) as session:
            _STATE["names"] = _prepare(session, ds.account_id)
    names = _STATE["names"]
    live = LiveIndex(_index(ds))
    with Session(ds.engine) as session:  # warm, as an index that has been answering: per-index figures
        for spec in RULE_SETS:
            rules, scope, parent = spec.build(names, session)
            audience.count_live(session, live, rules=rules, scope=scope, parent_id=parent, now=names.now)
    live.follow(ds.engine)  # as the API process's registry does: caught up in the background
    tag = next(iter(names.tag.values()))
    with ds.engine.connect() as conn:
        persons = (
            conn.execute(
                text(
                    "SELECT id FROM person p WHERE account_id = :a AND NOT EXISTS (SELECT 1 FROM person_tag t "
                    "WHERE t.account_id = :a AND t.person_id = p.id AND t.tag_id = :t) ORDER BY id LIMIT :n"
                ),
                {"a": ds.account_id, "t": tag, "n": BURST},
            )
            .scalars()
            .all()
        )
        conn.commit()
        started = time.perf_counter()
        for person in persons:
            conn.execute(
                text("INSERT INTO person_tag (account_id, tag_id, person_id, source) VALUES (:a, :t, :p, 'staff')"),
                {"a": ds.account_id, "t": tag, "p": person},
            )
            conn.commit()
        writing = time.perf_counter() - started
    rows, mismatches, counts = [], [], []
    try:
        with Session(ds.engine) as session:
            for spec in RULE_SETS:
                rules, scope, parent = spec.build(names, session)
                started = time.perf_counter()
                count, report = audience.count_live(
                    session, live, rules=rules, scope=scope, parent_id=parent, now=names.now
                )
                total = (time.perf_counter() - started) * 1000
                rows.append((spec.name, total, report.catch_up_ms, report.evaluate_ms))
                counts.append((spec.name, rules, scope, parent, count))
            for name, rules, scope, parent, count in counts:  # after the index's: a long SQL count leaves caches cold
                sql = segments.count_matching_with_report(
                    session, ds.account_id, rules=rules, scope=scope, parent_id=parent, now=names.now, backend="sql"
                )[0]
                if count != sql:
                    mismatches.append(f"{name} index {count:,} SQL {sql:,}")
    finally:
        live.stop()
        with ds.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM person_tag WHERE account_id = :a AND tag_id = :t AND person_id = ANY(:p)"),
                {"a": ds.account_id, "t": tag, "p": list(persons)},
            )
    first, rest = rows[0], [r[1] for r in rows[1:]]
    worst = max(rows, key=lambda r: r[1])
    figure = (
        f"{len(persons):,} writes in {writing:.1f} s; first count {first[1]:.0f} ms (catch-up {first[2]:.0f} ms), "
        f"then median {statistics.median(rest):.0f} ms, worst {worst[0]} {worst[1]:.0f} ms"
        + (f"; MISMATCH {', '.join(mismatches)}" if mismatches else "; all counts equal SQL")
    )
    return Result(
        "segment after a burst of 10,000 writes",
        figure,
        f"every count <= {TARGET_MS:.0f} ms, equal to SQL",
        not mismatches and worst[1] <= TARGET_MS,
        details={"rows": rows, "writes": len(persons), "writing_s": writing},
    )


# --------------------------------------------------------------------------- 10,000,000 persons

GENERATED_PEOPLE = int(os.environ.get("MARQUEE_BENCH_GENERATED_PEOPLE", "10000000"))
GENERATED_TARGET_MS = 1000.0
GENERATED_DATABASE = "marquee_bench_generated"


def _generated(ds: Dataset):
    """The index of GENERATED_PEOPLE persons built straight from the generator (domain.demo.index:
    10M persons would take ~94 GB in PostgreSQL), over an account holding only the catalogue
    (``bench-generated-<people>-seed42``), kept in a database of its own on the data set's server
    (``marquee_bench_generated``): beside the data set its ten times larger catalogue would move
    the planner's statistics of the data set's own tables."""
    if "generated" in _STATE:
        return _STATE["generated"]
    from domain.demo.generator import DemoCatalogue, catalogue_models, load_demo_catalogue
    from domain.demo.index import generated_index

    people, seed, slug = GENERATED_PEOPLE, 42, f"bench-generated-{GENERATED_PEOPLE}-seed42"
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    engine = _generated_engine(ds)
    with engine.connect() as conn:
        account_id = conn.execute(text("select id from account where slug = :s"), {"s": slug}).scalar()
        if (
            account_id is not None
            and conn.execute(
                text("select created_at::date <> :d from account where id = :a"), {"a": account_id, "d": today}
            ).scalar()
        ):  # the catalogue is generated for a day: a day later the events have moved
            conn.execute(text("delete from account where id = :a"), {"a": account_id})
            account_id = None
        if account_id is None:
            account_id = conn.execute(
                text("insert into account (name, slug) values ('Generated audience', :s) returning id"), {"s": slug}
            ).scalar_one()
            with conn.connection.driver_connection.cursor() as cur:
                load_demo_catalogue(cur, account_id, people=people, seed=seed, today=today)
        first = conn.execute(
            text(
                "select (select min(id) from production where account_id = :a), (select min(id) from event "
                "where account_id = :a), (select min(id) from consent_type where account_id = :a), "
                "(select min(id) from tag where account_id = :a)"
            ),
            {"a": account_id},
        ).one()
        conn.commit()
    catalogue = DemoCatalogue(
        seed, people, today, *catalogue_models(seed, people, today), *first, counts={}
    )  # fmt: skip
    with Session(engine) as session:
        started = time.perf_counter()
        index = generated_index(session, account_id, catalogue, first_person_id=1, progress=_progress("generating"))
        built = time.perf_counter() - started
        names = _prepare(session, account_id)
    _STATE["generated"] = (index, names, built, engine)
    return _STATE["generated"]


def _generated_engine(ds: Dataset):
    from marquee.db import make_engine
    from marquee.migrate import upgrade

    url = ds.engine.url.set(database=GENERATED_DATABASE)
    admin = create_engine(ds.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(
                text("select 1 from pg_database where datname = :n"), {"n": GENERATED_DATABASE}
            ).scalar():
                conn.execute(text(f'CREATE DATABASE "{GENERATED_DATABASE}"'))
    finally:
        admin.dispose()
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=2)
    upgrade(engine)
    return engine


def _progress(what: str):
    shown = [-1]

    def show(fraction: float, message: str) -> None:
        if int(fraction * 20) > shown[0]:
            shown[0] = int(fraction * 20)
            print(f"  {what} {fraction:4.0%} {message}", file=sys.stderr, flush=True)

    return show


def _run_generated(ds: Dataset, spec: RuleSet) -> Result:
    index, names, built, engine = _generated(ds)
    with Session(engine) as session:
        rules, scope, parent = spec.build(names, session)

        def indexed() -> int:
            return audience.count_matching(session, index, rules=rules, scope=scope, parent_id=parent, now=names.now)

        samples, count = _time(indexed)
    median = statistics.median(samples)
    per_million = index.nbytes / index.size * 1e6 / 2**20
    return Result(
        f"generated {index.size:,} {spec.name}",
        f"index {ms(median)} (p95 {ms(percentile(samples, 95))}), {count:,} members; index {per_million:,.0f} MB "
        f"per 1M persons ({index.nbytes / 2**30:.1f} GB), built from the generator in {built:.0f} s",
        f"index median <= {GENERATED_TARGET_MS:.0f} ms",
        median * 1000 <= GENERATED_TARGET_MS,
        seconds=median,
        details={
            "people": index.size,
            "index_ms": median * 1000,
            "index_p95_ms": percentile(samples, 95) * 1000,
            "index_count": count,
            "index_mb_per_million": per_million,
            "facts": len(index.facts.person),
            "build_s": built,
        },
    )


for _spec in RULE_SETS:
    benchmark(f"generated-{_spec.name}")(lambda ds, spec=_spec: _run_generated(ds, spec))
