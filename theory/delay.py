r"""Gradient steps with a delay: the scalar recursion, its companion matrix, its exact stability threshold.

On the quadratic :math:`f(x) = \tfrac{\lambda}{2}x^2`, gradient descent whose gradient is evaluated
``d`` steps late (the forward weights of the first stage of an asynchronous pipeline with
:math:`M = d + 1` stages, arXiv 2410.15155) is the linear recursion

.. math:: x_{k+1} = x_k - a\,x_{k-d}, \qquad a = \alpha\lambda,

with characteristic polynomial :math:`p(z) = z^{d+1} - z^d + a`. It is asymptotically stable iff
every root lies in the open unit disc, which holds exactly for

.. math:: 0 < a < a^*(d) = 2\cos\frac{d\pi}{2d+1} = 2\sin\frac{\pi}{2(2d+1)}

(Levin & May, "A note on difference-delay equations", Theor. Popul. Biol. 9 (1976) 178-187).
Without delay :math:`a^*(0) = 2` (the usual :math:`\alpha < 2/\lambda`); for large ``d``,
:math:`a^*(d) \sim \pi/(2d)`: the step size must shrink like ``1/delay``.

Registered statements
---------------------
``delay.charpoly``
    The companion matrix of the recursion has characteristic polynomial :math:`z^{d+1} - z^d + a`
    (sympy ``charpoly`` for ``d = 0..5``).
``delay.stability_threshold``
    Derivation of :math:`a^*(d)`: put a root on the unit circle, :math:`z = e^{i\theta}`, so
    :math:`a = e^{i\theta d} - e^{i\theta(d+1)}`; a real ``a`` needs
    :math:`\operatorname{Im} = -2\cos(\theta(2d+1)/2)\sin(\theta/2) = 0`, i.e.
    :math:`\theta = \pi/(2d+1)` (smallest positive root, sympy ``solve``), and then
    :math:`a = \operatorname{Re} = 2\sin(\pi/(2(2d+1))) = 2\cos(d\pi/(2d+1))` (sympy sum-to-product).
    That this first crossing is where stability is lost (the roots start inside the disc at small
    ``a`` and leave it there) is the part sympy does not prove; :func:`spectral_radius` and
    :func:`stability_threshold_numeric` check it numerically.
``delay.threshold_large_delay``
    :math:`\lim_{d\to\infty} d\,a^*(d) = \pi/2`.

Numeric helpers (numpy): :func:`companion_matrix`, :func:`spectral_radius`,
:func:`levin_may_threshold`, :func:`stability_threshold_numeric`, :func:`delayed_recursion`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.simplify.fu import TR9

from ._core import Assumption, Derivation, Provenance, register

#: delay of the gradient (in steps)
delay = sp.Symbol("delay", integer=True, nonnegative=True)
#: step size times curvature, a = alpha * lambda
a_step = sp.Symbol("a", positive=True)
#: angle of a characteristic root on the unit circle
theta = sp.Symbol("theta", positive=True)
z = sp.Symbol("z")

_LEVIN_MAY = "Levin & May, Theor. Popul. Biol. 9 (1976) 178-187 (stability of x_{k+1} = x_k - a x_{k-d})"
_PIPELINE = (
    "arXiv 2410.15155: the asynchronous pipeline's first stage sees weights M - 1 updates old "
    "(spec pipeline_training.md 3.4)"
)


# --- numeric helpers --------------------------------------------------------------------------------


def _check_delay(value: int, name: str = "delay") -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def companion_matrix(a: float | np.ndarray, delay: int) -> np.ndarray:
    r"""Companion matrix of :math:`x_{k+1} = x_k - a\,x_{k-d}` on the state
    :math:`s_k = (x_k, x_{k-1}, \dots, x_{k-d})`, so that :math:`s_{k+1} = C s_k`.

    Parameters
    ----------
    a
        Step times curvature :math:`\alpha\lambda`; a scalar or an array of shape ``S``.
    delay
        Delay ``d >= 0`` (an integer).

    Returns
    -------
    numpy.ndarray
        Shape ``(*S, d + 1, d + 1)``: first row ``(1, 0, ..., 0, -a)`` (``(1 - a)`` when ``d = 0``),
        then the shift :math:`(s_{k+1})_i = (s_k)_{i-1}`.
    """
    d = _check_delay(delay)
    a = np.asarray(a, dtype=float)
    n = d + 1
    C = np.zeros((*a.shape, n, n))
    C[..., 0, 0] = 1.0
    C[..., 0, n - 1] -= a
    if n > 1:
        idx = np.arange(1, n)
        C[..., idx, idx - 1] = 1.0
    return C


def spectral_radius(a: float | np.ndarray, delay: int) -> np.ndarray:
    """Largest modulus of the eigenvalues of :func:`companion_matrix` (batched over ``a``).

    The recursion is asymptotically stable iff the result is ``< 1``.
    """
    return np.max(np.abs(np.linalg.eigvals(companion_matrix(a, delay))), axis=-1)


def levin_may_threshold(delay: int | np.ndarray) -> np.ndarray:
    r"""Exact stability threshold :math:`a^*(d) = 2\cos(d\pi/(2d+1))` (array in, array out).

    ``x_{k+1} = x_k - a x_{k-d}`` is stable iff ``0 < a < a^*(d)``; ``a^*(0) = 2``, ``a^*(1) = 1``.
    """
    d = np.asarray(delay)
    if not np.issubdtype(d.dtype, np.integer) and not np.all(d == np.floor(d)):
        raise ValueError(f"delay must be a non-negative integer (or array of them), got {delay!r}")
    if np.any(d < 0):
        raise ValueError(f"delay must be >= 0, got {delay!r}")
    d = d.astype(float)
    return 2.0 * np.cos(d * np.pi / (2.0 * d + 1.0))


def stability_threshold_numeric(delay: int, tol: float = 1e-12) -> float:
    """The threshold found by bisection on :func:`spectral_radius` ``= 1`` over ``a`` in (0, 2].

    An independent numeric check of :func:`levin_may_threshold` (no closed form used).
    """
    d = _check_delay(delay)
    if not 0 < tol < 1e-2:
        raise ValueError(f"tol must be in (0, 1e-2), got {tol!r}")
    lo, hi = 0.0, 2.0 + 1e-9
    if spectral_radius(hi, d) < 1:  # pragma: no cover - cannot happen (a >= 2 is always unstable)
        raise RuntimeError("recursion stable at a = 2")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if spectral_radius(mid, d) < 1.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def delayed_recursion(a: float | np.ndarray, delay: int, steps: int, x0: float = 1.0) -> np.ndarray:
    r"""Iterate :math:`x_{k+1} = x_k - a\,x_{k-d}` from :math:`x_j = x_0` for :math:`j \le 0`.

    Returns the iterates, shape ``(*a.shape, steps + 1)``. Vectorized over ``a``.
    """
    d = _check_delay(delay)
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    a = np.asarray(a, dtype=float)
    hist = np.full((*a.shape, steps + 1 + d), float(x0))
    for k in range(d, steps + d):
        hist[..., k + 1] = hist[..., k] - a * hist[..., k - d]
    return hist[..., d:]


# --- symbolic statements ------------------------------------------------------------------------------


def characteristic_polynomial(d: int) -> sp.Expr:
    """sympy's characteristic polynomial of the companion matrix for a concrete delay ``d``."""
    d = _check_delay(d)
    n = d + 1
    C = sp.zeros(n, n)
    C[0, 0] = 1
    C[0, n - 1] += -a_step
    for i in range(1, n):
        C[i, i - 1] = 1
    return sp.expand(C.charpoly(z).as_expr())


@register(
    "delay.charpoly",
    title="companion matrix of x_{k+1} = x_k - a x_{k-d}: det(zI - C) = z^{d+1} - z^d + a",
    kind="derivation",
)
def _charpoly() -> Derivation:
    # a tuple of concrete delays, stacked so one Derivation checks them all
    ds = range(6)
    derived = sp.Matrix([characteristic_polynomial(d) for d in ds])
    expected = sp.Matrix([z ** (d + 1) - z**d + a_step for d in ds])
    return Derivation(
        id="delay.charpoly",
        title="companion matrix of x_{k+1} = x_k - a x_{k-d}: det(zI - C) = z^{d+1} - z^d + a",
        derived=derived,
        expected=expected,
        steps=("C = [[1, 0..0, -a], [shift]]", "sympy Matrix.charpoly for d = 0..5"),
        provenance=Provenance(_PIPELINE, "derived"),
    )


def threshold_derivation() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""``(theta_0, a_on_circle, a_star)``: the root angle and the threshold, derived with sympy.

    On :math:`z = e^{i\theta}`, :math:`p(z) = 0` gives :math:`a = z^d - z^{d+1}`. Its imaginary part
    factors as :math:`-2\cos(\theta(2d+1)/2)\sin(\theta/2)` (checked); the smallest positive zero is
    solved for; the real part there is turned into a product (sum-to-product, ``fu.TR9``) and the
    co-function identity gives the Levin-May form.
    """
    z_circ = sp.exp(sp.I * theta)
    a_circ = sp.expand_complex(z_circ**delay - z_circ ** (delay + 1))
    im = sp.im(a_circ)
    factored = -2 * sp.cos(theta * (2 * delay + 1) / 2) * sp.sin(theta / 2)
    if sp.simplify(im - factored) != 0:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"imaginary part {im} does not factor as {factored}")
    roots = sp.solve(sp.cos(theta * (2 * delay + 1) / 2), theta)
    roots = sorted(roots, key=lambda r: float(r.subs(delay, 1)))
    theta0 = roots[0]
    re = sp.re(a_circ).subs(theta, theta0)
    product = sp.simplify(TR9(re))  # 2 sin(pi / (2 (2d + 1)))
    # sin x = cos(x - pi/2) and cos is even: cos(-u) = cos(u)
    a_star = product.rewrite(sp.cos).replace(sp.cos, lambda u: sp.cos(sp.factor(-u)))
    return theta0, product, a_star


@register(
    "delay.stability_threshold",
    title="delayed gradient step x_{k+1} = x_k - a x_{k-d} is stable iff a < 2 cos(d pi/(2d+1))",
    kind="derivation",
)
def _threshold() -> Derivation:
    _, _, a_star = threshold_derivation()
    return Derivation(
        id="delay.stability_threshold",
        title="delayed gradient step x_{k+1} = x_k - a x_{k-d} is stable iff a < 2 cos(d pi/(2d+1))",
        derived=a_star,
        expected=2 * sp.cos(delay * sp.pi / (2 * delay + 1)),
        steps=(
            "characteristic polynomial z^{d+1} - z^d + a (delay.charpoly)",
            "root on the unit circle z = e^{i theta}: a = e^{i theta d} - e^{i theta (d+1)}",
            "Im a = -2 cos(theta (2d+1)/2) sin(theta/2) = 0  ->  theta = pi/(2d+1) (smallest root)",
            "Re a at theta = pi/(2d+1) = 2 sin(pi/(2(2d+1))) = 2 cos(d pi/(2d+1))",
            "first crossing as a grows from 0 (roots start inside the disc): checked numerically",
        ),
        provenance=Provenance(
            _LEVIN_MAY + "; " + _PIPELINE,
            "derived",
            "The root-on-circle condition and the closed form are derived with sympy; that stability "
            "is lost at the first crossing (and not regained) is checked numerically by "
            "stability_threshold_numeric / spectral_radius for d = 0..30.",
        ),
        assumptions=(Assumption("step_positive", a_step > 0, "a = alpha lambda > 0"),),
    )


@register(
    "delay.threshold_large_delay",
    title="d * a*(d) -> pi/2: the stable step shrinks like 1/delay",
    kind="derivation",
)
def _large_delay() -> Derivation:
    expr = 2 * sp.cos(delay * sp.pi / (2 * delay + 1))
    return Derivation(
        id="delay.threshold_large_delay",
        title="d * a*(d) -> pi/2: the stable step shrinks like 1/delay",
        derived=sp.limit(delay * expr, delay, sp.oo),
        expected=sp.pi / 2,
        steps=("limit_{d -> oo} 2 d cos(d pi/(2d+1))",),
        provenance=Provenance(
            _LEVIN_MAY, "derived", "supports the step-size cap alpha <= c/(L (1 + d_max)) of delayed analyses"
        ),
    )


def stationary_variance(a: float, delay: int) -> float:
    r"""Stationary variance of :math:`x_{k+1} = x_k - a\,x_{k-d} + e_k` with unit-variance white
    :math:`e_k`: :math:`P_{00}` of the discrete Lyapunov equation :math:`P = C P C^\top + e_1 e_1^\top`.

    Finite iff ``0 < a < levin_may_threshold(delay)``. For ``d = 0``: :math:`1/(a(2-a))`. The excess
    :math:`V(a, d) - V(a, 0)` is the staleness term of a delayed SGD step on a quadratic.
    """
    from scipy.linalg import solve_discrete_lyapunov

    d = _check_delay(delay)
    if not 0 < a < float(levin_may_threshold(d)):
        raise ValueError(f"a must be in (0, a*({d}) = {float(levin_may_threshold(d)):.6g}), got {a!r}")
    C = companion_matrix(a, d)
    Q = np.zeros((d + 1, d + 1))
    Q[0, 0] = 1.0
    return float(solve_discrete_lyapunov(C, Q)[0, 0])


def depth_eps1_coefficient(M: int, *, c: float, sigma: float, w0: float, dim: int) -> float:
    r"""Predicted :math:`\Delta C_M` of :math:`K_M(\epsilon) - K_1(\epsilon) = \Delta C_M/\epsilon +
    O(1)` for :func:`sim.pipeline.async_quadratic_E_K` (:math:`\lambda = 1`, every weight starting at
    :math:`w_0`, :math:`\alpha = c/\sqrt K`).

    Stage m runs :math:`x_{k+1} = x_k - \alpha x_{k-d} + \alpha\xi_k` with delay :math:`d = M - m`.
    The delay raises the stationary variance by :math:`V(\alpha, d) - V(\alpha, 0) = d/2 + O(\alpha)`
    (``theory.delay.stationary_variance``), i.e. adds :math:`D\alpha^2\sigma^2 d/2` to the averaged
    squared gradient, and speeds the transient (dominant root :math:`1 - \alpha - d\alpha^2`), which
    removes :math:`D w_0^2 d/2` from :math:`\sum_k \|x_k\|^2`, i.e. :math:`D w_0^2 d/(2K)` from the
    average. Summed over :math:`\sum_m d = M(M-1)/2` and divided by M: :math:`E_K` gains
    :math:`b_M/K`, :math:`b_M = D(c^2\sigma^2 - w_0^2)(M-1)/4`, and inverting
    :math:`\epsilon = aK^{-1/2} + bK^{-1}` gives :math:`K = a^2/\epsilon^2 + 2b/\epsilon + O(1)`:
    :math:`\Delta C_M = D(c^2\sigma^2 - w_0^2)(M-1)/2`. Derived here (not the paper's constant,
    which bounds the staleness term from above); zero when :math:`w_0 = c\sigma`.
    """
    return dim * (c**2 * sigma**2 - w0**2) * (M - 1) / 2
