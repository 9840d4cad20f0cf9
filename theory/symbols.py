"""Shared sympy symbols, with the papers' meanings.

Every theory module takes its symbols from here, so that expressions from different modules can be
combined and substituted into each other (sympy symbols with the same name but different assumptions
are different objects).

Notation follows arXiv 2406.12774 (Wu et al., NeurIPS 2024) and its follow-up arXiv 2502.06309.
"""

from __future__ import annotations

import sympy as sp

# --- problem constants ------------------------------------------------------------------------
L = sp.Symbol("L", positive=True)  #: smoothness constant of f
mu = sp.Symbol("mu", positive=True)  #: strong-convexity constant of f
Delta0 = sp.Symbol("Delta_0", positive=True)  #: f(W_0) - f^*
sigma = sp.Symbol("sigma", nonnegative=True)  #: gradient-noise level, E||g - grad f||^2 <= sigma^2
K = sp.Symbol("K", positive=True)  #: number of iterations
eps = sp.Symbol("epsilon", positive=True)  #: target accuracy of the stationarity measure

# --- algorithm constants ----------------------------------------------------------------------
alpha = sp.Symbol("alpha", positive=True)  #: learning rate (step size)
beta = sp.Symbol("beta", positive=True)  #: second learning rate (Tiki-Taka / residual learning)
gamma = sp.Symbol("gamma", nonnegative=True)  #: residual-learning mixing weight

# --- device constants -------------------------------------------------------------------------
tau = sp.Symbol("tau", positive=True)  #: dynamic-range radius of the soft-bounds device
c_lin = sp.Symbol("c", real=True)  #: asymmetry of the generalized linear response
gamma_res = sp.Symbol("gamma_res", positive=True)  #: exponent of power / exponential responses
W_max = sp.Symbol("W_max", nonnegative=True)  #: max_k ||W_k||_inf along the trajectory
P_max = sp.Symbol("P_max", nonnegative=True)  #: max_k ||P_k||_inf (Tiki-Taka auxiliary array)
F_max = sp.Symbol("F_max", positive=True)  #: sup of the symmetric response component F
M_min = sp.Symbol("M_min", positive=True)  #: inf of the saturation vector M = q_+ q_-

# --- trajectory averages that the bounds consume -----------------------------------------------
S_K = sp.Symbol("S_K", nonnegative=True)
"""2024 saturation average (1/K) sum_k (||W_k||^2_inf/tau^2) / (1 - ||W_k||^2_inf/tau^2)."""
S_K_tilde = sp.Symbol("Stilde_K", nonnegative=True)
"""Plain saturation average (1/K) sum_k ||W_k||^2_inf / tau^2 (used by the derived bound)."""
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
    "W_max": "max_k ||W_k||_inf along the trajectory (< tau)",
    "P_max": "max_k ||P_k||_inf of the Tiki-Taka auxiliary array (< tau)",
    "F_max": "sup of the symmetric response component F",
    "M_min": "inf of the saturation vector M = q_+ q_-",
    "S_K": "(1/K) sum_k (||W_k||_inf^2/tau^2) / (1 - ||W_k||_inf^2/tau^2)",
    "Stilde_K": "(1/K) sum_k ||W_k||_inf^2 / tau^2",
    "S_K_general": "(1/K) sum_k ||G(W_k)/sqrt(F(W_k))||_inf^2",
    "w": "one weight (device conductance)",
    "d": "desired increment of one weight",
    "s": "noise scale: Rademacher +-s or Gaussian std s",
    "w_star": "minimizer of the 1-D quadratic",
}
