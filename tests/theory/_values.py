"""Plausible values of every theory symbol (inside its domain and the usual assumptions).

Shared by the statement tests and the CLI tests (``tests/reliability/test_theory_cli.py``).
"""

from __future__ import annotations

PLAUSIBLE: dict[str, float] = {
    "K": 1000, "W_max": 0.1, "P_max": 0.1, "tau": 1.0, "epsilon": 0.5, "alpha": 0.01, "L": 1.0,
    "mu": 0.5, "Delta_0": 1.0, "sigma": 0.3, "beta": 0.01, "gamma": 0.4, "c": 0.0, "gamma_res": 1.0,
    "F_max": 1.0, "M_min": 0.9, "S_K": 0.01, "Stilde_K": 0.01, "S_K_general": 0.01, "S_K_RL": 0.01,
    "w": 0.2, "d": 0.05, "s": 0.3, "w_star": 0.5, "delta": 0.05, "n": 10, "dw_min": 0.001,
    "grad_d": 0.3, "m_d": 0.4, "G_d": 0.2, "sigma_d": 0.3, "a_up": 0.01, "a_down": 0.01,
    "b_max": 1.0, "b_lo": 1.0, "kappa_up": 1.0, "kappa_down": 1.0, "beta_p": 0.5, "M": 4, "B": 8,
    "b": 4.0, "m": 2, "a_1": 2.0, "a_2": 1.0, "a_3": 1.0, "L_s": 1.0, "G": 1.0, "D_M": 3.0,
    "C_TT": 1.0, "C_RL": 1.0, "c_noise": 0.1, "mu_g": 0.1, "m_g": 0.5, "epsilon_sat": 0.2,
    "lambda": 0.5, "kappa_P": 0.1, "q_W": 1.0, "u": 0.1, "delay": 2, "a": 0.1, "z": 0.5, "e": 0.3,
    "Sigma": 0.3, "delta_w": 0.003, "k": 2, "Delta_abs": 0.001, "s_Delta": 0.002, "c_W": 0.001,
    "q": 1e-6, "r": 1e-6, "epsilon_step": 0.01, "s2_g": 0.4, "m_P": 0.1, "s2_P": 0.02, "w_W": 0.1,
    "F_TT": 3e-4, "F_A": 6e-4, "S_TT": 0.1, "S_A": 0.01, "delta_TT": 1e-3, "delta_A": 1e-3,
    "kk": 1, "t": 0.5, "r_req": 2.5, "r_elem": 0.7, "rho_um": 1.3,
}


def plausible(names: list[str]) -> dict[str, float]:
    """``PLAUSIBLE`` restricted to ``names`` (KeyError names a symbol without a value)."""
    return {n: PLAUSIBLE[n] for n in names}
