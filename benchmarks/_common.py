"""Tiny benchmark harness: interleaved repeats, best-of timings, targets as ratios."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Target:
    name: str
    value: float
    limit: float
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.limit


@dataclass
class Result:
    name: str
    rows: list[tuple[str, float, str]] = field(default_factory=list)  # (label, value, unit)
    targets: list[Target] = field(default_factory=list)


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` wall time of each function, run interleaved so that machine load
    affects all of them alike (the ratios are what the targets hold)."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best
