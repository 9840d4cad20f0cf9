r"""State-aware recorders: what :func:`sim.simulate` measures beyond the per-point metrics.

The metrics of :mod:`sim.trajectory` see a :class:`~sim.trajectory.Point` (the weights
:math:`W_k`, the exact gradient :math:`\nabla f(W_k)`, the loss, the device). Quantities of an
optimizer's *state* -- Tiki-Taka's auxiliary array P (:math:`P_{\max} = \max_k\|P_k\|_\infty`,
the terms of :math:`S_K^{RL}`, the time-averaged P), or a Lyapunov function along Analog GD -- need
the state itself. A *recorder* sees both. Pass recorders by name to :func:`sim.simulate`
(``recorders={"p_max": sim.Max(sim.p_inf)}``); their results are in ``Trajectory.recorded``.

Protocol (:class:`Recorder`): ``start(runs, steps)`` once before the loop, then
``observe(k, state, point)`` at every iteration ``k = 0, 1, ..., K`` (``state`` is the optimizer's
state at iteration k, before its step; ``k = K`` is the state after the last step), then
``result()``. The arrays passed to ``observe`` may be buffers reused at the next iteration: a
recorder that keeps one must copy it. Recorders never draw random numbers, so adding one does not
change a run (bit for bit).

A *quantity* is a metric name of :data:`sim.METRICS` (evaluated on the point) or a callable
``(state, point) -> array`` of shape ``(R,)`` or ``(R, ...)``; the callables below are the
quantities the bounds of the papers consume.

===========================  ========================================================================
:class:`Mean`                per-run mean over iterations ``start <= k < stop`` (sums in iteration order)
:class:`Max`                 per-run running maximum over ``start <= k < stop``
:class:`MaxRatio`            per-run :math:`\max_k q_{k+1}/q_k` over consecutive iterations
:func:`p_inf`                :math:`\|P_k\|_\infty` (Tiki-Taka / residual learning)
:func:`p_array`              :math:`P_k` itself, ``(R, D)`` (e.g. its time average)
:func:`s_rl_terms`           :math:`\|G(P_k)/\sqrt{F(P_k)}\|_\infty^2` (terms of :math:`S_K^{RL}`)
:func:`query_grad_norm2`     :math:`\|\nabla f(\bar W_k)\|^2` at the query point (:math:`W_k + \gamma P_k`)
:func:`quadratic_form`       :math:`(W_k - c)^\top A (W_k - c)` (a Lyapunov function)
===========================  ========================================================================

References
----------
arXiv 2406.12774 Thm 4 (Tiki-Taka, :math:`P_{\max}`); arXiv 2502.06309 Thm 3 / Corollary 1
(residual learning, :math:`S_K^{RL}`, the query point :math:`W + \gamma P`); spec ``anchors.md``
Sec. 3 (Lyapunov certificates of linearized Analog GD).

Examples
--------
>>> import numpy as np, sim
>>> prob = sim.paper_problem("exact_fig3")
>>> tt = sim.TikiTaka(0.05, 0.05, sim.SoftBounds(1.0))
>>> traj = sim.simulate(prob, tt, steps=200, seeds=4, noise=sim.GaussianNoise(0.1),
...                     recorders={"p_max": sim.Max(sim.p_inf),
...                                "floor": sim.Mean("grad_norm2", start=100),
...                                "p_mean": sim.Mean(sim.p_array, start=100)})
>>> traj.recorded["p_max"].shape, traj.recorded["floor"].shape, traj.recorded["p_mean"].shape
((4,), (4,), (4, 40))
>>> bool(np.all(traj.recorded["p_max"] <= 1.0))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._checks import check_int, check_real
from .devices import Device
from .trajectory import METRICS, Point

__all__ = ["Max", "MaxRatio", "Mean", "Quantity", "Recorder", "p_array", "p_inf", "quadratic_form",
           "query_grad_norm2", "s_rl_terms"]

#: ``(state, point) -> array`` of shape ``(R,)`` or ``(R, ...)``, or a metric name of ``sim.METRICS``
Quantity = str | Callable[[Any, Point], np.ndarray]


@runtime_checkable
class Recorder(Protocol):
    """What :func:`sim.simulate` calls on a recorder (see the module docstring)."""

    def start(self, runs: int, steps: int) -> None:
        """Reset before the loop: R runs, K iterations (``observe`` follows for k = 0..K)."""
        ...

    def observe(self, k: int, state: Any, point: Point) -> None:
        """Iteration ``k``: the optimizer's state before its step and the metrics' point."""
        ...

    def result(self) -> Any:
        """What ``Trajectory.recorded[name]`` holds after the run."""
        ...


def _quantity(q: Quantity, name: str = "quantity") -> Callable[[Any, Point], np.ndarray]:
    if isinstance(q, str):
        if q not in METRICS:
            raise ValueError(f"{name} must be a metric name in {sorted(METRICS)} or a callable"
                             f" (state, point) -> array, got {q!r}")
        metric = METRICS[q]
        return lambda state, point: metric(point)
    if not callable(q):
        raise TypeError(f"{name} must be a metric name of sim.METRICS or a callable (state, point) ->"
                        f" array, got {type(q).__name__}")
    return q


class _Window:
    """A quantity observed over iterations ``start <= k < stop`` (``stop=None``: K)."""

    def __init__(self, quantity: Quantity, start: int = 0, stop: int | None = None) -> None:
        self.quantity = quantity
        self._fn = _quantity(quantity)
        self.start_k = check_int("start", start, minimum=0)
        self.stop_k = None if stop is None else check_int("stop", stop, minimum=1)
        self._stop = -1
        self._acc: np.ndarray | None = None

    def start(self, runs: int, steps: int) -> None:
        stop = steps if self.stop_k is None else self.stop_k
        if stop > steps + 1:
            raise ValueError(f"stop must be in [1, K + 1] = [1, {steps + 1}] (iterations 0..K are"
                             f" observed), got {stop}")
        if not self.start_k < stop:
            raise ValueError(f"start must be in [0, stop) = [0, {stop}), got {self.start_k}")
        self._stop = stop
        self._acc = None

    def _inside(self, k: int) -> bool:
        return self.start_k <= k < self._stop

    def _check_started(self) -> np.ndarray:
        if self._acc is None:
            raise RuntimeError(f"{type(self).__name__} has observed no iteration (pass it to"
                               " sim.simulate(recorders=...))")
        return self._acc

    def __repr__(self) -> str:
        q = self.quantity if isinstance(self.quantity, str) else getattr(self.quantity, "__name__", "fn")
        stop = "K" if self.stop_k is None else self.stop_k
        return f"{type(self).__name__}({q!r}, start={self.start_k}, stop={stop})"


class Mean(_Window):
    r"""Per-run mean of a quantity over iterations ``start <= k < stop``.

    .. math:: \frac{1}{\text{stop} - \text{start}} \sum_{k=\text{start}}^{\text{stop}-1} q_k

    The sum is formed in iteration order from zero (so it equals a hand-written accumulation bit
    for bit).

    Parameters
    ----------
    quantity
        A metric name of :data:`sim.METRICS` or a callable ``(state, point) -> array``.
    start, stop
        Iteration window, ``0 <= start < stop <= K + 1``; ``stop=None`` means K (the convention
        :math:`\frac1K\sum_{k<K}` of the bounds). ``stop = K + 1`` includes the final state.

    Examples
    --------
    >>> import sim
    >>> traj = sim.simulate(sim.paper_problem("exact_fig3"), sim.DigitalSGD(0.1), steps=50,
    ...                     seeds=2, recorders={"avg": sim.Mean("grad_norm2")})
    >>> bool(abs(traj.recorded["avg"] - traj.average("grad_norm2")).max() < 1e-12)
    True
    """

    def observe(self, k: int, state: Any, point: Point) -> None:
        if self._inside(k):
            v = self._fn(state, point)
            if self._acc is None:
                self._acc = np.zeros(np.shape(v))
            self._acc += v

    def result(self) -> np.ndarray:
        return self._check_started() / (self._stop - self.start_k)


class Max(_Window):
    r"""Per-run (per-element for array quantities) maximum of a quantity over ``start <= k < stop``.

    E.g. :math:`P_{\max} = \max_{k<K}\|P_k\|_\infty` of the Tiki-Taka bound is ``Max(p_inf)``.

    Parameters
    ----------
    quantity
        A metric name of :data:`sim.METRICS` or a callable ``(state, point) -> array``.
    start, stop
        Iteration window as in :class:`Mean`.
    """

    def observe(self, k: int, state: Any, point: Point) -> None:
        if self._inside(k):
            v = self._fn(state, point)
            if self._acc is None:
                self._acc = np.array(v, dtype=float, copy=True)
            else:
                np.maximum(self._acc, v, out=self._acc)

    def result(self) -> np.ndarray:
        return self._check_started().copy()


class MaxRatio:
    r"""Per-run largest ratio of a positive quantity between consecutive iterations.

    .. math:: \rho^2 = \max_{0 \le k < K,\; q_k > \text{floor}} \; q_{k+1} / q_k

    With :func:`quadratic_form` as ``q`` this is the worst one-step decrease factor of a Lyapunov
    function along the run (``V(e_{k+1}) \le \rho^2 V(e_k)`` certifies a rate :math:`\rho`).
    Pairs where :math:`q_k \le` ``floor`` (the run has converged) are skipped; a run with no such
    pair reports 0.

    Parameters
    ----------
    quantity
        A callable ``(state, point) -> (R,)`` (or a metric name), non-negative.
    floor
        Values of :math:`q_k` at or below it are not divided by, >= 0.
    """

    def __init__(self, quantity: Quantity, floor: float = 1e-200) -> None:
        self.quantity = quantity
        self._fn = _quantity(quantity)
        self.floor = check_real("floor", floor, 0.0)
        self._prev: np.ndarray | None = None
        self._worst: np.ndarray | None = None

    def start(self, runs: int, steps: int) -> None:
        self._prev, self._worst = None, np.zeros(runs)

    def observe(self, k: int, state: Any, point: Point) -> None:
        v = np.array(self._fn(state, point), dtype=float, copy=True)
        prev = self._prev
        if prev is not None:
            live = prev > self.floor
            if np.any(live):
                ratio = np.zeros_like(v)
                np.divide(v, prev, out=ratio, where=live)
                worst = self._worst
                assert worst is not None  # set by start()
                np.maximum(worst, ratio, out=worst, where=live)
        self._prev = v

    def result(self) -> np.ndarray:
        if self._worst is None:
            raise RuntimeError("MaxRatio has observed no iteration (pass it to sim.simulate(recorders=...))")
        return self._worst.copy()


# --- quantities -------------------------------------------------------------------------------------

def _p(state: Any) -> np.ndarray:
    P = getattr(state, "P", None)
    if P is None:
        raise TypeError(f"this quantity needs an optimizer state with an auxiliary array P (sim.TikiTaka,"
                        f" sim.ResidualLearningV2), got {type(state).__name__}")
    return P


def p_inf(state: Any, point: Point) -> np.ndarray:
    r""":math:`\|P_k\|_\infty` per run (the P array of :class:`sim.TikiTaka` and residual learning)."""
    return np.abs(_p(state)).max(axis=-1)


def p_array(state: Any, point: Point) -> np.ndarray:
    """The auxiliary array :math:`P_k`, shape ``(R, D)`` (``Mean(p_array, start)``: its time average)."""
    return _p(state)


def s_rl_terms(device: Device) -> Callable[[Any, Point], np.ndarray]:
    r"""Quantity :math:`\|G(P_k)/\sqrt{F(P_k)}\|_\infty^2` on P's device (terms of :math:`S_K^{RL}`).

    ``Mean(s_rl_terms(dev))`` is :math:`S_K^{RL} = \frac1K\sum_{k<K}\|G(P_k)/\sqrt{F(P_k)}\|^2_\infty`
    (arXiv 2502.06309 Thm 3).
    """
    if not isinstance(device, Device):
        raise TypeError(f"device must be a sim.Device, got {type(device).__name__}")

    def s_rl(state: Any, point: Point) -> np.ndarray:
        P = _p(state)
        return (device.G(P) ** 2 / device.F(P)).max(axis=-1)

    return s_rl


def query_grad_norm2(state: Any, point: Point) -> np.ndarray:
    r""":math:`\|\nabla f(\bar W_k)\|^2` at the query point :math:`\bar W_k` (``algorithm.query``:
    :math:`W_k + \gamma P_k` for residual learning, :math:`W_k` otherwise)."""
    return np.einsum("rd,rd->r", point.grad_x, point.grad_x)


def quadratic_form(A: np.ndarray, center: np.ndarray) -> Callable[[Any, Point], np.ndarray]:
    r"""Quantity :math:`V(W_k) = (W_k - c)^\top A (W_k - c)` per run, e.g. a Lyapunov function.

    Parameters
    ----------
    A
        Symmetric ``(D, D)`` matrix.
    center
        The point c, shape ``(D,)`` (e.g. the minimizer :math:`w^*`).
    """
    A = np.asarray(A, dtype=float)
    center = np.asarray(center, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or center.shape != (A.shape[0],):
        raise ValueError(f"A must be (D, D) and center (D,), got A {A.shape} and center {center.shape}")

    def lyapunov(state: Any, point: Point) -> np.ndarray:
        e = point.W - center
        return np.einsum("ri,ij,rj->r", e, A, e)

    return lyapunov
