"""sim.pipeline.depth_increment and fit_eps1 on curves whose increment is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import depth_increment, fit_eps1
from theory.delay import depth_eps1_coefficient


def _curves(b: float, a: float = 0.0, runs: int = 4):
    """E_K of a reference K_1(eps) = 1/eps^2 (E = K^-1/2) and of a deeper pipeline whose K at every
    eps is larger by a + b/eps, per run (runs differ by a scale so the pairing matters)."""
    Ks = np.array([250.0, 500, 1000, 2000, 4000, 8000])
    scale = np.linspace(0.9, 1.1, runs)
    E1 = scale[None, :] / np.sqrt(Ks)[:, None]  # K_1(eps) = (s/eps)^2 for run with scale s
    # deeper pipeline: at its K, eps solves K = (s/eps)^2 + a + b/eps
    EM = np.empty_like(E1)
    for j, s in enumerate(scale):
        for i, K in enumerate(Ks):
            roots = np.roots([K - a, -b, -s**2])  # (K - a) eps^2 - b eps - s^2 = 0
            EM[i, j] = roots[roots > 0].max()
    return Ks, E1, EM


@pytest.mark.parametrize("b", [3.0, 0.0, -2.0])
def test_increment_and_fit_recover_a_known_eps1_term(b):
    Ks, E1, EM = _curves(b, a=5.0)
    eps, inc, se = depth_increment(Ks, E1, EM)
    assert eps.shape == inc.shape == se.shape == Ks.shape
    # exact up to the log-log interpolation of K_1 (a straight line here: exact)
    fit = fit_eps1(eps, inc, np.full_like(inc, 1e-3))
    assert fit.b == pytest.approx(b, abs=0.05) and fit.a == pytest.approx(5.0, abs=2.0)


def test_control_an_eps2_increment_is_not_an_eps1_term():
    """A depth that multiplied the leading term (K_M = 2 K_1) gives a b far from any O(1) value and
    a poor fit: the fit can tell the two apart."""
    Ks = np.array([250.0, 500, 1000, 2000, 4000, 8000])
    E1 = np.tile(1 / np.sqrt(Ks)[:, None], (1, 3))
    EM = np.sqrt(2.0) * E1  # K_M(eps) = 2/eps^2
    eps, inc, _ = depth_increment(Ks, E1, EM)
    fit = fit_eps1(eps, inc, np.maximum(1e-3 * inc, 1e-6))
    assert fit.chi2_dof > 100


def test_derived_coefficient_cancels_at_w0_equal_c_sigma():
    assert depth_eps1_coefficient(8, c=1.0, sigma=0.5, w0=0.5, dim=4) == 0.0
    assert depth_eps1_coefficient(8, c=1.0, sigma=0.5, w0=0.0, dim=4) == pytest.approx(3.5)
    assert depth_eps1_coefficient(1, c=2.0, sigma=1.0, w0=0.0, dim=4) == 0.0
