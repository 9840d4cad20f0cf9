r"""Layers of an analog network: small objects with ``forward`` and exact ``backward``.

Every array carries two leading axes, ``R`` stacked runs and ``B`` samples: an input of a fully
connected layer is ``(R, B, in)``, an image ``(R, B, C, H, W)``. A parameterised layer owns one
analog **tile** per run, ``W`` of shape ``(R, out, in)``, with one extra input column for the bias
(``(R, out, in + 1)``; aihwkit's ``analog_bias``: the bias is a column of the same crossbar, driven
by a constant input 1). The forward pass is the tile's matrix-vector product :math:`y = W \tilde x`
(:math:`\tilde x = (x, 1)`), the backward pass its transpose :math:`\delta_x = W^\top \delta_y`, and
the weight gradient the outer product :math:`\nabla_W = \sum_b \delta_{y,b} \tilde x_b^\top` that an
analog tile applies as a rank-one (pulsed) update (arXiv 2406.12774 Sec. 2; aihwkit
``AnalogLinear``).

A convolution is mapped to one tile by im2col, exactly as aihwkit's ``AnalogConv2d`` does: every
receptive field becomes one input vector of length ``C k^2`` (+1 for the bias), and the tile
``(R, out_channels, C k^2 + 1)`` multiplies all ``B H' W'`` of them.

``backward`` receives :math:`\partial L/\partial y` of the *mean* loss over the batch (the loss
functions of :mod:`sim.nets.losses` return it with the factor :math:`1/B`), so ``dW`` is the
gradient of the mean loss, the quantity the optimizers step on.

Parameter-free layers (activations, max-pool, flatten) take ``W = None`` and return ``dW = None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._checks import check_int, check_real
from .._rng import BatchRNG
from .io import IO, PERFECT_IO


def _positive_int(name: str, value: int) -> int:
    """A positive integer (bools, strings, nan, 2.5 rejected with the parameter's name)."""
    return check_int(name, value, minimum=1)


def _check_bias_io(layer: str, bias: object, io: object) -> None:
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"{layer}: bias must be True or False, got {bias!r}")
    if not isinstance(io, IO):
        raise TypeError(f"{layer}: io must be a sim.nets.IO (e.g. sim.nets.PERFECT_IO), got {io!r}")


def _check_tile(layer: str, W: np.ndarray, shape: tuple[int, int]) -> None:
    if W.ndim != 3 or W.shape[1:] != shape:
        raise ValueError(f"{layer}: weight tile must have shape (R, {shape[0]}, {shape[1]}), got {W.shape}")


def _like(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` in ``x``'s float32 type when an IO model computed it in float64 (its noise draws are
    float64): the float32 path of :func:`sim.nets.train` stays float32 layer to layer."""
    return y.astype(np.float32) if x.dtype == np.float32 and y.dtype != np.float32 else y


def _outer_grad(dy: np.ndarray, x: np.ndarray, bias: bool) -> np.ndarray:
    r"""Weight gradient :math:`\sum_b \delta_{y,b} \tilde x_b^\top` of a tile, ``(R, out, in[+1])``,
    from ``dy`` ``(R, B, out)`` and ``x`` ``(R, B, in)``: the product is written straight into the
    tile-shaped result, the bias column (:math:`\sum_b \delta_{y,b}`) beside it (no concatenation
    copy; the same products and sums, so the same numbers)."""
    dyt = dy.transpose(0, 2, 1)
    if not bias:
        return np.matmul(dyt, x)
    n = x.shape[-1]
    dW = np.empty((*dyt.shape[:2], n + 1), dtype=np.result_type(dy, x))
    np.matmul(dyt, x, out=dW[..., :n])
    np.sum(dy, axis=1, out=dW[..., n])
    return dW


def _uniform_init(rng: BatchRNG, shape: tuple[int, int], bound: float) -> np.ndarray:
    """``U(-bound, bound)`` per run, shape ``(R, *shape)`` (PyTorch's default init)."""
    return (2.0 * rng.uniform(shape) - 1.0) * bound


class Layer:
    """Base class. ``param_shape`` is ``None`` for parameter-free layers."""

    name = "layer"

    @property
    def param_shape(self) -> tuple[int, int] | None:
        return None

    def init_params(self, rng: BatchRNG, scale: float | None = None) -> np.ndarray | None:
        return None

    # ``W`` is typed Any: a layer with parameters takes its array (shape ``param_shape``), a
    # parameter-free one ``None``; subclasses narrow it
    def forward(self, W: Any, x: np.ndarray,
                rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def backward(self, W: Any, cache: Any,
                 dy: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def abs_grad(self, cache: Any, dy: np.ndarray) -> np.ndarray:
        """Summed magnitudes of the per-sample weight gradients (layers with parameters)."""
        raise NotImplementedError

    def backward_abs(self, W: Any, cache: Any,
                     dy: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """:meth:`backward` plus :meth:`abs_grad` (``None`` for a layer without parameters); a layer
        overrides it to share work between the two."""
        dx, dW = self.backward(W, cache, dy)
        return dx, dW, None if dW is None else self.abs_grad(cache, dy)


# --- parameterised layers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Linear(Layer):
    r"""Fully connected analog layer :math:`y = W_{:, :n} x + W_{:, n}` on a tile ``(R, out, in[+1])``.

    Parameters
    ----------
    in_features, out_features
        Tile size (positive integers).
    bias
        Add a bias column to the tile (driven by the constant input 1).
    io
        Forward/backward non-idealities (:class:`sim.nets.io.IO`); perfect by default.
    """

    in_features: int
    out_features: int
    bias: bool = True
    io: IO = field(default=PERFECT_IO)
    name = "linear"

    def __post_init__(self) -> None:
        _positive_int("in_features", self.in_features)
        _positive_int("out_features", self.out_features)
        _check_bias_io("Linear", self.bias, self.io)

    @property
    def param_shape(self) -> tuple[int, int]:
        return (self.out_features, self.in_features + int(self.bias))

    def init_params(self, rng: BatchRNG, scale: float | None = None) -> np.ndarray:
        r"""Weights (and bias) :math:`\sim U(-s, s)`, :math:`s = 1/\sqrt{\text{in}}` by default
        (PyTorch's ``nn.Linear`` init, which aihwkit's ``AnalogLinear`` keeps); shape ``(R, out,
        in[+1])``, each run from its own stream of ``rng``."""
        s = (1.0 / np.sqrt(self.in_features) if scale is None
             else check_real("scale", scale, 0.0, lo_open=True))
        return _uniform_init(rng, self.param_shape, s)

    def forward(self, W: np.ndarray, x: np.ndarray,
                rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        _check_tile("Linear", W, self.param_shape)
        if x.ndim != 3 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input must have shape (R, B, {self.in_features}), got {x.shape}")
        y = _like(self.io.forward(W, x, self.bias, rng), x)
        return y, (x, rng)

    def backward(self, W: np.ndarray, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, rng = cache
        dx = _like(self.io.backward(W, dy, self.bias, rng), dy)
        return dx, _outer_grad(dy, x, self.bias)

    def abs_grad(self, cache: Any, dy: np.ndarray) -> np.ndarray:
        r""":math:`\sum_b |\delta_{y,b}|\,|\tilde x_b|^\top`, shape of the tile: the summed magnitudes
        of the per-sample weight gradients (a batch written one sample at a time, :mod:`sim.minibatch`)."""
        x, _ = cache
        return _outer_grad(np.abs(dy), np.abs(x), self.bias)


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """Receptive fields of ``x`` ``(R, B, C, H, W)`` for a ``k x k`` kernel, stride 1, no padding,
    as rows ``(R, B, H', W', C k k)`` (channel-major, matching a tile column order ``(c, i, j)``)."""
    win = sliding_window_view(x, (k, k), axis=(3, 4))  # (R, B, C, H', W', k, k)
    return win.transpose(0, 1, 3, 4, 2, 5, 6).reshape(*x.shape[:2], win.shape[3], win.shape[4], -1)


def col2im(cols: np.ndarray, C: int, H: int, W: int, k: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add rows ``(R, B, H', W', C k k)`` into ``(R, B, C, H, W)``.

    Loops over the ``k^2`` kernel offsets only (each iteration is one vectorized add)."""
    R, B, Ho, Wo, _ = cols.shape
    c = cols.reshape(R, B, Ho, Wo, C, k, k).transpose(0, 1, 4, 5, 6, 2, 3)  # (R, B, C, k, k, H', W')
    out = np.zeros((R, B, C, H, W), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, :, i:i + Ho, j:j + Wo] += c[:, :, :, i, j]
    return out


@dataclass(frozen=True)
class Conv2d(Layer):
    r"""2-D convolution (stride 1, no padding) mapped to one analog tile by im2col.

    Input ``(R, B, C, H, W)``, output ``(R, B, out_channels, H - k + 1, W - k + 1)``; the tile is
    ``(R, out_channels, C k^2 [+1])`` (aihwkit ``AnalogConv2d``: one crossbar, every receptive
    field one input vector).
    """

    in_channels: int
    out_channels: int
    kernel_size: int
    bias: bool = True
    io: IO = field(default=PERFECT_IO)
    name = "conv2d"

    def __post_init__(self) -> None:
        _positive_int("in_channels", self.in_channels)
        _positive_int("out_channels", self.out_channels)
        _positive_int("kernel_size", self.kernel_size)
        _check_bias_io("Conv2d", self.bias, self.io)

    @property
    def fan_in(self) -> int:
        return self.in_channels * self.kernel_size**2

    @property
    def param_shape(self) -> tuple[int, int]:
        return (self.out_channels, self.fan_in + int(self.bias))

    def init_params(self, rng: BatchRNG, scale: float | None = None) -> np.ndarray:
        r""":math:`U(-s, s)` with :math:`s = 1/\sqrt{C k^2}` (PyTorch's ``nn.Conv2d`` init)."""
        s = 1.0 / np.sqrt(self.fan_in) if scale is None else check_real("scale", scale, 0.0, lo_open=True)
        return _uniform_init(rng, self.param_shape, s)

    def forward(self, W: np.ndarray, x: np.ndarray,
                rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        _check_tile("Conv2d", W, self.param_shape)
        k = self.kernel_size
        if x.ndim != 5 or x.shape[2] != self.in_channels or min(x.shape[3:]) < k:
            raise ValueError(f"Conv2d: input must have shape (R, B, {self.in_channels}, H, W) with H, W >="
                             f" {k}, got {x.shape}")
        R, B, _, H, Wd = x.shape
        cols = im2col(x, k)  # (R, B, H', W', Ck^2)
        Ho, Wo = cols.shape[2:4]
        flat = cols.reshape(R, B * Ho * Wo, -1)
        y = _like(self.io.forward(W, flat, self.bias, rng), flat)  # (R, B H' W', out)
        y = y.reshape(R, B, Ho, Wo, -1).transpose(0, 1, 4, 2, 3)
        return np.ascontiguousarray(y), (flat, (B, H, Wd, Ho, Wo), rng)

    def backward(self, W: np.ndarray, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dW, _ = self._backward(W, cache, dy, False)
        return dx, dW

    def abs_grad(self, cache: Any, dy: np.ndarray) -> np.ndarray:
        r"""Summed magnitudes of the per-vector weight gradients: aihwkit's ``AnalogConv2d`` writes
        every receptive field of every sample as its own rank-one update, so the sum runs over
        ``B x H' x W'`` vectors (:mod:`sim.minibatch`)."""
        flat, (B, _, _, Ho, Wo), _ = cache
        return _outer_grad(np.abs(self._rows(dy, B, Ho, Wo)), np.abs(flat), self.bias)

    def backward_abs(self, W: np.ndarray, cache: Any,
                     dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return self._backward(W, cache, dy, True)

    @staticmethod
    def _rows(dy: np.ndarray, B: int, Ho: int, Wo: int) -> np.ndarray:
        """``dy`` ``(R, B, out, H', W')`` as one row per receptive field ``(R, B H' W', out)``."""
        return dy.transpose(0, 1, 3, 4, 2).reshape(dy.shape[0], B * Ho * Wo, -1)

    def _backward(self, W: np.ndarray, cache: Any, dy: np.ndarray,
                  with_abs: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        flat, (B, H, Wd, Ho, Wo), rng = cache
        R = dy.shape[0]
        dyf = self._rows(dy, B, Ho, Wo)
        dW = _outer_grad(dyf, flat, self.bias)
        dW_abs = _outer_grad(np.abs(dyf), np.abs(flat), self.bias) if with_abs else None
        dcols = _like(self.io.backward(W, dyf, self.bias, rng), dyf).reshape(R, B, Ho, Wo, -1)
        return col2im(dcols, self.in_channels, H, Wd, self.kernel_size), dW, dW_abs


# --- parameter-free layers -------------------------------------------------------------------------


class Sigmoid(Layer):
    r""":math:`\sigma(x) = 1/(1 + e^{-x})`, :math:`\sigma' = \sigma(1 - \sigma)`."""

    name = "sigmoid"

    def forward(self, W: None, x: np.ndarray, rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        # numerically stable for large |x|: 0.5 (1 + tanh(x/2))
        y = 0.5 * (1.0 + np.tanh(0.5 * x))
        return y, y

    def backward(self, W: None, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, None]:
        y = cache
        return dy * y * (1.0 - y), None

    def __repr__(self) -> str:
        return "Sigmoid()"


class Tanh(Layer):
    r""":math:`\tanh x`, derivative :math:`1 - \tanh^2 x`."""

    name = "tanh"

    def forward(self, W: None, x: np.ndarray, rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        y = np.tanh(x)
        return y, y

    def backward(self, W: None, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, None]:
        return dy * (1.0 - cache**2), None

    def __repr__(self) -> str:
        return "Tanh()"


class ReLU(Layer):
    r""":math:`\max(x, 0)`; the derivative at 0 is taken as 0."""

    name = "relu"

    def forward(self, W: None, x: np.ndarray, rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        mask = x > 0
        return np.where(mask, x, 0.0), mask

    def backward(self, W: None, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, None]:
        return np.where(cache, dy, 0.0), None

    def __repr__(self) -> str:
        return "ReLU()"


@dataclass(frozen=True)
class MaxPool2d(Layer):
    """Non-overlapping ``k x k`` max-pool on ``(R, B, C, H, W)`` (H, W divisible by k). The gradient
    goes to the first maximum of each window (PyTorch's convention)."""

    kernel_size: int = 2
    name = "maxpool2d"

    def __post_init__(self) -> None:
        _positive_int("kernel_size", self.kernel_size)

    def forward(self, W: None, x: np.ndarray, rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        k = self.kernel_size
        if x.ndim != 5 or x.shape[3] % k or x.shape[4] % k:
            raise ValueError(f"MaxPool2d: input must be (R, B, C, H, W) with H, W divisible by {k}, got"
                             f" {x.shape}")
        R, B, C, H, Wd = x.shape
        win = x.reshape(R, B, C, H // k, k, Wd // k, k).transpose(0, 1, 2, 3, 5, 4, 6)
        win = win.reshape(R, B, C, H // k, Wd // k, k * k)
        idx = np.argmax(win, axis=-1)
        y = np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
        return y, (idx, x.shape)

    def backward(self, W: None, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, None]:
        idx, shape = cache
        k = self.kernel_size
        R, B, C, H, Wd = shape
        win = np.zeros((*dy.shape, k * k), dtype=dy.dtype)
        np.put_along_axis(win, idx[..., None], dy[..., None], axis=-1)
        dx = win.reshape(R, B, C, H // k, Wd // k, k, k).transpose(0, 1, 2, 3, 5, 4, 6).reshape(shape)
        return dx, None


class Flatten(Layer):
    """``(R, B, ...) -> (R, B, prod(...))``."""

    name = "flatten"

    def forward(self, W: None, x: np.ndarray, rng: BatchRNG | None = None) -> tuple[np.ndarray, Any]:
        return x.reshape(*x.shape[:2], -1), x.shape

    def backward(self, W: None, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, None]:
        return dy.reshape(cache), None

    def __repr__(self) -> str:
        return "Flatten()"
