"""The full tag tree costs a constant number of SQL statements, whatever its size."""

from sqlalchemy import event

from domain.tags.visibility import TAG_CACHE
from tests import factories as f

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
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(connection, "before_cursor_execute", listener)
    try:
        result = run()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return result, seen


def test_tree_of_500_tags_in_three_levels_costs_constant_statements(gql, session, connection, account,
                                                                     other_account):
    small = build_tree(session, other_account.id, roots=2, per_level=2)      # 14 tags
    large = build_tree(session, account.id, roots=20, per_level=4)           # 20 + 80 + 320 = 420
    large += build_tree(session, account.id, roots=4, per_level=4)           # 84 more: 504 tags
    assert small == 14 and large == 504
    session.commit()
    TAG_CACHE.clear()

    r_small, small_statements = count_statements(connection, lambda: gql(DEEP, token=other_account.admin_token))
    r_large, large_statements = count_statements(connection, lambda: gql(DEEP, token=account.admin_token))
    assert "errors" not in r_large
    nodes = sum(1 + len(t["children"]) + sum(len(c["children"]) for c in t["children"])
                for t in r_large["data"]["tagTree"])
    assert nodes == 504
    assert len(large_statements) == len(small_statements) <= 6, large_statements

    # Served again from the cache: only authentication and the counters run.
    _, cached = count_statements(connection, lambda: gql(DEEP, token=account.admin_token))
    assert len(cached) <= len(large_statements) - 1
