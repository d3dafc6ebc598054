"""Metrics against known values, seeded degradations, and `stc degrade` / `stc eval` on real clips."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from commands import stc
from vs_stc import metrics
from vs_stc.media.degrade import degrade
from vs_stc.media.video_io import read_video, write_video

RNG = np.random.default_rng(0)


def textured_clip(frames: int = 6, size: int = 96, shift: int = 0) -> np.ndarray:
    """A smooth random texture; with ``shift``, each frame moves left by that many pixels."""
    import cv2

    base = cv2.GaussianBlur(np.random.default_rng(1).uniform(0, 255, (size, size * 2, 3)).astype(np.float32), (0, 0), 3)
    base = (base - base.min()) / (base.max() - base.min()) * 255
    return np.stack([base[:, t * shift: t * shift + size] for t in range(frames)]).astype(np.uint8)


def test_identical_clips_score_perfectly():
    clip = textured_clip()
    assert metrics.psnr(clip, clip) == metrics.PSNR_CAP
    assert metrics.ssim(clip, clip) == pytest.approx(1.0)
    assert metrics.flicker_index(clip) == 0.0
    assert metrics.warp_error(clip) < 1e-3


def test_psnr_of_a_known_error():
    clip = np.full((2, 8, 8, 3), 100, np.uint8)
    assert metrics.psnr(clip + 10, clip) == pytest.approx(10 * np.log10(255**2 / 100))


def test_ssim_matches_scikit_image_on_a_fixed_pair():
    a = textured_clip(frames=1)[0]
    b = np.clip(a.astype(int) + np.random.default_rng(2).normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    independent = structural_similarity(a, b, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False)
    assert metrics.ssim_frame(a, b) == pytest.approx(independent, abs=1e-9)


def test_a_known_gain_change_gives_a_known_flicker_index():
    clip = np.full((5, 4, 4, 3), 100, np.uint8)
    clip[2] = 150  # one frame 1.5x brighter: luma steps +50 then -50
    assert metrics.flicker_index(clip) == pytest.approx(np.std([0, 50, -50, 0]))


def test_warp_error_follows_motion_but_not_noise():
    moving = textured_clip(shift=2)
    assert metrics.warp_error(moving) < 0.02  # flow explains a known shift
    noisy = np.clip(moving + np.random.default_rng(3).normal(0, 20, moving.shape), 0, 255).astype(np.uint8)
    assert metrics.warp_error(noisy, reference=moving) > 2 * metrics.warp_error(moving)


@pytest.mark.parametrize("kind", ["bfvr", "brightness", "pixel"])
def test_degradations_are_seeded_and_degrade(kind):
    clip = textured_clip(frames=12)
    first, again, other = degrade(clip, kind, seed=5), degrade(clip, kind, seed=5), degrade(clip, kind, seed=6)
    assert first.shape == clip.shape and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert metrics.psnr(first, clip) < metrics.PSNR_CAP  # some frame changed


def test_brightness_flicker_scales_whole_frames():
    clip = np.full((40, 4, 4, 3), 100, np.uint8)
    flickered = degrade(clip, "brightness", seed=1)
    changed = [t for t in range(40) if not np.array_equal(flickered[t], clip[t])]
    assert 4 <= len(changed) <= 24  # probability 0.3 per frame
    for t in changed:
        assert len(np.unique(flickered[t])) == 1 and 50 <= flickered[t, 0, 0, 0] <= 150


def test_a_strength_sets_how_much_a_clip_is_degraded():
    clip = textured_clip(frames=12)
    levels = metrics.luma_means(clip)
    spread = [np.abs(metrics.luma_means(degrade(clip, "brightness", seed=1, strength=s)) - levels).max()
              for s in (0.0, 0.1, 0.5)]
    assert spread[0] < 0.5 < spread[1] < spread[2]
    light, heavy = (degrade(clip, "bfvr", seed=1, strength=s) for s in (0.1, 0.9))
    assert metrics.psnr(heavy, clip) < metrics.psnr(light, clip) - 2
    with pytest.raises(ValueError, match="between 0 and 1"):
        degrade(clip, "bfvr", strength=1.5)


def test_whole_clip_psnr_is_not_lifted_by_untouched_frames():
    clip = textured_clip(frames=4)
    one_changed = clip.copy()
    one_changed[0] = np.clip(one_changed[0].astype(int) + 10, 0, 255)
    assert metrics.psnr(one_changed, clip) < 10 * np.log10(255**2 / 100) + 10 * np.log10(4) + 0.1


def test_held_out_faces_are_clean_clips_of_the_requested_shape():
    from vs_stc.media.held_out import held_out_clips

    clips = held_out_clips(2, 6, 64)
    assert "hopper" in clips
    for identity, faces in clips.items():
        assert len(faces) == 2 and all(face.shape == (6, 64, 64, 3) for face in faces), identity
        assert not np.array_equal(faces[0], faces[1]), identity


def test_bfvr_degrades_every_frame_identically_on_a_static_clip():
    static = np.repeat(textured_clip(frames=1), 8, axis=0)
    degraded = degrade(static, "bfvr", seed=2)
    assert metrics.psnr(degraded, static) < 35
    # Same degradation in every frame: only the codec's own frame-type differences remain.
    assert metrics.psnr(degraded[1:], degraded[:-1]) > 30


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")
def test_degrade_and_eval_commands_on_a_real_clip(tmp_path):
    clean = tmp_path / "clean.mkv"
    write_video(textured_clip(frames=30, shift=1), clean)
    flickered = tmp_path / "flicker.mkv"
    made = stc("degrade", str(clean), "-o", str(flickered), "--kind", "brightness", "--seed", "4")
    assert made.returncode == 0, made.stderr
    assert read_video(flickered)[0].shape == (30, 96, 96, 3)

    report = stc("eval", str(flickered), "--reference", str(clean), "--json", "--plot", str(tmp_path / "curves.png"),
                 "--window", "6", "--overlap", "2")
    assert report.returncode == 0, report.stderr
    values = json.loads(report.stdout)
    assert set(values) == {"psnr", "ssim", "warp_error", "flicker_index", "seam_score"}
    assert values["flicker_index"] > 5 * metrics.flicker_index(read_video(clean)[0])
    with Image.open(tmp_path / "curves.png") as plot:  # a drawn figure, not an empty canvas
        assert plot.size[0] >= 600 and plot.size[1] >= 400
        assert len(plot.convert("RGB").getcolors(maxcolors=1 << 20)) > 50


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")
def test_eval_runs_the_filter_beside_its_baselines(tmp_path, bundled_deflicker):
    model = bundled_deflicker
    clean = tmp_path / "clean.mkv"
    write_video(textured_clip(frames=12, shift=1), clean)
    flickered = tmp_path / "flicker.mkv"
    write_video(degrade(read_video(clean)[0], "brightness", seed=1), flickered)
    report = stc("eval", str(flickered), "--reference", str(clean), "--run", "deflicker", "--model", str(model),
                 "--faces", "aligned", "--window", "6", "--overlap", "2", "--json")
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)
    assert list(rows) == ["input", "stc", "stc per-frame (window 2)", "ffmpeg deflicker"]
    # FFmpeg's deflicker evens out brightness flicker: a real baseline, not a copy of the input.
    assert rows["ffmpeg deflicker"]["flicker_index"] < rows["input"]["flicker_index"]
