"""Ablation of ``pipeline_curves``: the asynchronous pipeline at equal per-update batch.

``pipeline_curves`` compares the pipelines at equal micro-batch b = 4: the synchronous pipeline
(and the unpipelined run, same iterates) updates on B b = 32 samples with step alpha, the
asynchronous one after every micro-batch, on b = 4 samples with step alpha / B (the same step per
sample). Its analog floor is then higher (claim ``pipeline.analog_floor``: the floor falls with the
per-update batch), and in quick mode it ends worse than the synchronous pipeline at equal clock
cycles. Here one factor changes: the asynchronous pipeline with micro-batches of b' = B b = 32
samples and step alpha -- the per-update batch and step of the synchronous one; only the staleness
(delay M - m updates at stage m) differs. A second factor, the step: both at alpha / 2 (staleness
costs less at a smaller step, see ``pipeline_speedup_ablation``).

Time axis: a clock cycle is the time one stage needs for one micro-batch (spec 3.3), so a cycle of
a b' = 32 micro-batch lasts b'/b = 8 cycles of a b = 4 one; time is counted in b = 4 cycles
(compute proportional to the samples in the micro-batch). The network, data, tiles and seeds are
those of ``pipeline_curves`` (tanh MLP 64-32-32-16-10 on the UCI digits, M = 4, tau = 1).
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
    """Settings of the pipeline curves ablation: ``pipeline_curves``' set-up, ``runs`` runs,
    ``samples`` training samples per variant, the test-NLL target."""

    runs: int
    samples: int
    target_nll: float


CONFIGS = Modes(quick=Settings(runs=2, samples=4800, target_nll=0.8),
                full=Settings(runs=8, samples=160000, target_nll=0.2, records=120))
#: (key, schedule, micro-batch in units of b, step in units of alpha / B, label)
VARIANTS = (
    ("sync", "sync", 1, 8, "synchronous (= no pipeline): update on B b = 32, step α"),
    ("async_b", "async", 1, 1, "asynchronous, b = 4 per update, step α/B (pipeline_curves)"),
    ("async_Bb", "async", 8, 8, "asynchronous, B b = 32 per update, step α (equal per-update batch)"),
    ("sync_half", "sync", 1, 4, "synchronous, step α/2"),
    ("async_Bb_half", "async", 8, 4, "asynchronous, B b = 32 per update, step α/2"),
)


def compute(cfg: Settings) -> dict:
    B, M, b = cfg.B, cfg.stages, cfg.b
    if any(mult not in (1, B) for _, _, mult, _, _ in VARIANTS):
        raise ValueError(f"micro-batch multiples must be 1 or B = {B}")
    train = trainer(cfg, cfg.runs)

    out: dict = {}
    for key, kind, mult, step, _ in VARIANTS:
        mb = mult * b
        n = cfg.samples // mb  # micro-batches
        if kind == "sync":
            sched, updates = build_schedule(kind, M, B, n // B), n // B
        else:
            sched, updates = build_schedule(kind, M, n, 1), n
        run = train(sched, cfg.alpha * step / B, mb, max(1, updates // cfg.records))
        for name in ("loss", "acc"):
            for k, v in summarize(run.metrics[name]).items():
                out[f"{key}_{name}_{k}"] = v
            out[f"{key}_{name}_final"] = run.metrics[name][:, -1]
        out[f"{key}_samples"] = run.samples
        out[f"{key}_time"] = run.cycles * mult  # in clock cycles of a b-sample micro-batch
        # first record where the mean test NLL is <= target_nll (NaN: never within the run)
        hit = out[f"{key}_loss_mean"] <= cfg.target_nll
        first = int(hit.argmax())
        out[f"{key}_samples_to_target"] = float(run.samples[first]) if hit.any() else np.nan
        out[f"{key}_time_to_target"] = float(out[f"{key}_time"][first]) if hit.any() else np.nan
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(2, 2, width=3.2)
    style = {"sync": ("C0", "--"), "async_b": ("C1", "-"), "async_Bb": ("C3", "-."),
             "sync_half": ("C9", ":"), "async_Bb_half": ("C6", (0, (5, 1, 1, 1, 1, 1)))}
    for row, name in enumerate(("loss", "acc")):
        scale = 1.0 if name == "loss" else 100.0
        for col, clock in enumerate(("samples", "time")):
            ax = axes[row, col]
            for key, *_, label in VARIANTS:
                c, ls = style[key]
                band(ax, data[f"{key}_{clock}"], scale * data[f"{key}_{name}_mean"],
                     scale * data[f"{key}_{name}_lo"], scale * data[f"{key}_{name}_hi"], color=c, ls=ls,
                     label=label)
            ax.set_xlabel("samples" if clock == "samples"
                          else f"clock cycles (of a b = {cfg.b} micro-batch)")
            ax.set_ylabel("test NLL" if name == "loss" else "test accuracy (%)")
            ax.set_title(f"test {'NLL' if name == 'loss' else 'accuracy'} against "
                         f"{'samples' if clock == 'samples' else 'time'}")
            ax.set_xscale("log")  # the first record (0) is not drawn; the early part is where they differ
            if name == "loss":
                ax.axhline(cfg.target_nll, color="0.3", ls=":", lw=0.8,
                           label=f"target test NLL {cfg.target_nll:g}")
                ax.set_yscale("log")
                plain_log_ticks(ax, "y")
    fig.suptitle(f"M = {cfg.stages}, B = {cfg.B}, b = {cfg.b}: the async per-update batch, then the"
                 " step; band: 10–90 % of runs", fontsize=9)
    legend_below(fig, axes[0, 0], ncol=1)
    return save_figure(fig, out_dir, "pipeline_curves_ablation")


FIGURE = FigureSpec(
    id="pipeline_curves_ablation",
    title="Async pipeline at equal per-update batch: test loss / accuracy vs samples and time",
    reference="arXiv 2410.15155 (almost-free claim; curves not recovered, spec 5 T2 caveat, 6.3)",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "At equal per-update batch the asynchronous pipeline is almost free in samples and faster "
        "in clock cycles than the synchronous one."
    ),
    verdict="reproduces",
    evidence=(
        "pipeline.almost_free",
        "pipeline.analog_floor",
        "figure:pipeline_curves_ablation",
    ),
    regime="mean-field",
    factor=None,
    notes=(
        "Full (8 runs, 160k samples; mean test NLL to 0.2, samples / b = 4 cycles): sync at alpha"
        " 39360 / 27060; async at b = 4 never (final 0.300 +- 0.023 vs 0.161 +- 0.018); async at"
        " B b = 32, alpha 69536 (1.77x) / 34816 (later); at alpha/2 sync 48544 / 33374, async B b ="
        " 32 52480 (1.08x) / 26288 (1.27x sooner): almost free needs the equal per-update batch and"
        " the smaller step (1.11x / 1.18x samples at NLL 0.25 / 0.18). Quick (4800 samples, NLL"
        " 0.8): async B b = 32 at alpha 1.10x samples, 1.21x sooner."
    ),
)
