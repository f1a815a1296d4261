"""What a plugin says about itself: name, scopes it may be granted, and its configuration schema.

Plugins describe themselves through the ``register_plugin_info`` hook with a plain dict (so a
third-party plugin needs nothing from Marquee but the hook marker); :func:`parse_plugin_info`
turns that dict into a :class:`PluginInfo` and refuses a malformed one when the plugin manager
is built, so a broken plugin fails at start-up rather than on the admin screen.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

#: Every scope a plugin may declare, with what it lets a connector key do.
SCOPES: dict[str, str] = {
    "people:read": "read persons with their identities, consents, tags, orders and subscriptions",
    "people:write": "create and update persons, their identities and consents",
    "tags:read": "read the public fields of active tags",
    "tags:read:internal": "read tags as staff see them, internal notes included",
    "tags:write": "attach and detach tags (source integration)",
    "catalog:read": "read venues, productions, events and their tags",
    "catalog:write": "create and update venues, productions, events, orders and tickets",
    "imports:write": "run feed imports for the account",
    "interactions:write": "record web page visits of persons (module recommendations)",
}

MAX_EVERY_MINUTES = 525_600  # a schedule runs at least once a year

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_CONFIG_FIELDS = 50


class ConfigType(str, enum.Enum):
    TEXT = "text"
    URL = "url"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    # A Standard Webhooks secret (whsec_…, domain.webhooks.signing): always secret; generated when
    # not given, and shown once in the answer to the install or change that generated it.
    SIGNING_SECRET = "signing_secret"


@dataclass(frozen=True)
class ConfigField:
    """One setting of a plugin. A ``secret`` one (API key, password) is stored but never shown."""

    name: str
    type: ConfigType = ConfigType.TEXT
    description: str = ""
    required: bool = False
    secret: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class ScheduledRun:
    """A job a plugin's contribution runs every ``config[every_setting]`` minutes per account."""

    plugin: str
    name: str  # the schedule's name, unique per account
    job_kind: str
    params: tuple[tuple[str, str], ...]
    every_setting: str


@dataclass(frozen=True)
class PluginInfo:
    name: str
    description: str = ""
    version: str = ""
    scopes: tuple[str, ...] = ()
    config: tuple[ConfigField, ...] = field(default_factory=tuple)
    # What runs on a schedule for an account with the plugin installed (its feed readers and
    # website exporters with an ``every_setting``), attached by the plugin manager.
    scheduled: tuple[ScheduledRun, ...] = ()

    def config_field(self, name: str) -> ConfigField | None:
        return next((f for f in self.config if f.name == name), None)

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.config if f.secret)


def _config_field(plugin: str, raw: Any) -> ConfigField:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not NAME_PATTERN.match(raw["name"]):
        raise TypeError(f"plugin {plugin!r}: each config field is a dict with a lower-case name, got {raw!r}")
    try:
        kind = ConfigType(raw.get("type", "text"))
    except ValueError:
        raise TypeError(
            f"plugin {plugin!r}: config field {raw['name']!r} has an unknown type {raw.get('type')!r}"
        ) from None
    choices = tuple(raw.get("choices") or ())
    if kind is ConfigType.CHOICE and not choices:
        raise TypeError(f"plugin {plugin!r}: choice field {raw['name']!r} lists no choices")
    return ConfigField(
        name=raw["name"],
        type=kind,
        description=str(raw.get("description") or ""),
        required=bool(raw.get("required", False)),
        secret=bool(raw.get("secret", False)) or kind is ConfigType.SIGNING_SECRET,
        default=raw.get("default"),
        choices=tuple(str(c) for c in choices),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
    )


def with_scheduled_runs(info: PluginInfo, runs: Iterable[ScheduledRun]) -> PluginInfo:
    """``info`` holding the plugin's own scheduled runs; TypeError when a run's setting is not
    one of the plugin's integer settings."""
    own = tuple(r for r in runs if r.plugin == info.name)
    for run in own:
        spec = info.config_field(run.every_setting)
        if spec is None or spec.type is not ConfigType.INTEGER:
            raise TypeError(
                f"{run.name}: every_setting {run.every_setting!r} is not an integer setting of plugin {info.name!r}"
            )
        if spec.minimum is None or spec.maximum is None or spec.minimum < 0 or spec.maximum > MAX_EVERY_MINUTES:
            raise TypeError(f"{run.name}: setting {spec.name!r} needs bounds within 0 to {MAX_EVERY_MINUTES} minutes")
    return replace(info, scheduled=own)


def parse_plugin_info(raw: Any) -> PluginInfo:
    """A ``register_plugin_info`` dict as a :class:`PluginInfo`; TypeError names what is wrong."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise TypeError(f"register_plugin_info must return a dict with a name, got {raw!r}")
    name = raw["name"]
    if not NAME_PATTERN.match(name):
        raise TypeError(f"plugin name {name!r}: lower-case letters, digits, - and _, at most 40")
    scopes = raw.get("scopes") or []
    if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
        raise TypeError(f"plugin {name!r}: scopes must be a list of strings")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise TypeError(f"plugin {name!r} declares unknown scope(s) {', '.join(unknown)} (known: {', '.join(SCOPES)})")
    config_raw = raw.get("config") or []
    if not isinstance(config_raw, list | tuple) or len(config_raw) > MAX_CONFIG_FIELDS:
        raise TypeError(f"plugin {name!r}: config must be a list of at most {MAX_CONFIG_FIELDS} fields")
    config = tuple(_config_field(name, f) for f in config_raw)
    if len({f.name for f in config}) != len(config):
        raise TypeError(f"plugin {name!r}: config field names repeat")
    return PluginInfo(
        name=name,
        description=str(raw.get("description") or ""),
        version=str(raw.get("version") or ""),
        scopes=tuple(dict.fromkeys(scopes)),
        config=config,
    )
