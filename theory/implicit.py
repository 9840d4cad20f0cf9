r"""Where Analog SGD settles: the implicit penalty and the mean-field fixed point.

Conditional mean of Analog SGD on the soft-bounds device:
:math:`E[W'|W] = W - \alpha\nabla f(W) - \frac{\alpha}{\tau} m(W) \odot W` with
:math:`m_d(W) = E|\nabla_d f(W;\xi)|`. At a stationary mean both terms scale with :math:`\alpha`,
which is why the floor does not move with the step size (arXiv 2406.12774 Fig. 1).

* For a quadratic with Hessian :math:`H`, the stationary mean :math:`\bar W` solves
  :math:`H(\bar W - W^*) + m(\nabla f(\bar W)) \odot \bar W / \tau = 0` with
  :math:`m_d(\mu) = E|\mu + \xi_d|` (:func:`mean_field_fixed_point`, spec Sec. 2.5).
* To first order this is the minimizer of the noise-weighted ridge problem
  :math:`f(W) + \frac{1}{2\tau}\|W\|^2_\Sigma`, :math:`\Sigma = E|\nabla f(W^*;\xi)|`
  (arXiv 2502.06309 Thm 1): :math:`\tilde W^* = (H + \mathrm{Diag}(\Sigma)/\tau)^{-1} H W^*`
  (:func:`ridge_minimizer`).

The numeric functions here evaluate theory quantities (lambdified sympy, scipy root finding);
they never call the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import scipy.optimize
import sympy as sp

from ._core import Derivation, Provenance, register
from .devices import Response, soft_bounds
from .symbols import L, s, tau, w, w_star

NoiseKind = Literal["gaussian", "rademacher"]
mu_sym = sp.Symbol("mu_g", real=True)  # mean of a gradient coordinate
_z = sp.Symbol("z", real=True)


def _gaussian_mean_abs_derived() -> sp.Expr:
    phi = sp.exp(-(_z**2) / 2) / sp.sqrt(2 * sp.pi)
    z0 = -mu_sym / s
    upper = sp.integrate((mu_sym + s * _z) * phi, (_z, z0, sp.oo))
    lower = sp.integrate((mu_sym + s * _z) * phi, (_z, -sp.oo, z0))
    return sp.simplify(upper - lower)


GAUSSIAN_MEAN_ABS = s * sp.sqrt(2 / sp.pi) * sp.exp(-(mu_sym**2) / (2 * s**2)) + mu_sym * sp.erf(
    mu_sym / (s * sp.sqrt(2))
)
RADEMACHER_MEAN_ABS = sp.Piecewise((s, sp.Abs(mu_sym) <= s), (sp.Abs(mu_sym), True))


@register(
    "noise.mean_abs.gaussian",
    title="E|mu + s Z| = s sqrt(2/pi) exp(-mu^2/(2 s^2)) + mu erf(mu/(s sqrt 2)), Z ~ N(0,1)",
    kind="derivation",
)
def _gauss() -> Derivation:
    return Derivation(
        id="noise.mean_abs.gaussian",
        title="E|mu + s Z| = s sqrt(2/pi) exp(-mu^2/(2 s^2)) + mu erf(mu/(s sqrt 2)), Z ~ N(0,1)",
        derived=_gaussian_mean_abs_derived(),
        expected=GAUSSIAN_MEAN_ABS,
        steps=("split the integral of |mu + s z| phi(z) at z = -mu/s and integrate each half",),
        provenance=Provenance("spec exact_training Sec. 2.5; integral evaluated by sympy", "derived"),
    )


@register(
    "noise.mean_abs.rademacher",
    title="E|mu +- s| = s for |mu| <= s, |mu| otherwise",
    kind="derivation",
)
def _rade() -> Derivation:
    e = sp.Symbol("e", nonnegative=True)
    # cases |mu| <= s (mu = s * t, |t| <= 1) and mu = s + e (beyond the noise)
    t = sp.Symbol("t", real=True)
    derived = (sp.Abs(mu_sym + s) + sp.Abs(mu_sym - s)) / 2
    return Derivation(
        id="noise.mean_abs.rademacher",
        title="E|mu +- s| = s for |mu| <= s, |mu| otherwise",
        derived=sp.Matrix([derived.subs(mu_sym, s * (2 * t - 1)), derived.subs(mu_sym, s + e)]),
        expected=sp.Matrix([s, s + e]),
        steps=("average |mu + s| and |mu - s|",),
        provenance=Provenance("spec exact_training Sec. 2.5", "derived"),
        cases=({t: sp.Rational(1, 3)}, {t: sp.Rational(9, 10)}, {t: 0}),
    )


def implicit_penalty(response: Response) -> sp.Expr:
    r""":math:`R_c(w) = \int_{w^\diamond}^{w} G/F`: the penalty Analog SGD implicitly adds."""
    x = sp.Symbol("x", real=True)
    ratio = (response.G / response.F).subs(w, x)
    return sp.simplify(sp.integrate(ratio, (x, response.symmetric_point(), w)))


@register(
    "asgd.implicit_penalty.soft_bounds",
    title="soft bounds: implicit penalty R_c(w) = integral of G/F = w^2 / (2 tau)",
    kind="derivation",
)
def _penalty() -> Derivation:
    return Derivation(
        id="asgd.implicit_penalty.soft_bounds",
        title="soft bounds: implicit penalty R_c(w) = integral of G/F = w^2 / (2 tau)",
        derived=implicit_penalty(soft_bounds()),
        expected=w**2 / (2 * tau),
        steps=("R = G/F = w/tau; integrate from the symmetric point 0",),
        provenance=Provenance("arXiv 2502.06309 Thm 1 / Thm 5", "derived"),
    )


@register(
    "asgd.implicit_ridge.1d",
    title="1-D ridge minimizer of L/2 (w - w*)^2 + Sigma w^2/(2 tau): L w* / (L + Sigma/tau)",
    kind="derivation",
)
def _ridge1d() -> Derivation:
    Sig = sp.Symbol("Sigma", positive=True)
    obj = L / 2 * (w - w_star) ** 2 + Sig * w**2 / (2 * tau)
    sol = sp.solve(sp.diff(obj, w), w)[0]
    return Derivation(
        id="asgd.implicit_ridge.1d",
        title="1-D ridge minimizer of L/2 (w - w*)^2 + Sigma w^2/(2 tau): L w* / (L + Sigma/tau)",
        derived=sol,
        expected=L * w_star / (L + Sig / tau),
        steps=("set the derivative of the penalized objective to 0",),
        provenance=Provenance(
            "arXiv 2502.06309 eq. (43) form (its eq. (60) has a sign typo in the denominator)",
            "derived",
        ),
    )


def _mean_abs_expr(kind: NoiseKind) -> sp.Expr:
    if kind == "gaussian":
        return GAUSSIAN_MEAN_ABS
    if kind == "rademacher":
        return sp.Max(s, sp.Abs(mu_sym))
    raise ValueError(f"noise kind must be 'gaussian' or 'rademacher', got {kind!r}")


def mean_abs(kind: NoiseKind, scale: float,
             derivative: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Numeric m(mu) = E|mu + xi| (or dm/dmu) for per-coordinate noise of a kind and scale."""
    if scale < 0:
        raise ValueError(f"noise scale must be >= 0, got {scale}")
    expr = _mean_abs_expr(kind)
    if scale == 0:
        return np.sign if derivative else np.abs
    if derivative:
        expr = sp.diff(expr, mu_sym)
    fn = sp.lambdify(mu_sym, expr.subs(s, scale), modules=["numpy", "scipy"])
    return lambda mu: np.asarray(fn(np.asarray(mu, dtype=float)), dtype=float)


def ridge_minimizer(
    H: np.ndarray, w_star: np.ndarray, Sigma: np.ndarray | float, tau: float
) -> np.ndarray:
    r""":math:`(H + \mathrm{Diag}(\Sigma)/\tau)^{-1} H W^*` (first-order stationary point)."""
    H = np.asarray(H, dtype=float)
    w_star = np.asarray(w_star, dtype=float)
    Sigma = np.broadcast_to(np.asarray(Sigma, dtype=float), w_star.shape)
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return np.linalg.solve(H + np.diag(Sigma) / tau, H @ w_star)


def mean_field_fixed_point(
    H: np.ndarray, w_star: np.ndarray, tau: float, kind: NoiseKind, scale: float
) -> np.ndarray:
    r"""Stationary mean of Analog SGD (soft bounds) on a quadratic as :math:`\alpha \to 0`.

    Solves :math:`H(\bar W - W^*) + m(H(\bar W - W^*)) \odot \bar W/\tau = 0` with scipy's
    ``root``, starting from the ridge minimizer; raises if the solver does not converge.
    """
    H = np.asarray(H, dtype=float)
    w_star = np.asarray(w_star, dtype=float)
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if scale == 0:
        return w_star.copy()
    m = mean_abs(kind, scale)
    dm = mean_abs(kind, scale, derivative=True)  # d m / d mu, from the sympy expression

    def residual(x: np.ndarray) -> np.ndarray:
        g = H @ (x - w_star)
        return g + m(g) * x / tau

    def jacobian(x: np.ndarray) -> np.ndarray:
        g = H @ (x - w_star)
        return H + np.diag(m(g) / tau) + (x / tau * dm(g))[:, None] * H

    x0 = ridge_minimizer(H, w_star, m(np.zeros_like(w_star)), tau)
    sol = scipy.optimize.root(residual, x0, jac=jacobian, method="hybr", options={"xtol": 1e-14})
    scale_terms = np.abs(H @ (sol.x - w_star)).max() + np.abs(m(0 * sol.x) * sol.x / tau).max()
    if not np.all(np.isfinite(sol.x)) or np.abs(residual(sol.x)).max() > 1e-9 * scale_terms:
        raise RuntimeError(f"mean-field fixed point did not converge: {sol.message}")
    return sol.x


def quadratic_loss(H: np.ndarray, w_star: np.ndarray, x: np.ndarray) -> float:
    """f(x) - f* = (x - w*)^T H (x - w*) / 2."""
    dx = np.asarray(x, dtype=float) - np.asarray(w_star, dtype=float)
    return float(dx @ np.asarray(H) @ dx / 2)


def sgd_stationary_loss(H: np.ndarray, alpha: float, std: float | np.ndarray) -> float:
    r"""Stationary :math:`E f - f^*` of digital SGD on a quadratic with isotropic noise.

    The stationary covariance solves :math:`C = (I - \alpha H) C (I - \alpha H) + \alpha^2 s^2 I`;
    in the eigenbasis :math:`c_i = \alpha s^2 / (\lambda_i (2 - \alpha\lambda_i))`, so
    :math:`E f - f^* = \frac{\alpha s^2}{2}\sum_i 1/(2 - \alpha\lambda_i)` (the D-dimensional
    version of ``sgd.floor_1d``). Requires :math:`\alpha\lambda_{\max} < 2`.
    """
    lam = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    if alpha * lam[-1] >= 2:
        raise ValueError(f"digital SGD is unstable: alpha L = {alpha * lam[-1]:.3g} >= 2")
    s2 = float(np.mean(np.broadcast_to(np.square(std), lam.shape)))
    return float(alpha * s2 / 2 * np.sum(1 / (2 - alpha * lam)))
