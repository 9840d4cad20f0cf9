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

The paper presets' path (BL 31 stochastic pulse trains, additive cycle-to-cycle noise) has two
more: :func:`binomial_kernel`, the inverse-CDF binomial of :func:`sim.pulsed.binomial_icdf` per
element (elementary arithmetic only, in numpy's order; ``tests/sim/test_binomial_kernel.py``), and
:func:`noisy_kernels`, the closed form with additive noise as two loops around numpy's ``expm1``
on the pulsed elements (``tests/sim/test_pulsed_kernels.py``). Each getter returns None in the
same cases as :func:`pulse_kernels`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["binomial_kernel", "noisy_kernels", "numba_version", "pulse_kernels"]

numba_version: str | None = None


def _pulse_scan_py(w: np.ndarray, d: np.ndarray, u: np.ndarray, uscale: float, out: np.ndarray,
                   below: float, dw_min: float, bound: float, log: float, lo: float, hi: float,
                   idx: np.ndarray, nl: np.ndarray, tb: np.ndarray) -> int:
    """First pass of the stochastically rounded closed-form update on 2-D ``(R, M)`` arrays.

    The uniforms are ``u * uscale`` (``u`` the 32-bit words of :func:`sim.pulsed.rounding_uniforms`
    and ``uscale = 2^-32``, or floats and 1.0): the conversion is exact, so the comparisons see the
    values the numpy routes compute.

    Every element's clipped weight goes to ``out``. The candidates for a pulse, ``|d| > u *
    below`` with ``below`` just under ``dw_min`` (multiplication instead of a division; NaN
    increments included), are listed: flat index ``r * M + i`` in ``idx``, ``n * log`` in ``nl``
    (``n``: stochastic rounding of ``|d|/dw_min`` with ``u``) and the bound ``copysign(T, d)`` in
    ``tb``. Returns the number listed; numpy then takes ``expm1`` of ``nl`` (its own
    implementation, so the bits are numpy's) and :func:`_pulse_apply` finishes the candidates.
    The loops are split (candidate mask, clipping, listing, then the few candidates) so that the
    first two compile to vectorized loops and only the listing branches. Returns -1 when over a
    quarter of the elements are candidates (small problems, large steps): the caller's dense numpy
    passes are then cheaper than finishing the list."""
    R, M = w.shape
    mask = np.empty(M, dtype=np.bool_)
    k = 0
    for r in range(R):
        for i in range(M):
            mask[i] = not ((u[r, i] * uscale) * below >= abs(d[r, i]))
        for i in range(M):
            v = w[r, i]
            out[r, i] = lo if v < lo else (hi if v > hi else v)
        for i in range(M):
            if mask[i]:
                idx[k] = r * M + i
                k += 1
    if 4 * k > R * M:
        return -1
    for j in range(k):
        r, i = divmod(idx[j], M)
        di = d[r, i]
        x = abs(di) / dw_min
        n = np.floor(x)
        if u[r, i] * uscale < x - n:
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


def _binomial_icdf_py(u: np.ndarray, p: np.ndarray, n: np.ndarray, n_max: float,
                      k: np.ndarray, flag: np.ndarray) -> int:
    r""":func:`sim.pulsed.binomial_icdf` per element on 2-D ``(R, M)`` uniforms ``u`` and
    probabilities ``p``, numbers of trials ``n`` of shape ``(1 or R, 1 or M)`` (broadcast by
    index), draws written to ``k``.

    Per element: :math:`P(0) = (1-p)^n` by the binary exponentiation of
    :func:`sim.pulsed._int_power` (the same multiplications in the same order), then the CDF
    recursion ``pm *= p/(1-p); pm *= (n - j)/(j + 1); cdf += pm`` while ``j < n_max`` and
    ``u >= cdf``. Every added ``pm`` is >= 0 or NaN (p in [0, 1], integer n >= 0), so the CDF never
    decreases and an element's count is its run of hits from j = 0: the count numpy's
    all-elements loop gives it. Elements whose P(0) is 0 (p = 1, underflow) or NaN (a NaN p or
    n) are listed in ``flag`` (flat index ``r * M + i``) with ``k`` = 0 for the caller to patch;
    returns their number, or -1 (nothing usable written) when a ``p`` lies outside [0, 1] or an
    ``n`` is negative, not an integer or infinite (the caller then takes the numpy route).

    Shortcut: for :math:`n \le 4096`, ``0 < 1 - n p - 1e-9`` and ``u < 1 - n p - 1e-9`` imply
    ``u`` below the computed :math:`P(0) > 0`, so the draw is 0 without the power. Bernoulli's
    inequality gives :math:`(1-p)^n \ge 1 - np`; the rounding of ``1 - p`` (raised to the n-th
    power) and of the at most 2 log2(n) products of the binary exponentiation put the computed
    P(0) within a relative :math:`(2n + 2\log_2 n)\,2^{-53} < 10^{-11}` of
    :math:`(1-p)^n \le 1`, and the computed ``1 - n p`` is within :math:`2^{-52}` of its exact
    value: the margin 1e-9 covers both, so the decision (and the draw) is the one the full
    recursion makes."""
    R, M = u.shape
    Rn, Cn = n.shape
    # the factors (n - j)/(j + 1) of the recursion, tabulated per row of n when n does not vary
    # along the row (the same division, so the same bits)
    tab = Cn == 1 and n_max <= 65536.0
    J = int(np.ceil(n_max)) if tab else 0
    fac = np.empty((Rn, J))
    for r in range(Rn if tab else 0):
        nv = n[r, 0]
        for j in range(J):
            fac[r, j] = (nv - float(j)) / (float(j) + 1.0)
    nf = 0
    for r in range(R):
        rn = r if Rn > 1 else 0
        for i in range(M):
            pv = p[r, i]
            nv = n[rn, i if Cn > 1 else 0]
            if np.isnan(nv):  # numpy: P(0) = NaN, a NaN count whatever p is
                pm = np.nan
            elif pv < 0.0 or pv > 1.0 or nv < 0.0 or nv != np.floor(nv) or np.isinf(nv):
                return -1
            else:
                lb = 1.0 - nv * pv - 1e-9
                if nv <= 4096.0 and lb > 0.0 and u[r, i] < lb:
                    k[r, i] = 0.0  # u < P(0) for sure: no pulse (most elements); docstring
                    continue
                e = np.int64(nv)
                pm = 1.0
                b = 1.0 - pv
                while True:
                    if e & 1:
                        pm *= b
                    e >>= 1
                    if e == 0:
                        break
                    b *= b
            if not pm > 0.0:  # P(0) = 0 or NaN
                flag[nf] = r * M + i
                nf += 1
                k[r, i] = 0.0
                continue
            uv = u[r, i]
            if not (n_max > 0.0 and uv >= pm):  # no pulse (most elements)
                k[r, i] = 0.0
                continue
            ratio = pv / (1.0 - pv)
            cdf = pm
            j = 0
            if tab:
                while j < n_max and uv >= cdf:
                    pm *= ratio
                    pm *= fac[rn, j]
                    cdf += pm
                    j += 1
            else:
                while j < n_max and uv >= cdf:
                    pm *= ratio
                    pm *= (nv - float(j)) / (float(j) + 1.0)
                    cdf += pm
                    j += 1
            k[r, i] = j
    return nf


def _noisy_finish(wi: float, e: float, g2: float, zi: float, c: np.ndarray, ci: int, up: bool) -> float:
    """One element of the noisy closed form: ``clip((w - T) e + w + sqrt(a_v g2) z, lo, hi)`` with
    ``e = expm1(l)``, ``g2 = -expm1(2 l)`` and the direction's constants of column ``ci`` of ``c``
    (the clip as numpy's: NaN passes). Compiled into both noisy loops (numba's
    ``register_jitable``), the same operations in the same order as
    :meth:`sim.pulsed.PulsedLinearStep._closed_form`."""
    var = (c[4, ci] if up else c[5, ci]) * g2
    v = (wi - (c[0, ci] if up else c[1, ci])) * e + wi
    v = v + math.sqrt(var) * zi
    lo, hi = c[6, ci], c[7, ci]
    if not (np.isnan(v) or v > lo):
        v = lo
    if not (np.isnan(v) or v < hi):
        v = hi
    return v


def _noisy_scan_py(w: np.ndarray, n: np.ndarray, d: np.ndarray, z: np.ndarray, out: np.ndarray,
                   c: np.ndarray, idx: np.ndarray, nl: np.ndarray) -> int:
    r"""First pass of the closed-form update with additive cycle-to-cycle noise on 2-D ``(R, M)``
    arrays: pulse counts ``n``, increments ``d`` (their sign picks the direction), standard
    normals ``z``, the device's constants ``c`` of shape ``(8, 1 or M)`` (the same for every run;
    rows :math:`T_+, T_-, \log(1-\rho_+), \log(1-\rho_-), a_{v+}, a_{v-}`, lo, hi).

    Per element, up when :math:`d \ge 0` (NaN: down, as ``np.where(d >= 0, ...)``),
    :math:`\ell = n \log(1-\rho)` and :math:`v = a_v\,(-\mathrm{expm1}(2\ell))`:
    ``out = clip((w - T) expm1(l) + w + sqrt(v) z, lo, hi)``, the operations of
    :meth:`sim.pulsed.PulsedLinearStep._closed_form` in its order (the clip as numpy's: NaN
    passes). Where ``l`` is zero (no pulse: ``l = +-0``) ``expm1`` is exact
    (``expm1(+-0) = +-0``) and the element is finished here; the others (pulsed, or NaN) are
    listed: flat index ``r * M + i`` in ``idx``, ``l`` in ``nl``, for numpy's ``expm1`` and
    :func:`_noisy_apply_py`. Returns the number listed."""
    R, M = w.shape
    per = c.shape[1] > 1
    k = 0
    for r in range(R):
        for i in range(M):
            ci = i if per else 0
            up = d[r, i] >= 0.0
            li = n[r, i] * (c[2, ci] if up else c[3, ci])
            if li == 0.0:
                out[r, i] = _noisy_finish(w[r, i], li, -(li + li), z[r, i], c, ci, up)
            else:
                idx[k] = r * M + i
                nl[k] = li
                k += 1
    return k


def _noisy_apply_py(w: np.ndarray, d: np.ndarray, z: np.ndarray, out: np.ndarray,
                    c: np.ndarray, idx: np.ndarray, e: np.ndarray, e2: np.ndarray) -> None:
    """Second pass of :func:`_noisy_scan_py` at the listed elements, with ``e = expm1(l)`` and
    ``e2 = expm1(2 l)`` from numpy."""
    M = w.shape[1]
    per = c.shape[1] > 1
    for j in range(idx.size):
        r, i = divmod(idx[j], M)
        ci = i if per else 0
        up = d[r, i] >= 0.0
        out[r, i] = _noisy_finish(w[r, i], e[j], -e2[j], z[r, i], c, ci, up)


_compiled: dict[tuple[str, ...], tuple[Any, ...]] = {}
_numba: Any = None
_loaded = False


def _load(*fns: Callable[..., Any]) -> tuple[Any, ...] | None:
    """``fns`` compiled by numba's ``njit`` (IEEE arithmetic: no ``fastmath``; numpy's error model,
    so a division by zero gives inf, as in numpy; cached on disk), once per process, or None
    without numba or with ``AIMC_VERIFY_NO_NUMBA=1``. numba is imported on the first call only."""
    global _numba, numba_version, _loaded
    names = tuple(fn.__name__ for fn in fns)
    got = _compiled.get(names)
    if got is not None:  # the hot path: one dict lookup
        return got
    if not _loaded:
        _loaded = True
        if os.environ.get("AIMC_VERIFY_NO_NUMBA", "") not in ("", "0"):
            return None
        try:
            import numba
            import numba.extending
        except ImportError:
            return None
        numba.extending.register_jitable(_noisy_finish)  # callable from the compiled loops
        _numba, numba_version = numba, numba.__version__
    if _numba is None:
        return None
    jit = _numba.njit(cache=True, nogil=True, error_model="numpy")
    got = _compiled[names] = tuple(jit(fn) for fn in fns)
    return got


def pulse_kernels() -> tuple[Callable[..., int], Callable[..., None]] | None:
    """``(pulse_scan, pulse_apply)`` (:func:`_pulse_scan_py`, :func:`_pulse_apply_py`) compiled by
    numba (loaded on first use: importing numba and the cached machine code takes ~0.5 s, paid only
    by runs that reach the pulse-level hot path), or None without numba or with
    ``AIMC_VERIFY_NO_NUMBA=1``."""
    return _load(_pulse_scan_py, _pulse_apply_py)


def binomial_kernel() -> Callable[..., int] | None:
    """:func:`_binomial_icdf_py` compiled by numba (loaded on first use), or None as
    :func:`pulse_kernels`."""
    got = _load(_binomial_icdf_py)
    return None if got is None else got[0]


def noisy_kernels() -> tuple[Callable[..., int], Callable[..., None]] | None:
    """``(noisy_scan, noisy_apply)`` (:func:`_noisy_scan_py`, :func:`_noisy_apply_py`) compiled by
    numba (loaded on first use), or None as :func:`pulse_kernels`."""
    return _load(_noisy_scan_py, _noisy_apply_py)
