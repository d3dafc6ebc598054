"""Batch renders spread over a Ray cluster (``stc restore|deflicker ... --ray [ADDRESS]``).

Each input file is a work unit, and a long file in face-crop mode is cut into chunks on the
engine's window plan (units.py); face mode's files stay whole. Ray actors (worker.py) keep the model loaded and render units; a
unit's restored frames come back to the driver as lossless parts (packing.py), are kept beside the
output until the file is complete (parts.py), and the driver encodes them in one pass through the
same transcoding loop as a local render, so outputs are frame-identical to it (driver.py).
"""

from .driver import run_cluster_batch

__all__ = ["run_cluster_batch"]
