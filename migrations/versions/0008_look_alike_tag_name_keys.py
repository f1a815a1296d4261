"""tag name keys fold look-alikes: NFKC, no invisible characters, other scripts' look-alikes of Latin letters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00

``tag.name_key`` was ``casefold(name)``: a Cyrillic а or a zero-width space made a second "Jazz".
Keys of names with anything outside ASCII are recomputed with ``domain.text.look_alike_key``
(ASCII names keep theirs: the new key of an ASCII name is its casefold). Where two existing tags
would now share a key, the younger keeps its old key and a notice names both; merge them by hand.
"""

from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from domain.text import look_alike_key  # noqa: PLC0415  (the one definition of the key)

    conn = op.get_bind()
    rows = conn.execute(
        text("SELECT account_id, id, name, name_key FROM tag WHERE name ~ '[^\\x01-\\x7f]' ORDER BY account_id, id")
    ).all()
    if not rows:
        return
    taken = {
        (a, k)
        for a, k in conn.execute(text("SELECT account_id, name_key FROM tag WHERE name !~ '[^\\x01-\\x7f]'")).all()
    }
    changes = []
    for account_id, tag_id, name, old_key in rows:
        key = look_alike_key(name)
        if (account_id, key) in taken:
            print(f"NOTICE: tag {tag_id} ({name!r}) of account {account_id} looks like another tag; merge them")
            taken.add((account_id, old_key))
            continue
        taken.add((account_id, key))
        if key != old_key:
            changes.append({"a": account_id, "id": tag_id, "k": key})
    # Keys move out of the way first, so that a swap of two keys cannot trip the unique index.
    conn.execute(
        text("UPDATE tag SET name_key = '~' || id || '~' || name_key WHERE account_id = :a AND id = :id"), changes
    )
    conn.execute(text("UPDATE tag SET name_key = :k WHERE account_id = :a AND id = :id"), changes)


def downgrade() -> None:
    op.execute("UPDATE tag SET name_key = lower(name) WHERE name ~ '[^\\x01-\\x7f]'")
