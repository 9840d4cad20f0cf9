"""Figure 1 of arXiv 2406.12774: digital vs Analog SGD for several learning rates.

Left: f(W_k)/D against the iteration for alpha in {0.2, 0.1, 0.05, 0.03} (the paper's problem:
D = 40, N = 100, A ~ N(0,1), x* = 0.45 N(0, I), un-halved MSE, gradient noise std 1e-2/sqrt(40),
tau = 3, W_0 = 0). Right: the floor (second-half average) against alpha on a wider grid, with the
theory's lines: digital SGD's exact stationary loss (proportional to alpha) and the mean-field
fixed point f(W_bar), the alpha -> 0 limit of Analog SGD's floor (independent of alpha).

The paper's analog curves come from aihwkit (``S1-SGD-diff-lr.py``): the Fig. 1 preset's pulse-level
tile (soft bounds tau = 3, dw_min = 1e-4, BL 800), the gradient noise injected as IO weight noise,
the full batch written **one pulse train per sample** (aihwkit's mini-batch update,
:mod:`sim.minibatch`) and the loss recorded from the training forward pass (through the noisy
tile). The left panel's solid curves run exactly that (:func:`sim.presets.run_least_squares`,
``batch_update="per_sample"``, ``read="forward"``; ``aihwkit_runs`` runs); its plateau is the
per-sample drift's stationary point plus the read offset (claim ``pulse.per_sample_drift``, drawn
as a line), independent of alpha. The dotted curves are the mean-field model with Gaussian
gradient noise and the noiseless loss (the theory's limit, summed update): its floor, f(W_bar)/D
~ 1e-8, is visible only once alpha is small enough that the O(alpha) SGD variance falls below it,
hence the extended alpha grid of the right panel (mean-field and digital; the script's setting at
the paper's four rates, plateau = mean of the last 20 %). ``exact_fig1_ablation`` varies the
factors one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
import sim.presets as presets
from sim.config import Config, Modes
from sim.stats import mean_se
from theory.implicit import (
    mean_field_fixed_point,
    per_sample_limit,
    quadratic_loss,
    sgd_stationary_loss,
)

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import band, colors, legend_under, reference_marks, subplots, summarize

#: the paper's Analog SGD plateau, loss / D, read off its Fig. 1 (spec: "all Analog SGD curves
#: plateau at ~1e-5 regardless of alpha")
PAPER_PLATEAU = 1e-5


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of Fig. 1 (learning rates)."""

    runs: int
    floor_alphas: tuple[float, ...]
    problem: str = "exact_fig1"
    tau: float = 3.0
    std: float = 1e-2 / np.sqrt(40)
    K: int = 2500
    curve_alphas: tuple[float, ...] = (0.2, 0.1, 0.05, 0.03)
    relax: float = 30.0
    seed: int = 618
    aihwkit_runs: int = 8
    tail: float = 0.2


CONFIGS = Modes(quick=Settings(runs=16, floor_alphas=(0.2, 0.05, 0.01, 0.003)),
                full=Settings(runs=64, floor_alphas=(0.2, 0.1, 0.05, 0.03, 0.01, 0.005, 0.002),
                              aihwkit_runs=16))


def _algos(alpha: float, tau: float) -> dict:
    return {"digital": sim.DigitalSGD(alpha), "analog": sim.AnalogSGD(alpha, sim.SoftBounds(tau))}


def cells(cfg: Settings) -> list[dict]:
    """One cell per simulation: the loss curve of each (algorithm, curve alpha) and the floor of
    each (algorithm, floor alpha)."""
    return [{"panel": panel, "algorithm": name, "alpha": a}
            for panel, alphas in (("curve", cfg.curve_alphas), ("floor", cfg.floor_alphas))
            for name in ("digital", "analog") for a in alphas] + [
        {"panel": "curve", "algorithm": "aihwkit", "alpha": a} for a in cfg.curve_alphas]


def compute_cell(cfg: Settings, cell: dict) -> dict:
    """A curve cell: the loss/D band and its iterations; a floor cell: the floor's mean and s.e."""
    prob = sim.paper_problem(cfg.problem)
    D = prob.dim
    noise = sim.GaussianNoise(cfg.std)
    name, a = cell["algorithm"], cell["alpha"]
    if name == "aihwkit":  # the script's setting: pulse level, one train per sample, the read loss
        preset = presets.fig1(a)
        loss = presets.run_least_squares(preset, preset.analog_sgd(a), steps=cfg.K, runs=cfg.aihwkit_runs,
                                         seed=cfg.seed, batch_update="per_sample", read="forward")
        e = mean_se(loss[:, -max(1, round(cfg.tail * cfg.K)):].mean(axis=1))
        return {**summarize(loss[:, ::5]), "k": np.arange(cfg.K + 1)[::5], "plateau": e.mean,
                "plateau_se": e.se}
    if cell["panel"] == "curve":
        tr = sim.simulate(prob, _algos(a, cfg.tau)[name], steps=cfg.K, seeds=cfg.runs,
                          seed=cfg.seed, noise=noise, record=("loss",), record_every=5,
                          label=f"{name} alpha={a}")
        return {**summarize(tr["loss"] / D), "k": tr.k}
    # relax time constants 1/(alpha mu): the loss falls ~8 decades to the floor, so the
    # burn-in (first half) must be long; the floor is the second-half average
    K = max(cfg.K, int(np.ceil(cfg.relax / (a * prob.mu))))
    tr = sim.simulate(prob, _algos(a, cfg.tau)[name], steps=K, seeds=cfg.runs,
                      seed=cfg.seed, noise=noise, record=("loss",),
                      record_every=max(1, K // 500), label=f"{name} floor alpha={a}")
    e = mean_se(tr.tail_average("loss", 0.5) / D)
    return {"mean": e.mean, "se": e.se}


def assemble(cfg: Settings, results: list[dict]) -> dict:
    got = {(c["panel"], c["algorithm"], c["alpha"]): r for c, r in zip(cells(cfg), results, strict=True)}
    prob = sim.paper_problem(cfg.problem)
    D = prob.dim
    out: dict = {}
    for name in ("digital", "analog", "aihwkit"):
        for k in ("mean", "lo", "hi"):
            out[f"{name}_{k}"] = np.array([got["curve", name, a][k] for a in cfg.curve_alphas])
    out["k"] = got["curve", "analog", cfg.curve_alphas[-1]]["k"]
    out["aihwkit_k"] = got["curve", "aihwkit", cfg.curve_alphas[-1]]["k"]
    out["aihwkit_plateau"] = np.array([got["curve", "aihwkit", a]["plateau"] for a in cfg.curve_alphas])
    out["aihwkit_plateau_se"] = np.array([got["curve", "aihwkit", a]["plateau_se"] for a in cfg.curve_alphas])
    out["theory_aihwkit_limit"] = per_sample_limit(prob.meta["A"], prob.meta["y"], cfg.tau, cfg.std,
                                                   read=True)
    for name in ("digital", "analog"):
        out[f"{name}_floor"] = np.array([got["floor", name, a]["mean"] for a in cfg.floor_alphas])
        out[f"{name}_floor_se"] = np.array([got["floor", name, a]["se"] for a in cfg.floor_alphas])
    w_bar = mean_field_fixed_point(prob.H, prob.w_star, cfg.tau, "gaussian", cfg.std)
    out["theory_analog_limit"] = quadratic_loss(prob.H, prob.w_star, w_bar) / D
    grid = np.geomspace(min(cfg.floor_alphas), max(cfg.floor_alphas), 50)
    out["theory_alpha"] = grid
    out["theory_digital"] = np.array([sgd_stationary_loss(prob.H, a, cfg.std) / D for a in grid])
    return out


def compute(cfg: Settings) -> dict:
    return assemble(cfg, [compute_cell(cfg, cell) for cell in cells(cfg)])


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=4.2, height=5.2)
    ax = axes[0, 0]
    cs = colors(len(cfg.curve_alphas), "plasma")
    for i, (a, c) in enumerate(zip(cfg.curve_alphas, cs, strict=True)):
        band(ax, data["aihwkit_k"], data["aihwkit_mean"][i], data["aihwkit_lo"][i], data["aihwkit_hi"][i],
             color=c, label=f"α={a:g}")
        ax.plot(data["k"], data["analog_mean"][i], color=c, ls=":", lw=1.0)
        band(ax, data["k"], data["digital_mean"][i], data["digital_lo"][i], data["digital_hi"][i],
             color=c, ls="--", lw=0.9)
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("(f(W_k) − f*) / D")
    ax.set_title(f"τ = {cfg.tau:g}: Analog SGD vs digital SGD")
    ax.plot([], [], color="0.4", lw=1.2, label="Analog SGD, script's setting")
    ax.plot([], [], color="0.4", ls=":", lw=1.0, label="Analog SGD, mean-field (theory's limit)")
    ax.plot([], [], color="0.4", ls="--", lw=0.9, label="digital SGD")
    ax.axhline(data["theory_aihwkit_limit"], color="C3", ls=(0, (1, 2)), lw=1,
               label="predicted: per-sample point + read")
    ax.axhline(PAPER_PLATEAU, color="C2", ls="-.", lw=1.2, label="paper: analog plateau ≈ 1e-5")
    legend_under(ax, ncol=1, offset=-0.16)
    ax = axes[0, 1]
    alphas = np.array(cfg.floor_alphas)
    ax.errorbar(cfg.curve_alphas, data["aihwkit_plateau"], 3 * data["aihwkit_plateau_se"], fmt="D-",
                color="C1", label="Analog SGD, script's setting", ms=4)
    ax.errorbar(alphas, data["analog_floor"], 3 * data["analog_floor_se"], fmt="o-", color="C3",
                label="Analog SGD, mean-field", ms=4)
    ax.errorbar(alphas, data["digital_floor"], 3 * data["digital_floor_se"], fmt="s-", color="C0",
                label="digital SGD", ms=4)
    ax.plot(data["theory_alpha"], data["theory_digital"], "k:", lw=1,
            label="digital: exact stationary loss ∝ α")
    ax.axhline(data["theory_analog_limit"], color="C3", ls=":", lw=1,
               label="mean-field α→0: f(W̄)")
    ax.axhline(data["theory_aihwkit_limit"], color="C1", ls=(0, (1, 2)), lw=1,
               label="script's α→0: per-sample point + read")
    reference_marks(ax, cfg.curve_alphas, np.full(len(cfg.curve_alphas), PAPER_PLATEAU), color="C2",
                    marker="x", size=5, label="paper: ≈ 1e-5 at its α")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("floor / D (mean-field, digital: second half)")
    ax.set_title("asymptotic error vs α (bars: ±3 s.e.)")
    legend_under(ax, ncol=1, offset=-0.16)
    return save_figure(fig, out_dir, "exact_fig1_lr")


FIGURE = FigureSpec(
    id="exact_fig1_lr",
    title="Digital vs Analog SGD across learning rates; floor vs alpha",
    reference="arXiv 2406.12774 Fig. 1 (S1-SGD-diff-lr.py)",
    configs=CONFIGS,
    compute=compute,
    render=render,
    cells=cells,
    compute_cell=compute_cell,
    assemble=assemble,
)


FIDELITY = Fidelity(
    statement=(
        "Analog SGD's loss plateaus at a level that does not fall with the learning rate, while "
        "digital SGD's floor is proportional to alpha."
    ),
    verdict="reproduces",
    evidence=(
        "pulse.per_sample_drift",
        "asgd.floor_alpha_independent",
        "asgd.mean_field_fixed_point",
        "figure:exact_fig1_ablation",
    ),
    regime="pulse level",
    notes=(
        "The plateau comes from aihwkit's per-sample update:"
        " one pulse train per sample makes the drift act on sum_n |alpha g_n|, plus the script's"
        " noisy loss read; the mean-field summed update (dotted, the theory's limit) keeps the"
        " alpha-independence but at 1.2e-8. "
        "Full: the script's setting (pulse level, IO weight noise, one BL-800 train per sample,"
        " loss read through the noisy forward; 16 runs, mean of the last 20 %) plateaus at 5.34e-6 /"
        " 5.01e-6 / 4.94e-6 / 4.94e-6 (+- 2e-8..5e-8) at alpha 0.2 / 0.1 / 0.05 / 0.03; predicted"
        " alpha -> 0 level 4.23e-6 (per-sample fixed point 1.73e-6 + read offset 2.50e-6). Digital SGD"
        " 1.60e-7 .. 1.25e-9 over alpha 0.2 .. 0.002 (exact stationary loss proportional to alpha);"
        " mean-field Analog SGD 1.73e-7 .. 1.21e-8 (f(W_bar)/D = 1.1e-8). The paper's ~1e-5 is 2x this"
        " figure's level; exact_fig1_ablation shows it inside the spread over data draws (this numpy"
        " draw at the 11th percentile, 1e-5 at the 79th). The spec's reading of the paper's digital"
        " curves (1e-9..1e-10) is below the exact stationary loss of the stated gradient noise"
        " (1.2e-7 at alpha = 0.2), so that reading is not used."
    ),
)
