"""`stc demo` (what `make demo` runs): the bundled models on the held-out face, stills on disk."""

from __future__ import annotations

import re
import subprocess
import sys

import av


def test_demo_runs_the_bundled_models_and_reports_their_figures(tmp_path):
    result = subprocess.run([sys.executable, "-m", "vs_stc.cli", "demo", "-o", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    psnr = [float(x) for x in re.findall(r"PSNR +([\d.]+) dB", result.stdout)]
    flicker = [float(x) for x in re.findall(r"flicker index +([\d.]+)", result.stdout)]
    assert len(psnr) == 6 and len(flicker) == 7  # the clean clip, then input and output of three runs
    assert flicker[4] < 0.5 * flicker[3] and flicker[6] < 0.5 * flicker[5]  # tiny-deflicker, both ways
    assert psnr[5] > 30  # with --keep-detail it keeps the face (FFmpeg's deflicker: about 34 dB here)
    stills = sorted(tmp_path.glob("*.png"))
    assert len(stills) == 9
    with av.open(str(stills[0])) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (3 * 128 + 8, 128)
