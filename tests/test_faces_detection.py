"""Face detectors: the plugin registry (pluggy + entry points), auto choice, the bundled offline
RetinaFace on the fixture clips, and the ResNet-50 weights path (served from 127.0.0.1, never
the network).

Measured (RetinaFace-MobileNet0.25 through onnxruntime, 2 CPU cores): the fixture clip's 36
frames of 480 x 270 in 0.36 s (10 ms a frame) once the session is loaded (about 0.8 s, once);
all 46 face-frames with five landmarks in view found, mean landmark error 2.5 / 4.0 / 2.8 px
(astronaut / Grace Hopper / cameraman; 6-9% of the eye-to-mouth distance), at most 5.1 px (12%);
nothing found on the face-free frames nor anywhere else.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from face_clips import WIDTH, face_clip

from vs_stc.errors import DownloadError, OptionError
from vs_stc.faces import ENTRY_POINT_GROUP, Face, choose_detector, describe, detect_frames, load_detector, new_registry
from vs_stc.faces import facexlib_detector
from vs_stc.faces.facexlib_detector import FacexlibRetinaFace, WeightsFile, fetch
from vs_stc.faces.retinaface_decode import BGR_MEAN, network_input, priors
from vs_stc.faces.retinaface_onnx import OnnxRetinaFace


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STC_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("STC_WEIGHTS_MIRROR", raising=False)
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def detections(mobile_detector):
    """As the detector reports them (conftest's fixture_clip_faces: as face mode scores them)."""
    return list(detect_frames(mobile_detector, face_clip().frames))


def matches(found: list[Face], truth) -> list[tuple[Face, object, float]]:
    pairs = []
    for face in found:
        errors = [np.linalg.norm(face.landmarks - t.landmarks, axis=1).mean() for t in truth]
        best = int(np.argmin(errors)) if errors else None
        pairs.append((face, None if best is None else truth[best], errors[best] if errors else np.inf))
    return pairs


def test_every_visible_face_found_and_none_invented(detections):
    clip = face_clip()
    visible = 0
    for n, (found, truth) in enumerate(zip(detections, clip.truth)):
        for face, true, error in matches(found, truth):  # every detection is a real face, close to it
            assert true is not None and error < 0.15 * true.height, f"frame {n}: detection off by {error:.1f} px"
        for true in truth:
            if true.inside:
                visible += 1
                assert any(error < 0.15 * true.height for _, t, error in matches(found, [true])), \
                    f"frame {n}: {true.name} not found"
    assert visible == 46  # 24 astronaut, 12 Grace Hopper (frames 7-18), 10 cameraman
    assert detections[34] == [] and detections[35] == []  # the face-free shot


def test_landmarks_are_floats_and_boxes_hold_them(detections):
    faces = [f for found in detections for f in found]
    assert any(not np.allclose(f.landmarks, np.rint(f.landmarks)) for f in faces)
    for f in faces:
        assert (f.landmarks[:, 0] > f.box[0]).all() and (f.landmarks[:, 0] < f.box[2]).all()
        assert 0.8 < f.score <= 1.0


def test_sample_types_and_downscaled_detection_agree(detections):
    clip = face_clip()
    detector = OnnxRetinaFace()
    frame = clip.frames[12]
    as_uint16 = frame.astype(np.uint16) * 257
    as_float = frame.astype(np.float32) / 255
    for converted in (list(detect_frames(detector, [as_uint16]))[0], list(detect_frames(detector, [as_float]))[0]):
        assert len(converted) == len(detections[12])
        for a, b in zip(converted, detections[12]):
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)
    half = list(detect_frames(detector, [frame], max_side=WIDTH // 2))[0]  # detected at 240 x 135
    assert len(half) == 2
    for face, true, error in matches(half, clip.truth[12]):
        assert error < 0.15 * true.height  # coordinates come back in frame pixels


def test_priors_match_the_networks_outputs():
    detector = OnnxRetinaFace()
    for height, width in ((270, 480), (97, 131)):
        image = np.zeros((1, 3, height, width), np.float32)
        loc, conf, landmarks = detector.session.run(None, {"input": image})
        assert loc.shape[1] == conf.shape[1] == landmarks.shape[1] == len(priors(height, width))


# The registry -------------------------------------------------------------------------------

def test_builtins_registered_and_auto_says_which(empty_cache):
    registry = new_registry(entry_point_group=None)
    assert set(registry.detectors()) == {"retinaface-resnet50", "retinaface-mobile"}
    choice = choose_detector("auto", registry)
    assert choice.info.name == "retinaface-mobile"
    assert "retinaface-mobile (auto)" in choice.reason and "retinaface-resnet50" in choice.reason
    names = [row[0] for row in describe(registry)]
    assert names[:2] == ["retinaface-resnet50", "retinaface-mobile"]


def test_auto_takes_resnet50_when_its_weights_are_cached(empty_cache):
    empty_cache.mkdir(parents=True)
    with open(empty_cache / facexlib_detector.RESNET50.filename, "wb") as f:
        f.truncate(facexlib_detector.RESNET50.size)  # sparse: status looks at the size only
    choice = choose_detector("auto", new_registry(entry_point_group=None))
    assert choice.info.name == "retinaface-resnet50" and choice.reason == "face detector retinaface-resnet50 (auto)"


def test_naming_a_detector(empty_cache):
    registry = new_registry(entry_point_group=None)
    assert "fetching what is missing" in choose_detector("retinaface-resnet50", registry).reason  # fetchable
    assert choose_detector("retinaface-mobile", registry).reason == "face detector retinaface-mobile (as asked)"
    with pytest.raises(OptionError) as caught:
        choose_detector("mtcnn", registry)
    assert caught.value.argument == "detector" and "retinaface-mobile" in str(caught.value)


PLUGIN = '''
import numpy as np
from vs_stc.faces import DetectorInfo, Face, hookimpl

class Centre:
    name = "centre-only"
    def detect(self, images):
        out = []
        for image in images:
            h, w = image.shape[:2]
            marks = np.array([[w*.45, h*.45], [w*.55, h*.45], [w*.5, h*.5], [w*.46, h*.56], [w*.54, h*.56]])
            out.append([Face([w*.4, h*.35, w*.6, h*.65], marks, 0.99)])
        return out

@hookimpl
def stc_face_detectors():
    return [DetectorInfo("centre-only", "a test plugin", load=lambda device: Centre(), status=lambda: None, rank=99)]
'''


def install_plugin(root: Path, name: str, entry: str, module_text: str | None) -> None:
    """What ``pip install`` of a plugin leaves in site-packages: a module and a dist-info with
    an entry point in our group."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry} = {name}_module\n")
    if module_text is not None:
        (root / f"{name}_module.py").write_text(module_text)


def test_third_party_detector_through_entry_points(tmp_path, monkeypatch, empty_cache):
    install_plugin(tmp_path / "site", "stc_centre", "centre-only", PLUGIN)
    install_plugin(tmp_path / "site", "stc_broken", "broken", None)  # its module is missing
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = new_registry()
    assert "centre-only" in registry.detectors()
    assert "broken" in registry.broken and "broken" not in registry.detectors()
    with pytest.raises(OptionError, match="failed to load"):
        choose_detector("broken", registry)
    detector, reason = load_detector("auto", registry=registry)  # rank 99: auto takes it
    assert detector.name == "centre-only" and "centre-only (auto)" in reason
    faces = list(detect_frames(detector, [np.zeros((100, 200, 3), np.uint8)]))[0]
    assert len(faces) == 1 and faces[0].landmarks.shape == (5, 2)
    assert any(row[0] == "broken" for row in describe(registry))
    sys.modules.pop("stc_centre_module", None)


# ResNet-50 weights: fetch, verify, load --------------------------------------------------------

@pytest.fixture()
def server(tmp_path):
    """A local HTTP server over tmp_path/served (never the network)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def small_weights(root: Path) -> WeightsFile:
    """facexlib's RetinaFace-MobileNet0.25 architecture with random weights (1.7 MB): exercises the
    same load path as the 109 MB ResNet-50 file."""
    import torch
    from facexlib.detection.retinaface import RetinaFace

    torch.manual_seed(0)
    net = RetinaFace(network_name="mobile0.25", half=False, device=torch.device("cpu"))
    path = root / "detection_tiny.pth"
    torch.save({"module." + k: v for k, v in net.state_dict().items()}, path)  # as released: DataParallel keys
    data = path.read_bytes()
    return WeightsFile(path.name, "unused", hashlib.sha256(data).hexdigest(), len(data))


def test_fetch_verifies_and_loads(server, empty_cache, monkeypatch):
    root, url = server
    spec = small_weights(root)
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", url)
    assert facexlib_detector.weights_status(spec) is not None
    path = fetch(spec, progress=False)
    assert path == empty_cache / spec.filename and path.read_bytes() == (root / spec.filename).read_bytes()
    assert facexlib_detector.weights_status(spec) is None
    assert fetch(spec, progress=False) == path  # cached: no second download
    (root / spec.filename).unlink()
    assert fetch(spec, progress=False) == path
    detector = FacexlibRetinaFace(path, network="mobile0.25", threshold=0.99)
    served = torch.load(path, weights_only=True)  # byte for byte the served file (checked above)
    loaded = detector.net.state_dict()
    assert {"module." + k for k in loaded} == set(served)  # the served weights, every one, in the network
    assert all(torch.equal(loaded[k], served["module." + k]) for k in loaded)
    found = detector.detect([face_clip().frames[12], face_clip().frames[30]])
    assert len(found) == 2  # one list of faces per image (random weights: what they find means nothing)


def test_fetch_refuses_a_file_that_does_not_hash_right(server, empty_cache, monkeypatch):
    root, url = server
    (root / "detection_Resnet50_Final.pth").write_bytes(b"<html>not the weights</html>" * 10)
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", url)
    with pytest.raises(DownloadError):
        fetch(facexlib_detector.RESNET50, progress=False)
    assert not (empty_cache / "detection_Resnet50_Final.pth").exists()
    wrong = WeightsFile("payload.pth", "unused", "0" * 64, 300)
    (root / "payload.pth").write_bytes(os.urandom(300))
    with pytest.raises(DownloadError, match="deleted"):
        fetch(wrong, progress=False)
    assert not (empty_cache / "payload.pth").exists()


def test_resnet50_absent_means_not_ready_without_touching_the_network(empty_cache, monkeypatch):
    monkeypatch.setenv("STC_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # would refuse, were it asked
    assert "not in" in facexlib_detector.status()
    assert choose_detector("auto", new_registry(entry_point_group=None)).info.name == "retinaface-mobile"
    with pytest.raises(DownloadError):
        load_detector("retinaface-resnet50", registry=new_registry(entry_point_group=None))


def test_no_detector_ready_says_why(tmp_path, empty_cache, monkeypatch):
    monkeypatch.setenv("STC_BUNDLED_WEIGHTS", str(tmp_path / "nowhere"))
    with pytest.raises(OptionError) as caught:
        choose_detector("auto", new_registry(entry_point_group=None))
    message = str(caught.value)
    assert "retinaface-mobile" in message and "retinaface-resnet50" in message and "reinstall" in message


def test_bundled_onnx_model_is_checked(tmp_path):
    from vs_stc.errors import CheckpointError

    damaged = tmp_path / "retinaface-mobilenet0.25.onnx"
    damaged.write_bytes(b"\x08\x06" + os.urandom(100))
    with pytest.raises(CheckpointError, match="reinstall"):
        OnnxRetinaFace(damaged).session


def test_the_network_input_is_bgr_channels_first_with_the_mean_removed():
    images = np.random.default_rng(5).integers(0, 256, (2, 7, 9, 3), dtype=np.uint8)
    expected = (images[..., ::-1].astype(np.float32) - BGR_MEAN).transpose(0, 3, 1, 2)
    produced = network_input(images)
    assert produced.dtype == np.float32 and produced.flags.c_contiguous
    np.testing.assert_array_equal(produced, expected)
