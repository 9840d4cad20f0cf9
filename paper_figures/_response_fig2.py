r"""Pulse-level runs of arXiv 2502.06309 Fig. 2's least-squares problem, shared by
:mod:`paper_figures.response_fig2_ablation` (every variant) and :mod:`paper_figures.response_fig2_tt_fails`
(full mode's paper-preset panel). A private module, so that neither figure's cache key contains the
other figure's source (``tests/reliability/test_figure_cache.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from sim.config import Config
from sim.minibatch import per_sample_update
from sim.optimizers import UpdateMode

#: the mean-field figure's steps and gradient noise (response_fig2_tt_fails; the ablation's comparison row)
MEAN_FIELD_STEPS: dict[str, float] = dict(alpha=0.005, beta=0.05, std=0.1)


@dataclass(frozen=True, kw_only=True)
class Preset(Config):
    """The paper's script setting for Fig. 2 at pulse level, defined once for both figures: the
    least-squares problem, soft bounds tau 3.5, dw_min 1e-4, BL 8, lr = fast lr = 0.8, gamma 0.4,
    W_0 = 1, 1000 iterations, no gradient noise; ``tail`` and ``n_records`` say how it is read.
    ``transfer_bl``: the train length of Tiki-Taka's transfer writes, aihwkit's
    ``TransferCompound.transfer_update`` (a default ``UpdateParameters``: ``desired_bl = 31``; the
    script sets only the gradient update's ``desired_bl = 8``), used by the variants that write as
    aihwkit does."""

    problem: str = "response_fig2"
    tau: float = 3.5
    dw_min: float = 1e-4
    desired_bl: int = 8
    lr: float = 0.8
    beta: float = 0.8
    gamma: float = 0.4
    w0: float = 1.0
    K: int = 1000
    transfer_bl: int = 31
    tail: float = 0.1
    n_records: int = 100


def _device(c: float, cfg: dict, pulsed: bool):
    if pulsed:
        return sim.PulsedSoftBounds(dw_min=cfg["dw_min"], w_max=cfg["tau"], w_min=-cfg["tau"],
                                    up_down=2 * c / (1 + c), desired_bl=cfg["desired_bl"])
    return sim.GeneralizedLinear(cfg["tau"], c)


def run_pair(c: float, cfg: dict, variant: str) -> dict[str, np.ndarray]:
    """Analog SGD and Tiki-Taka of one variant at asymmetry ``c``: ``{name: losses}`` with losses of
    shape ``(2, runs, n_records)`` (read at W-bar, at W) and ``"k"``, the recorded iterations.

    ``variant`` is one of ``"preset"``, ``"long"``, ``"per_sample"``, ``"transfer_bl"``,
    ``"aihwkit"``, ``"mean_field"``, ``"figure"`` (defined in
    :mod:`paper_figures.response_fig2_ablation`). ``cfg`` keys: ``problem``, ``tau``,
    ``dw_min``, ``desired_bl``, ``lr``, ``beta``, ``gamma``, ``w0``, ``K``, ``n_records``, ``runs``,
    ``seed``; ``K_long`` for ``"long"``; ``figure`` (``alpha``, ``beta``, ``std``, ``K``) for
    ``"figure"``. Streams: ``"response_fig2_ablation.<name>"`` (pulses) and
    ``"response_fig2_ablation.noise"`` (the figure variant's gradient noise).
    """
    prob = sim.paper_problem(cfg["problem"])
    A, y = prob.meta["A"], prob.meta["y"]
    N, D = A.shape
    R = cfg["runs"]
    fig = variant == "figure"
    K = cfg["K_long"] if variant == "long" else cfg["figure"]["K"] if fig else cfg["K"]
    every = max(1, K // cfg["n_records"])
    pulsed = variant in ("preset", "long", "per_sample", "transfer_bl", "aihwkit")
    per_sample = variant in ("per_sample", "aihwkit")
    mode: UpdateMode = "pulsed" if pulsed else "mean_field"
    dev = _device(c, cfg, pulsed)
    bl = cfg["desired_bl"]
    # the transfer writes' device: aihwkit's transfer_update train length where the variant says so
    dev_w = (dataclasses.replace(dev, desired_bl=cfg["transfer_bl"])
             if variant in ("transfer_bl", "aihwkit") else dev)
    lr, beta = (cfg["figure"]["alpha"], cfg["figure"]["beta"]) if fig else (cfg["lr"], cfg["beta"])
    std = cfg["figure"]["std"] if fig else 0.0
    algos: dict[str, Any] = {"analog": sim.AnalogSGD(lr, dev, mode=mode),
             "tt": sim.TikiTaka(lr, beta, dev, gamma=cfg["gamma"], mode=mode, device_w=dev_w)}
    out: dict[str, np.ndarray] = {"k": np.arange(every, K + 1, every)}
    for name, opt in algos.items():
        rng = sim.BatchRNG(cfg["seed"], range(R), f"response_fig2_ablation.{name}")
        rng_noise = sim.BatchRNG(cfg["seed"], range(R), "response_fig2_ablation.noise")
        state = opt.init(np.full((R, D), cfg["w0"]))
        rec = np.empty((2, R, K // every))
        for k in range(K):
            q = opt.query(state)
            if per_sample:
                rate = lr if name == "analog" else beta
                # per-sample gradients of f = 1/(2N) ||A w - y||^2: (r_n / N) a_n
                inc = -(rate / N) * (q @ A.T - y)[:, :, None] * A[None]
                if name == "analog":
                    state = state._replace(W=per_sample_update(dev, state.W, inc, rng, mode="pulsed", bl=bl))
                else:
                    P = per_sample_update(dev, state.P, inc, rng, mode="pulsed", bl=bl)
                    W = dev_w.pulsed_update(state.W, lr * P, rng)
                    state = state._replace(W=W, P=P, k=state.k + 1)
            else:
                g = prob.grad(q)
                if std:
                    g = g + std * rng_noise.normal((D,))
                state = opt.step(state, g, rng)
            if (k + 1) % every == 0:
                i = (k + 1) // every - 1
                rec[0, :, i] = (prob.loss(opt.query(state)) - prob.f_star) / D
                rec[1, :, i] = (prob.loss(opt.weights(state)) - prob.f_star) / D
        out[name] = rec
    return out
