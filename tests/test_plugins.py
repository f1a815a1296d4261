"""The plugin seam: specs, manager build, and delivery of domain events after commit."""

from __future__ import annotations

import inspect
import logging

import pluggy
import pytest

from domain import events
from domain.people import service as people
from plugins import hookimpl, hookspecs
from domain.integrations.registry import PluginInfo
from plugins.manager import PluginFacade, build_plugin_manager

TZ = "Europe/Amsterdam"


class Recorder:
    """A plugin that remembers what it heard, and whether the data was committed at the time."""

    def __init__(self, name="recorder"):
        self.name = name
        self.received: list[events.DomainEvent] = []

    @hookimpl
    def on_person_created(self, event):
        self.received.append(event)

    @hookimpl
    def on_person_updated(self, event):
        self.received.append(event)

    @hookimpl
    def on_person_deleted(self, event):
        self.received.append(event)

    @hookimpl
    def register_plugin_info(self):
        return {"name": self.name, "description": "records events", "scopes": ["people:read"]}


class Exploder:
    @hookimpl
    def on_person_created(self, event):
        raise RuntimeError("boom")


def _spec_functions():
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if getattr(fn, "marquee_spec", None) is not None
    }


@pytest.fixture()
def recorder(runtime):
    plugin = Recorder()
    runtime.plugins.pm.register(plugin, name="test-recorder")
    try:
        yield plugin
    finally:
        runtime.plugins.pm.unregister(plugin)


def test_every_hookspec_is_documented():
    specs = _spec_functions()
    assert {
        "register_plugin_info",
        "on_person_created",
        "on_person_updated",
        "on_person_deleted",
        "on_tags_attached",
        "on_tags_merged",
        "on_form_submitted",
    } <= set(specs)
    for name, fn in specs.items():
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 60, f"hookspec {name} needs a docstring saying when it fires and what it gets"
        if name.startswith("on_"):
            assert list(inspect.signature(fn).parameters) == ["event"], name
        else:
            assert name.startswith("register_"), f"{name}: notifications are on_*, contributions register_*"


def test_every_domain_event_has_a_hook():
    import importlib
    import pkgutil

    import domain

    for module in pkgutil.walk_packages(domain.__path__, "domain."):  # events live beside their services
        importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    specs = _spec_functions()
    for cls in subclasses(events.DomainEvent):
        if not cls.__module__.startswith("domain."):
            continue  # made up by a test
        assert cls in hookspecs.EVENT_HOOKS, f"{cls.__name__} is not mapped to a hook in EVENT_HOOKS"
        assert hookspecs.EVENT_HOOKS[cls] in specs


def test_created_is_delivered_after_commit_not_before(runtime, account, recorder):
    session = runtime.new_session()
    person = people.create_person(session, account.id, people.PersonFields(first_name="Ada"), timezone_name=TZ)
    assert recorder.received == []  # flushed, not committed
    session.commit()
    assert recorder.received == [events.PersonCreated(account_id=account.id, person_id=person.id)]
    session.close()


def test_rollback_delivers_nothing(runtime, account, recorder):
    session = runtime.new_session()
    people.create_person(session, account.id, people.PersonFields(first_name="Ada"), timezone_name=TZ)
    session.rollback()
    session.commit()  # an empty commit afterwards must not flush out the dropped events
    assert recorder.received == []
    session.close()


def test_update_and_delete_deliver_their_events(runtime, account, recorder):
    session = runtime.new_session()
    person = people.create_person(session, account.id, people.PersonFields(first_name="Ada"), timezone_name=TZ)
    session.commit()
    people.update_person(
        session, account.id, person.id, people.PersonChanges(first_name="Grace", city="Utrecht"), timezone_name=TZ
    )
    session.commit()
    people.update_person(session, account.id, person.id, people.PersonChanges(city="Utrecht"), timezone_name=TZ)
    session.commit()  # nothing changed: no event
    people.delete_person(session, account.id, person.id)
    session.commit()
    session.close()
    assert recorder.received == [
        events.PersonCreated(account_id=account.id, person_id=person.id),
        events.PersonUpdated(account_id=account.id, person_id=person.id, changed_fields=("city", "first_name")),
        events.PersonDeleted(account_id=account.id, person_id=person.id),
    ]


def test_raising_plugin_is_logged_and_counted_and_others_still_hear(runtime, account, recorder, caplog):
    exploder = Exploder()
    late = Recorder("late")
    runtime.plugins.pm.register(exploder, name="exploder")
    runtime.plugins.pm.register(late, name="late-recorder")  # called before the exploder (LIFO)
    try:
        session = runtime.new_session()
        person = people.create_person(session, account.id, people.PersonFields(first_name="Ada"), timezone_name=TZ)
        with caplog.at_level(logging.ERROR, logger="plugins.manager"):
            session.commit()  # the mutation still succeeds
        session.close()
    finally:
        runtime.plugins.pm.unregister(exploder)
        runtime.plugins.pm.unregister(late)
    expected = [events.PersonCreated(account_id=account.id, person_id=person.id)]
    assert recorder.received == expected
    assert late.received == expected
    assert runtime.plugins.failures["on_person_created"] == 1
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert "exploder" in failures[0].getMessage() and "on_person_created" in failures[0].getMessage()
    assert failures[0].exc_info and "boom" in str(failures[0].exc_info[1])


def test_misspelt_hookimpl_fails_at_build(monkeypatch):
    import sys
    import types

    module = types.ModuleType("marquee_test_misspelt_plugin")

    @hookimpl
    def on_person_creatd(event):
        pass

    module.on_person_creatd = on_person_creatd
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # As if an installed package's entry point named the module.
    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", lambda pm, group: pm.register(module))
    with pytest.raises(pluggy.PluginValidationError, match="on_person_creatd"):
        build_plugin_manager()


def test_bad_signature_fails_at_register():
    pm = build_plugin_manager(load_entrypoints=False)

    class Wrong:
        @hookimpl
        def on_person_created(self, person):  # the argument is called event
            pass

    with pytest.raises(pluggy.PluginValidationError):
        pm.register(Wrong())


def test_plugin_infos():
    facade = PluginFacade(build_plugin_manager(load_entrypoints=False))
    assert facade.plugin_infos() == []
    facade.pm.register(Recorder("crm-sync"))
    assert facade.plugin_infos() == [PluginInfo(name="crm-sync", description="records events", scopes=("people:read",))]


def test_unmapped_event_is_logged_or_raises_when_strict(caplog):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Unheard(events.DomainEvent):
        pass

    facade = PluginFacade(build_plugin_manager(load_entrypoints=False))
    with caplog.at_level(logging.ERROR, logger="plugins.manager"):
        facade.publish([Unheard(account_id=1)])
    assert facade.failures["unmapped:Unheard"] == 1
    assert "Unheard" in caplog.text
    with pytest.raises(LookupError):
        PluginFacade(facade.pm, strict=True).publish([Unheard(account_id=1)])


def test_hook_tracing(monkeypatch, caplog):
    monkeypatch.setenv("MARQUEE_TRACE_HOOKS", "1")
    facade = PluginFacade(build_plugin_manager(load_entrypoints=False))
    plugin = Recorder()
    facade.pm.register(plugin, name="traced")
    with caplog.at_level(logging.INFO, logger="marquee.plugins.trace"):
        facade.publish([events.PersonDeleted(account_id=1, person_id=2)])
    assert plugin.received == [events.PersonDeleted(account_id=1, person_id=2)]
    assert "on_person_deleted" in caplog.text and "traced" in caplog.text


def test_connector_keys_belong_to_installed_plugins_and_their_granted_scopes(session, account):
    from domain.accounts import service as accounts
    from domain.errors import ErrorCode, InputError
    from tests import factories as f

    f.installed_plugin(session, account.id, "mailchimp", ("people:read", "tags:read"))
    with pytest.raises(InputError) as unknown:
        accounts.issue_token(session, account.id, kind="connector", plugin="nope")
    assert [(p.code, p.path) for p in unknown.value.problems] == [(ErrorCode.NOT_FOUND, ("plugin",))]
    with pytest.raises(InputError) as undeclared:
        accounts.issue_token(session, account.id, kind="connector", plugin="mailchimp", scopes=["tags:write"])
    assert [(p.code, p.path) for p in undeclared.value.problems] == [(ErrorCode.INVALID_CHOICE, ("scopes",))]
    token, secret = accounts.issue_token(
        session, account.id, kind="connector", plugin="mailchimp", scopes=["tags:read"]
    )
    assert token.plugin == "mailchimp" and secret.startswith("mqc_")
