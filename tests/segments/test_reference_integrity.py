"""Segments own their references: every id-bearing field of the rules and the scope is in
segment_reference, merges repoint all of them, and no delete leaves a segment naming nothing."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from domain.catalog import service as catalog
from domain.catalog.models import Event, Production, Venue
from domain.errors import ErrorCode, InputError
from domain.forms import service as forms
from domain.people import consents
from domain.people import service as people
from domain.people.models import ConsentType, CustomFieldDefinition
from domain.segments import rules as r
from domain.segments import service as segments
from domain.segments.models import SegmentReference
from domain.tags import service as tags
from tests import factories as f


@pytest.fixture()
def world(session, account):
    venue = Venue(account_id=account.id, name="Zaal", latitude=52.0, longitude=5.0)
    production = Production(account_id=account.id, title="Play", season="2026")
    session.add_all([venue, production])
    session.flush()
    event = Event(
        account_id=account.id,
        production_id=production.id,
        venue_id=venue.id,
        starts_at=datetime(2030, 1, 1, 20, tzinfo=UTC),
    )
    consent = ConsentType(account_id=account.id, key="news", name="News")
    field = CustomFieldDefinition(account_id=account.id, key="seats", label="Seats", type="number")
    session.add_all([event, consent, field])
    session.flush()
    form = forms.create_form(session, account.id, forms.FormFields(title="Survey", tag_ids=()))
    other_venue = Venue(account_id=account.id, name="Empty hall", latitude=51.0, longitude=4.0)
    session.add(other_venue)
    session.flush()
    return dict(venue=other_venue, production=production, event=event, consent=consent, field=field, form=form)


def references_of(session, segment) -> set[tuple[str, object]]:
    rows = session.execute(
        select(SegmentReference).where(
            SegmentReference.account_id == segment.account_id, SegmentReference.segment_id == segment.id
        )
    ).scalars()
    found = set()
    for row in rows:
        for kind, attr in (
            ("tag", "tag_id"),
            ("segment", "referenced_segment_id"),
            ("form", "form_id"),
            ("consent_type", "consent_type_id"),
            ("venue", "venue_id"),
            ("production", "production_id"),
            ("event", "event_id"),
            ("custom_field", "custom_field_key"),
        ):
            if getattr(row, attr) is not None:
                found.add((kind, getattr(row, attr)))
    return found


def test_every_id_bearing_field_is_a_reference_row(session, account, world):
    genre, label, cond = (f.tag(session, account.id, n) for n in ("genre", "label", "cond"))
    used = segments.create_segment(session, account.id, name="used", rules={"all": []})
    rules = {
        "all": [
            {"type": "tag", "tag_id": cond.id},
            {"type": "segment", "segment_id": used.id},
            {"type": "form", "form_id": world["form"].id},
            {"type": "consent", "consent_type_id": world["consent"].id},
            {"type": "distance", "km": 5, "venue_id": world["venue"].id},
            {"type": "custom_field", "key": "seats", "operator": "gte", "value": 2},
        ]
    }
    scope = {
        "genre_tag_ids": [genre.id],
        "label_tag_ids": [label.id],
        "production_ids": [world["production"].id],
        "event_ids": [world["event"].id],
    }
    segment = segments.create_segment(session, account.id, name="everything", rules=rules, scope=scope)
    assert references_of(session, segment) == {
        ("tag", cond.id),
        ("tag", genre.id),
        ("tag", label.id),
        ("segment", used.id),
        ("form", world["form"].id),
        ("consent_type", world["consent"].id),
        ("venue", world["venue"].id),
        ("custom_field", "seats"),
        ("production", world["production"].id),
        ("event", world["event"].id),
    }
    tree = r.parse_rule(segment.rules, custom_fields={"seats": {"type": "number", "choices": []}})
    assert {(ref.kind, ref.value) for ref in r.references(tree, r.parse_scope(segment.scope))} == references_of(
        session, segment
    )


@pytest.mark.parametrize("where", ["condition", "genre", "label"])
def test_merging_a_tag_repoints_every_place_a_segment_names_it(session, account, where):
    survivor, merged, other = (f.tag(session, account.id, n) for n in ("Jazz", "jazz music", "Other"))
    person = f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[merged.id],
        target=tags.TargetKind.PERSON,
        target_ids=[person.id],
        source="staff",
        actor=None,
    )
    rules = {"type": "tag", "tag_id": merged.id} if where == "condition" else {"all": []}
    scope = (
        {"genre_tag_ids": [merged.id, survivor.id]}
        if where == "genre"
        else {"label_tag_ids": [merged.id]}
        if where == "label"
        else None
    )
    segment = segments.create_segment(session, account.id, name="jazz lovers", rules=rules, scope=scope)
    tags.merge_tags(session, account.id, tag_ids=[merged.id], into_id=survivor.id)
    session.refresh(segment)
    assert ("tag", merged.id) not in references_of(session, segment)
    assert ("tag", survivor.id) in references_of(session, segment)
    if where == "condition":
        assert segment.rules["tag_id"] == survivor.id
        assert segments.count_segment(session, account.id, segment.id) == 1
    else:
        assert segment.scope[f"{where}_tag_ids"] == [survivor.id]  # duplicates collapse
    # The segment stays editable: a rename is not refused with "tag not found".
    renamed = segments.update_segment(session, account.id, segment.id, segments.SegmentChanges(name="renamed"))
    assert renamed.name == "renamed"
    assert other.id not in {v for _, v in references_of(session, segment)}


@pytest.mark.parametrize("where", ["condition", "genre", "label"])
def test_a_tag_a_segment_names_cannot_be_deleted(session, account, where):
    tag = f.tag(session, account.id, "Named")
    rules = {"type": "tag", "tag_id": tag.id} if where == "condition" else {"all": []}
    scope = {f"{where}_tag_ids": [tag.id]} if where != "condition" else None
    segment = segments.create_segment(session, account.id, name="fans", rules=rules, scope=scope)
    with pytest.raises(InputError) as refused:
        tags.delete_tag(session, account.id, tag.id, remove_links=True)
    assert [(p.code, p.message, p.path) for p in refused.value.problems] == [
        (ErrorCode.CONFLICT, "segment(s) 'fans' use this tag; change them first", ("id",))
    ]
    segments.update_segment(session, account.id, segment.id, segments.SegmentChanges(rules={"all": []}, scope=None))
    tags.delete_tag(session, account.id, tag.id)


def test_the_database_refuses_a_dangling_reference(session, account):
    tag = f.tag(session, account.id, "Guarded")
    segments.create_segment(session, account.id, name="guard", rules={"all": []}, scope={"genre_tag_ids": [tag.id]})
    with pytest.raises(IntegrityError, match="fk_segment_reference_tag"), session.begin_nested():
        session.execute(text("DELETE FROM tag WHERE account_id = :a AND id = :t"), {"a": account.id, "t": tag.id})


@pytest.mark.parametrize("kind", ["form", "consent_type", "venue", "custom_field", "segment"])
def test_every_other_delete_is_refused_while_a_segment_names_the_row(session, account, world, kind):
    used = segments.create_segment(session, account.id, name="used", rules={"all": []})
    condition = {
        "form": {"type": "form", "form_id": world["form"].id},
        "consent_type": {"type": "consent", "consent_type_id": world["consent"].id},
        "venue": {"type": "distance", "km": 5, "venue_id": world["venue"].id},
        "custom_field": {"type": "custom_field", "key": "seats", "operator": "is_empty"},
        "segment": {"type": "segment", "segment_id": used.id},
    }[kind]
    user = segments.create_segment(session, account.id, name="user", rules=condition)
    delete = {
        "form": lambda: forms.delete_form(session, account.id, world["form"].id),
        "consent_type": lambda: consents.delete_consent_type(session, account.id, world["consent"].id),
        "venue": lambda: catalog.delete_venue(session, account.id, world["venue"].id),
        "custom_field": lambda: people.delete_custom_field(session, account.id, "seats"),
        "segment": lambda: segments.delete_segment(session, account.id, used.id),
    }[kind]
    with pytest.raises(InputError) as refused:
        delete()
    assert refused.value.problems[0].code is ErrorCode.CONFLICT
    assert "'user'" in refused.value.problems[0].message
    segments.update_segment(session, account.id, user.id, segments.SegmentChanges(rules={"all": []}))
    delete()  # nothing names it any more


@pytest.mark.parametrize("table", ["production", "event"])
def test_scope_productions_and_events_cannot_vanish(session, account, world, table):
    key = f"{table}_ids"
    segments.create_segment(session, account.id, name="scoped", rules={"all": []}, scope={key: [world[table].id]})
    with pytest.raises(IntegrityError), session.begin_nested():
        if table == "production":
            session.execute(text("DELETE FROM event WHERE account_id = :a"), {"a": account.id})
        session.execute(
            text(f"DELETE FROM {table} WHERE account_id = :a AND id = :i"), {"a": account.id, "i": world[table].id}
        )


def test_deleting_a_custom_field_removes_its_values(session, account, world):
    person = f.person(session, account.id, custom_fields={"seats": 3})
    people.delete_custom_field(session, account.id, "seats")
    session.refresh(person)
    assert person.custom_fields == {}
