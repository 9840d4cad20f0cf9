r"""Optimizers as small pure objects: ``init``, ``query``, ``weights``, ``step``.

* :class:`DigitalSGD`: :math:`W_{k+1} = W_k - \alpha g_k`.
* :class:`AnalogSGD`: :math:`W_{k+1} = U(W_k, -\alpha g_k)` through a device's response
  (arXiv 2406.12774 / 2502.06309 eq. (2)); with exact gradients it is Analog GD.

State is a NamedTuple of ``(R, D)`` arrays; ``alpha`` is a scalar or one value per run (shape
``(R,)``), so a grid of step sizes runs as one batch. The simulation loop lives in :mod:`sim.run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeVar

import numpy as np

from ._checks import check_array
from ._rng import BatchRNG
from .devices import Device, Ideal


class WeightState(NamedTuple):
    """State of single-array optimizers: the weights, shape ``(R, D)``.

    ``W_read`` is the apparent weight the forward pass reads when the device has write noise
    (aihwkit ``write_noise_std``; see :meth:`sim.pulsed.PulsedDevice.apparent`); ``None`` (the
    default, and always without write noise) means the read weight is ``W``, the persistent one.
    """

    W: np.ndarray
    W_read: np.ndarray | None = None


def read_weights(state: WeightState) -> np.ndarray:
    """The weight the forward pass reads: ``state.W_read`` if set, else ``state.W``."""
    return state.W if state.W_read is None else state.W_read


def _write_noisy(device: Device) -> bool:
    return getattr(device, "write_noise_std", 0.0) > 0


StateT = TypeVar("StateT")


class Algorithm(Protocol[StateT]):
    """What :func:`sim.run.simulate` needs from an optimizer, generic over its state type.

    ``Algorithm[WeightState]`` is :class:`DigitalSGD` / :class:`AnalogSGD`,
    ``Algorithm[TikiTakaState]`` is :class:`sim.TikiTaka`; a bare ``Algorithm`` accepts any. The
    state is whatever ``init`` returns (a NamedTuple of ``(R, ...)`` arrays by convention); the
    simulator hands it back to ``query``, ``weights`` and ``step`` unchanged.
    """

    @property
    def name(self) -> str: ...

    @property
    def device(self) -> Device: ...

    def init(self, w0: np.ndarray) -> StateT: ...

    def query(self, state: StateT) -> np.ndarray:
        """Where the (stochastic) gradient is evaluated."""
        ...

    def weights(self, state: StateT) -> np.ndarray:
        """The model's weights W_k, where the bounds' quantities are measured."""
        ...

    def step(self, state: StateT, g: np.ndarray, rng: BatchRNG) -> StateT: ...


UpdateMode = Literal["mean_field", "pulsed"]
UPDATE_MODES: tuple[str, ...] = ("mean_field", "pulsed")


def apply_update(device: Device, w: np.ndarray, increment: np.ndarray, rng: BatchRNG,
                 mode: UpdateMode = "mean_field") -> np.ndarray:
    """Apply a desired increment to analog weights through ``device``.

    ``mode="mean_field"`` uses the response functions directly (:meth:`Device.update`);
    ``mode="pulsed"`` asks the device for its pulse-level update (``device.pulsed_update(w,
    increment, rng)``), which draws the pulse randomness from ``rng``. Every optimizer that writes
    to an analog array goes through this one function, so both modes share one code path.
    """
    if mode == "mean_field":
        return device.update(w, increment)
    if mode == "pulsed":
        pulsed = getattr(device, "pulsed_update", None)
        if pulsed is None:
            raise ValueError(f"{type(device).__name__} has no pulse-level model (mode='pulsed')")
        return pulsed(w, increment, rng)
    raise ValueError(f"mode must be one of {UPDATE_MODES}, got {mode!r}")


def check_mode(mode: str) -> None:
    if not isinstance(mode, str) or mode not in UPDATE_MODES:
        raise ValueError(f"mode must be one of {UPDATE_MODES}, got {mode!r}")


def per_run(value: float | np.ndarray, runs: int, name: str, ndim: int = 2) -> float | np.ndarray:
    """A scalar, or one value per run reshaped to ``(runs, 1, ..., 1)`` (``ndim`` axes in all) so
    it broadcasts over weights of shape ``(runs, ...)`` (vectors ``(R, D)``, layer tiles
    ``(R, out, in)``)."""
    if type(value) is float:  # the common scalar rate, on the per-iteration path
        return value
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    if arr.size != runs or arr.shape[0] != runs or any(n != 1 for n in arr.shape[1:]):
        raise ValueError(f"{name} must be a scalar or have one value per run ({runs}), got {arr.shape}")
    return arr.reshape((runs,) + (1,) * max(ndim - 1, 0))


def _check_alpha(alpha: float | np.ndarray) -> None:
    check_array("alpha (learning rate)", alpha, 0.0, np.inf, lo_open=True, max_ndim=1)


#: per-run rate parameters an optimizer may hold (scalar or one value per run)
PER_RUN_PARAMS = ("alpha", "beta", "gamma")


def check_per_run_params(algorithm: object, runs: int) -> None:
    """Raise ``ValueError`` (naming the parameter) unless every rate of ``algorithm`` that is an
    array (``alpha``, ``beta``, ``gamma``) has one value per run, ``runs`` of them; called by the
    drivers at entry so that a mismatch is reported before the first step."""
    for name in PER_RUN_PARAMS:
        if hasattr(algorithm, name):
            per_run(getattr(algorithm, name), runs, name)


def check_pulsed_device(device: Device, mode: str, name: str = "device") -> None:
    """``mode="pulsed"`` needs a device with a pulse-level model (``pulsed_update``)."""
    if mode == "pulsed" and getattr(device, "pulsed_update", None) is None:
        raise ValueError(f"mode='pulsed' needs a pulse-level {name} (sim.PulsedSoftBounds,"
                         f" sim.PulsedLinearStep, ...), got {type(device).__name__}, which has only the"
                         " mean-field model; use mode='mean_field'")


@dataclass(frozen=True)
class DigitalSGD:
    r"""Digital SGD, :math:`W_{k+1} = W_k - \alpha g_k`."""

    alpha: float | np.ndarray
    name: str = "digital SGD"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)

    @property
    def device(self) -> Device:
        return Ideal()

    def init(self, w0: np.ndarray) -> WeightState:
        return WeightState(np.array(w0, dtype=float))

    def query(self, state: WeightState) -> np.ndarray:
        return state.W

    def weights(self, state: WeightState) -> np.ndarray:
        return state.W

    def step(self, state: WeightState, g: np.ndarray, rng: BatchRNG, *,
             g_abs: np.ndarray | None = None) -> WeightState:
        """One SGD step; ``g_abs`` (per-sample magnitudes) is accepted and has no effect: a digital
        weight has no asymmetric response, so writing a batch sample by sample changes nothing."""
        a = per_run(self.alpha, state.W.shape[0], "alpha", state.W.ndim)
        step = a * g
        if step.shape != state.W.shape:
            return WeightState(state.W - step)
        return WeightState(np.subtract(state.W, step, out=step))  # W - a g, one new array


@dataclass(frozen=True)
class AnalogSGD:
    r"""Analog SGD: :math:`W_{k+1} = W_k - \alpha g_k \odot F(W_k) - \alpha |g_k| \odot G(W_k)`.

    On :class:`~sim.devices.SoftBounds` this is
    :math:`W_{k+1} = W_k - \alpha g_k - \frac{\alpha}{\tau}|g_k| \odot W_k` (arXiv 2406.12774).
    Run it without gradient noise for Analog GD. ``mode="pulsed"`` applies the same increment
    through the device's pulse-level model (see :func:`apply_update`).

    Write noise (a device with ``write_noise_std > 0``, e.g. :class:`sim.pulsed.PulsedDevice`): the
    update acts on the persistent weight ``state.W``; after every write the device draws the
    apparent weight ``state.W_read = device.apparent(W, rng)`` (aihwkit: persistent +
    ``write_noise_std * dw_min * N(0, 1)``, redrawn on the elements the write touched, not
    accumulated; drawn from
    ``rng.substream("write_noise")`` so the pulse draws are untouched), and :meth:`query`
    and :meth:`weights` return it. Without write noise nothing changes (``W_read`` stays ``None``).
    """

    alpha: float | np.ndarray
    device: Device
    mode: UpdateMode = "mean_field"
    name: str = "Analog SGD"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        check_mode(self.mode)
        if not isinstance(self.device, Device):
            raise TypeError(f"device must be a sim.devices.Device, got {type(self.device).__name__}")
        check_pulsed_device(self.device, self.mode)

    def init(self, w0: np.ndarray) -> WeightState:
        w0 = np.array(w0, dtype=float)
        self.device.check_weights(w0, "W0")
        return WeightState(w0)

    def query(self, state: WeightState) -> np.ndarray:
        return read_weights(state)

    def weights(self, state: WeightState) -> np.ndarray:
        return read_weights(state)

    def step(self, state: WeightState, g: np.ndarray, rng: BatchRNG, *,
             g_abs: np.ndarray | None = None) -> WeightState:
        """One update with the gradient ``g``. ``g_abs`` (mean-field only): the sum of the
        per-sample gradients' magnitudes, for a batch written one sample at a time as aihwkit does
        (:meth:`sim.devices.Device.update_split`, :mod:`sim.minibatch`)."""
        a = per_run(self.alpha, state.W.shape[0], "alpha", state.W.ndim)
        if g_abs is not None:
            if self.mode != "mean_field":
                raise ValueError("per-sample updates (g_abs) are implemented for mode='mean_field' only,"
                                 f" got mode={self.mode!r}")
            W = self.device.update_split(state.W, -a * g, a * g_abs)
        elif self.mode == "mean_field":  # apply_update's first branch, inlined (hot path)
            W = self.device.update(state.W, -a * g)
        else:
            W = apply_update(self.device, state.W, -a * g, rng, self.mode)
        if _write_noisy(self.device):
            return WeightState(W, self.device.apparent(W, rng.substream("write_noise"),
                                                       previous=state.W_read, before=state.W))
        return WeightState(W)
