"""Every mutation GraphQL runs, as an audit entry (``domain.audit``): who (the viewer), what (the
field's name), on which ids (global ids among its arguments, rows in its answer), from which
request. The input's values are never kept, only the names of the fields given."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from domain.audit import service as audit
from domain.audit.models import AuditOutcome
from domain.errors import InputError
from graph.core.ids import from_global_id
from marquee.logs import REQUEST_ID

log = logging.getLogger(__name__)
MAX_WALK = 500  # argument values looked at (a list input holds at most a few hundred ids)


def _arguments(info) -> dict[str, Any]:
    fields = info.selected_fields
    return dict(fields[0].arguments) if fields else {}


def _given(info) -> list[str]:
    """The names of the input fields the client sent (defaults filled in by the schema are not)."""
    raw = info._raw_info
    names: list[str] = []
    for argument in raw.field_nodes[0].arguments:
        value = argument.value
        if argument.name.value != "input":
            names.append(argument.name.value)
        elif value.kind == "variable":
            sent = getattr(info.context, "raw_variables", None) or {}
            given = sent.get(value.name.value)
            names.extend(given if isinstance(given, dict) else [])
        elif value.kind == "object_value":
            names.extend(field.name.value for field in value.fields)
    return names


def _named_ids(value: Any, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    budget[0] -= 1
    if isinstance(value, str):
        decoded = from_global_id(value)
        if decoded is not None:
            out.append(f"{decoded[0]}:{decoded[1]}")
    elif isinstance(value, dict):
        for item in value.values():
            _named_ids(item, out, budget)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _named_ids(item, out, budget)


def _answer_rows(result: Any) -> list[Any]:
    """The table rows a success object carries (one level down, lists included)."""
    values = []
    if dataclasses.is_dataclass(result):
        values = [getattr(result, f.name) for f in dataclasses.fields(result)]
    elif hasattr(result, "__dict__"):
        values = list(vars(result).values())
    rows: list[Any] = []
    for value in values:
        rows.extend(value if isinstance(value, (list, tuple)) else [value])
    return rows


def entry(info, result: Any = None, error: InputError | None = None) -> audit.Entry | None:
    viewer = info.context.viewer
    staff_user_id = getattr(viewer, "staff_user_id", None)
    account_id = getattr(viewer, "account_id", None)
    if viewer is None:  # logging in: the user who did (a refusal names nobody: rate limits cover it)
        user = getattr(result, "staff_user", None)
        if user is None:
            return None
        account_id, staff_user_id = user.account_id, user.id
    arguments = _arguments(info)
    targets: list[str] = []
    _named_ids(arguments, targets, [MAX_WALK])
    if error is None:
        targets.extend(audit.targets_of(_answer_rows(result)))
    return audit.Entry(
        account_id=account_id,  # type: ignore[arg-type]
        actor=viewer.kind.value if viewer is not None else "staff",
        action=info.field_name,
        outcome=AuditOutcome.REFUSED if error is not None else AuditOutcome.DONE,
        staff_user_id=staff_user_id,
        token_id=getattr(viewer, "token_id", None),
        plugin=getattr(viewer, "plugin", None),
        targets=tuple(targets),
        fields=tuple(_given(info)),
        errors=tuple(p.code.name for p in error.problems) if error is not None else (),
        request_id=REQUEST_ID.get(),
    )


def record(info, result: Any = None) -> None:
    """In the mutation's transaction: the entry commits with its effect, or neither does."""
    made = entry(info, result)
    if made is not None:
        audit.record(info.context.session, made)


def record_refusal(info, error: InputError) -> None:
    """After the rollback of a refused mutation, in a transaction of its own."""
    made = entry(info, error=error)
    if made is None:
        return
    try:
        audit.record(info.context.session, made)
        info.context.commit()
    except Exception:  # the refusal is the answer; a trail that cannot be written is logged
        log.exception("could not record the refused %s in the audit trail", info.field_name)
        info.context.rollback()
