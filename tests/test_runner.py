"""The windowed runner on a tiny network: exact random access from many threads, streaming equal
to random access, bounded latency, scene cuts, formats and the resize rule."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from vs_stc.engine import EngineOptions, RandomAccessRestorer, SampleFormat, WindowRunner, stream, tensor_to_planes
from vs_stc.engine.exchange import HostExchange, host_frames, plane_tensor
from vs_stc.errors import STCError
from vs_stc.models.deterministic import deterministic_network

from conftest import TINY

SIZE = TINY.resolution
OPTIONS = EngineOptions(window=6, overlap=2, cache_windows=64)


@pytest.fixture(scope="module")
def network():
    return deterministic_network(TINY)


def make_clip(length: int, size: int = SIZE, seed: int = 0) -> list[list[np.ndarray]]:
    """Frames as three planes each, every plane a strided view into a row-padded buffer,
    the way VapourSynth hands planes out."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(length):
        padded = rng.integers(0, 256, (3, size, size + 16), dtype=np.uint8)
        frames.append([padded[c, :, :size] for c in range(3)])
    return frames


def reader(clip, log=None):
    def read(indices):
        if log is not None:
            log.append(tuple(indices))
        return [clip[i] for i in indices]

    return read


def random_access(network, clip, options=OPTIONS, cuts=()):
    runner = WindowRunner(network, SampleFormat.of(np.uint8), options)
    return RandomAccessRestorer(runner, len(clip), (SIZE, SIZE), reader(clip), cuts)


def test_random_order_from_many_threads_is_bit_identical_to_a_sequential_pass(network):
    clip = make_clip(23)
    sequential = random_access(network, clip)
    expected = [sequential.frame(n) for n in range(len(clip))]
    assert sequential.cache.computed == len(sequential.plan.windows)  # once per window

    shuffled = random_access(network, clip, EngineOptions(window=6, overlap=2, cache_windows=2))
    order = list(range(len(clip))) * 2
    random.Random(7).shuffle(order)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: (n, shuffled.frame(n)), order))
    for n, frame in results:
        assert torch.equal(frame, expected[n]), n


def test_a_window_wanted_by_many_threads_at_once_is_computed_once(network):
    clip = make_clip(6)
    log = []
    restorer = RandomAccessRestorer(
        WindowRunner(network, SampleFormat.of(np.uint8), OPTIONS), 6, (SIZE, SIZE), reader(clip, log)
    )
    barrier = threading.Barrier(4)

    def request(n):
        barrier.wait()
        return restorer.frame(n)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(request, range(4)))
    assert restorer.cache.computed == 1 and len(log) == 1


@pytest.mark.parametrize(
    ("length", "cuts"),
    [(1, ()), (5, ()), (6, ()), (7, ()), (17, ()), (23, (9,)), (24, (8,)), (30, (3, 4, 20)), (31, (1, 13, 26))],
)
def test_streaming_equals_random_access_and_emits_every_frame_once(network, length, cuts):
    clip = make_clip(length, seed=length)
    expected = [random_access(network, clip, cuts=cuts).frame(n) for n in range(length)]

    pulled = 0

    def source():
        nonlocal pulled
        for frame in clip:
            pulled += 1
            yield frame

    runner = WindowRunner(network, SampleFormat.of(np.uint8), OPTIONS)
    outputs = []
    for frame in stream(runner, source(), cuts):
        # Latency stays within one window (plus the frame just pushed).
        assert pulled - len(outputs) <= OPTIONS.window + 1
        outputs.append(frame)
    assert len(outputs) == length
    for n, (got, want) in enumerate(zip(outputs, expected)):
        assert torch.equal(got, want), n


def test_frames_after_a_cut_do_not_depend_on_frames_before_it(network):
    clip = make_clip(16)
    changed = make_clip(16, seed=99)[:8] + clip[8:]
    a = random_access(network, clip, cuts=[8])
    b = random_access(network, changed, cuts=[8])
    assert all(torch.equal(a.frame(n), b.frame(n)) for n in range(8, 16))
    assert not torch.equal(a.frame(7), b.frame(7))


def test_cuts_given_per_request_match_cuts_given_up_front(network):
    clip = make_clip(29)
    cuts = {3, 11, 12, 25}
    up_front = random_access(network, clip, cuts=cuts)
    lazy = random_access(network, clip)
    order = list(range(len(clip)))
    random.Random(5).shuffle(order)
    for n in order:
        asked = []

        def is_cut(f):
            asked.append(f)
            return f in cuts

        assert torch.equal(lazy.frame(n, is_cut=is_cut), up_front.frame(n)), n
        assert all(n - 2 * OPTIONS.window + OPTIONS.overlap < f <= n + OPTIONS.window for f in asked)
    assert lazy.cache.computed == len(up_front.plan.windows)  # once per window


def test_crossfade_blends_neighbouring_windows(network):
    clip = make_clip(10)
    restorer = random_access(network, clip)
    plan = restorer.plan
    first, second = (restorer.window_output(w) for w in plan.windows[:2])
    (a, b) = plan.contributions(4)  # windows start at 0 and 4: frame 4 is in their handover
    assert torch.allclose(restorer.frame(4), a.weight * first[:, 4] + b.weight * second[:, 0], atol=1e-6)
    assert torch.equal(restorer.frame(1), first[:, 1])


def test_cpu_planes_are_read_in_place():
    padded = np.zeros((3, 8, 24), dtype=np.uint8)
    view = padded[1, :, :8]
    tensor = plane_tensor(view)
    assert tensor.data_ptr() == view.ctypes.data and tensor.stride() == (24, 1)
    padded[1, 2, 3] = 77
    assert tensor[2, 3] == 77  # shares the caller's memory


@pytest.mark.parametrize(("dtype", "bits"), [(np.uint8, None), (np.uint16, 10), (np.uint16, 16), (np.float16, None), (np.float32, None)])
def test_sample_formats_round_trip(dtype, bits):
    fmt = SampleFormat.of(dtype, bits)
    rng = np.random.default_rng(1)
    if fmt.is_integer:
        planes = [rng.integers(0, 2**fmt.bits, (4, 5)).astype(dtype) for _ in range(3)]
    else:
        planes = [rng.random((4, 5)).astype(dtype) for _ in range(3)]
    batch = HostExchange(torch.device("cpu"), torch.float32).upload([planes], fmt).batch
    assert batch.shape == (1, 3, 1, 4, 5) and 0 <= batch.min() and batch.max() <= 1
    back = tensor_to_planes(batch[0, :, 0], fmt)
    for got, want in zip(back, planes):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=1e-3 if fmt.dtype == np.float16 else 1e-6)


def test_square_frames_of_another_size_are_resized_when_asked(network):
    clip = make_clip(6, size=2 * SIZE)
    runner = WindowRunner(network, SampleFormat.of(np.uint8), EngineOptions(window=6, overlap=2, resize=True))
    restorer = RandomAccessRestorer(runner, 6, (2 * SIZE, 2 * SIZE), reader(clip))
    frame = restorer.frame(0)
    assert frame.shape == (3, 2 * SIZE, 2 * SIZE) and 0 <= frame.min() and frame.max() <= 1


def test_wrong_sizes_are_refused_with_the_fix(network):
    runner = WindowRunner(network, SampleFormat.of(np.uint8), OPTIONS)
    with pytest.raises(STCError, match="square aligned face crops"):
        RandomAccessRestorer(runner, 4, (SIZE, SIZE + 8), reader(make_clip(4)))
    with pytest.raises(STCError, match=r"resize the clip first or enable resizing \(resize=True\)"):
        RandomAccessRestorer(runner, 4, (2 * SIZE, 2 * SIZE), reader(make_clip(4)))
    with pytest.raises(STCError, match="square aligned face crops"):
        list(stream(runner, [[np.zeros((SIZE, SIZE + 2), np.uint8)] * 3]))


def test_frame_size_changing_mid_window_is_an_error(network):
    runner = WindowRunner(network, SampleFormat.of(np.uint8), OPTIONS)
    frames = make_clip(3) + make_clip(3, size=SIZE // 2)
    with pytest.raises(ValueError, match="frame size must not change"):
        list(stream(runner, frames))


def test_keep_detail_takes_brightness_from_the_model_and_detail_from_the_input():
    from vs_stc.engine.detail import keep_input_detail

    generator = torch.Generator().manual_seed(0)
    original = 0.2 + 0.5 * torch.rand((3, 96, 96), generator=generator)
    blurred = torch.nn.functional.avg_pool2d(original[None], 9, stride=1, padding=4, count_include_pad=False)[0]
    assert torch.allclose(keep_input_detail(blurred, original), original, atol=0.01)  # same brightness: unchanged
    darker = keep_input_detail(blurred * 0.5, original)
    assert torch.allclose(darker, original * 0.5, atol=0.02)  # every pixel's detail kept, at half the brightness
    assert torch.isclose(darker.std(), 0.5 * original.std(), rtol=0.1)


def test_keep_colours_takes_detail_from_the_model_and_colours_from_the_input():
    from vs_stc.engine.detail import keep_input_colours

    generator = torch.Generator().manual_seed(1)
    original = 0.3 + 0.4 * torch.rand((3, 96, 96), generator=generator)
    smooth = torch.nn.functional.avg_pool2d(original[None], 31, stride=1, padding=15, count_include_pad=False)[0]
    detail = original - smooth
    tinted = (smooth * torch.tensor([1.3, 0.9, 0.7])[:, None, None] + detail).clamp(0, 1)  # a colour cast
    fixed = keep_input_colours(tinted, original, 32)
    assert (fixed - original).abs().mean() < 0.25 * (tinted - original).abs().mean()
    with pytest.raises(ValueError, match="exclude each other"):
        EngineOptions(keep_detail=True, keep_colours=True)


def test_keep_colours_keeps_the_mean_of_a_bright_face():
    """A real face, bright enough that its highlights saturate (as a face in sunlight or under a
    lamp does), and a model that sharpens it: the detail added to the highlights cannot go above
    white. Clamping it away made the crop 0.34 levels darker in red (0.5 at brighter exposures)."""
    import cv2
    from face_clips import portrait

    from vs_stc.engine.detail import blur, keep_input_colours

    face = cv2.resize(portrait("astronaut")[40:200, 160:320], (64, 64), interpolation=cv2.INTER_AREA)
    original = torch.from_numpy(np.clip(face / 255.0 * 1.3, 0, 1).astype(np.float32)).permute(2, 0, 1).contiguous()
    assert (original == 1).float().mean() > 0.2  # a fifth of the face and more is white
    sharpened = (original + (original - blur(original, 1.0))).clamp(0, 1)
    kept = keep_input_colours(sharpened, original, 64)
    assert 0 <= kept.min() and kept.max() <= 1
    shift = (kept - original).mean(dim=(1, 2)) * 255
    assert shift.abs().max() < 0.01, shift  # levels
    assert (kept - original).abs().mean() * 255 > 1  # and the detail is still added


def test_keep_detail_streams_like_random_access_and_keeps_every_frame(network):
    clip = make_clip(15, size=2 * SIZE)
    options = EngineOptions(window=6, overlap=2, cache_windows=64, resize=True, keep_detail=True)
    runner = WindowRunner(network, SampleFormat.of(np.uint8), options)
    restorer = RandomAccessRestorer(runner, len(clip), (2 * SIZE, 2 * SIZE), reader(clip), cuts=[9])
    streamed = list(stream(runner, iter(clip), cuts=[9]))
    assert len(streamed) == len(clip)
    for n, frame in enumerate(streamed):
        assert torch.equal(frame, restorer.frame(n)), n
    plain_runner = WindowRunner(network, SampleFormat.of(np.uint8), EngineOptions(window=6, overlap=2, resize=True))
    plain = RandomAccessRestorer(plain_runner, len(clip), (2 * SIZE, 2 * SIZE), reader(clip)).frame(3)
    source = host_frames([clip[3]], SampleFormat.of(np.uint8))[:, 0]
    # the random input's pixel-level noise survives only in keep-detail mode
    assert (streamed[3] - source).abs().mean() < 0.5 * (plain - source).abs().mean()
