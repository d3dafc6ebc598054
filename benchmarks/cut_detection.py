"""The built-in scene-cut detector on footage made to fool such detectors: hard cuts, a flash, fast
and starting pans, a dissolve, a fade to black, a closer shot of the same scene, two faces at the
same place over one background, heavy noise (tests/cut_clips.py, scikit-image's pictures).

    .venv/bin/python benchmarks/cut_detection.py

Prints each case's true cuts, the cuts found, and the misses and false cuts in all.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cut_clips import cases  # noqa: E402
from vs_stc.cuts import StreamCuts, rgb_luma, thumbnail  # noqa: E402


def found_cuts(frames) -> set[int]:
    cuts = StreamCuts()
    for _ in cuts.follow((None, thumbnail(rgb_luma(f[..., 0], f[..., 1], f[..., 2]), 255)) for f in frames):
        pass
    return cuts.cuts


def main() -> None:
    misses = false_cuts = truths = 0
    print("| case | true cuts | found | misses | false cuts |")
    print("| --- | --- | --- | --- | --- |")
    for case in cases():
        found = found_cuts(case.frames)
        missed, false = set(case.cuts) - found, found - set(case.cuts)
        misses, false_cuts, truths = misses + len(missed), false_cuts + len(false), truths + len(case.cuts)
        print(f"| {case.name} | {list(case.cuts)} | {sorted(found)} | {len(missed)} | {len(false)} |")
    print(f"\n{len(cases())} cases, {truths} true cuts: {misses} missed, {false_cuts} false cuts")


if __name__ == "__main__":
    main()
