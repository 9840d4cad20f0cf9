"""Iterations to reach eps against eps for several pipeline depths, with the fitted eps^-2 + eps^-1 model.

For each depth M the asynchronous pipeline trains the stage-separable quadratic with analog
soft-bounds tiles at alpha = c/sqrt(K) for a grid of K; E_K (the averaged squared gradient norm at
the current weights, per stage) is measured in every run, and its mean and standard error over the
runs (seeds) are kept. Every measured point (K, E_K) is a point of the curve K(eps) at eps = E_K;
its uncertainty is carried onto K by the local log-log slope of the curve,
se(K) = K |d log K / d log E| se(E) / E (delta method).

Fits (weighted least squares, weights 1/se^2, signs constrained, :func:`nonneg_weighted_fit`):

* M = 1: K_1(eps) = A eps^-2 + C eps^-1 with A >= 0, C >= 0;
* deeper pipelines: the increment K_M(eps) - K_1(eps) at the measured eps of depth M, paired by
  seed (every depth runs the same seeds; K_1 of the same seed at that eps by log-log interpolation
  of its E_K(K) curve, extrapolated from the end segment), mean and s.e. over seeds, fitted by
  Delta C_M eps^-1 with Delta C_M >= 0
  (theory: pipeline.async.eps2_coefficient is independent of the depth,
  pipeline.async.eps1_coefficient is proportional to the delay factor D_M, so the depth adds only
  to the eps^-1 term).

The unconstrained estimates are kept in the data next to the constrained ones
(``*_unconstrained``), so a sign constraint that binds is visible, never silent.

Deviation: the paper's experiment behind its complexity statement is not recoverable (spec 6.3);
this is the toolkit's own check on a model where the staleness is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.optimize import lsq_linear

import sim
from sim.config import Config, Modes
from sim.pipeline import SeparableQuadratic, build_schedule, train_pipeline
from sim.stats import mean_se_rows

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import colors, legend_under, plain_log_ticks, subplots


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of the pipeline complexity figure."""

    Ks: tuple[int, ...]
    runs: int
    depths: tuple[int, ...] = (1, 2, 4, 8)
    c: float = 1.0
    tau: float = 4.0
    dim: int = 4
    sigma: float = 0.5
    w0: float = 0.5
    seed: int = 5


CONFIGS = Modes(quick=Settings(Ks=(250, 500, 1000), runs=8),
                full=Settings(Ks=(250, 500, 1000, 2000, 4000, 8000, 16000, 32000), runs=32))


class NonnegFit(NamedTuple):
    """Result of :func:`nonneg_weighted_fit` (see its Returns section)."""

    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    unconstrained: np.ndarray
    chi2_dof: float


def nonneg_weighted_fit(X: np.ndarray, y: np.ndarray, se: np.ndarray) -> NonnegFit:
    r"""Weighted least squares ``y ~ X @ coef`` with every coefficient constrained to ``>= 0``.

    Minimises :math:`\sum_i (y_i - (X\beta)_i)^2 / se_i^2` subject to :math:`\beta \ge 0`
    (``scipy.optimize.lsq_linear`` on the whitened system :math:`X/se`, :math:`y/se`).

    Parameters
    ----------
    X : array, shape (n, p)
        Design matrix.
    y : array, shape (n,)
        Measured values.
    se : array, shape (n,)
        Their standard errors (> 0).

    Returns
    -------
    NonnegFit
        With fields:
    coef : array, shape (p,)
        Constrained estimate (every entry ``>= 0``).
    coef_se : array, shape (p,)
        Standard errors: the Gaussian covariance :math:`(X^T W X)^{-1}` restricted to the
        coefficients not at their bound (the others are fixed at 0 and get the s.e. of the
        unconstrained problem), inflated by :math:`\max(1, \chi^2/\mathrm{dof})` when the scatter
        exceeds the stated errors (a misspecified model widens, never narrows, the errors).
    cov : array, shape (p, p)
        The covariance behind ``se`` (no correlation with a coefficient at its bound).
    unconstrained : array, shape (p,)
        The ordinary weighted least-squares estimate (may be negative).
    chi2_dof : float
        :math:`\chi^2` of the constrained fit per degree of freedom ``n - p``.

    Raises
    ------
    ValueError
        If the shapes disagree, ``n <= p`` (no degrees of freedom for the scatter check), any
        ``se <= 0`` or any value is not finite.
    """
    X, y, se = (np.asarray(v, dtype=float) for v in (X, y, se))
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or y.shape != (X.shape[0],) or se.shape != y.shape:
        raise ValueError(f"X must be (n, p) with y and se of shape (n,); got X {X.shape}, y {y.shape}, "
                         f"se {se.shape}")
    n, p = X.shape
    if n <= p:
        raise ValueError(f"X must have more rows than columns (n > p), got n={n}, p={p}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.all(np.isfinite(se))):
        raise ValueError("X, y and se must be finite")
    if np.any(se <= 0):
        raise ValueError(f"se must be > 0, got min(se) = {se.min()!r}")
    Xw, yw = X / se[:, None], y / se
    unconstrained = np.linalg.lstsq(Xw, yw, rcond=None)[0]
    coef = np.maximum(lsq_linear(Xw, yw, bounds=(0.0, np.inf), method="bvls").x, 0.0)
    chi2_dof = float(np.sum((yw - Xw @ coef) ** 2) / (n - p))
    cov = np.diag(np.diag(np.linalg.inv(Xw.T @ Xw)))
    free = coef > 0
    if free.any():
        cov[np.ix_(free, free)] = np.linalg.inv(Xw[:, free].T @ Xw[:, free])
    cov = cov * max(1.0, chi2_dof)
    return NonnegFit(coef, np.sqrt(np.diag(cov)), cov, unconstrained, chi2_dof)


def _E_K(M: int, K: int, cfg: Settings) -> np.ndarray:
    """E_K / M of every run, shape ``(runs,)``."""
    D, R = cfg.dim, cfg.runs
    layers = [SeparableQuadratic(1.0, np.zeros(D)) for _ in range(M)]
    opt = sim.AnalogSGD(cfg.c / np.sqrt(K), sim.SoftBounds(cfg.tau))
    run = train_pipeline(layers, list(range(1, M + 1)), [np.full((R, D), cfg.w0)] * M, [opt] * M,
                         build_schedule("async", M, K, 1),
                         lambda rng, j: (cfg.sigma * rng.normal((1, D)), None),
                         lambda out, y: np.zeros_like(out),
                         metrics=lambda Ws: {"g2": sum((W**2).sum(axis=-1) for W in Ws)}, seeds=R,
                         seed=cfg.seed)
    # E_K = (1/K) sum_{k<K} ||grad f(W_k)||^2 over every iterate, divided by M so depths compare per stage
    return run.metrics["g2"][:, :-1].mean(axis=1) / M


#: smallest s.e. used as a weight, relative to K (guards a zero spread between paired seeds)
_SE_FLOOR = 1e-9


def _loglog_interp(q: np.ndarray, x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Row-wise piecewise-linear interpolation of ``f(x)`` at ``q``, extrapolated linearly from the
    end segments; ``x`` (rows sorted in any order), ``f`` of shape ``(R, n)``, ``q`` of shape
    ``(R, m)`` (all in log coordinates)."""
    order = np.argsort(x, axis=1)
    xs, fs = np.take_along_axis(x, order, 1), np.take_along_axis(f, order, 1)
    n = xs.shape[1]
    j = np.clip((xs[:, None, :] < q[:, :, None]).sum(axis=-1) - 1, 0, n - 2)
    x0, x1 = np.take_along_axis(xs, j, 1), np.take_along_axis(xs, j + 1, 1)
    f0, f1 = np.take_along_axis(fs, j, 1), np.take_along_axis(fs, j + 1, 1)
    return f0 + (f1 - f0) * (q - x0) / (x1 - x0)


def _design(eps: np.ndarray) -> np.ndarray:
    return np.column_stack([eps**-2.0, eps**-1.0])


def compute(cfg: Settings) -> dict:
    Ks = np.array(cfg.Ks, float)
    depths = np.array(cfg.depths)
    runs = np.array([[_E_K(int(M), int(K), cfg) for K in Ks] for M in depths])  # (depths, nK, R)
    E, E_se = mean_se_rows(runs)
    # each measured point is K(eps) at eps = E_K; carry se(E) onto K by the local log-log slope
    slope = np.gradient(np.log(np.broadcast_to(Ks, E.shape)), axis=1) / np.gradient(np.log(E), axis=1)
    K_all = np.broadcast_to(Ks, E.shape)
    K_se = K_all * np.abs(slope) * E_se / E
    base = nonneg_weighted_fit(_design(E[0]), Ks, K_se[0])
    # the increment K_M(eps) - K_1(eps) at every measured eps of depth M, paired by seed (every depth
    # runs the same seeds): K_1 of the same seed at that eps by log-log interpolation of its curve
    logE1 = np.log(runs[0].T)  # (R, nK)
    logK = np.broadcast_to(np.log(Ks), logE1.shape)
    per_seed = np.stack([Ks - np.exp(_loglog_interp(np.log(runs[i].T), logE1, logK))
                         for i in range(len(depths))])  # (depths, R, nK)
    inc, inc_se = mean_se_rows(per_seed, axis=1)
    n = len(depths)
    dC, dC_se, dC_un, dC_chi2 = (np.zeros(n) for _ in range(4))
    for i in range(1, n):
        f = nonneg_weighted_fit(1.0 / E[i][:, None], inc[i], np.maximum(inc_se[i], _SE_FLOOR * Ks))
        dC[i], dC_se[i], dC_un[i], dC_chi2[i] = f.coef[0], f.se[0], f.unconstrained[0], f.chi2_dof
    lines = [f"M={depths[0]}: K = ({base.coef[0]:.4g} ± {base.se[0]:.2g})/eps^2 + "
             f"({base.coef[1]:.4g} ± {base.se[1]:.2g})/eps  (chi2/dof {base.chi2_dof:.2g}; "
             f"unconstrained {base.unconstrained[0]:.4g}, {base.unconstrained[1]:.4g})"]
    lines += [f"M={depths[i]}: K_M - K_1 = ({dC[i]:.4g} ± {dC_se[i]:.2g})/eps  (chi2/dof {dC_chi2[i]:.2g};"
              f" unconstrained {dC_un[i]:.4g})" for i in range(1, n)]
    return {"K": Ks, "depths": depths, "E_K": E, "E_K_se": E_se, "K_se": K_se,
            "E_K_seed": runs, "increment": inc, "increment_se": inc_se,
            "coef_base": base.coef, "coef_base_se": base.se,
            "coef_base_unconstrained": base.unconstrained, "chi2_dof_base": base.chi2_dof,
            "coef_eps1_increment": dC, "coef_eps1_increment_se": dC_se,
            "coef_eps1_increment_unconstrained": dC_un, "chi2_dof_increment": dC_chi2,
            "fit_summary": "\n".join(lines)}


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    print(f"pipeline_complexity fit:\n{data['fit_summary']}")
    fig, axes = subplots(1, 2, width=3.4, height=2.8)
    depths = data["depths"]
    cs = colors(len(depths))
    ax = axes[0, 0]
    for i, M in enumerate(depths):
        ax.errorbar(data["K"], data["E_K"][i], data["E_K_se"][i], fmt="o-", color=cs[i], ms=3,
                    capsize=2, label=f"M = {M}")
    ref = data["E_K"][0, 0] * (data["K"] / data["K"][0]) ** -0.5
    ax.loglog(data["K"], ref, "k:", lw=0.8, label="∝ K^(−1/2)")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("K (micro-batches = updates)")
    ax.set_ylabel("E_K / M (bars: ± s.e. over seeds)")
    ax.set_title(f"async pipeline, α = {cfg.c:g}/√K")
    legend_under(ax, ncol=3)
    ax = axes[0, 1]
    E, inc, inc_se = data["E_K"], data["increment"], data["increment_se"]
    fine = np.geomspace(E.min(), E.max(), 60)
    (a2, a1), (s2, s1) = data["coef_base"], data["coef_base_se"]
    ax.errorbar(E[0], data["K"], data["K_se"][0], fmt="o", color=cs[0], ms=3, capsize=2)
    ax.loglog(fine, a2 / fine**2 + a1 / fine, "-", color=cs[0], lw=0.9,
              label=f"M={depths[0]}: ({a2:.3g}±{s2:.2g})/ε² + ({a1:.3g}±{s1:.2g})/ε")
    positive = np.concatenate([data["K"], inc[1:][inc[1:] > 0]])
    floor = 0.5 * positive.min()  # non-positive increments are drawn here (log axis)
    n_nonpositive = 0
    for i, M in enumerate(depths[1:], start=1):
        good = inc[i] > 0
        c, c_se = data["coef_eps1_increment"][i], data["coef_eps1_increment_se"][i]
        ax.errorbar(E[i][good], inc[i][good], np.minimum(inc_se[i][good], 0.999 * inc[i][good]),
                    fmt="s", color=cs[i], ms=3, capsize=2)
        bad = ~good
        n_nonpositive += int(bad.sum())
        if bad.any():  # hollow at the floor; the bar reaches up to increment + s.e. where above it
            up = np.maximum(inc[i][bad] + inc_se[i][bad] - floor, 0.0)
            ax.errorbar(E[i][bad], np.full(int(bad.sum()), floor), [np.zeros_like(up), up], fmt="s",
                        mfc="none", mec=cs[i], ecolor=cs[i], ms=4, capsize=2)
        if c > 0:
            ax.loglog(fine, c / fine, "--", color=cs[i], lw=0.9,
                      label=f"M={M}: K_M − K_1 ≈ ({c:.3g}±{c_se:.2g})/ε")
        else:  # at the sign bound: no log-axis line, say so in the legend
            ax.plot([], [], "--", color=cs[i], lw=0.9,
                    label=f"M={M}: K_M − K_1 ≈ (0 ± {c_se:.2g})/ε (at bound ≥ 0, not drawn)")
    if n_nonpositive:
        ax.axhline(floor, color="0.6", lw=0.6, ls=":")
        ax.plot([], [], "s", mfc="none", mec="0.3", ms=4,
                label=f"hollow: {n_nonpositive} increment(s) ≤ 0, drawn at the axis floor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7 * floor)
    plain_log_ticks(ax, "x")
    ax.set_xlabel("ε (target E_K / M)")
    ax.set_ylabel("K₁(ε), and K_M(ε) − K₁(ε)")
    ax.set_title("iterations to ε (bars: ± s.e.; fits: weighted, signs ≥ 0)")
    legend_under(ax, ncol=1)
    return save_figure(fig, out_dir, "pipeline_complexity")


FIGURE = FigureSpec(
    id="pipeline_complexity",
    title="Iterations to reach eps vs eps for several depths, with the fitted eps^-2 + eps^-1 model",
    reference="arXiv 2410.15155 v2/v3 main result O(eps^-2 + eps^-1); theory pipeline.async.*",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "The asynchronous pipeline needs O(eps^-2 + eps^-1) iterations; the depth enters only the"
        " eps^-1 term."
    ),
    verdict="deviates",
    evidence=(
        "pipeline.eps2_exponent",
        "pipeline.delay_term",
        "figure:pipeline_complexity",
    ),
    regime="mean-field",
    factor=(
        "the shape of the depth term: the paired (same-seed) increment K_M - K_1 is about constant"
        " in eps over the measured range and shrinks at the smallest eps, so Delta C_M / eps fits"
        " badly (chi2/dof 2.4 / 10 at M = 4 / 8 in quick mode)"
    ),
    notes=(
        "Weighted, sign-constrained fits with s.e. over seeds (quick, 8 seeds, K <= 1000): M = 1"
        " K = (0.79 +- 0.16)/eps^2 + (1.4 +- 3.5)/eps; Delta C_M = 0.050 +- 0.012, 0.26 +- 0.05,"
        " 1.16 +- 0.25 for M = 2, 4, 8 (growing with the delay factor). The eps^-2 term and the"
        " growth with depth hold; the 1/eps form of the depth term is not resolved."
    ),
)
