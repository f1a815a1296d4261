"""Time budgets (and the memory to keep within them) for statements whose cost depends on what a
client sends (segment counts, member lists, membership tests).

The budget rides on the session (``session.info[STATEMENT_BUDGET]``, in milliseconds; the runtime
sets it from its settings) and is applied as PostgreSQL's ``statement_timeout`` around the
statements: local to the transaction when there is one, restored afterwards in autocommit
sessions. A statement that runs over is cancelled by the server and answered with
``OverBudget``, a typed error, instead of holding a worker thread.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from domain.errors import ErrorCode, InputError

STATEMENT_BUDGET = "marquee.statement_budget_ms"
DEFAULT_BUDGET_MS = 15_000
QUERY_CANCELED = "57014"

#: Segment statements hash sets of persons (a consent held by 566,000 persons is ~20 MB): below this
#: PostgreSQL falls back to scanning such a set once per person, and a count that takes a second
#: takes minutes. JIT compiling costs more than it saves at these statement sizes. Both are set
#: around the statements only, never lowered, and restored with the time budget.
WORK_MEM = "32MB"
_SET = text(
    "SELECT current_setting('statement_timeout'), current_setting('work_mem'), current_setting('jit'), "
    "set_config('statement_timeout', :value, :local), "
    "set_config('work_mem', CASE WHEN pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(:work_mem) "
    "THEN :work_mem ELSE current_setting('work_mem') END, :local), "
    "set_config('jit', 'off', :local)"
)
_RESTORE = text(
    "SELECT set_config('statement_timeout', :value, :local), set_config('work_mem', :work_mem, :local), "
    "set_config('jit', :jit, :local)"
)


class OverBudget(InputError):
    """A statement ran longer than its time budget and was cancelled."""


def is_cancelled(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == QUERY_CANCELED


@contextmanager
def time_budget(session: Session, what: str, *path: str) -> Iterator[None]:
    """Run the statements inside within the session's budget; ``what`` names the work for the error."""
    budget = int(session.info.get(STATEMENT_BUDGET, DEFAULT_BUDGET_MS))
    connection = session.connection()
    local = not getattr(connection.connection.dbapi_connection, "autocommit", False)
    previous = connection.execute(_SET, {"value": f"{budget}ms", "local": local, "work_mem": WORK_MEM}).one()
    aborted = False  # a failed statement aborts the transaction: nothing more runs in it
    try:
        yield
    except DBAPIError as error:
        aborted = local
        if not is_cancelled(error):
            raise
        raise OverBudget.single(
            ErrorCode.TOO_COSTLY,
            f"{what} took longer than its budget of {budget / 1000:g} s; narrow it down and try again",
            *path,
        ) from None
    finally:
        if not aborted:
            connection.execute(
                _RESTORE, {"value": previous[0], "work_mem": previous[1], "jit": previous[2], "local": local}
            )
