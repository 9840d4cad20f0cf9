"""Statistics for claims: means with standard errors over runs, weighted fits, log-log slopes.

Every tolerance in a claim is built from these: ``Z`` standard errors of a measured quantity, plus
an explicit model tolerance where the theory is only asymptotic (named in the check's reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def mean_se(x: np.ndarray, axis: int = 0) -> Estimate:
    """Mean and standard error of independent samples along ``axis`` (ddof = 1)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    if n < 2:
        raise ValueError("need at least two independent runs for a standard error")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain non-finite values (a run diverged?)")
    return Estimate(float(np.mean(x, axis=axis)), float(np.std(x, axis=axis, ddof=1) / np.sqrt(n)), n)


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


def weighted_linear_fit(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> LinearFit:
    """Fit ``y = a + b x`` with weights ``1/se^2``.

    Parameter errors come from the covariance ``(X^T W X)^{-1}``, inflated by sqrt(chi2/dof) when
    the scatter exceeds the stated errors (so a misspecified model widens, never narrows, them).
    """
    x, y, se = (np.asarray(v, dtype=float) for v in (x, y, se))
    if x.size < 3:
        raise ValueError("need at least three points for a fit with error estimates")
    if np.any(se <= 0):
        raise ValueError("standard errors must be > 0")
    X = np.column_stack([np.ones_like(x), x])
    Wt = 1 / se**2
    cov = np.linalg.inv(X.T @ (X * Wt[:, None]))
    beta = cov @ (X.T @ (Wt * y))
    resid = y - X @ beta
    dof = x.size - 2
    chi2_dof = float(np.sum(Wt * resid**2) / dof)
    scale = max(1.0, chi2_dof)
    return LinearFit(
        float(beta[0]), float(beta[1]),
        float(np.sqrt(cov[0, 0] * scale)), float(np.sqrt(cov[1, 1] * scale)), chi2_dof,
    )


def loglog_slope(x: np.ndarray, y: np.ndarray, se_y: np.ndarray) -> LinearFit:
    """Slope of ``log y`` against ``log x``; errors propagate as ``se(log y) = se_y / y``."""
    x, y, se_y = (np.asarray(v, dtype=float) for v in (x, y, se_y))
    if np.any(y <= 0) or np.any(x <= 0):
        raise ValueError("log-log fit needs positive x and y")
    return weighted_linear_fit(np.log(x), np.log(y), se_y / y)
