r"""Tiki-Taka and residual learning: two analog arrays, P (fast, auxiliary) and W (slow, model).

One iteration (the follow-up's sign convention, arXiv 2502.06309 Sec. 4 / spec ``exact_training.md``
Sec. 5.4; for the soft-bounds device it equals the 2024 form of Sec. 5.2 by odd symmetry):

.. math::

    \bar W_k &= W_k + \gamma P_k                       &&\text{(where the gradient is taken)}\\
    P_{k+1} &= U_P(P_k, -\beta\, g(\bar W_k))          &&\text{(analog accumulation on P)}\\
    W_{k+1} &= U_W(W_k, +\alpha\, P_{k+1})              &&\text{(transfer: read P, analog write to W)}

with :math:`U(w, \Delta) = w + \Delta \odot F(w) - |\Delta| \odot G(w)` the device's update
(:func:`sim.optimizers.apply_update`). ``gamma = 0`` is Tiki-Taka as analyzed in arXiv 2406.12774
(Thm 4); ``gamma > 0`` is residual learning (arXiv 2502.06309 Thm 3 / Corollary 1).

**Step-size names.** ``alpha`` is the transfer learning rate (the W array) and ``beta`` the learning
rate of P, as in the 2024 paper (spec Sec. 5.2) and aihwkit (``transfer_lr`` and ``fast_lr``). The
follow-up swaps the two letters.

**Transfer schedule** (aihwkit ``TransferCompound``): a transfer happens after every
``transfer_every``-th P update and touches ``columns_per_transfer`` consecutive columns, chosen by a
cyclic pointer that advances by that many columns per transfer. A *column* is a slice along the
**last axis**: for a layer tile ``(R, out, in)`` it is one input column (``out`` weights), as in
aihwkit, which reads A with one-hot inputs; for a weight vector ``(R, D)`` the vector is treated as a
single-row tile, so a column is one coordinate. ``columns_per_transfer=None`` transfers the whole
array (the theory's setting).

:class:`ResidualLearningV2` adds the follow-up's digital buffer H and thresholded single-pulse
transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_array, check_int, check_real
from ._rng import BatchRNG
from .devices import Device
from .optimizers import UpdateMode, apply_update, check_mode, check_pulsed_device, per_run


class TikiTakaState(NamedTuple):
    """State of :class:`TikiTaka`.

    Attributes
    ----------
    W
        Main (slow) array, shape ``(R, ...)``: the model weights.
    P
        Auxiliary (fast) array, same shape.
    k
        Number of P updates done so far.
    pointer
        Index of the next column to transfer (cyclic over the last axis).
    W_read, P_read
        Apparent (read) weights of W and P when their device has write noise (aihwkit
        ``write_noise_std``, :meth:`sim.pulsed.PulsedDevice.apparent`): redrawn on the elements
        a write of that array touched; ``None`` (the default, always without write noise) means W, P.
    """

    W: np.ndarray
    P: np.ndarray
    k: int
    pointer: int
    W_read: np.ndarray | None = None
    P_read: np.ndarray | None = None


def _check_rate(name: str, value: float | np.ndarray) -> None:
    """Finite and > 0, a scalar or one value per run (1-D)."""
    check_array(name, value, 0.0, np.inf, lo_open=True, max_ndim=1)


def _check_gamma(gamma: float | np.ndarray) -> None:
    check_array("gamma (mixing weight)", gamma, 0.0, np.inf, max_ndim=1)


def _check_device(name: str, device: object) -> None:
    if not isinstance(device, Device):
        raise TypeError(f"{name} must be a sim.devices.Device, got {type(device).__name__}")


def _cyclic_columns(pointer: int, n: int, ncols: int) -> np.ndarray | None:
    """Column indices ``pointer, ..., pointer + n - 1`` modulo ``ncols`` (``None``: all columns)."""
    if n >= ncols and pointer == 0:
        return None
    return (pointer + np.arange(n)) % ncols


@dataclass(frozen=True)
class TikiTaka:
    r"""Tiki-Taka (``gamma = 0``) and residual learning (``gamma > 0``) on weights of any shape.

    Parameters
    ----------
    alpha
        Transfer learning rate (writes :math:`\alpha P` to W), > 0; scalar or one per run ``(R,)``.
    beta
        Learning rate of P (writes :math:`-\beta g` to P), > 0; scalar or one per run.
    device
        Response of the P array (a :class:`~sim.devices.Device`).
    device_w
        Response of the W array; ``None`` uses ``device`` (the 2024 analysis: both arrays alike).
    gamma
        Mixing weight, >= 0: the gradient is evaluated at :math:`W + \gamma P`.
    transfer_every
        Transfer after every ``transfer_every``-th P update (aihwkit ``transfer_every``), >= 1.
    columns_per_transfer
        Columns (slices along the last axis) transferred per transfer (aihwkit
        ``n_reads_per_transfer``); ``None`` means all columns.
    mode
        ``"mean_field"`` or ``"pulsed"``: how both arrays are written (see
        :func:`sim.optimizers.apply_update`).
    name
        Label for reports.

    Notes
    -----
    With ``columns_per_transfer = n`` out of ``N`` columns and ``transfer_every = T``, each column of
    W is refreshed every :math:`T \lceil N/n \rceil` steps (roughly), so the effective transfer rate
    per coordinate is :math:`\alpha n/(T N)`.

    References
    ----------
    arXiv 2406.12774 Sec. 4 (Tiki-Taka, Thm 4); arXiv 2502.06309 Sec. 4 (residual learning);
    aihwkit ``TransferCompound`` (``gamma``, ``transfer_every``, ``n_reads_per_transfer``).

    Examples
    --------
    >>> import numpy as np, sim
    >>> tt = sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0))
    >>> st = tt.init(np.zeros((2, 3)))
    >>> st = tt.step(st, np.ones((2, 3)), sim.BatchRNG(0, range(2), "algorithm"))
    >>> st.P[0], st.W[0]
    (array([-0.1, -0.1, -0.1]), array([-0.01, -0.01, -0.01]))
    """

    alpha: float | np.ndarray
    beta: float | np.ndarray
    device: Device
    device_w: Device | None = None
    gamma: float | np.ndarray = 0.0
    transfer_every: int = 1
    columns_per_transfer: int | None = None
    mode: UpdateMode = "mean_field"
    name: str = "Tiki-Taka"

    def __post_init__(self) -> None:
        _check_rate("alpha", self.alpha)
        _check_rate("beta", self.beta)
        _check_gamma(self.gamma)
        _check_device("device", self.device)
        if self.device_w is not None:
            _check_device("device_w", self.device_w)
        check_int("transfer_every", self.transfer_every, minimum=1)
        if self.columns_per_transfer is not None:
            check_int("columns_per_transfer (or None: all columns)", self.columns_per_transfer, minimum=1)
        check_mode(self.mode)
        check_pulsed_device(self.device, self.mode)
        check_pulsed_device(self.w_device, self.mode, "device_w")

    @property
    def w_device(self) -> Device:
        """The device of the W array."""
        return self.device if self.device_w is None else self.device_w

    # -- protocol ---------------------------------------------------------------------------------
    def init(self, w0: np.ndarray) -> TikiTakaState:
        """W = ``w0`` (shape ``(R, ...)``, inside the W device's range), P = 0."""
        w0 = np.array(w0, dtype=float)
        if w0.ndim < 2:
            raise ValueError(f"w0 must have shape (R, ...) with at least 2 axes, got {w0.shape}")
        self.w_device.check_weights(w0, "W0")
        n = self.columns_per_transfer
        if n is not None and n > w0.shape[-1]:
            raise ValueError(f"columns_per_transfer must be in [1, {w0.shape[-1]}] (the number of"
                             f" columns, last axis), got {n}")
        P0 = np.zeros_like(w0)
        self.device.check_weights(P0, "P0")
        return TikiTakaState(w0, P0, 0, 0)

    def query(self, state: TikiTakaState) -> np.ndarray:
        r""":math:`\bar W = W + \gamma P` (``W`` itself when ``gamma == 0``), on the read weights."""
        W = state.W if state.W_read is None else state.W_read
        if np.ndim(self.gamma) == 0 and float(self.gamma) == 0.0:
            return W
        g = per_run(self.gamma, state.W.shape[0], "gamma", state.W.ndim)
        P = state.P if state.P_read is None else state.P_read
        return W + g * P

    def weights(self, state: TikiTakaState) -> np.ndarray:
        """The main array W (the slow weights the Tiki-Taka bounds are stated on), as read."""
        return state.W if state.W_read is None else state.W_read

    def step(self, state: TikiTakaState, g: np.ndarray, rng: BatchRNG, *,
             g_abs: np.ndarray | None = None) -> TikiTakaState:
        """One P update with the gradient ``g`` taken at :meth:`query`, then a transfer if due.
        ``g_abs`` (mean-field only): the sum of the per-sample gradients' magnitudes, for P written
        one sample at a time as aihwkit does (:meth:`sim.devices.Device.update_split`); the
        transfer is elementwise either way."""
        W, P = state.W, state.P
        R, nd = W.shape[0], W.ndim
        b = per_run(self.beta, R, "beta", nd)
        if g_abs is not None:
            if self.mode != "mean_field":
                raise ValueError("per-sample updates (g_abs) are implemented for mode='mean_field' only,"
                                 f" got mode={self.mode!r}")
            P = self.device.update_split(P, -b * g, b * g_abs)
        else:
            P = apply_update(self.device, P, -b * g, rng, self.mode)
        # write noise (optional): P is re-read after every write; the transfer reads P as read
        P_read = (self.device.apparent(P, rng.substream("write_noise_P"), previous=state.P_read,
                                       before=state.P)
                  if getattr(self.device, "write_noise_std", 0.0) > 0 else None)
        W_read = state.W_read
        k = state.k + 1
        pointer = state.pointer
        if k % int(self.transfer_every) == 0:
            a = per_run(self.alpha, R, "alpha", nd)
            ncols = W.shape[-1]
            n = ncols if self.columns_per_transfer is None else int(self.columns_per_transfer)
            cols = _cyclic_columns(pointer, n, ncols)
            increment = a * (P if P_read is None else P_read)
            if cols is not None:
                # zero increment off the pointed columns: U(w, 0) = w, and a device whose
                # parameters vary per element (device-to-device spread) still sees the full array
                mask = np.zeros(ncols, dtype=bool)
                mask[cols] = True
                increment = np.where(mask, increment, 0.0)
            W = apply_update(self.w_device, W, increment, rng, self.mode)
            if getattr(self.w_device, "write_noise_std", 0.0) > 0:
                W_read = self.w_device.apparent(W, rng.substream("write_noise_W"),
                                                previous=state.W_read, before=state.W)
            pointer = (pointer + n) % ncols
        return TikiTakaState(W, P, k, pointer, W_read, P_read)


class ResidualLearningV2State(NamedTuple):
    """State of :class:`ResidualLearningV2`: analog arrays W and P, digital buffer H, step count."""

    W: np.ndarray
    P: np.ndarray
    H: np.ndarray
    k: int


@dataclass(frozen=True)
class ResidualLearningV2:
    r"""Residual learning v2: a digital buffer H filters P's read noise; W gets thresholded single pulses.

    One iteration (arXiv 2502.06309 Sec. 4, "RL v2"; spec ``exact_training.md`` Sec. 5.4):

    .. math::

        P_{k+1} &= U_P(P_k, -\beta\, g(W_k + \gamma P_k)) \\
        H_{k+1/2} &= (1 - \alpha) H_k + \alpha (P_{k+1} + \varepsilon_{k+1}),
            \qquad \varepsilon \sim N(0, \sigma_{read}^2) \\
        W_{k+1, d} &= U_W(W_{k,d}, \operatorname{sign}(H_{k+1/2,d})\,\Delta w_{\min})
            \text{ and } H_{k+1,d} = H_{k+1/2,d} - \operatorname{sign}(H_{k+1/2,d})\,\Delta w_{\min}
            \quad\text{where } |H_{k+1/2,d}| \ge \Delta w_{\min}

    (elsewhere W and H keep their values). The write to W is one pulse of the device's granularity
    ``dw_min``: through :func:`sim.optimizers.apply_update`, so in ``mode="pulsed"`` it is the
    device's own single-pulse update.

    Parameters
    ----------
    alpha
        Rate of the buffer's exponential average (the transfer rate), in (0, 1].
    beta
        Learning rate of P, > 0 (scalar or one per run).
    device, device_w
        Responses of P and of W (``device_w=None``: the same as P).
    dw_min
        Pulse size and transfer threshold, > 0.
    read_noise
        Standard deviation of the noise on each read of P, >= 0 (drawn from the ``rng`` passed to
        :meth:`step`).
    gamma
        Mixing weight, >= 0: the gradient is taken at :math:`W + \gamma P`.
    mode
        ``"mean_field"`` or ``"pulsed"``.
    name
        Label for reports.

    Notes
    -----
    Compared to TT-v2 (aihwkit ``ChoppedTransferCompound`` without chopper), RL v2 decays H by
    :math:`1 - \alpha` and takes the gradient at :math:`W + \gamma P`.
    """

    alpha: float | np.ndarray
    beta: float | np.ndarray
    device: Device
    dw_min: float
    device_w: Device | None = None
    read_noise: float = 0.0
    gamma: float | np.ndarray = 0.0
    mode: UpdateMode = "mean_field"
    name: str = "residual learning v2"

    def __post_init__(self) -> None:
        check_array("alpha (buffer averaging rate)", self.alpha, 0.0, 1.0, lo_open=True, max_ndim=1)
        _check_rate("beta", self.beta)
        _check_gamma(self.gamma)
        _check_device("device", self.device)
        if self.device_w is not None:
            _check_device("device_w", self.device_w)
        check_real("dw_min (pulse size)", self.dw_min, 0.0, lo_open=True)
        check_real("read_noise", self.read_noise, 0.0)
        check_mode(self.mode)
        check_pulsed_device(self.device, self.mode)
        check_pulsed_device(self.w_device, self.mode, "device_w")

    @property
    def w_device(self) -> Device:
        """The device of the W array."""
        return self.device if self.device_w is None else self.device_w

    def init(self, w0: np.ndarray) -> ResidualLearningV2State:
        """W = ``w0`` (shape ``(R, ...)``), P = 0, H = 0."""
        w0 = np.array(w0, dtype=float)
        if w0.ndim < 2:
            raise ValueError(f"w0 must have shape (R, ...) with at least 2 axes, got {w0.shape}")
        self.w_device.check_weights(w0, "W0")
        return ResidualLearningV2State(w0, np.zeros_like(w0), np.zeros_like(w0), 0)

    def query(self, state: ResidualLearningV2State) -> np.ndarray:
        r""":math:`W + \gamma P` (``W`` itself when ``gamma == 0``)."""
        if np.ndim(self.gamma) == 0 and float(self.gamma) == 0.0:
            return state.W
        g = per_run(self.gamma, state.W.shape[0], "gamma", state.W.ndim)
        return state.W + g * state.P

    def weights(self, state: ResidualLearningV2State) -> np.ndarray:
        """The main array W."""
        return state.W

    def step(self, state: ResidualLearningV2State, g: np.ndarray, rng: BatchRNG) -> ResidualLearningV2State:
        """P update with ``g`` (taken at :meth:`query`), noisy read into H, one pulse where |H| >= dw_min."""
        W, P, H = state.W, state.P, state.H
        R, nd = W.shape[0], W.ndim
        b = per_run(self.beta, R, "beta", nd)
        P = apply_update(self.device, P, -b * g, rng, self.mode)
        a = per_run(self.alpha, R, "alpha", nd)
        read = P if self.read_noise == 0 else P + self.read_noise * rng.normal(P.shape[1:])
        H = (1 - a) * H + a * read
        pulse = np.where(np.abs(H) >= self.dw_min, np.sign(H) * self.dw_min, 0.0)
        W = apply_update(self.w_device, W, pulse, rng, self.mode)
        return ResidualLearningV2State(W, P, H - pulse, state.k + 1)
