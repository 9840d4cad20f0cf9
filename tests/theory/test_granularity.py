"""theory.granularity: the rounding law, its Gaussian average, the per-mode stationary variances and
the linearized Tiki-Taka / Analog SGD rounding excess."""

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import solve_discrete_lyapunov

import theory
from theory import granularity as g

IDS = ["granularity.rounding_moments", "granularity.gaussian_average", "granularity.tt_mode_variance",
       "granularity.asgd_mode_variance", "granularity.tt_excess_slope", "granularity.threshold_first_order",
       "granularity.p_channel_excess"]


@pytest.mark.parametrize("sid", IDS)
def test_registered_derived_and_verifies(sid):
    st = theory.get(sid)
    assert st.kind == "derivation" and st.provenance.status == "derived"
    assert "derived here" in st.provenance.source
    assert st.verify()


def test_rounding_variance_identity_below_one_pulse():
    # the identity dw |Delta| - Delta^2 is what the rounding law gives for |Delta| < dw (sympy) ...
    mean, _, sub = g.rounding_moments()
    assert sp.simplify(sub - (g.dw * g.write - g.write**2)) == 0
    assert sp.simplify(mean - g.dw * (g.k_floor + g.u_frac)) == 0  # unbiased: E[n dw] = |Delta|
    # ... and the numeric helper agrees with it on [0, dw) and is periodic in the fraction above
    dw = 0.01
    delta = np.linspace(0, dw, 101)[:-1]
    np.testing.assert_allclose(g.rounding_variance(delta, dw), dw * delta - delta**2, atol=1e-18)
    np.testing.assert_allclose(g.rounding_variance(delta + 3 * dw, dw), dw * delta - delta**2, atol=1e-17)
    assert np.all(g.rounding_variance(np.array([0.0, dw, 2 * dw]), dw) == 0)  # whole pulses: exact


def test_rounding_variance_matches_the_law_by_sampling():
    # n = floor(x) + Bernoulli(frac(x)) sampled directly: mean and variance within 4 s.e.
    rng = np.random.default_rng(0)
    dw, N = 1e-3, 400_000
    for delta in (2.5e-4, 1.7e-3, 4.05e-3):
        x = delta / dw
        n = np.floor(x) + (rng.uniform(size=N) < x - np.floor(x))
        w = n * dw
        var = float(g.rounding_variance(np.array(delta), dw))
        assert abs(w.mean() - delta) <= 4 * np.sqrt(var / N)
        # variance of a sample variance of a two-point law: (mu4 - var^2)/N <= var * dw^2 / N
        assert abs(w.var() - var) <= 4 * dw * np.sqrt(var / N) + 1e-15


def test_gaussian_average_series_against_quadrature_and_limits():
    for dw in (1 / 300, 1e-3):
        s = np.geomspace(1e-3 * dw, 20 * dw, 200)
        series = g.gaussian_rounding_variance_series(s, dw)
        quad = g.gaussian_rounding_variance(0.0, s, dw)
        np.testing.assert_allclose(quad, series, rtol=1e-3)
    dw = 1e-3
    # dw >> s: dw s sqrt(2/pi) - s^2; s >> dw: dw^2/6
    small = np.array([1e-6, 1e-5])
    np.testing.assert_allclose(g.gaussian_rounding_variance_series(small, dw),
                               dw * small * np.sqrt(2 / np.pi) - small**2, rtol=1e-12)
    assert g.gaussian_rounding_variance_series(np.array(0.05), dw) == pytest.approx(dw**2 / 6, rel=1e-9)
    assert np.all(g.gaussian_rounding_variance_series(s, 0.0) == 0)


def test_many_pulse_branch_continues_the_quadrature():
    # at s/dw = 20 both branches apply: quadrature vs dw^2/6 (1 - 2 w/tau E sgn + w^2/tau^2)
    dw, tau = 1e-3, 1.0
    mean, w = np.array([0.0, 5e-3, -8e-3]), np.array([0.3, -0.4, 0.2])
    s_edge = np.full(3, 20 * dw)
    quad = g.gaussian_rounding_variance(mean, s_edge, dw, w, tau)
    above = g.gaussian_rounding_variance(mean, s_edge * (1 + 1e-9), dw, w, tau)
    np.testing.assert_allclose(above, quad, rtol=2e-3)


def test_gaussian_average_monte_carlo():
    rng = np.random.default_rng(1)
    dw, s, N = 1e-3, 7e-4, 200_000
    v = g.rounding_variance(s * rng.standard_normal(N), dw)
    pred = float(g.gaussian_rounding_variance_series(np.array(s), dw))
    assert abs(v.mean() - pred) <= 4 * v.std() / np.sqrt(N)


def test_tt_mode_closed_form_matches_discrete_lyapunov_at_small_steps():
    # exact discrete 2x2 Lyapunov vs the leading-order closed form; the relative gap is O(step)
    lam, q, r = 0.3, 2e-6, 5e-7
    for eps in (1e-2, 1e-3):
        al, be, b, c = 1.0 * eps, 1.5 * eps, 0.08 * eps, 0.02 * eps
        A = np.array([[1 - b, -be * lam], [al * (1 - b), 1 - c - al * be * lam]])
        Q = np.array([[q, al * q], [al * q, al**2 * q + r]]) * eps**2
        exact = solve_discrete_lyapunov(A, Q)[1, 1]
        closed = float(theory.get("granularity.tt_mode_variance").evaluate(
            alpha=al, beta=be, b=b, c_W=c, q=q * eps**2, r=r * eps**2, **{"lambda": lam}))
        assert exact == pytest.approx(closed, rel=5 * eps)


def test_tt_stationary_reduces_to_the_mode_formula_when_isotropic():
    # H = lambda I, no decays from the soft bounds beyond b: the numeric model's mean-field floor is
    # (lambda/2) Var e of the mode formula (leading order), with b = beta sigma sqrt(2/pi)/tau
    D, lam, tau, sigma, a = 3, 0.2, 1.0, 0.1, 1e-3
    st = g.tt_stationary(lam * np.eye(D), np.zeros(D), tau_value=tau, sigma=sigma, alpha_value=a,
                         beta_value=a, dw_min=0.0)
    b = a * sigma * np.sqrt(2 / np.pi) / tau
    c = float(st.decay_w[0])
    var_e = float(theory.get("granularity.tt_mode_variance").evaluate(
        alpha=a, beta=a, b=b, c_W=c, q=a**2 * sigma**2, r=0.0, **{"lambda": lam}))
    assert st.floor == pytest.approx(lam / 2 * var_e, rel=0.02)
    np.testing.assert_allclose(st.decay_p, b, rtol=1e-3)
    assert st.rho < 1 and st.iterations >= 2


def test_excess_grows_with_granularity_and_vanishes_at_zero():
    H = np.diag([0.05, 0.2, 0.5])
    w = np.array([0.3, -0.2, 0.1])
    kw = dict(tau_value=1.0, sigma=0.1, alpha_value=0.0125)
    dws = np.array([0.0, 1e-4, 1e-3, 3e-3])
    x_tt = g.tt_excess(H, w, dws, beta_value=0.0125, **kw)
    x_a = g.asgd_excess(H, w, dws, **kw)
    assert x_tt[0] == 0 and x_a[0] == 0
    assert np.all(np.diff(x_tt) > 0) and np.all(np.diff(x_a) > 0)
    assert np.all(x_tt[1:] > x_a[1:])  # Tiki-Taka's gain tau/E|g| amplifies its rounding noise


def test_threshold_solves_the_crossing():
    diff = lambda dw: 2.0 * dw  # noqa: E731 - a known curve
    assert g.granularity_threshold(0.004, diff, 1e-4, 1e-1) == pytest.approx(0.002, rel=1e-4)
    with pytest.raises(ValueError, match="no crossing"):
        g.granularity_threshold(1.0, diff, 1e-4, 1e-1)
    with pytest.raises(ValueError, match="gap"):
        g.granularity_threshold(-1.0, diff, 1e-4, 1e-1)


def test_input_validation_names_the_parameter():
    with pytest.raises(ValueError, match="dw_min"):
        g.rounding_variance(np.ones(2), -1.0)
    with pytest.raises(ValueError, match="s must be"):
        g.gaussian_rounding_variance(0.0, np.array([-1.0]), 1e-3)
    with pytest.raises(ValueError, match="sigma"):
        g.tt_stationary(np.eye(2), np.zeros(2), tau_value=1.0, sigma=0.0, alpha_value=0.01,
                        beta_value=0.01, dw_min=0.0)
    with pytest.raises(ValueError, match="H must be"):
        g.asgd_stationary(np.eye(3), np.zeros(2), tau_value=1.0, sigma=0.1, alpha_value=0.01, dw_min=0.0)
