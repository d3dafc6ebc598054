"""``stc restore --ray``: batch renders spread over a Ray runtime (two CPU workers here) come out
frame-identical to a local render, survive a killed worker, and resume where an interrupted run
stopped. One Ray runtime serves the whole module."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

ray = pytest.importorskip("ray")

from vs_stc.batch import run_batch  # noqa: E402
from vs_stc.cli import main  # noqa: E402
from vs_stc.cluster import run_cluster_batch  # noqa: E402
from vs_stc.cluster.parts import parts_folder  # noqa: E402
from vs_stc.cluster.runtime import size_workers  # noqa: E402
from vs_stc.cluster.segments import decoded_from  # noqa: E402
from vs_stc.cluster.survey import survey  # noqa: E402
from vs_stc.cluster.units import Unit, chunk_bounds, frames_needed  # noqa: E402
from vs_stc.encoding import Encoder  # noqa: E402
from vs_stc.engine.device import intra_op_threads  # noqa: E402
from vs_stc.engine.planning import plan  # noqa: E402
from vs_stc.errors import OptionError  # noqa: E402
from vs_stc.options import resolve  # noqa: E402
from vs_stc.restorer import load_restorer  # noqa: E402
from vs_stc.summary import summary  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
pytestmark = [pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (setup.sh installs it)"),
              pytest.mark.xdist_group("ray")]  # one worker starts one local cluster for them all
CHUNK = 8  # frames: the long clip becomes three chunks
CLIPS = {"a.mp4": (8, 64), "b.mkv": (6, 64), "long.mp4": (24, 64)}  # name: (frames, size)
UNITS = 1 + 1 + len(chunk_bounds(24, 6, 2, CHUNK))


@pytest.fixture(scope="module")
def ray_runtime():
    scratch = tempfile.mkdtemp(prefix="stc-ray-test-")  # short: Ray's socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20,
             _temp_dir=scratch)
    yield
    ray.shutdown()
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def options(bundled_bfvr):
    return resolve("restore", model=bundled_bfvr, faces="aligned", window=6, overlap=2)


def make_clip(path: Path, frames: int, width: int, height: int, gop: int = 5) -> Path:
    """H.264 with a key frame every ``gop`` frames (so chunks seek), AAC audio and a title."""
    seconds = frames / 25
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", str(gop), "-c:a", "aac",
                    "-metadata", "title=Take 7", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [make_clip(folder / name, frames, size, size) for name, (frames, size) in CLIPS.items()]


def frame_digests(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest() for frame in container.decode(video=0)]


def packet_digests(path: Path, kind: str) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(**{kind: 0}) if p.size]


@pytest.fixture(scope="module")
def local(clips, options, tmp_path_factory) -> Path:
    """The reference: the same batch rendered in this process, without Ray."""
    folder = tmp_path_factory.mktemp("local")
    results = run_batch([str(c) for c in clips], folder, load_restorer(options), Encoder(), quiet=True)
    assert not any(r.error for r in results), summary(results)
    return folder


def assert_identical(folder: Path, local: Path) -> None:
    for name in CLIPS:
        assert frame_digests(folder / name) == frame_digests(local / name), name
        assert packet_digests(folder / name, "audio") == packet_digests(local / name, "audio"), name
        with av.open(str(folder / name)) as container:
            assert container.metadata.get("title") == "Take 7"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no parts, no partial files


def render(clips, folder: Path, options, **kwargs):
    units = []
    results = run_cluster_batch([str(c) for c in clips], folder, options, Encoder(), quiet=True, chunk_frames=CHUNK,
                                on_unit=kwargs.pop("on_unit", lambda unit, actors: units.append(unit)), **kwargs)
    return results, units


def test_chunks_cover_whole_windows_and_their_crossfades():
    whole = plan(100, 24, 8)
    bounds = chunk_bounds(100, 24, 8, 30)
    assert bounds[0][0] == 0 and bounds[-1][1] == 100
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    ends = {w.end for w in whole.windows}
    assert all(stop in ends and stop - start >= 30 for start, stop in bounds[:-1])
    for start, stop in bounds:
        first, last = frames_needed(100, 24, 8, start, stop)
        used = {c.window for n in range(start, stop) for c in whole.contributions(n)}
        assert first == min(whole.windows[i].start for i in used) and last == max(whole.windows[i].end for i in used)


def test_cluster_render_is_frame_identical_and_failures_stay_alone(ray_runtime, clips, local, options, tmp_path):
    square_only = make_clip(tmp_path / "wide.mp4", 6, 64, 48)  # face-crop mode takes square frames only
    (tmp_path / "notes.mp4").write_text("not a video")
    results, units = render([*clips, square_only, tmp_path / "notes.mp4"], tmp_path / "out", options)
    text = summary(results)
    assert "3 of 5 files restored" in text
    assert f"FAILED  {square_only}: frames are 64x48" in text
    assert f"FAILED  {tmp_path / 'notes.mp4'}: unreadable or unsupported video" in text
    assert len([u for u in units if u.source.endswith("long.mp4")]) == 3
    assert f"ok      {clips[2]} -> {tmp_path / 'out' / 'long.mp4'}  (24 frames" in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(CLIPS)
    assert_identical(tmp_path / "out", local)
    for name in CLIPS:  # the encoder saw exactly the frames it sees locally
        assert packet_digests(tmp_path / "out" / name, "video") == packet_digests(local / name, "video")


@pytest.mark.slow  # 16 s: a second cluster render
def test_a_killed_worker_is_replaced_and_its_units_rerun(ray_runtime, clips, local, options, tmp_path):
    killed = []

    def kill_one(unit, actors):
        if not killed:
            ray.kill(actors[0], no_restart=False)
            killed.append(unit)

    results, _ = render(clips, tmp_path / "out", options, on_unit=kill_one)
    assert killed and not any(r.error for r in results), summary(results)
    assert_identical(tmp_path / "out", local)


@pytest.mark.slow  # 17 s: three cluster renders
def test_resume_renders_only_the_missing_units(ray_runtime, clips, local, options, tmp_path):
    first_run = []

    def interrupt(unit, actors):
        first_run.append(unit)
        if len(first_run) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render(clips, tmp_path / "out", options, on_unit=interrupt)
    assert any(parts_folder(tmp_path / "out" / name).is_dir() for name in CLIPS)

    results, second_run = render(clips, tmp_path / "out", options, resume=True)
    assert not any(r.error for r in results), summary(results)
    assert len(second_run) == UNITS - len(first_run)
    assert {(u.source, u.start) for u in second_run}.isdisjoint({(u.source, u.start) for u in first_run})
    assert_identical(tmp_path / "out", local)

    results, third_run = render(clips, tmp_path / "out", options, resume=True)
    assert third_run == [] and "finished by an earlier run, kept (--resume)" in summary(results)


def test_a_chunk_whose_first_frame_shares_its_timestamp_starts_on_that_frame(tmp_path):
    """1000 fps in Matroska's millisecond time base: two frames may share a pts. A worker that sought
    to it would start at the first of the two; it must decode to the frame itself."""
    path, times = tmp_path / "shared-pts.mkv", [0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=1000)
        stream.width = stream.height = 32
        stream.pix_fmt, stream.time_base = "yuv420p", Fraction(1, 1000)
        for n, pts in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 20 * n, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, stream.time_base
            container.mux(stream.encode(frame.reformat(format="yuv420p")))
        container.mux(stream.encode())
    info = survey(path, Encoder(), count_above=0)
    assert info.pts == times
    for first in (4, 8, 5):  # the second of a shared pts, again, and a pts of its own
        seek_pts, first_pts = info.seek_point(first)
        unit = Unit(0, str(path), info.pix_fmt, read_from=first, seek_pts=seek_pts, first_pts=first_pts)
        with av.open(str(path)) as source:
            level = next(decoded_from(source, unit)).to_ndarray(format="rgb24")[0, 0, 0]
        assert abs(int(level) - 20 * first) <= 2, first


def test_resume_needs_ray_and_excludes_overwrite(tmp_path, capsys):
    assert main(["restore", str(tmp_path), "-o", str(tmp_path / "out"), "--resume"]) == 2
    assert "--resume applies to cluster renders; add --ray" in capsys.readouterr().err
    assert main(["restore", str(tmp_path), "-o", str(tmp_path / "out"), "--ray", "--resume", "--overwrite"]) == 2
    assert "--resume keeps finished outputs, --overwrite replaces them" in capsys.readouterr().err
    assert main(["restore", str(tmp_path), "-o", str(tmp_path / "out"), "--ray-threads", "2"]) == 2
    assert "--ray-threads applies to cluster renders; add --ray" in capsys.readouterr().err


def test_cpu_workers_run_a_local_renders_threads_unless_told_otherwise(ray_runtime):
    """Same thread count, same sums: what makes a chunked file identical to a local render."""
    workers = size_workers(None)
    assert (workers.cpus, workers.count, workers.device) == (intra_op_threads(), 2 // intra_op_threads(), "cpu")
    assert size_workers(None, 1).count == 2
    with pytest.raises(OptionError, match="no node of the Ray cluster has that many CPUs"):
        size_workers(None, 3)


def test_onnx_runtime_s_provider_is_chosen_for_the_workers(ray_runtime, clips, bundled_bfvr, tmp_path):
    """The driver resolved the options for its own device; the workers' provider is chosen again
    for theirs, from --provider as given (here one this ONNX Runtime does not have)."""
    options = resolve("restore", model=bundled_bfvr, faces="aligned", backend="onnxruntime")
    assert options.provider == "CPUExecutionProvider"
    with pytest.raises(OptionError, match="'tensorrt' is not installed; this ONNX Runtime has cpu"):
        run_cluster_batch([str(clips[0])], tmp_path / "out", options, Encoder(), quiet=True, provider="tensorrt")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_command_line_starts_a_local_runtime(clips, local, bundled_bfvr, tmp_path):
    result = subprocess.run([sys.executable, "-m", "vs_stc.cli", "restore", *map(str, clips), "-o",
                             str(tmp_path / "out"), "--model", bundled_bfvr, "--faces", "aligned", "--window", "6",
                             "--overlap", "2", "--ray", "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "3 of 3 files restored" in result.stdout
    assert_identical(tmp_path / "out", local)


@pytest.mark.slow
def test_face_mode_files_split_into_chunks_and_stay_identical(ray_runtime, bundled_bfvr, tmp_path):
    from face_clips import face_clip

    path = tmp_path / "faces.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        for rgb in face_clip().frames[:20]:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    faces = resolve("restore", model=bundled_bfvr, faces="auto", window=6, overlap=2)
    local = run_batch([str(path)], tmp_path / "local", load_restorer(faces), Encoder(), quiet=True)
    results, units = render([path], tmp_path / "out", faces)
    assert sorted((u.start, u.stop) for u in units) == [(0, CHUNK), (CHUNK, 2 * CHUNK), (2 * CHUNK, 20)]
    assert summary(results).splitlines()[0].split(";", 1)[1] == summary(local).splitlines()[0].split(";", 1)[1]
    assert frame_digests(tmp_path / "out" / "faces.mp4") == frame_digests(tmp_path / "local" / "faces.mp4")
