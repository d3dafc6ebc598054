"""Media helpers that batch renders, the demo, evaluation and training all use, so that none of
them imports another for them: which files are videos (``files``), lossless video reading and
writing (``video_io``), the synthetic degradations (``degrade``), portraits made into clips and the
held-out face (``portraits``, ``held_out``)."""
