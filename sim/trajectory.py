r"""Trajectories: what a run records, shaped ``(R, ...)`` over R runs.

Per-iteration metrics (computed at the model weights :math:`W_k` with the exact gradient
:math:`\nabla f(W_k)`), selectable by name:

=====================  ===================================================================
``loss``               :math:`f(W_k) - f^*`
``grad_norm2``         :math:`\|\nabla f(W_k)\|^2`
``w_inf``              :math:`\|W_k\|_\infty`
``sat``                saturation :math:`\|W_k\|_\infty/\tau` (0 for a digital optimizer)
``sat2``               :math:`\|W_k\|_\infty^2/\tau^2` (terms of :math:`\tilde S_K`)
``s_ald``              :math:`\mathrm{sat}^2/(1 - \mathrm{sat}^2)` (terms of the 2024 :math:`S_K`)
``g_over_sqrt_f2``     :math:`\|G(W_k)/\sqrt{F(W_k)}\|_\infty^2` (terms of :math:`S_K^{gen}`)
``m_min``              :math:`\min_d M(W_k)_d`
``grad_norm2_M``       :math:`\|\nabla f(W_k)\|^2_{M(W_k)}`
``analog_dir_norm2``   :math:`\|\nabla f \odot F + |\nabla f| \odot G\|^2` at :math:`W_k`
``e_k_general``        ``analog_dir_norm2 + 4 grad_norm2_M`` (the follow-up's :math:`E_K` terms)
=====================  ===================================================================

Snapshots are kept every ``record_every`` iterations (always including 0 and K), together with the
cumulative sums :math:`\sum_{j<k}` of every metric over *all* iterations, so averages such as
:math:`\frac1K\sum_{k<K}\|\nabla f(W_k)\|^2` are exact whatever the stride. Running maxima of
``w_inf`` and ``sat`` give :math:`W_{\max}` over all iterations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .devices import Device


class Point:
    r"""What the metrics see at one iteration: weights, exact gradient, loss, device (cached).

    ``x`` and ``grad_x`` are the query point :math:`\bar W_k` of the optimizer (where its
    stochastic gradient is taken, e.g. :math:`W_k + \gamma P_k`) and the exact gradient there;
    by default (and whenever the optimizer queries its weights) they are ``W`` and ``grad``.
    """

    __slots__ = ("W", "_tau", "_w_inf", "device", "grad", "grad_x", "loss", "x")

    def __init__(self, W: np.ndarray, grad: np.ndarray, loss: np.ndarray, device: Device,
                 x: np.ndarray | None = None, grad_x: np.ndarray | None = None) -> None:
        self.W, self.grad, self.loss, self.device = W, grad, loss, device
        self.x = W if x is None else x
        self.grad_x = grad if grad_x is None else grad_x
        self._w_inf: np.ndarray | None = None
        self._tau: np.ndarray | None = None

    @property
    def w_inf(self) -> np.ndarray:
        if self._w_inf is None:
            self._w_inf = np.abs(self.W).max(axis=-1)
        return self._w_inf

    @property
    def sat(self) -> np.ndarray:
        if self._tau is None:
            self._tau = _tau_rows(self.device, self.W.shape[0])
        return self.w_inf / self._tau


MetricFn = Callable[[Point], np.ndarray]


def _tau_rows(device: Device, R: int) -> np.ndarray:
    tau = np.asarray(device.tau, dtype=float)
    if tau.ndim == 0:
        return np.full(R, float(tau))
    if tau.shape in ((R, 1), (R,)):
        return tau.reshape(R)
    raise ValueError(f"tau of shape {tau.shape} is not per run; use a scalar or shape (R, 1)")


def _s_ald(p: Point) -> np.ndarray:
    s2 = p.sat**2
    with np.errstate(divide="ignore"):
        return np.where(s2 < 1, s2 / (1 - s2), np.inf)


def _analog_dir_norm2(p: Point) -> np.ndarray:
    d = p.device
    return np.sum((p.grad * d.F(p.W) + np.abs(p.grad) * d.G(p.W)) ** 2, axis=-1)


def _grad_norm2_M(p: Point) -> np.ndarray:
    return np.sum(p.device.M(p.W) * p.grad**2, axis=-1)


METRICS: dict[str, MetricFn] = {
    "loss": lambda p: p.loss,
    "grad_norm2": lambda p: np.einsum("ij,ij->i", p.grad, p.grad),
    "w_inf": lambda p: p.w_inf,
    "sat": lambda p: p.sat,
    "sat2": lambda p: p.sat**2,
    "s_ald": _s_ald,
    "g_over_sqrt_f2": lambda p: (p.device.G(p.W) ** 2 / p.device.F(p.W)).max(axis=-1),
    "m_min": lambda p: p.device.M(p.W).min(axis=-1),
    "grad_norm2_M": _grad_norm2_M,
    "analog_dir_norm2": _analog_dir_norm2,
    "e_k_general": lambda p: _analog_dir_norm2(p) + 4 * _grad_norm2_M(p),
}

#: metrics whose running maximum over all iterations is kept
MAXIMA = ("w_inf", "sat")


@dataclass
class Trajectory:
    """The record of a batch of R runs over K iterations.

    Attributes
    ----------
    steps
        Number of iterations K.
    k
        Iteration index of every snapshot, shape ``(n,)``, starting at 0 and ending at K.
    values
        Metric values at the snapshots, each ``(R, n)``.
    sums
        Cumulative sums over iterations ``j < k[i]``, each ``(R, n)``.
    maxima
        Running maxima over all iterations 0..K of ``w_inf`` / ``sat``, each ``(R,)``.
    final_weights
        Weights after K iterations, ``(R, D)``.
    first_saturated
        Per run, the first iteration with saturation >= 1 (-1: never). (A non-finite weight or loss
        raises :class:`sim.Diverged` instead of being recorded.)
    mean_weights
        Per-run time average of the weights from ``average_from`` on (``None`` if not asked).
    recorded
        Results of the state-aware recorders passed to :func:`sim.simulate` (``recorders=``), by
        name (:mod:`sim.recorders`; empty if none).
    meta
        Configuration of the run (problem, algorithm, noise, seed, runs).
    """

    steps: int
    k: np.ndarray
    values: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]
    maxima: dict[str, np.ndarray]
    final_weights: np.ndarray
    first_saturated: np.ndarray
    mean_weights: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    recorded: dict = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return int(self.final_weights.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        """Snapshot values of a metric, ``(R, n)``."""
        try:
            return self.values[name]
        except KeyError:
            raise KeyError(f"metric {name!r} was not recorded; recorded: {sorted(self.values)}") from None

    def _index(self, k: int) -> int:
        idx = int(np.searchsorted(self.k, k))
        if idx >= self.k.size or self.k[idx] != k:
            raise ValueError(
                f"iteration {k} is not a snapshot (record_every stride); snapshots: "
                f"{self.k[:3].tolist()}...{self.k[-2:].tolist()}"
            )
        return idx

    def average(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Exact per-run mean of a metric over iterations ``start <= j < stop`` (``(R,)``)."""
        stop = self.steps if stop is None else stop
        if not 0 <= start < stop <= self.steps:
            raise ValueError(f"need 0 <= start < stop <= K={self.steps}, got {start}, {stop}")
        if name not in self.sums:
            raise KeyError(f"metric {name!r} was not recorded; recorded: {sorted(self.sums)}")
        cum = self.sums[name]
        return (cum[:, self._index(stop)] - cum[:, self._index(start)]) / (stop - start)

    def tail_average(self, name: str, fraction: float = 0.5) -> np.ndarray:
        """Per-run mean over the last ``fraction`` of the iterations (rounded to a snapshot)."""
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        start = int(self.k[np.searchsorted(self.k, self.steps * (1 - fraction))])
        return self.average(name, min(start, self.k[-2]), self.steps)

    @property
    def saturated(self) -> np.ndarray:
        """Runs that reached saturation 1 (a bound's assumption W_max < tau is violated)."""
        return self.first_saturated >= 0
