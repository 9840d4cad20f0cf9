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

from .._checks import as_real_array, check_int, check_real, check_runs, check_seed, raise_if_nonfinite
from .._rng import BatchRNG
from ..optimizers import Algorithm, AnalogSGD, DigitalSGD, check_per_run_params
from ..run import progress_enabled
from ..tiki_taka import TikiTaka
from .data import Dataset
from .layers import Layer
from .network import LOSSES, accuracy, backward, backward_abs, forward, init_params


@dataclass(frozen=True)
class StepLR:
    r"""Step decay :math:`\eta_e = \eta_0 \gamma^{\lfloor e / s \rfloor}` (PyTorch ``StepLR``)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_int("step_size", self.step_size, minimum=1)
        check_real("gamma", self.gamma, 0.0, 1.0, lo_open=True)

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


#: floating-point types :func:`train` computes in
DTYPES: tuple[np.dtype, ...] = (np.dtype(np.float64), np.dtype(np.float32))


def _check_dtype(dtype: object) -> np.dtype:
    """``np.float64`` or ``np.float32`` (any spelling numpy accepts), else ``ValueError``."""
    try:  # np.dtype(None) is float64: None is rejected, as any non-type
        dt = None if dtype is None else np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or not any(dt == d for d in DTYPES):
        raise ValueError(f"dtype must be one of {[str(d) for d in DTYPES]}, got {dtype!r}")
    return dt


def _carry(state: object, dtype: np.dtype) -> object:
    """``state`` (an optimizer state NamedTuple) with every floating array not of ``dtype`` rounded
    to it; the same object when nothing needs it (the float64 default never calls this)."""
    fields = getattr(state, "_fields", None)
    if fields is None:
        return state
    change = {f: v.astype(dtype) for f in fields
              if isinstance(v := getattr(state, f), np.ndarray) and v.dtype.kind == "f"
              and v.dtype != dtype}
    return state._replace(**change) if change else state  # type: ignore[attr-defined]


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
    dtype: type | np.dtype | str = np.float64,
    per_sample: bool = False,
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
    dtype
        Floating-point type of the arithmetic, chosen once: ``float64`` (default, the reference
        numbers) or ``float32``. With float32 the data, the initial tiles (drawn in float64, then
        rounded once), the activations, gradients and optimizer states are float32, and every
        optimizer state that a step returns in another float type (a per-run rate or tau held in
        float64, a pulse-level device's float64 constants) is rounded back to float32, so the
        type is carried from epoch to epoch. Roughly half the memory traffic; the two agree within
        the seed-to-seed spread on the quick networks (claim ``nets.float32_agrees``). The random
        streams are the same (drawn in float64).
    per_sample
        Write each mini-batch as aihwkit does, one update per sample (and per receptive field in a
        convolution), instead of one summed update: the asymmetric part of the response then acts
        on the summed per-sample magnitudes (:meth:`sim.devices.Device.update_split`,
        :mod:`sim.minibatch`). Mean-field Analog SGD and Tiki-Taka (its P array) only; digital SGD
        is unchanged by it.

    Raises
    ------
    ValueError
        On a bad argument, before any training (the message names the parameter, the allowed range
        and the value received).
    sim.Diverged
        As soon as a run's mini-batch loss becomes non-finite (checked every mini-batch) or its
        weights do (checked at the end of every epoch, before the accuracy is measured), with the
        global mini-batch index ``epoch * n_batches + b``, the epoch and the runs; the policy shared
        with :func:`sim.simulate` and :func:`sim.pipeline.train_pipeline` (a subclass of
        ``FloatingPointError``). Accuracies are never computed on non-finite weights.
    """
    if not isinstance(net, Sequence) or len(net) == 0 or not all(
            hasattr(layer, "forward") and hasattr(layer, "param_shape") for layer in net):
        raise ValueError(f"net must be a non-empty list of sim.nets layers, got {net!r}")
    if not any(layer.param_shape is not None for layer in net):
        raise ValueError("net must contain at least one parameterised layer (Linear, Conv2d)")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a sim.nets.Dataset (e.g. sim.nets.load_digits()), got"
                        f" {type(data).__name__}")
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be a callable lr -> optimizer (e.g. sim.DigitalSGD), got"
                        f" {make_optimizer!r}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    eval_batch = check_int("eval_batch", eval_batch, minimum=1)
    seed = check_seed("seed", seed)
    run_ids = check_runs("runs", runs).tolist()
    R = len(run_ids)
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    if schedule is not None and not isinstance(schedule, StepLR):
        raise TypeError(f"schedule must be None or a sim.nets.StepLR, got {schedule!r}")
    lr_arr = as_real_array("lr", lr)
    if lr_arr.ndim > 1 or (lr_arr.ndim == 1 and lr_arr.size != R) or np.any(lr_arr <= 0) or not np.all(
            np.isfinite(lr_arr)):
        raise ValueError(f"lr must be finite and > 0, a scalar or one value per run ({R}), got {lr!r}")
    lr = lr_arr if lr_arr.ndim else float(lr_arr)
    dtype = _check_dtype(dtype)
    if not isinstance(per_sample, bool):
        raise TypeError(f"per_sample must be a bool, got {per_sample!r}")
    if per_sample:
        probe = make_optimizer(lr)
        if not isinstance(probe, (AnalogSGD, TikiTaka, DigitalSGD)) or getattr(probe, "mode",
                                                                                "mean_field") != "mean_field":
            raise ValueError("per_sample=True needs mean-field Analog SGD, Tiki-Taka or digital SGD, got"
                             f" {probe!r}")
    if dtype != np.float64:  # the data in the arithmetic's type, once
        data = data._replace(x_train=np.asarray(data.x_train, dtype=dtype),
                             x_test=np.asarray(data.x_test, dtype=dtype))
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
    if not all(hasattr(opt, m) for m in ("init", "query", "weights", "step")):
        raise TypeError(f"make_optimizer(lr) must return an optimizer (init/query/weights/step), got {opt!r}")
    check_per_run_params(opt, R)
    tiles = [i for i, layer in enumerate(net) if layer.param_shape is not None]
    params0 = init_params(net, rng_init)
    if dtype != np.float64:
        params0 = [None if W is None else W.astype(dtype) for W in params0]
    states = {i: _carry(opt.init(params0[i]), dtype) for i in tiles}

    def model_weights(o: Algorithm) -> list:
        return [o.weights(states[i]) if i in states else None for i in range(len(net))]

    def targets(labels: np.ndarray) -> np.ndarray:
        return labels if loss == "nll" else np.eye(data.n_classes, dtype=dtype)[labels]

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
    hint = "lower the learning rate (lr)"
    for e in range(epochs):
        opt = make_optimizer(lr_at(e))
        lrs[e] = float(np.ravel(lr_at(e))[0])
        perm = np.argsort(rng_shuffle.uniform(N), axis=1, kind="stable")  # (R, N), one shuffle per run
        total = np.zeros(R)
        for b in range(n_batches):
            idx = perm[:, b * batch_size:(b + 1) * batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]  # (R, B, ...), (R, B)
            query = [opt.query(states[i]) if i in states else None for i in range(len(net))]
            # overflow to inf/nan is detected just below (sim.Diverged), not warned about
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                y, caches = forward(net, query, xb, rng_io)
                value, dy = lossfn(y, targets(yb))
                if not np.isfinite(value).all():
                    bar.close()
                    raise_if_nonfinite("nets.train", value, e * n_batches + b, run_ids, what="loss",
                                       unit="mini-batch", epoch=e, hint=hint)
                if per_sample:
                    _, grads, abs_grads = backward_abs(net, query, caches, dy)
                    for i in tiles:
                        states[i] = opt.step(states[i], grads[i], rng_update,  # type: ignore[call-arg]
                                             g_abs=abs_grads[i])
                else:
                    _, grads = backward(net, query, caches, dy)
                    for i in tiles:
                        states[i] = opt.step(states[i], grads[i], rng_update)
                if dtype != np.float64:
                    for i in tiles:
                        states[i] = _carry(states[i], dtype)
            total += value * idx.shape[1]
            bar.update()
        train_loss[:, e] = total / N
        for i in tiles:  # the last step of the epoch has no loss after it: check the weights
            W = opt.weights(states[i])
            if not np.isfinite(W).all():
                bar.close()
                raise_if_nonfinite("nets.train", W, (e + 1) * n_batches - 1, run_ids,
                                   what=f"weights (layer {i})", unit="mini-batch", epoch=e, hint=hint)
        evaluate(e + 1, opt)
    bar.close()
    elapsed = time.perf_counter() - t0
    weights = model_weights(opt)
    sat = np.stack([tile_saturation(weights[i], _tau(opt)) for i in tiles], axis=1)
    final_states = [states.get(i) for i in range(len(net))]
    return TrainResult(test_acc, train_acc, train_loss, lrs, weights, final_states, sat, elapsed,
                       {"n_batches": n_batches, "runs": run_ids, "seed": seed})
