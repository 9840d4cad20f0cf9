import numpy as np
import pytest

import theory
from theory.tiki_taka import p_fixed_point

TT_IDS = ["tt.rate", "rl.rate", "rl.corollary1", "tt.p_fixed_point", "tt.p_fixed_point.shifted",
          "tt.p_max_admissible", "tt.step_size"]


@pytest.mark.parametrize("sid", TT_IDS)
def test_registered_with_provenance(sid):
    st = theory.get(sid)
    assert st.provenance.source and st.provenance.status in ("restated", "derived", "reconstructed")
    if st.kind == "derivation":
        assert st.verify()


def test_fixed_point_is_where_the_conditional_mean_recursion_settles():
    # iterate the conditional-mean map of P numerically (no sympy): p <- p - b mu F(p) - b m G(p)
    tau, c, mu, m, b = 2.0, 0.3, -0.2, 0.5, 0.05
    p = 0.0
    for _ in range(4000):
        F, G = 1 - c * p / tau, p / tau - c
        p = p - b * mu * F - b * m * G
    expr = theory.get("tt.p_fixed_point.shifted")
    pred = float(expr.evaluate(tau=tau, c=c, mu_g=mu, m_g=m)[0, 0])
    assert p == pytest.approx(pred, rel=1e-10)
    soft = float(theory.get("tt.p_fixed_point").evaluate(tau=tau, mu_g=mu, m_g=m))
    assert soft == pytest.approx(-tau * mu / m) and abs(soft) <= tau
    assert pred != pytest.approx(soft)  # the shift moves the fixed point


def test_fixed_point_is_the_symmetric_point_at_a_critical_point():
    import sympy as sp

    from theory.symbols import c_lin, tau
    assert sp.simplify(p_fixed_point(c_lin).subs(sp.Symbol("mu_g", real=True), 0) - c_lin * tau) == 0


def test_rate_factors_and_assumptions():
    tt, rl = theory.get("tt.rate"), theory.get("rl.corollary1")
    common = dict(Delta_0=1.0, sigma=0.5, L=2.0, K=1e4, tau=1.0)
    for pm in (0.0, 0.1, 0.17):
        ratio = float(tt.evaluate(C_TT=1.0, P_max=pm, **common) / rl.evaluate(C_RL=1.0, P_max=pm, **common))
        assert ratio == pytest.approx((1 - pm**2) / (1 - 33 * pm**2))
    assert tt.check_assumptions(P_max=0.17, tau=1.0, c_noise=0.1)["p_saturation"] is True
    assert tt.check_assumptions(P_max=0.18, tau=1.0, c_noise=0.1)["p_saturation"] is False
    assert rl.check_assumptions(P_max=0.5, tau=1.0, gamma=0.4, c=0.0, mu=0.1).as_dict() == {
        "p_saturation": True, "mixing": True, "zero_symmetric_point": True, "strong_convexity": True}
    assert rl.check_assumptions(P_max=0.5, tau=1.0, gamma=0.4, c=0.2, mu=0.1)["zero_symmetric_point"] is False


def test_step_size_scales_as_inverse_sqrt_k():
    st = theory.get("tt.step_size")
    vals = dict(a_1=1.0, a_2=2.0, Delta_0=1.0, L=1.0, sigma=0.3)
    a = np.array([float(st.evaluate(K=K, **vals)[0, 0]) for K in (1e2, 1e4)])
    assert a[0] / a[1] == pytest.approx(10.0)
    assert float(st.evaluate(K=1e2, **vals)[2, 0]) == -0.5


def test_numeric_fixed_point_matches_the_derivation_and_validates():
    from theory.tiki_taka import p_fixed_point_value

    mu, m = np.array([-0.2, 0.0, 0.3]), np.array([0.5, 0.4, 0.35])
    shifted = theory.get("tt.p_fixed_point.shifted")
    expected = [float(shifted.evaluate(tau=2.0, c=0.3, mu_g=x, m_g=y)[0, 0])
                for x, y in zip(mu, m, strict=True)]
    np.testing.assert_allclose(p_fixed_point_value(2.0, 0.3, mu, m), expected, rtol=1e-12)
    np.testing.assert_allclose(p_fixed_point_value(2.0, 0.0, mu, m), -2.0 * mu / m, rtol=1e-12)
    with pytest.raises(ValueError, match="m"):
        p_fixed_point_value(1.0, 0.0, mu, np.zeros(3))
    with pytest.raises(ValueError, match="asymmetry c"):
        p_fixed_point_value(1.0, 1.0, mu, m)
