r"""Gradient-noise models: the stochastic gradient is :math:`g = \nabla f(W) + \xi`.

The papers' noise level is the total variance :math:`\sigma^2 = E\|\xi\|^2` (Assumption A3 of
arXiv 2406.12774). The models here are parameterized per coordinate (a scalar or a ``(D,)`` vector
``std`` / ``scale``); :meth:`sigma2` returns the total for a given dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._rng import BatchRNG


def _check_scale(name: str, value: float | np.ndarray) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be a finite scalar or 1-D array >= 0, got {value!r}")
    return arr


@dataclass(frozen=True)
class NoNoise:
    """Exact gradients (Analog GD / GD)."""

    kind = "none"

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray | None:
        return None

    def sigma2(self, dim: int) -> float:
        return 0.0


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
        if sigma < 0 or dim < 1:
            raise ValueError(f"need sigma >= 0 and dim >= 1, got sigma={sigma}, dim={dim}")
        return cls(std=float(sigma) / np.sqrt(dim))

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

    def sample(self, rng: BatchRNG, dim: int) -> np.ndarray:
        return np.asarray(self.scale) * rng.rademacher(dim)

    def sigma2(self, dim: int) -> float:
        return float(np.sum(np.broadcast_to(np.asarray(self.scale) ** 2, (dim,))))


Noise = NoNoise | GaussianNoise | RademacherNoise
