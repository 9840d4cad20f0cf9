"""Compiled kernels (optional numba) for the pulse-level hot path.

numpy evaluates the closed-form pulse update of :class:`sim.pulsed.PulsedLinearStep` as a dozen
passes over the weights, each with its own temporary; on a network tile most of that is memory
traffic and call overhead, since only a few percent of the elements receive a pulse per step. With
numba installed (``pip install aimc-verify[fast]``, part of ``[all]``) the same arithmetic runs as
two compiled loops per tile around numpy's own ``expm1`` (numpy's SIMD ``expm1`` and the C
library's differ in the last bit for a few values in 10^4, so the one transcendental stays numpy's).
The loops are the numpy formula written per element with IEEE semantics (no ``fastmath``), so both
routes give the same bits; ``tests/sim/test_pulsed_kernels.py`` holds them to that. Without numba,
or with ``AIMC_VERIFY_NO_NUMBA=1`` in the environment, :func:`pulse_kernels` returns None and the
callers use numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["numba_version", "pulse_kernels"]

pulse_scan: Callable[..., int] | None = None
pulse_apply: Callable[..., None] | None = None
numba_version: str | None = None


def _pulse_scan_py(w: np.ndarray, d: np.ndarray, u: np.ndarray, out: np.ndarray, below: float,
                   dw_min: float, bound: float, log: float, lo: float, hi: float,
                   idx: np.ndarray, nl: np.ndarray, tb: np.ndarray) -> int:
    """First pass of the stochastically rounded closed-form update on 2-D ``(R, M)`` arrays.

    Every element's clipped weight goes to ``out``. The candidates for a pulse, ``|d| > u *
    below`` with ``below`` just under ``dw_min`` (multiplication instead of a division; NaN
    increments included), are listed: flat index ``r * M + i`` in ``idx``, ``n * log`` in ``nl``
    (``n``: stochastic rounding of ``|d|/dw_min`` with ``u``) and the bound ``copysign(T, d)`` in
    ``tb``. Returns the number listed. numpy then takes ``expm1`` of ``nl`` (its own
    implementation, so the bits are numpy's) and :func:`_pulse_apply` finishes the candidates.
    The loops are split (candidate mask, clipping, listing, then the few candidates) so that the
    first two compile to vectorized loops and only the listing branches."""
    R, M = w.shape
    mask = np.empty(M, dtype=np.bool_)
    k = 0
    for r in range(R):
        for i in range(M):
            mask[i] = not (u[r, i] * below >= abs(d[r, i]))
        for i in range(M):
            v = w[r, i]
            out[r, i] = lo if v < lo else (hi if v > hi else v)
        for i in range(M):
            if mask[i]:
                idx[k] = r * M + i
                k += 1
    for j in range(k):
        r, i = divmod(idx[j], M)
        di = d[r, i]
        x = abs(di) / dw_min
        n = np.floor(x)
        if u[r, i] < x - n:
            n += 1.0
        nl[j] = n * log
        tb[j] = math.copysign(bound, di)
    return k


def _pulse_apply_py(w: np.ndarray, out: np.ndarray, idx: np.ndarray, e: np.ndarray,
                    tb: np.ndarray, lo: float, hi: float) -> None:
    """Second pass on flat (1-D) weights: ``out[i] = clip((w - T) e + w)`` at the listed ``i``."""
    for j in range(idx.size):
        i = idx[j]
        wi = w[i]
        v = (wi - tb[j]) * e[j] + wi
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        out[i] = v


_loaded = False


def pulse_kernels() -> tuple[Callable[..., int], Callable[..., None]] | None:
    """``(pulse_scan, pulse_apply)`` compiled by numba (loaded on first use: importing numba and
    the cached machine code takes ~0.5 s, paid only by runs that reach the pulse-level hot path),
    or None without numba or with ``AIMC_VERIFY_NO_NUMBA=1``."""
    global pulse_scan, pulse_apply, numba_version, _loaded
    if not _loaded:
        _loaded = True
        if os.environ.get("AIMC_VERIFY_NO_NUMBA", "") not in ("", "0"):
            return None
        try:
            import numba
        except ImportError:
            return None
        jit: Any = numba.njit(cache=True, nogil=True, error_model="numpy")
        pulse_scan, pulse_apply = jit(_pulse_scan_py), jit(_pulse_apply_py)
        numba_version = numba.__version__
    if pulse_scan is None or pulse_apply is None:
        return None
    return pulse_scan, pulse_apply
