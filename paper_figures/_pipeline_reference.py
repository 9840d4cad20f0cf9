"""The paper's values for the pipeline figures (arXiv 2410.15155), shared by ``pipeline_speedup``
and ``pipeline_speedup_ablation`` (a private module: figures do not import each other, so that one
figure's edit does not invalidate another's cache)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: the paper's bars (spec 6.2, pixel-read ranges, +-0.05): M -> ((sync lo, hi), (async lo, hi))
PAPER_BARS = {
    1: ((1.0, 1.0), (1.0, 1.0)),
    2: ((1.75, 1.78), (1.85, 1.90)),
    4: ((2.88, 2.91), (3.89, 3.97)),
    8: ((4.22, 4.27), (7.52, 7.55)),
    12: ((5.02, 5.05), (5.78, 5.80)),
    16: ((5.54, 5.57), (7.73, 7.75)),
}


def paper_bars(stages: Iterable[int], kind: str) -> np.ndarray:
    """Mid-points of the paper's pixel-read bars (``kind``: ``"sync"`` or ``"async"``) at
    ``stages``; NaN where the chart has no bar."""
    if kind not in ("sync", "async"):
        raise ValueError(f"kind must be 'sync' or 'async', got {kind!r}")
    col = 0 if kind == "sync" else 1
    return np.array([float(np.mean(PAPER_BARS[int(m)][col])) if int(m) in PAPER_BARS else np.nan
                     for m in stages])
