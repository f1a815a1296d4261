"""The SQL statements a piece of code sends on the test's connection (the app's sessions are bound
to it), for tests that count them or check that nothing was written."""

from __future__ import annotations

from sqlalchemy import event

BOOKKEEPING = "UPDATE api_token SET last_used_at"  # domain.accounts.staff.note_token_use


class Statements:
    def __init__(self, connection):
        self.connection = connection
        self.seen: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.connection, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.connection, "before_cursor_execute", self._on_execute)

    @property
    def work(self) -> list[str]:
        """What the request did for its answer: ``seen`` without the note of the token's use
        (at most once a minute per token, in a savepoint of its own under the test harness)."""
        return without_bookkeeping(self.seen)


def without_bookkeeping(statements: list[str]) -> list[str]:
    dropped: set[int] = set()
    for i, statement in enumerate(statements):
        if statement.startswith(BOOKKEEPING):
            dropped.add(i)
            if i > 0 and statements[i - 1].startswith("SAVEPOINT"):
                dropped.add(i - 1)
            if i + 1 < len(statements) and statements[i + 1].startswith("RELEASE SAVEPOINT"):
                dropped.add(i + 1)
    return [s for i, s in enumerate(statements) if i not in dropped]


def statements_of(connection, run) -> tuple[object, list[str]]:
    """``run()``'s result and the statements it sent for its answer (bookkeeping left out)."""
    with Statements(connection) as statements:
        result = run()
    return result, statements.work
