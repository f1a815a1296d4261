"""Typed mutation errors.

Every mutation returns a union of its success type and its own failure type, which lists
errors that implement ``UserError`` (code, message, path of the offending input field).
``mutation_payload("CreatePerson", CreatePersonSuccess)`` makes ``CreatePersonError``,
``CreatePersonFailure`` and the union ``CreatePersonPayload``.
"""

from __future__ import annotations

from typing import Annotated, Any
from collections.abc import Callable

import strawberry

from domain.errors import ErrorCode as DomainErrorCode
from domain.errors import InputError, Key

ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode", description="Why an input was refused.")


@strawberry.interface(description="A problem with a mutation's input; nothing was written.")
class UserError:
    code: ErrorCode
    message: str
    path: list[str] = strawberry.field(description='Path of the offending input field, e.g. ["input", "email"].')


def mutation_payload(name: str, success: type, *, description: str = "") -> tuple[Any, type, type]:
    error_type = strawberry.type(
        type(f"{name}Error", (UserError,), {"__doc__": None}),
        description=f"A problem that stopped {name[0].lower() + name[1:]}.",
    )
    failure = strawberry.type(
        type(f"{name}Failure", (), {"__annotations__": {"errors": list[error_type]}}),
        description=f"{name} was refused; nothing was written.",
    )
    payload = Annotated[success | failure, strawberry.union(f"{name}Payload")]
    return payload, error_type, failure


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def input_path(path: tuple[str, ...], prefix: tuple[str, ...] = ("input",)) -> list[str]:
    """A domain path (its own field names: ``("rules", "all", "0", "tag", "tag_id")``) as the path
    of the input field a client sent (``["input", "rules", "all", "0", "tag", "tagId"]``); data
    in a path (``domain.errors.Key``) stays as it is. The one place paths change vocabulary."""
    return [*prefix, *(p if isinstance(p, Key) else camel(p) for p in path)]


def failure_from(error: InputError, error_type: type, failure: type) -> Any:
    return failure(errors=[error_type(code=p.code, message=p.message, path=input_path(p.path)) for p in error.problems])


def run_mutation(info, action: Callable[[], Any], error_type: type, failure: type) -> Any:
    """Run one domain call as the request's unit of work: commit on success, roll back and
    answer with typed errors on bad input."""
    from graph.core import audit  # noqa: PLC0415  (audit reads ids, which import this module's peers)

    ctx = info.context
    try:
        result = action()
        audit.record(info, result)
        ctx.commit()
        return result
    except InputError as exc:
        ctx.rollback()
        audit.record_refusal(info, exc)
        return failure_from(exc, error_type, failure)
    except BaseException:
        ctx.rollback()
        raise


__all__ = ["ErrorCode", "UserError", "mutation_payload", "failure_from", "run_mutation", "input_path", "camel"]
