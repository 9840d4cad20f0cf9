"""Figure 1 of arXiv 2406.12774: digital vs Analog SGD for several learning rates.

Left: f(W_k)/D against the iteration for alpha in {0.2, 0.1, 0.05, 0.03} (the paper's problem:
D = 40, N = 100, A ~ N(0,1), x* = 0.45 N(0, I), un-halved MSE, gradient noise std 1e-2/sqrt(40),
tau = 3, W_0 = 0). Right: the floor (second-half average) against alpha on a wider grid, with the
theory's lines: digital SGD's exact stationary loss (proportional to alpha) and the mean-field
fixed point f(W_bar), the alpha -> 0 limit of Analog SGD's floor (independent of alpha).

Deviation from the paper: the paper's analog curves come from aihwkit's pulse-level device
(dw_min = 1e-4, BL = 800), whose granularity noise sets its ~1e-5 plateau. Here the analog
dynamic is the mean-field model (pulse-level: see the pulse figures); at tau = 3 its floor,
f(W_bar)/D ~ 1e-8, is visible only once alpha is small enough that the O(alpha) SGD variance
falls below it, hence the extended alpha grid of the right panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim.config import Config, Modes
from sim.stats import mean_se
from theory.implicit import mean_field_fixed_point, quadratic_loss, sgd_stationary_loss

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


CONFIGS = Modes(quick=Settings(runs=16, floor_alphas=(0.2, 0.05, 0.01, 0.003)),
                full=Settings(runs=64, floor_alphas=(0.2, 0.1, 0.05, 0.03, 0.01, 0.005, 0.002)))


def _algos(alpha: float, tau: float) -> dict:
    return {"digital": sim.DigitalSGD(alpha), "analog": sim.AnalogSGD(alpha, sim.SoftBounds(tau))}


def cells(cfg: Settings) -> list[dict]:
    """One cell per simulation: the loss curve of each (algorithm, curve alpha) and the floor of
    each (algorithm, floor alpha)."""
    return [{"panel": panel, "algorithm": name, "alpha": a}
            for panel, alphas in (("curve", cfg.curve_alphas), ("floor", cfg.floor_alphas))
            for name in ("digital", "analog") for a in alphas]


def compute_cell(cfg: Settings, cell: dict) -> dict:
    """A curve cell: the loss/D band and its iterations; a floor cell: the floor's mean and s.e."""
    prob = sim.paper_problem(cfg.problem)
    D = prob.dim
    noise = sim.GaussianNoise(cfg.std)
    name, a = cell["algorithm"], cell["alpha"]
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
    for name in ("digital", "analog"):
        for k in ("mean", "lo", "hi"):
            out[f"{name}_{k}"] = np.array([got["curve", name, a][k] for a in cfg.curve_alphas])
    out["k"] = got["curve", "analog", cfg.curve_alphas[-1]]["k"]
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
    fig, axes = subplots(1, 2, width=3.6)
    ax = axes[0, 0]
    cs = colors(len(cfg.curve_alphas), "plasma")
    for i, (a, c) in enumerate(zip(cfg.curve_alphas, cs, strict=True)):
        band(ax, data["k"], data["analog_mean"][i], data["analog_lo"][i], data["analog_hi"][i],
             color=c, label=f"analog α={a:g}")
        band(ax, data["k"], data["digital_mean"][i], data["digital_lo"][i], data["digital_hi"][i],
             color=c, ls="--", lw=0.9)
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("(f(W_k) − f*) / D")
    ax.set_title(f"τ = {cfg.tau:g}; solid: Analog SGD, dashed: digital SGD")
    ax.plot([], [], color="0.4", ls="--", lw=0.9, label="digital SGD (same α, dashed)")
    ax.axhline(PAPER_PLATEAU, color="C2", ls="-.", lw=1.2, label="paper: analog plateau ≈ 1e-5")
    legend_under(ax, ncol=2)
    ax = axes[0, 1]
    alphas = np.array(cfg.floor_alphas)
    ax.errorbar(alphas, data["analog_floor"], 3 * data["analog_floor_se"], fmt="o-", color="C3",
                label="Analog SGD (simulated)", ms=4)
    ax.errorbar(alphas, data["digital_floor"], 3 * data["digital_floor_se"], fmt="s-", color="C0",
                label="digital SGD (simulated)", ms=4)
    ax.plot(data["theory_alpha"], data["theory_digital"], "k:", lw=1,
            label="digital: exact stationary loss ∝ α")
    ax.axhline(data["theory_analog_limit"], color="C3", ls=":", lw=1,
               label="analog α→0: mean-field f(W̄)")
    reference_marks(ax, cfg.curve_alphas, np.full(len(cfg.curve_alphas), PAPER_PLATEAU), color="C2",
                    marker="x", size=5, label="paper: analog plateau ≈ 1e-5 at its α")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("floor (second-half mean) / D")
    ax.set_title("asymptotic error vs α (bars: ±3 s.e.)")
    legend_under(ax, ncol=2)
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
    verdict="deviates",
    evidence=(
        "asgd.floor_alpha_independent",
        "asgd.mean_field_fixed_point",
        "figure:exact_fig1_ablation",
    ),
    regime="mean-field",
    factor=(
        "the loss read (figure:exact_fig1_ablation, one factor at a time): reading the loss through"
        " the tile's noisy forward pass adds sigma_w^2 mean||a_n||^2 / D = 2.5e-6 and gives an"
        " alpha-independent plateau of 2.6e-6..2.9e-6 (the paper: ~1e-5); pulse level (tau = 3,"
        " dw_min = 1e-4, BL 800) and IO weight-noise injection alone or together stay at 5e-8..4e-7"
    ),
    notes=(
        "The alpha-independence holds (claims), but this figure's analog plateau is ~1e-7..3e-8"
        " (noiseless f(W_k), mean-field, gradient noise), so its analog and digital curves nearly"
        " overlap. No factor in the ablation reaches 1e-5: the closest, the noisy loss read, is"
        " ~4x below it, and which loss the paper plots is not in the spec."
    ),
)
