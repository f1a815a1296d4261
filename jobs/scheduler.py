"""The scheduler tick: each worker process fires due schedules every few seconds.

A dramatiq middleware starts one thread per worker process after boot
(``MARQUEE_SCHEDULER_TICK_SECONDS``, default 30) and stops it at shutdown. Each tick is one
transaction over :func:`domain.scheduling.service.fire_due_schedules`, whose row locks make
every due run fire once however many worker processes tick (the module's docstring says how).
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq.middleware import Middleware

from domain.audience.live import prune_journal
from domain.recommendations.scoring import queue_stale_rescores
from domain.scheduling.service import fire_due_schedules

log = logging.getLogger(__name__)


def tick(new_session) -> int:
    """Fire the due schedules once, queue the rescores of accounts whose catalogue tagging
    changed, prune the audience change journal; return how many jobs were created."""
    with new_session() as session, session.begin():
        jobs = fire_due_schedules(session)
        rescores = queue_stale_rescores(session)
        pruned = prune_journal(session)
    if pruned:
        log.info("audience change journal: %s old rows pruned", pruned)
    for job in jobs:
        log.info("schedule %s fired job %s (%s)", job.params.get("schedule"), job.id, job.kind)
    for job in rescores:
        log.info("account %s: tagging changed, rescore job %s queued", job.account_id, job.id)
    return len(jobs) + len(rescores)


def keep_schedules(runtime) -> int:
    """Every installation's schedules as its plugin now contributes them (a plugin upgrade may
    have added or dropped a scheduled reader or exporter)."""
    from domain.integrations.service import keep_all_schedules  # noqa: PLC0415

    with runtime.new_session() as session, session.begin():
        return keep_all_schedules(session, runtime.plugins.plugin_infos())


class SchedulerTicker(Middleware):
    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from marquee.runtime import get_runtime  # noqa: PLC0415 (settings are read in the worker)

        runtime = get_runtime()
        interval = self.interval or runtime.settings.scheduler_tick_seconds
        self._stop.clear()
        try:
            keep_schedules(runtime)
        except Exception:  # the ticks still run what is scheduled
            log.exception("could not bring the plugins' schedules up to date")

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    tick(runtime.new_session)
                except Exception:  # a database hiccup: the next tick tries again
                    log.exception("scheduler tick failed")

        self._thread = threading.Thread(target=run, name="marquee-scheduler", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
