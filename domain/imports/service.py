"""Feed imports for an account: options from the plugin's installation, the run, its result."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from domain.errors import ErrorCode, InputError
from domain.imports.importer import ImportOptions
from domain.integrations import service as integrations
from domain.integrations.registry import PluginInfo


def feed_options(session: Session, account_id: int, infos: Iterable[PluginInfo], plugin: str) -> ImportOptions:
    """How ``plugin``'s feed imports for this account: it must be installed and enabled."""
    info = integrations.find_plugin(infos, plugin)
    installation = integrations.get_installation(session, account_id, plugin)
    if installation is None:
        raise InputError.single(
            ErrorCode.NOT_FOUND, f"plugin {plugin!r} is not installed for this account: install it first", "plugin"
        )
    if not installation.enabled:
        raise InputError.single(ErrorCode.CONFLICT, f"plugin {plugin!r} is disabled for this account", "plugin")
    config = integrations.effective_config(info, installation)
    tag_names = tuple(n.strip() for n in str(config.get("tag_persons") or "").split(",") if n.strip())
    return ImportOptions(source=str(config.get("source") or plugin), tag_persons=tag_names)
