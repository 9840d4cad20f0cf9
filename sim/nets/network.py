r"""A network is a plain list of layers; forward/backward through the list, and the losses.

Losses take the network output ``(R, B, C)`` and return the per-run mean loss ``(R,)`` and
:math:`\partial L / \partial y` of the **mean** loss over the batch (hence the factor :math:`1/B`),
which :func:`backward` propagates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_int
from .._rng import BatchRNG
from .layers import Layer

Params = list  # one entry per layer: a tile (R, out, in[+1]) or None


def init_params(net: Sequence[Layer], rng: BatchRNG, scale: float | None = None) -> Params:
    """Initial tiles of every layer (``None`` for parameter-free layers), each run from its own
    stream of ``rng`` (``BatchRNG(seed, range(R), "nets.init")``)."""
    return [layer.init_params(rng, scale) for layer in net]


def forward(net: Sequence[Layer], params: Params, x: np.ndarray,
            rng: BatchRNG | None = None) -> tuple[np.ndarray, list[Any]]:
    """Run ``x`` ``(R, B, ...)`` through the layers; returns the output and the caches."""
    if len(params) != len(net):
        raise ValueError(f"params must have one entry per layer ({len(net)}), got {len(params)}")
    caches = []
    for layer, W in zip(net, params, strict=True):
        x, cache = layer.forward(W, x, rng)
        caches.append(cache)
    return x, caches


def backward(net: Sequence[Layer], params: Params, caches: list[Any],
             dy: np.ndarray) -> tuple[np.ndarray, Params]:
    """Exact backprop of ``dy`` (gradient of the mean loss w.r.t. the output): returns the gradient
    w.r.t. the input and one ``dW`` per layer (``None`` for parameter-free layers)."""
    grads: Params = [None] * len(net)
    for i in range(len(net) - 1, -1, -1):
        dy, grads[i] = net[i].backward(params[i], caches[i], dy)
    return dy, grads


def backward_abs(net: Sequence[Layer], params: Params, caches: list[Any],
                 dy: np.ndarray) -> tuple[np.ndarray, Params, Params]:
    """:func:`backward`, plus per layer the summed magnitudes of the per-sample weight gradients
    (``layer.abs_grad``; ``None`` for parameter-free layers), for a batch written one sample at a
    time as aihwkit does (:mod:`sim.minibatch`)."""
    grads: Params = [None] * len(net)
    abs_grads: Params = [None] * len(net)
    for i in range(len(net) - 1, -1, -1):
        dy, grads[i], abs_grads[i] = net[i].backward_abs(params[i], caches[i], dy)
    return dy, grads, abs_grads


def log_softmax(y: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis (max-shifted, stable)."""
    z = y - y.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def nll_loss(y: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Log-softmax + negative log-likelihood (PyTorch ``LogSoftmax`` + ``NLLLoss``).

    :math:`L = -\frac1B \sum_b \log \mathrm{softmax}(y_b)_{c_b}`,
    :math:`\partial L/\partial y_b = (\mathrm{softmax}(y_b) - e_{c_b})/B`.

    Parameters
    ----------
    y
        Logits ``(R, B, C)``.
    labels
        Integer classes ``(R, B)`` (or ``(B,)``, shared by the runs).

    Returns
    -------
    loss ``(R,)`` and ``dL/dy`` ``(R, B, C)``.
    """
    if y.ndim != 3:
        raise ValueError(f"logits must have shape (R, B, C), got {y.shape}")
    labels = np.broadcast_to(np.asarray(labels), y.shape[:2])
    if np.any(labels < 0) or np.any(labels >= y.shape[-1]):
        raise ValueError(f"labels must lie in [0, {y.shape[-1] - 1}]")
    lp = log_softmax(y)
    picked = np.take_along_axis(lp, labels[..., None], axis=-1)[..., 0]
    B = y.shape[1]
    dy = np.exp(lp)
    np.put_along_axis(dy, labels[..., None], np.take_along_axis(dy, labels[..., None], -1) - 1.0, -1)
    return -picked.mean(axis=1), dy / B


def mse_loss(y: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean squared error (PyTorch ``MSELoss``, mean over all entries of a run):
    :math:`L = \frac{1}{B C}\sum (y - t)^2`, :math:`\partial L/\partial y = 2 (y - t)/(B C)`."""
    if y.ndim < 2:
        raise ValueError(f"outputs must have shape (R, B, ...), got {y.shape}")
    diff = y - np.broadcast_to(target, y.shape)
    n = diff[0].size
    return (diff**2).reshape(y.shape[0], -1).mean(axis=1), 2.0 * diff / n


LOSSES = {"nll": nll_loss, "mse": mse_loss}


def loss_and_grads(net: Sequence[Layer], params: Params, x: np.ndarray, target: np.ndarray,
                   loss: str = "nll", rng: BatchRNG | None = None) -> tuple[np.ndarray, Params]:
    """Per-run mean loss ``(R,)`` and the gradient of every tile (one forward + backward pass)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    y, caches = forward(net, params, x, rng)
    value, dy = LOSSES[loss](y, target)
    _, grads = backward(net, params, caches, dy)
    return value, grads


def predict(net: Sequence[Layer], params: Params, x: np.ndarray, batch: int = 1000,
            rng: BatchRNG | None = None) -> np.ndarray:
    """Predicted classes ``(R, N)`` for inputs ``x`` of shape ``(N, ...)`` (shared by the runs) or
    ``(R, N, ...)``, evaluated in chunks of ``batch`` samples."""
    batch = check_int("batch", batch)
    R = next(W.shape[0] for W in params if W is not None)
    out = []
    N = x.shape[0] if _is_shared(net, x) else x.shape[1]
    for i in range(0, N, batch):
        xb = _take(x, i, batch, R, net)
        y, _ = forward(net, params, xb, rng)
        out.append(np.argmax(y, axis=-1))
    return np.concatenate(out, axis=1)


def accuracy(net: Sequence[Layer], params: Params, x: np.ndarray, labels: np.ndarray,
             batch: int = 1000, rng: BatchRNG | None = None) -> np.ndarray:
    """Per-run classification accuracy in [0, 1], shape ``(R,)``."""
    return (predict(net, params, x, batch, rng) == np.asarray(labels)).mean(axis=1)


def _is_shared(net: Sequence[Layer], x: np.ndarray) -> bool:
    from .layers import Conv2d

    first = next((la for la in net if la.param_shape is not None), None)
    feature_ndim = 3 if isinstance(first, Conv2d) else 1
    return x.ndim == 1 + feature_ndim


def _take(x: np.ndarray, i: int, batch: int, R: int, net: Sequence[Layer]) -> np.ndarray:
    if _is_shared(net, x):
        xb = x[i:i + batch]
        return np.broadcast_to(xb, (R, *xb.shape))
    return x[:, i:i + batch]


def directional_gradient_check(net: Sequence[Layer], params: Params, x: np.ndarray,
                               target: np.ndarray, directions: Params, loss: str = "nll",
                               eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""Backprop against central finite differences along a direction, per run.

    Returns ``(analytic, numeric)``, both ``(R,)``: :math:`\sum_l \langle \nabla_{W_l} L, V_l\rangle`
    and :math:`(L(W + \epsilon V) - L(W - \epsilon V)) / (2\epsilon)`, whose difference is
    :math:`O(\epsilon^2)` (third derivative) plus rounding :math:`O(u L / \epsilon)` in float64.
    """
    _, grads = loss_and_grads(net, params, x, target, loss)
    analytic = sum(np.sum(g * v, axis=tuple(range(1, g.ndim)))
                   for g, v in zip(grads, directions, strict=True) if g is not None)
    plus = [None if W is None else W + eps * V for W, V in zip(params, directions, strict=True)]
    minus = [None if W is None else W - eps * V for W, V in zip(params, directions, strict=True)]
    lp, _ = loss_and_grads(net, plus, x, target, loss)
    lm, _ = loss_and_grads(net, minus, x, target, loss)
    return np.asarray(analytic), (lp - lm) / (2 * eps)
