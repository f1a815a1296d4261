"""The full tag tree costs a constant number of SQL statements, whatever its size."""

from domain.tags.visibility import TAG_CACHE
from tests import factories as f
from tests.statements import statements_of

DEEP = """{ tagTree { id label name starred category { name } counts { persons personsByStaff }
  children { id label name counts { persons } children { id label name counts { persons } children { id } } } } }"""


def build_tree(session, account_id, roots, per_level):
    from domain.tags import service as tags

    category = tags.create_category(session, account_id, name=f"Cat {roots}")
    made = 0
    for r in range(roots):
        top = f.tag(session, account_id, f"r{r}-{roots}", category_id=category.id)
        made += 1
        for c in range(per_level):
            mid = f.tag(session, account_id, f"r{r}c{c}-{roots}", parent_id=top.id)
            made += 1
            for g in range(per_level):
                f.tag(session, account_id, f"r{r}c{c}g{g}-{roots}", parent_id=mid.id)
                made += 1
    return made


def count_statements(connection, run):
    return statements_of(connection, run)


def test_tree_of_500_tags_in_three_levels_costs_constant_statements(gql, session, connection, account, other_account):
    small = build_tree(session, other_account.id, roots=2, per_level=2)  # 14 tags
    large = build_tree(session, account.id, roots=20, per_level=4)  # 20 + 80 + 320 = 420
    large += build_tree(session, account.id, roots=4, per_level=4)  # 84 more: 504 tags
    assert small == 14 and large == 504
    session.commit()
    TAG_CACHE.clear()

    r_small, small_statements = count_statements(connection, lambda: gql(DEEP, token=other_account.admin_token))
    r_large, large_statements = count_statements(connection, lambda: gql(DEEP, token=account.admin_token))
    assert "errors" not in r_large
    nodes = sum(
        1 + len(t["children"]) + sum(len(c["children"]) for c in t["children"]) for t in r_large["data"]["tagTree"]
    )
    assert nodes == 504
    assert len(large_statements) == len(small_statements) <= 6, large_statements

    # Served again from the cache: only authentication and the counters run.
    _, cached = count_statements(connection, lambda: gql(DEEP, token=account.admin_token))
    assert len(cached) <= len(large_statements) - 1


WHO = """{ tags(first: 200) { edges { node { id
  all: persons(first: 3) { totalCount edges { node { id firstName consents { granted } } } }
  mine: persons(first: 2, source: PERSON) { totalCount edges { node { id } } }
  deep: persons(first: 2, includeSubtags: true) { totalCount pageInfo { hasNextPage } edges { node { id } } }
  staff: persons(first: 1, source: STAFF, includeSubtags: true) { totalCount edges { node { id } } }
  next: persons(first: 1, after: "%s") { edges { node { id } } } } } } }"""


def test_who_lists_of_many_tags_and_aliases_cost_constant_statements(gql, session, connection, account):
    from domain.pagination import encode_cursor
    from domain.tags import service as tags

    people = [f.person(session, account.id, first_name=f"P{i}") for i in range(6)]
    made = []
    for i in range(40):
        parent = f.tag(session, account.id, f"t{i}")
        child = f.tag(session, account.id, f"t{i}-sub", parent_id=parent.id)
        made += [parent, child]
        tags.attach(
            session,
            account.id,
            tag_ids=[parent.id],
            target=tags.TargetKind.PERSON,
            target_ids=[p.id for p in people[: 1 + i % 5]],
            source="staff",
            actor=None,
        )
        tags.attach(
            session,
            account.id,
            tag_ids=[child.id],
            target=tags.TargetKind.PERSON,
            target_ids=[people[5].id],
            source="person",
            actor=None,
        )
    query = WHO % encode_cursor([people[0].id])
    body, statements = count_statements(connection, lambda: gql(query, token=account.viewer_token))
    assert "errors" not in body, body
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["tags"]["edges"]}
    assert len(nodes) == 80
    from graph.core.ids import to_global_id

    first, sub = nodes[to_global_id("Tag", made[8].id)], nodes[to_global_id("Tag", made[9].id)]  # t4: 5 persons
    assert first["all"]["totalCount"] == 5 and len(first["all"]["edges"]) == 3
    assert first["mine"] == {"totalCount": 0, "edges": []}
    assert first["deep"]["totalCount"] == 6 and first["deep"]["pageInfo"]["hasNextPage"]
    assert first["staff"]["totalCount"] == 5
    assert [e["node"]["id"] for e in first["next"]["edges"]] == [to_global_id("Person", people[1].id)]
    assert sub["mine"]["totalCount"] == 1 and sub["all"]["edges"][0]["node"]["firstName"] == "P5"
    # 80 tags × 5 aliases: a page and a count per alias, not per tag (was ~2 per tag and alias).
    assert len(statements) <= 20, "\n".join(s[:150] for s in statements)
