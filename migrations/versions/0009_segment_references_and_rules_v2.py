"""segment rules version 2 (fields named as the rule types', strict added-on dates) and segment_reference

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00

Version 2 documents name every field as the typed rule tree does (text and custom field ``operator``,
a text list in ``values``, distance ``latitude`` / ``longitude``), and "added on" after / before are
strict like every other date condition (SPEC 5.6): a stored "after 1 May" (which included 1 May)
becomes "after 30 April", "before 1 June" becomes "before 2 June", so no segment changes members.

``segment_reference`` holds every row a segment names, with composite foreign keys: the database
refuses to delete a tag, form, consent type, venue, custom field, production, event or segment that
a segment still names. It is filled from the stored documents; references that point at nothing any
more (left by an earlier tag delete or merge that missed scopes) are dropped from the documents and
named in a notice. The conversion below is this migration's own, frozen: the product reads
documents only through ``domain.segments.rules``.
"""

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TARGETS = {  # kind: (column, table, target column)
    "tag": ("tag_id", "tag", "id"),
    "segment": ("referenced_segment_id", "segment", "id"),
    "form": ("form_id", "form", "id"),
    "consent_type": ("consent_type_id", "consent_type", "id"),
    "venue": ("venue_id", "venue", "id"),
    "production": ("production_id", "production", "id"),
    "event": ("event_id", "event", "id"),
    "custom_field": ("custom_field_key", "custom_field_definition", "key"),
}
CONDITION_IDS = {
    "tag": ("tag_id", "tag"),
    "consent": ("consent_type_id", "consent_type"),
    "form": ("form_id", "form"),
    "distance": ("venue_id", "venue"),
    "segment": ("segment_id", "segment"),
    "custom_field": ("key", "custom_field"),
}
SCOPE_IDS = {"production_ids": "production", "event_ids": "event", "genre_tag_ids": "tag", "label_tag_ids": "tag"}


def _shift(value, days):
    return (date.fromisoformat(value) + timedelta(days=days)).isoformat() if isinstance(value, str) else value


def to_v2(node):
    if not isinstance(node, dict):
        return node
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        return {key: [to_v2(c) for c in node[key]]}
    if "not" in node:
        return {"not": to_v2(node["not"])}
    out = dict(node)
    kind = out.get("type")
    if kind in ("text", "custom_field") and "op" in out:
        out["operator"] = out.pop("op")
        if kind == "text" and out["operator"] in ("in", "not_in") and "value" in out:
            out["values"] = out.pop("value")
    if kind == "distance":
        for old, new in (("lat", "latitude"), ("lon", "longitude")):
            if old in out:
                out[new] = out.pop(old)
    if kind == "added_on":  # inclusive v1 dates, strict v2 ones
        if out.get("after") is not None:
            out["after"] = _shift(out["after"], -1)
        if out.get("before") is not None:
            out["before"] = _shift(out["before"], 1)
    return out


def to_v1(node):
    if not isinstance(node, dict):
        return node
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        return {key: [to_v1(c) for c in node[key]]}
    if "not" in node:
        return {"not": to_v1(node["not"])}
    out = dict(node)
    kind = out.get("type")
    if kind in ("text", "custom_field") and "operator" in out:
        out["op"] = out.pop("operator")
        if "values" in out:
            out["value"] = out.pop("values")
    if kind == "distance":
        for old, new in (("lat", "latitude"), ("lon", "longitude")):
            if new in out:
                out[old] = out.pop(new)
    if kind == "added_on":
        if out.pop("on", None) is not None:
            out["after"] = out["before"] = node["on"]
        if node.get("after") is not None:
            out["after"] = _shift(node["after"], 1)
        if node.get("before") is not None:
            out["before"] = _shift(node["before"], -1)
    return out


def references(rule, scope):
    found = []

    def walk(node):
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for child in node.get(key) or ():
                walk(child)
        if "not" in node:
            walk(node["not"])
        id_field = CONDITION_IDS.get(node.get("type"))
        if id_field and node.get(id_field[0]) is not None:
            found.append((id_field[1], node[id_field[0]]))

    walk(rule)
    for key, kind in SCOPE_IDS.items():
        found.extend((kind, value) for value in (scope or {}).get(key) or ())
    return found


def upgrade() -> None:
    op.create_table(
        "segment_reference",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=False),
        *[
            sa.Column(column, sa.Text() if kind == "custom_field" else sa.BigInteger(), nullable=True)
            for kind, (column, _, _) in TARGETS.items()
        ],
        sa.CheckConstraint(
            "num_nonnulls(" + ", ".join(c for c, _, _ in TARGETS.values()) + ") = 1",
            name="ck_segment_reference_one_target",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "segment_id"],
            ["segment.account_id", "segment.id"],
            name="fk_segment_reference_owner",
            ondelete="CASCADE",
        ),
        *[
            sa.ForeignKeyConstraint(
                ["account_id", column],
                [f"{table}.account_id", f"{table}.{target}"],
                name=f"fk_segment_reference_{kind}",
            )
            for kind, (column, table, target) in TARGETS.items()
        ],
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("ix_segment_reference_owner", "segment_reference", ["account_id", "segment_id"])
    for kind, (column, _, _) in TARGETS.items():
        op.create_index(
            f"ix_segment_reference_{kind}",
            "segment_reference",
            ["account_id", column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )

    conn = op.get_bind()
    existing = {
        kind: {tuple(r) for r in conn.execute(text(f"SELECT account_id, {target} FROM {table}"))}
        for kind, (_, table, target) in TARGETS.items()
    }
    rows = conn.execute(text("SELECT account_id, id, name, rules, scope FROM segment ORDER BY account_id, id")).all()
    for account_id, segment_id, name, rules, scope in rows:
        rules = to_v2(rules or {"all": []})
        scope = dict(scope) if scope else None
        for key, kind in SCOPE_IDS.items():  # ids of rows that are gone: dropped, named
            if scope and scope.get(key):
                kept = [v for v in scope[key] if (account_id, v) in existing[kind]]
                if kept != scope[key]:
                    print(
                        f"NOTICE: segment {segment_id} ({name!r}): {key} named deleted rows "
                        f"{sorted(set(scope[key]) - set(kept))}; dropped"
                    )
                scope[key] = kept
        conn.execute(
            text(
                "UPDATE segment SET rules = CAST(:r AS jsonb), scope = CAST(:s AS jsonb), rules_version = 2 "
                "WHERE account_id = :a AND id = :id"
            ),
            {"r": _json(rules), "s": _json(scope) if scope else None, "a": account_id, "id": segment_id},
        )
        refs = sorted(
            {(kind, value) for kind, value in references(rules, scope) if (account_id, value) in existing[kind]},
            key=repr,
        )
        if refs:
            conn.execute(
                text(
                    "INSERT INTO segment_reference (account_id, segment_id, tag_id, referenced_segment_id, "
                    "form_id, consent_type_id, venue_id, production_id, event_id, custom_field_key) "
                    "VALUES (:a, :s, :tag, :segment, :form, :consent_type, :venue, :production, :event, "
                    ":custom_field)"
                ),
                [{"a": account_id, "s": segment_id, **{k: None for k in TARGETS}, kind: value} for kind, value in refs],
            )


def _json(value) -> str:
    import json  # noqa: PLC0415

    return json.dumps(value)


def downgrade() -> None:
    conn = op.get_bind()
    for account_id, segment_id, rules in conn.execute(text("SELECT account_id, id, rules FROM segment")).all():
        conn.execute(
            text("UPDATE segment SET rules = CAST(:r AS jsonb), rules_version = 1 WHERE account_id = :a AND id = :id"),
            {"r": _json(to_v1(rules or {"all": []})), "a": account_id, "id": segment_id},
        )
    op.drop_table("segment_reference")
