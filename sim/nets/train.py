r"""Mini-batch training of R stacked networks, every tile stepped by its own optimizer.

One iteration on a mini-batch :math:`\xi_k` of B samples (per run, drawn without replacement from
that run's own shuffle of the training set each epoch):

.. math::  g^{(l)}_k = \nabla_{W^{(l)}} \frac1B \sum_{b \in \xi_k} \ell(\text{net}(x_b; Q_k), y_b),
           \qquad S^{(l)}_{k+1} = \text{step}(S^{(l)}_k, g^{(l)}_k)

where :math:`Q_k = (\text{query}(S^{(l)}_k))_l` are the weights the gradient is taken at (W for
digital / Analog SGD, :math:`W + \gamma P` for Tiki-Taka) and ``step`` is the layer optimizer's
update through its device model (arXiv 2406.12774 Sec. 5, Figure 5). Accuracy is measured on the
model weights ``weights(S)``.

**Learning-rate schedules** reach the optimizer by construction: ``make_optimizer(lr)`` is called at
the start of every epoch with the scheduled rate (:class:`StepLR`, as PyTorch's ``StepLR``), while
the optimizer *states* (weights, Tiki-Taka's P, transfer pointer) carry over. For Tiki-Taka the
factory decides which rate the schedule scales.

Random streams (:class:`~sim._rng.BatchRNG`, run r a pure function of ``(seed, r)``):
``"nets.init"`` (weights), ``"nets.shuffle"`` (epoch permutations), ``"nets.update"`` (pulses,
passed to ``step``), ``"nets.io"`` (IO noise).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .._rng import BatchRNG, check_runs, check_seed
from ..optimizers import Algorithm
from ..run import progress_enabled
from .data import Dataset
from .layers import Layer
from .network import LOSSES, accuracy, backward, forward, init_params


@dataclass(frozen=True)
class StepLR:
    r"""Step decay :math:`\eta_e = \eta_0 \gamma^{\lfloor e / s \rfloor}` (PyTorch ``StepLR``)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        if int(self.step_size) != self.step_size or self.step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {self.step_size!r}")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], got {self.gamma!r}")

    def factor(self, epoch: int) -> float:
        return float(self.gamma ** (epoch // self.step_size))


@dataclass
class TrainResult:
    """What :func:`train` records.

    Attributes
    ----------
    test_acc, train_acc
        ``(R, epochs + 1)``: accuracy before training and after every epoch.
    train_loss
        ``(R, epochs)``: mean mini-batch loss of each epoch.
    lr
        ``(epochs,)`` schedule factor times the base rate (first run's value if per-run).
    weights
        Final model weights per layer (``None`` for parameter-free layers).
    states
        Final optimizer states per layer.
    saturation
        ``(R, n_tiles)``: :math:`\\max |W| / \tau` of every tile at the end (``nan`` on digital).
    elapsed
        Seconds of training.
    """

    test_acc: np.ndarray
    train_acc: np.ndarray
    train_loss: np.ndarray
    lr: np.ndarray
    weights: list
    states: list
    saturation: np.ndarray
    elapsed: float
    meta: dict = field(default_factory=dict)


def _tau(opt: Algorithm) -> np.ndarray | float:
    return getattr(opt.device, "tau", np.inf)


def tile_saturation(W: np.ndarray, tau: float | np.ndarray) -> np.ndarray:
    r"""Per run :math:`\max_{ij} |W_{ij}| / \tau`, shape ``(R,)`` (``tau`` scalar or broadcasting
    against ``W``)."""
    if np.all(np.isinf(tau)):
        return np.full(W.shape[0], np.nan)
    ratio = np.abs(W) / np.broadcast_to(np.asarray(tau, dtype=float), np.broadcast_shapes(
        np.shape(tau), W.shape))
    return ratio.reshape(W.shape[0], -1).max(axis=1)


def train(
    net: Sequence[Layer],
    data: Dataset,
    make_optimizer: Callable[[float | np.ndarray], Algorithm],
    *,
    lr: float | np.ndarray,
    epochs: int,
    batch_size: int,
    runs: int | Sequence[int],
    seed: int = 0,
    schedule: StepLR | None = None,
    loss: str = "nll",
    eval_batch: int = 1000,
    eval_train: bool = False,
    progress: bool | None = None,
    label: str = "",
) -> TrainResult:
    """Train ``runs`` stacked copies of ``net`` on ``data``.

    Parameters
    ----------
    net
        List of layers (see :mod:`sim.nets`).
    data
        A :class:`~sim.nets.data.Dataset` (layout matching the first layer).
    make_optimizer
        ``lr -> Algorithm`` (e.g. ``lambda lr: sim.AnalogSGD(lr, sim.SoftBounds(0.7))``); called
        once per epoch with the scheduled rate; the same optimizer steps every tile. A device's
        ``tau`` of shape ``(R, 1, 1)`` puts a different tau in every run.
    lr
        Base learning rate, > 0: scalar or one per run ``(R,)``.
    epochs, batch_size
        Positive integers. The last mini-batch of an epoch may be smaller (PyTorch's default).
    runs
        Number of runs R (run indices ``0..R-1``) or the run indices themselves: run r draws its
        init, shuffles, pulses and IO noise from streams keyed by ``(seed, r)``, so it gives the same
        numbers alone (``runs=[r]``) as inside any batch.
    seed
        Base seed of every random stream.
    schedule
        :class:`StepLR` or ``None`` (constant rate).
    loss
        ``"nll"`` (log-softmax + NLL; labels) or ``"mse"`` (one-hot targets).
    eval_train
        Also record the training accuracy each epoch (costs a pass over the training set).
    progress
        tqdm bar over mini-batches (``None``: only on a terminal; quiet in tests).
    """
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if np.ndim(runs) == 0:
        if isinstance(runs, (bool, np.bool_)) or not isinstance(runs, (int, np.integer)) or runs < 1:
            raise ValueError(f"runs must be a positive integer or a sequence of run indices, got {runs!r}")
        run_ids = list(range(int(runs)))
    else:
        run_ids = check_runs(runs, "runs").tolist()
    seed = check_seed(seed, "seed")
    R = len(run_ids)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    lr_arr = np.asarray(lr, dtype=float)
    if lr_arr.ndim > 1 or (lr_arr.ndim == 1 and lr_arr.size != R) or np.any(lr_arr <= 0) or not np.all(
            np.isfinite(lr_arr)):
        raise ValueError(f"lr must be finite and > 0, a scalar or one value per run ({R}), got {lr!r}")
    N = len(data.y_train)
    n_batches = -(-N // batch_size)
    runs_idx = run_ids
    rng_init = BatchRNG(seed, runs_idx, "nets.init")
    rng_shuffle = BatchRNG(seed, runs_idx, "nets.shuffle")
    rng_update = BatchRNG(seed, runs_idx, "nets.update")
    rng_io = BatchRNG(seed, runs_idx, "nets.io")
    lossfn = LOSSES[loss]

    def lr_at(epoch: int) -> float | np.ndarray:
        f = 1.0 if schedule is None else schedule.factor(epoch)
        return lr * f if lr_arr.ndim == 0 else lr_arr * f

    opt = make_optimizer(lr_at(0))
    tiles = [i for i, layer in enumerate(net) if layer.param_shape is not None]
    params0 = init_params(net, rng_init)
    states = {i: opt.init(params0[i]) for i in tiles}

    def model_weights(o: Algorithm) -> list:
        return [o.weights(states[i]) if i in states else None for i in range(len(net))]

    def targets(labels: np.ndarray) -> np.ndarray:
        return labels if loss == "nll" else np.eye(data.n_classes)[labels]

    test_acc = np.empty((R, epochs + 1))
    train_acc = np.full((R, epochs + 1), np.nan)
    train_loss = np.empty((R, epochs))
    lrs = np.empty(epochs)

    def evaluate(e: int, o: Algorithm) -> None:
        W = model_weights(o)
        test_acc[:, e] = accuracy(net, W, data.x_test, data.y_test, eval_batch, rng_io)
        if eval_train:
            train_acc[:, e] = accuracy(net, W, data.x_train, data.y_train, eval_batch, rng_io)

    evaluate(0, opt)
    t0 = time.perf_counter()
    bar = tqdm(total=epochs * n_batches, desc=label or getattr(opt, "name", "train"), leave=False,
               disable=not progress_enabled(progress), mininterval=0.5)
    for e in range(epochs):
        opt = make_optimizer(lr_at(e))
        lrs[e] = float(np.ravel(lr_at(e))[0])
        perm = np.argsort(rng_shuffle.uniform(N), axis=1, kind="stable")  # (R, N), one shuffle per run
        total = np.zeros(R)
        for b in range(n_batches):
            idx = perm[:, b * batch_size:(b + 1) * batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]  # (R, B, ...), (R, B)
            query = [opt.query(states[i]) if i in states else None for i in range(len(net))]
            y, caches = forward(net, query, xb, rng_io)
            value, dy = lossfn(y, targets(yb))
            _, grads = backward(net, query, caches, dy)
            for i in tiles:
                states[i] = opt.step(states[i], grads[i], rng_update)
            total += value * idx.shape[1]
            bar.update()
        train_loss[:, e] = total / N
        if not np.all(np.isfinite(train_loss[:, e])):
            bar.close()
            bad = np.flatnonzero(~np.isfinite(train_loss[:, e]))
            raise FloatingPointError(f"training diverged in epoch {e} (runs {bad.tolist()})")
        evaluate(e + 1, opt)
    bar.close()
    elapsed = time.perf_counter() - t0
    weights = model_weights(opt)
    sat = np.stack([tile_saturation(weights[i], _tau(opt)) for i in tiles], axis=1)
    final_states = [states.get(i) for i in range(len(net))]
    return TrainResult(test_acc, train_acc, train_loss, lrs, weights, final_states, sat, elapsed,
                       {"n_batches": n_batches, "runs": run_ids, "seed": seed})
