"""Every tag and form mutation: another account's ids and bad input get typed errors and write nothing."""

import pytest
from sqlalchemy import text

from domain.forms import service as forms
from domain.segments.models import Segment
from graph.core.ids import to_global_id
from tests import factories as f


def gid(kind, pk):
    return to_global_id(kind, pk)


def snapshot(connection, account_id):
    """Everything tag-related of an account, to prove nothing changed."""
    out = {}
    for table in ("tag", "tag_category", "person_tag", "production_tag", "form", "form_tag", "form_submission"):
        out[table] = connection.execute(
            text(f"SELECT * FROM {table} WHERE account_id = :a ORDER BY 1, 2, 3"), {"a": account_id}
        ).all()
    return out


@pytest.fixture()
def world(session, account, other_account):
    mine = f.tag(session, account.id, "Mine", show_on_form=True)
    theirs = f.tag(session, other_account.id, "Theirs", show_on_form=True)
    their_category = __import__("domain.tags.service", fromlist=["x"]).create_category(
        session, other_account.id, name="Their category"
    )
    their_segment = Segment(account_id=other_account.id, name="Their segment")
    session.add(their_segment)
    their_person = f.person(session, other_account.id)
    my_person = f.person(session, account.id)
    their_form = forms.create_form(session, other_account.id, forms.FormFields(title="Theirs", tag_ids=(theirs.id,)))
    session.flush()
    return dict(
        mine=mine,
        theirs=theirs,
        their_category=their_category,
        their_segment=their_segment,
        their_person=their_person,
        my_person=my_person,
        their_form=their_form,
    )


def mutate(gql, token, name, input_type, variables):
    query = f"""mutation($i: {input_type}!) {{ {name}(input: $i) {{ __typename
        ... on {name[0].upper() + name[1:]}Failure {{ errors {{ code message path }} }} }} }}"""
    return gql(query, {"i": variables}, token=token)


CASES = [
    # A malformed id and another account's id are both "not found" at the field's input path.
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {"names": "x", "categoryId": "not-an-id"},
        ("NOT_FOUND", ["input", "categoryId"]),
    ),
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {"names": "x", "visibilityExcludeSegmentId": "junk"},
        ("NOT_FOUND", ["input", "visibilityExcludeSegmentId"]),
    ),
    ("createTags", "CreateTagsInput", lambda w: {"names": " , "}, ("REQUIRED", ["input", "names"])),
    (
        "attachTags",
        "TagLinksInput",
        lambda w: {"tagIds": ["junk"], "targetIds": [gid("Person", w["my_person"].id)]},
        ("NOT_FOUND", ["input", "tagIds", "0"]),
    ),
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {"names": "x", "parentId": gid("Tag", w["theirs"].id)},
        ("NOT_FOUND", ["input", "parentId"]),
    ),
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {"names": "x", "categoryId": gid("TagCategory", w["their_category"].id)},
        ("NOT_FOUND", ["input", "categoryId"]),
    ),
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {
            "names": "x",
            "visibleToEveryone": False,
            "visibilityIncludeSegmentId": gid("Segment", w["their_segment"].id),
        },
        ("NOT_FOUND", ["input", "visibilityIncludeSegmentId"]),
    ),
    ("createTags", "CreateTagsInput", lambda w: {"names": "x", "note": "n" * 5001}, ("TOO_LONG", ["input", "note"])),
    (
        "createTags",
        "CreateTagsInput",
        lambda w: {"names": "ok", "position": -1},
        ("OUT_OF_RANGE", ["input", "position"]),
    ),
    (
        "updateTag",
        "UpdateTagInput",
        lambda w: {"id": gid("Tag", w["theirs"].id), "starred": True},
        ("NOT_FOUND", ["input", "id"]),
    ),
    (
        "updateTag",
        "UpdateTagInput",
        lambda w: {"id": gid("Tag", w["mine"].id), "parentId": gid("Tag", w["theirs"].id)},
        ("NOT_FOUND", ["input", "parentId"]),
    ),
    (
        "updateTag",
        "UpdateTagInput",
        lambda w: {"id": gid("Tag", w["mine"].id), "name": ""},
        ("REQUIRED", ["input", "name"]),
    ),
    (
        "updateTag",
        "UpdateTagInput",
        lambda w: {"id": gid("Tag", w["mine"].id), "name": "a, b"},
        ("INVALID", ["input", "name"]),
    ),
    (
        "updateTag",
        "UpdateTagInput",
        lambda w: {"id": gid("Tag", w["mine"].id), "label": " "},
        ("REQUIRED", ["input", "label"]),
    ),
    ("updateTag", "UpdateTagInput", lambda w: {"id": "not-an-id", "label": "x"}, ("NOT_FOUND", ["input", "id"])),
    (
        "attachTags",
        "TagLinksInput",
        lambda w: {"tagIds": [gid("Tag", w["theirs"].id)], "targetIds": [gid("Person", w["my_person"].id)]},
        ("NOT_FOUND", ["input", "tagIds"]),
    ),
    (
        "attachTags",
        "TagLinksInput",
        lambda w: {"tagIds": [], "targetIds": [gid("Person", w["my_person"].id)]},
        ("REQUIRED", ["input", "tagIds"]),
    ),
    (
        "detachTags",
        "DetachTagsInput",
        lambda w: {"tagIds": [gid("Tag", w["mine"].id)], "targetIds": [gid("Person", w["their_person"].id)]},
        ("NOT_FOUND", ["input", "targetIds"]),
    ),
    (
        "mergeTags",
        "MergeTagsInput",
        lambda w: {"tagIds": [gid("Tag", w["theirs"].id)], "intoId": gid("Tag", w["mine"].id)},
        ("NOT_FOUND", ["input", "tagIds"]),
    ),
    (
        "mergeTags",
        "MergeTagsInput",
        lambda w: {"tagIds": [gid("Tag", w["mine"].id)], "intoId": gid("Tag", w["theirs"].id)},
        ("NOT_FOUND", ["input", "intoId"]),
    ),
    ("mergeTags", "MergeTagsInput", lambda w: {"tagIds": [gid("Tag", w["mine"].id)]}, ("INVALID", ["input", "into"])),
    (
        "mergeTags",
        "MergeTagsInput",
        lambda w: {"tagIds": [gid("Tag", w["mine"].id)], "intoName": " "},
        ("REQUIRED", ["input", "intoName"]),
    ),
    ("deleteTag", "DeleteTagInput", lambda w: {"id": gid("Tag", w["theirs"].id)}, ("NOT_FOUND", ["input", "id"])),
    ("createTagCategory", "CreateTagCategoryInput", lambda w: {"name": " "}, ("REQUIRED", ["input", "name"])),
    ("createTagCategory", "CreateTagCategoryInput", lambda w: {"name": "c" * 101}, ("TOO_LONG", ["input", "name"])),
    (
        "createForm",
        "FormInput",
        lambda w: {"title": "F", "tagIds": [gid("Tag", w["theirs"].id)]},
        ("NOT_FOUND", ["input", "tagIds", "0"]),
    ),
    ("createForm", "FormInput", lambda w: {"title": " ", "tagIds": []}, ("REQUIRED", ["input", "title"])),
    (
        "updateForm",
        "UpdateFormInput",
        lambda w: {"id": gid("Form", w["their_form"].id), "title": "mine now"},
        ("NOT_FOUND", ["input", "id"]),
    ),
    (
        "createPreferenceLink",
        "PreferenceLinkInput",
        lambda w: {"personId": gid("Person", w["their_person"].id)},
        ("NOT_FOUND", ["input", "personId"]),
    ),
]


@pytest.mark.parametrize("name,input_type,make,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_refused_and_nothing_written(gql, connection, account, other_account, world, name, input_type, make, expected):
    before = snapshot(connection, account.id), snapshot(connection, other_account.id)
    r = mutate(gql, account.admin_token, name, input_type, make(world))
    payload = r["data"][name]
    assert payload["__typename"].endswith("Failure"), r
    assert (payload["errors"][0]["code"], payload["errors"][0]["path"]) == expected
    assert (snapshot(connection, account.id), snapshot(connection, other_account.id)) == before


def test_form_refuses_tags_not_marked_for_forms(gql, session, connection, account):
    plain = f.tag(session, account.id, "Plain", show_on_form=False)
    before = snapshot(connection, account.id)
    r = mutate(gql, account.admin_token, "createForm", "FormInput", {"title": "F", "tagIds": [gid("Tag", plain.id)]})
    assert r["data"]["createForm"]["errors"] == [
        {"code": "INVALID", "path": ["input", "tagIds", "0"], "message": "tag 'Plain' is not marked \"show on form\""}
    ]
    assert snapshot(connection, account.id) == before


def test_staff_cannot_submit_preferences(gql, account):
    r = mutate(gql, account.admin_token, "submitPreferences", "SubmitPreferencesInput", {"selectedTagIds": []})
    assert r["data"]["submitPreferences"]["errors"][0]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("name", "input_type", "variables", "path"),
    [
        (
            "attachTags",
            "TagLinksInput",
            lambda p, t: {"tagIds": [t], "targetIds": [p] * 10_001},
            ["input", "targetIds"],
        ),
        ("attachTags", "TagLinksInput", lambda p, t: {"tagIds": [t] * 1001, "targetIds": [p]}, ["input", "tagIds"]),
        (
            "mergeTags",
            "MergeTagsInput",
            lambda p, t: {"tagIds": [gid("Tag", i) for i in range(1, 102)], "intoId": t},
            ["input", "tagIds"],
        ),
    ],
)
def test_list_inputs_are_capped(gql, session, account, name, input_type, variables, path):
    person, tag = f.person(session, account.id), f.tag(session, account.id, "Capped")
    body = mutate(gql, account.admin_token, name, input_type, variables(gid("Person", person.id), gid("Tag", tag.id)))
    assert [(e["code"], e["path"]) for e in body["data"][name]["errors"]] == [("OUT_OF_RANGE", path)]
