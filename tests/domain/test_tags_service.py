"""SPEC 3.1, 3.2 and 3.4 at the domain level."""

import pytest
from sqlalchemy import select

from domain.errors import ErrorCode, InputError
from domain.forms.models import FormTag
from domain.forms import service as forms
from domain.segments import service as segments
from domain.tags import service as tags
from domain.tags.models import PersonTag, Tag
from tests import factories as f


def counts(session, account_id, tag_id):
    session.flush()
    row = tags.counters(session, account_id, [tag_id])[tag_id]
    session.refresh(row)
    return (row.persons, row.persons_by_person, row.persons_by_staff, row.persons_by_integration)


def test_create_fields_and_defaults(session, account):
    category = tags.create_category(session, account.id, name="Genres")
    parent = f.tag(session, account.id, "Muziek")
    tag = f.tag(
        session,
        account.id,
        "Jazz",
        category_id=category.id,
        parent_id=parent.id,
        note="internal",
        description="Swing and bebop",
        show_on_form=True,
        visible_to_everyone=True,
        position=3,
        show_on_website=True,
        starred=True,
        active=True,
    )
    assert (tag.label, tag.category_id, tag.parent_id, tag.note, tag.position) == (
        "Jazz",
        category.id,
        parent.id,
        "internal",
        3,
    )
    assert tag.show_on_form and tag.show_on_website and tag.starred and tag.active and tag.visible_to_everyone


def test_names_are_unique_case_insensitively(session, account):
    f.tag(session, account.id, "Jazz")
    with pytest.raises(InputError) as caught:
        f.tag(session, account.id, "JAZZ")
    assert caught.value.problems[0].code is ErrorCode.DUPLICATE


def test_canonical_policy_applies_on_create(session, account):
    created = tags.create_tags(
        session, account.id, tags.TagFields(names="muzyka łódź!, Jazz & Blues"), policy="canonical"
    )
    assert [t.name for t in created] == ["MUZYKA LODZ_", "JAZZ _ BLUES"]


def test_counts_are_exact_per_source_and_distinct(session, account):
    tag = f.tag(session, account.id, "Jazz")
    p1, p2, p3 = (f.person(session, account.id) for _ in range(3))
    tags.attach(
        session,
        account.id,
        tag_ids=[tag.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p1.id, p2.id],
        source="staff",
        actor="staff:1",
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[tag.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p2.id, p3.id],
        source="person",
        actor="person",
    )
    assert counts(session, account.id, tag.id) == (3, 2, 2, 0)
    # attaching again changes nothing
    assert (
        tags.attach(
            session,
            account.id,
            tag_ids=[tag.id],
            target=tags.TargetKind.PERSON,
            target_ids=[p1.id],
            source="staff",
            actor="staff:1",
        )
        == 0
    )
    tags.detach(
        session, account.id, tag_ids=[tag.id], target=tags.TargetKind.PERSON, target_ids=[p2.id], sources=["staff"]
    )
    assert counts(session, account.id, tag.id) == (3, 2, 1, 0)
    tags.detach(session, account.id, tag_ids=[tag.id], target=tags.TargetKind.PERSON, target_ids=[p2.id], sources=None)
    assert counts(session, account.id, tag.id) == (2, 1, 1, 0)


def test_deleting_a_person_updates_counts(session, account):
    from domain.people.service import delete_person

    tag = f.tag(session, account.id, "Jazz")
    p1 = f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[tag.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p1.id],
        source="staff",
        actor=None,
    )
    delete_person(session, account.id, p1.id)
    assert counts(session, account.id, tag.id) == (0, 0, 0, 0)


def test_recount_matches_trigger_counts(session, account):
    tag = f.tag(session, account.id, "Jazz")
    people = [f.person(session, account.id) for _ in range(4)]
    tags.attach(
        session,
        account.id,
        tag_ids=[tag.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p.id for p in people],
        source="staff",
        actor=None,
    )
    before = counts(session, account.id, tag.id)
    tags.recount(session, account.id)
    assert counts(session, account.id, tag.id) == before == (4, 0, 4, 0)


def test_attach_refuses_foreign_or_unknown_targets(session, account, other_account):
    tag = f.tag(session, account.id, "Jazz")
    stranger = f.person(session, other_account.id)
    with pytest.raises(InputError) as caught:
        tags.attach(
            session,
            account.id,
            tag_ids=[tag.id],
            target=tags.TargetKind.PERSON,
            target_ids=[stranger.id],
            source="staff",
            actor=None,
        )
    assert caught.value.problems[0].code is ErrorCode.NOT_FOUND
    foreign_tag = f.tag(session, other_account.id, "Rock")
    mine = f.person(session, account.id)
    with pytest.raises(InputError):
        tags.attach(
            session,
            account.id,
            tag_ids=[foreign_tag.id],
            target=tags.TargetKind.PERSON,
            target_ids=[mine.id],
            source="staff",
            actor=None,
        )
    assert session.execute(select(PersonTag)).all() == []


def test_reparent_refuses_cycles(session, account):
    a = f.tag(session, account.id, "A")
    b = f.tag(session, account.id, "B", parent_id=a.id)
    c = f.tag(session, account.id, "C", parent_id=b.id)
    for parent, code in ((c.id, ErrorCode.CYCLE), (a.id, ErrorCode.CYCLE)):
        with pytest.raises(InputError) as caught:
            tags.update_tag(session, account.id, a.id, tags.TagChanges(parent_id=parent), policy="preserve")
        assert caught.value.problems[0].code is code
    tags.update_tag(session, account.id, c.id, tags.TagChanges(parent_id=a.id), policy="preserve")
    assert tags.descendant_ids(session, account.id, [a.id]) == {a.id, b.id, c.id}


def test_merge_moves_links_collapses_duplicates_reparents_and_repoints(session, account):
    jazz = f.tag(session, account.id, "Jazz", show_on_form=True)
    jazz2 = f.tag(session, account.id, "jazz music", show_on_form=True)
    sub = f.tag(session, account.id, "Bebop", parent_id=jazz2.id)
    p1, p2 = f.person(session, account.id), f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id, jazz2.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p1.id],
        source="staff",
        actor=None,
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz2.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p2.id],
        source="person",
        actor=None,
    )
    form = forms.create_form(session, account.id, forms.FormFields(title="F", tag_ids=(jazz2.id,)))
    segment = segments.create_segment(
        session,
        account.id,
        name="s",
        rules={"all": [{"type": "tag", "tag_id": jazz2.id}]},
        scope={"genre_tag_ids": [jazz2.id], "label_tag_ids": [jazz.id, jazz2.id]},
    )
    survivor = tags.merge_tags(session, account.id, tag_ids=[jazz2.id], into_id=jazz.id)
    assert survivor.id == jazz.id
    assert session.get(Tag, (account.id, jazz2.id)) is None
    links = {
        (l.person_id, l.source)
        for l in session.execute(select(PersonTag).where(PersonTag.account_id == account.id)).scalars()
    }
    assert links == {(p1.id, "staff"), (p2.id, "person")}
    assert counts(session, account.id, jazz.id) == (2, 1, 1, 0)
    session.refresh(sub)
    assert sub.parent_id == jazz.id
    assert [r.tag_id for r in session.execute(select(FormTag).where(FormTag.form_id == form.id)).scalars()] == [jazz.id]
    session.refresh(segment)
    assert segment.rules == {"all": [{"type": "tag", "tag_id": jazz.id, "has": True, "include_subtags": False}]}
    assert segment.scope["genre_tag_ids"] == [jazz.id] and segment.scope["label_tag_ids"] == [jazz.id]


def test_merge_into_new_name_and_into_itself(session, account):
    a, b = f.tag(session, account.id, "a"), f.tag(session, account.id, "b")
    survivor = tags.merge_tags(session, account.id, tag_ids=[a.id, b.id], into_name="Combined")
    assert survivor.name == "Combined"
    with pytest.raises(InputError) as caught:
        tags.merge_tags(session, account.id, tag_ids=[survivor.id], into_id=survivor.id)
    assert caught.value.problems[0].code is ErrorCode.INVALID


def test_merge_parent_into_child_keeps_tree_sound(session, account):
    top = f.tag(session, account.id, "Top")
    parent = f.tag(session, account.id, "Parent", parent_id=top.id)
    child = f.tag(session, account.id, "Child", parent_id=parent.id)
    survivor = tags.merge_tags(session, account.id, tag_ids=[parent.id], into_id=child.id)
    assert survivor.parent_id == top.id


def test_rename_into_existing_name_merges(session, account):
    a, b = f.tag(session, account.id, "Jazz"), f.tag(session, account.id, "Blues")
    p = f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[b.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p.id],
        source="staff",
        actor=None,
    )
    survivor = tags.update_tag(session, account.id, b.id, tags.TagChanges(name="JAZZ"), policy="preserve")
    assert survivor.id == a.id
    assert counts(session, account.id, a.id)[0] == 1


def test_guarded_delete(session, account):
    tag = f.tag(session, account.id, "Old")
    p = f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[tag.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p.id],
        source="staff",
        actor=None,
    )
    with pytest.raises(InputError) as caught:
        tags.delete_tag(session, account.id, tag.id)
    assert caught.value.problems[0].code is ErrorCode.CONFLICT
    tags.delete_tag(session, account.id, tag.id, remove_links=True)
    assert session.get(Tag, (account.id, tag.id)) is None


def test_tag_version_bumps_with_every_change(session, account):
    from domain.accounts.models import Account

    def version():
        return session.execute(select(Account.tags_version).where(Account.id == account.id)).scalar_one()

    v0 = version()
    tag = f.tag(session, account.id, "X")
    v1 = version()
    tags.update_tag(session, account.id, tag.id, tags.TagChanges(label="Ex"), policy="preserve")
    assert v0 < v1 < version()


def test_list_and_search_starred_first(session, account):
    f.tag(session, account.id, "beta")
    f.tag(session, account.id, "alpha")
    f.tag(session, account.id, "zulu", starred=True)
    page = tags.list_tags(session, account.id, first=2)
    assert [t.name for t in page.items] == ["zulu", "alpha"]
    rest = tags.list_tags(session, account.id, first=2, after=page.end_cursor)
    assert [t.name for t in rest.items] == ["beta"] and not rest.has_next_page
    assert [t.name for t in tags.list_tags(session, account.id, filter=tags.TagFilter(search="LP")).items] == ["alpha"]
