"""Speedup over no pipeline against the number of stages (arXiv 2410.15155, speedup bar chart).

Bars: synchronous pipeline (clock cycles of the event-simulated schedules, B = 8 as read off the
paper's chart), asynchronous throughput (same micro-batches), and the asynchronous speedup **to a
target**: clock cycles for the unpipelined run (per-micro-batch updates) to reach
||grad f||^2 <= target x start over those of the asynchronous pipeline, on the stage-separable
quadratic with analog tiles (mean +- 3 s.e. over runs); black outline: linear speedup M. The
formula MB/(B+M-1) is drawn as points.

Deviation: the paper's model and target metric behind the async bars are unknown (spec 6.2); this
uses the stage-separable quadratic, where staleness enters exactly through the delayed recursion.
Finding: there, for a small step a = alpha*lambda, the dominant root of z^{d+1} - z^d + a is
1 - a - d a^2 + O(a^3), so staleness slightly *speeds up* the transient and the to-target async
speedup slightly exceeds M; the paper's drop at 12-16 stages (async about 0.48 M) is not
reproduced with this small step. ``pipeline_speedup_ablation`` varies one factor at a time and
finds the drop from the step rule: a step tuned at M = 1 between the delay-stability thresholds
a*(11) and a*(7), halved once the input stage's delay makes it unstable, costs 2x the samples at
12-16 stages. The paper's bars (spec 6.2) are drawn as reference marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
import theory
from sim.config import Config, Modes
from sim.pipeline import SeparableQuadratic, build_schedule, train_pipeline
from sim.stats import mean_se

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._pipeline_reference import paper_bars
from ._style import legend_under, reference_marks, subplots


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of the pipeline speed-up figure."""

    runs: int
    stages: tuple[int, ...] = (1, 2, 4, 8, 12, 16)
    B: int = 8
    mini_batches: int = 16
    alpha: float = 0.02
    tau: float = 4.0
    dim: int = 4
    sigma: float = 0.02
    target: float = 1e-3
    seed: int = 11


CONFIGS = Modes(quick=Settings(runs=4), full=Settings(runs=32, mini_batches=64))


def _to_target(kind: str, M: int, cfg: Settings) -> np.ndarray:
    """Per-run clock cycles until ||grad f||^2 <= target * start."""
    a, D = cfg.alpha, cfg.dim
    n = int(np.ceil(2 * np.log(1 / cfg.target) / a))
    sched = build_schedule("none", M, 1, n) if kind == "none" else build_schedule("async", M, n, 1)
    layers = [SeparableQuadratic(1.0, np.zeros(D)) for _ in range(M)]
    opt = sim.AnalogSGD(a, sim.SoftBounds(cfg.tau))
    w0 = [np.full((cfg.runs, D), 0.5)] * M
    run = train_pipeline(layers, list(range(1, M + 1)), w0, [opt] * M, sched,
                         lambda rng, j: (cfg.sigma * rng.normal((1, D)), None),
                         lambda out, y: np.zeros_like(out),
                         metrics=lambda Ws: {"g2": sum((W**2).sum(axis=-1) for W in Ws)},
                         seeds=cfg.runs, seed=cfg.seed)
    g2 = run.metrics["g2"]
    hit = g2 <= cfg.target * g2[:, :1]
    if not np.all(hit.any(axis=1)):
        raise RuntimeError(f"{kind} M={M}: target not reached")
    return run.cycles[hit.argmax(axis=1)].astype(float)


def compute(cfg: Settings) -> dict:
    B, K = cfg.B, cfg.mini_batches
    Ms = cfg.stages
    sync, thr, formula, tgt, tgt_se = [], [], [], [], []
    for M in Ms:
        c_none = build_schedule("none", M, B, K).cycles
        sync.append(c_none / build_schedule("sync", M, B, K).cycles)
        thr.append(c_none / build_schedule("async", M, B * K, 1).cycles)
        formula.append(float(theory.get("pipeline.speedup.sync").evaluate(B=B, M=M)))
        ratio = _to_target("none", M, cfg) / _to_target("async", M, cfg)
        e = mean_se(ratio)
        tgt.append(e.mean)
        tgt_se.append(e.se)
    return {"stages": np.array(Ms), "sync": np.array(sync), "async_throughput": np.array(thr),
            "sync_formula": np.array(formula), "async_to_target": np.array(tgt),
            "async_to_target_se": np.array(tgt_se)}


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 1, width=4.6, height=2.8)
    ax = axes[0, 0]
    Ms = data["stages"]
    x = np.arange(len(Ms))
    w = 0.26
    ax.bar(x, Ms, 3.2 * w, facecolor="none", edgecolor="k", lw=0.8, label="linear speedup M")
    ax.bar(x - w, data["sync"], w, color="C0", label=f"synchronous (B = {cfg.B})")
    ax.bar(x, data["async_throughput"], w, color="C1", alpha=0.55, label="asynchronous, throughput")
    ax.bar(x + w, data["async_to_target"], w, yerr=3 * data["async_to_target_se"], color="C1",
           label="asynchronous, cycles to target (±3 s.e.)")
    ax.plot(x - w, data["sync_formula"], "k.", ms=4, label="MB/(B+M−1)")
    reference_marks(ax, x - w, paper_bars(Ms, "sync"), color="navy", size=9,
                    label="paper's sync bars (spec 6.2)")
    reference_marks(ax, x + w, paper_bars(Ms, "async"), color="C3", size=12,
                    label="paper's async bars (spec 6.2)")
    ax.set_xticks(x, [str(m) for m in Ms])
    ax.set_xlabel("number of stages M")
    ax.set_ylabel("speedup over no pipeline")
    ax.set_title("speedup vs pipeline depth (async to target: separable quadratic)")
    legend_under(ax, ncol=2, offset=-0.22)
    return save_figure(fig, out_dir, "pipeline_speedup")


FIGURE = FigureSpec(
    id="pipeline_speedup",
    title="Speedup vs number of stages: sync, async (throughput and to target), linear",
    reference="arXiv 2410.15155 speedup chart (2024-pipeline.png); spec 6.2",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "Speedup over no pipeline: synchronous M B/(B+M-1); asynchronous close to linear but "
        "dropping to about 5.8 / 7.7 at M = 12 / 16."
    ),
    verdict="deviates",
    evidence=(
        "pipeline.speedup_formula",
        "pipeline.delayed_stability_threshold",
        "figure:pipeline_speedup_ablation",
    ),
    regime="mean-field",
    factor=(
        "step size: this figure's a = 0.02 is far below the delay threshold a*(M-1) (0.10 at"
        " M = 16), so staleness costs nothing; a step tuned at M = 1 inside (a*(11), a*(7)) ="
        " (0.136, 0.209) and halved once unstable gives ~M/2 at 12-16 stages"
        " (figure:pipeline_speedup_ablation)"
    ),
    notes=(
        "Sync bars exact (1.78, 2.91, 4.27, 5.05, 5.57 = the paper's, drawn as marks). Async to-target"
        " bars exceed linear (quick: 8.23, 12.54, 16.91 at M = 8, 12, 16) instead of the paper's 7.54,"
        " 5.79, 7.74: on one curvature with a small step, staleness speeds the transient"
        " (dominant root 1 - a - d a^2). The ablation reproduces the drop by the step rule."
    ),
)
