"""Plugins: what is registered, what the account installed, and the admin's install / configure."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.errors import ErrorCode, InputError
from domain.imports import service as imports
from domain.integrations import registry
from domain.integrations import service as integrations
from domain.integrations.models import PluginInstallation as InstallationRow
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import to_global_id
from graph.core.inputs import to_domain
from graph.core.loaders import BatchLoader
from graph.core.node import Node
from graph.core.permissions import IsAdmin, IsStaff
from graph.jobs.schema import Job

ConfigType = strawberry.enum(registry.ConfigType, name="PluginSettingType")


@strawberry.type(description="A scope a plugin may be granted.")
class PluginScope:
    name: str
    description: str


@strawberry.type(description="One setting of a plugin's configuration.")
class PluginSetting:
    name: str
    type: ConfigType
    description: str
    required: bool
    secret: bool = strawberry.field(description="Stored, never shown: see `PluginInstallation.secretsSet`.")
    default: JSON | None
    choices: list[str]
    minimum: int | None
    maximum: int | None


@strawberry.type(description="A plugin as installed for the account.")
class PluginInstallation(Node):
    plugin: str
    enabled: bool
    granted_scopes: list[str] = strawberry.field(description="What its connector keys may do (at most these).")
    config: JSON = strawberry.field(description="The settings that are not secret, as stored.")
    installed_at: datetime
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("PluginInstallation", self.id))

    @strawberry.field(description="Its feed runs (uploads and pulls), newest first; at most 50 (default 10).")
    def runs(self, info: Info, first: int = 10) -> list[Job]:
        if not 0 <= first <= imports.MAX_RUNS:
            raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 0 and {imports.MAX_RUNS}", "first")
        return _runs(info.context, self.plugin, first)

    @strawberry.field(description="The newest feed run, if any.")
    def last_run(self, info: Info) -> Job | None:
        newest = _runs(info.context, self.plugin, 1)
        return newest[0] if newest else None

    @strawberry.field(description="The secret settings that hold a value (their values are never shown).")
    def secrets_set(self) -> list[str]:
        return sorted(self.secrets)

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (InstallationRow, cls))


def _runs(ctx, plugin: str, first: int) -> list:
    """Feed runs of the listed plugins, one statement per page size for all of them."""
    runs = ctx.loaders.get(
        f"FeedRunsByPluginLoader:{first}",
        lambda c: BatchLoader(lambda names: imports.feed_runs(c.session, c.viewer.account_id, names, first=first)),
    )
    runs.want(ctx.installed_plugins)
    return runs.load(plugin) or []


@strawberry.type(description="A plugin registered with this server (built in or installed as a package).")
class Plugin:
    name: str
    description: str
    version: str
    declared_scopes: list[PluginScope]
    settings: list[PluginSetting]
    installation: PluginInstallation | None = strawberry.field(description="Null while not installed.")


def _plugin(info: registry.PluginInfo, installation: InstallationRow | None) -> Plugin:
    return Plugin(
        name=info.name,
        description=info.description,
        version=info.version,
        declared_scopes=[PluginScope(name=s, description=registry.SCOPES[s]) for s in info.scopes],
        settings=[
            PluginSetting(
                name=f.name,
                type=f.type,
                description=f.description,
                required=f.required,
                secret=f.secret,
                default=None if f.secret else f.default,
                choices=list(f.choices),
                minimum=f.minimum,
                maximum=f.maximum,
            )
            for f in info.config
        ],
        installation=installation,  # type: ignore[arg-type]  # the row serves as the type
    )


def _plugin_info(info: Info, name: str) -> registry.PluginInfo:
    return integrations.find_plugin(info.context.runtime.plugins.plugin_infos(), name)


@strawberry.type
class PluginQuery:
    @strawberry.field(
        permission_classes=[IsStaff],
        description="Every registered plugin (a few), with its installation for this account.",
    )
    def plugins(self, info: Info, installed: bool | None = None) -> list[Plugin]:
        ctx = info.context
        installed_rows = {i.plugin: i for i in integrations.installations(ctx.session, ctx.viewer.account_id)}
        ctx.installed_plugins = sorted(installed_rows)  # for the per-plugin run loaders
        plugins = [_plugin(p, installed_rows.get(p.name)) for p in ctx.runtime.plugins.plugin_infos()]
        if installed is not None:
            plugins = [p for p in plugins if (p.installation is not None) is installed]
        return plugins


@strawberry.input
class InstallPluginInput:
    plugin: str
    config: JSON = strawberry.field(default_factory=dict, description="Settings by name (see `Plugin.settings`).")
    granted_scopes: list[str] = strawberry.field(
        default_factory=list, description="Some of the plugin's declared scopes; at most 50."
    )


@strawberry.input(description="Only what is given changes; null leaves a field as it is.")
class UpdatePluginInput:
    plugin: str
    config: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Settings to change by name; a null value clears one, settings left out keep theirs.",
    )
    granted_scopes: list[str] | None = strawberry.field(default=strawberry.UNSET, description="The whole new grant.")
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="A disabled plugin runs nothing and its connector keys are refused."
    )


@strawberry.input
class UninstallPluginInput:
    plugin: str


@strawberry.type(description="A secret Marquee generated (a webhook signing secret): shown this once, never again.")
class GeneratedSecret:
    setting: str
    value: str


@strawberry.type
class PluginSuccess:
    plugin: Plugin
    generated_secrets: list[GeneratedSecret] = strawberry.field(
        default_factory=list,
        description="Secrets generated by this install or change (a signing setting left out on install, or "
        "cleared with null to rotate it). Copy them now: no query returns them.",
    )


def _generated(plugin, given, installation, *, installing: bool) -> list[GeneratedSecret]:
    secrets = integrations.generated_secrets(plugin, given, installation, installing=installing)
    return [GeneratedSecret(setting=name, value=value) for name, value in secrets.items()]


InstallPluginPayload, InstallPluginError, InstallPluginFailure = mutation_payload("InstallPlugin", PluginSuccess)
UpdatePluginPayload, UpdatePluginError, UpdatePluginFailure = mutation_payload("UpdatePlugin", PluginSuccess)
UninstallPluginPayload, UninstallPluginError, UninstallPluginFailure = mutation_payload(
    "UninstallPlugin", PluginSuccess
)


@strawberry.type
class PluginMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Install a registered plugin for the account.")
    def install_plugin(self, info: Info, input: InstallPluginInput) -> InstallPluginPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            plugin = _plugin_info(info, input.plugin)
            installation = integrations.install_plugin(
                ctx.session,
                viewer.account_id,
                plugin,
                to_domain(input, integrations.PluginSetup, skip=("plugin",)),
                installed_by=viewer.staff_user_id,
            )
            generated = _generated(plugin, input.config, installation, installing=True)
            return PluginSuccess(plugin=_plugin(plugin, installation), generated_secrets=generated)

        return run_mutation(info, action, InstallPluginError, InstallPluginFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Configure, grant scopes to, enable or disable a plugin."
    )
    def update_plugin(self, info: Info, input: UpdatePluginInput) -> UpdatePluginPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            plugin = _plugin_info(info, input.plugin)
            changes = to_domain(input, integrations.InstallationChanges, skip=("plugin",))
            installation = integrations.change_installation(ctx.session, viewer.account_id, plugin, changes)
            given = input.config if isinstance(input.config, dict) else None
            generated = _generated(plugin, given, installation, installing=False)
            return PluginSuccess(plugin=_plugin(plugin, installation), generated_secrets=generated)

        return run_mutation(info, action, UpdatePluginError, UpdatePluginFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Remove a plugin from the account; its connector keys go with it."
    )
    def uninstall_plugin(self, info: Info, input: UninstallPluginInput) -> UninstallPluginPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            plugin = _plugin_info(info, input.plugin)
            integrations.uninstall_plugin(ctx.session, viewer.account_id, plugin.name)
            return PluginSuccess(plugin=_plugin(plugin, None))

        return run_mutation(info, action, UninstallPluginError, UninstallPluginFailure)
