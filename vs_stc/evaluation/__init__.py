"""Evaluation: synthetic degradations (``stc degrade``) and metric reports (``stc eval``)."""
