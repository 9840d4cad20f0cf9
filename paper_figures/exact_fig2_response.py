r"""Figure 2 of arXiv 2406.12774: ideal (symmetric, linear) vs asymmetric (soft-bounds) response.

Left: the weight change of one pulse against the weight w, in units of dw_min: the ideal device
moves by +1 / -1 everywhere (:math:`q_\pm \equiv 1`); the asymmetric linear device (ALD, soft
bounds on :math:`\pm\tau`) by :math:`+q_+(w) = 1 - w/\tau` and :math:`-q_-(w) = -(1 + w/\tau)`.
Markers: one pulse applied by the pulse-level devices (:class:`sim.PulsedSoftBounds`, no cycle
noise, one pulse per update; the ideal device as :class:`sim.PulsedConstantStep` with unbounded
range); lines: the mean-field response functions of :class:`sim.SoftBounds` / :class:`sim.Ideal`.

Right: the weight under alternating up/down pulses from :math:`w_0`: the ideal device oscillates
in place, the ALD drifts to its symmetric point (root of :math:`G = (q_- - q_+)/2`, here 0; up to
O(dw_min), the fixed point of a +/- pulse pair is :math:`-\Delta w_{\min} / (2 - \Delta w_{\min}/\tau)`).
A drift of :math:`w` toward the symmetric point under zero-mean updates is the asymmetric
device's bias that the paper's analysis of Analog SGD is about.

Reference: arXiv 2406.12774 Fig. 2 (caption only, spec ``exact_training.md`` Sec. 6: "Left: ideal
device (equal up and down response). Right: ALD, showing q+(w) and q-(w)"). The paper's figure is
a schematic without numbers; tau, dw_min and w_0 here are illustrative.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim import BatchRNG
from sim.config import Config, Modes

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import legend_under, subplots


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of Fig. 2 (response)."""

    n_pulses: int
    tau: float = 1.0
    dw_min: float = 0.02
    w0: float = 0.6
    n_grid: int = 9
    seed: int = 2


CONFIGS = Modes(quick=Settings(n_pulses=300), full=Settings(n_pulses=600))


def _devices(cfg: Settings) -> dict:
    tau, dw = cfg.tau, cfg.dw_min
    return {
        "ideal": (sim.PulsedConstantStep(dw_min=dw, w_max=1e6, w_min=-1e6), sim.Ideal()),
        "ald": (sim.PulsedSoftBounds(dw_min=dw, w_max=tau, w_min=-tau), sim.SoftBounds(tau)),
    }


def compute(cfg: Settings) -> dict:
    tau, dw, n = cfg.tau, cfg.dw_min, cfg.n_pulses
    grid = np.linspace(-tau, tau, cfg.n_grid)
    fine = np.linspace(-tau, tau, 201)
    out: dict = {"w_grid": grid, "w_fine": fine, "pulse": np.arange(n + 1)}
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)  # up, down, up, ...
    for name, (pulsed, mean_field) in _devices(cfg).items():
        rng = BatchRNG(cfg.seed, range(1), f"exact_fig2_response.{name}")
        w = grid[None, :]
        # one pulse up / down from every grid weight, at pulse level
        out[f"{name}_step_up"] = (pulsed.pulsed_update(w, np.full_like(w, dw), rng) - w)[0] / dw
        out[f"{name}_step_down"] = (pulsed.pulsed_update(w, np.full_like(w, -dw), rng) - w)[0] / dw
        out[f"{name}_q_plus"] = np.broadcast_to(mean_field.q_plus(fine), fine.shape).astype(float)
        out[f"{name}_q_minus"] = np.broadcast_to(mean_field.q_minus(fine), fine.shape).astype(float)
        out[f"{name}_symmetric_point"] = float(mean_field.symmetric_point())
        traj = np.empty(n + 1)
        x = np.full((1, 1), cfg.w0)
        traj[0] = x[0, 0]
        for k, s in enumerate(signs):  # sequential in time: one pulse per step
            x = pulsed.pulsed_update(x, np.full_like(x, s * dw), rng)
            traj[k + 1] = x[0, 0]
        out[f"{name}_trajectory"] = traj
    out["ald_pair_fixed_point"] = -dw / (2 - dw / tau)
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.4, height=2.8)
    ax = axes[0, 0]
    g, f = data["w_grid"], data["w_fine"]
    styles = {"ideal": ("0.35", "ideal (symmetric, linear)"),
              "ald": ("C3", f"soft bounds, τ = {cfg.tau:g}")}
    for name, (c, label) in styles.items():
        ax.plot(f, data[f"{name}_q_plus"], "-", color=c, lw=1.1, label=f"{label}: +q₊(w)")
        ax.plot(f, -data[f"{name}_q_minus"], "--", color=c, lw=1.1, label=f"{label}: −q₋(w)")
        ax.plot(g, data[f"{name}_step_up"], "^", color=c, ms=4)
        ax.plot(g, data[f"{name}_step_down"], "v", color=c, ms=4)
    ax.plot([], [], "^", color="0.5", ms=4, label="markers: one pulse at pulse level (up ▲ / down ▼)")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel("weight w")
    ax.set_ylabel("Δw per pulse / Δw_min")
    ax.set_title("response to one pulse")
    legend_under(ax, ncol=1)
    ax = axes[0, 1]
    k = data["pulse"]
    for name, (c, label) in styles.items():
        ax.plot(k, data[f"{name}_trajectory"], "-", color=c, lw=0.8, label=label)
    ax.axhline(data["ald_symmetric_point"], color="C3", ls=":", lw=1,
               label=f"ALD symmetric point w⋄ = {data['ald_symmetric_point']:g}")
    ax.set_xlabel("pulse number (alternating up / down)")
    ax.set_ylabel("weight w")
    ax.set_title(f"alternating pulses from w₀ = {cfg.w0:g}, Δw_min = {cfg.dw_min:g}")
    legend_under(ax, ncol=1)
    return save_figure(fig, out_dir, "exact_fig2_response")


FIGURE = FigureSpec(
    id="exact_fig2_response",
    title="Ideal vs asymmetric (soft-bounds) device response: step per pulse and alternating pulses",
    reference="arXiv 2406.12774 Fig. 2 (illustration of the asymmetric update; caption only)",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "An ideal device responds equally to up and down pulses everywhere, while the asymmetric"
        " linear device's steps q+(w) = 1 - w/tau and q-(w) = 1 + w/tau differ away from its"
        " symmetric point, so alternating pulses drive w to that point."
    ),
    verdict="reproduces",
    evidence=(
        "device.ald_identities",
        "pulse.symmetric_point",
    ),
    regime="pulse level",
    notes=(
        "Schematic: tau = 1, dw_min = 0.02, w0 = 0.6 are illustrative (the paper's figure has no"
        " numbers); one pulse of the pulse-level devices matches the mean-field q+- exactly."
    ),
)
