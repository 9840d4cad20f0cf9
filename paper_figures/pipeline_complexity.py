"""Iterations to reach eps against eps for several pipeline depths, with the fitted eps^-2 + eps^-1 model.

For each depth M the asynchronous pipeline trains the stage-separable quadratic with analog
soft-bounds tiles at alpha = c/sqrt(K) for a grid of K; E_K (the averaged squared gradient norm at
the current weights, mean over runs) is measured, K(eps) is read off by log-log interpolation of the
measured E_K(K); K(eps) = A eps^-2 + C eps^-1 is fitted by least squares for M = 1, and for deeper
pipelines the increment K_M(eps) - K_1(eps) by C_M eps^-1 (theory: pipeline.async.eps2_coefficient
is independent of the depth, pipeline.async.eps1_coefficient is proportional to the delay factor
D_M).

Deviation: the paper's experiment behind its complexity statement is not recoverable (spec 6.3);
this is the toolkit's own check on a model where the staleness is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sim
from sim.pipeline import SeparableQuadratic, build_schedule, train_pipeline

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import colors, legend_under, plain_log_ticks, subplots

_BASE = {"depths": [1, 2, 4, 8], "c": 1.0, "tau": 4.0, "dim": 4, "sigma": 0.5, "w0": 0.5, "seed": 5,
         "n_eps": 8}
CONFIGS = {"quick": {**_BASE, "Ks": [250, 500, 1000], "runs": 4},
           "full": {**_BASE, "Ks": [250, 500, 1000, 2000, 4000, 8000, 16000, 32000], "runs": 32}}


def _E_K(M: int, K: int, cfg: dict) -> np.ndarray:
    D, R = cfg["dim"], cfg["runs"]
    layers = [SeparableQuadratic(1.0, np.zeros(D)) for _ in range(M)]
    opt = sim.AnalogSGD(cfg["c"] / np.sqrt(K), sim.SoftBounds(cfg["tau"]))
    run = train_pipeline(layers, list(range(1, M + 1)), [np.full((R, D), cfg["w0"])] * M, [opt] * M,
                         build_schedule("async", M, K, 1),
                         lambda rng, j: (cfg["sigma"] * rng.normal((1, D)), None),
                         lambda out, y: np.zeros_like(out),
                         metrics=lambda Ws: {"g2": sum((W**2).sum(axis=-1) for W in Ws)}, seeds=R,
                         seed=cfg["seed"])
    # E_K = (1/K) sum_{k<K} ||grad f(W_k)||^2 over every iterate, divided by M so depths compare per stage
    return run.metrics["g2"][:, :-1].mean(axis=1) / M


def compute(cfg: dict) -> dict:
    Ks = np.array(cfg["Ks"], float)
    out: dict = {"K": Ks, "depths": np.array(cfg["depths"])}
    E = np.array([[_E_K(M, int(K), cfg).mean() for K in Ks] for M in cfg["depths"]])
    out["E_K"] = E
    hi = E[:, 0].min()  # eps range covered by every depth
    lo = E[:, -1].max()
    eps = np.geomspace(lo, hi, cfg["n_eps"])
    out["eps"] = eps
    K_eps = []
    for row in E:
        # E_K decreases in K: interpolate log K against log E
        order = np.argsort(row)
        K_eps.append(np.exp(np.interp(np.log(eps), np.log(row[order]), np.log(Ks[order]))))
    K_eps = np.array(K_eps)
    out["K_eps"] = K_eps
    # shallowest depth: K = A eps^-2 + C eps^-1 (least squares); deeper: the increment over it, C_M eps^-1
    A = np.column_stack([eps**-2, eps**-1])
    out["coef_base"] = np.linalg.lstsq(A, K_eps[0], rcond=None)[0]
    out["coef_eps1_increment"] = np.array([float(np.dot(1 / eps, k - K_eps[0]) / np.dot(1 / eps, 1 / eps))
                                           for k in K_eps])
    return out


def render(data: dict, cfg: dict, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.4, height=2.8)
    cs = colors(len(data["depths"]))
    ax = axes[0, 0]
    for i, M in enumerate(data["depths"]):
        ax.loglog(data["K"], data["E_K"][i], "o-", color=cs[i], ms=3, label=f"M = {M}")
    ref = data["E_K"][0, 0] * (data["K"] / data["K"][0]) ** -0.5
    ax.loglog(data["K"], ref, "k:", lw=0.8, label="∝ K^(−1/2)")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("K (micro-batches = updates)")
    ax.set_ylabel("E_K / M")
    ax.set_title(f"async pipeline, α = {cfg['c']:g}/√K")
    legend_under(ax, ncol=3)
    ax = axes[0, 1]
    e = data["eps"]
    fine = np.geomspace(e.min(), e.max(), 60)
    a2, a1 = data["coef_base"]
    ax.loglog(e, data["K_eps"][0], "o", color=cs[0], ms=3)
    sign = "+" if a1 >= 0 else "−"
    ax.loglog(fine, a2 / fine**2 + a1 / fine, "-", color=cs[0], lw=0.9,
              label=f"M={data['depths'][0]}: {a2:.3g}/ε² {sign} {abs(a1):.3g}/ε")
    incs = [data["K_eps"][i] - data["K_eps"][0] for i in range(1, len(data["depths"]))]
    positive = np.concatenate([np.ravel(data["K_eps"][0]), *[x[x > 0] for x in incs]])
    positive = positive[np.isfinite(positive) & (positive > 0)]
    floor = 0.5 * positive.min()  # non-positive increments are drawn here (log axis)
    n_nonpositive = 0
    for i, M in enumerate(data["depths"][1:], start=1):
        inc = incs[i - 1]
        c = data["coef_eps1_increment"][i]
        ax.loglog(e, np.where(inc > 0, inc, np.nan), "s", color=cs[i], ms=3)
        bad = np.isfinite(inc) & (inc <= 0)
        n_nonpositive += int(bad.sum())
        ax.loglog(e[bad], np.full(int(bad.sum()), floor), "s", mfc="none", mec=cs[i], ms=4)
        if c > 0:
            ax.loglog(fine, c / fine, "--", color=cs[i], lw=0.9, label=f"M={M}: K_M − K_1 ≈ {c:.3g}/ε")
        else:  # a non-positive fit has no log-axis line: say so in the legend
            ax.plot([], [], "--", color=cs[i], lw=0.9, label=f"M={M}: K_M − K_1 ≈ {c:.3g}/ε (≤ 0, not drawn)")
    if n_nonpositive:
        ax.axhline(floor, color="0.6", lw=0.6, ls=":")
        ax.plot([], [], "s", mfc="none", mec="0.3", ms=4,
                label=f"hollow: {n_nonpositive} increment(s) ≤ 0, drawn at the axis floor")
    ax.set_ylim(bottom=0.7 * floor)
    plain_log_ticks(ax, "x")
    ax.set_xlabel("ε (target E_K / M)")
    ax.set_ylabel("K₁(ε), and K_M(ε) − K₁(ε)")
    ax.set_title("iterations to ε (depth adds ∝ ε⁻¹)")
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
    ),
    regime="mean-field",
    factor=(
        "the fit: unconstrained least squares on a short K grid (quick fit has a negative C); the"
        " depth increment does not follow C_M / eps"
    ),
    notes=(
        "The eps^-2 exponent holds (claim), but the depth increments are not proportional to "
        "1/eps and M = 2 / 4 increments go negative; no fit uncertainty or error bars yet."
    ),
)
