"""Tiki-Taka's granularity floor at pulse level (``tt.granularity_floor``; issue 12 part 1).

The Tiki-Taka claims in ``tt.py`` are mean-field results (dw_min -> 0). At pulse level every write
is rounded to whole pulses (stochastic rounding), which injects noise of variance
dw|Delta| - Delta^2 per write below one pulse (``granularity.rounding_moments``) into P (the write
-beta g) and into W (the transfer alpha P). ``theory.granularity.tt_stationary`` turns that into a
stationary excess of the floor; ``asgd_stationary`` does the same for Analog SGD's write -alpha g.

What is measured (``sim.simulate`` only; the fig-3 problem, tau = 1, Gaussian noise std 0.1,
alpha = beta, ``sim.PulsedSoftBounds`` without cycle noise, stochastic rounding): the floor =
mean f/D over the second half of K steps, R runs, started at W0 = W* (the floor is a stationary
quantity and does not depend on the start, ``asgd.floor_init_independent``; starting at W* removes
the slow initial transient so that K can be short). Each sweep point has its own seed block (points
are independent, so the weighted fit is valid); Tiki-Taka and Analog SGD at one dw_min share a seed
block (same gradient noise: their difference is a paired per-run quantity).

Prediction. Tiki-Taka: the linearized model (``tt_stationary``) gives the floor's relative growth
F(dw)/F(0); the predicted excess is the measured mean-field floor times F(dw)/F(0) - 1. Reason: the
mean-field floor and the excess are the responses of one Lyapunov operator to different noise inputs,
so an error of that operator (the linearization) scales both; the model's own mean-field floor is
reported next to the measured one (full mode: 3.08e-4 vs 2.95e-4 +- 0.03e-4, 4.5 % high, and a fit
of the pulse-level floors against the *absolute* model excess gives the slope 0.951 +- 0.008: the same
factor). Analog SGD: the absolute excess of ``asgd_stationary`` (its mean-field floor is the implicit
-penalty bias, which the linearization does not model).

Checks (Z = 3 s.e. everywhere; two stated model terms, both computed, never fitted):

* per dw_min: Tiki-Taka's floor - its mean-field floor = predicted excess, s.e. of
  F(dw) - ratio F_mf from the two independent blocks, plus the warm-up term rho^(2 k0) X (the
  linearized covariance relaxes like rho^(2k) from the start; k0 = K/2 burn-in steps); the same for
  Analog SGD with its own rho;
* weighted least squares floor_TT(dw) = c0 + c1 X(dw)/F_model(0) over the sweep (X -> 0 as
  dw -> 0): c0 = measured mean-field floor within Z (s.e. of c0 and of that floor);
* the measured crossing of the floors (root of the paired difference TT - ASGD, linearly interpolated
  in log dw between the sweep points around the sign change, delta-method s.e.) = the derived
  threshold dw* (root of F_TT^mf F(dw)/F(0) = F_A^mf + X_A, s.e. propagated from the mean-field
  floors), plus the interpolation term |root of the interpolated *predicted* difference - dw*|.

Negative control: the pulse-level floors predicted by the mean-field floors alone (X = 0): no excess,
a constant fit, and no crossing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from theory.granularity import asgd_stationary, granularity_threshold, tt_stationary

from .._claim import Check, claim, close, holds
from ..config import Config, Modes, config_cache
from ..stats import Estimate, Z, mean_se, weighted_fit


@dataclass(frozen=True, kw_only=True)
class _Cfg(Config):
    """Settings of the claims reading ``_CFG[mode]`` (one instance per mode)."""

    alpha: float
    steps: int
    runs: int
    inv_dw: tuple[int, ...]


_CFG = Modes(
    # alpha = beta = 0.0125 as in the table. P's write beta|g| ~ 1.0e-3 (E|g| = 0.08), the
    # transfer alpha|P| ~ 3e-4: the sweep runs from many-pulse writes (dw = 1/2400) to sub-pulse ones.
    # Relaxation: the linearized recursion's covariance relaxes like rho^(2k), rho^(2 * 2000) ~ 0.08
    # (quick) and rho^(2 * 6000) ~ 6e-4 (full) at the end of the burn-in from W0 = W*, P0 = 0; that
    # fraction of the predicted excess is the stated warm-up term of the excess checks.
    quick=_Cfg(alpha=0.0125, steps=4000, runs=32, inv_dw=(800, 400, 300, 200)),
    full=_Cfg(alpha=0.0125, steps=12000, runs=64,
              inv_dw=(4800, 2400, 1200, 800, 500, 400, 340, 300, 250, 200)),
)


@dataclass(frozen=True, kw_only=True)
class _Problem(Config):
    """The fixed settings ``_PROBLEM``."""

    name: str
    tau: float
    std: float


_PROBLEM = _Problem(name="exact_fig3", tau=1.0, std=0.1)
_BRACKET = (1 / 8000, 1 / 100)  # where the derived threshold is searched


@config_cache
def _floors(mode: str, kind: str, inv_dw: float, block: int) -> np.ndarray:
    """Per-run floors (mean f/D over the second half) of ``kind`` at dw_min = tau/inv_dw (0: mean
    field), runs of seed block ``block`` (independent blocks for independent sweep points)."""
    cfg = _CFG[mode]
    prob = sim.paper_problem(_PROBLEM.name)
    tau = _PROBLEM.tau
    dev: sim.Device
    upd: sim.optimizers.UpdateMode
    if inv_dw == 0:
        dev, upd = sim.SoftBounds(tau), "mean_field"
    else:
        dev, upd = sim.PulsedSoftBounds(dw_min=tau / inv_dw, w_max=tau, w_min=-tau), "pulsed"
    a = cfg.alpha
    algo: sim.Algorithm = (sim.TikiTaka(a, a, dev, mode=upd) if kind == "tt"
                           else sim.AnalogSGD(a, dev, mode=upd))
    R = cfg.runs
    tr = sim.simulate(prob, algo, steps=cfg.steps, seeds=np.arange(block * R, (block + 1) * R),
                      noise=sim.GaussianNoise(_PROBLEM.std), w0=prob.w_star, record=("loss",),
                      progress=False)
    return tr.tail_average("loss", 0.5) / prob.dim


@config_cache
def _predictions(mode: str) -> dict[str, Any]:
    cfg = _CFG[mode]
    prob = sim.paper_problem(_PROBLEM.name)
    kw: dict[str, Any] = dict(tau_value=_PROBLEM.tau, sigma=_PROBLEM.std, alpha_value=cfg.alpha)
    dws = _PROBLEM.tau / np.array(cfg.inv_dw, dtype=float)
    base = tt_stationary(prob.H, prob.w_star, beta_value=cfg.alpha, dw_min=0.0, **kw)
    tts = [tt_stationary(prob.H, prob.w_star, beta_value=cfg.alpha, dw_min=x, **kw) for x in dws]
    asgds = [asgd_stationary(prob.H, prob.w_star, dw_min=x, **kw) for x in dws]
    k0 = cfg.steps // 2  # the floor averages the second half
    # warm-up term: a covariance relaxes like rho^(2k) (rho: spectral radius of the linearized
    # recursion); the runs start with no fluctuation, so the tail average misses at most rho^(2 k0)
    # of the stationary excess (slowest of the pulse-level and mean-field recursions)
    warm_tt = np.array([max(t.rho, base.rho) ** (2 * k0) for t in tts])
    warm_a = np.array([a.rho ** (2 * k0) for a in asgds])

    def excesses(dw: float) -> tuple[float, float]:
        """Model excess of Tiki-Taka (unscaled) and of Analog SGD at one dw_min."""
        tt = tt_stationary(prob.H, prob.w_star, beta_value=cfg.alpha, dw_min=dw, tol=1e-7, **kw)
        return tt.floor - base.floor, asgd_stationary(prob.H, prob.w_star, dw_min=dw, **kw).floor

    return dict(dws=dws, x_tt=np.array([t.floor - base.floor for t in tts]),
                x_a=np.array([a.floor for a in asgds]), warm_tt=warm_tt, warm_a=warm_a,
                model_mf_floor=base.floor, excesses=excesses)


@config_cache
def derived_threshold(mode: str) -> tuple[float, float]:
    r"""The derived granularity threshold dw* of ``mode`` and the s.e. of log dw*.

    dw* is the root of :math:`F_A + X_A(\delta) = F_{TT}(1 + X_{TT}(\delta)/F_{model}(0))`
    (:func:`theory.granularity.granularity_threshold` on the model excesses of ``tt_stationary`` /
    ``asgd_stationary``, scaled as in ``tt.granularity_floor``), with the measured mean-field floors
    :math:`F_{TT}, F_A` of seed block 0; its s.e. propagates theirs through
    :math:`h = F_A + X_A - F_{TT}(1 + X_{TT}/F_{model}(0))`, :math:`d\log\delta^* = -dh/(\partial h/
    \partial\log\delta)`. Shared by ``tt.granularity_floor`` and ``tt.no_floor`` (same cache).
    """
    pred = _predictions(mode)
    e_tt_mf, e_a_mf = mean_se(_floors(mode, "tt", 0, 0)), mean_se(_floors(mode, "asgd", 0, 0))
    m0 = float(pred["model_mf_floor"])
    scale = e_tt_mf.mean / m0

    def difference(dw: float) -> float:
        x_tt, x_as = pred["excesses"](dw)
        return scale * x_tt - x_as

    star = granularity_threshold(e_a_mf.mean - e_tt_mf.mean, difference, *_BRACKET)
    h = 1e-3
    dd = (difference(star * np.exp(h)) - difference(star * np.exp(-h))) / (2 * h)
    ratio_star = 1 + pred["excesses"](star)[0] / m0
    return star, float(np.hypot(e_a_mf.se, ratio_star * e_tt_mf.se) / abs(dd))


def _interp_root(x: np.ndarray, y: np.ndarray) -> int | None:
    """Index i of the first sign change y[i] < 0 <= y[i+1] along increasing x (None if none)."""
    idx = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    return int(idx[0]) if idx.size else None


def _root(x1: float, x2: float, y1: float, y2: float) -> float:
    return x1 + (x2 - x1) * (-y1) / (y2 - y1)


@claim(
    "tt.granularity_floor",
    title="pulse level: stochastic-rounding writes add a granularity excess to Tiki-Taka's floor;"
    " below a derived dw_min* Tiki-Taka's floor is under Analog SGD's, above it it is not",
    statement="Regime: pulse level (sim.PulsedSoftBounds, tau = 1, stochastic rounding of |Delta|/dw_min,"
    " no cycle-to-cycle noise, no BL pulse trains, no device-to-device variation), fig-3 problem"
    " (D = 40), Gaussian gradient noise std 0.1, alpha = beta = 0.0125, floor = mean f/D over the"
    " second half. (i) For every dw_min of the sweep, Tiki-Taka's floor = its mean-field floor + the"
    " derived rounding excess (theory.granularity.tt_stationary: a rounded write has mean Delta and"
    " variance dw|Delta| - Delta^2 below one pulse, entering P's write and the transfer; linearized"
    " stationary covariance, used as the relative growth F(dw)/F(0) on the measured mean-field floor),"
    " and Analog SGD's floor = its mean-field floor + its own, much smaller, excess (asgd_stationary);"
    " (ii) the weighted least-squares intercept of floor_TT against the"
    " predicted excess (dw_min -> 0) is the mean-field Tiki-Taka floor; (iii) the measured crossing of"
    " the two floors lies at the derived threshold dw_min*. Tolerances: Z = 3 s.e. over runs or of the"
    " fit, plus two computed model terms: the warm-up term rho^(2 k0) X of the excess and the"
    " linear-interpolation term of the crossing.",
    reference="issue 12 (measured table); theory granularity.rounding_moments,"
    " granularity.gaussian_average, granularity.tt_mode_variance, granularity.asgd_mode_variance"
    " (derived here); arXiv 2406.12774 Sec. 4 (Tiki-Taka); aihwkit stochastic rounding",
    control="predict the pulse-level floors with the mean-field floors alone (no rounding excess):"
    " the excess checks, the intercept of a constant fit and the crossing (none predicted) fail",
    config=_CFG,
)
def granularity_floor(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _CFG[mode]
    inv = cfg.inv_dw
    pred = _predictions(mode)
    dws = pred["dws"]
    tt_mf, a_mf = _floors(mode, "tt", 0, 0), _floors(mode, "asgd", 0, 0)
    e_tt_mf, e_a_mf = mean_se(tt_mf), mean_se(a_mf)
    # Tiki-Taka: the linearized model predicts the relative growth F(dw)/F(0) of the floor (its excess
    # and its mean-field floor are responses of one Lyapunov operator to different noise inputs); the
    # scale is the measured mean-field floor. Analog SGD: the absolute excess (its mean-field floor is
    # a bias, not modeled by the linearization).
    m0 = float(pred["model_mf_floor"])
    ratio_tt = 1.0 + (np.zeros_like(dws) if control else pred["x_tt"] / m0)
    x_a = np.zeros_like(dws) if control else pred["x_a"]
    tt = [_floors(mode, "tt", n, j + 1) for j, n in enumerate(inv)]
    asgd = [_floors(mode, "asgd", n, j + 1) for j, n in enumerate(inv)]
    checks: list[Check] = []
    rows = []
    for j, n in enumerate(inv):
        et, ea = mean_se(tt[j]), mean_se(asgd[j])
        # measured excess F(dw) - F_mf vs predicted F_mf (ratio - 1): the check is F(dw) = ratio F_mf,
        # whose s.e. combines the two independent blocks: sqrt(se_dw^2 + ratio^2 se_mf^2)
        ex_tt = Estimate(et.mean - e_tt_mf.mean, float(np.hypot(et.se, ratio_tt[j] * e_tt_mf.se)), et.n)
        ex_a = Estimate(ea.mean - e_a_mf.mean, float(np.hypot(ea.se, e_a_mf.se)), ea.n)
        x_tt_j = e_tt_mf.mean * (ratio_tt[j] - 1)
        w_tt, w_a = float(pred["warm_tt"][j] * x_tt_j), float(pred["warm_a"][j] * x_a[j])
        checks.append(close(
            f"Tiki-Taka floor - mean-field floor at dw_min = tau/{n}", ex_tt, x_tt_j, model_tol=w_tt,
            reason=f"{Z:g} s.e. of F(dw) - ratio F_mf (two independent blocks of runs) + warm-up term"
            f" rho^(2 k0) X = {w_tt:.2g}"))
        checks.append(close(
            f"Analog SGD floor - mean-field floor at dw_min = tau/{n}", ex_a, float(x_a[j]), model_tol=w_a,
            reason=f"{Z:g} s.e. of the difference of two independent means over runs + warm-up term"
            f" rho^(2 k0) X = {w_a:.2g}"))
        d = mean_se(tt[j] - asgd[j])
        rows.append(dict(dw_min=float(dws[j]), tt_floor=et.mean, tt_se=et.se, asgd_floor=ea.mean,
                         asgd_se=ea.se, tt_predicted=e_tt_mf.mean * (1 + float(pred["x_tt"][j]) / m0),
                         asgd_predicted=e_a_mf.mean + float(pred["x_a"][j]),
                         tt_minus_asgd=d.mean, tt_minus_asgd_se=d.se))
    # (ii) dw -> 0 intercept: floor_TT = c0 + c1 X(dw), X = model excess (0 at dw = 0); control: constant
    means = np.array([r["tt_floor"] for r in rows])
    ses = np.array([r["tt_se"] for r in rows])
    design = (np.ones((len(inv), 1)) if control
              else np.column_stack([np.ones(len(inv)), pred["x_tt"] / m0]))
    fit = weighted_fit(design, means, ses)
    c0 = fit.estimate(0)
    checks.append(close(
        "weighted fit floor_TT = c0 + c1 X(dw)/F_model(0): c0 (dw -> 0) = mean-field Tiki-Taka floor",
        Estimate(c0.mean, float(np.hypot(c0.se, e_tt_mf.se)), c0.n), e_tt_mf.mean,
        reason=f"{Z:g} s.e. of the fitted intercept (weighted least squares, errors inflated by"
        f" sqrt(chi2/dof) = sqrt({fit.chi2_dof:.2f}) if > 1) and of the mean-field floor, combined"))
    details: dict = dict(rows=rows, mean_field_tt=e_tt_mf.mean, mean_field_tt_se=e_tt_mf.se,
                         mean_field_asgd=e_a_mf.mean, mean_field_asgd_se=e_a_mf.se,
                         model_mean_field_tt=m0, fit_coef=fit.coef.tolist(), fit_se=fit.se.tolist(),
                         fit_chi2_dof=fit.chi2_dof)
    # (iii) crossing: measured (paired TT - ASGD, interpolated in log dw) vs derived threshold
    order = np.argsort(dws)  # increasing dw
    logx = np.log(dws[order])
    diff = np.array([r["tt_minus_asgd"] for r in rows])[order]
    dse = np.array([r["tt_minus_asgd_se"] for r in rows])[order]
    gap = e_a_mf.mean - e_tt_mf.mean
    if control:
        checks.append(holds("crossing of the floors where the prediction puts it", False,
                            "the mean-field floors alone predict Tiki-Taka below Analog SGD at every"
                            f" dw_min (gap {gap:.3g} > 0): no crossing"))
        return checks, details
    scale = e_tt_mf.mean / m0
    star, se_star_log = derived_threshold(mode)
    details.update(derived_threshold=star, derived_threshold_se_log=se_star_log)
    i = _interp_root(logx, diff)
    if i is None:
        checks.append(holds("measured crossing of the floors at the derived threshold", False,
                            "the measured floors do not cross inside the sweep", predicted=star))
        return checks, details
    x1, x2, y1, y2 = logx[i], logx[i + 1], diff[i], diff[i + 1]
    root = _root(x1, x2, y1, y2)
    # delta method: d root / d y1 = (x2 - x1) y2 / (y2 - y1)^2, d root / d y2 = -(x2 - x1) y1 / (y2 - y1)^2
    g1 = (x2 - x1) * y2 / (y2 - y1) ** 2
    g2 = -(x2 - x1) * y1 / (y2 - y1) ** 2
    se_root = float(np.hypot(g1 * dse[i], g2 * dse[i + 1]))
    # interpolation term: the same linear interpolation applied to the *predicted* difference curve
    pdiff = (scale * pred["x_tt"] - pred["x_a"])[order] - gap  # predicted TT - ASGD
    interp = abs(_root(x1, x2, pdiff[i], pdiff[i + 1]) - np.log(star))
    checks.append(close(
        "measured crossing log dw_min (TT - ASGD = 0, paired) = derived threshold log dw_min*",
        Estimate(root, float(np.hypot(se_root, se_star_log)), len(rows)), float(np.log(star)),
        model_tol=interp,
        reason=f"{Z:g} s.e. (delta method on the two paired differences around the sign change, and"
        f" the mean-field floors' s.e. propagated to dw*) + the linear-interpolation term {interp:.3g}"
        " (the same interpolation applied to the predicted curve, minus its exact root)"))
    details.update(measured_crossing=float(np.exp(root)), measured_crossing_se_log=se_root,
                   interpolation_term_log=float(interp))
    return checks, details
