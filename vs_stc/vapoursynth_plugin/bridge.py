"""The Python end of the ``stc`` native plugin: the handler it forwards core.stc.* calls to.

Importing this module registers nothing by itself; ``register()`` hands ``handle`` to the plugin
of the current core (the plugin calls it when a script uses core.stc.* first)."""

from __future__ import annotations

import vapoursynth as vs

from . import api

PUBLIC_FUNCTIONS = {"Restore": api.restore, "Deflicker": api.deflicker}


def handle(function: str, **arguments) -> vs.VideoNode:
    if isinstance(function, bytes):
        function = function.decode()
    return PUBLIC_FUNCTIONS[function](**arguments)


def register(core: vs.Core | None = None) -> None:
    core = core or vs.core
    if not hasattr(core, "stc"):
        raise vs.Error(
            "the stc VapourSynth plugin is not installed: run `stc vapoursynth install` "
            "(or vs_stc.vsfilter.plugin.install_plugin()) once"
        )
    core.stc.RegisterHandler(func=handle)
