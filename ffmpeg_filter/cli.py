"""``stc-ffmpeg``: restore or deflicker a video stream from stdin to stdout.

    ffmpeg -i in.mp4 -c:v rawvideo -f nut - | stc-ffmpeg restore | ffmpeg -f nut -i - -c:v libx264 -c:a copy out.mp4

A thin shell over vs_stc: it reads stdin and writes stdout; options, model loading and the
transcoding loop are vs_stc's. Exit codes: 0 done; 1 the input ended early (frames written so far
are complete and valid); 2 bad arguments or unusable input (one line, nothing written); 130
interrupted (frames read so far were flushed); 141 downstream closed the pipe.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
import time
from contextlib import redirect_stderr
from fractions import Fraction
from typing import BinaryIO, TextIO

import av

from vs_stc.av_frames import check_pix_fmt
from vs_stc.colour import MATRICES, RANGES, YUVRule
from vs_stc.errors import EXIT_USAGE, InputError, OptionError, STCError
from vs_stc.options import CommandLineParser, add_arguments, flag_spelling, from_arguments
from vs_stc.runtime import runtime

from .sniff import open_input

PROGRAM = "stc-ffmpeg"


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(prog=PROGRAM, description="Restore or deflicker a video stream, stdin -> stdout.")
    parser.add_argument("task", choices=["restore", "deflicker"])
    add_arguments(parser)
    stream_group = parser.add_argument_group("stream")
    stream_group.add_argument("--format", choices=["auto", "nut", "y4m", "raw"], default="auto",
                              help="input container (default: detect NUT or Y4M); the output uses the same")
    stream_group.add_argument("--size", help="raw input: frame size, WxH")
    stream_group.add_argument("--pix-fmt", help="raw input: pixel format, e.g. rgb24, yuv420p")
    stream_group.add_argument("--rate", help="raw input: frame rate, e.g. 25 or 30000/1001")
    stream_group.add_argument("--output-pix-fmt", help="output pixel format (default: the input's)")
    stream_group.add_argument("--matrix", choices=sorted(MATRICES),
                              help="YUV matrix of the input (containers such as NUT carry none; default: BT.709 "
                                   "above 1024 x 576, BT.601 below)")
    stream_group.add_argument("--range", choices=RANGES, help="YUV range of the input (default: limited)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def raw_options(args: argparse.Namespace) -> dict[str, str]:
    if args.format != "raw":
        return {}
    given = (("--size", args.size), ("--pix-fmt", args.pix_fmt), ("--rate", args.rate))
    missing = [flag for flag, value in given if not value]
    if missing:
        raise OptionError("format", f"raw needs {', '.join(missing)}")
    width, _, height = args.size.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise OptionError("size", f"must be WIDTHxHEIGHT in pixels, both above 0 (e.g. 1920x1080), not {args.size!r}")
    try:
        rate = Fraction(args.rate)
    except (ValueError, ZeroDivisionError):
        rate = Fraction(0)
    if rate <= 0:
        raise OptionError("rate", f"must be frames per second above 0 (e.g. 25 or 30000/1001), not {args.rate!r}")
    check_pix_fmt("pix_fmt", args.pix_fmt)
    return {"video_size": args.size, "pixel_format": args.pix_fmt, "framerate": args.rate}


class Progress:
    """Frames, fps and ETA (when the length is known) on one stderr line."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.total, self.enabled, self.start, self.last = total, enabled, time.monotonic(), 0.0

    def __call__(self, done: int, *frames: object) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.5 and done != self.total):
            return
        self.last = now
        fps = done / max(now - self.start, 1e-9)
        eta = f", ETA {(self.total - done) / fps:.0f} s" if self.total and fps > 0 else ""
        of = f"/{self.total}" if self.total else ""
        print(f"\r{PROGRAM}: {done}{of} frames, {fps:.2f} fps{eta}   ", end="", file=sys.stderr, flush=True)

    def close(self, done: int, runs_on: str) -> None:
        """The totals line; ``runs_on``: where and how the model ran ("cpu, fp32, torch")."""
        if self.enabled:
            seconds = time.monotonic() - self.start
            rate = done / max(seconds, 1e-9)
            print(f"\r{PROGRAM}: {done} frames in {seconds:.1f} s ({rate:.2f} fps) on {runs_on}   ", file=sys.stderr)


def install_stop_request(quiet: bool) -> threading.Event:
    """First Ctrl-C: stop reading, flush what was read (said on stderr unless ``quiet``: it can take
    a window's model work). A second one goes to the handler that was there before (the entry
    point's, which holds the interrupt back while a module is imported): it interrupts at once."""
    stop = threading.Event()
    before = signal.getsignal(signal.SIGINT)

    def request(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, before if callable(before) else signal.default_int_handler)
        if not quiet:
            try:  # the main thread may be in the middle of a write to stderr
                print(f"\n{PROGRAM}: stopping once the frames already read are restored; Ctrl-C again to stop "
                      "now", file=sys.stderr, flush=True)
            except (RuntimeError, OSError):
                pass

    signal.signal(signal.SIGINT, request)
    return stop


# What FFmpeg may put in the pipe without losing anything (its NUT muxer defaults to lossy mpeg4).
LOSSLESS_CODECS = {"rawvideo", "ffv1", "ffvhuff", "huffyuv", "utvideo", "magicyuv", "png", "qtrle", "v210", "r210"}


def main(argv: list[str] | None = None, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
         stderr: TextIO | None = None) -> int:
    """The command line; ``stdin``/``stdout``: the streams to read and write, ``stderr``: where its
    reports and progress go (default: the process's; callers in process, tests among them, give
    their own)."""
    with redirect_stderr(stderr or sys.stderr):
        return _main(argv, stdin, stdout)


def _main(argv: list[str] | None, stdin: BinaryIO | None, stdout: BinaryIO | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has reported: a code, for callers in process too
        return int(stop.code or 0)
    previous = signal.getsignal(signal.SIGINT)
    try:
        with runtime():
            return run(args, stdin, stdout)
    except OptionError as error:
        print(f"{PROGRAM}: error: {error.spelled(flag_spelling)}", file=sys.stderr)
        return EXIT_USAGE
    except STCError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:  # a caller's own Ctrl-C handling comes back (main runs in process too)
        signal.signal(signal.SIGINT, previous)


def run(args: argparse.Namespace, stdin: BinaryIO | None, stdout: BinaryIO | None) -> int:
    """``stdin`` (default: the process's, unbuffered, so that a stop request is seen while waiting for
    input) and ``stdout`` (default: the process's) are taken once the arguments have been checked."""
    if args.output_pix_fmt is not None:
        check_pix_fmt("output_pix_fmt", args.output_pix_fmt)
    input_options = raw_options(args)
    stop = install_stop_request(args.quiet)
    from vs_stc.restorer import load_restorer  # PyTorch: loaded only for a render, not for --help
    from vs_stc.encoding import VideoEncoding
    from vs_stc.transcode import transcode

    options = from_arguments(args.task, args)
    restore = load_restorer(options)  # bad arguments fail before any input is read
    try:
        container_format, reader = open_input(stdin if stdin is not None else sys.stdin.buffer.raw, args.format,
                                              stop.is_set)
        try:
            source = av.open(reader, mode="r", format=container_format, options=input_options)
        except av.FFmpegError as error:
            raise InputError(f"cannot read the input: {error}") from error
    except InputError:
        if stop.is_set():  # Ctrl-C before the input's header had arrived: nothing was read, nothing lost
            print(f"{PROGRAM}: interrupted; wrote the 0 frames read so far", file=sys.stderr)
            return 130
        raise

    video = source.streams.video[0] if source.streams.video else None
    if video and video.codec_context.name not in LOSSLESS_CODECS and not args.quiet:
        print(f"{PROGRAM}: note: the video arrives as {video.codec_context.name}, a lossy encoding made just for the "
              "pipe; add -c:v rawvideo (or ffv1) before -f nut upstream to keep that quality", file=sys.stderr)
    if len(source.streams.video) > 1 and not args.quiet:
        print(f"{PROGRAM}: note: the input has {len(source.streams.video)} video streams; restoring the first "
              f"(stream #{video.index}) and dropping the others", file=sys.stderr)
    progress = Progress(video.frames or None if video else None, enabled=not args.quiet)
    try:
        with source, av.open(stdout if stdout is not None else sys.stdout.buffer, mode="w",
                             format=container_format) as sink:
            outcome = transcode(source, sink, restore, VideoEncoding(pix_fmt=args.output_pix_fmt),
                                on_frame=progress, should_stop=stop.is_set,
                                rule=YUVRule.given(args.matrix, args.range))
    except (OSError, av.FFmpegError) as error:
        if broken_pipe(error):
            return downstream_closed()
        print(f"{PROGRAM}: error: writing the output failed ({error}); the output is incomplete", file=sys.stderr)
        return 1
    progress.close(outcome.frames_out, options.runs_on)
    if (counts := restore.counts) and not args.quiet:
        print(f"{PROGRAM}: {counts.describe()} ({restore.detector_reason})", file=sys.stderr)
    if outcome.input_error:
        print(f"{PROGRAM}: the input ended early ({outcome.input_error}); wrote all {outcome.frames_out} frames "
              f"decoded before that", file=sys.stderr)
        return 1
    if outcome.interrupted or stop.is_set():  # Ctrl-C once the input was all read: it was flushed all the same
        print(f"{PROGRAM}: interrupted; wrote the {outcome.frames_out} frames read so far", file=sys.stderr)
        return 130
    return 0


def broken_pipe(error: BaseException | None) -> bool:
    """Whether ``error`` (or one it arose from, as when closing the output after it) is EPIPE."""
    while error is not None:
        if isinstance(error, BrokenPipeError) or getattr(error, "errno", None) == errno.EPIPE:
            return True
        error = error.__cause__ or error.__context__
    return False


def downstream_closed() -> int:
    """The reader went away: say nothing more, and keep Python from complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
