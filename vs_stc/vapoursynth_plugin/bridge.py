"""The Python end of the ``stc`` native plugin: the handler it forwards core.stc.* calls to.

Importing this module registers nothing by itself; ``register()`` hands ``handle`` to the plugin
of the current core (the plugin calls it when a script uses core.stc.* first). A user's mistake
comes back as ``{"stc_error": message}``, which the plugin raises as it is: an exception raised
here would reach the script with a Python traceback in front of the message."""

from __future__ import annotations

import vapoursynth as vs

from . import api

PUBLIC_FUNCTIONS = {"Restore": api.restore, "Deflicker": api.deflicker}


def handle(stc_function: str | bytes, **arguments) -> vs.VideoNode | dict[str, str]:
    name = stc_function.decode() if isinstance(stc_function, bytes) else stc_function
    try:
        return PUBLIC_FUNCTIONS[name](**arguments)
    except vs.Error as error:
        return {"stc_error": str(error)}


def register(core: vs.Core | None = None) -> None:
    core = core or vs.core
    if not hasattr(core, "stc"):
        raise vs.Error(
            "the stc VapourSynth plugin is not installed: run `stc vapoursynth install` "
            "(or vs_stc.vapoursynth_plugin.plugin.install_plugin()) once"
        )
    core.stc.RegisterHandler(func=handle)
