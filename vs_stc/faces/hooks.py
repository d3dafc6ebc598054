"""The detector plugin interface (pluggy, project name ``vs_stc``).

A third party adds a face detector by installing a package that declares an entry point in the
group ``vs_stc.detectors``, pointing at a module (or object) that implements this hook::

    # pyproject.toml of the plugin
    [project.entry-points."vs_stc.detectors"]
    my-detector = "my_package.stc_plugin"

    # my_package/stc_plugin.py
    from vs_stc.faces import DetectorInfo, hookimpl

    @hookimpl
    def stc_face_detectors():
        return [DetectorInfo("my-detector", "what it is", load=..., status=...)]

``load(device)`` returns an object with a ``name`` and ``detect(images) -> list[list[Face]]``
(see types.Detector). vs-stc's own two detectors are registered the same way.
"""

from __future__ import annotations

import pluggy

PROJECT = "vs_stc"
ENTRY_POINT_GROUP = "vs_stc.detectors"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class DetectorSpec:
    """The hooks a detector plugin may implement."""

    @hookspec
    def stc_face_detectors(self) -> list:
        """The detectors this plugin offers, as a list of ``vs_stc.faces.DetectorInfo``. Called
        whenever the registry is read; must not load models or touch the network."""
