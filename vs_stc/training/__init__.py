"""Training both stages of STC: data, degradations, losses, stage-I quantization, the loop and export."""
