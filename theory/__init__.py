"""Symbolic statements of the analog-training theory: devices, dynamics, bounds, complexities.

Every statement is registered under a stable id; ``python -m theory list`` shows them all.

>>> import theory
>>> b = theory.get("asgd.upper.ald")
>>> float(b.evaluate(Delta_0=1, sigma=0.1, L=1, K=10_000, W_max=0.5, tau=1, S_K=0.2))  # doctest: +ELLIPSIS
0.0093...
"""

from . import (  # noqa: F401 (register)
    agd,
    asgd,
    certify,
    delay,
    devices,
    granularity,
    implicit,
    lower_bound,
    pipeline,
    pulses,
    sgd,
    tiki_taka,
)
from ._core import Assumption, Bound, Derivation, Provenance, entries, get, ids, register

__all__ = ["Assumption", "Bound", "Derivation", "Provenance", "entries", "get", "ids", "register"]
