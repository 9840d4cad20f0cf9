"""Tiki-Taka fails without a zero symmetric point (arXiv 2502.06309 Fig. 2, ``S1-TT-fails.py``).

Least squares D = 50, N = 100, A ~ N(0,1), W* ~ 0.5 N(0,1) (``sim.paper_problem("response_fig2")``),
W_0 = 1 (all ones), tau = 3.5; both arrays have the generalized linear response with asymmetry
c in {0, 0.1, 0.2, 0.3} (symmetric point c tau, not zero-shifted). Left: (f(W_k) - f*)/D against the
iteration for Tiki-Taka with the script's mixing gamma = 0.4 (solid) and Analog SGD (dashed), one
colour per c. Right: the floor (second-half mean) against c for Analog SGD and Tiki-Taka with
gamma = 0 and gamma = 0.4.

Deviations from the paper: the paper runs aihwkit's pulse-level ``up_down`` device (dw_min = 1e-4,
BL = 8, stochastic rounding, lr 0.8 with updates capped at 8 dw_min); its only noise is pulse
rounding, which sets its 1e-5 plateau. Here the dynamics are mean-field with explicit Gaussian
gradient noise (std 0.1 per coordinate) standing in for that randomness, and the step sizes are
chosen for the mean-field model: P's gain tau/E|g| is ~40 at tau = 3.5, so the transfer rate
alpha = 0.005 keeps the effective step on W stable, and beta = 0.05 lets P relax within ~10^3 steps.
Whether Tiki-Taka ends up worse than Analog SGD at c = 0.3 depends on these choices (it does on the
1-D instance of claim ``tt.needs_zero_symmetric_point``); the robust effect is that its floor grows
with c while at c = 0 it is the lowest.

Pulse-level check (not the figure's config; 4 runs, W_0 = 1, seed 2502, loss/D). With
``sim.PulsedSoftBounds(dw_min=1e-4, w_max=3.5, w_min=-3.5, up_down=2c/(1+c))`` (symmetric point
c tau) and ``mode="pulsed"`` on both arrays:

* the paper's steps (lr = fast lr = 0.8, BL = 8, gamma = 0.4) without gradient noise, final loss at
  K = 4000: Analog SGD 6.3e-8, 2.9e-9, 3.9e-4, 4.1e-3 and Tiki-Taka 1.9e-4, 2.3e-4, 1.6e-3, 6.7e-3
  for c = 0, 0.1, 0.2, 0.3; with Gaussian noise std 0.1 / 0.03 / 0.01 (second-half floor, K = 6000)
  Tiki-Taka also loses at c = 0 (e.g. 2.6e-3 vs 3.5e-4 at std 0.1). Tiki-Taka loses at c = 0.3, as in
  the paper, but also at c = 0, which the paper does not show: our pulse model rounds the product
  stochastically, which is far less noisy than aihwkit's coincidence pulse trains, so noiseless Analog
  SGD converges almost exactly.
* the mean-field steps (alpha = 0.005, beta = 0.05, no BL cap) with std 0.1 or 0.01: Tiki-Taka wins
  at c = 0 and c = 0.3 (std 0.1: 5.2e-5 vs 1.5e-4 and 7.0e-4 vs 1.0e-3); the same holds mean-field
  with smaller noise (std 0.03, 0.01, 0.003).

No setting tried reproduces both halves of the paper's figure (win at c = 0, loss at c = 0.3), so the
figure keeps the mean-field configuration and this deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim.config import Config, Modes
from sim.stats import mean_se_rows

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import band, colors, legend_under, subplots, summarize


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of 2502.06309 Fig. 2 (Tiki-Taka fails)."""

    K: int
    runs: int
    problem: str = "response_fig2"
    tau: float = 3.5
    cs: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    w0: float = 1.0
    std: float = 0.1
    alpha: float = 0.005
    beta: float = 0.05
    gamma: float = 0.4
    seed: int = 2502


CONFIGS = Modes(quick=Settings(K=6000, runs=4), full=Settings(K=20000, runs=16))
VARIANTS = ("analog", "tt_gamma0", "tt")


def compute(cfg: Settings) -> dict:
    prob = sim.paper_problem(cfg.problem)
    D, R, cs = prob.dim, cfg.runs, np.array(cfg.cs)
    G = cs.size
    c = np.repeat(cs, R)[:, None]  # all c values in one batch; rows of a c share their noise
    seeds = np.tile(np.arange(R), G)
    dev = sim.GeneralizedLinear(cfg.tau, c)
    algos: dict[str, sim.Algorithm] = {
        "analog": sim.AnalogSGD(cfg.alpha, dev),
        "tt_gamma0": sim.TikiTaka(cfg.alpha, cfg.beta, dev),
        "tt": sim.TikiTaka(cfg.alpha, cfg.beta, dev, gamma=cfg.gamma),
    }
    out: dict = {}
    K = cfg.K
    for name, algo in algos.items():
        tr = sim.simulate(prob, algo, steps=K, seeds=seeds, seed=cfg.seed,
                          noise=sim.GaussianNoise(cfg.std), w0=cfg.w0, record=("loss",),
                          record_every=max(1, K // 300), label=name)
        loss = (tr["loss"] / D).reshape(G, R, -1)
        stats = [summarize(loss[i]) for i in range(G)]
        for key in ("mean", "lo", "hi"):
            out[f"{name}_{key}"] = np.array([s[key] for s in stats])
        floor = (tr.tail_average("loss", 0.5) / D).reshape(G, R)
        out[f"{name}_floor"], out[f"{name}_floor_se"] = mean_se_rows(floor)
    out["k"] = tr.k
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.6)
    ax = axes[0, 0]
    cols = colors(len(cfg.cs), "plasma")
    for i, (c, col) in enumerate(zip(cfg.cs, cols, strict=True)):
        band(ax, data["k"], data["tt_mean"][i], data["tt_lo"][i], data["tt_hi"][i], color=col,
             label=f"c = {c:g}")
        band(ax, data["k"], data["analog_mean"][i], data["analog_lo"][i], data["analog_hi"][i], color=col,
             ls="--", lw=0.9)
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("(f(W_k) − f*) / D")
    ax.set_title(f"solid: Tiki-Taka (γ = {cfg.gamma:g}), dashed: Analog SGD")
    ax.plot([], [], color="0.4", lw=1.2, label=f"Tiki-Taka γ = {cfg.gamma:g} (solid)")
    ax.plot([], [], color="0.4", ls="--", lw=0.9, label="Analog SGD (dashed)")
    legend_under(ax, ncol=3)
    ax = axes[0, 1]
    cs = np.array(cfg.cs)
    for name, label, style in (("analog", "Analog SGD", dict(color="C3", marker="o")),
                               ("tt_gamma0", "Tiki-Taka γ = 0", dict(color="C0", marker="s", ls="--")),
                               ("tt", f"Tiki-Taka γ = {cfg.gamma:g}", dict(color="C0", marker="D"))):
        ax.errorbar(cs, data[f"{name}_floor"], 3 * data[f"{name}_floor_se"], ms=4, label=label, **style)
    ax.set_yscale("log")
    ax.set_xlabel("asymmetry c (symmetric point c τ)")
    ax.set_ylabel("floor (second-half mean) / D")
    ax.set_title(f"τ = {cfg.tau:g}, α = {cfg.alpha:g}, β = {cfg.beta:g} (bars: ±3 s.e.)")
    legend_under(ax, ncol=2)
    return save_figure(fig, out_dir, "response_fig2_tt_fails")


FIGURE = FigureSpec(
    id="response_fig2_tt_fails",
    title="Tiki-Taka vs Analog SGD for generalized linear responses with c in {0, 0.1, 0.2, 0.3}",
    reference="arXiv 2502.06309 Fig. 2 (NeurIPS-2025/S1-TT-fails.py); spec Sec. 8 item 4, C12",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "Tiki-Taka fails without a zero symmetric point: its floor grows with the asymmetry c and"
        " at c = 0.3 it loses to Analog SGD."
    ),
    verdict="deviates",
    evidence=(
        "tt.needs_zero_symmetric_point",
        "figure:response_fig2_tt_fails",
    ),
    regime="mean-field",
    factor=(
        "step sizes and noise model: alpha, beta chosen for the mean-field model and Gaussian "
        "gradient noise instead of the paper's pulse rounding (BL = 8, lr 0.8)"
    ),
    notes=(
        "The floor grows with c, but Tiki-Taka never loses to Analog SGD at c = 0.3 (7.3e-4 vs "
        "8.5e-4); a pulse-level check (docstring) loses at c = 0.3 and also at c = 0. No ablation"
        " figure yet."
    ),
)
