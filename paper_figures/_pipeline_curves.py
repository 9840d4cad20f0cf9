"""The pipeline training-curves set-up shared by :mod:`paper_figures.pipeline_curves` and
:mod:`paper_figures.pipeline_curves_ablation`: the network, schedule constants, analog tiles and test
metrics are defined once. A private module, so that neither figure's cache key holds the other's source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import sim
from sim import nets
from sim.config import Config
from sim.pipeline import PipelineRun, digits_task, sample_stream, staged_mlp, train_pipeline


@dataclass(frozen=True, kw_only=True)
class CurvesSetup(Config):
    """The staged MLP on the digits, its pipeline constants (M stages, B micro-batches of b samples per
    synchronous update) and the analog tiles (step alpha per B b samples, soft bounds tau)."""

    sizes: tuple[int, ...] = (64, 32, 32, 16, 10)
    stages: int = 4
    B: int = 8
    b: int = 4
    alpha: float = 0.4
    tau: float = 1.0
    seed: int = 3
    records: int = 60


def trainer(cfg: CurvesSetup, runs: int) -> Callable[..., PipelineRun]:
    """``train(schedule, alpha, micro_batch, record_every)``: one pipelined Analog SGD run of the
    set-up's network on ``runs`` runs, from the same initial weights and streams every call, recording
    the test NLL and accuracy."""
    task = digits_task()
    net, stage = staged_mlp(cfg.sizes, cfg.stages)
    params = nets.init_params(net, sim.BatchRNG(cfg.seed, range(runs), "nets.init"))
    x_te, y_te = task["x_test"], task["y_test"]

    def metrics(Ws):
        out, _ = nets.forward(net, Ws, np.broadcast_to(x_te, (runs, *x_te.shape)))
        loss, _ = nets.nll_loss(out, np.broadcast_to(y_te, (runs, len(y_te))))
        return {"loss": loss, "acc": (out.argmax(axis=-1) == y_te).mean(axis=1)}

    def train(schedule, alpha: float, micro_batch: int, record_every: int) -> PipelineRun:
        opt = sim.AnalogSGD(alpha, sim.SoftBounds(cfg.tau))
        return train_pipeline(net, stage, params, [None if W is None else opt for W in params], schedule,
                              sample_stream(task["x_train"], task["y_train"], micro_batch),
                              lambda y, t: nets.nll_loss(y, t)[1], metrics=metrics, seeds=runs,
                              seed=cfg.seed, micro_batch=micro_batch, record_every=record_every)

    return train
