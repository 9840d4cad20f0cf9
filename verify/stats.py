"""Statistics for claims: means with standard errors over runs, weighted fits, log-log slopes.

Every tolerance in a claim is built from these: ``Z`` standard errors of a measured quantity, plus
an explicit model tolerance where the theory is only asymptotic (named in the check's reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Number of standard errors in every statistical tolerance. Seeds are fixed, so a check is
#: deterministic; Z = 3 keeps the chance that an honest claim fails on its one draw near 0.3 %
#: (two-sided), and the negative controls show the checks still have power at this Z.
Z = 3.0


@dataclass(frozen=True)
class Estimate:
    """A mean over independent runs with its standard error."""

    mean: float
    se: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.se:.2g}"


def mean_se(x: ArrayLike, axis: int = 0) -> Estimate:
    """Mean and standard error of independent samples along ``axis`` (ddof = 1)."""
    a = np.asarray(x, dtype=float)
    n = a.shape[axis]
    if n < 2:
        raise ValueError("need at least two independent runs for a standard error")
    if not np.all(np.isfinite(a)):
        raise ValueError("samples contain non-finite values (a run diverged?)")
    return Estimate(float(np.mean(a, axis=axis)), float(np.std(a, axis=axis, ddof=1) / np.sqrt(n)), n)


def mean_se_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard error of ``x`` shaped ``(groups, runs)``."""
    x = np.asarray(x, dtype=float)
    if x.shape[-1] < 2:
        raise ValueError("need at least two runs per group")
    return x.mean(axis=-1), x.std(axis=-1, ddof=1) / np.sqrt(x.shape[-1])


@dataclass(frozen=True)
class LinearFit:
    """Weighted least-squares fit ``y = intercept + slope * x`` with parameter standard errors."""

    intercept: float
    slope: float
    se_intercept: float
    se_slope: float
    chi2_dof: float


@dataclass(frozen=True)
class Fit:
    """Weighted least-squares fit ``y = X @ coef`` of a general linear model.

    ``se`` and ``cov`` already include the sqrt(chi2/dof) inflation of :func:`weighted_fit`.
    """

    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    chi2_dof: float
    dof: int

    def estimate(self, i: int) -> Estimate:
        """Coefficient ``i`` with its standard error (``n`` = residual degrees of freedom)."""
        return Estimate(float(self.coef[i]), float(self.se[i]), self.dof)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model value ``X @ coef`` at new design rows and its standard error ``sqrt(x^T cov x)``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        return X @ self.coef, np.sqrt(np.einsum("ij,jk,ik->i", X, self.cov, X))


def weighted_fit(X: ArrayLike, y: ArrayLike, se: ArrayLike) -> Fit:
    """Fit ``y = X @ coef`` (design matrix ``X`` shaped ``(n, p)``) with weights ``1/se^2``.

    The covariance is ``(X^T W X)^{-1}``, inflated by ``max(1, chi2/dof)`` when the scatter exceeds
    the stated errors (a misspecified model widens, never narrows, the errors). Needs ``n > p`` so
    that the scatter can be checked.
    """
    Xa, ya, sa = (np.asarray(v, dtype=float) for v in (X, y, se))
    if Xa.ndim != 2 or Xa.shape[0] != ya.size or ya.shape != sa.shape:
        raise ValueError(f"X must be (n, p) with y, se of length n; got {Xa.shape}, {ya.shape}, {sa.shape}")
    n, p = Xa.shape
    if n <= p:
        raise ValueError(f"need more points than parameters for error estimates, got n={n}, p={p}")
    if np.any(sa <= 0) or not (np.all(np.isfinite(ya)) and np.all(np.isfinite(Xa))):
        raise ValueError("standard errors must be > 0 and the data finite")
    Wt = 1 / sa**2
    cov = np.linalg.inv(Xa.T @ (Xa * Wt[:, None]))
    coef = cov @ (Xa.T @ (Wt * ya))
    resid = ya - Xa @ coef
    chi2_dof = float(np.sum(Wt * resid**2) / (n - p))
    cov = cov * max(1.0, chi2_dof)
    return Fit(coef, np.sqrt(np.diag(cov)), cov, chi2_dof, n - p)


def weighted_linear_fit(x: ArrayLike, y: ArrayLike, se: ArrayLike) -> LinearFit:
    """Fit ``y = a + b x`` with weights ``1/se^2`` (:func:`weighted_fit` with the design ``[1, x]``)."""
    xa = np.asarray(x, dtype=float)
    if xa.size < 3:
        raise ValueError("need at least three points for a fit with error estimates")
    f = weighted_fit(np.column_stack([np.ones_like(xa), xa]), y, se)
    return LinearFit(float(f.coef[0]), float(f.coef[1]), float(f.se[0]), float(f.se[1]), f.chi2_dof)


def loglog_slope(x: ArrayLike, y: ArrayLike, se_y: ArrayLike) -> LinearFit:
    """Slope of ``log y`` against ``log x``; errors propagate as ``se(log y) = se_y / y``."""
    xa, ya, sa = (np.asarray(v, dtype=float) for v in (x, y, se_y))
    if np.any(ya <= 0) or np.any(xa <= 0):
        raise ValueError("log-log fit needs positive x and y")
    return weighted_linear_fit(np.log(xa), np.log(ya), sa / ya)
