"""``stc restore|deflicker ... --ray [ADDRESS] [--resume]``: the command line's cluster render."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util

from ..encoding import Encoder
from ..errors import OptionError
from ..options import from_arguments
from ..summary import summary


def render_on_cluster(args: argparse.Namespace) -> int:
    if args.ray is None and args.resume:
        raise OptionError("resume", "applies to cluster renders; add --ray (a local render keeps no parts)",
                          related=("ray",))
    if args.ray is None:
        raise OptionError("ray_threads", "applies to cluster renders; add --ray (a local render uses this "
                                         "machine's cores)", related=("ray",))
    if importlib.util.find_spec("ray") is None:
        raise OptionError("ray", "needs Ray, which is not installed: pip install 'vs-stc[ray]'")
    from .driver import run_cluster_batch

    # The workers' device comes from the cluster's resources (the driver may have no GPU itself), so
    # the device, the precision and ONNX Runtime's provider that depend on it are settled once the
    # workers are sized (the provider from the driver's ONNX Runtime: the cluster's should match).
    options = from_arguments(args.task, argparse.Namespace(**{**vars(args), "device": None, "precision": None}))
    options = dataclasses.replace(options, precision=args.precision or options.precision)
    encoder = Encoder(codec=args.codec, crf=args.crf, pix_fmt=args.pix_fmt)
    results = run_cluster_batch(args.inputs, args.output, options, encoder, address=args.ray or None,
                                device=args.device, provider=args.provider, threads=args.ray_threads,
                                overwrite=args.overwrite, compare=args.compare, compare_frame=args.compare_frame,
                                quiet=args.quiet, allow_partial=args.allow_partial, resume=args.resume)
    print(summary(results))
    return 1 if any(r.error for r in results) else 0
