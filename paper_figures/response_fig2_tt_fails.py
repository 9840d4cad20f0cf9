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

Full mode also runs the script's setting at pulse level (third panel; ``response_fig2_ablation``'s
``aihwkit`` variant: ``sim.PulsedSoftBounds(dw_min=1e-4, w_max=3.5, w_min=-3.5, up_down=2c/(1+c))``,
lr = fast lr = 0.8, gamma = 0.4, W_0 = 1, 1000 iterations, no gradient noise, loss read at
W + gamma P; written as aihwkit writes the script's tiles: the full batch's gradient as one BL-8
pulse train per sample, the transfer with the TransferCompound's default transfer update of BL 31),
with the mean-field panels as the comparison. There Tiki-Taka wins by orders of magnitude at c = 0
and loses at every c >= 0.1, as the paper states. :mod:`paper_figures.response_fig2_ablation`
varies the two factors one at a time: either alone does not reproduce both halves (per-sample
trains alone: Tiki-Taka loses at every c; BL-31 transfers alone: it wins at every c).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim.config import Config, Modes
from sim.stats import mean_se_rows

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._response_fig2 import MEAN_FIELD_STEPS, Preset, run_pair
from ._style import band, colors, legend_under, subplots, summarize


@dataclass(frozen=True, kw_only=True)
class PulseSettings(Preset):
    """The script's setting at pulse level (response_fig2_ablation's "aihwkit"), on ``runs`` runs."""

    runs: int = 8


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of 2502.06309 Fig. 2 (Tiki-Taka fails)."""

    K: int
    runs: int
    problem: str = "response_fig2"
    tau: float = 3.5
    cs: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    w0: float = 1.0
    std: float = MEAN_FIELD_STEPS["std"]
    alpha: float = MEAN_FIELD_STEPS["alpha"]
    beta: float = MEAN_FIELD_STEPS["beta"]
    gamma: float = 0.4
    seed: int = 2502
    #: full mode also runs the script's setting at pulse level, the mean-field runs being the comparison
    pulse: PulseSettings | None = None


CONFIGS = Modes(quick=Settings(K=6000, runs=4), full=Settings(K=20000, runs=16, pulse=PulseSettings()))
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
    if cfg.pulse is not None:
        pcfg = {**dataclasses.asdict(cfg.pulse), "cs": cfg.cs, "seed": cfg.seed}
        finals: dict[str, list] = {"analog": [], "tt": []}
        for i, c_i in enumerate(cs):
            res = run_pair(float(c_i), pcfg, "aihwkit")  # losses read at W + gamma P: res[name][0]
            n_tail = max(1, round(pcfg["tail"] * res["k"].size))
            for name in finals:
                out[f"pulse_{name}_mean_c{i}"] = res[name][0].mean(axis=0)
                finals[name].append(res[name][0][:, -n_tail:].mean(axis=-1))
            out["pulse_k"] = res["k"]
        for name, rows in finals.items():
            f = np.array(rows)  # (c, runs)
            out[f"pulse_{name}_final"] = f.mean(axis=1)
            out[f"pulse_{name}_final_se"] = f.std(axis=1, ddof=1) / np.sqrt(f.shape[1])
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    pulse = cfg.pulse is not None
    fig, axes = subplots(1, 3 if pulse else 2, width=3.6)
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
    if pulse:
        ax = axes[0, 2]
        for i, (c, col) in enumerate(zip(cfg.cs, cols, strict=True)):
            ratio = data["pulse_tt_final"][i] / data["pulse_analog_final"][i]
            ax.plot(data["pulse_k"], data[f"pulse_tt_mean_c{i}"], color=col,
                    label=f"c = {c:g} (final TT / ASGD {ratio:.2g})")
            ax.plot(data["pulse_k"], data[f"pulse_analog_mean_c{i}"], color=col, ls="--", lw=0.9)
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_ylabel("(f(W + γP) − f*) / D, mean over runs")
        runs = cfg.pulse.runs if cfg.pulse is not None else "?"
        ax.set_title(f"script's setting, pulse level ({runs} runs; dashed: A SGD)")
        legend_under(ax, ncol=1)
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
    verdict="reproduces",
    evidence=(
        "tt.needs_zero_symmetric_point",
        "figure:response_fig2_tt_fails",
        "figure:response_fig2_ablation",
    ),
    regime="pulse level",
    notes=(
        "Full mode's pulse-level panel, the script's setting as aihwkit writes it (one BL-8 train per"
        " sample for the gradient, BL-31 transfer trains; 8 runs, mean of the last 10 % read at"
        " W + gamma P): Tiki-Taka 6.5e-7 / 0.47 / 2.5 / 4.3 vs Analog SGD 0.017 / 0.045 / 0.14 /"
        " 0.38 at c = 0 / 0.1 / 0.2 / 0.3 (ratio 3.8e-5 / 10 / 17 / 11): Tiki-Taka's floor grows with"
        " c, it wins at c = 0 and loses from c = 0.1 on. The mean-field panels (Gaussian gradient"
        " noise, steps chosen for the mean-field model) show the growth with c but no reversal (full"
        " floor 7.26e-4 vs 7.37e-4 at c = 0.3). The paper's 1e-5 plateau level is not matched (6.5e-7"
        " at c = 0 here). The published script's legend labels its run_AGD curves (solid, star) as"
        " Tiki-Taka and its run_TT curves as Analog SGD; this record follows the paper's stated result."
    ),
)
