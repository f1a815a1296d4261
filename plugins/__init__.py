"""Marquee's plugin seam (pluggy).

Plugin authors import ``hookimpl`` from here and implement hooks named in
:mod:`plugins.hookspecs`; a package exposes its plugin through the ``marquee.plugins``
entry-point group. The core calls hooks only through :class:`plugins.manager.PluginFacade`.
"""

from plugins.hookspecs import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
