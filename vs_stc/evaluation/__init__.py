"""Evaluation: metric reports (``stc eval``). The degradations of ``stc degrade`` and the held-out
clips are media helpers (``vs_stc.media``)."""
