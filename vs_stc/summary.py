"""What a batch render (local or on a Ray cluster) prints when it ends: a line per file (its
output, frames, time and speed, notes such as PARTIAL; or why it failed) and the totals."""

from __future__ import annotations

from .jobs import Result


def summary(results: list[Result], runs_on: str | None = None) -> str:
    """``runs_on``: where and how the model ran ("cpu, fp32, torch"), for the totals line."""
    lines = []
    for r in results:
        if r.error:
            lines.append(f"FAILED  {r.source}: {r.error}")
        else:
            fps = r.frames / r.seconds if r.seconds else 0.0
            lines.append(f"ok      {r.source} -> {r.target}  ({r.frames} frames, {r.seconds:.1f} s, {fps:.2f} fps)"
                         + (f"; {r.note}" if r.note else ""))
    done = [r for r in results if not r.error]
    frames = sum(r.frames for r in done)
    seconds = sum(r.seconds for r in done)
    partial = sum(1 for r in done if r.note and r.note.startswith("PARTIAL"))
    lines.append(f"{len(done)} of {len(results)} files restored, {frames} frames in {seconds:.1f} s"
                 + (f" on {runs_on}" if runs_on else "")
                 + (f"; {partial} of them PARTIAL (cut-off inputs)" if partial else ""))
    return "\n".join(lines)
