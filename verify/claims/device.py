"""Device claims: the soft-bounds (ALD) response and its update map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

import sim
import theory
from theory import devices as tdev

from .._claim import Check, claim, exact, holds
from ..config import Config, Modes

_DERIVATIONS = (
    "device.soft_bounds.identities",
    "device.soft_bounds.update",
    "device.soft_bounds.box_invariance",
    "device.soft_bounds.odd_symmetry",
    "device.soft_bounds.pulse_limit",
    "device.general.pulse_flow",
    *(f"device.{name}.compact_form" for name in tdev.BUILTINS),
)
# float64 rounding of a few operations on numbers of order 1 (eps = 2.2e-16, times a margin)
_ATOL = 1e-12


@dataclass(frozen=True, kw_only=True)
class _Grid(Config):
    """Points of the w grid (and of the random d) per tau."""

    n: int


_GRID = Modes(quick=_Grid(n=201), full=_Grid(n=2001))


@claim(
    "device.ald_identities",
    title="ALD: F = 1, G = w/tau, M = 1 - w^2/tau^2, U = w + d - |d| w/tau, box invariant, odd",
    statement="The soft-bounds (asymmetric linear) device has F = 1, G(w) = w/tau, M = 1 - w^2/tau^2,"
    " symmetric point 0, update U(w, d) = w + d - |d| w/tau, leaves [-tau, tau] invariant for"
    " |d| <= tau and satisfies U(-w, -d) = -U(w, d). sympy re-derives each identity; the"
    " simulator's numeric devices are compared with the symbolic responses on a grid.",
    reference="arXiv 2406.12774 Sec. 2; arXiv 2502.06309 eq. (3)-(5); spec C1",
    control="run the numeric checks on the generalized linear device with c = 0.2 (symmetric"
    " point 0.2 tau) in place of soft bounds: G = w/tau, the symmetric point and odd symmetry fail",
    config=_GRID,
)
def ald_identities(mode: str, control: bool) -> list[Check]:
    checks = [
        holds(f"sympy: {sid}", cast(theory.Derivation, theory.get(sid)).verify(), "symbolic identity (exact)")
        for sid in _DERIVATIONS
    ]
    n = _GRID[mode].n
    rng = np.random.default_rng(0)
    for tau in (0.5, 1.0, 3.0):
        dev = sim.GeneralizedLinear(tau, 0.2) if control else sim.SoftBounds(tau)
        w = np.linspace(-tau, tau, n)
        d = rng.uniform(-tau, tau, n)
        ref = {k: tdev.soft_bounds().numeric(k, tau=tau) for k in ("q_plus", "q_minus", "F", "G", "M")}
        for k, fn in ref.items():
            err = float(np.max(np.abs(getattr(dev, k)(w) - fn(w))))
            checks.append(exact(f"tau={tau}: sim {k} = sympy ALD {k}", err, 0.0,
                                atol=_ATOL, reason="float64 rounding"))
        checks.append(exact(f"tau={tau}: symmetric point", float(dev.symmetric_point()), 0.0,
                            atol=_ATOL * tau, reason="closed form"))
        U = dev.update(w, d)
        closed = w + d - np.abs(d) * w / tau
        checks.append(exact(f"tau={tau}: update = w + d - |d| w/tau (no clipping needed)",
                            float(np.max(np.abs(U - closed))), 0.0, atol=_ATOL * tau,
                            reason="float64 rounding"))
        checks.append(holds(f"tau={tau}: |U| <= tau for |w|, |d| <= tau",
                            bool(np.all(np.abs(closed) <= tau * (1 + _ATOL))), "box invariance"))
        odd = float(np.max(np.abs(dev.update(-w, -d) + dev.update(w, d))))
        checks.append(exact(f"tau={tau}: U(-w,-d) = -U(w,d)", odd, 0.0, atol=_ATOL * tau,
                            reason="float64 rounding"))
    return checks
