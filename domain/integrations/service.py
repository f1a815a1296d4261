"""Installing, configuring, enabling and removing plugins per account (admin work).

The plugins themselves are found by the plugin manager; the domain receives their
:class:`~domain.integrations.registry.PluginInfo` and keeps, per account, an installation row
with the validated configuration and the scopes an admin granted (a subset of those declared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, true, tuple_
from sqlmodel import Session

from domain import clock
from domain.changes import UNSET, Unset
from domain.errors import Collector, ErrorCode, InputError, Key, not_found
from domain.integrations.models import PluginInstallation
from domain.integrations.registry import MAX_CONFIG_FIELDS, ConfigField, ConfigType, PluginInfo
from domain.scheduling.models import Schedule
from domain.scheduling.service import set_schedule
from domain.webhooks.signing import generate_secret, secret_bytes

MAX_TEXT = 2000
MAX_SCOPES = 50


def find_plugin(infos: Iterable[PluginInfo], name: str) -> PluginInfo:
    """The registered plugin called ``name``, or a NOT_FOUND error naming the known ones."""
    infos = list(infos)
    for info in infos:
        if info.name == name:
            return info
    known = ", ".join(sorted(i.name for i in infos)) or "none is registered"
    raise InputError.single(ErrorCode.NOT_FOUND, f"no plugin {name!r} is registered (known: {known})", "plugin")


@dataclass(frozen=True)
class PluginSetup:
    """How a plugin is installed: its settings and the scopes granted to it."""

    config: Mapping[str, Any] = field(default_factory=dict)
    granted_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstallationChanges:
    """``config``: the settings to change (a value None clears one; settings not named keep
    theirs, so a secret need not be sent again); ``granted_scopes``: the new grant, whole.
    ``UNSET`` or None leaves a field as it is."""

    config: Mapping[str, Any] | None | Unset = UNSET
    granted_scopes: tuple[str, ...] | None | Unset = UNSET
    enabled: bool | None | Unset = UNSET


def _check_value(spec: ConfigField, value: Any, problems: Collector) -> Any:
    path = ("config", Key(spec.name))
    if spec.type is ConfigType.BOOLEAN:
        if not isinstance(value, bool):
            problems.add(ErrorCode.INVALID, f"{spec.name} is true or false", *path)
        return value
    if spec.type is ConfigType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(ErrorCode.INVALID, f"{spec.name} is a whole number", *path)
        elif (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
            problems.add(ErrorCode.OUT_OF_RANGE, f"{spec.name} is between {spec.minimum} and {spec.maximum}", *path)
        return value
    if not isinstance(value, str):
        problems.add(ErrorCode.INVALID, f"{spec.name} is text", *path)
        return value
    value = value.strip()
    if spec.type is ConfigType.SIGNING_SECRET:
        try:
            secret_bytes(value)
        except ValueError as wrong:
            problems.add(ErrorCode.INVALID, f"{spec.name}: {wrong}", *path)
        return value
    if len(value) > MAX_TEXT:
        problems.add(ErrorCode.TOO_LONG, f"{spec.name} is at most {MAX_TEXT} characters", *path)
    elif spec.type is ConfigType.CHOICE and value not in spec.choices:
        problems.add(ErrorCode.INVALID_CHOICE, f"{spec.name} is one of {', '.join(spec.choices)}", *path)
    elif spec.type is ConfigType.URL:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.add(ErrorCode.INVALID, f"{spec.name} is an http or https URL", *path)
    return value


def _merged_config(
    info: PluginInfo, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The new (plain, secret) configuration: validated, required settings present."""
    if not isinstance(changes, Mapping):
        raise InputError.single(ErrorCode.INVALID, "config is an object of settings", "config")
    if len(changes) > MAX_CONFIG_FIELDS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"at most {MAX_CONFIG_FIELDS} settings", "config")
    problems = Collector()
    merged = dict(current)
    for name, value in changes.items():
        spec = info.config_field(name)
        if spec is None:
            known = ", ".join(f.name for f in info.config) or "none"
            problems.add(
                ErrorCode.INVALID,
                f"plugin {info.name!r} has no setting {name!r} (settings: {known})",
                "config",
                Key(name),
            )
        elif value is None:
            merged.pop(name, None)
        else:
            merged[name] = _check_value(spec, value, problems)
    for spec in info.config:
        if spec.type is ConfigType.SIGNING_SECRET and not merged.get(spec.name):
            merged[spec.name] = generate_secret()
        if spec.required and merged.get(spec.name) in (None, "") and spec.default is None:
            problems.add(ErrorCode.REQUIRED, f"{spec.name} is required", "config", Key(spec.name))
    problems.raise_if_any()
    secret = info.secret_fields
    return ({k: v for k, v in merged.items() if k not in secret}, {k: v for k, v in merged.items() if k in secret})


def _checked_scopes(info: PluginInfo, scopes: Iterable[str]) -> list[str]:
    scopes = list(scopes)
    if len(scopes) > MAX_SCOPES:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"at most {MAX_SCOPES} scopes", "granted_scopes")
    undeclared = sorted(set(scopes) - set(info.scopes))
    if undeclared:
        raise InputError.single(
            ErrorCode.INVALID_CHOICE,
            f"plugin {info.name!r} does not declare the scope(s) {', '.join(undeclared)}"
            f" (it declares: {', '.join(info.scopes) or 'none'})",
            "granted_scopes",
        )
    return sorted(set(scopes))


def generated_secrets(
    info: PluginInfo, given: Mapping[str, Any] | None, installation: PluginInstallation, *, installing: bool
) -> dict[str, str]:
    """The signing secrets Marquee generated in this install or change (not given by the admin;
    on a change: cleared with None, which rotates them), to show this once."""
    given = given or {}
    return {
        spec.name: installation.secrets[spec.name]
        for spec in info.config
        if spec.type is ConfigType.SIGNING_SECRET
        and spec.name in installation.secrets
        and ((installing and not given.get(spec.name)) or (spec.name in given and given[spec.name] is None))
    }


def effective_config(info: PluginInfo, installation: PluginInstallation) -> dict[str, Any]:
    """Everything the plugin needs at run time: defaults, settings and secrets (never shown)."""
    values = {f.name: f.default for f in info.config if f.default is not None}
    values.update(installation.config)
    values.update(installation.secrets)
    return values


def installations(session: Session, account_id: int) -> list[PluginInstallation]:
    return list(
        session.execute(
            select(PluginInstallation)
            .where(PluginInstallation.account_id == account_id)
            .order_by(PluginInstallation.plugin)
        ).scalars()
    )


def check_enabled(session: Session, account_id: int, plugin: str, problems: Collector, *path: str) -> None:
    """Add a typed problem at ``path`` unless ``plugin`` is installed and enabled for the account."""
    installation = get_installation(session, account_id, plugin)
    if installation is None:
        problems.add(ErrorCode.NOT_FOUND, f"plugin {plugin!r} is not installed for this account", *path)
    elif not installation.enabled:
        problems.add(ErrorCode.CONFLICT, f"plugin {plugin!r} is disabled for this account", *path)


def enabled_config(
    session: Session, account_id: int, infos: Iterable[PluginInfo], plugin: str
) -> dict[str, Any] | None:
    """``plugin``'s settings with its secrets for the account, or None unless installed and enabled."""
    installation = get_installation(session, account_id, plugin)
    if installation is None or not installation.enabled:
        return None
    return effective_config(find_plugin(infos, plugin), installation)


def get_installation(
    session: Session, account_id: int, plugin: str, *, lock: bool = False
) -> PluginInstallation | None:
    statement = select(PluginInstallation).where(
        PluginInstallation.account_id == account_id, PluginInstallation.plugin == plugin
    )
    return session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()


def _installed(session: Session, account_id: int, plugin: str, *, lock: bool = False) -> PluginInstallation:
    found = get_installation(session, account_id, plugin, lock=lock)
    if found is None:
        raise not_found(f"plugin {plugin!r} installed for this account", "plugin")
    return found


def install_plugin(
    session: Session,
    account_id: int,
    info: PluginInfo,
    setup: PluginSetup = PluginSetup(),
    *,
    installed_by: int | None = None,
) -> PluginInstallation:
    """Install a registered plugin for the account, enabled, with its configuration checked."""
    if get_installation(session, account_id, info.name) is not None:
        raise InputError.single(ErrorCode.CONFLICT, f"plugin {info.name!r} is already installed", "plugin")
    plain, secret = _merged_config(info, {}, setup.config)
    installation = PluginInstallation(
        account_id=account_id,
        plugin=info.name,
        config=plain,
        secrets=secret,
        granted_scopes=_checked_scopes(info, setup.granted_scopes),
        installed_by=installed_by,
    )
    session.add(installation)
    session.flush()
    _keep_schedules(session, info, installation)
    return installation


def _keep_schedules(session: Session, info: PluginInfo, installation: PluginInstallation) -> None:
    """Keep the plugin's schedules (feed readers, website exporters) in step with its settings:
    each runs every ``every_setting`` minutes while the installation is enabled, else not."""
    config = effective_config(info, installation)
    for run in info.scheduled:
        set_schedule(
            session,
            installation.account_id,
            run.name,
            job_kind=run.job_kind,
            params=dict(run.params),
            every_minutes=config.get(run.every_setting) if installation.enabled else None,
            plugin=info.name,
        )


def keep_all_schedules(session: Session, infos: Iterable[PluginInfo]) -> int:
    """Bring every installation's schedules in step with its plugin's current contributions (at
    worker start: a plugin upgrade may add or drop a scheduled reader or exporter). Operator
    work across accounts; returns the installations looked at."""
    infos = list(infos)
    scheduled = {info.name: info for info in infos if info.scheduled}
    # What no registered plugin contributes any more goes (a removed package, a dropped reader).
    wanted = sorted((info.name, run.name) for info in infos for run in info.scheduled)
    session.execute(
        delete(Schedule)
        .where(Schedule.plugin.is_not(None))
        .where(tuple_(Schedule.plugin, Schedule.name).not_in(wanted) if wanted else true())
    )
    if not scheduled:
        return 0
    rows = session.execute(select(PluginInstallation).where(PluginInstallation.plugin.in_(sorted(scheduled)))).scalars()
    seen = 0
    for installation in rows:
        _keep_schedules(session, scheduled[installation.plugin], installation)
        seen += 1
    return seen


def change_installation(
    session: Session, account_id: int, info: PluginInfo, changes: InstallationChanges
) -> PluginInstallation:
    installation = _installed(session, account_id, info.name, lock=True)
    if changes.config is not None and not isinstance(changes.config, Unset):
        current = {**installation.config, **installation.secrets}
        installation.config, installation.secrets = _merged_config(info, current, changes.config)
    if changes.granted_scopes is not None and not isinstance(changes.granted_scopes, Unset):
        installation.granted_scopes = _checked_scopes(info, changes.granted_scopes)
    if changes.enabled is not None and not isinstance(changes.enabled, Unset):
        installation.enabled = changes.enabled
    installation.updated_at = clock.now()
    session.add(installation)
    session.flush()
    _keep_schedules(session, info, installation)
    return installation


def uninstall_plugin(session: Session, account_id: int, plugin: str) -> None:
    """Remove the installation; its connector keys go with it (foreign key, on delete cascade)."""
    _installed(session, account_id, plugin)
    session.execute(
        delete(PluginInstallation).where(
            PluginInstallation.account_id == account_id, PluginInstallation.plugin == plugin
        )
    )


def granted_scopes(session: Session, account_id: int, plugin: str) -> list[str]:
    """The scopes an enabled installation grants (for issuing connector keys)."""
    installation = _installed(session, account_id, plugin)
    if not installation.enabled:
        raise InputError.single(ErrorCode.CONFLICT, f"plugin {plugin!r} is disabled for this account", "plugin")
    return list(installation.granted_scopes)
