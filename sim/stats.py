r"""Statistics for claims, figures and notebooks: means with standard errors over runs, spreads
with their standard errors, weighted fits, log-log slopes.

Every tolerance in a claim is built from these: ``Z`` standard errors of a measured quantity, plus
an explicit model tolerance where the theory is only asymptotic (named in the check's reason).
This is the one statistics layer of the repository: claims (:mod:`verify.claims`, through the
re-export :mod:`verify.stats`), figures (:mod:`paper_figures`) and notebooks take their standard
errors and fits from here. It is a leaf that imports numpy only (and scipy inside
:func:`nonneg_weighted_fit`), so a figure that uses it does not depend on the claims (its cache key
holds no ``verify`` file) and ``sim`` stays free of ``theory``.

============================  ======================================================================
:func:`mean_se`               mean and s.e. :math:`s/\sqrt n` of independent samples (one axis)
:func:`mean_se_rows`          the same per row of a ``(groups, runs)`` array (or along any ``axis``)
:func:`sd_se_normal`          sample s.d. with the normal-theory s.e. :math:`s/\sqrt{2(n-1)}`
:func:`variance_se`           second central moment with the distribution-free s.e. from the fourth
:func:`sd_se`                 its square root, s.e. by the delta method
:func:`weighted_fit`          weighted least squares of a linear model, errors inflated by chi2/dof
:func:`loglog_slope`          weighted slope of log y on log x
:func:`nonneg_weighted_fit`   weighted least squares with every coefficient >= 0 (scipy's BVLS)
:func:`loglog_interp`         row-wise piecewise-linear interpolation (log coordinates), extrapolating
============================  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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


def mean_se(x: ArrayLike, axis: int = 0, ddof: int = 1) -> Estimate:
    r"""Mean and standard error of independent samples along ``axis``.

    .. math:: \bar x = \frac1n\sum_i x_i, \qquad \mathrm{se} = s/\sqrt n, \quad
        s^2 = \frac{1}{n - \text{ddof}}\sum_i (x_i - \bar x)^2

    ``ddof = 1`` (the default) is the unbiased sample variance; ``ddof = 0`` the plug-in one (used
    where n is large, e.g. over array elements).

    Examples
    --------
    >>> from sim.stats import mean_se
    >>> e = mean_se([1.0, 2.0, 3.0, 4.0])
    >>> e.mean, round(e.se, 6), e.n
    (2.5, 0.645497, 4)
    """
    a = np.asarray(x, dtype=float)
    n = a.shape[axis]
    if n < 2:
        raise ValueError("need at least two independent runs for a standard error")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}")
    if not np.all(np.isfinite(a)):
        raise ValueError("samples contain non-finite values (a run diverged?)")
    return Estimate(float(np.mean(a, axis=axis)), float(np.std(a, axis=axis, ddof=ddof) / np.sqrt(n)), n)


def mean_se_rows(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    r"""Means and standard errors :math:`s/\sqrt n` (ddof = 1) along ``axis``, as arrays.

    By default per row of ``x`` shaped ``(groups, runs)``; ``axis=0`` gives them per column (e.g.
    per coordinate of ``(runs, D)`` samples).

    Examples
    --------
    >>> import numpy as np
    >>> from sim.stats import mean_se_rows
    >>> m, se = mean_se_rows(np.array([[1.0, 3.0], [2.0, 2.0]]))
    >>> m.tolist(), se.tolist()
    ([2.0, 2.0], [1.0, 0.0])
    """
    x = np.asarray(x, dtype=float)
    if x.shape[axis] < 2:
        raise ValueError("need at least two runs per group")
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / np.sqrt(x.shape[axis])


def sd_se_normal(x: np.ndarray) -> Estimate:
    r"""Sample standard deviation (ddof = 1) of ``x`` (flattened) with its normal-theory standard
    error :math:`s/\sqrt{2(n-1)}` (exact to first order for normal samples)."""
    x = np.ravel(np.asarray(x, dtype=float))
    if x.size < 2:
        raise ValueError("need at least two samples for a standard deviation")
    s = float(np.std(x, ddof=1))
    return Estimate(s, float(np.std(x, ddof=1) / np.sqrt(2 * (x.size - 1))), x.size)


def variance_se(x: np.ndarray) -> Estimate:
    r"""Second central moment :math:`s^2 = \frac1N\sum (x - \bar x)^2` of ``x`` (flattened) with the
    distribution-free standard error :math:`\sqrt{(m_4 - s^4)/N}` (first order, :math:`m_4` the
    fourth central moment)."""
    x = np.ravel(np.asarray(x, dtype=float))
    c = x - x.mean()
    s2 = float(np.mean(c * c))
    m4 = float(np.mean(c**4))
    return Estimate(s2, float(np.sqrt(max(m4 - s2 * s2, 0.0) / x.size)), x.size)


def sd_se(x: np.ndarray) -> Estimate:
    r"""Standard deviation :math:`s = \sqrt{s^2}` (ddof = 0) with the standard error of
    :func:`variance_se` carried by the delta method, :math:`\mathrm{se}(s^2)/(2s)`."""
    x = np.ravel(np.asarray(x, dtype=float))
    c = x - x.mean()
    s2 = float(np.mean(c * c))
    m4 = float(np.mean(c**4))
    s = np.sqrt(s2)
    return Estimate(float(s), float(np.sqrt(max(m4 - s2 * s2, 0.0) / x.size) / (2 * s)), x.size)


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


class NonnegFit(NamedTuple):
    """Result of :func:`nonneg_weighted_fit` (see its Returns section)."""

    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    unconstrained: np.ndarray
    chi2_dof: float


def nonneg_weighted_fit(X: np.ndarray, y: np.ndarray, se: np.ndarray) -> NonnegFit:
    r"""Weighted least squares ``y ~ X @ coef`` with every coefficient constrained to ``>= 0``.

    Minimises :math:`\sum_i (y_i - (X\beta)_i)^2 / se_i^2` subject to :math:`\beta \ge 0`
    (``scipy.optimize.lsq_linear`` on the whitened system :math:`X/se`, :math:`y/se`).

    Parameters
    ----------
    X : array, shape (n, p)
        Design matrix.
    y : array, shape (n,)
        Measured values.
    se : array, shape (n,)
        Their standard errors (> 0).

    Returns
    -------
    NonnegFit
        With fields:
    coef : array, shape (p,)
        Constrained estimate (every entry ``>= 0``).
    coef_se : array, shape (p,)
        Standard errors: the Gaussian covariance :math:`(X^T W X)^{-1}` restricted to the
        coefficients not at their bound (the others are fixed at 0 and get the s.e. of the
        unconstrained problem), inflated by :math:`\max(1, \chi^2/\mathrm{dof})` when the scatter
        exceeds the stated errors (a misspecified model widens, never narrows, the errors).
    cov : array, shape (p, p)
        The covariance behind ``se`` (no correlation with a coefficient at its bound).
    unconstrained : array, shape (p,)
        The ordinary weighted least-squares estimate (may be negative).
    chi2_dof : float
        :math:`\chi^2` of the constrained fit per degree of freedom ``n - p``.

    Raises
    ------
    ValueError
        If the shapes disagree, ``n <= p`` (no degrees of freedom for the scatter check), any
        ``se <= 0`` or any value is not finite.
    """
    from scipy.optimize import lsq_linear  # scipy only where a constrained fit is asked for

    X, y, se = (np.asarray(v, dtype=float) for v in (X, y, se))
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or y.shape != (X.shape[0],) or se.shape != y.shape:
        raise ValueError(f"X must be (n, p) with y and se of shape (n,); got X {X.shape}, y {y.shape}, "
                         f"se {se.shape}")
    n, p = X.shape
    if n <= p:
        raise ValueError(f"X must have more rows than columns (n > p), got n={n}, p={p}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.all(np.isfinite(se))):
        raise ValueError("X, y and se must be finite")
    if np.any(se <= 0):
        raise ValueError(f"se must be > 0, got min(se) = {se.min()!r}")
    Xw, yw = X / se[:, None], y / se
    unconstrained = np.linalg.lstsq(Xw, yw, rcond=None)[0]
    coef = np.maximum(lsq_linear(Xw, yw, bounds=(0.0, np.inf), method="bvls").x, 0.0)
    chi2_dof = float(np.sum((yw - Xw @ coef) ** 2) / (n - p))
    cov = np.diag(np.diag(np.linalg.inv(Xw.T @ Xw)))
    free = coef > 0
    if free.any():
        cov[np.ix_(free, free)] = np.linalg.inv(Xw[:, free].T @ Xw[:, free])
    cov = cov * max(1.0, chi2_dof)
    return NonnegFit(coef, np.sqrt(np.diag(cov)), cov, unconstrained, chi2_dof)


def loglog_interp(q: np.ndarray, x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Row-wise piecewise-linear interpolation of ``f(x)`` at ``q``, extrapolated linearly from the
    end segments; ``x`` (rows sorted in any order), ``f`` of shape ``(R, n)``, ``q`` of shape
    ``(R, m)`` (all in log coordinates)."""
    order = np.argsort(x, axis=1)
    xs, fs = np.take_along_axis(x, order, 1), np.take_along_axis(f, order, 1)
    n = xs.shape[1]
    j = np.clip((xs[:, None, :] < q[:, :, None]).sum(axis=-1) - 1, 0, n - 2)
    x0, x1 = np.take_along_axis(xs, j, 1), np.take_along_axis(xs, j + 1, 1)
    f0, f1 = np.take_along_axis(fs, j, 1), np.take_along_axis(fs, j + 1, 1)
    return f0 + (f1 - f0) * (q - x0) / (x1 - x0)
