r"""Numeric device models: response functions and the mean-field analog update.

A device is a pair of response functions :math:`q_\pm(w)`; with :math:`F = (q_- + q_+)/2` and
:math:`G = (q_- - q_+)/2` the mean-field update of a desired increment :math:`\Delta` is

.. math::  U(w, \Delta) = w + \Delta F(w) - |\Delta| G(w),

followed by clipping to the device's bounds (a physical device saturates there; for soft bounds no
clipping happens while :math:`|\Delta| \le \tau`, by box invariance). These are the numeric twins of
:mod:`theory.devices`; ``tests/sim/test_devices.py`` checks them against the symbolic definitions.

Parameters may be scalars or arrays that broadcast against the weights, e.g. ``tau`` of shape
``(R, 1)`` to simulate a grid of devices in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._checks import check_array, check_broadcast

if TYPE_CHECKING:
    from ._rng import BatchRNG

ArrayLike = float | np.ndarray


def _positive(name: str, value: ArrayLike) -> np.ndarray:
    """A finite, > 0 real scalar or non-empty array (strings, bools, nan, inf rejected)."""
    return check_array(name, value, 0.0, np.inf, lo_open=True)


def _mutually_broadcast(device: Device) -> None:
    """The array parameters of ``device`` must broadcast against each other."""
    params = device.array_params()
    try:
        np.broadcast_shapes(*(np.shape(v) for v in params.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in params.items())
        raise ValueError(f"the parameters of {type(device).__name__} must broadcast against each other,"
                         f" got shapes {shapes}") from None


class Device:
    """Base class of the mean-field device models.

    Subclasses define :meth:`q_plus`, :meth:`q_minus`, ``tau`` (the dynamic-range radius used for
    the saturation ``||W||_inf / tau``) and the bounds.
    """

    name = "device"
    tau: ArrayLike

    # -- response functions ---------------------------------------------------------------------
    def q_plus(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def F(self, w: np.ndarray) -> np.ndarray:
        """Symmetric component (q_- + q_+)/2."""
        return (self.q_minus(w) + self.q_plus(w)) / 2

    def G(self, w: np.ndarray) -> np.ndarray:
        """Asymmetric component (q_- - q_+)/2."""
        return (self.q_minus(w) - self.q_plus(w)) / 2

    def M(self, w: np.ndarray) -> np.ndarray:
        """Saturation vector q_+ q_-."""
        return self.q_plus(w) * self.q_minus(w)

    def symmetric_point(self) -> ArrayLike:
        """Root of G."""
        raise NotImplementedError

    # -- shapes ---------------------------------------------------------------------------------
    def array_params(self) -> dict[str, ArrayLike]:
        """The parameters that may be arrays broadcasting against the weights (name -> value)."""
        return {}

    def check_shape(self, shape: tuple[int, ...], what: str = "the weights") -> None:
        """Raise ``ValueError`` naming the parameter unless every array parameter broadcasts against
        weights of shape ``shape`` (``(R, D)`` or ``(R, out, in)``) without growing it."""
        for name, value in self.array_params().items():
            check_broadcast(name, value, tuple(shape), what)

    # -- bounds ---------------------------------------------------------------------------------
    @property
    def w_min(self) -> ArrayLike:
        return -np.asarray(self.tau)

    @property
    def w_max(self) -> ArrayLike:
        return np.asarray(self.tau)

    def clip(self, w: np.ndarray) -> np.ndarray:
        return np.clip(w, self.w_min, self.w_max)

    def check_weights(self, w: np.ndarray, what: str = "W0") -> None:
        """Raise ``ValueError`` if ``w`` lies outside the device's range."""
        w = np.asarray(w, dtype=float)
        self.check_shape(w.shape, what)
        lo = np.broadcast_to(self.w_min, np.broadcast_shapes(np.shape(self.w_min), w.shape))
        hi = np.broadcast_to(self.w_max, lo.shape)
        bad = (w < lo) | (w > hi)
        if np.any(bad):
            i = np.unravel_index(np.argmax(bad), bad.shape)
            raise ValueError(
                f"{what} must lie in the device range [w_min, w_max]; entry {tuple(map(int, i))}"
                f" is {float(np.broadcast_to(w, bad.shape)[i]):.6g} outside"
                f" [{float(lo[i]):.6g}, {float(hi[i]):.6g}] ({self!r}); clip it with"
                " device.clip(W0) if saturation at the bound is intended"
            )

    # -- the analog update ---------------------------------------------------------------------
    def apparent(self, w: np.ndarray, rng: BatchRNG, *, previous: np.ndarray | None = None,
                 before: np.ndarray | None = None) -> np.ndarray:
        """The weight a read sees after a write: ``w`` itself for a device without write noise
        (devices with ``write_noise_std > 0``, :class:`sim.pulsed.PulsedDevice`, override it)."""
        return w

    def update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        r"""Mean-field update :math:`w + \Delta q_\pm(w)` (sign-split), clipped to the bounds."""
        step = np.where(increment >= 0, increment * self.q_plus(w), increment * self.q_minus(w))
        return self.clip(w + step)

    def update_split(self, w: np.ndarray, increment: np.ndarray, abs_increment: np.ndarray) -> np.ndarray:
        r"""Mean-field update of increments written one sample at a time (:mod:`sim.minibatch`):
        ``increment`` is their sum :math:`\sum_n \Delta_n`, ``abs_increment`` the sum of their
        magnitudes :math:`\sum_n |\Delta_n|` (at least ``|increment|``), and the result is
        :math:`w + q_+(w) \sum_n [\Delta_n]_+ - q_-(w) \sum_n [\Delta_n]_-`, clipped to the bounds.
        With one sample (``abs_increment = |increment|``) this is :meth:`update`."""
        up = (abs_increment + increment) / 2
        down = (abs_increment - increment) / 2
        return self.clip(w + up * self.q_plus(w) - down * self.q_minus(w))


@dataclass(frozen=True, repr=True)
class SoftBounds(Device):
    r"""Soft bounds / asymmetric linear device (ALD): :math:`q_\pm(w) = 1 \mp w/\tau`.

    :math:`F \equiv 1`, :math:`G = w/\tau`, symmetric point 0; the update is
    :math:`w + \Delta - |\Delta| w/\tau` (arXiv 2406.12774; aihwkit ``SoftBoundsReferenceDevice``
    with ``w_max = -w_min = tau``, no variation, ``dw_min -> 0``).
    """

    tau: ArrayLike
    name = "soft_bounds"

    def __post_init__(self) -> None:
        _positive("tau", self.tau)

    def array_params(self) -> dict[str, ArrayLike]:
        return {"tau": self.tau}

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return 1 - w / self.tau

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return 1 + w / self.tau

    def F(self, w: np.ndarray) -> np.ndarray:
        return np.ones_like(np.asarray(w, dtype=float))

    def G(self, w: np.ndarray) -> np.ndarray:
        return w / self.tau

    def symmetric_point(self) -> ArrayLike:
        return 0.0

    def update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        # w + d - |d| w / tau, written to allocate as little as possible (hot path)
        out = np.abs(increment)
        if (type(out) is np.ndarray and out.shape == np.shape(w)
                and out.dtype == np.result_type(out, w) and out.dtype.kind == "f"):
            out *= w  # float64, or float32 weights and increments (sim.nets' float32 path)
        else:
            out = np.asarray(out * w, dtype=float)
        tau = self.tau
        out /= -tau if type(tau) is float else -np.asarray(tau)
        out += w
        out += increment
        return np.clip(out, -self.tau, self.tau, out=out)

    def update_split(self, w: np.ndarray, increment: np.ndarray, abs_increment: np.ndarray) -> np.ndarray:
        # w + sum_n d_n - (sum_n |d_n|) w / tau: Device.update_split for q_+- = 1 -+ w/tau, with
        # as few temporaries as update (the hot path of per-sample network training)
        dtype = np.result_type(abs_increment, w)
        out = np.multiply(abs_increment, w, dtype=dtype if dtype.kind == "f" else float)
        tau = self.tau
        out /= -tau if type(tau) is float else -np.asarray(tau)
        out += w
        out += increment
        return np.clip(out, -self.tau, self.tau, out=out)


@dataclass(frozen=True)
class GeneralizedLinear(Device):
    r"""Generalized linear response :math:`q_+ = (1+c)(1 - w/\tau)`, :math:`q_- = (1-c)(1 + w/\tau)`.

    Symmetric point :math:`c\tau` (arXiv 2502.06309 Sec. 5, the Tiki-Taka counterexample).
    """

    tau: ArrayLike
    c: ArrayLike = 0.0
    name = "generalized_linear"

    def __post_init__(self) -> None:
        _positive("tau", self.tau)
        check_array("c (asymmetry, |c| < 1)", self.c, -1.0, 1.0, lo_open=True, hi_open=True)
        _mutually_broadcast(self)

    def array_params(self) -> dict[str, ArrayLike]:
        return {"tau": self.tau, "c": self.c}

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return (1 + np.asarray(self.c)) * (1 - w / self.tau)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return (1 - np.asarray(self.c)) * (1 + w / self.tau)

    def symmetric_point(self) -> ArrayLike:
        return np.asarray(self.c) * np.asarray(self.tau)


@dataclass(frozen=True)
class Power(Device):
    r"""Power response :math:`q_\pm(w) = (1 \mp w/\tau)^{\gamma}` (arXiv 2502.06309 Sec. 5)."""

    tau: ArrayLike
    gamma_res: ArrayLike = 1.0
    name = "power"

    def __post_init__(self) -> None:
        _positive("tau", self.tau)
        _positive("gamma_res", self.gamma_res)
        _mutually_broadcast(self)

    def array_params(self) -> dict[str, ArrayLike]:
        return {"tau": self.tau, "gamma_res": self.gamma_res}

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return np.power(np.maximum(1 - w / self.tau, 0.0), self.gamma_res)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return np.power(np.maximum(1 + w / self.tau, 0.0), self.gamma_res)

    def symmetric_point(self) -> ArrayLike:
        return 0.0


@dataclass(frozen=True)
class Exponential(Device):
    r"""Exponential response :math:`q_\pm = (e^{\gamma(1 \mp w/\tau)} - 1)/(e^\gamma - 1)`."""

    tau: ArrayLike
    gamma_res: ArrayLike = 1.0
    name = "exponential"

    def __post_init__(self) -> None:
        _positive("tau", self.tau)
        _positive("gamma_res", self.gamma_res)
        _mutually_broadcast(self)

    def array_params(self) -> dict[str, ArrayLike]:
        return {"tau": self.tau, "gamma_res": self.gamma_res}

    def _q(self, x: np.ndarray) -> np.ndarray:
        g = np.asarray(self.gamma_res)
        return np.expm1(g * x) / np.expm1(g)

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return self._q(1 - w / self.tau)

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return self._q(1 + w / self.tau)

    def symmetric_point(self) -> ArrayLike:
        return 0.0


@dataclass(frozen=True)
class Ideal(Device):
    """Ideal (digital) device: :math:`q_\\pm \\equiv 1`, no bounds, ``tau = inf``."""

    name = "ideal"

    @property
    def tau(self) -> float:  # type: ignore[override]
        return np.inf

    def q_plus(self, w: np.ndarray) -> np.ndarray:
        return np.ones_like(np.asarray(w, dtype=float))

    def q_minus(self, w: np.ndarray) -> np.ndarray:
        return np.ones_like(np.asarray(w, dtype=float))

    def symmetric_point(self) -> ArrayLike:
        return 0.0

    def clip(self, w: np.ndarray) -> np.ndarray:
        return w

    def update(self, w: np.ndarray, increment: np.ndarray) -> np.ndarray:
        return w + increment


BUILTINS = {
    "soft_bounds": SoftBounds,
    "generalized_linear": GeneralizedLinear,
    "power": Power,
    "exponential": Exponential,
    "ideal": Ideal,
}
