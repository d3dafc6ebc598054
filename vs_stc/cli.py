"""The ``stc`` command: batch renders, evaluation and test clips, training, weights, the VapourSynth
plugin and the demo. Thin: it parses, calls, and reports."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TextIO

from . import weights
from .errors import EXIT_USAGE, DownloadError, OptionError, STCError
from .options import (CommandLineParser, add_arguments, bounded_int, flag_spelling, from_arguments, given_options,
                      resolve)
from .runtime import runtime


def _weights_list(args: argparse.Namespace) -> int:
    print(f"bundled with vs-stc (offline): {weights.bundled_dir()}")
    for model in weights.BUNDLED.values():
        path = weights.bundled_dir() / model.filename
        state = f"{path.stat().st_size / 2**20:.1f} MiB" if path.is_file() else "missing"
        print(f"{model.name:16} {model.description:52} {state}")
    print(f"released checkpoints, cache directory: {weights.cache_dir()}")
    for spec in weights.REGISTRY.values():
        path = weights.cached_path(spec)
        record = weights.read_record(path) if path.exists() else None
        state = f"cached, {record.size / 2**20:.1f} MiB, sha256 {record.sha256[:16]}" if record else "not downloaded"
        print(f"{spec.name:16} {spec.description:30} {state}\n{'':16} {spec.url}")
    return 0


def _weights_download(args: argparse.Namespace) -> int:
    for name in args.names or list(weights.REGISTRY):
        if name in weights.BUNDLED:
            print(f"{name}: bundled, nothing to download ({weights.bundled_path(name)})")
            continue
        path = weights.ensure_downloaded(weights.spec_for(name), progress=not args.quiet)
        print(f"{name}: {path} (sha256 {weights.read_record(path).sha256})")
    return 0


def _weights_verify(args: argparse.Namespace) -> int:
    from .checkpoints import check_fits
    from .loading import load_model

    failures = 0
    for name in args.names or list(weights.REGISTRY):
        if name in weights.BUNDLED:  # no download record: loading it strictly is the check
            try:
                load_model(name)
            except STCError as error:
                print(f"{name}: FAILED: {error}")
                failures += 1
            else:
                print(f"{name}: ok, bundled ({weights.bundled_path(name)})")
            continue
        spec = weights.spec_for(name)
        path = weights.cached_path(spec)
        if not path.exists():
            print(f"{name}: not downloaded (run `stc weights download {name}`)")
            failures += 1
            continue
        try:
            weights.verify(path)
            check_fits(path, spec.config)
        except STCError as error:
            print(f"{name}: FAILED: {error}")
            failures += 1
        else:
            print(f"{name}: ok ({path})")
    return 1 if failures else 0


def _weights_convert(args: argparse.Namespace) -> int:
    from .checkpoints import convert_to_safetensors
    from .loading import checkpoint_file
    from .outputs import check_output

    source, config = checkpoint_file(args.source)
    target = args.output or source.with_suffix(".safetensors")
    if target.is_dir():
        target = target / f"{source.stem}.safetensors"
    check_output(target, [source], args.overwrite)
    convert_to_safetensors(source, target, config)
    print(f"wrote {target} ({target.stat().st_size / 2**20:.1f} MiB)")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from .graphs import export_graph
    from .outputs import check_output

    if args.output.suffix.lower() != ".onnx":
        raise OptionError("output", f"must end in .onnx, not {args.output.name!r}")
    window = args.window or weights.model_defaults(args.model).window
    if window % 2:
        raise OptionError("window", f"must be an even number of frames, not {window}")
    check_output(args.output, [Path(args.model)] if Path(args.model).is_file() else [], args.overwrite)
    if not args.output.parent.is_dir():
        raise OptionError("output", f"is in {str(args.output.parent)!r}, which is not a folder")
    info = export_graph(args.model, args.output, window, args.precision)
    print(f"wrote {args.output} ({args.output.stat().st_size / 2**20:.1f} MiB): {info.model}, windows of "
          f"{info.window} frames at {info.resolution} x {info.resolution}, {info.precision}")
    return 0


def _vapoursynth_install(args: argparse.Namespace) -> int:
    from .vapoursynth_plugin.plugin import install_plugin

    print(f"installed the stc VapourSynth plugin: {install_plugin(args.target)}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from .batch import run_batch
    from .encoding import Encoder
    from .restorer import load_restorer
    from .summary import summary

    if args.ray is not None or args.resume or args.ray_threads is not None:
        from .cluster.command import render_on_cluster

        return render_on_cluster(args)
    options = from_arguments(args.task, args)
    restore = load_restorer(options)
    if reason := restore.detector_reason:
        print(reason)
    encoder = Encoder(codec=args.codec, crf=args.crf, pix_fmt=args.pix_fmt)
    results = run_batch(args.inputs, args.output, restore, encoder, overwrite=args.overwrite, compare=args.compare,
                        compare_frame=args.compare_frame, quiet=args.quiet, allow_partial=args.allow_partial)
    print(summary(results, options.runs_on))
    for failed in (r for r in results if r.error):  # last on stderr too, after the progress bars
        print(f"stc: error: {failed.source}: {failed.error}", file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


def _degrade(args: argparse.Namespace) -> int:
    from .media.degrade import degrade
    from .media.video_io import WRITABLE_EXTENSIONS, read_video, write_video
    from .outputs import check_output, written_atomically

    if args.output.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise OptionError("output", f"must end in one of {', '.join(WRITABLE_EXTENSIONS)} (lossless video), "
                                    f"not {args.output.name!r}")
    check_output(args.output, [args.input], args.overwrite)
    clip, rate = read_video(args.input)
    with written_atomically(args.output) as partial:
        write_video(degrade(clip, args.kind, seed=args.seed, vary=args.vary), partial, rate)
    print(f"wrote {args.output}: {len(clip)} frames, {args.kind} degradation, seed {args.seed}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from .evaluation.report import evaluate, model_processor, plot, table

    process = None
    if args.filter_task:
        from .loading import load_network

        options = from_arguments(args.filter_task, args)
        network = load_network(options.network)
        process = model_processor(network, options)
    else:  # only the window grid matters: it places the seam score's boundaries
        if given := [flag for flag in given_options(args) if flag not in ("--window", "--overlap")]:
            raise OptionError("run", f"is needed for {', '.join(given)}: they choose how to run a filter; add --run "
                                     "restore or --run deflicker")
        options = resolve("restore", window=args.window, overlap=args.overlap)
    window, overlap = options.window, options.overlap
    results, curves = evaluate(args.clip, args.reference, process, args.filter_task or "restore",
                               args.mode or "brightness", window, overlap)
    if args.json:
        print(json.dumps(results if args.filter_task else results["input"], indent=2))
    else:
        print(table(results))
    if args.plot:
        plot(curves, args.plot)
    return 0


def _train(args: argparse.Namespace) -> int:
    from .training.config import TrainConfig
    from .training.loop import train

    target = train(args.stage, TrainConfig.load(args.config), progress=not args.quiet)
    print(f"exported {target}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    summary = run_demo(args.output)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(prog="stc", description="STC video face enhancement")
    commands = parser.add_subparsers(dest="command", required=True)

    weights_parser = commands.add_parser("weights", help="list, download, verify and convert checkpoints")
    actions = weights_parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="named checkpoints and their cache state").set_defaults(run=_weights_list)
    download = actions.add_parser("download", help="download named checkpoints (all by default)")
    download.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(weights.REGISTRY)}")
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    download.set_defaults(run=_weights_download)
    verify = actions.add_parser("verify", help="check cached checkpoints: checksum and tensor layout")
    verify.add_argument("names", nargs="*", metavar="NAME",
                        help=f"any of: {', '.join([*weights.BUNDLED, *weights.REGISTRY])}")
    verify.set_defaults(run=_weights_verify)
    convert = actions.add_parser("convert", help="write a checkpoint as safetensors without training-only tensors")
    convert.add_argument("source", help="a checkpoint name or a .pth path")
    convert.add_argument("-o", "--output", type=Path, help="output file or folder (default: beside the source)")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing output (never the source)")
    convert.set_defaults(run=_weights_convert)

    for task, text in (("restore", "restore faces in video files"), ("deflicker", "remove flicker from video files")):
        render = commands.add_parser(task, help=text, description=f"{text.capitalize()}: files, folders or globs.")
        render.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, folders or glob patterns")
        render.add_argument("-o", "--output", type=Path, required=True,
                            help="output file (one input) or folder")
        add_arguments(render, task)
        encoding = render.add_argument_group("encoding")
        encoding.add_argument("--codec", default="libx264", help="video encoder (default: libx264)")
        encoding.add_argument("--crf", type=bounded_int(0, 63), default=18,
                              help="quality for CRF encoders, 0 (best) to 51 (x264, x265) or 63 (default: 18)")
        encoding.add_argument("--pix-fmt", help="output pixel format (default: the input's when the encoder takes it)")
        render.add_argument("--overwrite", action="store_true", help="replace existing outputs (never inputs)")
        render.add_argument("--compare", type=Path, metavar="PATH.png", help="write a before/after still")
        render.add_argument("--compare-frame", type=bounded_int(0), help="frame for --compare, from 0 (default: the "
                                                                          "middle)")
        render.add_argument("--allow-partial", action="store_true",
                            help="keep the output of an input that decodes to fewer frames than it declares")
        render.add_argument("--quiet", action="store_true", help="no progress bars")
        render.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                            help="spread the files over a Ray cluster (its address, or RAY_ADDRESS; none: a local "
                                 "Ray runtime)")
        render.add_argument("--ray-threads", type=int, metavar="N",
                            help="with --ray: PyTorch threads per CPU worker (default: a local render's here, so "
                                 "that outputs are identical to a local render on the same kind of CPU)")
        render.add_argument("--resume", action="store_true",
                            help="with --ray: keep finished outputs and the finished parts of unfinished ones")
        render.set_defaults(run=_render, task=task)

    export_parser = commands.add_parser("export", help="write a model in another format")
    formats = export_parser.add_subparsers(dest="format", required=True)
    onnx = formats.add_parser("onnx", help="the model as an ONNX graph for one window length (ONNX Runtime, "
                                           "TensorRT, DirectML, OpenVINO, ...)")
    onnx.add_argument("--model", required=True, help="checkpoint name or file path")
    onnx.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.onnx")
    onnx.add_argument("--window", type=bounded_int(2), help="frames per run, even (default: the model's own)")
    onnx.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                      help="what the graph computes in; it takes and gives float32 either way (default: fp32)")
    onnx.add_argument("--overwrite", action="store_true", help="replace an existing output")
    onnx.set_defaults(run=_export_onnx)

    degrade = commands.add_parser("degrade", help="make a test clip: seeded synthetic degradation")
    degrade.add_argument("input", type=Path)
    degrade.add_argument("-o", "--output", type=Path, required=True, help="lossless output (.mkv: FFV1)")
    degrade.add_argument("--kind", choices=["bfvr", "brightness", "pixel"], required=True)
    degrade.add_argument("--seed", type=int, default=0)
    degrade.add_argument("--vary", action="store_true", help="bfvr: let the degradation drift over time")
    degrade.add_argument("--overwrite", action="store_true", help="replace an existing output (never the input)")
    degrade.set_defaults(run=_degrade)

    evaluate = commands.add_parser("eval", help="metrics of a clip, or of a filter beside its baselines")
    evaluate.add_argument("clip", type=Path)
    evaluate.add_argument("--reference", type=Path, help="the clean clip, for PSNR and SSIM")
    evaluate.add_argument("--run", dest="filter_task", choices=["restore", "deflicker"],
                          help="also run this filter (and its baselines) on the clip and compare")
    add_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true", help="JSON instead of a table")
    evaluate.add_argument("--plot", type=Path, metavar="PATH.png", help="per-frame curves")
    evaluate.set_defaults(run=_eval)

    train = commands.add_parser("train", help="train stage I (VQGAN + codebooks) or stage II (lookup transformers)",
                                description="Train a stage; launch with torchrun for several processes.")
    train.add_argument("stage", choices=["stage1", "stage2"])
    train.add_argument("--config", type=Path, required=True, help="TOML file (see vs_stc/training/config.py)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    vapoursynth_parser = commands.add_parser("vapoursynth", help="the core.stc VapourSynth plugin")
    vs_actions = vapoursynth_parser.add_subparsers(dest="action", required=True)
    install = vs_actions.add_parser("install", help="build the native plugin and install it for autoloading")
    install.add_argument("--target", type=Path, help="plugin folder (default: vapoursynth.get_plugin_dir())")
    install.set_defaults(run=_vapoursynth_install)

    demo = commands.add_parser("demo", help="the bundled tiny models on a held-out face clip, offline")
    demo.add_argument("-o", "--output", type=Path, default=Path("demo-output"), help="output folder")
    demo.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """The command line; ``stdout``/``stderr``: where its reports and progress go (default: the
    process's; callers in process, tests among them, give their own)."""
    with redirect_stdout(stdout or sys.stdout), redirect_stderr(stderr or sys.stderr):
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has reported: a code, for callers in process too
        return int(stop.code or 0)
    try:
        with runtime():
            return args.run(args)
    except OptionError as error:
        print(f"stc: error: {error.spelled(flag_spelling)}", file=sys.stderr)
        return EXIT_USAGE
    except STCError as error:
        print(f"stc: error: {error}", file=sys.stderr)
        return 1 if isinstance(error, DownloadError) else EXIT_USAGE
    except OSError as error:  # unreadable files, full disks: not a usage mistake
        print(f"stc: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
