"""Tags through GraphQL: per-viewer visibility (SPEC 3.5), mutations and their typed errors."""

from sqlalchemy import select, text

from domain.accounts.person_links import sign_person_token
from domain.tags import service as tags
from domain.tags.models import Tag as TagRow
from graph.core.ids import to_global_id
from tests import factories as f

TREE = """{ tagTree { id label name note active starred counts { persons } children { id label name children { id } } } }"""


def gid(kind, pk):
    return to_global_id(kind, pk)


def test_staff_sees_every_tag_and_field_website_only_public(gql, session, account):
    music = f.tag(session, account.id, "Muziek", show_on_website=True, note="n")
    f.tag(session, account.id, "Jazz", parent_id=music.id, show_on_website=True)
    f.tag(session, account.id, "Intern", parent_id=music.id, show_on_website=False)
    f.tag(session, account.id, "Oud", show_on_website=True, active=False)
    staff = gql(TREE, token=account.admin_token)["data"]["tagTree"]
    assert sorted(t["name"] for t in staff) == ["Muziek", "Oud"]
    muziek = next(t for t in staff if t["name"] == "Muziek")
    assert muziek["note"] == "n" and muziek["counts"] == {"persons": 0}
    assert sorted(c["name"] for c in muziek["children"]) == ["Intern", "Jazz"]

    web = gql(TREE, token=account.website_key)["data"]["tagTree"]
    assert web == [
        {
            "id": gid("Tag", music.id),
            "label": "Muziek",
            "name": None,
            "note": None,
            "active": None,
            "starred": None,
            "counts": None,
            "children": [{"id": web[0]["children"][0]["id"], "label": "Jazz", "name": None, "children": []}],
        }
    ]


def test_hidden_tags_are_absent_not_errors(gql, session, account):
    hidden = f.tag(session, account.id, "Intern")
    r = gql(
        "query($id: ID!) { tag(id: $id) { label } node(id: $id) { id } }",
        {"id": gid("Tag", hidden.id)},
        token=account.website_key,
    )
    assert r == {"data": {"tag": None, "node": None}, "_status": 200}


def test_tags_of_another_account_are_invisible(gql, session, account, other_account):
    theirs = f.tag(session, other_account.id, "Theirs")
    r = gql(
        "query($id: ID!) { tag(id: $id) { label } tags(first: 10) { totalCount } }",
        {"id": gid("Tag", theirs.id)},
        token=account.admin_token,
    )
    assert r["data"] == {"tag": None, "tags": {"totalCount": 0}}
    r = gql(
        """mutation($i: UpdateTagInput!) { updateTag(input: $i) { __typename
               ... on UpdateTagFailure { errors { code path } } } }""",
        {"i": {"id": gid("Tag", theirs.id), "label": "hacked"}},
        token=account.admin_token,
    )
    assert r["data"]["updateTag"] == {
        "__typename": "UpdateTagFailure",
        "errors": [{"code": "NOT_FOUND", "path": ["input", "id"]}],
    }
    session.expire_all()
    assert session.get(TagRow, (other_account.id, theirs.id)).label == "Theirs"


CREATE = """mutation($i: CreateTagsInput!) { createTags(input: $i) { __typename
  ... on CreateTagsSuccess { tags { name label } }
  ... on CreateTagsFailure { errors { code message path } } } }"""


def test_create_tags_splits_commas_and_reports_errors(gql, session, account):
    r = gql(CREATE, {"i": {"names": "Jazz, Rock ,Pop"}}, token=account.marketer_token)
    assert r["data"]["createTags"]["tags"] == [
        {"name": "Jazz", "label": "Jazz"},
        {"name": "Rock", "label": "Rock"},
        {"name": "Pop", "label": "Pop"},
    ]
    look_alikes = (
        "J\u0430zz",  # a Cyrillic а
        "Ja\u200bzz",  # a zero-width space
        "\uff2a\uff21\uff3a\uff3a",  # full-width letters
        " jazz ",
    )
    for names, code in (
        ("jazz", "DUPLICATE"),
        *((n, "DUPLICATE") for n in look_alikes),
        (" , ", "REQUIRED"),
        ("x" * 101, "TOO_LONG"),
        (", ".join(f"t{i}" for i in range(101)), "OUT_OF_RANGE"),
        ("x," * 6000, "TOO_LONG"),
    ):
        r = gql(CREATE, {"i": {"names": names}}, token=account.marketer_token)
        assert r["data"]["createTags"]["__typename"] == "CreateTagsFailure", names
        assert r["data"]["createTags"]["errors"][0]["code"] == code, names
        assert r["data"]["createTags"]["errors"][0]["path"] == ["input", "names"]
    assert session.execute(select(TagRow).where(TagRow.account_id == account.id)).all().__len__() == 3
    r = gql(CREATE, {"i": {"names": ", ".join(f"t{i}" for i in range(100))}}, token=account.marketer_token)
    assert len(r["data"]["createTags"]["tags"]) == 100


def test_viewer_role_cannot_change_tags(gql, session, account):
    r = gql(CREATE, {"i": {"names": "Jazz"}}, token=account.viewer_token)
    assert r["data"] == {"createTags": None}
    assert r["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


UPDATE = """mutation($i: UpdateTagInput!) { updateTag(input: $i) { __typename
  ... on UpdateTagSuccess { merged tag { id name label parent { name } } }
  ... on UpdateTagFailure { errors { code path } } } }"""


def test_update_reparent_cycle_and_rename_merge(gql, session, account):
    a = f.tag(session, account.id, "A")
    b = f.tag(session, account.id, "B", parent_id=a.id)
    r = gql(UPDATE, {"i": {"id": gid("Tag", a.id), "parentId": gid("Tag", b.id)}}, token=account.admin_token)
    assert r["data"]["updateTag"] == {
        "__typename": "UpdateTagFailure",
        "errors": [{"code": "CYCLE", "path": ["input", "parentId"]}],
    }
    r = gql(UPDATE, {"i": {"id": gid("Tag", a.id), "parentId": gid("Tag", a.id)}}, token=account.admin_token)
    assert r["data"]["updateTag"]["errors"][0]["code"] == "CYCLE"
    r = gql(UPDATE, {"i": {"id": gid("Tag", b.id), "label": "Bee", "parentId": None}}, token=account.admin_token)
    assert r["data"]["updateTag"]["tag"] == {"id": gid("Tag", b.id), "name": "B", "label": "Bee", "parent": None}
    r = gql(UPDATE, {"i": {"id": gid("Tag", b.id), "name": "a"}}, token=account.admin_token)
    assert r["data"]["updateTag"]["merged"] is True
    assert r["data"]["updateTag"]["tag"]["name"] == "A"


def test_merge_mutation_errors(gql, session, account):
    a = f.tag(session, account.id, "A")
    r = gql(
        """mutation($i: MergeTagsInput!) { mergeTags(input: $i) { __typename
               ... on MergeTagsFailure { errors { code path } } } }""",
        {"i": {"tagIds": [gid("Tag", a.id)], "intoId": gid("Tag", a.id)}},
        token=account.admin_token,
    )
    assert r["data"]["mergeTags"]["errors"] == [{"code": "INVALID", "path": ["input", "tagIds"]}]


def test_attach_detach_and_who(gql, session, account):
    jazz = f.tag(session, account.id, "Jazz")
    p1, p2 = f.person(session, account.id), f.person(session, account.id)
    r = gql(
        """mutation($i: TagLinksInput!) { attachTags(input: $i) { ... on TagLinksSuccess { changed } } }""",
        {"i": {"tagIds": [gid("Tag", jazz.id)], "targetIds": [gid("Person", p1.id), gid("Person", p2.id)]}},
        token=account.marketer_token,
    )
    assert r["data"]["attachTags"] == {"changed": 2}
    r = gql(
        """query($id: ID!) { tag(id: $id) { counts { persons personsByStaff }
               persons(first: 1) { totalCount pageInfo { hasNextPage } edges { node { email } } } } }""",
        {"id": gid("Tag", jazz.id)},
        token=account.admin_token,
    )
    assert r["data"]["tag"]["counts"] == {"persons": 2, "personsByStaff": 2}
    assert r["data"]["tag"]["persons"]["totalCount"] == 2
    assert r["data"]["tag"]["persons"]["pageInfo"]["hasNextPage"] is True
    r = gql(
        """mutation($i: AttachTagsByNameInput!) { attachTagsByName(input: $i) {
               ... on TagLinksSuccess { changed } } }""",
        {"i": {"names": "JAZZ, Nieuw", "targetIds": [gid("Person", p1.id)]}},
        token=account.marketer_token,
    )
    assert r["data"]["attachTagsByName"] == {"changed": 1}
    r = gql(
        """mutation($i: DetachTagsInput!) { detachTags(input: $i) { ... on TagLinksSuccess { changed } } }""",
        {"i": {"tagIds": [gid("Tag", jazz.id)], "targetIds": [gid("Person", p1.id)], "sources": ["STAFF"]}},
        token=account.marketer_token,
    )
    assert r["data"]["detachTags"] == {"changed": 1}


def test_attach_refuses_mixed_or_foreign_targets(gql, session, account, other_account):
    jazz = f.tag(session, account.id, "Jazz")
    stranger = f.person(session, other_account.id)
    show = f.production(session, account.id)
    q = """mutation($i: TagLinksInput!) { attachTags(input: $i) { __typename
           ... on AttachTagsFailure { errors { code path } } } }"""
    r = gql(
        q,
        {"i": {"tagIds": [gid("Tag", jazz.id)], "targetIds": [gid("Person", stranger.id)]}},
        token=account.admin_token,
    )
    assert r["data"]["attachTags"]["errors"] == [{"code": "NOT_FOUND", "path": ["input", "targetIds"]}]
    mine = f.person(session, account.id)
    r = gql(
        q,
        {"i": {"tagIds": [gid("Tag", jazz.id)], "targetIds": [gid("Person", mine.id), gid("Production", show.id)]}},
        token=account.admin_token,
    )
    assert r["data"]["attachTags"]["errors"] == [{"code": "INVALID", "path": ["input", "targetIds"]}]


def person_token(runtime, account, person):
    return sign_person_token(runtime.settings.secret_key, account_id=account.id, person_id=person.id)


PC = """{ preferenceCentre { title tagsTitle firstName tags { id label description position selected name note
          children { label selected } } consents { name granted } } }"""


def setup_form(session, account):
    from domain.forms import service as forms

    music = f.tag(session, account.id, "Muziek", show_on_form=True, position=2, label="Music")
    jazz = f.tag(session, account.id, "Jazz", show_on_form=True, parent_id=music.id, position=1)
    dance = f.tag(session, account.id, "Dans", show_on_form=True, position=1, description="Ballet and more")
    off = f.tag(session, account.id, "Oud", show_on_form=True, active=False)
    ruled = f.tag(session, account.id, "Selectie", show_on_form=True, visible_to_everyone=False)
    f.tag(session, account.id, "NotOnForm", show_on_form=True)
    form = forms.preference_centre(session, account.id)
    forms.update_form(
        session,
        account.id,
        form.id,
        forms.FormChanges(tags_title="Interests", tag_ids=(music.id, jazz.id, dance.id, off.id, ruled.id)),
    )
    return music, jazz, dance, off, ruled


def test_preference_centre_shows_visible_form_tags_with_selection(gql, runtime, session, account):
    music, jazz, dance, off, ruled = setup_form(session, account)
    anna = f.person(session, account.id, first_name="Anna")
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="person",
        actor=None,
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[dance.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="staff",
        actor=None,
    )
    r = gql(PC, token=person_token(runtime, account, anna))
    pc = r["data"]["preferenceCentre"]
    assert pc["firstName"] == "Anna" and pc["tagsTitle"] == "Interests"
    assert [(t["label"], t["selected"], t["name"], t["note"]) for t in pc["tags"]] == [
        ("Dans", False, None, None),  # staff-added: never shown as selected
        ("Music", False, None, None),
    ]
    assert pc["tags"][0]["description"] == "Ballet and more"
    assert pc["tags"][1]["children"] == [{"label": "Jazz", "selected": True}]


def test_relabel_and_deactivate_show_at_once(gql, runtime, session, account):
    music, jazz, dance, off, ruled = setup_form(session, account)
    anna = f.person(session, account.id)
    token = person_token(runtime, account, anna)
    assert [t["label"] for t in gql(PC, token=token)["data"]["preferenceCentre"]["tags"]] == ["Dans", "Music"]
    tags.update_tag(session, account.id, dance.id, tags.TagChanges(label="Dance"), policy="preserve")
    tags.update_tag(session, account.id, music.id, tags.TagChanges(active=False), policy="preserve")
    session.commit()
    labels = [t["label"] for t in gql(PC, token=token)["data"]["preferenceCentre"]["tags"]]
    # Jazz loses its (inactive, hidden) parent and stands on its own.
    assert labels == ["Jazz", "Dance"]


def test_submit_preferences_changes_only_person_links(gql, runtime, session, account):
    from domain.forms.models import FormSubmission
    from domain.people.models import ConsentType
    from domain.tags.models import PersonTag

    music, jazz, dance, off, ruled = setup_form(session, account)
    newsletter = ConsentType(account_id=account.id, key="newsletter", name="Newsletter")
    session.add(newsletter)
    anna = f.person(session, account.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id, dance.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="person",
        actor=None,
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="staff",
        actor=None,
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[off.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="person",
        actor=None,
    )
    session.flush()
    token = person_token(runtime, account, anna)
    r = gql(
        """mutation($i: SubmitPreferencesInput!) { submitPreferences(input: $i) { __typename
               ... on SubmitPreferencesSuccess { preferenceCentre { tags { label selected children { label selected } }
                                                 consents { name granted } } }
               ... on SubmitPreferencesFailure { errors { code path } } } }""",
        {
            "i": {
                "selectedTagIds": [gid("Tag", music.id)],
                "consents": [{"consentTypeId": gid("ConsentType", newsletter.id), "granted": True}],
            }
        },
        token=token,
    )
    pc = r["data"]["submitPreferences"]["preferenceCentre"]
    assert pc["tags"] == [
        {"label": "Dans", "selected": False, "children": []},
        {"label": "Music", "selected": True, "children": [{"label": "Jazz", "selected": False}]},
    ]
    assert pc["consents"] == [{"name": "Newsletter", "granted": True}]
    links = {
        (l.tag_id, l.source)
        for l in session.execute(
            select(PersonTag).where(PersonTag.account_id == account.id, PersonTag.person_id == anna.id)
        ).scalars()
    }
    # the staff link on Jazz and the person link on the inactive (hidden) tag stay
    assert links == {(music.id, "person"), (jazz.id, "staff"), (off.id, "person")}
    submission = session.execute(select(FormSubmission).where(FormSubmission.person_id == anna.id)).scalar_one()
    assert submission.added_tag_ids == [music.id]
    assert sorted(submission.removed_tag_ids) == sorted([jazz.id, dance.id])

    r = gql(
        """mutation($i: SubmitPreferencesInput!) { submitPreferences(input: $i) { __typename
               ... on SubmitPreferencesFailure { errors { code path } } } }""",
        {"i": {"selectedTagIds": [gid("Tag", ruled.id)]}},
        token=token,
    )
    assert r["data"]["submitPreferences"]["errors"] == [{"code": "NOT_FOUND", "path": ["input", "selectedTagIds", "0"]}]


def test_person_link_scoped_to_one_person_and_expiry(gql, runtime, session, account, other_account):
    anna = f.person(session, account.id)
    token = person_token(runtime, account, anna)
    r = gql("{ persons(first: 1) { totalCount } }", token=token)
    assert r["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    forged = sign_person_token("wrong-secret", account_id=account.id, person_id=anna.id)
    r = gql(PC, token=forged)
    assert r["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # a link for a person of another account id pair does not resolve
    mixed = sign_person_token(runtime.settings.secret_key, account_id=other_account.id, person_id=anna.id)
    assert gql(PC, token=mixed)["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


def test_staff_creates_preference_link(gql, session, account):
    anna = f.person(session, account.id)
    r = gql(
        """mutation($i: PreferenceLinkInput!) { createPreferenceLink(input: $i) {
               ... on PreferenceLinkSuccess { url token expiresAt } } }""",
        {"i": {"personId": gid("Person", anna.id)}},
        token=account.admin_token,
    )
    link = r["data"]["createPreferenceLink"]
    assert link["url"].endswith(link["token"]) and "/preferences#token=" in link["url"]
    r = gql("{ viewer { kind personId } }", token=link["token"])
    assert r["data"]["viewer"] == {"kind": "PERSON", "personId": gid("Person", anna.id)}


def test_visibility_rules_include_and_exclude(gql, runtime, session, account):
    from domain.forms import service as forms
    from domain.segments import service as segments

    utrecht = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
    )
    vip = segments.create_segment(
        session, account.id, name="VIP", rules={"type": "text", "field": "last_name", "operator": "eq", "value": "Vip"}
    )
    local = f.tag(
        session,
        account.id,
        "Local",
        show_on_form=True,
        visible_to_everyone=False,
        visibility_include_segment_id=utrecht.id,
    )
    not_vip = f.tag(
        session,
        account.id,
        "Regular",
        show_on_form=True,
        visible_to_everyone=False,
        visibility_exclude_segment_id=vip.id,
    )
    form = forms.preference_centre(session, account.id)
    forms.update_form(
        session,
        account.id,
        form.id,
        forms.FormChanges(
            tag_ids=(
                local.id,
                not_vip.id,
            )
        ),
    )
    anna = f.person(session, account.id, city="Utrecht", last_name="Vip")
    bert = f.person(session, account.id, city="Delft", last_name="Jansen")
    labels = lambda who: [
        t["label"] for t in gql(PC, token=person_token(runtime, account, who))["data"]["preferenceCentre"]["tags"]
    ]
    assert labels(anna) == ["Local"]
    assert labels(bert) == ["Regular"]


def test_same_choices_share_the_tag_list_and_own_choices_stay_own(gql, runtime, session, account):
    from graph.executor import COMPLETIONS

    music, jazz, dance, off, ruled = setup_form(session, account)
    anna, bert, carl = (f.person(session, account.id, first_name=n) for n in ("Anna", "Bert", "Carl"))
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id, bert.id],
        source="person",
        actor=None,
    )
    seen = {}
    hits = COMPLETIONS.hits
    for who in (anna, bert, carl):
        pc = gql(PC, token=person_token(runtime, account, who))["data"]["preferenceCentre"]
        seen[pc["firstName"]] = [(c["label"], c["selected"]) for t in pc["tags"] for c in t["children"]]
    assert seen == {"Anna": [("Jazz", True)], "Bert": [("Jazz", True)], "Carl": [("Jazz", False)]}
    assert COMPLETIONS.hits == hits + 1  # Bert's list was Anna's
    tags.update_tag(session, account.id, jazz.id, tags.TagChanges(label="Jazz & blues"), policy="preserve")
    session.commit()
    pc = gql(PC, token=person_token(runtime, account, bert))["data"]["preferenceCentre"]
    assert pc["tags"][1]["children"] == [{"label": "Jazz & blues", "selected": True}]


def test_visibility_follows_membership_changes_at_once(gql, runtime, session, account):
    from domain.forms import service as forms
    from domain.people import service as people
    from domain.segments import service as segments

    utrecht = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
    )
    local = f.tag(
        session,
        account.id,
        "Local",
        show_on_form=True,
        visible_to_everyone=False,
        visibility_include_segment_id=utrecht.id,
    )
    form = forms.preference_centre(session, account.id)
    forms.update_form(session, account.id, form.id, forms.FormChanges(tag_ids=(local.id,)))
    bert = f.person(session, account.id, city="Delft")
    labels = lambda: [
        t["label"] for t in gql(PC, token=person_token(runtime, account, bert))["data"]["preferenceCentre"]["tags"]
    ]
    assert labels() == []
    people.update_person(
        session, account.id, bert.id, people.PersonChanges(city="Utrecht"), timezone_name="Europe/Amsterdam"
    )
    session.commit()
    assert labels() == ["Local"]


def test_tag_rows_written_behind_the_api_reach_cached_trees(gql, connection, account):
    """tags_version is kept by triggers: a bulk load (the demo loader's COPY, a feed) that writes tag
    rows directly makes every cached tree stale, not only the API's own changes."""
    query = "{ tagTree { name } }"
    assert gql(query, token=account.admin_token)["data"] == {"tagTree": []}  # now cached
    before = connection.execute(text("select tags_version from account where id = :a"), {"a": account.id}).scalar_one()
    with connection.connection.cursor() as cursor:
        with cursor.copy("COPY tag (account_id, name, name_key, label) FROM STDIN") as copy:
            copy.write_row((account.id, "Opera", "opera", "Opera"))
    after = connection.execute(text("select tags_version from account where id = :a"), {"a": account.id}).scalar_one()
    assert after > before
    assert gql(query, token=account.admin_token)["data"] == {"tagTree": [{"name": "Opera"}]}
    connection.execute(text("update form set title = title where account_id = :a"), {"a": account.id})
    connection.execute(text("delete from tag where account_id = :a"), {"a": account.id})
    assert gql(query, token=account.admin_token)["data"] == {"tagTree": []}
