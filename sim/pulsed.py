r"""Pulse-level soft-bounds device, faithful to IBM aihwkit, with its mean-field twin.

One object, :class:`PulsedSoftBounds`, carries both interfaces of the update contract
(:func:`sim.optimizers.apply_update`): the mean-field response functions of
:class:`~sim.devices.Device` (``q_plus``, ``q_minus``, ``F``, ``G``, ``M``, ``update``...) and the
pulse-level :meth:`PulsedSoftBounds.pulsed_update`. So ``AnalogSGD(alpha, dev, mode="pulsed")``
and ``mode="mean_field"`` run the same physical device.

Physics (aihwkit ``SoftBoundsDevice`` / ``LinearStepDevice`` with :math:`\gamma = 1`; C++
``rpu_pulsed_device.cpp::populate`` and ``rpu_linearstep_device.cpp``; spec ``anchors.md`` 1.2-1.4):

* per-element bounds :math:`b_{\max} = w_{\max}(1 + \text{w\_max\_dtod}\,\xi)`,
  :math:`b_{\min} = w_{\min}(1 + \text{w\_min\_dtod}\,\xi)`, made consistent as aihwkit's
  ``enforce_consistency``: crossed bounds are swapped, then :math:`b_{\max} \leftarrow |b_{\max}|`,
  :math:`b_{\min} \leftarrow -|b_{\min}|` (so a draw across zero gives a small bound of the right
  sign; with aihwkit's default 0.3 spread about 9 elements in 10^4 have one);
* per-element steps, with gain :math:`g = 1 + \text{dw\_min\_dtod}\,\xi` and
  :math:`r = \text{up\_down\_dtod}\,\xi'`:
  :math:`a_+ = (g + r + \min(\beta, 0))\,\Delta w_{\min}`,
  :math:`a_- = (g - r - \max(\beta, 0))\,\Delta w_{\min}` with :math:`\beta` = ``up_down``.
  **As in aihwkit's C++, up_down = +beta shrinks only the down step (by 1 - beta), up_down = -beta
  only the up step** (the docstring's symmetric split is not what the code does; anchors.md 1.3);
* one up pulse: :math:`w \leftarrow w + a_+ (1 - w/b_{\max})(1 + \sigma_c \xi)`; one down pulse:
  :math:`w \leftarrow w - a_- (1 - w/b_{\min})(1 + \sigma_c \xi)` (multiplicative cycle-to-cycle
  noise, aihwkit's default ``mult_noise``; :math:`\sigma_c` = ``dw_min_std``); then clip to
  :math:`[b_{\min}, b_{\max}]`.

A desired increment :math:`d` becomes :math:`n` same-sign pulses, with
:math:`n = \lfloor |d|/\Delta w_{\min} \rfloor + \mathrm{Bernoulli}(\mathrm{frac})` (stochastic
rounding, ``E n \Delta w_{\min} = |d|``) or, with ``desired_bl`` set, a stochastic pulse train of
L slots with firing probability :math:`\min(1, |d|/(L\,\Delta w_{\min}))` per slot, so at most
L pulses. :math:`L = \min(\lceil r_{\max}\rceil, BL)` with aihwkit's default
``update_bl_management`` (:math:`r_{\max}` the run's largest :math:`|d|/\Delta w_{\min}`), else
L = BL (fixed BL). The granularity is the nominal ``dw_min``, as in aihwkit.

Fast path (closed form, derived in :mod:`theory.pulses`): with :math:`B` the bound the pulses head
to and :math:`\rho = a/|B|`, :math:`n` noiseless pulses give

.. math::  w_n = B + (w - B)(1 - \rho)^n .

With cycle-to-cycle noise the factor is :math:`\prod_i (1 - \rho(1 + \sigma_c \xi_i))`, whose mean
:math:`(1-\rho)^n` and second moment :math:`((1-\rho)^2 + \rho^2\sigma_c^2)^n` are exact; the fast
path draws a normal with these two moments (exact in mean and variance, Gaussian in shape). The
sequential per-pulse reference :meth:`PulsedSoftBounds.pulsed_update_sequential` applies the
pulses one by one; ``tests/sim/test_pulsed.py`` compares the two in distribution.

Mean field: :math:`E[\Delta w] \to d\, q_\pm(w)` as :math:`\Delta w_{\min} \to 0` with
:math:`q_+(w) = (a_+/\Delta w_{\min})(1 - w/b_{\max})`,
:math:`q_-(w) = (a_-/\Delta w_{\min})(1 - w/b_{\min})`.

Device-to-device variation is drawn **once per device**, from ``seed`` through
:class:`~sim._rng.BatchRNG` (stream ``"device_to_device"``), with the per-run weight shape
``shape`` the user gives (``(D,)`` for vectors, ``(out, in)`` for a layer tile); it broadcasts over
``(R, *shape)`` weights (every run sees the same physical array, like one aihwkit tile). Without
variation ``shape`` may be ``None`` and the device fits weights of any shape.

Step types: :class:`PulsedSoftBounds` (the theory's device), :class:`PulsedLinearStep` (aihwkit
``LinearStepDevice``, slopes ``gamma_up/down`` in (0, 1], same closed form with the step's zero
:math:`b/\gamma` in place of the bound) and :class:`PulsedConstantStep` (``ConstantStepDevice``).
``subtract_symmetry_point=True`` reads every weight against the reference :math:`r = w^*`
(aihwkit ``SoftBoundsReferenceDevice``), so the read weight's symmetric point is 0.
:meth:`PulsedLinearStep.pulsed_update_outer` applies a rank-1 update :math:`-\mathrm{lr}\,d x^\top`
with aihwkit's correlated stochastic pulse trains (BL, A/B, update management, truncation at BL
pulses), for layer tiles ``(R, out, in)``. :class:`PulseFlow` is the :math:`\Delta w_{\min} \to 0`
limit as a mean-field device.

:class:`PulsedPowStep` (aihwkit ``PowStepDevice``) and :class:`PulsedExpStep` (``ExpStepDevice``)
have no closed form for :math:`n` pulses. Their pulse-level update is the **masked pulse loop**
(:meth:`_LoopedPulsedDevice.apply_pulses`): a loop over the pulse index up to :math:`\max n`, each
iteration one vectorized numpy update of all still-active elements of all runs. It is both the
reference and the fast path (cost on the fig-3 problem: ``benchmarks/bench_pulsed.py``).

Write noise (aihwkit ``write_noise_std``, every class here): the pulses act on the persistent
weight; :meth:`PulsedDevice.apparent` draws the weight the forward pass reads, persistent +
``write_noise_std * dw_min * N(0, 1)``, redrawn on the elements a write touched (as aihwkit).
:class:`sim.AnalogSGD` and :class:`sim.TikiTaka` keep it in their state (``W_read``; ``P_read``)
and read through it.

:class:`PulsedPiecewiseStep` (aihwkit ``PiecewiseStepDevice``) uses the same loop.

Not modelled: ``PowStepReferenceDevice``'s numerical symmetric-point
estimate, ExpStep's computed weight granularity (aihwkit uses the step at w = 0 as the granularity
of BL management; here ``dw_min``), aihwkit's ``res``/``sto_round`` discretization of the pulse
probabilities (off at aihwkit's default ``res = 0``).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import _kernels
from ._checks import check_int, check_real, check_seed
from ._rng import BITS32_SCALE, BatchRNG
from .devices import ArrayLike, Device

# the ufunc behind np.clip, without its Python wrapper (same loop, same numbers); numpy < 2 keeps
# it in numpy.core
_clip_ufunc = importlib.import_module("numpy._core.umath" if hasattr(np, "_core")
                                      else "numpy.core.umath").clip


def _check(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False,
           hi_open: bool = False) -> float:
    """A finite real number (not a string or bool) in the interval ``lo .. hi``."""
    return check_real(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


def _int_power(q: np.ndarray, n: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """``q ** n`` of ``shape`` for non-negative integer exponents ``n`` (broadcasting) by binary
    exponentiation: about log2(max n) vectorized passes (numpy's float ``power`` is far slower).
    A non-finite exponent (a NaN increment upstream) gives NaN there: cast to int64 it would be a
    negative garbage value whose arithmetic shift never reaches 0."""
    nf = np.asarray(n, dtype=float)
    finite = np.isfinite(nf)
    e = np.where(finite, nf, 0.0).astype(np.int64)
    out = np.ones(shape)
    base = np.array(np.broadcast_to(q, shape), dtype=float)
    while True:
        odd = (e & 1).astype(bool)
        np.multiply(out, base, out=out, where=np.broadcast_to(odd, shape))
        e = e >> 1
        if not e.any():
            break
        base *= base
    if not finite.all():
        out[~np.broadcast_to(finite, shape)] = np.nan
    return out


def _pick(up: np.ndarray, a: ArrayLike, b: ArrayLike) -> ArrayLike:
    """``np.where(up, a, b)``; just ``a`` when ``a`` and ``b`` are the same scalar (a symmetric
    device), which saves a pass over the weights in the closed-form update."""
    if type(a) is type(b) and np.ndim(a) == 0 and a == b:
        return a
    return np.where(up, a, b)


def rounding_uniforms(rng: BatchRNG, shape: tuple[int, ...]) -> np.ndarray:
    """The uniforms of stochastic rounding, ``(R, *shape)``: 32-bit words of ``rng``
    (:meth:`sim.BatchRNG.bits32`) times :math:`2^{-32}`, so values on the grid :math:`k 2^{-32}`
    in [0, 1). One per element and update, the stream every route of the rounded update reads."""
    return rng.bits32(shape) * BITS32_SCALE


def binomial_icdf(u: np.ndarray, n: np.ndarray | int, p: np.ndarray) -> np.ndarray:
    r"""Exact :math:`\mathrm{Binomial}(n, p)` draws by inverse CDF, one uniform ``u`` per draw.

    The draw is :math:`k = \sum_{j=0}^{n-1} [u \ge F(j)]`, the number of CDF values at or below
    ``u`` (the smallest k with :math:`u < F(k)`), so :math:`P(k) = F(k) - F(k-1)` exactly up to the
    floating-point rounding of F. F is built by the recursion
    :math:`P(j+1) = P(j)\,\frac{n-j}{j+1}\frac{p}{1-p}` from :math:`P(0) = (1-p)^n`; the loop runs
    over the count value j (up to the largest count drawn), each pass a few vectorized operations
    on the whole array (P(0) by binary exponentiation). Up to floating-point rounding of F the
    draw never exceeds n. Draws whose :math:`(1-p)^n` underflows (p = 1, or means of several hundred
    pulses) use ``scipy.stats.binom.ppf`` (same inverse CDF).

    With numba (:mod:`sim._kernels`, the ``[fast]`` extra) the same recursion runs per element in a
    compiled loop (each element stops at its first CDF value above ``u``: F never decreases), with
    the same multiplications in the same order, so the same bits
    (``tests/sim/test_binomial_kernel.py``); inputs outside the documented ranges take the numpy
    route.

    Parameters
    ----------
    u
        Uniforms in [0, 1), any shape.
    n
        Numbers of trials (non-negative integers, float or int), broadcasting against ``u``.
    p
        Success probabilities in [0, 1], broadcasting against ``u``.
    """
    u = np.asarray(u, dtype=float)
    p = p_in = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    shape = np.broadcast_shapes(u.shape, p.shape)
    kernel = _kernels.binomial_kernel()
    if kernel is not None:
        k = _binomial_icdf_compiled(kernel, u, n, p, shape)
        if k is not None:
            return k
    q = np.subtract(1.0, p, out=np.empty(p.shape))
    pm = _int_power(q, n, shape)  # P(0); 0 where p = 1 or where it underflows
    lowest = pm.min(initial=1.0) if pm.size else 1.0
    nan = None
    if np.isnan(lowest):  # a NaN p or n (a NaN increment): NaN counts there, the rest as usual
        nan = np.isnan(pm)
        pm[nan] = 1.0
        n = np.where(np.isnan(n), 0.0, n)
        lowest = pm.min(initial=1.0)
    bad = bool(lowest == 0.0)
    if bad:
        zero = pm == 0.0
        p = np.where(zero, 0.0, p)
        q = np.subtract(1.0, p, out=np.empty(p.shape))
        pm[zero] = 1.0
    cdf = pm.copy()
    with np.errstate(divide="ignore"):  # p = 1 with n = 0 only (P(0) = 1, never used)
        ratio = np.divide(p, q, out=q)  # p/(1-p); q is not needed any more
    n_max = float(np.max(n, initial=0.0))
    k = np.zeros(shape, dtype=np.int8 if n_max < 127 else np.int64)
    hit = np.empty(shape, dtype=bool)
    j = 0
    while j < n_max:
        np.greater_equal(u, cdf, out=hit)
        if not hit.any():
            break
        k += hit
        pm *= ratio
        pm *= (n - j) / (j + 1.0)  # P(j+1); 0 from j = n on, so F stays 1 beyond n
        cdf += pm
        j += 1
    k = k.astype(float)
    if bad:
        k[zero] = _binomial_no_p0(np.broadcast_to(u, shape)[zero], np.broadcast_to(n, shape)[zero],
                                  np.broadcast_to(p_in, shape)[zero])
    if nan is not None:
        k[nan] = np.nan
    return k


def _binomial_no_p0(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:func:`binomial_icdf` of the draws (1-D arrays) whose :math:`P(0) = (1-p)^n` is 0: every
    slot fires where p = 1, ``scipy.stats.binom.ppf`` where P(0) underflowed (p < 1, a mean of
    several hundred pulses; scipy is imported only then)."""
    k = n.copy()
    under = p < 1.0
    if under.any():
        from scipy.stats import binom

        k[under] = binom.ppf(u[under], n[under], p[under])
    return k


def _binomial_icdf_compiled(kernel: Any, u: np.ndarray, n: np.ndarray, p: np.ndarray,
                            shape: tuple[int, ...]) -> np.ndarray | None:
    """:func:`binomial_icdf` through the compiled per-element loop
    (:func:`sim._kernels._binomial_icdf_py`), or None for the numpy route: an empty draw, ``n``
    not broadcasting to the draws' shape, an infinite ``n``, or (the kernel's verdict) a ``p``
    outside [0, 1] or an ``n`` negative or not an integer. The draws whose P(0) is 0 or NaN are
    finished here as numpy's route finishes them."""
    size = int(np.prod(shape))
    if size == 0 or n.ndim > len(shape) or np.broadcast_shapes(n.shape, shape) != shape:
        return None
    n_max = float(np.max(np.where(np.isnan(n), 0.0, n), initial=0.0))
    if not np.isfinite(n_max):
        return None
    R = shape[0] if shape else 1
    M = size // R
    if n.size == 1:
        n2 = n.reshape(1, 1)
    elif n.ndim == len(shape) and n.shape[0] == R and n.size == R:  # one per run (BL management)
        n2 = n.reshape(R, 1)
    else:
        n2 = np.broadcast_to(n, shape).reshape(R, M)  # a copy unless n has the full shape
    # (R, M) views where the layout allows (the uniforms are read-only strided views of the
    # generator's buffer; the kernel reads any strides), copies where u or p broadcast
    u2 = (u if u.shape == shape else np.broadcast_to(u, shape)).reshape(R, M)
    p2 = (p if p.shape == shape else np.broadcast_to(p, shape)).reshape(R, M)
    k = np.empty(shape)
    flag = np.empty(size, dtype=np.intp)
    nf = kernel(u2, p2, n2, n_max, k.reshape(R, M), flag)
    if nf < 0:
        return None
    if nf:
        fi = flag[:nf]
        r, i = np.divmod(fi, M)
        nb = n2[np.minimum(r, n2.shape[0] - 1), np.minimum(i, n2.shape[1] - 1)]  # broadcast
        pb, ub = p2[r, i], u2[r, i]
        nan = np.isnan(nb) | np.isnan(pb)  # P(0) NaN (a NaN p with n = 0 has P(0) = 1)
        kb = np.full(nf, np.nan)
        kb[~nan] = _binomial_no_p0(ub[~nan], nb[~nan], pb[~nan])
        k.reshape(-1)[fi] = kb
    return k


@dataclass(frozen=True)
class PulsedDevice(Device):
    r"""Parameters and machinery every pulse-level device shares (aihwkit ``PulsedDevice``).

    Construction draws the per-element constants once (C++ ``rpu_pulsed_device.cpp::populate``):
    bounds :math:`b_{\max}, b_{\min}` and pulse scales :math:`a_\pm` (see the module docstring);
    an increment becomes pulses through :meth:`pulse_counts`; write noise acts on the apparent
    weight only (:meth:`apparent`). Subclasses define the per-pulse rule.

    Parameters
    ----------
    dw_min
        Nominal step (granularity) :math:`\Delta w_{\min} > 0`.
    w_max, w_min
        Nominal bounds, ``w_min < 0 < w_max`` (asymmetric allowed).
    up_down
        Asymmetry :math:`\beta \in (-1, 1)`: ``+beta`` shrinks the down step by ``1 - beta``,
        ``-beta`` the up step (aihwkit C++).
    dw_min_dtod, up_down_dtod, w_max_dtod, w_min_dtod
        Device-to-device spreads (relative, Gaussian), drawn once from ``seed``.
    dw_min_std
        Cycle-to-cycle noise :math:`\sigma_c` of each pulse, relative to its step (multiplicative).
    desired_bl
        ``None``: stochastic rounding of :math:`|d|/\Delta w_{\min}` (no cap). An integer BL:
        stochastic pulse train of at most BL slots (at most BL pulses per update), see
        :meth:`pulse_counts`.
    update_bl_management
        aihwkit ``UpdateParameters.update_bl_management`` (default True, as in aihwkit): with
        ``desired_bl`` set, the train length of each update is
        :math:`\min(\lceil r_{\max}\rceil, BL)` slots, :math:`r_{\max}` the run's largest
        requested change in units of ``dw_min``; False: always BL slots (fixed BL).
    shape
        Per-run weight shape for device-to-device variation (required when any ``*_dtod`` > 0).
    seed
        Construction seed of the variation (aihwkit ``construction_seed``).
    write_noise_std
        aihwkit ``write_noise_std`` (in units of ``dw_min``): the pulses act on the persistent
        weight; the weight the forward pass reads is
        :math:`w + \text{write\_noise\_std}\,\Delta w_{\min}\,\xi`, redrawn at every write
        (:meth:`apparent`), never accumulated. 0 (default) switches it off.

    Notes
    -----
    aihwkit's defaults have non-zero variation; here every variation defaults to 0, so the device
    matches the theory's model unless asked otherwise (as the authors' scripts configure aihwkit).
    """

    dw_min: float = 1e-3
    w_max: float = 1.0
    w_min: float = -1.0
    up_down: float = 0.0
    dw_min_dtod: float = 0.0
    up_down_dtod: float = 0.0
    w_max_dtod: float = 0.0
    w_min_dtod: float = 0.0
    dw_min_std: float = 0.0
    desired_bl: int | None = None
    shape: tuple[int, ...] | None = None
    seed: int = 0
    write_noise_std: float = 0.0
    update_bl_management: bool = True
    name = "pulsed_device"

    b_max: ArrayLike = field(init=False, repr=False, compare=False)
    b_min: ArrayLike = field(init=False, repr=False, compare=False)
    a_up: ArrayLike = field(init=False, repr=False, compare=False)
    a_down: ArrayLike = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check("dw_min", self.dw_min, 0.0, np.inf, lo_open=True, hi_open=True)
        _check("w_max", self.w_max, 0.0, np.inf, lo_open=True, hi_open=True)
        _check("w_min", self.w_min, -np.inf, 0.0, lo_open=True, hi_open=True)
        _check("up_down", self.up_down, -1.0, 1.0, lo_open=True, hi_open=True)
        for nm in ("dw_min_dtod", "up_down_dtod", "w_max_dtod", "w_min_dtod", "dw_min_std"):
            _check(nm, getattr(self, nm), 0.0, 1.0)
        _check("write_noise_std", self.write_noise_std, 0.0, np.inf, hi_open=True)
        self._check_gammas()
        for nm in ("update_bl_management", "mult_noise", "mean_bound_reference"):
            v = getattr(self, nm, False)
            if not isinstance(v, (bool, np.bool_)):
                raise ValueError(f"{nm} must be True or False, got {v!r}")
        if self.desired_bl is not None:
            check_int("desired_bl (or None)", self.desired_bl, minimum=1)
        if self.shape is not None:
            if np.ndim(self.shape) != 1 or isinstance(self.shape, (str, bytes)):
                raise ValueError(f"shape must be None or a tuple of positive integers, got {self.shape!r}")
            for s in self.shape:
                check_int(f"shape entry (shape={self.shape!r})", s, minimum=1)
        dtod = self._dtod_spreads()
        varied = any(v > 0 for v in dtod)
        if varied and self.shape is None:
            raise ValueError("shape (the per-run weight shape, e.g. (D,)) is required when a"
                             f" device-to-device spread is > 0, got shape=None with *_dtod={dtod}")
        check_seed("seed", self.seed)
        if varied:
            shape = tuple(int(s) for s in self.shape)  # type: ignore[union-attr]
            xi = BatchRNG(self.seed, [0], "device_to_device").normal((4, *shape))[0]
            b_max = self.w_max * (1 + self.w_max_dtod * xi[0])
            b_min = self.w_min * (1 + self.w_min_dtod * xi[1])
            g = 1 + self.dw_min_dtod * xi[2]
            r = self.up_down_dtod * xi[3]
        else:
            b_max, b_min, g, r = self.w_max, self.w_min, 1.0, 0.0
        # aihwkit enforce_consistency (rpu_pulsed_device.cpp::populate): swap crossed bounds, then
        # b_max = |b_max|, b_min = -|b_min|; steps are made positive below
        if varied:
            b_max, b_min = np.maximum(b_max, b_min), np.minimum(b_max, b_min)
            b_max, b_min = np.abs(b_max), -np.abs(b_min)
        a_up = np.abs((g + r + min(self.up_down, 0.0)) * self.dw_min)
        a_down = np.abs((g - r - max(self.up_down, 0.0)) * self.dw_min)
        for nm, v in (("b_max", b_max), ("b_min", b_min), ("a_up", a_up), ("a_down", a_down)):
            object.__setattr__(self, nm, v if np.ndim(v) else float(v))
        self._check_step_size()
        self._precompute()

    # -- hooks for subclasses ---------------------------------------------------------------------
    def _dtod_spreads(self) -> tuple[float, ...]:
        return (self.dw_min_dtod, self.up_down_dtod, self.w_max_dtod, self.w_min_dtod)

    def _check_gammas(self) -> None:
        """Validate the subclass's own parameters (before the per-element draw)."""

    def _check_step_size(self) -> None:
        # nominal parameters only: a drawn element may have a step larger than its range (aihwkit
        # keeps it; the pulses then clip at the bound)
        if self.dw_min >= self.w_max - self.w_min:
            raise ValueError("dw_min must be smaller than the range w_max - w_min (a step must not jump"
                             f" across it); got dw_min={self.dw_min!r}, w_max={self.w_max!r},"
                             f" w_min={self.w_min!r}")

    def _precompute(self) -> None:
        """Derived per-element constants (after the draw)."""

    # -- shared interface ---------------------------------------------------------------------------
    @property
    def tau(self) -> float:  # type: ignore[override]
        """Tightest range radius ``min(min b_max, min |b_min|)`` (for the saturation metric)."""
        return float(min(np.min(self.b_max), np.min(-np.asarray(self.b_min))))

    def clip(self, w: np.ndarray) -> np.ndarray:
        return np.clip(w, self.b_min, self.b_max)

    def check_weights(self, w: np.ndarray, what: str = "W0") -> None:
        w = np.asarray(w, dtype=float)
        if self.shape is not None and tuple(w.shape[1:]) != tuple(self.shape):
            raise ValueError(f"{what} must have shape (R, *{tuple(self.shape)}) for this device"
                             f" (its device-to-device variation), got {w.shape}")
        lo, hi = self._read_bounds()
        bad = (w < lo) | (w > hi)
        if np.any(bad):
            i = np.unravel_index(np.argmax(bad), bad.shape)
            raise ValueError(f"{what} must lie in the device range [b_min, b_max] (read coordinates);"
                             f" entry {tuple(map(int, i))} is {float(w[i]):.6g} outside ({self!r})")

    def _read_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        return self.b_min, self.b_max

    def bit_length(self, increment: np.ndarray) -> np.ndarray | int | None:
        r"""Number of slots of the pulse train per run (``None`` without ``desired_bl``).

        With ``update_bl_management`` (aihwkit's default; C++
        ``rpu_pulsed_meta_parameter.cpp::performUpdateManagement``) the train of run r has
        :math:`BL_r = \min(\lceil r_{\max} \rceil, BL)` slots, :math:`r_{\max}` the run's largest
        :math:`|d|/\Delta w_{\min}` (at least 1 slot: aihwkit floors the abs-maxima at
        :math:`\Delta w_{\min}^2`); returned with shape ``(R, 1, ..., 1)``. Without it: ``BL``.
        """
        if self.desired_bl is None:
            return None
        return self._bit_length(np.abs(increment) / self.dw_min)

    def _bit_length(self, x: np.ndarray) -> np.ndarray | int:
        bl = int(self.desired_bl)  # type: ignore[arg-type]
        if not self.update_bl_management:
            return bl
        r_max = x.max(axis=tuple(range(1, x.ndim)), keepdims=True) if x.ndim > 1 else x
        return np.minimum(np.maximum(np.ceil(r_max), 1.0), bl)

    def pulse_counts(self, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        r"""Number of pulses per element (float array of integers).

        * ``desired_bl=None``: stochastic rounding,
          :math:`n = \lfloor r \rfloor + \mathrm{Bernoulli}(r - \lfloor r \rfloor)`,
          :math:`r = |d|/\Delta w_{\min}`;
        * ``desired_bl`` set: a stochastic pulse train of :math:`L` slots (:meth:`bit_length`:
          :math:`L = \min(\lceil r_{\max}\rceil, BL)` with ``update_bl_management``, else BL),
          each firing with probability :math:`\min(1, r/L)`:
          :math:`n \sim \mathrm{Binomial}(L, \min(1, r/L))`, so :math:`E n = r` and
          :math:`\mathrm{Var}\, n = r(1 - r/L)` until truncation at L pulses. This is the marginal
          count of one element of aihwkit's ``STOCHASTIC_COMPRESSED`` trains with update
          management (row and column probabilities :math:`p_j q_i = r_{ij}/L`; C++
          ``sparse_bit_line_maker.cpp``); elementwise increments carry no row/column correlation
          (:meth:`PulsedLinearStep.pulsed_update_outer` has it). With BL management and
          :math:`r_{\max} \le 1` the count is exactly the stochastic rounding of r
          (``pulse.bl_management_moments``).

        The binomial is drawn by inverse CDF from **one uniform per element**
        (:func:`binomial_icdf`), so the draws never depend on other runs' data. Stochastic rounding
        compares with one 32-bit uniform per element (:meth:`sim.BatchRNG.bits32` times
        :math:`2^{-32}`: half the generator work of a float64 uniform; its grid of
        :math:`2^{-32}` biases a rounding probability by less than :math:`2^{-32}`).
        """
        x = np.abs(increment)
        x /= self.dw_min
        shape = increment.shape[1:]
        if self.desired_bl is None:
            n = np.floor(x)
            n += rounding_uniforms(rng, shape) < np.subtract(x, n, out=x)  # x - n: the fraction
            return n
        bl = self._bit_length(x)
        x /= bl
        return binomial_icdf(rng.uniform(shape), bl, np.minimum(x, 1.0, out=x))

    def apparent(self, w: np.ndarray, rng: BatchRNG, *, previous: np.ndarray | None = None,
                 before: np.ndarray | None = None) -> np.ndarray:
        r"""The weight the forward pass reads (aihwkit ``w_apparent``) after a write.

        aihwkit (``update_once_*`` in ``rpu_linearstep_device.cpp`` and siblings) redraws an
        element's apparent weight, persistent + :math:`\text{write\_noise\_std}\,\Delta w_{\min}
        \,\xi` (C++ ``getScaledWriteNoise``; not clipped), each time a pulse **touches** it; an
        untouched element keeps its previous apparent weight. Here ``before`` is the persistent
        weight before the write and ``previous`` the apparent weight before it (``None``: equal to
        ``before``, no write noise yet): the elements whose persistent weight changed are redrawn,
        the others keep ``previous``. Without ``before`` every element is redrawn. Returns ``w``
        itself when write noise is off. The optimizers pass ``rng.substream("write_noise")``, so
        these draws (one normal per element, used or not) never shift the pulse draws.

        Deviation: a pulse that leaves the persistent weight exactly unchanged (only possible at a
        hard bound) counts as untouched here; aihwkit would redraw that element.
        """
        if self.write_noise_std == 0:
            return w
        fresh = w + (self.write_noise_std * self.dw_min) * rng.normal(np.shape(w)[1:])
        if before is None:
            return fresh
        old = before if previous is None else previous
        return np.where(w != before, fresh, old)


@dataclass(frozen=True)
class PulsedLinearStep(PulsedDevice):
    r"""Linear-step device at pulse level (aihwkit ``LinearStepDevice`` semantics, multiplicative
    noise); soft bounds are :math:`\gamma_\pm = 1` (:class:`PulsedSoftBounds`).

    One up pulse :math:`w \leftarrow w + a_+(1 - \gamma_+ w/b_{\max})(1 + \sigma_c\xi)`, one down
    pulse :math:`w \leftarrow w - a_-(1 - \gamma_- w/b_{\min})(1 + \sigma_c\xi)`, then clip.
    Writing :math:`T = b/\gamma` (the step's zero, at or beyond the bound for
    :math:`\gamma \le 1`) and :math:`\rho = a\gamma/|b|`, :math:`w - T` is multiplied by
    :math:`1 - \rho(1 + \sigma_c \xi)` per pulse, so the soft-bounds closed form applies with
    :math:`T` in place of :math:`b` (clipping once at the end is exact without noise, because the map
    is monotone; with noise it is the fast path's approximation).

    Parameters
    ----------
    gamma_up, gamma_down
        Slopes of the step's decrease toward the bounds, in (0, 1] (aihwkit ``gamma_up/down``).
    gamma_up_dtod, gamma_down_dtod
        Device-to-device spread of the slopes, **additive** as in the C++ ``populate``
        (``rpu_linearstep_device.cpp``): :math:`\gamma'_\pm = |\gamma_\pm +
        \text{gamma\_dtod}\,\xi|` per element (aihwkit's ``allow_increasing=False`` takes the absolute
        value), drawn once from ``seed``. aihwkit's default is 0.05; here 0 (as every variation).
    mean_bound_reference
        aihwkit ``mean_bound_reference`` (default True, as in ``LinearStepDevice``): the slope is
        :math:`-\gamma' a/w_{\max}` with the **nominal** bound, so the step's zero is
        :math:`T_+ = w_{\max}/\gamma'_+` (:math:`T_- = w_{\min}/\gamma'_-`) whatever the element's
        drawn bounds; False: :math:`T_+ = b_{\max}/\gamma'_+` with the element's own bound
        (aihwkit's ``SoftBoundsDevice``, which sets it False). The clipping is at the drawn bounds
        either way.
    mult_noise
        aihwkit ``mult_noise`` (True for ``LinearStepDevice`` and ``SoftBoundsDevice``, **False for
        SoftBoundsReferenceDevice**): multiplicative cycle-to-cycle noise,
        :math:`a(1 - w/T)(1 + \sigma_c\xi)`, or additive, :math:`a(1 - w/T) + a\sigma_c\xi` (C++
        ``update_once_mult`` / ``update_once_add``). Additive noise sums exactly: n pulses give the
        noiseless closed form plus a normal of variance
        :math:`a^2\sigma_c^2\sum_{i<n}(1-\rho)^{2i}` (before clipping).
    subtract_symmetry_point
        Differential read against a reference :math:`r = w^*` (aihwkit
        ``SoftBoundsReferenceDevice``): every interface then works on the read weight
        :math:`w - r`, whose symmetric point is 0 (zero-shifting); the physical conductance is
        read + r. The bounds of the read weight are :math:`b - r`.

    The shared parameters (``dw_min``, bounds, ``up_down``, variations, ``dw_min_std``,
    ``desired_bl``, ``shape``, ``seed``, ``write_noise_std``) are those of :class:`PulsedDevice`.
    """

    gamma_up: float = 1.0
    gamma_down: float = 1.0
    subtract_symmetry_point: bool = False
    gamma_up_dtod: float = 0.0
    gamma_down_dtod: float = 0.0
    mean_bound_reference: bool = True
    mult_noise: bool = True
    if TYPE_CHECKING:  # derived in __post_init__ (object.__setattr__); declared for the type checker
        _ref: Any = field(init=False)
        _lo: Any = field(init=False)
        _hi: Any = field(init=False)
        _tp_up: Any = field(init=False)
        _tp_down: Any = field(init=False)
        _t_up: Any = field(init=False)
        _t_down: Any = field(init=False)
        _log_up: Any = field(init=False)
        _log_down: Any = field(init=False)
        _log2_up: Any = field(init=False)
        _log2_down: Any = field(init=False)
        _addvar_up: Any = field(init=False)
        _addvar_down: Any = field(init=False)
        _sym_bound: bool = field(init=False)
        _dw_min_below: float = field(init=False)
        _scan_consts: tuple[float, float, float, float, float, float] = field(init=False)
    name = "pulsed_linear_step"

    def _check_step_size(self) -> None:
        # nominal parameters only (a drawn element whose bound falls below its step is kept, as in
        # aihwkit: its pulses clip at the bound)
        if self.dw_min >= self.w_max or self.dw_min >= -self.w_min:
            raise ValueError("dw_min must be smaller than the bounds (a step must not jump across"
                             f" the range); got dw_min={self.dw_min!r}, w_max={self.w_max!r},"
                             f" w_min={self.w_min!r}")

    def _dtod_spreads(self) -> tuple[float, ...]:
        return (*super()._dtod_spreads(), self.gamma_up_dtod, self.gamma_down_dtod)

    def _read_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        return self._lo, self._hi

    def _check_gammas(self) -> None:
        _check("gamma_up", self.gamma_up, 0.0, 1.0, lo_open=True)
        _check("gamma_down", self.gamma_down, 0.0, 1.0, lo_open=True)
        _check("gamma_up_dtod", self.gamma_up_dtod, 0.0, 1.0)
        _check("gamma_down_dtod", self.gamma_down_dtod, 0.0, 1.0)

    def _gammas(self) -> tuple[ArrayLike, ArrayLike]:
        """Per-element slopes gamma' = |gamma + gamma_dtod xi| (C++ populate; stream
        ``"device_to_device_gamma"``, so the other draws do not move)."""
        if self.gamma_up_dtod == 0 and self.gamma_down_dtod == 0:
            return self.gamma_up, self.gamma_down
        shape = tuple(int(s) for s in self.shape)  # type: ignore[union-attr]
        xi = BatchRNG(self.seed, [0], "device_to_device_gamma").normal((2, *shape))[0]
        # floor at 1e-12: a zero slope is a constant step (T at infinity); the update form used
        # below stays exact in floating point for a huge T
        return (np.maximum(np.abs(self.gamma_up + self.gamma_up_dtod * xi[0]), 1e-12),
                np.maximum(np.abs(self.gamma_down + self.gamma_down_dtod * xi[1]), 1e-12))

    def _precompute(self) -> None:
        # the step's zero T = w_ref/gamma' (physical; w_ref the nominal bound with
        # mean_bound_reference, else the element's), reference r (read weight = conductance - r),
        # T - r in read coordinates; per-pulse contraction 1 - rho of w - T, rho = a/|T|, as logs
        set_ = functools.partial(object.__setattr__, self)
        g_up, g_down = self._gammas()
        ref_up = self.w_max if self.mean_bound_reference else self.b_max
        ref_down = self.w_min if self.mean_bound_reference else self.b_min
        set_("_tp_up", ref_up / g_up)
        set_("_tp_down", ref_down / g_down)
        set_("_ref", self._physical_symmetric_point() if self.subtract_symmetry_point else 0.0)
        set_("_lo", self.b_min - self._ref)
        set_("_hi", self.b_max - self._ref)
        set_("_t_up", self._tp_up - self._ref)
        set_("_t_down", self._tp_down - self._ref)
        # rho >= 1 (an element whose drawn bound is below its step): one pulse reaches the bound;
        # capped just below 1 so the closed form stays finite (it then lands within 1e-12 of T)
        rho_up = np.minimum(self.a_up / self._tp_up, 1 - 1e-12)
        rho_down = np.minimum(self.a_down / -np.asarray(self._tp_down), 1 - 1e-12)
        set_("_log_up", np.log1p(-rho_up))
        set_("_log_down", np.log1p(-rho_down))
        # multiplicative noise: log of the per-pulse second moment of the factor,
        # E(1 - rho(1 + sigma_c xi))^2 = (1 - rho)^2 + rho^2 sigma_c^2
        for nm, lg in (("_log2_up", self._log_up), ("_log2_down", self._log_down)):
            set_(nm, np.log(np.exp(2 * lg) + np.expm1(lg) ** 2 * self.dw_min_std**2))
        # additive noise: Var = a^2 sigma_c^2 sum_{i<n} (1-rho)^{2i} = _addvar * (-expm1(2 n log))
        set_("_addvar_up", (self.a_up * self.dw_min_std) ** 2 / -np.expm1(2 * self._log_up))
        set_("_addvar_down", (self.a_down * self.dw_min_std) ** 2 / -np.expm1(2 * self._log_down))
        # a symmetric device without variation (scalar constants, T_- = -T_+ < 0, the same
        # per-pulse logs both ways): the bound an update heads to is copysign(T_+, d + 0), equal
        # to where(d >= 0, T_+, T_-) for every non-NaN d (d = -0 included: -0 + 0 = +0), one
        # cheap pass instead of np.where, and each log is one scalar (pulsed_update)
        pairs = ((self._t_up, -np.asarray(self._t_down)), (self._log_up, self._log_down),
                 (self._log2_up, self._log2_down), (self._addvar_up, self._addvar_down))
        # the candidate test of _rounded_update: u * dw_min (1 - 1e-9) < |d| holds whenever the
        # rounded |d| / dw_min exceeds u (relative rounding errors are ~1e-16)
        set_("_dw_min_below", self.dw_min * (1 - 1e-9))
        set_("_scan_consts", (self._dw_min_below, float(self.dw_min), float(np.max(self._t_up)),
                              float(np.max(self._log_up)), float(np.min(self._lo)),
                              float(np.max(self._hi))))  # used only when _sym_bound (all scalar)
        set_("_sym_bound", bool(all(np.ndim(a) == 0 and np.ndim(b) == 0 and float(a) == float(b)
                                    for a, b in pairs)
                                and 0 < float(self._t_up) < np.inf))

    # -- mean-field interface -------------------------------------------------------------------
    @property
    def tau(self) -> float:  # type: ignore[override]
        """Tightest range radius of the read weight, ``min(min hi, min |lo|)`` with ``[lo, hi] =
        [b_min - r, b_max - r]`` (for the saturation metric)."""
        return float(min(np.min(self._hi), np.min(-np.asarray(self._lo))))

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return (self.a_up / self.dw_min) * (1 - (w + self._ref) / self._tp_up)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return (self.a_down / self.dw_min) * (1 - (w + self._ref) / self._tp_down)

    def symmetric_point(self) -> ArrayLike:
        """Root of G in read coordinates (0 with ``subtract_symmetry_point``)."""
        return self._physical_symmetric_point() - self._ref

    def _physical_symmetric_point(self) -> ArrayLike:
        r"""Root of G: :math:`w^* = (a_+ - a_-)/(a_+/T_+ - a_-/T_-)`, :math:`T_\pm` the steps'
        zeros (:math:`b/\gamma`; ``pulse.symmetric_point`` for :math:`\gamma = 1`)."""
        return (self.a_up - self.a_down) / (self.a_up / self._tp_up - self.a_down / self._tp_down)

    def clip(self, w: np.ndarray) -> np.ndarray:
        return np.clip(w, self._lo, self._hi)

    def update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        r"""Mean-field update :math:`w + d\,q_\pm(w)`, clipped to the bounds."""
        up = increment >= 0
        step = np.where(up, self.q_plus(w), self.q_minus(w))
        return self.clip(w + increment * step)

    # -- pulse level ----------------------------------------------------------------------------
    def pulsed_update(self, w: np.ndarray, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        r"""Apply ``increment`` as same-sign pulses, closed form (fast path).

        :math:`w' = B + (w - B) P`, :math:`P = (1-\rho)^n` (noiseless) or a normal with the exact
        mean and variance of :math:`\prod_i(1 - \rho(1+\sigma_c\xi_i))`; then clip.
        """
        increment = np.asarray(increment, dtype=float)
        own_law = type(self).apply_pulses is not PulsedLinearStep.apply_pulses
        if (not own_law and self._sym_bound and self.desired_bl is None and self.dw_min_std == 0
                and increment.ndim >= 1 and np.shape(w) == increment.shape):
            return self._rounded_update(np.asarray(w, dtype=float), increment, rng)
        n = self.pulse_counts(increment, rng)
        if own_law:  # a subclass's own law
            return self.apply_pulses(w, n, increment >= 0, rng)
        if (self.dw_min_std > 0 and not self.mult_noise and increment.ndim >= 1
                and np.shape(w) == increment.shape):
            kernels = _kernels.noisy_kernels()
            consts = self._noisy_consts(increment.shape[1:]) if kernels is not None else None
            if kernels is not None and consts is not None:
                return self._noisy_compiled(kernels, consts, np.asarray(w, dtype=float), n,
                                            increment, rng)
        if self._sym_bound and self.desired_bl is None:
            # stochastic rounding: a NaN increment has n = NaN, so its result is NaN whichever
            # bound is taken; every other increment gets where(d >= 0, T_+, T_-) (see _precompute)
            bound = np.add(increment, 0.0)
            np.copysign(self._t_up, bound, out=bound)
            return self._closed_form(w, n, None, bound, rng)
        up = increment >= 0
        return self._closed_form(w, n, up, None, rng)

    def _noisy_consts(self, shape: tuple[int, ...]) -> np.ndarray | None:
        r"""The constants of :func:`sim._kernels._noisy_scan_py`, ``(8, 1 or M)``: :math:`T_\pm`,
        the per-pulse logs, the additive-noise factors, lo, hi (each a scalar or one value per
        element of a tile of ``shape``, ``M = prod(shape)``); None when one of them has another
        shape (the numpy route broadcasts it). Computed once per device and tile shape."""
        cache = self.__dict__.setdefault("_noisy_consts_cache", {})
        if shape not in cache:
            parts = (self._t_up, self._t_down, self._log_up, self._log_down, self._addvar_up,
                     self._addvar_down, self._lo, self._hi)
            if all(np.ndim(a) == 0 for a in parts):
                cache[shape] = np.array([float(a) for a in parts]).reshape(8, 1)
            elif all(np.ndim(a) == 0 or np.shape(a) == shape for a in parts):
                size = int(np.prod(shape))
                cache[shape] = np.stack([np.broadcast_to(np.asarray(a, dtype=float), shape)
                                         .reshape(size) for a in parts])
            else:
                cache[shape] = None
        return cache[shape]

    def _noisy_compiled(self, kernels: tuple[Any, Any], consts: np.ndarray, w: np.ndarray,
                        n: np.ndarray, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        """:meth:`_closed_form` with additive cycle-to-cycle noise (``mult_noise=False``, the paper
        presets) in two compiled loops around numpy's ``expm1``
        (:func:`sim._kernels._noisy_scan_py`): the first finishes the elements without a pulse
        (``n log = +-0``, where ``expm1`` is exact) and lists the others, numpy takes ``expm1`` of
        ``n log`` and ``2 n log`` on the listed ones only, the second loop finishes them. The
        bound is ``where(d >= 0, T_+, T_-)`` as the dense route picks it (a symmetric device
        with stochastic rounding takes ``copysign(T_+, d + 0)`` there, which differs only at a
        NaN increment, whose count and result are NaN either way). Same operations in the same
        order as :meth:`_closed_form`, so the same numbers (``tests/sim/test_pulsed_kernels.py``).
        """
        noisy_scan, noisy_apply = kernels
        R = w.shape[0]
        z = rng.normal(w.shape[1:]).reshape(R, -1)  # a view of the generator's buffer
        w2 = np.ascontiguousarray(w).reshape(R, -1)
        d2 = increment.reshape(R, -1)
        out = np.empty(w.shape)
        out2 = out.reshape(R, -1)
        idx = np.empty(w2.size, dtype=np.intp)
        nl = np.empty(w2.size)
        k = noisy_scan(w2, n.reshape(R, -1), d2, z, out2, consts, idx, nl)
        nlk = nl[:k]
        e2 = np.expm1(np.add(nlk, nlk), out=np.empty(k))
        e = np.expm1(nlk, out=nlk)
        noisy_apply(w2, d2, z, out2, consts, idx[:k], e, e2)
        return out

    def _rounded_update(self, w: np.ndarray, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        """:meth:`pulsed_update` of a noiseless symmetric device with stochastic rounding, computed
        on the elements that may receive a pulse only (the hot path of pulse-level networks).

        With one uniform ``u`` per element, an element gets ``n = 0`` pulses exactly when
        ``u >= |d|/dw_min``, and then the closed form leaves it at ``w + (w - T) expm1(0) = w``. The
        candidates ``|d| > u * dw_min (1 - 1e-9)`` (no division; NaN increments included) are a
        superset of the pulsed elements, so writing the closed form on them and the clipped weight
        elsewhere gives the dense formula's numbers, from the same uniforms, operation for operation
        (a weight of exactly -0.0 outside the candidates keeps its sign). With numba
        (:mod:`sim._kernels`) the listing and the writing are two compiled loops around numpy's
        ``expm1``; without it, numpy passes, dense ones when over a quarter of the elements are
        candidates (small problems, large steps). ``tests/sim/test_pulsed_kernels.py`` holds every
        route to the dense formula's numbers.
        """
        u = rng.bits32(increment.shape[1:])  # the words of rounding_uniforms; * 2^-32 where used
        hint = self.__dict__.get("_dense_hint")  # (shape, dense calls left before a re-check)
        if hint is not None and hint[0] == increment.shape and hint[1] > 0:  # mostly pulsed lately
            object.__setattr__(self, "_dense_hint", (hint[0], hint[1] - 1))
            return self._dense_rounded(w, increment, u * BITS32_SCALE, np.abs(increment), rng,
                                       check=False)
        kernels = _kernels.pulse_kernels()
        if kernels is not None:
            pulse_scan, pulse_apply = kernels
            R = w.shape[0]
            w2 = np.ascontiguousarray(w).reshape(R, -1)
            out = np.empty(w.shape)
            idx = np.empty(w2.size, dtype=np.intp)
            nl, tb = np.empty(w2.size), np.empty(w2.size)
            below, dw_min, t, log, lo, hi = self._scan_consts
            k = pulse_scan(w2, increment.reshape(R, -1), u.reshape(R, -1), BITS32_SCALE,
                           out.reshape(R, -1), below, dw_min, t, log, lo, hi, idx, nl, tb)
            if k >= 0:
                e = np.expm1(nl[:k], out=nl[:k])
                pulse_apply(w2.reshape(-1), out.reshape(-1), idx[:k], e, tb[:k], lo, hi)
                return out
            return self._dense_rounded(w, increment, u * BITS32_SCALE, np.abs(increment),
                                       rng)  # mostly pulsed
        u = u * BITS32_SCALE
        ad = np.abs(increment)
        cand = np.greater_equal(np.multiply(u, self._dw_min_below), ad)
        np.logical_not(cand, out=cand)  # >= then not: a NaN increment is a candidate
        if 4 * np.count_nonzero(cand) > cand.size:  # over a quarter are candidates: dense passes
            return self._dense_rounded(w, increment, u, ad, rng)
        idx = np.flatnonzero(cand)
        out = _clip_ufunc(w, self._lo, self._hi, out=np.empty(w.shape))  # C order: flat indices
        x = np.take(ad, idx)
        x /= self.dw_min
        frac, n = np.modf(x, out=(x, np.empty_like(x)))  # x >= 0: modf = (x - floor x, floor x)
        n += np.take(u, idx) < frac
        ws = np.take(w, idx)
        # a candidate's increment is nonzero or NaN, so the sign of d is that of d + 0
        bound = np.copysign(self._t_up, np.take(increment, idx))
        n *= self._log_up
        np.expm1(n, out=n)
        np.subtract(ws, bound, out=bound)
        bound *= n
        bound += ws
        out.reshape(-1)[idx] = _clip_ufunc(bound, self._lo, self._hi, out=bound)
        return out

    def _dense_rounded(self, w: np.ndarray, increment: np.ndarray, u: np.ndarray, ad: np.ndarray,
                       rng: BatchRNG, check: bool = True) -> np.ndarray:
        """The dense formula of :meth:`_rounded_update` from the uniforms ``u`` and ``ad = |d|``
        (overwritten): pulse counts and the closed form on every element. With ``check`` it
        remembers whether most elements were pulsed (``_dense_hint``, a speed hint only: every
        route gives the same numbers), so that a problem that stays dense skips the candidate
        listing for the next 32 calls of that shape."""
        ad /= self.dw_min
        n = np.floor(ad)
        n += u < np.subtract(ad, n, out=ad)
        if check:
            dense = 4 * np.count_nonzero(n) > n.size
            object.__setattr__(self, "_dense_hint", (increment.shape, 32) if dense else None)
        bound = np.add(increment, 0.0)
        np.copysign(self._t_up, bound, out=bound)
        return self._closed_form(w, n, None, bound, rng)

    def apply_pulses(self, w: np.ndarray, n: np.ndarray, up: np.ndarray,
                     rng: BatchRNG) -> np.ndarray:
        r"""Apply ``n`` pulses per element, up where ``up`` else down (closed form, see
        :meth:`pulsed_update`); ``n`` and ``up`` broadcast against ``w`` of shape ``(R, ...)``.

        Written as :math:`w' = w + (T - w)\,g`, :math:`g = 1 - (1-\rho)^n` (``-expm1``), which
        stays exact in floating point when the step's zero T is far away (small slope).
        """
        return self._closed_form(w, np.array(n, dtype=float), up, None, rng)

    def _closed_form(self, w: np.ndarray, n: np.ndarray, up: np.ndarray | None,
                     bound: np.ndarray | None, rng: BatchRNG) -> np.ndarray:
        """:meth:`apply_pulses` on counts ``n`` it may overwrite (a fresh float array), with the
        bound per element picked from ``up`` or, when ``up`` is None (a symmetric device), given as
        ``bound`` (overwritten too). Every pass is
        in place where numpy allows (the hot path of pulse-level runs); the numbers are those of
        the plain formula, operation for operation."""
        w = np.asarray(w, dtype=float)
        if up is None:  # the symmetric device (bound given): one log per direction, the same scalar
            bound = cast(np.ndarray, bound)
            log, log2, addvar = self._log_up, self._log2_up, self._addvar_up
        else:
            bound = np.where(up, self._t_up, self._t_down)
            log = _pick(up, self._log_up, self._log_down)
            log2 = _pick(up, self._log2_up, self._log2_down)
            addvar = _pick(up, self._addvar_up, self._addvar_down)
        noisy = self.dw_min_std > 0
        nl = np.multiply(n, log)
        sd = None
        if noisy and self.mult_noise:
            # the factor 1 - g: mean exp(n log), second moment exp(n log2)
            sd = np.multiply(n, log2, out=n) if n.shape == nl.shape else n * log2
            np.exp(sd, out=sd)
            two = np.add(nl, nl)  # 2 n log, exactly
            sd -= np.exp(two, out=two)
            np.maximum(sd, 0.0, out=sd)
            np.sqrt(sd, out=sd)
            sd *= rng.normal(w.shape[1:])
        elif noisy:
            var = np.add(nl, nl)  # 2 n log, exactly
            np.expm1(var, out=var)
            np.negative(var, out=var)
            var = np.multiply(addvar, var, out=var) if np.ndim(addvar) < var.ndim else addvar * var
        # e = -g = expm1(n log): w' = w + (T - w) g is computed as w + (w - T) e, the same numbers
        # (both factors negated exactly), one pass less
        e = np.expm1(nl, out=nl)
        if sd is not None:
            e += sd  # g - sd = -(e + sd)
        out = np.subtract(w, bound, out=bound) if bound.shape == w.shape else w - bound
        out *= e
        out += w
        if noisy and not self.mult_noise:
            np.sqrt(var, out=var)
            var *= rng.normal(w.shape[1:])
            out += var
        return _clip_ufunc(out, self._lo, self._hi, out=out)

    def pulsed_update_outer(self, w: np.ndarray, x: np.ndarray, d: np.ndarray, lr: float,
                            rng: BatchRNG, *, desired_bl: int = 31, update_management: bool = True,
                            update_bl_management: bool = True) -> np.ndarray:
        r"""Rank-1 update :math:`W \leftarrow W - \mathrm{lr}\, d x^\top` with aihwkit's stochastic
        pulse trains (``pulse_type=STOCHASTIC_COMPRESSED``; anchors.md 1.5; C++
        ``rpu_pulsed_meta_parameter.cpp::performUpdateManagement`` and
        ``sparse_bit_line_maker.cpp::makeCounts``).

        Row :math:`j` fires in each of :math:`L` slots with probability :math:`p_j = \min(1, B|x_j|)`,
        column :math:`i` with :math:`q_i = \min(1, A|d_i|)`; coincidences are pulses of sign
        :math:`-\mathrm{sign}(d_i x_j)`, so :math:`E[n_{ij}] = L p_j q_i`. With
        :math:`x_m = \max(\max_j |x_j|, \Delta w_{\min}^2)`, :math:`d_m` likewise (aihwkit's floor):

        * ``update_bl_management`` (aihwkit default): :math:`L = \min(\lceil \mathrm{lr}\,x_m d_m/
          \Delta w_{\min}\rceil, BL)` per run (BL = ``desired_bl`` is then the *maximum* length),
          and update management is switched on with it (as aihwkit does);
        * otherwise :math:`L = BL` (aihwkit ``fixed_bl``);
        * :math:`A = B = \sqrt{\mathrm{lr}/(\Delta w_{\min} L)}`; ``update_management`` rescales
          :math:`A \to A\sqrt{x_m/d_m}`, :math:`B \to B\sqrt{d_m/x_m}` so both streams saturate
          together.

        So :math:`E[n_{ij}]\Delta w_{\min} = \mathrm{lr}|x_j d_i|` until a probability clips at 1
        (truncation), and with BL management the largest element's count is
        :math:`\mathrm{Binomial}(L, r_{\max}/L)`, :math:`L = \lceil r_{\max} \rceil`: for
        :math:`r_{\max} \le 1` a stochastic rounding (``pulse.update_bl_management``). Counts are
        correlated along rows and columns (shared bit streams), as in aihwkit. Every run draws
        ``desired_bl`` slots per row and column and uses its first L (draw sizes never depend on
        the data). The pulses are then applied in closed form (:meth:`apply_pulses`).

        Parameters
        ----------
        w
            Weights ``(R, out, in)``.
        x, d
            Inputs ``(R, in)`` and errors ``(R, out)``.
        lr
            Learning rate (> 0).
        rng
            Per-run random streams.
        desired_bl
            Bit length BL (aihwkit ``desired_bl``, default 31; the maximum length with BL
            management).
        update_management, update_bl_management
            aihwkit ``update_management`` and ``update_bl_management`` (both default True, as in
            aihwkit's ``UpdateParameters``).
        """
        w = np.asarray(w, dtype=float)
        x = np.asarray(x, dtype=float)
        d = np.asarray(d, dtype=float)
        if w.ndim != 3 or x.shape != (w.shape[0], w.shape[2]) or d.shape != w.shape[:2]:
            raise ValueError(f"need w (R, out, in), x (R, in), d (R, out); got {w.shape}, {x.shape},"
                             f" {d.shape}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if int(desired_bl) != desired_bl or desired_bl < 1:
            raise ValueError(f"desired_bl must be a positive integer, got {desired_bl!r}")
        bl = int(desired_bl)
        ax, ad = np.abs(x), np.abs(d)
        reg = self.dw_min**2
        x_max = np.maximum(ax.max(axis=1, keepdims=True), reg)
        d_max = np.maximum(ad.max(axis=1, keepdims=True), reg)
        if update_bl_management:
            L = np.minimum(np.ceil(lr * x_max * d_max / self.dw_min), bl)  # (R, 1)
        else:
            L = np.full((w.shape[0], 1), float(bl))
        A = np.sqrt(lr / (self.dw_min * L))
        B = A.copy()
        if update_management or update_bl_management:
            A, B = A * np.sqrt(x_max / d_max), B * np.sqrt(d_max / x_max)
        p = np.minimum(B * ax, 1.0)
        q = np.minimum(A * ad, 1.0)
        live = (np.arange(bl) < L)[:, None, :]  # (R, 1, BL): slots beyond the run's L are off
        rows = ((rng.uniform((x.shape[1], bl)) < p[..., None]) & live).astype(float)  # (R, in, BL)
        cols = ((rng.uniform((d.shape[1], bl)) < q[..., None]) & live).astype(float)  # (R, out, BL)
        n = cols @ rows.transpose(0, 2, 1)  # coincidences, (R, out, in)
        up = (d[:, :, None] * x[:, None, :]) <= 0  # increment -lr d x^T >= 0
        return self.apply_pulses(w, n, up, rng)

    def pulsed_update_sequential(self, w: np.ndarray, increment: np.ndarray,
                                 rng: BatchRNG) -> np.ndarray:
        """Reference: the same pulse counts, applied one pulse at a time with per-pulse noise and
        clipping (a loop over pulses; for tests, not for production)."""
        w = np.array(w, dtype=float)
        increment = np.asarray(increment, dtype=float)
        n = self.pulse_counts(increment, rng)
        up = increment >= 0
        a = np.where(up, self.a_up, -np.asarray(self.a_down))
        zero = np.where(up, self._tp_up, self._tp_down)  # physical zero of the step, b/gamma
        n_run = n.reshape(n.shape[0], -1).max(axis=1, initial=0)  # each run's own largest count
        for k in range(int(n.max(initial=0))):
            active = n > k
            xi: float | np.ndarray = 0.0
            if self.dw_min_std:  # one normal per element for the runs still pulsing (ragged)
                xi = rng.normal_ragged((n_run > k).astype(np.int64), increment.shape[1:])[:, 0]
            if self.mult_noise:  # C++ update_once_mult: a (1 - w/T)(1 + sigma xi)
                step = a * (1 - (w + self._ref) / zero) * (1 + self.dw_min_std * xi)
            else:  # update_once_add: a (1 - w/T) + a sigma xi
                step = a * (1 - (w + self._ref) / zero + self.dw_min_std * xi)
            w = np.where(active, self.clip(w + step), w)
        return w

    def flow_update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        r"""The :math:`\Delta w_{\min} \to 0` limit of :meth:`pulsed_update` (the pulse flow,
        ``pulse.mean_field_limit``): :math:`T + (w - T)\exp(-|d|\,(a/\Delta w_{\min})\gamma/|b|)`,
        clipped. It differs from the mean-field :meth:`update` by :math:`O(d^2)`."""
        w = np.asarray(w, dtype=float)
        increment = np.asarray(increment, dtype=float)
        up = increment >= 0
        T = np.where(up, self._t_up, self._t_down)
        rate = np.where(up, self.a_up / self._tp_up, -self.a_down / self._tp_down) / self.dw_min
        return self.clip(T + (w - T) * np.exp(-np.abs(increment) * rate))

    # -- aihwkit -> theory constants ----------------------------------------------------------------
    def theory_constants(self) -> dict[str, ArrayLike]:
        r"""Constants of the theory's response model (mean field), per element.

        Returns ``tau_max = b_max``, ``tau_min = -b_min``, the (physical) symmetric point, the
        subtracted reference, and (for symmetric
        bounds) the generalized-linear form :math:`q_\pm = (1 \pm c)(1 \mp w/\tau)` scaled by
        :math:`\kappa = (a_+ + a_-)/(2\Delta w_{\min})`: ``c = (a_+ - a_-)/(a_+ + a_-)``.
        See :mod:`theory.pulses` (``pulse.aihwkit_mapping``).
        """
        return {
            "tau_max": self.b_max,
            "tau_min": -np.asarray(self.b_min),
            "symmetric_point": self._physical_symmetric_point(),
            "reference": self._ref,
            "c": (self.a_up - self.a_down) / (self.a_up + self.a_down),
            "kappa": (self.a_up + self.a_down) / (2 * self.dw_min),
        }


@dataclass(frozen=True)
class PulsedSoftBounds(PulsedLinearStep):
    r"""Soft-bounds device at pulse level (aihwkit ``SoftBoundsDevice``): linear step with
    :math:`\gamma_\pm = 1`, so each step vanishes at its bound; see :class:`PulsedLinearStep` for
    the parameters (``gamma_up``/``gamma_down`` must stay 1)."""

    name = "pulsed_soft_bounds"

    mean_bound_reference: bool = False

    def _check_gammas(self) -> None:
        if self.gamma_up != 1.0 or self.gamma_down != 1.0:
            raise ValueError("gamma_up and gamma_down must be 1 for soft bounds (use"
                             f" PulsedLinearStep), got {self.gamma_up!r}, {self.gamma_down!r}")
        if self.gamma_up_dtod != 0 or self.gamma_down_dtod != 0 or self.mean_bound_reference:
            raise ValueError("soft bounds need gamma_up_dtod = gamma_down_dtod = 0 and"
                             " mean_bound_reference = False (aihwkit checkSoftBounds; use"
                             f" PulsedLinearStep), got {self.gamma_up_dtod!r},"
                             f" {self.gamma_down_dtod!r}, {self.mean_bound_reference!r}")


@dataclass(frozen=True)
class PulsedConstantStep(PulsedLinearStep):
    r"""Constant-step device at pulse level (aihwkit ``ConstantStepDevice``): each pulse moves by
    :math:`\pm a_\pm(1 + \sigma_c\xi)`, then clip. :math:`n` pulses sum exactly to
    :math:`\pm a(n + \sigma_c\sqrt{n}\,\xi)` (fast path, exact in distribution before clipping).
    ``gamma_up``/``gamma_down`` are fixed at 0."""

    gamma_up: float = 0.0
    gamma_down: float = 0.0
    name = "pulsed_constant_step"

    def _check_gammas(self) -> None:
        if (self.gamma_up != 0.0 or self.gamma_down != 0.0 or self.gamma_up_dtod != 0
                or self.gamma_down_dtod != 0):
            raise ValueError("gamma_up, gamma_down and their *_dtod must be 0 for a constant step,"
                             f" got {self.gamma_up!r}, {self.gamma_down!r}, {self.gamma_up_dtod!r},"
                             f" {self.gamma_down_dtod!r}")

    def _precompute(self) -> None:
        if self.subtract_symmetry_point:
            raise ValueError("subtract_symmetry_point must be False for a constant step (it has no"
                             " symmetric point), got True")
        set_ = functools.partial(object.__setattr__, self)
        for nm, v in (("_ref", 0.0), ("_lo", self.b_min), ("_hi", self.b_max), ("_tp_up", np.inf),
                      ("_tp_down", -np.inf), ("_t_up", np.inf), ("_t_down", -np.inf)):
            set_(nm, v)

    def _physical_symmetric_point(self) -> ArrayLike:
        """A constant step has no symmetric point unless a+ = a- (then every point is one): nan."""
        return np.full(np.shape(self.a_up), np.nan) if np.ndim(self.a_up) else float("nan")

    def apply_pulses(self, w: np.ndarray, n: np.ndarray, up: np.ndarray,
                     rng: BatchRNG) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        a = np.where(up, self.a_up, -np.asarray(self.a_down))
        moved = n
        if self.dw_min_std > 0:
            moved = n + self.dw_min_std * np.sqrt(n) * rng.normal(w.shape[1:])
        return np.clip(w + a * moved, self._lo, self._hi)


# --- devices without a closed form for n pulses: the masked pulse loop ---------------------------


@dataclass(frozen=True)
class _LoopedPulsedDevice(PulsedDevice):
    r"""A pulse-level device whose n-pulse map has no closed form (power and exponential steps).

    The subclass gives the noiseless signed step of one pulse, :meth:`_step` (a pure function of
    the weight and the per-element constants of :meth:`_params`); everything else follows:

    * mean field: :math:`q_+(w) = \text{step}_+(w)/\Delta w_{\min}`,
      :math:`q_-(w) = -\text{step}_-(w)/\Delta w_{\min}` (the per-pulse response per unit of
      granularity; the dw_min -> 0 limit of pulse trains, ``tests/sim/test_pulsed.py``);
    * symmetric point: the root of :math:`G = (q_- - q_+)/2` on :math:`[b_{\min}, b_{\max}]` by
      vectorized bisection (:math:`q_+` falls and :math:`q_-` rises with :math:`w`, so G is monotone);
    * pulses (:meth:`apply_pulses`): the reference and the fast path are one and the same loop over
      the pulse index :math:`k = 0, \dots, \max n - 1`; iteration :math:`k` is one vectorized numpy
      update of the elements with :math:`n > k` (their flat indices, which shrink as pulse trains
      end), with per-pulse cycle-to-cycle noise and clipping exactly as aihwkit's ``update_once``.
      Cost: :math:`\max n` passes over the still-active elements (``benchmarks/bench_pulsed.py``).

    Randomness: when ``dw_min_std > 0``, iteration :math:`k` draws one normal per element for each
    run whose own largest pulse count exceeds :math:`k` (:meth:`sim.BatchRNG.normal_ragged`), so
    run r consumes exactly :math:`\max_j n_{rj}` blocks of its stream: the same alone or in any
    batch.
    """

    #: Largest pulse count per element and update that :meth:`apply_pulses` accepts (``None``: no
    #: cap). The pulse loop costs one numpy pass per pulse (linear in the count: ~30 us per pass on
    #: a 40-element problem, ~10 ms on a 784 x 256 tile), so a count in the hundreds of thousands
    #: (e.g. ``AnalogSGD(1e3, PulsedPowStep(dw_min=1e-3), mode="pulsed")`` on the fig-3 problem asks
    #: for ~2e5) would look like a hang. Above the cap the update raises ``ValueError`` before
    #: looping, never truncates silently. Physical alternative: ``desired_bl=BL`` draws pulse
    #: trains of at most BL pulses per update, as aihwkit does (truncation at BL dw_min).
    max_pulses: int | None = 10_000

    def __post_init__(self) -> None:
        if self.max_pulses is not None:
            check_int("max_pulses (or None: no cap)", self.max_pulses, minimum=1)
        super().__post_init__()

    def _check_pulse_budget(self, n: np.ndarray) -> None:
        """Raise ``ValueError`` before the pulse loop if a count is not finite or exceeds
        :attr:`max_pulses` (no hang, no silent truncation)."""
        n = np.asarray(n, dtype=float)
        finite = np.isfinite(n)
        nmax = float(np.max(n, where=finite, initial=0.0))
        if finite.all() and (self.max_pulses is None or nmax <= self.max_pulses):
            return
        shown = "nan" if np.isnan(n).any() else ("inf" if not finite.all() else f"{nmax:.0f}")
        raise ValueError(
            f"{type(self).__name__}: an update asks for up to {shown} pulses on one element (|increment| /"
            f" dw_min with dw_min = {self.dw_min:g}); the pulse count must be finite and <= max_pulses ="
            f" {self.max_pulses} for this device, which has no closed form for n pulses and applies them"
            " one numpy pass per pulse. Lower the learning rate, set desired_bl=BL (at most BL pulses"
            " per update, as aihwkit truncates pulse trains), or raise max_pulses (None: no cap)")

    def _params(self) -> dict[str, ArrayLike]:
        """Per-element constants (scalars or arrays of the per-run weight shape)."""
        return {"b_max": self.b_max, "b_min": self.b_min, "a_up": self.a_up, "a_down": self.a_down}

    def _step(self, w: np.ndarray, up: np.ndarray | bool, p: dict[str, ArrayLike]) -> np.ndarray:
        raise NotImplementedError

    def _noisy(self, step: np.ndarray, w: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """One pulse's step with cycle-to-cycle noise (multiplicative: step (1 + sigma_c xi))."""
        step *= 1 + self.dw_min_std * xi
        return step

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return self._step(np.asarray(w, dtype=float), True, self._params()) / self.dw_min

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return -self._step(np.asarray(w, dtype=float), False, self._params()) / self.dw_min

    def symmetric_point(self) -> ArrayLike:
        """Root of G (bisection to machine precision, per element)."""
        lo = np.array(self.b_min, dtype=float)
        hi = np.array(self.b_max, dtype=float)
        lo, hi = np.broadcast_arrays(lo, hi)
        lo, hi = lo.copy(), hi.copy()
        for _ in range(80):
            mid = (lo + hi) / 2
            right = self.G(mid) > 0  # G rises with w: the root lies left of mid
            hi = np.where(right, mid, hi)
            lo = np.where(right, lo, mid)
        mid = (lo + hi) / 2
        return mid if mid.ndim else float(mid)

    def pulsed_update(self, w: np.ndarray, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        r"""Apply ``increment`` as :meth:`pulse_counts` same-sign pulses (the masked pulse loop,
        :meth:`apply_pulses`); ``w`` is the persistent weight.

        Counts above :attr:`max_pulses` (or infinite) raise ``ValueError`` before the loop. A NaN
        increment has no pulse train: its element's weight becomes NaN (as in the closed-form and
        mean-field updates), which :func:`sim.simulate`, :func:`sim.nets.train` and
        :func:`sim.pipeline.train_pipeline` report as :class:`sim.Diverged`; it is never dropped.
        """
        increment = np.asarray(increment, dtype=float)
        # deterministic pre-check of the largest possible count (ceil |d|/dw_min, at most BL)
        x = np.ceil(np.abs(np.where(np.isnan(increment), 0.0, increment)) / self.dw_min)
        self._check_pulse_budget(x if self.desired_bl is None else np.minimum(x, self.desired_bl))
        n = self.pulse_counts(increment, rng)
        undefined = np.isnan(n)
        if undefined.any():
            out = self.apply_pulses(w, np.where(undefined, 0.0, n), increment >= 0, rng)
            return np.where(undefined, np.nan, out)
        return self.apply_pulses(w, n, increment >= 0, rng)

    def apply_pulses(self, w: np.ndarray, n: np.ndarray, up: np.ndarray,
                     rng: BatchRNG) -> np.ndarray:
        r"""Apply ``n`` pulses per element (up where ``up``), one pulse index at a time.

        Each pulse: :math:`w \leftarrow \mathrm{clip}(w + \text{step}_\pm(w)(1 + \sigma_c\xi))`
        (aihwkit ``update_once``). ``n`` and ``up`` broadcast against ``w`` of shape ``(R, ...)``.
        Counts must be finite and at most :attr:`max_pulses` (checked before the loop).
        """
        self._check_pulse_budget(n)
        w = np.array(w, dtype=float)
        shape = w.shape
        if self.shape is not None and tuple(shape[1:]) != tuple(self.shape):
            raise ValueError(f"w must have shape (R, *{tuple(self.shape)}) for this device, got {shape}")
        flat = w.reshape(-1)
        nf = np.broadcast_to(n, shape).reshape(-1)
        upf = np.broadcast_to(up, shape).reshape(-1)
        per = int(np.prod(shape[1:], dtype=np.int64))
        params: dict[str, Any] = {k: np.ravel(v) if np.ndim(v) else v for k, v in self._params().items()}
        act = np.flatnonzero(nf > 0)
        # cycle noise: run r draws one block of `per` normals for each pulse index k < n_run[r]
        # (its own largest count), so its stream position never depends on the other runs
        # (BatchRNG.normal_ragged); blocks are drawn `chunk` pulse indices at a time
        n_run = nf.reshape(shape[0], per).max(axis=1, initial=0) if per else np.zeros(shape[0])
        chunk = max(1, (1 << 20) // max(shape[0] * per, 1))
        xi, k0, width, base = np.zeros(0), 0, 0, np.zeros(0, dtype=np.int64)
        k = 0
        while act.size:
            cell = act % per  # element index within a run (per-element constants)
            p = {nm: v[cell] if np.ndim(v) else v for nm, v in params.items()}
            x = flat[act]
            step = self._step(x, upf[act], p)
            if self.dw_min_std > 0:
                if k - k0 >= width:  # next chunk of pulse indices: (R, width, per), flat
                    k0 = k
                    counts = np.clip(n_run - k, 0, chunk).astype(np.int64)
                    width = int(counts.max())
                    xi = rng.normal_ragged(counts, per).reshape(-1)
                    base = (act // per) * (width * per) + cell  # element (r, cell) at pulse k0
                step = self._noisy(step, x, xi[base + (k - k0) * per])
            x += step
            flat[act] = np.minimum(np.maximum(x, p["b_min"]), p["b_max"])
            k += 1
            keep = nf[act] > k
            act = act[keep]
            if self.dw_min_std > 0:
                base = base[keep]
        return w


@dataclass(frozen=True)
class PulsedPowStep(_LoopedPulsedDevice):
    r"""Power-step device at pulse level (aihwkit ``PowStepDevice``; C++ ``rpu_powstep_device.cpp``).

    With :math:`\omega = (b_{\max} - w)/(b_{\max} - b_{\min})` (relative distance to the upper bound)
    one up pulse is :math:`w \leftarrow w + a_+\,\omega^{\gamma_+}(1 + \sigma_c\xi)` and one down
    pulse :math:`w \leftarrow w - a_-\,(1 - \omega)^{\gamma_-}(1 + \sigma_c\xi)`, then clip to
    :math:`[b_{\min}, b_{\max}]`. The exponents are drawn per element as in the C++ ``populate``:
    :math:`\gamma_+ = \gamma\,(g + r + \min(\beta_p, 0))`, :math:`\gamma_- = \gamma\,(g - r -
    \max(\beta_p, 0))`, :math:`g = 1 + \text{pow\_gamma\_dtod}\,\xi`,
    :math:`r = \text{pow\_up\_down\_dtod}\,\xi'`, absolute values taken (``enforce_consistency``).
    **As for up_down, pow_up_down = +beta_p lowers only gamma_down (the docstring's symmetric
    split gamma (1 +- beta_p) is not what the C++ does).**

    Mean field: :math:`q_+ = (a_+/\Delta w_{\min})\,\omega^{\gamma_+}`,
    :math:`q_- = (a_-/\Delta w_{\min})(1-\omega)^{\gamma_-}`. On symmetric bounds :math:`\pm\tau`
    with :math:`\gamma_\pm = \gamma` and no asymmetry this is :math:`2^{-\gamma}` times
    :class:`sim.devices.Power` ``(tau, gamma)``: :math:`q_\pm = 2^{-\gamma}(1 \mp w/\tau)^\gamma` (the
    step at :math:`w = 0` is :math:`2^{-\gamma}\Delta w_{\min}`, as aihwkit's docstring notes); so
    Analog SGD on this device with rate :math:`\alpha` is the Power device's with
    :math:`2^{-\gamma}\alpha`. ``pow_gamma = 1`` is soft bounds with bounds' distance as scale.

    Parameters
    ----------
    pow_gamma
        :math:`\gamma > 0` (aihwkit default 1).
    pow_gamma_dtod, pow_up_down_dtod
        Device-to-device spreads of the exponent (relative to ``pow_gamma``), in [0, 1]; aihwkit's
        default ``pow_gamma_dtod`` is 0.1, here 0 (as every variation).
    pow_up_down
        Up/down bias :math:`\beta_p \in (-1, 1)` of the exponent (one-sided, see above).

    max_pulses
        Largest pulse count per element and update (default 10 000; ``None``: no cap). The pulse
        loop costs one numpy pass per pulse, so a larger count raises ``ValueError`` before
        looping (never a silent truncation, never an apparent hang); ``desired_bl`` bounds the
        count by BL, as aihwkit does. See :attr:`_LoopedPulsedDevice.max_pulses`.

    The shared parameters are those of :class:`PulsedDevice`.
    """

    pow_gamma: float = 1.0
    pow_gamma_dtod: float = 0.0
    pow_up_down: float = 0.0
    pow_up_down_dtod: float = 0.0
    name = "pulsed_pow_step"

    gamma_up: ArrayLike = field(init=False, repr=False, compare=False)
    gamma_down: ArrayLike = field(init=False, repr=False, compare=False)

    def _dtod_spreads(self) -> tuple[float, ...]:
        return (*super()._dtod_spreads(), self.pow_gamma_dtod, self.pow_up_down_dtod)

    def _check_gammas(self) -> None:
        _check("pow_gamma", self.pow_gamma, 0.0, np.inf, lo_open=True, hi_open=True)
        _check("pow_up_down", self.pow_up_down, -1.0, 1.0, lo_open=True, hi_open=True)
        _check("pow_gamma_dtod", self.pow_gamma_dtod, 0.0, 1.0)
        _check("pow_up_down_dtod", self.pow_up_down_dtod, 0.0, 1.0)

    def _precompute(self) -> None:
        if self.pow_gamma_dtod > 0 or self.pow_up_down_dtod > 0:
            shape = tuple(int(s) for s in self.shape)  # type: ignore[union-attr]
            xi = BatchRNG(self.seed, [0], "device_to_device_pow_gamma").normal((2, *shape))[0]
            g, r = 1 + self.pow_gamma_dtod * xi[0], self.pow_up_down_dtod * xi[1]
        else:
            g, r = 1.0, 0.0
        gu = np.abs((g + r + min(self.pow_up_down, 0.0)) * self.pow_gamma)
        gd = np.abs((g - r - max(self.pow_up_down, 0.0)) * self.pow_gamma)
        object.__setattr__(self, "gamma_up", gu if np.ndim(gu) else float(gu))
        object.__setattr__(self, "gamma_down", gd if np.ndim(gd) else float(gd))

    def _params(self) -> dict[str, ArrayLike]:
        return {**super()._params(), "gamma_up": self.gamma_up, "gamma_down": self.gamma_down}

    def _step(self, w: np.ndarray, up: np.ndarray | bool, p: dict[str, ArrayLike]) -> np.ndarray:
        omega = np.clip((p["b_max"] - w) / np.subtract(p["b_max"], p["b_min"]), 0.0, 1.0)
        # one power per element: omega^gamma_up (up) or (1 - omega)^gamma_down (down)
        mag = np.power(np.where(up, omega, 1 - omega), np.where(up, p["gamma_up"], p["gamma_down"]))
        return mag * np.where(up, p["a_up"], -np.asarray(p["a_down"]))


@dataclass(frozen=True)
class PulsedExpStep(_LoopedPulsedDevice):
    r"""Exponential-step device at pulse level (aihwkit ``ExpStepDevice``; C++
    ``rpu_expstep_device.cpp``, ``update_once`` without the complex-noise variant).

    With :math:`z = 2a\,w/(b_{\max} - b_{\min}) + b`, one up pulse is
    :math:`w \leftarrow w + a_+\max(1 - A_{up} e^{\gamma_{up} z}, 0)(1 + \sigma_c\xi)` and one down
    pulse :math:`w \leftarrow w - a_-\max(1 - A_{down} e^{-\gamma_{down} z}, 0)(1 + \sigma_c\xi)`,
    then clip. ``A_*``, ``gamma_*``, ``a``, ``b`` are tile-wide (no device-to-device variation, as in
    aihwkit); the defaults are aihwkit's (a CMOS-like fit).

    Mean field: :math:`q_+ = (a_+/\Delta w_{\min})\max(1 - A_{up}e^{\gamma_{up}z}, 0)` (falls with
    w, concave), :math:`q_- = (a_-/\Delta w_{\min})\max(1 - A_{down}e^{-\gamma_{down}z}, 0)` (rises
    with w). This is **not** :class:`sim.devices.Exponential`, whose
    :math:`q_\pm = (e^{\gamma(1 \mp w/\tau)} - 1)/(e^\gamma - 1)` is convex in w: the two share
    monotonicity and a symmetric point only; use this class's own q, F, G for the theory's
    constants.

    Parameters
    ----------
    A_up, A_down
        Amplitudes :math:`A \ge 0` (aihwkit defaults 0.00081, 0.36833).
    gamma_up, gamma_down
        Exponents :math:`\gamma \ge 0` (defaults 12.44625, 12.78785).
    a, b
        Slope and offset of :math:`z` (defaults 0.244, 0.2425).

    dw_min_std_add, dw_min_std_slope
        aihwkit's state-dependent cycle-to-cycle noise (C++ ``update_once_complex_noise``, used when
        ``dw_min_std > 0`` and either is non-zero): the noiseless step :math:`\Delta` becomes
        :math:`\Delta + \sigma_c(|\Delta| + \text{add} + \text{slope}\,|w|)\,\xi` with w the
        weight before the pulse (``add`` in weight units, as the C++ uses it). Both 0 (aihwkit's
        default): the multiplicative :math:`\Delta(1 + \sigma_c\xi)`.
    max_pulses
        Largest pulse count per element and update (default 10 000; ``None``: no cap); above it
        the update raises ``ValueError`` before looping, as for :class:`PulsedPowStep`.

    The shared parameters are those of :class:`PulsedDevice`.
    """

    A_up: float = 0.00081
    A_down: float = 0.36833
    gamma_up: float = 12.44625
    gamma_down: float = 12.78785
    a: float = 0.244
    b: float = 0.2425
    dw_min_std_add: float = 0.0
    dw_min_std_slope: float = 0.0
    name = "pulsed_exp_step"

    def _noisy(self, step: np.ndarray, w: np.ndarray, xi: np.ndarray) -> np.ndarray:
        if self.dw_min_std_add == 0 and self.dw_min_std_slope == 0:
            return super()._noisy(step, w, xi)
        sd = np.abs(step) + self.dw_min_std_add + self.dw_min_std_slope * np.abs(w)
        return step + self.dw_min_std * sd * xi

    def _check_gammas(self) -> None:
        for nm in ("A_up", "A_down", "gamma_up", "gamma_down"):
            _check(nm, getattr(self, nm), 0.0, np.inf, hi_open=True)
        for nm in ("a", "b"):
            _check(nm, getattr(self, nm), -np.inf, np.inf, lo_open=True, hi_open=True)
        for nm in ("dw_min_std_add", "dw_min_std_slope"):
            _check(nm, getattr(self, nm), 0.0, np.inf, hi_open=True)

    def _step(self, w: np.ndarray, up: np.ndarray | bool, p: dict[str, ArrayLike]) -> np.ndarray:
        z = (2 * self.a) * w / np.subtract(p["b_max"], p["b_min"]) + self.b
        # one exponential per element: 1 - A_up e^{gamma_up z} (up) or 1 - A_down e^{-gamma_down z}
        y = np.exp(z * np.where(up, self.gamma_up, -self.gamma_down))
        y *= -np.where(up, self.A_up, self.A_down)
        y += 1
        return np.maximum(y, 0.0) * np.where(up, p["a_up"], -np.asarray(p["a_down"]))



@dataclass(frozen=True)
class PulsedPiecewiseStep(_LoopedPulsedDevice):
    r"""Piecewise-linear step device at pulse level (aihwkit ``PiecewiseStepDevice``; C++
    ``rpu_piecewisestep_device.cpp::update_once``).

    The relative step sizes are given at :math:`m + 1` equally spaced nodes over the element's
    range :math:`[b_{\min}, b_{\max}]` (``piecewise_up``, ``piecewise_down``, same length). With
    :math:`s = \max((w - b_{\min})/(b_{\max} - b_{\min})\,m, 0)`, node
    :math:`i = \min(\lfloor s\rfloor, m - 1)` and :math:`t = \min(s - i, 1)`, one up pulse is
    :math:`w \leftarrow w + a_+((1-t)v^+_i + t\,v^+_{i+1})(1 + \sigma_c\xi)` and one down pulse
    :math:`w \leftarrow w - a_-((1-t)v^-_i + t\,v^-_{i+1})(1 + \sigma_c\xi)`, then clip; a single
    node (aihwkit's default ``[1]``) is a constant step. Mean field:
    :math:`q_\pm` = the interpolated relative step times :math:`a_\pm/\Delta w_{\min}`; the
    symmetric point (bisection of G) is meaningful when :math:`q_+ - q_-` changes sign once.

    Parameters
    ----------
    piecewise_up, piecewise_down
        Relative step sizes at the nodes (finite, >= 0, at least one, equal lengths).
    max_pulses
        Largest pulse count per element and update (see :class:`PulsedPowStep`).

    The shared parameters are those of :class:`PulsedDevice`.
    """

    piecewise_up: tuple[float, ...] = (1.0,)
    piecewise_down: tuple[float, ...] = (1.0,)
    name = "pulsed_piecewise_step"

    def _check_gammas(self) -> None:
        up, down = np.asarray(self.piecewise_up, float), np.asarray(self.piecewise_down, float)
        if up.ndim != 1 or up.size < 1 or up.shape != down.shape:
            raise ValueError("piecewise_up and piecewise_down must be non-empty sequences of equal"
                             f" length, got {self.piecewise_up!r}, {self.piecewise_down!r}")
        if not (np.all(np.isfinite(up)) and np.all(np.isfinite(down)) and up.min() >= 0
                and down.min() >= 0):
            raise ValueError("piecewise_up and piecewise_down must be finite and >= 0, got"
                             f" {self.piecewise_up!r}, {self.piecewise_down!r}")
        object.__setattr__(self, "piecewise_up", tuple(float(v) for v in up))
        object.__setattr__(self, "piecewise_down", tuple(float(v) for v in down))

    def _step(self, w: np.ndarray, up: np.ndarray | bool, p: dict[str, ArrayLike]) -> np.ndarray:
        vu = np.asarray(self.piecewise_up)
        vd = np.asarray(self.piecewise_down)
        m = vu.size - 1
        if m == 0:
            return np.where(up, p["a_up"] * vu[0], -np.asarray(p["a_down"]) * vd[0]) * np.ones_like(w)
        s = np.maximum((w - p["b_min"]) / np.subtract(p["b_max"], p["b_min"]) * m, 0.0)
        i = np.minimum(np.floor(s), m - 1).astype(int)
        t = np.minimum(s - i, 1.0)
        val = np.where(up, (1 - t) * vu[i] + t * vu[i + 1], (1 - t) * vd[i] + t * vd[i + 1])
        return val * np.where(up, p["a_up"], -np.asarray(p["a_down"]))


@dataclass(frozen=True)
class PulseFlow(Device):
    r"""A pulsed device's :math:`\Delta w_{\min} \to 0` limit as a mean-field device: same
    responses, ``update`` = :meth:`PulsedLinearStep.flow_update` (the reference the pulse-level runs
    converge to; the theory's mean-field map is its first order in the increment)."""

    pulsed: PulsedLinearStep
    name = "pulse_flow"

    @property
    def tau(self) -> float:  # type: ignore[override]
        return self.pulsed.tau

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return self.pulsed.q_plus(w)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return self.pulsed.q_minus(w)

    def symmetric_point(self) -> ArrayLike:
        return self.pulsed.symmetric_point()

    def clip(self, w: np.ndarray) -> np.ndarray:
        return self.pulsed.clip(w)

    def check_weights(self, w: np.ndarray, what: str = "W0") -> None:
        self.pulsed.check_weights(w, what)

    def update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        return self.pulsed.flow_update(w, increment)
