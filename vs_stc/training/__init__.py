"""Training both stages of STC (work in progress: the losses and stage-I quantization so far)."""
