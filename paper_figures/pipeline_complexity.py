"""Iterations to reach eps against eps for several pipeline depths, with the fitted eps^-2 + eps^-1 model.

For each depth M the asynchronous pipeline trains the stage-separable quadratic with analog
soft-bounds tiles at alpha = c/sqrt(K) for a grid of K; E_K (the averaged squared gradient norm at
the current weights, per stage) is measured in every run, and its mean and standard error over the
runs (seeds) are kept. Every measured point (K, E_K) is a point of the curve K(eps) at eps = E_K;
its uncertainty is carried onto K by the local log-log slope of the curve,
se(K) = K |d log K / d log E| se(E) / E (delta method).

Fits (weighted least squares, weights 1/se^2):

* M = 1: K_1(eps) = A eps^-2 + C eps^-1 with A >= 0, C >= 0 (:func:`sim.stats.nonneg_weighted_fit`);
* deeper pipelines: the increment K_M(eps) - K_1(eps) at the measured eps of depth M, paired by
  seed (every depth runs the same seeds; :func:`sim.pipeline.depth_increment`), mean and s.e. over
  seeds, fitted by a + b/eps (weighted, either sign; :func:`sim.pipeline.fit_eps1`) and compared
  with the derived b = Delta C_M = D (c^2 sigma^2 - w0^2)(M - 1)/2
  (:func:`theory.delay.depth_eps1_coefficient`; claim ``pipeline.depth_eps1_term``): the depth adds
  to the eps^-1 term only. At the default w0 = c sigma the coefficient cancels (the delay's larger
  stationary variance against its faster transient), so the bottom-right panel repeats the
  increments at ``w0_ablation`` = 0, where the eps^-1 term is there and matches.

The unconstrained estimates of the M = 1 fit are kept in the data next to the constrained ones
(``coef_base_unconstrained``), so a sign constraint that binds is visible, never silent.

Deviation: the paper's experiment behind its complexity statement is not recoverable (spec 6.3);
this is the toolkit's own check on a model where the staleness is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import Config, Modes
from sim.pipeline import async_quadratic_E_K, depth_increment, fit_eps1
from sim.stats import mean_se_rows, nonneg_weighted_fit
from theory.delay import depth_eps1_coefficient

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
    w0_ablation: float = 0.0
    seed: int = 5


CONFIGS = Modes(quick=Settings(Ks=(250, 500, 1000, 2000, 4000), runs=16),
                full=Settings(Ks=(250, 500, 1000, 2000, 4000, 8000, 16000, 32000), runs=32))


#: smallest s.e. used as a weight, relative to K (guards a zero spread between paired seeds)
_SE_FLOOR = 1e-9


def _design(eps: np.ndarray) -> np.ndarray:
    return np.column_stack([eps**-2.0, eps**-1.0])


def _depth_runs(cfg: Settings, w0: float) -> np.ndarray:
    """E_K / M per depth, K and run, ``(depths, nK, R)``, every weight starting at ``w0``."""
    return np.array([[async_quadratic_E_K(int(M), int(K), c=cfg.c, tau=cfg.tau, dim=cfg.dim,
                                          sigma=cfg.sigma, w0=w0, runs=cfg.runs, seed=cfg.seed)
                      for K in cfg.Ks] for M in cfg.depths])


def _increments(cfg: Settings, runs: np.ndarray, w0: float) -> dict:
    """Paired increments K_M - K_1 per depth and their fit a + b/eps against the derived b."""
    Ks = np.array(cfg.Ks, float)
    n = len(cfg.depths)
    inc, inc_se = np.zeros((n, Ks.size)), np.zeros((n, Ks.size))
    fit = np.zeros((n, 5))  # a, a_se, b, b_se, chi2/dof
    pred = np.zeros(n)
    for i, M in enumerate(cfg.depths):
        pred[i] = depth_eps1_coefficient(int(M), c=cfg.c, sigma=cfg.sigma, w0=w0, dim=cfg.dim)
        if i == 0:
            continue
        eps, inc[i], inc_se[i] = depth_increment(Ks, runs[0], runs[i])
        fit[i] = fit_eps1(eps, inc[i], np.maximum(inc_se[i], _SE_FLOOR * Ks))
    return {"increment": inc, "increment_se": inc_se, "fit": fit, "predicted": pred}


def compute(cfg: Settings) -> dict:
    Ks = np.array(cfg.Ks, float)
    depths = np.array(cfg.depths)
    runs = _depth_runs(cfg, cfg.w0)  # (depths, nK, R)
    E, E_se = mean_se_rows(runs)
    # each measured point is K(eps) at eps = E_K; carry se(E) onto K by the local log-log slope
    slope = np.gradient(np.log(np.broadcast_to(Ks, E.shape)), axis=1) / np.gradient(np.log(E), axis=1)
    K_all = np.broadcast_to(Ks, E.shape)
    K_se = K_all * np.abs(slope) * E_se / E
    base = nonneg_weighted_fit(_design(E[0]), Ks, K_se[0])
    main = _increments(cfg, runs, cfg.w0)
    runs_abl = _depth_runs(cfg, cfg.w0_ablation)
    abl = _increments(cfg, runs_abl, cfg.w0_ablation)
    lines = [f"M={depths[0]}: K = ({base.coef[0]:.4g} ± {base.se[0]:.2g})/eps^2 + "
             f"({base.coef[1]:.4g} ± {base.se[1]:.2g})/eps  (chi2/dof {base.chi2_dof:.2g}; "
             f"unconstrained {base.unconstrained[0]:.4g}, {base.unconstrained[1]:.4g})"]
    for w0, r in ((cfg.w0, main), (cfg.w0_ablation, abl)):
        lines += [f"w0={w0:g} M={depths[i]}: K_M - K_1 = ({r['fit'][i, 0]:.3g} ± {r['fit'][i, 1]:.2g})"
                  f" + ({r['fit'][i, 2]:.3g} ± {r['fit'][i, 3]:.2g})/eps (chi2/dof {r['fit'][i, 4]:.2g});"
                  f" derived Delta C_M = {r['predicted'][i]:.3g}" for i in range(1, len(depths))]
    return {"K": Ks, "depths": depths, "E_K": E, "E_K_se": E_se, "K_se": K_se,
            "E_K_seed": runs, "increment": main["increment"], "increment_se": main["increment_se"],
            "increment_fit": main["fit"], "increment_predicted": main["predicted"],
            "coef_base": base.coef, "coef_base_se": base.se,
            "coef_base_unconstrained": base.unconstrained, "chi2_dof_base": base.chi2_dof,
            "E_K_ablation": runs_abl.mean(axis=2), "E_K_seed_ablation": runs_abl,
            "increment_ablation": abl["increment"], "increment_se_ablation": abl["increment_se"],
            "increment_fit_ablation": abl["fit"], "increment_predicted_ablation": abl["predicted"],
            "fit_summary": "\n".join(lines)}


def _increment_panel(ax, E: np.ndarray, inc: np.ndarray, inc_se: np.ndarray, fit: np.ndarray,
                     pred: np.ndarray, depths: np.ndarray, cs: list, title: str) -> None:
    """K_M - K_1 against eps (linear y: increments may be negative), the fitted a + b/eps and the
    derived a + Delta C_M/eps (same a)."""
    fine = np.geomspace(E[1:].min(), E[1:].max(), 60)
    for i, M in enumerate(depths[1:], start=1):
        a, _, b, b_se, _ = fit[i]
        ax.errorbar(E[i], inc[i], inc_se[i], fmt="s", color=cs[i], ms=3, capsize=2)
        ax.plot(fine, a + b / fine, "-", color=cs[i], lw=0.9,
                label=f"M={M}: fit b = {b:.2g} ± {b_se:.1g}; derived {pred[i]:.2g}")
        ax.plot(fine, a + pred[i] / fine, ":", color=cs[i], lw=1.2)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.plot([], [], "k-", lw=0.9, label="fit a + b/ε (bars: ± s.e. over seeds)")
    ax.plot([], [], "k:", lw=1.2, label="a + ΔC_M/ε, ΔC_M = D(c²σ² − w0²)(M−1)/2")
    ax.set_xscale("log")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("ε (target E_K / M)")
    ax.set_ylabel("K_M(ε) − K₁(ε)")
    ax.set_title(title)
    legend_under(ax, ncol=1)


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    print(f"pipeline_complexity fit:\n{data['fit_summary']}")
    fig, axes = subplots(2, 2, width=3.4, height=2.8)
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
    ax.set_title(f"async pipeline, α = {cfg.c:g}/√K, w0 = {cfg.w0:g}")
    legend_under(ax, ncol=3)
    ax = axes[0, 1]
    E = data["E_K"]
    fine = np.geomspace(E[0].min(), E[0].max(), 60)
    (a2, a1), (s2, s1) = data["coef_base"], data["coef_base_se"]
    ax.errorbar(E[0], data["K"], data["K_se"][0], fmt="o", color=cs[0], ms=3, capsize=2)
    ax.loglog(fine, a2 / fine**2 + a1 / fine, "-", color=cs[0], lw=0.9,
              label=f"M={depths[0]}: ({a2:.3g}±{s2:.2g})/ε² + ({a1:.3g}±{s1:.2g})/ε (signs ≥ 0)")
    for i, M in enumerate(depths[1:], start=1):
        ax.loglog(E[i], data["K"] + 0 * E[i], "s", color=cs[i], ms=3, label=f"M={M}")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("ε (target E_K / M)")
    ax.set_ylabel("K(ε): iterations to reach ε")
    ax.set_title("iterations to ε: the depth adds little")
    legend_under(ax, ncol=2)
    _increment_panel(axes[1, 0], E, data["increment"], data["increment_se"], data["increment_fit"],
                     data["increment_predicted"], depths, cs,
                     f"depth's extra iterations, w0 = {cfg.w0:g}")
    _increment_panel(axes[1, 1], data["E_K_ablation"], data["increment_ablation"],
                     data["increment_se_ablation"], data["increment_fit_ablation"],
                     data["increment_predicted_ablation"], depths, cs,
                     f"the same at w0 = {cfg.w0_ablation:g}")
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
    verdict="reproduces",
    evidence=(
        "pipeline.eps2_exponent",
        "pipeline.depth_eps1_term",
        "pipeline.delay_term",
        "figure:pipeline_complexity",
    ),
    regime="mean-field",
    notes=(
        "K_1 = (0.769 +- 0.027)/eps^2 + (1.97 +- 1.0)/eps (quick, 16 seeds, K <= 4000). The depth's"
        " extra iterations at equal eps are a + Delta C_M/eps with Delta C_M = D (c^2 sigma^2 -"
        " w0^2)(M - 1)/2 (derived: staleness inflates the stationary variance by D alpha^2 sigma^2 d/2"
        " and speeds the transient from w0, dominant root 1 - alpha - d alpha^2); quick fits at w0 = 0:"
        " 0.49 +- 0.05, 1.50 +- 0.14, 3.53 +- 0.28 vs 0.5, 1.5, 3.5 (M = 2, 4, 8). At the panel's w0 ="
        " c sigma = 0.5 the two cancel and the depth costs O(1) iterations (b = -0.025 +- 0.078, a ="
        " 23 +- 3 at M = 8); the earlier reading 'the depth term is not C/eps' was this cancellation."
        " Full (32 seeds, K <= 32000): K_1 = (0.812 +- 0.007)/eps^2 + (0.49 +- 0.45)/eps; w0 = 0: b ="
        " 0.475 +- 0.010, 1.43 +- 0.029, 3.35 +- 0.063 (4-5 % below the leading-order value; digital"
        " tiles give 3.71 +- 0.08 at M = 8: the next orders, see pipeline.depth_eps1_term); w0 = c"
        " sigma: -0.008 +- 0.003, -0.025 +- 0.009, -0.066 +- 0.023 (a = 0.6, 4.1, 21)."
        " The paper's constant is an upper bound on the staleness term, not recovered (spec 6.3)."
    ),
)
