"""Purchase facts stay correct under writes; bad rules get typed errors naming the offending part."""

from datetime import datetime, timedelta, UTC
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from domain.accounts.models import Account
from domain.catalog.facts import PersonSeasonStats, PersonStats, TicketFact, rebuild_purchase_facts
from domain.catalog.models import Event, Order, Production, Ticket, Venue
from domain.errors import ErrorCode, InputError
from domain.people.models import Person
from domain.people.service import delete_person
from domain.segments import service as segments
from domain.segments.rules import MAX_DEPTH


def stats(session, account_id, person_id):
    session.expire_all()
    row = session.execute(
        select(PersonStats).where(PersonStats.account_id == account_id, PersonStats.person_id == person_id)
    ).scalar_one_or_none()
    return (
        None if row is None else (row.orders, row.tickets, row.revenue, row.events, row.has_online, row.has_box_office)
    )


@pytest.fixture()
def catalogue(session, account):
    venue = Venue(account_id=account.id, name="Zaal")
    show = Production(account_id=account.id, title="Show")
    session.add_all([venue, show])
    session.flush()
    e1 = Event(
        account_id=account.id, production_id=show.id, venue_id=venue.id, starts_at=datetime.now(UTC) + timedelta(days=3)
    )
    e2 = Event(
        account_id=account.id, production_id=show.id, venue_id=venue.id, starts_at=datetime.now(UTC) - timedelta(days=3)
    )
    session.add_all([e1, e2])
    session.flush()
    return e1, e2


def test_facts_follow_inserts_updates_and_deletes(session, account, catalogue):
    e1, e2 = catalogue
    p = Person(account_id=account.id, email="p@x.nl")
    session.add(p)
    session.flush()
    o1 = Order(account_id=account.id, person_id=p.id, channel="online", created_at=datetime.now(UTC))
    session.add(o1)
    session.flush()
    session.add_all(
        [
            Ticket(account_id=account.id, order_id=o1.id, event_id=e1.id, person_id=p.id, price=Decimal("10")),
            Ticket(account_id=account.id, order_id=o1.id, event_id=e2.id, person_id=p.id, price=Decimal("5")),
        ]
    )
    session.flush()
    assert stats(session, account.id, p.id) == (1, 2, Decimal("15.00"), 2, True, False)
    session.execute(update(Order).where(Order.account_id == account.id, Order.id == o1.id).values(channel="box_office"))
    assert stats(session, account.id, p.id) == (1, 2, Decimal("15.00"), 2, False, True)
    new_start = datetime.now(UTC) + timedelta(days=40)
    session.execute(update(Event).where(Event.account_id == account.id, Event.id == e1.id).values(starts_at=new_start))
    fact = session.execute(select(TicketFact.event_starts_at).where(TicketFact.event_id == e1.id)).scalar_one()
    assert fact == new_start
    session.execute(text("DELETE FROM ticket WHERE account_id = :a AND event_id = :e"), {"a": account.id, "e": e2.id})
    assert stats(session, account.id, p.id) == (1, 1, Decimal("10.00"), 1, False, True)
    before = session.execute(select(TicketFact).where(TicketFact.account_id == account.id)).scalars().all()
    rebuild_purchase_facts(session.connection(), account.id)
    after = session.execute(select(TicketFact).where(TicketFact.account_id == account.id)).scalars().all()
    assert len(before) == len(after) == 1
    delete_person(session, account.id, p.id)
    assert stats(session, account.id, p.id) is None
    assert session.execute(select(TicketFact).where(TicketFact.account_id == account.id)).all() == []


def season_stats(session, account_id):
    session.expire_all()
    rows = session.execute(select(PersonSeasonStats).where(PersonSeasonStats.account_id == account_id)).scalars()
    return {
        (r.season, r.person_id): (r.orders, r.tickets, r.revenue, r.events, r.has_online, r.has_box_office)
        for r in rows
    }


def test_season_figures_follow_sales_season_changes_and_rebuilds(session, account):
    venue = Venue(account_id=account.id, name="Zaal")
    autumn = Production(account_id=account.id, title="Autumn", season="2025-2026")
    spring = Production(account_id=account.id, title="Spring", season="2026-2027")
    unseasoned = Production(account_id=account.id, title="Loose")
    session.add_all([venue, autumn, spring, unseasoned])
    session.flush()
    start = datetime.now(UTC) + timedelta(days=3)
    events = [
        Event(account_id=account.id, production_id=p.id, venue_id=venue.id, starts_at=start)
        for p in (autumn, spring, unseasoned)
    ]
    session.add_all(events)
    session.flush()
    p = Person(account_id=account.id, email="season@x.nl")
    session.add(p)
    session.flush()
    order = Order(account_id=account.id, person_id=p.id, channel="online", created_at=datetime.now(UTC))
    session.add(order)
    session.flush()
    # One order, tickets of both seasons and of a production without a season.
    session.add_all(
        [
            Ticket(account_id=account.id, order_id=order.id, event_id=e.id, person_id=p.id, price=Decimal(v))
            for e, v in zip(events, ("10", "20", "5"))
        ]
    )
    session.flush()
    assert season_stats(session, account.id) == {
        ("2025-2026", p.id): (1, 1, Decimal("10.00"), 1, True, False),
        ("2026-2027", p.id): (1, 1, Decimal("20.00"), 1, True, False),
    }
    # A production moved to another season moves its buyers' figures (trigger on production).
    session.execute(
        update(Production)
        .where(Production.account_id == account.id, Production.id == spring.id)
        .values(season="2025-2026")
    )
    assert season_stats(session, account.id) == {("2025-2026", p.id): (1, 2, Decimal("30.00"), 2, True, False)}
    session.execute(
        update(Production)
        .where(Production.account_id == account.id, Production.id == unseasoned.id)
        .values(season="2024-2025")
    )
    kept = season_stats(session, account.id)
    assert kept[("2024-2025", p.id)] == (1, 1, Decimal("5.00"), 1, True, False)
    rebuild_purchase_facts(session.connection(), account.id)
    assert season_stats(session, account.id) == kept
    session.execute(
        text("DELETE FROM ticket WHERE account_id = :a AND event_id = :e"), {"a": account.id, "e": events[2].id}
    )
    assert set(season_stats(session, account.id)) == {("2025-2026", p.id)}


def test_the_account_time_zone_decides_what_a_day_is(session, account):
    # 03:00 UTC on 2 March is still 1 March in New York (22:00) and 2 March in Amsterdam.
    p = Person(account_id=account.id, email="tz@x.nl", created_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
    session.add(p)
    session.flush()
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rule = {"type": "added_on", "last_days": 0}
    assert segments.matching_person_ids(session, account.id, rules=rule, now=now) == {p.id}
    session.execute(update(Account).where(Account.id == account.id).values(timezone="America/New_York"))
    assert segments.matching_person_ids(session, account.id, rules=rule, now=now) == set()
    assert segments.matching_person_ids(session, account.id, rules={"type": "added_on", "last_days": 1}, now=now) == {
        p.id
    }


def problem(session, account, rules, scope=None):
    with pytest.raises(InputError) as caught:
        segments.count_matching(session, account.id, rules=rules, scope=scope)
    return [(p.code, p.path) for p in caught.value.problems]


def test_typed_errors_name_the_part(session, account, other_account):
    """Paths are in the rule tree's own terms: a condition at its node, under "condition" and its kind."""
    assert problem(session, account, {"all": [{"type": "text", "field": "shoe", "operator": "eq", "value": "x"}]}) == [
        (ErrorCode.INVALID_CHOICE, ("rules", "all", "0", "condition", "text", "field"))
    ]
    assert problem(
        session, account, {"any": [{"type": "text", "field": "city", "operator": "like", "value": "x"}]}
    ) == [(ErrorCode.INVALID_CHOICE, ("rules", "any", "0", "condition", "text", "operator"))]
    assert problem(session, account, {"type": "text", "field": "city", "operator": "in", "value": "x"}) == [
        (ErrorCode.INVALID, ("rules", "condition", "text", "values")),
        (ErrorCode.INVALID, ("rules", "condition", "text", "value")),
    ]
    assert problem(session, account, {"type": "age", "min": "old"}) == [
        (ErrorCode.INVALID, ("rules", "condition", "age", "min"))
    ]
    assert problem(session, account, {"type": "purchase", "metric": "revenue", "min": True}) == [
        (ErrorCode.INVALID, ("rules", "condition", "purchase", "min"))
    ]
    assert problem(session, account, {}) == [(ErrorCode.INVALID_CHOICE, ("rules", "type"))]
    assert problem(session, account, {"not": None}) == [(ErrorCode.INVALID, ("rules", "not"))]
    assert problem(session, account, {"all": [{"type": "tag", "tag_id": 1, "colour": "red"}]})[0] == (
        ErrorCode.INVALID,
        ("rules", "all", "0", "condition", "tag", "colour"),
    )
    deep = {"type": "gender", "values": ["all"]}
    for _ in range(MAX_DEPTH + 1):
        deep = {"not": deep}
    assert problem(session, account, deep)[0][0] is ErrorCode.OUT_OF_RANGE
    theirs = segments.create_segment(session, other_account.id, name="theirs", rules={"all": []})
    assert problem(session, account, {"type": "segment", "segment_id": theirs.id}) == [
        (ErrorCode.NOT_FOUND, ("rules", "condition", "segment", "segment_id"))
    ]
    assert problem(session, account, {"all": []}, {"event_ids": [10**12]}) == [
        (ErrorCode.NOT_FOUND, ("scope", "event_ids", "0"))
    ]
    assert problem(session, account, {"all": []}, {"days_back": -1}) == [(ErrorCode.INVALID, ("scope", "days_back"))]
    assert problem(session, account, {"type": "added_on", "after": "2026-05-01", "before": "2026-05-02"}) == [
        (ErrorCode.OUT_OF_RANGE, ("rules", "condition", "added_on", "before"))
    ]


def test_a_sale_during_a_season_change_gets_the_new_season(committed_engine):
    """A ticket sold to a new buyer while another transaction moves the production to another
    season: the buyer's facts must follow the season that is committed last (the refresh waits
    for the season change instead of reading the old season)."""
    import threading

    from sqlmodel import Session

    from domain.accounts import service as accounts

    with Session(committed_engine, expire_on_commit=False) as s:
        account = accounts.create_account(s, name="Race Venue")
        venue = Venue(account_id=account.id, name="Zaal")
        show = Production(account_id=account.id, title="Show", season="2025-2026")
        s.add_all([venue, show])
        s.flush()
        event = Event(
            account_id=account.id,
            production_id=show.id,
            venue_id=venue.id,
            starts_at=datetime.now(UTC) + timedelta(days=9),
        )
        buyer = Person(account_id=account.id, email="late@x.nl")
        s.add_all([event, buyer])
        s.commit()
    mover = committed_engine.connect()
    moving = mover.begin()
    mover.execute(
        update(Production)
        .where(Production.account_id == account.id, Production.id == show.id)
        .values(season="2026-2027")
    )
    failures: list[BaseException] = []

    def sell() -> None:
        try:
            with Session(committed_engine) as s:
                order = Order(account_id=account.id, person_id=buyer.id, channel="online", created_at=datetime.now(UTC))
                s.add(order)
                s.flush()
                s.add(
                    Ticket(
                        account_id=account.id,
                        order_id=order.id,
                        event_id=event.id,
                        person_id=buyer.id,
                        price=Decimal("10"),
                    )
                )
                s.commit()
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)

    seller = threading.Thread(target=sell)
    seller.start()
    seller.join(1.0)
    assert seller.is_alive(), "the sale's fact refresh should wait for the season change"
    moving.commit()
    mover.close()
    seller.join(20)
    assert not seller.is_alive() and not failures, failures
    with Session(committed_engine) as s:
        seasons = (
            s.execute(
                select(PersonSeasonStats.season).where(
                    PersonSeasonStats.account_id == account.id, PersonSeasonStats.person_id == buyer.id
                )
            )
            .scalars()
            .all()
        )
    assert seasons == ["2026-2027"]
