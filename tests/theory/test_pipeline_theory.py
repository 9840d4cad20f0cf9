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


# --- theory.pipeline -----------------------------------------------------------------------------------

PIPELINE_DERIVATIONS = [e.id for e in theory.entries()
                        if e.id.startswith("pipeline.") and e.kind == "derivation"]


@pytest.mark.parametrize("sid", PIPELINE_DERIVATIONS)
def test_pipeline_derivations_verify(sid):
    assert theory.get(sid).verify()


def test_speedup_values_of_the_paper_chart():
    # spec 6.2: B = 8 gives the sync bars 1.778, 2.909, 4.267, 5.053, 5.565
    s = theory.get("pipeline.speedup.sync")
    got = s.evaluate(B=8, M=np.array([2, 4, 8, 12, 16]))
    np.testing.assert_allclose(got, [16 / 9, 32 / 11, 64 / 15, 96 / 19, 128 / 23], rtol=1e-14)
    np.testing.assert_allclose(np.round(got, 3), [1.778, 2.909, 4.267, 5.053, 5.565])


def test_density_of_fig1():
    assert float(theory.get("pipeline.density.sync").evaluate(B=5, M=4)) == pytest.approx(5 / 8)


def test_one_stage_pipelines_coincide_symbolically():
    from theory.pipeline import B, K, M, cycles_async, cycles_none, cycles_sync, n

    assert sp.simplify((cycles_sync() - cycles_none()).subs(M, 1)) == 0
    assert sp.simplify((cycles_async().subs(n, B * K) - cycles_none() * K).subs(M, 1)) == 0


def test_eps1_coefficient_grows_with_delay_factor_and_eps2_does_not():
    from theory.pipeline import D_M, async_eps1_coefficient, epsilon

    c1 = async_eps1_coefficient()
    assert sp.diff(c1, D_M).is_positive is not False and sp.simplify(c1.subs(D_M, 0)) == 0
    lead = theory.get("pipeline.async.eps2_coefficient").derived
    assert D_M not in lead.free_symbols and epsilon in lead.free_symbols


def test_wrong_leading_order_is_rejected():
    # negative control: the sync complexity with the batch forgotten is not what sympy derives
    from theory.pipeline import B, b, c_rho
    from theory.symbols import Delta_0, L, epsilon, sigma

    st = theory.get("pipeline.sync.iteration_complexity")
    wrong = 16 * Delta_0 * L * sigma**2 / (b * c_rho**2 * epsilon**2)
    assert sp.simplify(st.derived - wrong) != 0
    assert sp.simplify(st.derived * B - wrong) == 0


@pytest.mark.parametrize("form,expected", [("sum_sq", (9 + 4 + 1) / 4), ("max_sq", 9.0), ("linear", 3.0)])
def test_delay_factor(form, expected):
    from theory.pipeline import delay_factor

    assert delay_factor(4, form) == expected


def test_delay_factor_validation():
    from theory.pipeline import delay_factor

    with pytest.raises(ValueError, match="stages"):
        delay_factor(0)
    with pytest.raises(ValueError, match="form"):
        delay_factor(3, "cubic")


def test_stationary_variance_closed_forms():
    from theory.delay import stationary_variance

    a = 0.1
    assert stationary_variance(a, 0) == pytest.approx(1 / (a * (2 - a)), rel=1e-12)
    # AR(2) x_{k+1} = x_k - a x_{k-1} + e: (1 + a) / ((1 - a)(2a + a^2))
    assert stationary_variance(a, 1) == pytest.approx((1 + a) / ((1 - a) * (2 * a + a * a)), rel=1e-12)
    with pytest.raises(ValueError, match="a must be in"):
        stationary_variance(1.5, 1)


def test_limits_of_the_schedules():
    from theory.pipeline import B, M

    dens = theory.get("pipeline.density.sync").derived
    assert sp.limit(dens, B, sp.oo) == 1  # long mini-batches hide the bubble
    assert sp.simplify(dens.subs(M, 1)) == 1  # one stage: no bubble
    assert sp.simplify(theory.get("pipeline.speedup.sync").expr.subs(M, 1)) == 1
