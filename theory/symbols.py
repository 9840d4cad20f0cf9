"""Shared sympy symbols, with the papers' meanings.

Every theory module takes its symbols from here, so that expressions from different modules can be
combined and substituted into each other (sympy symbols with the same name but different assumptions
are different objects).

Notation follows arXiv 2406.12774 (Wu et al., NeurIPS 2024) and its follow-up arXiv 2502.06309.

One name per quantity: the Python name of every symbol here is its sympy name
(``Delta_0 = Symbol("Delta_0")``, ``epsilon``, ``Stilde_K``), which is also the keyword of
``Bound.evaluate`` and of the toolkit's functions (``verify.evaluate_bound(..., Delta_0=...)``,
``theory.certify.agd_vertices(H, alpha, epsilon_sat)``). The one exception is :data:`c_lin`, the
symbol ``c`` (a one-letter module attribute would be shadowed by local variables). Simulator
metrics are the per-iteration *terms* of the averages, named after the term: ``s_ald`` (of
``S_K``), ``sat2`` (of ``Stilde_K``), ``g_over_sqrt_f2`` (of ``S_K_general``); see
``verify.binding.TRAJECTORY_AVERAGES``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

# --- problem constants ------------------------------------------------------------------------
L = sp.Symbol("L", positive=True)  #: smoothness constant of f
mu = sp.Symbol("mu", positive=True)  #: strong-convexity constant of f
Delta_0 = sp.Symbol("Delta_0", positive=True)  #: f(W_0) - f^*
sigma = sp.Symbol("sigma", nonnegative=True)  #: gradient-noise level, E||g - grad f||^2 <= sigma^2
K = sp.Symbol("K", positive=True)  #: number of iterations
epsilon = sp.Symbol("epsilon", positive=True)  #: target accuracy of the stationarity measure

# --- algorithm constants ----------------------------------------------------------------------
alpha = sp.Symbol("alpha", positive=True)  #: learning rate (step size)
beta = sp.Symbol("beta", positive=True)  #: second learning rate (Tiki-Taka / residual learning)
gamma = sp.Symbol("gamma", nonnegative=True)  #: residual-learning mixing weight

# --- device constants -------------------------------------------------------------------------
tau = sp.Symbol("tau", positive=True)  #: dynamic-range radius of the soft-bounds device
c_lin = sp.Symbol("c", real=True)  #: asymmetry of the generalized linear response
gamma_res = sp.Symbol("gamma_res", positive=True)  #: exponent of power / exponential responses
W_max = sp.Symbol("W_max", nonnegative=True)  #: almost-sure bound: ||W_k||_inf <= W_max for every k
P_max = sp.Symbol("P_max", nonnegative=True)  #: max_k ||P_k||_inf (Tiki-Taka auxiliary array)
F_max = sp.Symbol("F_max", positive=True)  #: sup of the symmetric response component F
M_min = sp.Symbol("M_min", positive=True)  #: inf of the saturation vector M = q_+ q_-

# --- trajectory averages that the bounds consume -----------------------------------------------
S_K = sp.Symbol("S_K", nonnegative=True)
"""2024 saturation average (1/K) sum_k (||W_k||^2_inf/tau^2) / (1 - ||W_k||^2_inf/tau^2)."""
Stilde_K = sp.Symbol("Stilde_K", nonnegative=True)
"""Plain saturation average (1/K) sum_k E||W_k||^2_inf / tau^2 (used by the derived bound)."""
S_K_general = sp.Symbol("S_K_general", nonnegative=True)
"""Follow-up (2502.06309) average (1/K) sum_k ||G(W_k)/sqrt(F(W_k))||^2_inf."""

# --- scalars used in element-wise derivations --------------------------------------------------
w = sp.Symbol("w", real=True)  #: one weight (conductance)
d = sp.Symbol("d", real=True)  #: a desired increment of one weight
s = sp.Symbol("s", positive=True)  #: scale of Rademacher noise +-s (or std of Gaussian noise)
w_star = sp.Symbol("w_star", real=True)  #: minimizer of a 1-D quadratic

MEANINGS: dict[str, str] = {
    "L": "smoothness constant of f",
    "mu": "strong-convexity constant of f",
    "Delta_0": "initial suboptimality f(W_0) - f*",
    "sigma": "gradient-noise level: E||g - grad f||^2 <= sigma^2",
    "K": "number of iterations",
    "epsilon": "target value of the averaged squared gradient norm",
    "alpha": "learning rate",
    "beta": "second learning rate (Tiki-Taka / residual learning)",
    "gamma": "residual-learning mixing weight",
    "tau": "dynamic-range radius of the soft-bounds device (bounds +-tau)",
    "c": "asymmetry of the generalized linear response (symmetric point c*tau)",
    "gamma_res": "exponent of the power / exponential response",
    "W_max": "almost-sure bound on ||W_k||_inf: ||W_k||_inf <= W_max < tau for every k < K, surely"
    " (not an expectation)",
    "P_max": "max_k ||P_k||_inf of the Tiki-Taka auxiliary array (< tau)",
    "F_max": "sup of the symmetric response component F",
    "M_min": "inf of the saturation vector M = q_+ q_-",
    "S_K": "expected saturation (1/K) sum_k E[(||W_k||_inf^2/tau^2) / (1 - ||W_k||_inf^2/tau^2)]",
    "Stilde_K": "expected saturation (1/K) sum_k E||W_k||_inf^2 / tau^2 (an expectation over the noise,"
    " averaged over the trajectory)",
    "S_K_general": "(1/K) sum_k ||G(W_k)/sqrt(F(W_k))||_inf^2",
    "w": "one weight (device conductance)",
    "d": "desired increment of one weight",
    "s": "noise scale: Rademacher +-s or Gaussian std s",
    "w_star": "minimizer of the 1-D quadratic",
}


# --- domains ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    r"""The set of legal values of one symbol: a real interval, optionally restricted to integers.

    Every domain excludes NaN and :math:`\pm\infty` (a bound evaluated at a non-finite value is
    meaningless).

    Parameters
    ----------
    lower, upper
        End points of the interval (``-inf`` / ``inf`` for none).
    lower_closed, upper_closed
        Whether the end point itself is legal.
    integer
        Whether only integer values are legal (counts such as K, M, B).

    Examples
    --------
    >>> POSITIVE.check("tau", 1.0)
    array(1.)
    >>> str(COUNT)
    'integer >= 1'
    """

    lower: float = -math.inf
    upper: float = math.inf
    lower_closed: bool = False
    upper_closed: bool = False
    integer: bool = False

    def __str__(self) -> str:
        kind = "integer" if self.integer else "real"
        lo, hi = self.lower, self.upper
        if math.isinf(lo) and math.isinf(hi):
            return f"finite {kind}"
        if math.isinf(hi):
            return f"{kind} {'>=' if self.lower_closed else '>'} {lo:g}"
        if math.isinf(lo):
            return f"{kind} {'<=' if self.upper_closed else '<'} {hi:g}"
        left, right = "[" if self.lower_closed else "(", "]" if self.upper_closed else ")"
        return f"{kind} in {left}{lo:g}, {hi:g}{right}"

    @property
    def phrase(self) -> str:
        """``str(self)`` with its article: "an integer >= 1", "a real > 0"."""
        text = str(self)
        return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"

    def contains(self, value: float | np.ndarray) -> np.ndarray:
        """Elementwise membership (``False`` for NaN and infinities)."""
        x = np.asarray(value, dtype=float)
        ok = np.isfinite(x)
        with np.errstate(invalid="ignore"):
            ok &= (x >= self.lower) if self.lower_closed else (x > self.lower)
            ok &= (x <= self.upper) if self.upper_closed else (x < self.upper)
            if self.integer:
                ok &= np.floor(x) == x
        return ok

    def check(self, name: str, value: object) -> np.ndarray:
        """``value`` as a float array, or ``ValueError`` naming ``name``, the domain and the value.

        Arrays are checked elementwise; the message shows the first offending element.
        """
        try:
            x = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be {self.phrase}; got {value!r}, which is not a real number"
            ) from None
        bad = ~self.contains(x)
        if np.any(bad):
            if x.ndim == 0:
                raise ValueError(f"{name} must be {self.phrase}; got {name} = {_num(x)}")
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} must be {self.phrase}; got {name}[{', '.join(map(str, idx))}] = {_num(x[idx])}"
                f" ({int(bad.sum())} of {x.size} elements outside)"
            )
        return x


def _num(x: object) -> str:
    """Shortest round-trip text of a float, without a trailing ``.0``."""
    text = repr(float(x))  # type: ignore[arg-type]
    return text[:-2] if text.endswith(".0") else text


REAL = Domain()
POSITIVE = Domain(lower=0.0)
NONNEGATIVE = Domain(lower=0.0, lower_closed=True)
COUNT = Domain(lower=1.0, lower_closed=True, integer=True)
INDEX = Domain(lower=0.0, lower_closed=True, integer=True)
UNIT = Domain(lower=0.0, upper=1.0, lower_closed=True, upper_closed=True)

DOMAINS: Mapping[str, Domain] = {
    # problem constants
    "L": POSITIVE, "mu": POSITIVE, "Delta_0": POSITIVE, "sigma": NONNEGATIVE, "K": COUNT,
    "epsilon": POSITIVE,
    # algorithm constants
    "alpha": POSITIVE, "beta": POSITIVE, "gamma": NONNEGATIVE,
    # devices
    "tau": POSITIVE, "c": Domain(lower=-1.0, upper=1.0), "gamma_res": POSITIVE,
    "W_max": NONNEGATIVE, "P_max": NONNEGATIVE, "F_max": POSITIVE, "M_min": POSITIVE,
    # trajectory averages (expectations, >= 0)
    "S_K": NONNEGATIVE, "Stilde_K": NONNEGATIVE, "S_K_general": NONNEGATIVE, "S_K_RL": NONNEGATIVE,
    # element-wise scalars
    "w": REAL, "d": REAL, "s": POSITIVE, "w_star": REAL, "delta": POSITIVE, "n": COUNT,
    "dw_min": POSITIVE,
    # descent identities (one coordinate): gradient, E|g|, G(w) = w/tau, noise std
    "grad_d": REAL, "m_d": NONNEGATIVE, "G_d": REAL, "sigma_d": NONNEGATIVE,
    # pulses (theory/pulses.py)
    "a_up": POSITIVE, "a_down": POSITIVE, "b_max": POSITIVE, "b_lo": POSITIVE,
    "kappa_up": POSITIVE, "kappa_down": POSITIVE, "beta_p": POSITIVE,
    # pipeline (theory/pipeline.py)
    "M": COUNT, "B": COUNT, "b": POSITIVE, "m": COUNT, "a_1": POSITIVE, "a_2": POSITIVE,
    "a_3": POSITIVE, "L_s": POSITIVE, "G": POSITIVE, "D_M": POSITIVE,
    # Tiki-Taka / residual learning (theory/tiki_taka.py)
    "C_TT": POSITIVE, "C_RL": POSITIVE, "c_noise": POSITIVE, "mu_g": REAL, "m_g": POSITIVE,
    # certificates (theory/certify.py)
    "epsilon_sat": UNIT, "lambda": POSITIVE, "kappa_P": NONNEGATIVE, "q_W": POSITIVE,
    "u": Domain(lower=0.0, upper=1.0),
    # delay (theory/delay.py), implicit bias (theory/implicit.py)
    "delay": INDEX, "a": POSITIVE, "z": REAL, "e": NONNEGATIVE, "Sigma": POSITIVE,
    # pulse granularity (theory/granularity.py): dw, floor / size / std of a write, per-step decays
    # and noise variances of one Hessian mode, moments of a gradient and of P, floors and slopes
    "delta_w": POSITIVE, "k": INDEX, "Delta_abs": POSITIVE, "s_Delta": POSITIVE,
    "c_W": NONNEGATIVE, "q": NONNEGATIVE, "r": NONNEGATIVE, "epsilon_step": POSITIVE,
    "s2_g": POSITIVE, "m_P": POSITIVE, "s2_P": POSITIVE, "w_W": REAL,
    "F_TT": POSITIVE, "F_A": POSITIVE, "S_TT": POSITIVE, "S_A": POSITIVE,
    "delta_TT": POSITIVE, "delta_A": POSITIVE,
    # Fourier index and characteristic-function argument of granularity.gaussian_average
    "kk": COUNT, "t": REAL,
    # BL management (theory/pulses.py): requested pulses of the largest and of any element, the
    # update-management ratio sqrt(x_max/d_max)
    "r_req": POSITIVE, "r_elem": POSITIVE, "rho_um": POSITIVE,
}
"""Legal values of every symbol of a registered statement, by name (one table for the package).

``Bound.evaluate``, ``Derivation.evaluate``, ``Assumption.holds`` and ``python -m theory eval``
check their inputs against it. A domain states what the symbol can mean (a count is an integer
>= 1, a variance-like average is >= 0); conditions a theorem needs on top (``W_max < tau``,
``alpha L <= 1``) are *assumptions* of the statement, not domains. ``u`` (a saturation
``w^2/tau^2``, positive in sympy) lies in (0, 1); ``epsilon_sat`` (a saturation radius) in [0, 1]; ``c`` (the
symmetric point over tau) in (-1, 1).
"""


def domain_of(symbol: sp.Symbol | str) -> Domain:
    """The domain of ``symbol``: its entry in :data:`DOMAINS`, else read from its sympy assumptions.

    The fallback (for symbols of statements built outside the registry, e.g. in tests) maps
    ``integer & positive`` to integers >= 1, ``integer & nonnegative`` to integers >= 0,
    ``positive`` to reals > 0, ``nonnegative`` to reals >= 0, anything else to finite reals.
    """
    name = str(symbol)
    if name in DOMAINS:
        return DOMAINS[name]
    if isinstance(symbol, str):
        return REAL
    if symbol.is_integer:
        if symbol.is_positive:
            return COUNT
        if symbol.is_nonnegative:
            return INDEX
        return Domain(integer=True)
    if symbol.is_positive:
        return POSITIVE
    if symbol.is_nonnegative:
        return NONNEGATIVE
    return REAL
