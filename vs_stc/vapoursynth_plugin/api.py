"""The Python functions behind core.stc.*: ``restore(clip, ...)`` and ``deflicker(clip, ...)``.

Their arguments are ``vs_stc.options.OPTIONS``: this module declares none of them, it hands them
to ``options.resolve`` and turns every error into a ``vs.Error`` that starts with the function's
name and names the argument."""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

import vapoursynth as vs

from ..engine.device import release
from ..engine.memory import check_window_fits
from ..errors import OptionError, STCError
from ..engine.onnx_runtime import Network
from ..loading import load_network
from ..options import NetworkChoice, options_for, resolve
from . import faces_node, node
from .clips import check_clip, is_half_float


@lru_cache(maxsize=4)
def _network(choice: NetworkChoice) -> Network:
    """Loaded networks, shared by every filter of a script that asks for the same one."""
    return load_network(choice)


def _release_with_the_core() -> None:
    """The plugin's runtime: the engine's threads end and PyTorch's thread count goes back when the
    core running the script is freed (vspipe's end, an editor reloading the script). Registered once,
    however many filters a script builds."""
    try:
        vs.unregister_on_destroy(release)
    except ValueError:  # not registered yet
        pass
    vs.register_on_destroy(release)


def _filter(func_name: str, task: str, clip: vs.VideoNode, arguments: dict[str, Any]) -> vs.VideoNode:
    clip = check_clip(func_name, clip)
    _release_with_the_core()
    try:
        options = resolve(task, half_float_input=is_half_float(clip), **arguments)
        network = _network(options.network)
        check_window_fits(network, options.window)
        if options.faces == "auto":
            return faces_node.build(clip, network, options)
        return node.build(clip, network, options)
    except OptionError as error:
        raise vs.Error(f"{func_name}: {error.spelled(lambda name: repr(name))}") from None
    except STCError as error:
        raise vs.Error(f"{func_name}: {error}") from None


def restore(clip: vs.VideoNode, **options: Any) -> vs.VideoNode:
    """Blind face video restoration of aligned square face crops (any size; run at the model's
    resolution and scaled back). Output: the input's format, length, rate and props, plus STC*
    props."""
    return _filter("Restore", "restore", clip, options)


def deflicker(clip: vs.VideoNode, **options: Any) -> vs.VideoNode:
    """Removes flicker: mode 'brightness' (the deflicker checkpoint) or 'pixel' (deflicker-pixel);
    ``model`` overrides the checkpoint. Otherwise as :func:`restore`."""
    return _filter("Deflicker", "deflicker", clip, options)


def _document(function, task: str) -> None:
    """Gives ``function`` the signature and argument docs of its task's options."""
    parameters = [inspect.Parameter("clip", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=vs.VideoNode)]
    parameters += [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=f"{o.kind.__name__} | None")
                   for o in options_for(task)]
    function.__signature__ = inspect.Signature(parameters, return_annotation=vs.VideoNode)
    function.__doc__ += "\n\n" + "\n".join(f"{o.name}: {o.help}." for o in options_for(task))


_document(restore, "restore")
_document(deflicker, "deflicker")
