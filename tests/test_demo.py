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
    assert len(psnr) == 8 and len(flicker) == 7  # the clean clip, input and output of three runs, then faces auto
    assert flicker[4] < 0.5 * flicker[3] and flicker[6] < 0.5 * flicker[5]  # tiny-deflicker, both ways
    assert psnr[5] > 30  # with --keep-detail it keeps the face (FFmpeg's deflicker: about 34 dB here)
    # faces auto on whole frames: the face found in every frame, the background untouched
    assert re.search(r"(\d+) faces restored in (\d+) of \2 frames", result.stdout)
    assert "outside the faces the output is the input, bit for bit: True" in result.stdout
    stills = sorted(tmp_path.glob("*.png"))
    assert len(stills) == 12
    with av.open(str(tmp_path / "restore-frame00.png")) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (3 * 128 + 8, 128)
