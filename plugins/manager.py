"""Builds the plugin manager and the facade through which the core calls hooks."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterable

import pluggy

from domain.events import DomainEvent
from domain.imports.contract import FeedReader
from domain.integrations.registry import PluginInfo, ScheduledRun, parse_plugin_info, with_scheduled_runs
from domain.mail.audiences import AudiencePusher
from domain.mail.contract import Mailer
from domain.website.contract import EXPORT_JOB, WebsiteExporter
from domain.website.contract import schedule_name as website_schedule
from plugins import hookspecs

log = logging.getLogger(__name__)
trace_log = logging.getLogger("marquee.plugins.trace")

ENTRYPOINT_GROUP = "marquee.plugins"


def _trace_hook_calls(pm: pluggy.PluginManager) -> None:
    """Log every hook call (``MARQUEE_TRACE_HOOKS=1``): arguments, plugins, outcome, duration."""
    started: dict[int, float] = {}

    def before(hook_name, hook_impls, kwargs):
        started[id(kwargs)] = time.perf_counter()
        trace_log.info(
            "hook %s(%s) -> %s",
            hook_name,
            ", ".join(f"{k}={v!r}" for k, v in kwargs.items()),
            [impl.plugin_name for impl in hook_impls],
        )

    def after(outcome, hook_name, hook_impls, kwargs):
        ms = (time.perf_counter() - started.pop(id(kwargs), time.perf_counter())) * 1000
        if outcome.exception is not None:
            trace_log.info("hook %s raised %r after %.1f ms", hook_name, outcome.exception, ms)
        else:
            trace_log.info("hook %s returned %r after %.1f ms", hook_name, outcome.get_result(), ms)

    pm.add_hookcall_monitoring(before, after)


def build_plugin_manager(*, load_entrypoints: bool = True) -> pluggy.PluginManager:
    """The one place a plugin manager is built.

    Adds the hookspecs, loads the ``marquee.plugins`` entry points (the built-in plugins are
    entry points of this package, exactly like third-party ones) and checks that every hookimpl
    matches a spec, so a misspelt hook name fails at start-up instead of never being called.
    ``load_entrypoints=False`` gives a bare manager (tests of the seam itself).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRYPOINT_GROUP)
    pm.check_pending()
    if os.environ.get("MARQUEE_TRACE_HOOKS", "").strip().lower() in {"1", "true", "yes", "on"}:
        _trace_hook_calls(pm)
    return pm


class PluginFacade:
    """How the core talks to plugins: keyword-only hook calls, failures isolated and counted.

    ``failures`` counts exceptions by hook name (an unmapped event counts under
    ``"unmapped:<EventClass>"``); it is exported as a metric.
    """

    def __init__(self, pm: pluggy.PluginManager, *, strict: bool = False):
        self.pm = pm
        self.strict = strict  # raise on events that no hook carries (tests), instead of logging
        self.failures: Counter[str] = Counter()

    # -- notifications -------------------------------------------------------------------------
    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Deliver committed domain events to the plugins, each event to its hook.

        Called after commit (``session.info['event_sink']``). Never raises because a plugin
        failed: the data is already committed, so a plugin error is logged with the plugin's
        name and counted, and delivery carries on with the other plugins and events.
        """
        for event in events:
            hook_name = hookspecs.EVENT_HOOKS.get(type(event))
            if hook_name is None:
                if self.strict:
                    raise LookupError(f"no hook carries {type(event).__name__}; add it to EVENT_HOOKS")
                self.failures[f"unmapped:{type(event).__name__}"] += 1
                log.error("no plugin hook carries %s; event dropped", type(event).__name__)
                continue
            self.notify(hook_name, event=event)

    def notify(self, hook_name: str, **kwargs) -> None:
        """Call a notification hook on every plugin separately, so one failure spares the rest."""
        hook = getattr(self.pm.hook, hook_name)
        impls = [i for i in hook.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
        if len(impls) <= 1:
            callers = [(impls[0].plugin_name if impls else None, hook)]
        else:
            plugins = {i.plugin for i in impls}
            callers = [(i.plugin_name, self.pm.subset_hook_caller(hook_name, plugins - {i.plugin})) for i in impls]
        for plugin_name, caller in callers:
            try:
                caller(**kwargs)
            except Exception:
                self.failures[hook_name] += 1
                log.exception(
                    "plugin %r failed in %s(%s)",
                    plugin_name,
                    hook_name,
                    ", ".join(f"{k}={v!r}" for k, v in kwargs.items()),
                )

    # -- contributions -------------------------------------------------------------------------
    def _by_name(self, hook_name: str, kind: type, action: str) -> dict:
        """Every plugin's ``hook_name`` contributions (lists of ``kind`` with a callable
        ``action``) by their unique ``name``; TypeError names a malformed or repeated one."""
        found: dict = {}
        for batch in getattr(self.pm.hook, hook_name)():
            for item in batch or ():
                if not isinstance(item, kind) or not callable(getattr(item, action, None)):
                    raise TypeError(f"{hook_name} must return {kind.__name__} objects, got {item!r}")
                if item.name in found:
                    raise TypeError(f"two {kind.__name__} contributions are called {item.name!r}")
                found[item.name] = item
        return found

    def feed_readers(self) -> dict[str, FeedReader]:
        """Every plugin's feed readers by name (``register_feed_readers``), checked."""
        return self._by_name("register_feed_readers", FeedReader, "read")

    def website_exporters(self) -> dict[str, WebsiteExporter]:
        """Every plugin's website exporters by name (``register_website_exporters``), checked."""
        return self._by_name("register_website_exporters", WebsiteExporter, "export")

    def mailers(self) -> dict[str, Mailer]:
        """Every plugin's mailers by name (``register_mailers``), checked."""
        return self._by_name("register_mailers", Mailer, "connect")

    def audience_pushers(self) -> dict[str, AudiencePusher]:
        """Every plugin's audience pushers by name (``register_audience_pushers``), checked."""
        return self._by_name("register_audience_pushers", AudiencePusher, "push")

    def scheduled_runs(self) -> list[ScheduledRun]:
        """What the plugins' contributions run on a schedule (readers and exporters with an
        ``every_setting``)."""
        runs = [
            ScheduledRun(
                r.plugin, f"feed:{r.name}", "pull_feed", (("plugin", r.plugin), ("reader", r.name)), r.every_setting
            )
            for r in self.feed_readers().values()
            if r.every_setting is not None
        ]
        runs += [
            ScheduledRun(
                e.plugin, website_schedule(e), EXPORT_JOB, (("exporter", e.name), ("plugin", e.plugin)), e.every_setting
            )
            for e in self.website_exporters().values()
            if e.every_setting is not None
        ]
        return runs

    def plugin_infos(self) -> list[PluginInfo]:
        """``register_plugin_info`` of every plugin, checked (TypeError names a malformed one)."""
        runs = self.scheduled_runs()
        infos = [with_scheduled_runs(parse_plugin_info(raw), runs) for raw in self.pm.hook.register_plugin_info()]
        names = [info.name for info in infos]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise TypeError(f"more than one plugin is called {', '.join(repeated)}")
        return sorted(infos, key=lambda info: info.name)
