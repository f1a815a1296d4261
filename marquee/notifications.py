"""PostgreSQL LISTEN/NOTIFY for waiters in an API process: one listening connection per channel,
shared by every waiter, open only while somebody waits.

A trigger sends ``pg_notify(channel, key)`` when a row changes; PostgreSQL delivers it when the
writing transaction commits (never for a rollback). Waiters register a key and are woken by a
notification for it. A waiter must still re-read the row and should wait with a timeout: while
the listening connection is down (``listening`` is False) nothing wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)


class Waiter:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Until woken or ``timeout`` seconds; whether it was woken. A wake that came while the
        waiter was busy is not lost: the next wait returns at once."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
            woken = True
        except TimeoutError:
            woken = False
        self._event.clear()
        return woken


class Listener:
    """LISTEN on one channel for the waiters of one event loop (make one per loop)."""

    def __init__(self, url: URL, channel: str, *, retry_seconds: float = 2.0) -> None:
        if not channel.isidentifier():
            raise ValueError(f"not a channel name: {channel!r}")
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.retry_seconds = retry_seconds
        self.listening = False
        self._waiters: dict[str, set[Waiter]] = {}
        self._task: asyncio.Task | None = None

    @contextlib.asynccontextmanager
    async def waiter(self, key: str) -> AsyncIterator[Waiter]:
        """A waiter woken by notifications whose payload is ``key``; the connection opens with
        the first waiter and closes after the last."""
        waiter = Waiter()
        self._waiters.setdefault(key, set()).add(waiter)
        self._start()
        try:
            yield waiter
        finally:
            waiters = self._waiters.get(key, set())
            waiters.discard(waiter)
            if not waiters:
                self._waiters.pop(key, None)
            if not self._waiters:
                await self._stop()

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.listening = False
        self._task = asyncio.get_running_loop().create_task(self._listen(), name=f"listen {self.channel}")

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self.listening = False
        if task is not None and not task.done():
            task.cancel()
            # Let it close its connection; asyncio.wait neither raises the task's cancellation
            # nor swallows one of the waiting task's own.
            await asyncio.wait([task], timeout=5)

    def _wake(self, key: str | None = None) -> None:
        groups = self._waiters.values() if key is None else [self._waiters.get(key, ())]
        for waiters in groups:
            for waiter in list(waiters):
                waiter.wake()

    async def _listen(self) -> None:
        import psycopg  # noqa: PLC0415

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    self.listening = True
                    self._wake()  # whatever changed before we listened: look again
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001  (waiters fall back to polling; retry)
                log.warning("LISTEN %s failed (%s); waiters poll until it is back", self.channel, error)
            finally:
                self.listening = False
            self._wake()
            await asyncio.sleep(self.retry_seconds)
