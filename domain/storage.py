"""Files kept in the storage folder (``MARQUEE_STORAGE_DIR``) for a job to read: uploads."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import event as sa_event
from sqlmodel import Session

from domain.errors import ErrorCode, InputError

CHUNK = 1 << 20


@contextmanager
def kept_upload(
    session: Session, stream: IO[bytes], storage_dir: Path, folder: str, suffix: str, *, max_bytes: int, what: str
) -> Iterator[tuple[Path, int]]:
    """Copy an upload into ``storage_dir/folder`` in chunks (never whole in memory), refused beyond
    ``max_bytes`` or when empty; yields (path, size) for the caller to record the job that reads it.
    The file goes again when the block raises, or when the session's transaction does not commit
    (nobody would ever read it)."""
    directory = storage_dir / folder
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{secrets.token_hex(12)}.{suffix}"
    size = 0
    try:
        with target.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise InputError.single(
                        ErrorCode.OUT_OF_RANGE, f"a {what} upload is at most {max_bytes:,} bytes", "file"
                    )
                out.write(chunk)
        if size == 0:
            raise InputError.single(ErrorCode.REQUIRED, f"the uploaded {what} is empty", "file")
        yield target, size
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    committed = False

    def on_commit(_session) -> None:
        nonlocal committed
        committed = True

    def on_rollback(_session) -> None:
        if not committed:
            target.unlink(missing_ok=True)

    sa_event.listen(session, "after_commit", on_commit, once=True)
    sa_event.listen(session, "after_rollback", on_rollback, once=True)
