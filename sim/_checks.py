r"""Input validation at the public boundary, and the one divergence policy of the simulator.

Validation: every public constructor and entry point checks its arguments before any computation
and raises ``ValueError`` (``TypeError`` for an object of the wrong kind, e.g. a string where a
device is expected) whose message names the parameter, the allowed range or shape, and the value
received. Strings, booleans, ``None``, complex numbers and object arrays are not numbers here
(``numpy.asarray('1', dtype=float)`` would silently accept ``'1'``; ``True`` would become 1).
Integers must be integral (``2.0`` is accepted as 2, ``2.5`` and ``nan`` are rejected).

Divergence: :class:`Diverged` is raised by :func:`sim.simulate`, :func:`sim.nets.train` and
:func:`sim.pipeline.train_pipeline` as soon as a run's weights (or its loss) become non-finite, with
the iteration index and the runs; a non-finite number never flows silently into a statistic.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


class Diverged(FloatingPointError):
    """A run's weights or loss became non-finite (NaN or inf).

    Raised by :func:`sim.simulate`, :func:`sim.nets.train` and
    :func:`sim.pipeline.train_pipeline` at the first iteration where it happens (the one divergence
    policy of the simulator). A subclass of ``FloatingPointError``.

    Attributes
    ----------
    where
        The function that detected it (``"simulate"``, ``"nets.train"``, ``"train_pipeline"``).
    iteration
        The iteration index in that function's own unit: ``simulate``, the first k with a
        non-finite :math:`W_k` or loss (``1 <= k <= K``); ``nets.train``, the global mini-batch
        index ``epoch * n_batches + b`` (``epoch`` is also kept); ``train_pipeline``, the micro-batch
        ``j`` after whose update the weights became non-finite.
    runs
        The run indices (as given by ``seeds`` / ``runs``) that diverged at that iteration.
    rows
        Their positions in the batch (rows of the ``(R, ...)`` arrays).
    epoch
        ``nets.train`` only: the epoch (else ``None``).
    """

    def __init__(self, where: str, iteration: int, runs: Sequence[int], rows: Sequence[int], *,
                 what: str = "weights", unit: str = "iteration", epoch: int | None = None,
                 hint: str = "") -> None:
        self.where = where
        self.iteration = int(iteration)
        self.runs = [int(r) for r in runs]
        self.rows = [int(r) for r in rows]
        self.epoch = epoch
        shown = self.runs if len(self.runs) <= 10 else [*self.runs[:10], "..."]
        msg = (f"{where} diverged: non-finite {what} at {unit} {self.iteration}"
               f"{'' if epoch is None else f' (epoch {epoch})'} in {len(self.runs)} run(s) {shown}")
        super().__init__(msg + (f"; {hint}" if hint else ""))


def raise_if_nonfinite(where: str, values: np.ndarray, iteration: int, runs: Sequence[int] | np.ndarray, *,
                       what: str = "weights", unit: str = "iteration", epoch: int | None = None,
                       hint: str = "") -> None:
    """Raise :class:`Diverged` if a row of ``values`` (shape ``(R, ...)``) holds a non-finite entry."""
    v = np.asarray(values)
    ok = np.isfinite(v).reshape(v.shape[0], -1).all(axis=1) if v.ndim else np.array([np.isfinite(v)])
    if not ok.all():
        rows = np.flatnonzero(~ok)
        run_ids = np.asarray(runs)[rows] if len(runs) == v.shape[0] else rows
        raise Diverged(where, iteration, run_ids.tolist(), rows.tolist(), what=what, unit=unit,
                       epoch=epoch, hint=hint)


# --- scalars -------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    """A real number that is not a bool (numpy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _float(value: Any) -> float:
    """``float(value)``, with ``inf`` for an integer too large for a float (no OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return float(np.sign(value)) * np.inf


def _describe(value: Any) -> str:
    r = repr(value)
    if len(r) > 80:
        r = r[:77] + "..."
    return r if _is_number(value) else f"{r} ({type(value).__name__})"


def check_int(name: str, value: Any, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int``: an integral real number (not a bool) in ``[minimum, maximum]``."""
    lo = "" if minimum is None else f" >= {minimum}"
    hi = "" if maximum is None else f" <= {maximum}"
    allowed = f"an integer{lo}{' and' if lo and hi else ''}{hi}"
    if maximum is None and minimum in (0, 1):
        allowed = "a positive integer" if minimum == 1 else "a non-negative integer"
    if isinstance(value, numbers.Integral) and _is_number(value):
        v = int(value)
    elif not _is_number(value) or not np.isfinite(_float(value)) or _float(value) != int(value):
        raise ValueError(f"{name} must be {allowed}, got {_describe(value)}")
    else:
        v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def check_seed(name: str, value: Any) -> int:
    """A base seed: a non-negative integer (``1.7`` or ``'3'`` are rejected, not truncated)."""
    return check_int(name, value, minimum=0)


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    if hi == np.inf and lo == -np.inf:
        return "finite"
    if hi == np.inf:
        return f"finite and {'>' if lo_open else '>='} {lo:g}"
    if lo == -np.inf:
        return f"finite and {'<' if hi_open else '<='} {hi:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_real(name: str, value: Any, lo: float = -np.inf, hi: float = np.inf, *,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the interval ``lo .. hi`` (open ends as flagged)."""
    allowed = _interval(lo, hi, lo_open, hi_open)
    if not _is_number(value):
        raise ValueError(f"{name} must be a real number, {allowed}, got {_describe(value)}")
    v = _float(value)
    if (not np.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


# --- arrays ----------------------------------------------------------------------------------------------


def as_real_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, refusing strings, bools, ``None``, complex and object data."""
    if value is None or isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {_describe(value)}")
    if _is_number(value):
        return np.asarray(_float(value))
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a real number or an array of real numbers, got"
                         f" {_describe(value)} ({exc})") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real number or an array of real numbers, got"
                         f" {_describe(value)} (dtype {arr.dtype})")
    return arr.astype(float)


def check_array(name: str, value: Any, lo: float = -np.inf, hi: float = np.inf, *, lo_open: bool = False,
                hi_open: bool = False, max_ndim: int | None = None) -> np.ndarray:
    """A non-empty float array (or scalar) of finite entries in ``lo .. hi``, at most ``max_ndim`` axes."""
    arr = as_real_array(name, value)
    allowed = _interval(lo, hi, lo_open, hi_open)
    if max_ndim is not None and arr.ndim > max_ndim:
        kind = "a scalar" if max_ndim == 0 else ("a scalar or a 1-D array" if max_ndim == 1
                                                   else f"a scalar or an array with at most {max_ndim} axes")
        raise ValueError(f"{name} must be {kind}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
    if lo_open:
        bad |= arr == lo
    if hi_open:
        bad |= arr == hi
    if np.any(bad):
        i = np.unravel_index(np.argmax(bad), arr.shape)
        where = "" if arr.ndim == 0 else f" (entry {tuple(map(int, i))} is {arr[i]!r})"
        raise ValueError(f"{name} must be {allowed}, got {_describe(value)}{where}")
    return arr


def check_broadcast(name: str, value: Any, shape: tuple[int, ...], what: str) -> None:
    """Raise ``ValueError`` unless ``value``'s shape broadcasts to ``shape`` without growing it."""
    s = np.shape(value)
    try:
        ok = np.broadcast_shapes(s, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} of shape {s} does not broadcast against {what} of shape {tuple(shape)};"
                         f" use a scalar or a shape that broadcasts (e.g. (R, 1) for one value per run)")


def check_runs(name: str, value: Any) -> np.ndarray:
    """``R`` (runs ``0..R-1``) or a non-empty 1-D sequence of non-negative integer run indices."""
    if np.ndim(value) == 0:
        return np.arange(check_int(name, value, minimum=1))
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a positive integer or a sequence of run indices, got {value!r}")
    items = list(value)
    if not items:
        raise ValueError(f"{name} must be a positive integer or a non-empty sequence of run indices, got"
                         f" {value!r}")
    for r in items:
        if not _is_number(r) or not np.isfinite(_float(r)) or _float(r) != int(r) or int(r) < 0:
            raise ValueError(f"{name}: run indices must be non-negative integers, got {_describe(r)} in"
                             f" {_describe(value)}")
    return np.asarray([int(r) for r in items], dtype=np.int64)
