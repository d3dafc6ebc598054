"""Mixed precision (``precision="mixed"``): float32 up to the code indices, bfloat16 after them.

The code indices are an argmax over the lookup transformers' logits, and many positions have their
two best logits nearly tied, on the bundled trained models as on the released size with
deterministic weights: bf16 anywhere before that argmax flips more of them than the floors allow,
whether in the encoder's full-resolution level, its latent-resolution blocks, the lookup
transformers, or only the rounding of the input clip (measured one part at a time:
benchmarks/README.md, "Mixed precision on a CPU with native bf16"). So the encoder, the quantizer
(its temporal attention and codebooks) and both lookup transformers stay float32 and run as in fp32,
and the indices are fp32's, bit for bit; only the generator, which decodes the looked-up codes, runs
in bf16.

The network's first parameter (the spatial position embedding) is float32, so the engine, which
feeds a model its input in that parameter's dtype, hands the clip over exact; the generator's output
is bf16, which the engine converts to float32 like any half-precision output.
"""

from __future__ import annotations

import torch

from .network import STCNet

MIXED = "mixed"
LOW_PRECISION = torch.bfloat16
DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def to_mixed(network: STCNet) -> STCNet:
    """``network``, in place: the generator in bf16, everything else float32."""
    network.float()
    network.generator.to(LOW_PRECISION)
    return network


def cast(network: STCNet, precision: str) -> STCNet:
    """``network``, in place, in ``precision``: "fp32", "bf16", "fp16" (the whole network) or "mixed"."""
    if precision == MIXED:
        return to_mixed(network)
    dtype = {name: dtype for dtype, name in DTYPE_NAMES.items()}[precision]
    return network.to(dtype)


def precision_of(network: STCNet) -> str:
    """The precision ``network`` runs in: "fp32", "bf16", "fp16", or "mixed" (float32 up to the code
    indices, bf16 generator)."""
    generator = {parameter.dtype for parameter in network.generator.parameters()}
    rest = {parameter.dtype for name, parameter in network.named_parameters() if not name.startswith("generator.")}
    if generator == {LOW_PRECISION} and rest == {torch.float32}:
        return MIXED
    if len(generator | rest) == 1 and (generator | rest) <= DTYPE_NAMES.keys():
        return DTYPE_NAMES[generator.pop()]
    raise ValueError(f"the network's parameters are {', '.join(sorted(map(str, generator | rest)))}: no precision "
                     f"of {', '.join([*DTYPE_NAMES.values(), MIXED])}")
