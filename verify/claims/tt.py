"""Tiki-Taka and residual-learning claims (arXiv 2406.12774 Sec. 4; 2502.06309 Sec. 4-5).

Tiki-Taka removes Analog SGD's asymptotic error (``tt.no_floor``) because P tracks a scaled
gradient (``tt.p_tracks_scaled_gradient``); it needs P's symmetric point at zero
(``tt.needs_zero_symmetric_point``); residual learning (gamma > 0) improves on it
(``rl.exact_convergence``); the rate forms hold on measured P_max (``tt.bound_holds``).

How "no floor" is tested. No tolerance here is chosen from the data: every check is Z = 3 standard
errors of a mean over independent runs or of a weighted least-squares coefficient (``verify.stats.
weighted_fit``, errors inflated by sqrt(chi2/dof) when the scatter exceeds them), in a stated model:

* fixed step: the stationary floor f(alpha) = c0 + c1 alpha + c2 alpha^2 (second-order expansion in
  the step; ``tt.step_size`` predicts c0 = 0, c1 > 0). "No floor" is c0 = 0 within Z s.e. and c1 > 0;
  Analog SGD's c0 must exceed 0 by Z s.e. (its asymptotic error). The log-log slope and the model's
  local exponent d log f / d log alpha = (c1 alpha + 2 c2 alpha^2)/f are reported, not tested.
* alpha = beta = alpha0 sqrt(K0/K): the averaged squared gradient E_K = A/sqrt(K) + C/K + F (the basis
  of ``theory.certify.empirical_constants``; ``tt.rate`` predicts F = 0, A > 0), checked the same way,
  except that F = 0 is tested only where ``tt.rate``'s assumption P_max < tau/sqrt(33) holds on the
  runs (else not applicable, never a pass; the measured F is reported).
* the constant implied by a rate form, C_hat(K) = E_K / (its K-dependence at C = 1), is the same basis
  times sqrt(K): a + b/sqrt(K) + g sqrt(K); "does not grow" is g <= Z s.e. (``tt.bound_holds``).

* pulse level (issue 12): the claims above are mean-field (dw_min -> 0). At dw_min = dw*/4, dw* the
  granularity threshold of ``tt.granularity_floor`` (``granularity.derived_threshold``: the derived
  excesses of ``theory.granularity`` on that claim's measured mean-field floors), Tiki-Taka's
  pulse-level floor must lie below Analog SGD's (paired runs, Z s.e.); at 2 dw* the order must flip.
  The runs are ``tt.granularity_floor``'s (its ``_floors`` cache) on a seed block that claim does not
  use, so they are independent of the mean-field floors that place dw*.

These replace log-log exponent checks that carried a 0.15 (alpha) / 0.075 (K) "pre-asymptotic
allowance" fixed after a prototype measured 0.88. The models were specified before any run; the grids
are geometric with two (quick) or two to four (full) residual degrees of freedom.
Outcome (README claims table): the fixed-step checks pass in quick and full mode (full: c0 =
7.4e-5 +- 2.9e-5 on alpha 0.0016-0.025). ``tt.bound_holds`` fails in full mode (residual learning's
growth coefficient g = 2.9e-3 +- 8.2e-4), recorded as a strict expected failure in the test suite.
Measured exponents, reported in the details only: floor vs step 0.880 +- 0.017 (alpha 0.025-0.1),
0.912 +- 0.012 (0.0016-0.025); K-slope under alpha = beta ~ 1/sqrt(K) -0.426 +- 0.006.

What the rate-form floor F is (investigated 2026-12-07, after the random-stream change). Tiki-Taka's
F comes out positive on every seed and grid tried: quick (K 1000-16000, 16 runs) 2.25e-3 +- 4.8e-4
(20 % of Analog SGD's 1.12e-2), full (K 1000-64000, 32 runs) 8.0e-4 +- 1.6e-4 (7 %), chi2/dof 2.6.
It is not an asymptotic error: the fixed-step intercept c0 estimates the same zero-step limit and is
7.4e-5 +- 2.9e-5 (full), 4.4 s.e. below F, and the stationary floor f(alpha) keeps falling linearly
(f/alpha = 0.35, 0.39, 0.43, 0.47, 0.49 at alpha = 0.1, 0.05, 0.025, 0.0125, 0.00625; 16 runs). Two
estimates of one limit disagreeing means the rate form is misspecified on these grids, which reach
large steps (alpha = 0.1 at K = 1000): f/alpha is not affine in alpha there (a quadratic fixed-step
fit over alpha 0.00625-0.1 leaves c0 = 3.5e-4 +- 0.8e-4, one with an extra alpha^1.5 term c0 =
-0.9e-4 +- 2.2e-4), and the transient sum K (E_K - tail floor) grows like K^0.59 (5.7 to 67 over
K 1000-64000) instead of the sqrt(K) = 1/alpha of the basis. F moves with the grid (seed 0, 16 runs:
2.2e-3 on K 1000-16000, 7.6e-4 on 1000-64000, 0.9e-4 +- 2.4e-4 on 4000-64000; seeds 1, 2 on
4000-64000: 2.9e-4 +- 2.0e-4, 6.5e-4 +- 2.1e-4). A half-integer power alpha^1.5 (K^-3/4) is
suggested by ||P|| ~ sqrt(beta) entering the soft-bounds drift -alpha |P| W / tau, but it is not
derived here, so it is not added to the model (with a free coefficient on five points it would only
dilute the test). ``tt.rate`` itself guarantees F = 0 only for P_max < tau/sqrt(33) = 0.174, and the
measured P_max/tau on these runs is 0.37-0.43 (the early transient), so the F = 0 comparison is
reported as not applicable with the measured F (details ``tt_rate_F``, ``tt_rate_F_over_asgd_F``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
import theory
from theory.implicit import mean_abs
from theory.tiki_taka import p_fixed_point_value

from .._claim import Check, claim, close, holds, lower, not_applicable
from ..config import Config, Modes, config_cache
from ..stats import Estimate, Fit, Z, loglog_slope, mean_se, mean_se_rows, weighted_fit
from .granularity import _CFG as _GRANULARITY_CFG
from .granularity import _PROBLEM as _GRANULARITY_PROBLEM
from .granularity import _floors as _granularity_floors
from .granularity import derived_threshold

_FIT_WHY = (f"{Z:g} s.e. of the weighted least-squares coefficient (per-point errors from the runs,"
            " inflated by sqrt(chi2/dof) if the scatter exceeds them)")


def _drive(problem: sim.Quadratic, algo, *, steps: int, runs: np.ndarray, noise, w0=0.0,
           seed: int = 0, tail: float = 0.5) -> dict[str, np.ndarray]:
    """Run ``algo`` through :func:`sim.simulate` and return what the TT claims need (its recorders).

    Per-run arrays: ``avg`` = (1/K) sum_{k<K} ||grad f(W_k)||^2, ``avg_bar`` the same at the query
    point W + gamma P, ``floor`` / ``loss`` the averages of ||grad f(W_k)||^2 and f(W_k) - f* over the
    tail ``k0 <= k < K`` (k0 = int(K (1 - tail))); for a two-array optimizer also ``p_max`` =
    max_{k<K} ||P_k||_inf, ``s_rl`` = (1/K) sum_{k<K} ||G(P_k)/sqrt(F(P_k))||_inf^2 and ``p_mean``
    the tail average of P (shape ``(R, D)``); for a one-array optimizer ``p_max`` and ``s_rl`` are 0.
    """
    k0 = int(steps * (1 - tail))
    recorders: dict[str, sim.Recorder] = {
        "avg": sim.Mean("grad_norm2"), "avg_bar": sim.Mean(sim.query_grad_norm2),
        "floor": sim.Mean("grad_norm2", start=k0), "loss": sim.Mean("loss", start=k0)}
    two_array = hasattr(algo, "beta")
    if two_array:
        recorders |= {"p_max": sim.Max(sim.p_inf), "s_rl": sim.Mean(sim.s_rl_terms(algo.device)),
                      "p_mean": sim.Mean(sim.p_array, start=k0)}
    traj = sim.simulate(problem, algo, steps=steps, seeds=runs, seed=seed, noise=noise, w0=w0, record=(),
                        recorders=recorders, progress=False)
    out = dict(traj.recorded)
    if not two_array:
        R = runs.size
        out |= {"p_max": np.zeros(R), "s_rl": np.zeros(R), "p_mean": np.zeros((R, problem.dim))}
    return out


def _seeds(R: int, groups: int = 1) -> np.ndarray:
    """Run indices 0..R-1 repeated per group: the groups share their noise (paired comparisons)."""
    return np.tile(np.arange(R), groups)


def _group(x: np.ndarray, groups: int) -> np.ndarray:
    return x.reshape(groups, -1)


# --- tt.no_floor ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _NoFloor(Config):
    """Settings of the claims reading ``_NO_FLOOR[mode]`` (one instance per mode)."""

    alphas: tuple[float, ...]
    horizon: float
    Ks: tuple[int, ...]
    alpha0: float
    runs: int


_NO_FLOOR = Modes(
    # D = 40 problem, tau = 1, Gaussian std 0.1 (spec C10). Fixed steps alpha = beta with K = 150/alpha
    # (second half averaged); the K sweep uses alpha = beta = alpha0 sqrt(K0 / K).
    # Five points per fit (three-parameter models leave two degrees of freedom for the chi2 check).
    quick=_NoFloor(alphas=tuple(0.1 * 2.0 ** (-j / 2) for j in range(5)), horizon=150.0,
                   Ks=tuple(1000 * 2**j for j in range(5)), alpha0=0.1, runs=16),
    full=_NoFloor(alphas=(0.025, 0.0125, 0.00625, 0.003125, 0.0015625), horizon=150.0,
                  Ks=tuple(1000 * 2**j for j in range(7)), alpha0=0.1, runs=32),
)


@dataclass(frozen=True, kw_only=True)
class _D40Settings(Config):
    """The fixed settings ``_D40``."""

    tau: float
    std: float


_D40 = _D40Settings(tau=1.0, std=0.1)


# (iii) pulse level: dw_min = factor * dw*, dw* = theory.granularity threshold derived on
# tt.granularity_floor's problem (``derived_threshold``, cached there). Below it (dw*/4) Tiki-Taka's
# floor must be under Analog SGD's; at 2 dw* the order flips.
_PULSE_FACTORS = (0.25, 2.0)


def _pulse_block(mode: str) -> int:
    """Seed block of the pulse-level runs: the first block tt.granularity_floor does not use (its
    mean-field floors, from which dw* is derived, are block 0, its sweep blocks 1..n), so the runs
    that test the threshold are independent of those that place it."""
    return len(_GRANULARITY_CFG[mode].inv_dw) + 1


def _two_array(kind: str, a: float, dev: sim.Device, **kw):
    if kind == "tt":
        return sim.TikiTaka(a, a, dev, **kw)
    if kind == "asgd":
        return sim.AnalogSGD(a, dev)
    raise ValueError(kind)


@config_cache
def _d40_fixed(mode: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfg = _NO_FLOOR[mode]
    prob, noise = sim.paper_problem("exact_fig3"), sim.GaussianNoise(_D40.std)
    floors = [
        _drive(prob, _two_array(kind, a, sim.SoftBounds(_D40.tau)), steps=round(cfg.horizon / a),
               runs=_seeds(cfg.runs), noise=noise)["floor"]
        for a in cfg.alphas
    ]
    return np.array(cfg.alphas), np.array(floors), np.array([mean_se(f).se for f in floors])


@config_cache
def _d40_sweep(mode: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per K: the runs' averaged squared gradient ``avg`` (K, R) and max over runs of ||P_k||_inf (K,)."""
    cfg = _NO_FLOOR[mode]
    prob, noise = sim.paper_problem("exact_fig3"), sim.GaussianNoise(_D40.std)
    Ks = np.array(cfg.Ks)
    runs = [
        _drive(prob, _two_array(kind, cfg.alpha0 * np.sqrt(Ks[0] / K), sim.SoftBounds(_D40.tau)),
               steps=int(K), runs=_seeds(cfg.runs), noise=noise)
        for K in Ks
    ]
    return Ks, np.array([r["avg"] for r in runs]), np.array([r["p_max"].max() for r in runs])


def _fit(x: np.ndarray, samples: np.ndarray):
    m, se = mean_se_rows(samples)
    return loglog_slope(x, m, se), m, se


def _step_design(alpha: np.ndarray) -> np.ndarray:
    """Columns (1, alpha, alpha^2) of the floor model f(alpha) = c0 + c1 alpha + c2 alpha^2."""
    return np.column_stack([np.ones_like(alpha), alpha, alpha**2])


def _rate_design(K: np.ndarray) -> np.ndarray:
    """Columns (K^-1/2, K^-1, 1) of E_K = A/sqrt(K) + C/K + F (``theory.certify.empirical_constants``)."""
    K = np.asarray(K, dtype=float)
    return np.column_stack([1 / np.sqrt(K), 1 / K, np.ones_like(K)])


def _model_fit(design, x: np.ndarray, samples: np.ndarray) -> Fit:
    m, se = mean_se_rows(samples)
    return weighted_fit(design(np.asarray(x, dtype=float)), m, se)


def _local_exponent(fit: Fit, alpha: float) -> float:
    """d log f / d log alpha = (c1 alpha + 2 c2 alpha^2) / f(alpha) of the fitted quadratic floor."""
    c0, c1, c2 = fit.coef
    return float((c1 * alpha + 2 * c2 * alpha**2) / (c0 + c1 * alpha + c2 * alpha**2))


def _no_floor_checks(label: str, fit: Fit, i_zero: int, i_pos: int, names: tuple[str, str]) -> list[Check]:
    """Coefficient ``i_zero`` (the floor) = 0 within Z s.e., coefficient ``i_pos`` (the rate) > 0."""
    return [
        close(f"{label}: {names[0]} = 0 (no asymptotic error)", fit.estimate(i_zero), 0.0,
              reason=_FIT_WHY + f"; chi2/dof = {fit.chi2_dof:.2f} on {fit.dof} dof"),
        lower(f"{label}: {names[1]} > 0", fit.estimate(i_pos), 0.0, reason=_FIT_WHY),
    ]


@claim(
    "tt.no_floor",
    title="Tiki-Taka has no asymptotic error: its fitted floor at vanishing step is zero, while Analog"
    " SGD's is positive; the floor term of its rate under alpha = beta ~ 1/sqrt(K) is zero where tt.rate"
    " applies (P_max < tau/sqrt(33)), else reported; at pulse level below the derived granularity"
    " threshold dw* its floor is under Analog SGD's, at 2 dw* above",
    statement="Regime: mean-field for (i)-(ii) (sim.SoftBounds, the dw_min -> 0 limit of pulse-level"
    " writes); pulse level below the derived granularity threshold for (iii) (sim.PulsedSoftBounds"
    " with stochastic rounding, dw_min = dw*/4; above the threshold a granularity excess puts"
    " Tiki-Taka's floor over Analog SGD's, see tt.granularity_floor). On the D = 40 least-squares"
    " problem (tau = 1, Gaussian noise std 0.1), Tiki-Taka with alpha = beta: (i) its stationary"
    " E||grad f||^2, fitted as c0 + c1 alpha + c2 alpha^2 over the"
    " steps, has c0 = 0 and c1 > 0, while Analog SGD's c0 > 0, and it lies below Analog SGD's at the"
    " smallest step; (ii) with alpha = beta = alpha0 sqrt(K0/K) its averaged squared gradient, fitted"
    " as A/sqrt(K) + C/K + F, has A > 0 and, where the measured P_max satisfies tt.rate's assumption"
    " P_max < tau/sqrt(33), F = 0 (otherwise that comparison is not applicable and the measured F is"
    " reported: on this problem P_max/tau ~ 0.4 and F > 0 is a pre-asymptotic misfit of the rate form,"
    " see the module docstring), while Analog SGD's F > 0 and its log-log slope in K is flatter than"
    " Tiki-Taka's; (iii) at pulse level (alpha = beta = 0.0125, tt.granularity_floor's runs) with"
    " dw_min = dw*/4, dw* the derived granularity threshold (theory.granularity.granularity_threshold"
    " on the measured mean-field floors), Tiki-Taka's stationary floor (mean f/D over the second half)"
    " is below Analog SGD's (paired"
    " runs), and at dw_min = 2 dw* the order flips. Every tolerance is Z = 3 s.e. of a weighted"
    " least-squares coefficient or of a mean"
    " over runs.",
    reference="arXiv 2406.12774 Thm 4 / Table 1; spec C10; theory tt.rate, tt.step_size;"
    " theory.certify.empirical_constants (the rate basis); theory.granularity (dw*); issue 12",
    control="replace Tiki-Taka by Analog SGD on the same device (one array, asymmetric drift on W):"
    " the fitted floors c0 and F are then significantly positive",
    config=_NO_FLOOR,
)
def no_floor(mode: str, control: bool) -> tuple[list[Check], dict]:
    tt_kind = "asgd" if control else "tt"
    name = "Analog SGD (control)" if control else "Tiki-Taka"
    alphas, tt_floor, _ = _d40_fixed(mode, tt_kind)
    _, asgd_floor, _ = _d40_fixed(mode, "asgd")
    q_tt, q_asgd = (_model_fit(_step_design, alphas, f) for f in (tt_floor, asgd_floor))
    checks = _no_floor_checks(f"{name} floor c0 + c1 alpha + c2 alpha^2", q_tt, 0, 1, ("c0", "c1"))
    checks.append(lower("Analog SGD floor c0 + c1 alpha + c2 alpha^2: c0 > 0 (asymptotic error)",
                        q_asgd.estimate(0), 0.0, reason=_FIT_WHY))
    checks.append(lower(f"Analog SGD floor - {name} floor at alpha={alphas[-1]:g} > 0 (paired runs)",
                        mean_se(asgd_floor[-1] - tt_floor[-1]), 0.0))
    Ks, tt_avg, tt_pmax = _d40_sweep(mode, tt_kind)
    _, asgd_avg, _ = _d40_sweep(mode, "asgd")
    r_tt, r_asgd = _model_fit(_rate_design, Ks, tt_avg), _model_fit(_rate_design, Ks, asgd_avg)
    f_check, a_check = _no_floor_checks(f"{name} E_K = A/sqrt(K) + C/K + F (alpha = beta ~ K^-1/2)", r_tt,
                                        2, 0, ("F", "A"))
    # F = 0 is what tt.rate (2406.12774 Thm 4) guarantees, and only under P_max < tau/sqrt(33). Where the
    # measured P_max violates it the comparison is not applicable (never a pass); the measured F is
    # reported (module docstring: on this problem it is a pre-asymptotic misfit, not an asymptotic
    # error). The control (Analog SGD) has no P array and no such assumption: its F is always tested.
    tau = _D40.tau
    rate = theory.get("tt.rate")
    sat_ok = [bool(rate.check_assumptions(P_max=float(p), tau=tau, c_noise=1.0)["p_saturation"])
              for p in tt_pmax]
    f_est, f_asgd = r_tt.estimate(2), r_asgd.estimate(2)
    if control or all(sat_ok):
        checks.append(f_check)
    else:
        rho = float(tt_pmax.max()) / tau
        checks.append(not_applicable(
            f_check.name, f"tt.rate guarantees F = 0 only if P_max < tau/sqrt(33) = 0.174; measured"
            f" max_k ||P_k||_inf / tau = {rho:.3f} (33 rho^2 = {33 * rho**2:.2f} >= 1), so the assumption is"
            f" violated and F = 0 is not tested. Finding: F = {f_est.mean:.2e} +- {f_est.se:.1e}"
            f" ({f_est.mean / f_asgd.mean:.0%} of Analog SGD's F = {f_asgd.mean:.2e}); chi2/dof ="
            f" {r_tt.chi2_dof:.2f} on {r_tt.dof} dof", measured=f_est.mean, predicted=0.0))
    checks.append(a_check)
    checks.append(lower("Analog SGD E_K = A/sqrt(K) + C/K + F: F > 0 (asymptotic error)", r_asgd.estimate(2),
                        0.0, reason=_FIT_WHY))
    fit_k, tt_km, _ = _fit(Ks, tt_avg)
    fit_asgd, asgd_km, _ = _fit(Ks, asgd_avg)
    diff = Estimate(fit_asgd.slope - fit_k.slope, float(np.hypot(fit_asgd.se_slope, fit_k.se_slope)), 0)
    checks.append(lower(f"Analog SGD log-log slope in K - {name} slope > 0 (Analog SGD flattens)", diff, 0.0,
                        f"{Z:g} s.e. of the difference of two fitted slopes"))
    # (iii) pulse level below / above the derived granularity threshold (paired runs on one block)
    star, star_se_log = derived_threshold(mode)
    block = _pulse_block(mode)
    pulse: dict[float, dict[str, Any]] = {}
    for factor in _PULSE_FACTORS:
        inv = _GRANULARITY_PROBLEM.tau / (factor * star)  # _floors takes dw_min = tau / inv
        t_f = _granularity_floors(mode, tt_kind, inv, block)
        a_f = _granularity_floors(mode, "asgd", inv, block)
        pulse[factor] = dict(dw_min=factor * star, tt_floor=mean_se(t_f), asgd_floor=mean_se(a_f),
                             asgd_minus_tt=mean_se(a_f - t_f), tt_minus_asgd=mean_se(t_f - a_f))
    lo, hi = (pulse[f] for f in _PULSE_FACTORS)
    checks.append(lower(
        f"pulse level, dw_min = dw*/4 = {lo['dw_min']:.3g} (dw* = {star:.3g} derived): Analog SGD floor -"
        f" {name} floor > 0 (paired runs)", lo["asgd_minus_tt"], 0.0))
    checks.append(lower(
        f"pulse level, dw_min = 2 dw* = {hi['dw_min']:.3g}: {name} floor - Analog SGD floor > 0 (order"
        " flips above the threshold; paired runs)",
        hi["tt_minus_asgd"], 0.0))
    fit_a, tt_fm, _ = _fit(alphas, tt_floor)
    fit_asgd_a, _, _ = _fit(alphas, asgd_floor)
    details = {
        "alphas": alphas.tolist(), "tt_floor": tt_fm.tolist(), "asgd_floor": asgd_floor.mean(axis=1).tolist(),
        "tt_floor_fit_c": q_tt.coef.tolist(), "tt_floor_fit_se": q_tt.se.tolist(),
        "tt_floor_fit_chi2_dof": q_tt.chi2_dof,
        "asgd_floor_fit_c": q_asgd.coef.tolist(), "asgd_floor_fit_se": q_asgd.se.tolist(),
        # information only (not pass criteria): exponents of the floor in the step
        "tt_floor_slope_vs_alpha": fit_a.slope, "tt_floor_slope_se": fit_a.se_slope,
        "tt_floor_local_exponent_model": [_local_exponent(q_tt, a) for a in alphas],
        "asgd_floor_slope_vs_alpha": fit_asgd_a.slope,
        "Ks": Ks.tolist(), "tt_avg": tt_km.tolist(), "asgd_avg": asgd_km.tolist(),
        "tt_rate_fit_A_C_F": r_tt.coef.tolist(), "tt_rate_fit_se": r_tt.se.tolist(),
        "tt_rate_fit_chi2_dof": r_tt.chi2_dof,
        # finding (tested only where tt.rate's assumption holds): F and its share of Analog SGD's F
        "tt_rate_F": f_est.mean, "tt_rate_F_se": f_est.se, "tt_rate_F_over_asgd_F": f_est.mean / f_asgd.mean,
        "tt_sweep_p_max_over_tau": (tt_pmax / tau).tolist(), "tt_rate_assumption_holds": sat_ok,
        "asgd_rate_fit_A_C_F": r_asgd.coef.tolist(), "asgd_rate_fit_se": r_asgd.se.tolist(),
        "tt_slope_vs_K": fit_k.slope, "tt_slope_vs_K_se": fit_k.se_slope,
        "asgd_slope_vs_K": fit_asgd.slope, "asgd_slope_vs_K_se": fit_asgd.se_slope,
        # (iii) pulse level: derived threshold and the paired floors at dw*/4 and 2 dw*
        "pulse_derived_threshold": star, "pulse_derived_threshold_se_log": star_se_log,
        "pulse": [dict(factor=f, dw_min=r["dw_min"], tt_floor=r["tt_floor"].mean,
                       tt_floor_se=r["tt_floor"].se,
                       asgd_floor=r["asgd_floor"].mean, asgd_floor_se=r["asgd_floor"].se,
                       asgd_minus_tt=r["asgd_minus_tt"].mean, asgd_minus_tt_se=r["asgd_minus_tt"].se)
                  for f, r in pulse.items()],
    }
    return checks, details


# --- tt.p_tracks_scaled_gradient ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Track(Config):
    """Settings of the claims reading ``_TRACK[mode]`` (one instance per mode)."""

    stds: tuple[float, ...]
    beta: float
    steps: int
    runs: int


_TRACK = Modes(
    # W frozen at W0 = 0 of the D = 40 problem (transfer_every > K); Gaussian noise of std s; the
    # relaxation time of coordinate d is tau/(beta m_d) <= 1/(0.1 * 0.024) ~ 420 steps at s = 0.03, so
    # the averaged second half starts after >= 4.7 time constants (bias < 1 % of the smallest target).
    quick=_Track(stds=(0.3, 0.1, 0.03), beta=0.1, steps=4000, runs=16),
    full=_Track(stds=(1.0, 0.3, 0.1, 0.03, 0.01), beta=0.05, steps=40000, runs=64),
)


@config_cache
def _track(mode: str, c: float) -> list[dict]:
    cfg = _TRACK[mode]
    prob, tau = sim.paper_problem("exact_fig3"), 1.0
    out = []
    for s in cfg.stds:
        algo = sim.TikiTaka(1e-3, cfg.beta, sim.GeneralizedLinear(tau, c), device_w=sim.SoftBounds(tau),
                           transfer_every=cfg.steps + 1)  # W never receives a transfer: frozen
        r = _drive(prob, algo, steps=cfg.steps, runs=_seeds(cfg.runs), noise=sim.GaussianNoise(s))
        mu = prob.grad(np.zeros((1, prob.dim)))[0]
        m = mean_abs("gaussian", s)(mu)
        pred = np.asarray(theory.get("tt.p_fixed_point").evaluate(tau=tau, mu_g=mu, m_g=m), dtype=float)
        shifted = p_fixed_point_value(tau, c, mu, m)  # tt.p_fixed_point.shifted, numerically
        out.append(dict(s=s, tau=tau, c=c, pred=pred, pred_shifted=shifted, p_mean=r["p_mean"],
                        p_max=r["p_max"]))
    return out


def _agreement(label: str, p_mean: np.ndarray, pred: np.ndarray, tau: float) -> tuple[list[Check], float]:
    """Time-averaged P (``(R, D)``) against a predicted fixed point (``(D,)``): projection and z^2."""
    proj = p_mean @ pred / (pred @ pred)  # per run: least-squares coefficient of P_bar on pred
    e = mean_se(proj)
    checks = [close(f"{label}: projection of time-averaged P on the prediction = 1", e, 1.0,
                    reason=f"{Z:g} s.e. over independent runs (the fixed point is exact for the"
                    " conditional mean: g_k is independent of P_k and no clipping occurs)")]
    # per-coordinate agreement: z_d = (mean_r P_bar_d - pred_d) / se_d is Student-t with R - 1 dof
    # under the claim, so mean_d z_d^2 has expectation nu/(nu - 2) and variance
    # (E t^4 - (E t^2)^2)/D with E t^4 = 3 nu^2/((nu - 2)(nu - 4)) (coordinates independent).
    # Only coordinates with |pred| <= 0.9 tau: near the bound P's fluctuations vanish (|P| -> tau)
    # and the per-coordinate s.e. degenerates (the projection covers them).
    inner = np.abs(pred) <= 0.9 * tau
    R, D = p_mean.shape[0], int(inner.sum())
    nu = R - 1
    pm = p_mean[:, inner]
    name = f"{label}: mean of z_d^2 (P_bar_d vs prediction) over {D} unsaturated coordinates"
    if D < 5:
        checks.append(not_applicable(name, "fewer than 5 coordinates with |P_bar| <= 0.9 tau"))
        return checks, e.mean
    pm_mean, pm_se = mean_se_rows(pm, axis=0)
    z = (pm_mean - pred[inner]) / pm_se
    e_t2, e_t4 = nu / (nu - 2), 3 * nu**2 / ((nu - 2) * (nu - 4))
    checks.append(close(name, Estimate(float(np.mean(z**2)), float(np.sqrt((e_t4 - e_t2**2) / D)), D), e_t2,
                        reason=f"{Z:g} s.d. of the mean of {D} independent squared Student-t({nu})"
                        " variables"))
    return checks, e.mean


@claim(
    "tt.p_tracks_scaled_gradient",
    title="P tracks the scaled gradient -tau E[g]/E|g| per coordinate and stays in [-tau, tau];"
    " its saturation grows as the noise vanishes",
    statement="Regime: mean-field (sim.GeneralizedLinear / sim.SoftBounds, the dw_min -> 0 limit of"
    " pulse-level writes). "
    "With W frozen (no transfer) on the D = 40 problem, the time-averaged P of Tiki-Taka on"
    " the soft-bounds device equals the derived conditional-mean fixed point -tau mu_d/m_d"
    " (mu = grad f(W), m_d = E|mu_d + xi_d| in closed form for Gaussian noise), coordinate by"
    " coordinate (projection coefficient 1 and a z^2 test), for noise std 0.3, 0.1, 0.03; |P| never"
    " exceeds tau; max |P|/tau grows as the noise shrinks (the A5 regime ends); and on a generalized"
    " linear response (c = 0.2) P settles at the derived shifted point tau (c m - mu)/(m - c mu).",
    reference="arXiv 2406.12774 Sec. 4 (2502.06309 App. B eq. 24); spec C11, S8; theory tt.p_fixed_point",
    control="give P a generalized linear response with symmetric point 0.2 tau (c = 0.2): P then"
    " settles at tau (c m - mu)/(m - c mu), not at the scaled gradient",
    config=_TRACK,
)
def p_tracks_scaled_gradient(mode: str, control: bool) -> tuple[list[Check], dict]:
    runs = _track(mode, 0.2 if control else 0.0)
    checks: list[Check] = []
    coef = []
    for r in runs:
        new, proj = _agreement(f"s={r['s']:g}, c={r['c']:g} vs -tau mu/m", r["p_mean"], r["pred"], r["tau"])
        checks += new
        coef.append(proj)
        checks.append(holds(f"s={r['s']:g}: max_k ||P_k||_inf <= tau", bool(r["p_max"].max() <= r["tau"]),
                            "box invariance of the soft-bounds map for |beta g| < tau (exact)",
                            measured=float(r["p_max"].max()), predicted=r["tau"]))
    hi, lo = runs[-1]["p_max"], runs[0]["p_max"]
    checks.append(lower(f"max|P|/tau at s={runs[-1]['s']:g} - at s={runs[0]['s']:g} > 0 (saturation grows)",
                        mean_se((hi - lo) / runs[0]["tau"]), 0.0))
    details = {"stds": [r["s"] for r in runs], "projection": coef,
               "p_max_over_tau": [float(r["p_max"].mean() / r["tau"]) for r in runs]}
    if not control:
        # the derived shifted fixed point on a generalized linear response (c = 0.2): the runs the
        # control uses, here compared with the formula that accounts for the shift
        shifted_coef = []
        for r in _track(mode, 0.2):
            new, proj = _agreement(f"s={r['s']:g}, c=0.2 vs tau(c m - mu)/(m - c mu)", r["p_mean"],
                                   r["pred_shifted"], r["tau"])
            checks += new
            shifted_coef.append(proj)
        details["projection_shifted_c0.2"] = shifted_coef
    return checks, details


# --- tt.needs_zero_symmetric_point --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Sym(Config):
    """Settings of the claims reading ``_SYM[mode]`` (one instance per mode)."""

    cs: tuple[float, ...]
    alpha: float
    steps: int
    runs: int


_SYM = Modes(
    # 1-D instance of spec C12: f = (w - 0.5)^2 / 2, Rademacher +-0.3, tau = 1, alpha = beta = 0.01,
    # generalized linear response with asymmetry c on both arrays; second half of K averaged.
    quick=_Sym(cs=(0.0, 0.1, 0.2, 0.3), alpha=0.01, steps=8000, runs=256),
    full=_Sym(cs=(0.0, 0.1, 0.2, 0.3), alpha=0.01, steps=20000, runs=2000),
)


@config_cache
def _sym(mode: str, kind: str) -> np.ndarray:
    """Per-c, per-run floors ``(len(cs), R)``; all c values run as one batch (c broadcast per row)."""
    cfg = _SYM[mode]
    prob, noise = sim.scalar_quadratic(1.0, 0.5), sim.RademacherNoise(0.3)
    G = len(cfg.cs)
    c = np.repeat(np.array(cfg.cs), cfg.runs)[:, None]
    dev = sim.GeneralizedLinear(1.0, c)
    a = cfg.alpha
    algo: sim.Algorithm
    if kind == "tt":
        algo = sim.TikiTaka(a, a, dev)
    elif kind == "tt_zero_p":  # P zero-shifted (c = 0 on P), W keeps its asymmetry
        algo = sim.TikiTaka(a, a, sim.GeneralizedLinear(1.0, 0.0 * c), device_w=dev)
    else:
        algo = sim.AnalogSGD(a, dev)
    r = _drive(prob, algo, steps=cfg.steps, runs=_seeds(cfg.runs, G), noise=noise)
    return _group(r["floor"], G)


@claim(
    "tt.needs_zero_symmetric_point",
    title="Tiki-Taka needs P's symmetric point at zero: with c > 0 its floor grows with c and loses to"
    " Analog SGD",
    statement="Regime: mean-field (sim.GeneralizedLinear, the dw_min -> 0 limit of pulse-level writes). "
    "On the 1-D instance with the generalized linear response (symmetric point c tau) on"
    " both arrays, c in {0, 0.1, 0.2, 0.3}, alpha = beta = 0.01: Tiki-Taka's floor of E|grad f|^2"
    " increases strictly with c (P settles at its symmetric point c tau instead of 0 at a critical"
    " point, tt.p_fixed_point.shifted), it beats Analog SGD at c = 0 and is worse than Analog SGD"
    " at c = 0.3.",
    reference="arXiv 2502.06309 Sec. 5 and Fig. 2; spec C12; theory tt.p_fixed_point.shifted",
    control="zero-shift P (c = 0 on the P array, W keeps its c): the floor no longer grows with c and"
    " Tiki-Taka beats Analog SGD at c = 0.3",
    config=_SYM,
)
def needs_zero_symmetric_point(mode: str, control: bool) -> tuple[list[Check], dict]:
    cs = _SYM[mode].cs
    tt = _sym(mode, "tt_zero_p" if control else "tt")
    asgd = _sym(mode, "asgd")
    checks: list[Check] = [
        lower(f"TT floor(c={cs[i + 1]:g}) - TT floor(c={cs[i]:g}) > 0 (paired runs)",
              mean_se(tt[i + 1] - tt[i]), 0.0)
        for i in range(len(cs) - 1)
    ]
    checks.append(lower("Analog SGD floor - TT floor at c=0 > 0", mean_se(asgd[0] - tt[0]), 0.0))
    checks.append(lower(f"TT floor - Analog SGD floor at c={cs[-1]:g} > 0 (TT loses)",
                        mean_se(tt[-1] - asgd[-1]), 0.0))
    return checks, {"cs": list(cs), "tt_floor": tt.mean(axis=1).tolist(),
                    "asgd_floor": asgd.mean(axis=1).tolist()}


# --- rl.exact_convergence ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Rl(Config):
    """Settings of the claims reading ``_RL[mode]`` (one instance per mode)."""

    gammas: tuple[float, ...]
    alphas: tuple[float, ...]
    horizon: float
    runs: int


_RL = Modes(
    # D = 40 problem (strongly convex, mu = 0.034), tau = 1, Gaussian std 0.1, alpha = beta, K = 150/alpha,
    # gamma in {0, 0.1, 0.4} batched with shared noise.
    # five steps per mode: the quadratic floor model leaves two degrees of freedom
    quick=_Rl(gammas=(0.0, 0.1, 0.4), alphas=tuple(0.1 * 2.0 ** (-j / 2) for j in range(5)), horizon=150.0,
              runs=16),
    full=_Rl(gammas=(0.0, 0.1, 0.4), alphas=(0.1, 0.05, 0.025, 0.0125, 0.00625), horizon=150.0, runs=32),
)


@config_cache
def _rl(mode: str, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Floors ``(alphas, gammas, R)`` of residual learning with P on GeneralizedLinear(1, c)."""
    cfg = _RL[mode]
    prob, noise = sim.paper_problem("exact_fig3"), sim.GaussianNoise(_D40.std)
    G = len(cfg.gammas)
    gam = np.repeat(np.array(cfg.gammas), cfg.runs)
    out = []
    for a in cfg.alphas:
        algo = sim.TikiTaka(a, a, sim.GeneralizedLinear(_D40.tau, c), device_w=sim.SoftBounds(_D40.tau),
                            gamma=gam, name="residual learning")
        r = _drive(prob, algo, steps=round(cfg.horizon / a), runs=_seeds(cfg.runs, G), noise=noise)
        out.append(_group(r["floor"], G))
    return np.array(cfg.alphas), np.array(out)


@claim(
    "rl.exact_convergence",
    title="residual learning (gamma > 0, zero symmetric point) beats Tiki-Taka (gamma = 0) and its"
    " floor vanishes with the step (fitted floor at zero step = 0)",
    statement="Regime: mean-field (sim.GeneralizedLinear P, sim.SoftBounds W, the dw_min -> 0 limit of"
    " pulse-level writes). "
    "On the strongly convex D = 40 problem (tau = 1, noise std 0.1, alpha = beta), residual"
    " learning with gamma = 0.4 has a lower stationary E||grad f(W)||^2 than gamma = 0 at every step"
    " size (paired runs), gamma = 0.1 lies in between, and the gamma = 0.4 floor, fitted as"
    " c0 + c1 alpha + c2 alpha^2 by weighted least squares, has c0 = 0 within Z = 3 s.e. and c1 > 0:"
    " exact convergence as the step vanishes (the log-log slope is reported, not tested).",
    reference="arXiv 2502.06309 Thm 3, Corollary 1, Fig. 5 (gamma ablation); spec C15;"
    " theory rl.rate, rl.corollary1",
    control="shift P's symmetric point to 0.2 tau (generalized linear response, c = 0.2; Assumption 4"
    " violated): the fitted floor c0 is significantly positive",
    known_failures={"full": "11/12 checks: the gamma = 0.4 floor fit c0 + c1 alpha + c2 alpha^2 over alpha"
                    " 0.1..0.00625 gives c0 = 8.2e-5 +- 2.3e-5 (3.5 s.e.); the quadratic floor model is"
                    " misspecified over this alpha range (as for tt.no_floor's c0 = 7.4e-5 +- 2.9e-5),"
                    " not resolved"},
    config=_RL,
)
def exact_convergence(mode: str, control: bool) -> tuple[list[Check], dict]:
    alphas, fl = _rl(mode, 0.2 if control else 0.0)
    gammas = _RL[mode].gammas
    checks: list[Check] = []
    for i, a in enumerate(alphas):
        checks.append(lower(f"alpha={a:g}: floor(gamma=0) - floor(gamma={gammas[-1]:g}) > 0 (paired)",
                            mean_se(fl[i, 0] - fl[i, -1]), 0.0))
        checks.append(lower(f"alpha={a:g}: floor(gamma=0) - floor(gamma={gammas[1]:g}) > 0 (paired)",
                            mean_se(fl[i, 0] - fl[i, 1]), 0.0))
    q = _model_fit(_step_design, alphas, fl[:, -1])
    checks += _no_floor_checks(f"gamma={gammas[-1]:g} floor c0 + c1 alpha + c2 alpha^2", q, 0, 1,
                               ("c0", "c1"))
    fit, _, _ = _fit(alphas, fl[:, -1])
    return checks, {"alphas": alphas.tolist(), "gammas": list(gammas),
                    "floor": fl.mean(axis=2).tolist(), "floor_fit_c_gamma_max": q.coef.tolist(),
                    "floor_fit_se_gamma_max": q.se.tolist(), "floor_fit_chi2_dof": q.chi2_dof,
                    # information only: the log-log slope and the model's local exponent
                    "slope_gamma_max": fit.slope, "slope_gamma_max_se": fit.se_slope,
                    "local_exponent_model": [_local_exponent(q, a) for a in alphas]}


# --- tt.bound_holds ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Bound(Config):
    """Settings of the claims reading ``_BOUND[mode]`` (one instance per mode)."""

    Ks: tuple[int, ...]
    alpha0: float
    runs: int
    tau: float
    std: float


_BOUND = Modes(
    # well-conditioned diagonal quadratic (D = 10, eigenvalues 0.5..1), tau = 8, Gaussian std 1 (noise
    # dominates the gradient, the regime of assumption A5), alpha = beta = alpha0 sqrt(K0/K).
    # five (seven) K values: the three-parameter model of C_hat(K) keeps two (four) degrees of freedom
    quick=_Bound(Ks=tuple(1000 * 2**j for j in range(5)), alpha0=0.1, runs=16, tau=8.0, std=1.0),
    full=_Bound(Ks=tuple(1000 * 2**j for j in range(7)), alpha0=0.1, runs=64, tau=8.0, std=1.0),
)


def _bound_problem() -> sim.Quadratic:
    rng = np.random.default_rng(42)
    return sim.diagonal_quadratic(np.linspace(0.5, 1.0, 10), 0.3 * rng.standard_normal(10), "diag(D=10)")


@config_cache
def _bound_runs(mode: str, fixed_step: bool) -> dict:
    cfg = _BOUND[mode]
    prob = _bound_problem()
    Ks = np.array(cfg.Ks)
    gam = np.repeat([0.0, 0.4], cfg.runs)
    res = []
    for K in Ks:
        a = cfg.alpha0 if fixed_step else cfg.alpha0 * np.sqrt(Ks[0] / K)
        algo = sim.TikiTaka(a, a, sim.SoftBounds(cfg.tau), gamma=gam)
        r = _drive(prob, algo, steps=int(K), runs=_seeds(cfg.runs, 2), noise=sim.GaussianNoise(cfg.std))
        res.append({k: _group(r[k], 2) for k in ("avg", "avg_bar", "p_max")})
    D0 = float(prob.loss(np.zeros((1, prob.dim)))[0])
    return dict(Ks=Ks, res=res, Delta0=D0, sigma2=prob.dim * cfg.std ** 2, L=prob.L, tau=cfg.tau)


@claim(
    "tt.bound_holds",
    title="Tiki-Taka / residual-learning rate forms on measured P_max: C/(1 - k P_max^2/tau^2)"
    " sqrt(Delta_0 sigma^2 L/K) with a constant that does not grow with K",
    statement="Regime: mean-field (sim.SoftBounds, the dw_min -> 0 limit of pulse-level writes). "
    "With alpha = beta ~ 1/sqrt(K) (noise-dominated, well-conditioned quadratic, tau = 8),"
    " the constant implied by each rate form, C_hat(K) = E_K (1 - k rho_K^2) / sqrt(Delta_0 sigma^2 L/K)"
    " with rho_K = max_k ||P_k||_inf / tau measured on the runs (k = 33 for tt.rate, gamma = 0;"
    " k = 1 for rl.corollary1, gamma = 0.4), does not grow with K: fitted by weighted least squares as"
    " C_hat(K) = a + b/sqrt(K) + g sqrt(K) (the rate basis A/sqrt(K) + C/K + F of tt.no_floor"
    " multiplied by sqrt(K)), the growth coefficient g is not positive beyond Z = 3 s.e.: the bounds"
    " hold with a K-independent constant. Where the measured rho violates a bound's assumption"
    " (rho < 1/sqrt(33) for tt.rate) the check is not applicable. The constants C_TT, C_RL are"
    " not recovered, so only the K-dependence is testable.",
    reference="arXiv 2406.12774 Thm 4; 2502.06309 Cor. 1; spec Sec. 4.5, C10, C15; theory tt.rate,"
    " rl.corollary1",
    control="keep the step fixed (alpha = beta = alpha0 for every K, violating alpha ~ 1/sqrt(K)):"
    " the implied constant grows like sqrt(K) (g significantly positive)",
    config=_BOUND,
)
def bound_holds(mode: str, control: bool) -> tuple[list[Check], dict]:
    d = _bound_runs(mode, control)
    Ks, tau = d["Ks"], d["tau"]
    checks: list[Check] = []
    details: dict = {"Ks": Ks.tolist()}
    forms = (("tt.rate", 0, "C_TT", 33.0, "avg"), ("rl.corollary1", 1, "C_RL", 1.0, "avg_bar"))
    for bid, gi, cname, k33, metric in forms:
        bound = theory.get(bid)
        rho = np.array([float(r["p_max"][gi].max()) / tau for r in d["res"]])
        details[f"{bid}_rho"] = rho.tolist()
        values = dict(P_max=rho * tau, tau=tau)
        if bid == "tt.rate":
            ok = [bound.check_assumptions(**values_k, c_noise=1.0)["p_saturation"]
                  for values_k in ({"P_max": p, "tau": tau} for p in rho * tau)]
        else:
            ok = [bound.check_assumptions(P_max=p, tau=tau, gamma=0.4, c=0.0, mu=0.5)["p_saturation"]
                  for p in rho * tau]
        name = f"{bid} (gamma={0.4 if gi else 0:g}): implied {cname} does not grow with K"
        if not all(ok):
            limit = "1/sqrt(33) = 0.174" if k33 > 1 else "1"
            checks.append(not_applicable(name, f"measured rho = P_max/tau = {np.round(rho, 3).tolist()}"
                                         f" violates the assumption rho < {limit}",
                                         measured=float(rho.max())))
            continue
        # C_hat(K) per run: E_K / [ (1/(1 - k rho^2)) sqrt(Delta0 sigma^2 L / K) ] = bound with C = 1
        unit = np.array([float(bound.evaluate(**{cname: 1.0}, Delta_0=d["Delta0"], sigma=np.sqrt(d["sigma2"]),
                                              L=d["L"], K=float(K), P_max=p, tau=tau))
                         for K, p in zip(Ks, values["P_max"], strict=True)])
        c_hat = np.array([r[metric][gi] for r in d["res"]]) / unit[:, None]
        q = _model_fit(lambda k: _rate_design(k) * np.sqrt(k)[:, None], Ks, c_hat)  # (a, b, g)
        g = q.estimate(2)
        checks.append(Check(f"{name}: g in C_hat = a + b/sqrt(K) + g sqrt(K) is not > 0", "<=", 0.0, g.mean,
                            g.se, Z * g.se, _FIT_WHY + f" (one-sided: g - {Z:g} s.e. <= 0); chi2/dof ="
                            f" {q.chi2_dof:.2f} on {q.dof} dof", bool(g.mean - Z * g.se <= 0.0)))
        fit, m, _ = _fit(Ks, c_hat)
        details[f"{bid}_C_hat"] = m.tolist()
        details[f"{bid}_C_hat_fit_a_b_g"] = q.coef.tolist()
        details[f"{bid}_C_hat_fit_se"] = q.se.tolist()
        details[f"{bid}_C_hat_slope"] = fit.slope  # information only
        details[f"{bid}_C_hat_slope_se"] = fit.se_slope
    return checks, details
