"""Turning RetinaFace's raw outputs into faces: anchor priors, box and landmark decoding, NMS.

Both shipped detectors are RetinaFace networks of the same head layout (ResNet-50 through facexlib,
MobileNet-0.25 through onnxruntime), so they share this one decoder and differ only in how they
run the network. Everything stays in float (landmarks are never rounded) and in numpy, so the
decoder is the same on CPU and GPU runs and is tested once.

The network predicts, for every anchor, a class score, a box offset and five landmark offsets.
Anchors sit at the centre of every cell of three feature maps (strides 8, 16, 32), two square
sizes per map; offsets are scaled by the anchor size and the "variances" (0.1 for centres, 0.2 for
log sizes) the network was trained with (RetinaFace, Deng et al. 2019).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from .types import Face

STEPS = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
CENTRE_VARIANCE, SIZE_VARIANCE = 0.1, 0.2
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # the training images' mean, BGR order


def network_input(images: np.ndarray) -> np.ndarray:
    """RGB uint8 (N, H, W, 3) -> the networks' input: float32 (N, 3, H, W), BGR, mean removed.
    OpenCV's blob maker does it in one pass (4 times faster than numpy's three); it subtracts the
    mean before swapping the channels, so the mean is given in BGR order."""
    return cv2.dnn.blobFromImages(list(images), 1.0, None, tuple(BGR_MEAN.tolist()), swapRB=True, crop=False)


@lru_cache(maxsize=8)
def priors(height: int, width: int) -> np.ndarray:
    """Anchors of an image of this size, (N, 4) as (cx, cy, size, size) in pixels, in the order
    the heads emit them: stride by stride, row by row, column by column, size by size."""
    levels = []
    for step, sizes in zip(STEPS, ANCHOR_SIZES):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * step, (np.arange(cols) + 0.5) * step, indexing="ij")
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)
        for_cells = np.repeat(centres, len(sizes), axis=0)
        size = np.tile(np.asarray(sizes, dtype=np.float64), rows * cols)[:, None]
        levels.append(np.hstack([for_cells, size, size]))
    result = np.concatenate(levels)
    result.setflags(write=False)
    return result


def decode(loc: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, height: int, width: int,
           threshold: float, nms_iou: float = 0.4) -> list[Face]:
    """One image's outputs -> faces. ``loc`` (N, 4), ``scores`` (N,) face probability,
    ``landmarks`` (N, 10), for the anchors of ``priors(height, width)``."""
    anchors = priors(height, width)
    if len(anchors) != len(scores):
        raise ValueError(f"the network gave {len(scores)} anchors for a {width}x{height} image, "
                         f"expected {len(anchors)}")
    keep = np.flatnonzero(scores > threshold)
    if keep.size == 0:
        return []
    a, loc, lm, sc = anchors[keep], loc[keep].astype(np.float64), landmarks[keep].astype(np.float64), scores[keep]
    centre = a[:, :2] + loc[:, :2] * CENTRE_VARIANCE * a[:, 2:]
    size = a[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
    boxes = np.hstack([centre - size / 2, centre + size / 2])
    points = a[:, None, :2] + lm.reshape(-1, 5, 2) * CENTRE_VARIANCE * a[:, None, 2:]
    order = nms(boxes, sc, nms_iou)
    return [Face(boxes[i], points[i], float(sc[i])) for i in order]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4): (N, M)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression: indices kept, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    kept: list[int] = []
    while order:
        best, order = order[0], order[1:]
        kept.append(int(best))
        if order:
            overlaps = box_iou(boxes[best:best + 1], boxes[order])[0]
            order = [i for i, o in zip(order, overlaps) if o <= iou]
    return kept
