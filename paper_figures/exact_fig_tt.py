"""Tiki-Taka removes Analog SGD's floor (arXiv 2406.12774 Sec. 4 / Table 1; spec C10).

Left panels: (f(W_k) - f*)/D against the iteration on the D = 40 problem (A = N(0,1)/2,
x* = 0.3 N(0, I), MSE/2, Gaussian gradient noise std 0.1 per coordinate, W_0 = 0) for digital SGD,
Analog SGD and Tiki-Taka (alpha = beta, gamma = 0, whole-array transfer every step) on the
soft-bounds device, one panel per tau. Right: the floor (second-half average of f - f*, K = 150/alpha)
against the step size at tau = 1: Analog SGD's floor does not vanish with the step, Tiki-Taka's and
digital SGD's fall in proportion to it (``tt.no_floor``).

Deviation from the paper: the 2024 paper shows Tiki-Taka through aihwkit's pulse-level
TransferCompound on MNIST; this figure uses the toy least-squares problem of its dynamics script and
the mean-field device model, so that the floor can be read against the step size. Bands: 10-90 % of
the runs. With alpha = beta, P's gain tau/E|g| makes Tiki-Taka's effective step on W grow with tau,
so at a fixed step its floor can sit above Analog SGD's (as in spec C10 at alpha = 0.03); it is the
scaling with the step (right) that separates the two. :mod:`paper_figures.exact_fig_tt_ablation`
varies the factors one at a time: dividing the transfer rate by P's gain (and scaling beta by tau,
or running longer) puts Tiki-Taka below Analog SGD at every tau; pulse level does not change the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim.config import Config, Modes
from sim.stats import loglog_slope, mean_se

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import band, legend_under, subplots, summarize


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of the Tiki-Taka figure."""

    taus: tuple[float, ...]
    alpha: float
    runs: int
    floor_alphas: tuple[float, ...]
    problem: str = "exact_fig3"
    std: float = 0.1
    horizon: float = 150.0
    floor_tau: float = 1.0
    seed: int = 2406


CONFIGS = Modes(
    quick=Settings(taus=(1.0, 2.0), alpha=0.02, runs=8, floor_alphas=(0.1, 0.05, 0.025)),
    full=Settings(taus=(1.0, 2.0, 5.0), alpha=0.01, runs=32,
                  floor_alphas=(0.1, 0.05, 0.025, 0.0125, 0.00625)),
)
ALGOS = ("digital", "analog", "tiki_taka")
LABELS = {"digital": "digital SGD", "analog": "Analog SGD", "tiki_taka": "Tiki-Taka"}
STYLE = {"digital": dict(color="k", ls="--"), "analog": dict(color="C3", ls="-"),
         "tiki_taka": dict(color="C0", ls="-")}


def _algo(name: str, alpha: float, tau: float):
    if name == "digital":
        return sim.DigitalSGD(alpha)
    if name == "analog":
        return sim.AnalogSGD(alpha, sim.SoftBounds(tau))
    return sim.TikiTaka(alpha, alpha, sim.SoftBounds(tau))


def compute(cfg: Settings) -> dict:
    prob = sim.paper_problem(cfg.problem)
    D, noise = prob.dim, sim.GaussianNoise(cfg.std)
    K = round(cfg.horizon / cfg.alpha)
    out: dict = {}
    for name in ALGOS:
        rows: dict[str, list] = {"mean": [], "lo": [], "hi": []}
        for tau in cfg.taus:
            tr = sim.simulate(prob, _algo(name, cfg.alpha, tau), steps=K, seeds=cfg.runs,
                              seed=cfg.seed, noise=noise, record=("loss",), record_every=max(1, K // 300),
                              label=f"{name} tau={tau:g}")
            for key, v in summarize(tr["loss"] / D).items():
                rows[key].append(v)
        for key, vals in rows.items():
            out[f"{name}_{key}"] = np.array(vals)
    out["k"] = tr.k
    for name in ALGOS:
        means, ses = [], []
        for a in cfg.floor_alphas:
            Ka = round(cfg.horizon / a)
            tr = sim.simulate(prob, _algo(name, a, cfg.floor_tau), steps=Ka, seeds=cfg.runs,
                              seed=cfg.seed, noise=noise, record=("loss",),
                              record_every=max(1, Ka // 500), label=f"{name} floor alpha={a:g}")
            floor = tr.tail_average("loss", 0.5) / D
            e = mean_se(floor)
            means.append(e.mean)
            ses.append(e.se)
        out[f"{name}_floor"] = np.array(means)
        out[f"{name}_floor_se"] = np.array(ses)
        # weighted by the floors' standard errors, as the claims fit them (sim.stats)
        fit = loglog_slope(cfg.floor_alphas, means, ses)
        out[f"{name}_floor_slope"] = fit.slope
        out[f"{name}_floor_slope_se"] = fit.se_slope
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    n = len(cfg.taus)
    fig, axes = subplots(1, n + 1, width=3.0)
    for j, tau in enumerate(cfg.taus):
        ax = axes[0, j]
        for name in ALGOS:
            band(ax, data["k"], data[f"{name}_mean"][j], data[f"{name}_lo"][j], data[f"{name}_hi"][j],
                 label=LABELS[name], **STYLE[name])
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_ylabel("(f(W_k) − f*) / D")
        ax.set_title(f"τ = {tau:g}, α = β = {cfg.alpha:g}")
        if j == 0:
            legend_under(ax, ncol=3)
    ax = axes[0, n]
    a = np.array(cfg.floor_alphas)
    for name, marker in zip(ALGOS, "soD", strict=True):
        ax.errorbar(a, data[f"{name}_floor"], 3 * data[f"{name}_floor_se"], marker=marker, ms=4,
                    label=f"{LABELS[name]} (slope {float(data[f'{name}_floor_slope']):.2f})",
                    **STYLE[name])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(a, [f"{x:g}" for x in a])
    ax.minorticks_off()
    ax.set_xlabel("step size α (= β)")
    ax.set_ylabel("floor (second-half mean) / D")
    ax.set_title(f"floor vs step, τ = {cfg.floor_tau:g} (bars: ±3 s.e.)")
    legend_under(ax, ncol=1)
    return save_figure(fig, out_dir, "exact_fig_tt")


FIGURE = FigureSpec(
    id="exact_fig_tt",
    title="Digital SGD vs Analog SGD vs Tiki-Taka across tau; floor vs step size",
    reference="arXiv 2406.12774 Sec. 4, Table 1 (Tiki-Taka, Thm 4); spec C10",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "Tiki-Taka removes Analog SGD's asymptotic error: its floor vanishes with the step while "
        "Analog SGD's does not."
    ),
    verdict="deviates",
    evidence=(
        "tt.no_floor",
        "tt.granularity_floor",
        "figure:exact_fig_tt_ablation",
    ),
    regime="mean-field",
    factor=(
        "step sizes: with alpha = beta the transfer is a gradient step of effective size alpha tau/E|g|"
        " (P's gain, 12.5 tau here), so at tau >= 2 Tiki-Taka steps further than Analog SGD; dividing"
        " the transfer rate by the gain and scaling beta by tau (or running 4x longer) puts Tiki-Taka"
        " below Analog SGD at every tau. Not the granularity: pulse level (dw_min 1e-3) keeps the order"
    ),
    notes=(
        "The floor-vs-step panel holds (tt.no_floor); the per-tau panels use the script's alpha = beta"
        " and in full mode Tiki-Taka loses at alpha = 0.01 for tau = 2 and 5 (floor ratio TT / ASGD"
        " 0.43 / 2.29 / 18.9 at tau = 1 / 2 / 5). exact_fig_tt_ablation (full): transfer / gain and"
        " beta = alpha tau 0.046 / 0.13 / 0.44; pulse level at alpha = beta 0.50 / 2.61 / 20.0."
    ),
)
