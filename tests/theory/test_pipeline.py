"""Theory of pipeline training: delayed-gradient stability (theory.delay) and pipeline bounds."""

import numpy as np
import pytest
import sympy as sp

import theory
from theory.delay import (
    companion_matrix,
    delayed_recursion,
    levin_may_threshold,
    spectral_radius,
    stability_threshold_numeric,
    threshold_derivation,
)
from theory.delay import delay as d_sym

# --- theory.delay -----------------------------------------------------------------------------------


DELAY_IDS = ["delay.charpoly", "delay.stability_threshold", "delay.threshold_large_delay"]


@pytest.mark.parametrize("sid", DELAY_IDS)
def test_delay_derivations_verify(sid):
    assert theory.get(sid).verify()


def test_threshold_root_angle_and_product_form():
    theta0, product, _ = threshold_derivation()
    assert sp.simplify(theta0 - sp.pi / (2 * d_sym + 1)) == 0
    assert sp.simplify(product - 2 * sp.sin(sp.pi / (2 * (2 * d_sym + 1)))) == 0


def test_threshold_known_values():
    np.testing.assert_allclose(levin_may_threshold(np.array([0, 1])), [2.0, 1.0], rtol=0, atol=1e-15)
    # d = 2: 2 cos(2 pi / 5) = (sqrt 5 - 1)/2, the golden-ratio conjugate
    np.testing.assert_allclose(levin_may_threshold(2), (np.sqrt(5) - 1) / 2, rtol=1e-14)


@pytest.mark.parametrize("d", [0, 1, 2, 3, 7, 15, 30])
def test_closed_form_matches_bisection_on_spectral_radius(d):
    # bisection tolerance 1e-12, eigenvalue accuracy ~1e-13 for these small companion matrices
    assert abs(stability_threshold_numeric(d) - levin_may_threshold(d)) < 1e-9


@pytest.mark.parametrize("d", [1, 3, 7])
def test_stable_below_unstable_above(d):
    a_star = float(levin_may_threshold(d))
    a = a_star * np.array([0.5, 0.98, 1.02, 1.5])
    rho = spectral_radius(a, d)
    np.testing.assert_array_equal(rho < 1, [True, True, False, False])
    # 8000 steps: rho^8000 is < e^-15 at 0.98 a* and > e^15 at 1.02 a* for these delays
    x = np.abs(delayed_recursion(a[:3], d, steps=8000))[..., -1]
    assert np.all(x[:2] < 1e-3) and x[2] > 1e3


def test_wrong_threshold_is_rejected():
    # negative control: the delay-free threshold 2 would call a = 1.5 stable at d = 1 -- it is not
    assert spectral_radius(1.5, 1) > 1


def test_companion_matrix_shape_and_iteration():
    a = np.array([0.1, 0.3])
    C = companion_matrix(a, 3)
    assert C.shape == (2, 4, 4)
    s = np.ones((2, 4))
    for _ in range(10):
        s = np.einsum("rij,rj->ri", C, s)
    np.testing.assert_allclose(s[:, 0], delayed_recursion(a, 3, 10)[:, -1])


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_delay_validation(bad):
    with pytest.raises(ValueError, match="delay"):
        companion_matrix(0.1, bad)
