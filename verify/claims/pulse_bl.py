"""aihwkit's update BL management at pulse level: the pulse-count law of a BL-managed update.

aihwkit's default ``UpdateParameters`` (``update_bl_management=True`` with update management) chooses
the pulse-train length per update from the largest requested change (C++
``rpu_pulsed_meta_parameter.cpp::performUpdateManagement``): L = min(ceil(r_max), BL) slots, so an
element requesting r = |d|/dw_min pulses gets n ~ Binomial(L, r/L). The prediction is
:mod:`theory.pulses` ``pulse.bl_management_moments``; the simulation is :mod:`sim.pulsed` (elementwise
``pulse_counts`` and the rank-1 ``pulsed_update_outer`` of a 1 x 1 tile, whose coincidence count is
read off a constant-step device).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import sim
from sim import BatchRNG
from theory.pulses import bl_count_moments

from .._claim import Check, claim, close
from ..config import Config, Modes, config_cache
from ..stats import Z, mean_se, variance_se

#: requested changes r = |d|/dw_min (non-integers: at an integer r the count is deterministic)
_R = (0.1, 0.3, 0.55, 0.9, 1.4, 2.5, 3.7, 6.2, 9.7)
_BL = 31  # aihwkit's default desired_bl (the maximum length under BL management)


@dataclass(frozen=True, kw_only=True)
class _Cfg(Config):
    """Settings of the claims reading ``_CFG[mode]`` (one instance per mode)."""

    rs: tuple[float, ...]
    runs: int
    elements: int
    outer_runs: int


_CFG = Modes(
    quick=_Cfg(rs=_R, runs=64, elements=4000, outer_runs=20_000),
    full=_Cfg(rs=_R, runs=256, elements=8000, outer_runs=100_000),
)
_DW = 1e-3


@config_cache
def _counts(mode: str) -> dict:
    """Pulse counts per r: elementwise (runs x elements, iid given r) and outer product (one 1 x 1
    tile per run, so runs are iid)."""
    cfg = _CFG[mode]
    dev = sim.PulsedSoftBounds(dw_min=_DW, desired_bl=_BL)  # update_bl_management on (default)
    # constant step on wide bounds: the displacement of a rank-1 update is exactly n dw_min
    cst = sim.PulsedConstantStep(dw_min=_DW, w_max=1e3, w_min=-1e3)
    out: dict = {"elementwise": [], "outer": []}
    for i, r in enumerate(cfg.rs):
        rng = BatchRNG(500 + i, range(cfg.runs), "pulse_bl_counts")
        inc = np.full((cfg.runs, cfg.elements), r * _DW)
        out["elementwise"].append(dev.pulse_counts(inc, rng))
        R = cfg.outer_runs
        rng = BatchRNG(600 + i, range(R), "pulse_bl_outer")
        lr = 0.1  # lr |x d| = r dw_min with x = 1, d = r dw_min / lr
        x, d = np.ones((R, 1)), np.full((R, 1), -r * _DW / lr)
        w = cst.pulsed_update_outer(np.zeros((R, 1, 1)), x, d, lr, rng, desired_bl=_BL)
        out["outer"].append(np.round(w[:, 0, 0] / _DW))
    return out


@claim(
    "pulse.update_bl_management",
    title="BL-managed update (aihwkit default): pulse count mean r, variance r(1 - r/ceil(r))",
    statement="With aihwkit's update_bl_management (train length L = min(ceil(r_max), BL) per"
    " update, BL = 31), an element requesting r = |d|/dw_min pulses (the largest request) gets a"
    " pulse count of mean r and variance r(1 - r/L): for r < 1 exactly the stochastic rounding"
    " variance r(1 - r), far below a fixed 31-slot train's r(1 - r/31). Checked over r in [0.1, 10]"
    " for the elementwise pulse_counts and the rank-1 outer-product update (1 x 1 tile, update"
    " management), Z = 3 s.e. for means and variances.",
    reference="aihwkit rpu_pulsed_meta_parameter.cpp::performUpdateManagement,"
    " sparse_bit_line_maker.cpp; theory pulse.bl_management_moments",
    control="predict the variances with the fixed-BL train (L = 31 slots for every update)",
    config=_CFG,
)
def update_bl_management(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _CFG[mode]
    counts = _counts(mode)
    checks: list[Check] = []
    details: dict = {"r": list(cfg.rs), "bl": _BL}
    for path in ("elementwise", "outer"):
        means, vars_, pred_v = [], [], []
        for r, n in zip(cfg.rs, counts[path], strict=True):
            mean_p, var_p = bl_count_moments(r, _BL, managed=not control)
            m, v = mean_se(np.ravel(n), ddof=0), variance_se(n)
            checks.append(close(f"{path}: mean count at r={r:g}", m, mean_p,
                                reason=f"{Z:g} s.e. over {m.n} iid counts"))
            checks.append(close(f"{path}: count variance at r={r:g}", v, var_p,
                                reason=f"{Z:g} s.e. of the sample variance (fourth-moment formula)"
                                f" over {v.n} iid counts"))
            means.append(m.mean)
            vars_.append(v.mean)
            pred_v.append(var_p)
        details[f"{path}_mean"] = means
        details[f"{path}_var"] = vars_
        details[f"{path}_var_predicted"] = pred_v
    details["fixed_bl_var"] = [bl_count_moments(r, _BL, managed=False)[1] for r in cfg.rs]
    return checks, details
