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
import scipy.linalg
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


def per_sample_fixed_point(A: np.ndarray, y: np.ndarray, tau: float, w_noise: float, *,
                           halved: bool = False, extra_var: np.ndarray | None = None) -> np.ndarray:
    r"""Stationary mean, as :math:`\alpha \to 0`, of Analog SGD on soft bounds that writes a
    least-squares batch **one sample at a time** (aihwkit's mini-batch update,
    :mod:`sim.minibatch`), with the forward pass's additive weight noise as the only noise.

    The loss is :math:`f(W) = \frac cN\sum_n (a_n^\top W - y_n)^2` (``c = 1/2`` if ``halved``). Sample
    n's gradient is :math:`g_n = \frac{2c}{N} e_n a_n` with the read residual
    :math:`e_n = a_n^\top W - y_n + \sigma_w \|a_n\| \xi_n` (aihwkit's ``ADDITIVE_CONSTANT`` weight
    noise, :math:`\xi_n \sim N(0, 1)`). The per-sample update's mean drift
    (:mod:`sim.minibatch`) is :math:`-\alpha \nabla f(W) - \frac{\alpha}{\tau} S(W) \odot W` with
    :math:`S_j(W) = \frac{2c}{N}\sum_n m_n(r_n) |a_{nj}|`, :math:`r_n = a_n^\top W - y_n` and
    :math:`m_n(\mu) = E|\mu + \sigma_w\|a_n\|\xi|` (the Gaussian mean absolute value,
    :data:`GAUSSIAN_MEAN_ABS`). Its zero, :math:`\nabla f(\bar W) + S(\bar W) \odot \bar W / \tau
    = 0`, is found with scipy's ``root`` from the ridge point with :math:`S` at :math:`r = 0`.

    ``extra_var`` (shape ``(N,)``) adds a variance to each read residual's noise: at a step
    :math:`\alpha > 0` the weights fluctuate around :math:`\bar W` with a covariance :math:`C`, which
    adds :math:`a_n^\top C a_n` (see ``pulse.per_sample_drift`` for the first-order-in-alpha
    prediction built on it).

    The summed update (one increment per batch) has the same equation with :math:`S` replaced by
    the mean absolute value of the *summed* gradient's coordinates
    (:func:`mean_field_fixed_point`); since :math:`\sum_n |g_n| \gg |\sum_n g_n|` near the optimum,
    the per-sample point lies much farther from :math:`W^*` (claim ``pulse.per_sample_drift``).
    """
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    if tau <= 0 or w_noise < 0:
        raise ValueError(f"tau must be > 0 and w_noise >= 0, got tau={tau}, w_noise={w_noise}")
    N = A.shape[0]
    c = 0.5 if halved else 1.0
    var = w_noise**2 * np.sum(A**2, axis=1)  # (N,) variance of each read residual's noise
    if extra_var is not None:
        var = var + np.broadcast_to(np.asarray(extra_var, dtype=float), var.shape)
    if np.any(var < 0):
        raise ValueError("extra_var must keep every residual variance >= 0")
    sd = np.sqrt(var)
    noisy = sd > 0
    sd_safe = np.where(noisy, sd, 1.0)  # rows without noise use |r| and sign(r)
    m = sp.lambdify((mu_sym, s), GAUSSIAN_MEAN_ABS, modules=["numpy", "scipy"])
    dm = sp.lambdify((mu_sym, s), sp.diff(GAUSSIAN_MEAN_ABS, mu_sym), modules=["numpy", "scipy"])
    absA = np.abs(A)
    H = (2 * c / N) * A.T @ A
    b = (2 * c / N) * A.T @ y

    def mean_abs_r(r: np.ndarray, f: Callable) -> np.ndarray:
        return np.where(noisy, np.asarray(f(r, sd_safe), dtype=float), np.abs(r))

    def residual(x: np.ndarray) -> np.ndarray:
        S = (2 * c / N) * absA.T @ mean_abs_r(A @ x - y, m)
        return H @ x - b + S * x / tau

    def jacobian(x: np.ndarray) -> np.ndarray:
        r = A @ x - y
        S = (2 * c / N) * absA.T @ mean_abs_r(r, m)
        slope = np.where(noisy, np.asarray(dm(r, sd_safe), dtype=float), np.sign(r))
        dS = (2 * c / N) * (absA * slope[:, None]).T @ A
        return H + np.diag(S / tau) + (x / tau)[:, None] * dS

    S0 = (2 * c / N) * absA.T @ mean_abs_r(np.zeros(N), m)
    # the map x -> (H + Diag(S(x))/tau)^-1 b moves S only through the residuals, so it contracts
    # fast from the ridge point; scipy's root polishes (alone it can stall from there)
    x = np.linalg.solve(H + np.diag(S0 / tau), b)
    for _ in range(1000):
        x_new = np.linalg.solve(H + np.diag((2 * c / N) * absA.T @ mean_abs_r(A @ x - y, m) / tau), b)
        done = np.abs(x_new - x).max() <= 1e-15 * max(1.0, np.abs(x).max())
        x = x_new
        if done:
            break
    sol = scipy.optimize.root(residual, x, jac=jacobian, method="hybr", options={"xtol": 1e-14})
    x = sol.x if np.abs(residual(sol.x)).max() < np.abs(residual(x)).max() else x
    scale_terms = np.abs(b).max() + np.abs(S0 * x / tau).max()
    if not np.all(np.isfinite(x)) or np.abs(residual(x)).max() > 1e-12 * scale_terms:
        raise RuntimeError("per-sample fixed point did not converge (residual"
                           f" {np.abs(residual(x)).max():.3g})")
    return x


def read_offset(A: np.ndarray, w_noise: float, *, halved: bool = False) -> float:
    r"""Expected excess :math:`(f - f^*)/D` of a least-squares loss read through a forward pass with
    additive weight noise (aihwkit ``ADDITIVE_CONSTANT``: output noise of std
    :math:`\sigma_w\|a_n\|` per sample), independent of W:
    :math:`c\,\sigma_w^2 \frac1N\sum_n \|a_n\|^2 / D` (``c = 1/2`` if ``halved``)."""
    A = np.asarray(A, dtype=float)
    c = 0.5 if halved else 1.0
    return c * w_noise**2 * float(np.mean(np.sum(A**2, axis=1))) / A.shape[1]


def per_sample_limit(A: np.ndarray, y: np.ndarray, tau: float, w_noise: float, *,
                     halved: bool = False, read: bool = False) -> float:
    r""":math:`(f(\bar W) - f^*)/D` at the per-sample fixed point (:func:`per_sample_fixed_point`),
    the :math:`\alpha \to 0` plateau of Analog SGD writing the batch one sample at a time; with
    ``read=True`` plus :func:`read_offset` (the loss as a training script reads it, through the
    noisy forward pass)."""
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    c = 0.5 if halved else 1.0
    w = per_sample_fixed_point(A, y, tau, w_noise, halved=halved)
    w_ls = np.linalg.lstsq(A, y, rcond=None)[0]
    excess = c * (float(np.mean((A @ w - y) ** 2)) - float(np.mean((A @ w_ls - y) ** 2))) / A.shape[1]
    return excess + (read_offset(A, w_noise, halved=halved) if read else 0.0)


def per_sample_plateau(A: np.ndarray, y: np.ndarray, tau: float, w_noise: float, alpha: float, *,
                       halved: bool = False, summed: bool = False) -> tuple[float, float]:
    r"""The plateau :math:`(E f - f^*)/D` of mean-field Analog SGD (soft bounds) writing a
    least-squares batch one update per sample, to first order in the step ``alpha``, and its
    :math:`\alpha \to 0` limit :math:`(f(\bar W) - f^*)/D` (:func:`per_sample_fixed_point`).

    First order: around the stationary point the weights fluctuate with the covariance :math:`C`
    of :math:`C = (I - \alpha H) C (I - \alpha H) + \alpha^2 C_g` (scipy's discrete Lyapunov
    solver), :math:`C_g = \frac{4c^2}{N^2}\sum_n \sigma_w^2\|a_n\|^2 a_n a_n^\top` the batch
    gradient's noise covariance. The fluctuation adds :math:`\mathrm{tr}(HC)/2` to the loss and
    :math:`a_n^\top C a_n` to each read residual's variance, which moves the stationary point
    (``extra_var`` of :func:`per_sample_fixed_point`).

    ``summed=True`` replaces the per-sample drift by the summed update's (one increment per batch):
    :func:`mean_field_fixed_point` under isotropic noise of :math:`C_g`'s mean diagonal; the limit
    returned is that point's loss.
    """
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    N, D = A.shape
    c = 0.5 if halved else 1.0
    H = (2 * c / N) * A.T @ A
    Cg = (4 * c**2 / N**2) * (A.T * (w_noise**2 * np.sum(A**2, axis=1))) @ A
    M = np.eye(D) - alpha * H
    if np.abs(np.linalg.eigvalsh(M)).max() >= 1:
        raise ValueError(f"alpha = {alpha} is unstable on this problem (alpha L >= 2)")
    C = scipy.linalg.solve_discrete_lyapunov(M, alpha**2 * Cg)
    w_ls = np.linalg.lstsq(A, y, rcond=None)[0]

    def loss(w: np.ndarray) -> float:
        return float(c * np.mean((A @ w - y) ** 2) - c * np.mean((A @ w_ls - y) ** 2)) / D

    if summed:
        w_bar = mean_field_fixed_point(H, w_ls, tau, "gaussian", float(np.sqrt(np.mean(np.diag(Cg)))))
        limit = loss(w_bar)
    else:
        w_bar = per_sample_fixed_point(A, y, tau, w_noise, halved=halved,
                                       extra_var=np.einsum("nd,de,ne->n", A, C, A))
        limit = per_sample_limit(A, y, tau, w_noise, halved=halved)
    return loss(w_bar) + float(np.trace(H @ C)) / 2 / D, limit
