r"""Gradient-noise models: the stochastic gradient is :math:`g = \nabla f(W) + \xi`.

The papers' noise level is the total variance :math:`\sigma^2 = E\|\xi\|^2` (Assumption A3 of
arXiv 2406.12774). The models here are parameterized per coordinate (a scalar or a ``(D,)`` vector
``std`` / ``scale``); :meth:`sigma2` returns the total for a given dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ._checks import check_array, check_int, check_real
from ._rng import BatchRNG


def _check_scale(name: str, value: float | np.ndarray) -> np.ndarray:
    """A finite scalar or 1-D array of entries >= 0 (strings, bools, nan, inf rejected)."""
    return check_array(name, value, 0.0, np.inf, max_ndim=1)


def _check_dim(name: str, value: float | np.ndarray, dim: int) -> None:
    shape = np.shape(value)
    if shape not in ((), (1,), (int(dim),)):
        raise ValueError(f"{name} must be a scalar or have shape (D,) = ({dim},) (one value per coordinate"
                         f" of the problem), got shape {shape}")


@dataclass(frozen=True)
class NoNoise:
    """Exact gradients (Analog GD / GD)."""

    kind = "none"

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray | None:
        return None

    def sigma2(self, dim: int) -> float:
        return 0.0

    def check_dim(self, dim: int) -> None:
        """Nothing to check (exact gradients fit every dimension)."""


@dataclass(frozen=True)
class GaussianNoise:
    """Independent :math:`N(0, \\mathrm{std}^2)` noise in every coordinate."""

    std: float | np.ndarray
    kind = "gaussian"

    def __post_init__(self) -> None:
        _check_scale("std", self.std)

    @classmethod
    def from_sigma(cls, sigma: float, dim: int) -> GaussianNoise:
        """Isotropic noise with total variance ``sigma**2`` in ``dim`` coordinates."""
        s = check_real("sigma", sigma, 0.0)
        d = check_int("dim", dim, minimum=1)
        return cls(std=s / np.sqrt(d))

    def check_dim(self, dim: int) -> None:
        """Raise ``ValueError`` unless ``std`` is a scalar or has shape ``(dim,)``."""
        _check_dim("std", self.std, dim)

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray:
        return np.asarray(self.std) * rng.normal(dim)

    def sigma2(self, dim: int) -> float:
        return float(np.sum(np.broadcast_to(np.asarray(self.std) ** 2, (dim,))))


@dataclass(frozen=True)
class RademacherNoise:
    """Independent :math:`\\pm\\mathrm{scale}` noise in every coordinate (the lower-bound instance)."""

    scale: float | np.ndarray
    kind = "rademacher"

    def __post_init__(self) -> None:
        _check_scale("scale", self.scale)

    def check_dim(self, dim: int) -> None:
        """Raise ``ValueError`` unless ``scale`` is a scalar or has shape ``(dim,)``."""
        _check_dim("scale", self.scale, dim)

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray:
        return np.asarray(self.scale) * rng.rademacher(dim)

    def sigma2(self, dim: int) -> float:
        return float(np.sum(np.broadcast_to(np.asarray(self.scale) ** 2, (dim,))))


class NoiseModel(Protocol):
    r"""What :func:`sim.simulate` needs from a gradient-noise model: per-run samples of shape
    ``(R, dim)`` from ``rng`` and the total variance :math:`\sigma^2` (sum over coordinates)."""

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray: ...

    def sigma2(self, dim: int) -> float: ...


Noise = NoNoise | GaussianNoise | RademacherNoise
