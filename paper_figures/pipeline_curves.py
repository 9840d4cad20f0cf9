"""Test loss and accuracy against samples and against clock cycles: no pipeline, sync, async.

A tanh MLP 64-32-32-16-10 (``sim.nets`` layers, bias columns) with every weight matrix an analog
soft-bounds tile (tau = 1, mean-field Analog SGD), trained on the UCI digits (8x8, shipped with
scikit-learn) with the NLL loss; one tile per stage (M = 4), micro-batches of b = 4 samples, B = 8
micro-batches per synchronous update. The synchronous pipeline and the unpipelined run use step
alpha on the mini-batch mean (identical iterates); the asynchronous pipeline updates after every
micro-batch with alpha / B (the same step per sample). Mean over runs with the 10-90 % band.

Deviation: the paper's data sets, networks and device settings for its curves are unknown (spec
6.3); the digits stand in for MNIST so that the figure builds offline in seconds.

Observed (full config, 8 runs, 160k samples): none = sync reach test NLL 0.170 (accuracy 95.6 %),
async 0.295 (93.5 %); max saturation 0.95 (sync) and 0.87 (async) of tau. The async per-update batch
is b = 4 against B b = 32 for sync, so its analog floor is higher (claim pipeline.analog_floor);
per clock cycle async processes (B+M-1)/B = 1.375x more samples than sync and 4x more than none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import Modes
from sim.pipeline import build_schedule

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._pipeline_curves import CurvesSetup, trainer
from ._style import band, legend_below, plain_log_ticks, subplots, summarize


@dataclass(frozen=True, kw_only=True)
class Settings(CurvesSetup):
    """Settings of the pipeline training curves: the shared set-up, ``runs`` runs, ``n_micro``
    micro-batches."""

    runs: int
    n_micro: int


CONFIGS = Modes(quick=Settings(runs=2, n_micro=1200), full=Settings(runs=8, n_micro=40000))
KINDS = ("none", "sync", "async")


def compute(cfg: Settings) -> dict:
    B, M, n = cfg.B, cfg.stages, cfg.n_micro
    train = trainer(cfg, cfg.runs)
    out: dict = {}
    for kind in KINDS:
        if kind == "async":
            sched, alpha, every = build_schedule(kind, M, n, 1), cfg.alpha / B, max(1, n // cfg.records)
        else:
            sched, alpha = build_schedule(kind, M, B, n // B), cfg.alpha
            every = max(1, n // B // cfg.records)
        run = train(sched, alpha, cfg.b, every)
        for name in ("loss", "acc"):
            for k, v in summarize(run.metrics[name]).items():
                out[f"{kind}_{name}_{k}"] = v
        out[f"{kind}_samples"] = run.samples
        out[f"{kind}_cycles"] = run.cycles
        out[f"{kind}_max_saturation"] = float(max(np.abs(W).max() for W in run.weights if W is not None)
                                              / cfg.tau)
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(2, 2, width=3.2)
    style = {"none": ("C2", ":"), "sync": ("C0", "--"), "async": ("C1", "-")}
    labels = {"none": "no pipeline", "sync": "synchronous pipeline", "async": "asynchronous pipeline"}
    for row, name in enumerate(("loss", "acc")):
        scale = 1.0 if name == "loss" else 100.0  # accuracy in %, as in every figure
        for col, clock in enumerate(("samples", "cycles")):
            ax = axes[row, col]
            # against samples, no pipeline and the synchronous pipeline have the same iterates
            # (claim pipeline.sync_equals_minibatch): one curve, not two on top of each other
            same = clock == "samples" and all(
                np.array_equal(data[f"none_{name}_{q}"], data[f"sync_{name}_{q}"])
                for q in ("mean", "lo", "hi"))
            for kind in KINDS:
                if same and kind == "none":
                    continue
                c, ls = style[kind]
                lab = "synchronous pipeline = no pipeline (same iterates)" if same and kind == "sync" \
                    else labels[kind]
                band(ax, data[f"{kind}_{clock}"], scale * data[f"{kind}_{name}_mean"],
                     scale * data[f"{kind}_{name}_lo"], scale * data[f"{kind}_{name}_hi"],
                     color=c, ls=ls, label=lab)
            ax.set_xlabel("samples" if clock == "samples" else "clock cycles")
            ax.set_ylabel("test NLL" if name == "loss" else "test accuracy (%)")
            ax.set_title(f"test {'NLL' if name == 'loss' else 'accuracy'} against "
                         f"{'samples' if clock == 'samples' else 'clock cycles'}")
            if name == "loss":
                ax.set_yscale("log")
                plain_log_ticks(ax, "y")
    fig.suptitle(f"M = {cfg.stages} stages, B = {cfg.B} micro-batches of b = {cfg.b}; "
                 "band: 10–90 % of runs", fontsize=9)
    legend_below(fig, axes[0, 0], axes[0, 1], ncol=2)
    return save_figure(fig, out_dir, "pipeline_curves")


FIGURE = FigureSpec(
    id="pipeline_curves",
    title="Test loss / accuracy vs samples and vs clock cycles: none, sync, async (analog MLP, digits)",
    reference="arXiv 2410.15155 (DNN training on real data; curves not recovered, spec 6.3)",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "The asynchronous pipeline is almost free in samples and faster in clock cycles than the "
        "synchronous one."
    ),
    verdict="deviates",
    evidence=(
        "pipeline.almost_free",
        "pipeline.analog_floor",
        "figure:pipeline_curves_ablation",
    ),
    regime="mean-field",
    factor=(
        "per-update batch, then step (figure:pipeline_curves_ablation): async updates on b = 4"
        " samples against sync's B b = 32, so its analog floor is higher (pipeline.analog_floor);"
        " at B b = 32 and step alpha/2 for both it needs 1.08x sync's samples to test NLL 0.2 and"
        " gets there 1.27x sooner (at alpha: 1.77x the samples, later)"
    ),
    notes=(
        "No paper counterpart recovered (spec 6.3). Full: async (b = 4) never reaches test NLL 0.2"
        " (final 0.300 +- 0.023 vs sync 0.161 +- 0.018, accuracy 94.1 vs 96.4 %); quick: it needs"
        " 1.47x sync's samples to NLL 0.8 and gets there later in clock cycles (1846 vs 1716)."
    ),
)
