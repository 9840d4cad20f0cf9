import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from theory import devices as tdev

CASES = [
    (sim.SoftBounds(1.5), tdev.soft_bounds(), {"tau": 1.5}),
    (sim.GeneralizedLinear(2.0, 0.3), tdev.generalized_linear(), {"tau": 2.0, "c": 0.3}),
    (sim.Power(1.0, 0.5), tdev.power(), {"tau": 1.0, "gamma_res": 0.5}),
    (sim.Power(1.0, 3.0), tdev.power(), {"tau": 1.0, "gamma_res": 3.0}),
    (sim.Exponential(0.8, 2.0), tdev.exponential(), {"tau": 0.8, "gamma_res": 2.0}),
    (sim.Ideal(), tdev.ideal(), {}),
]


@pytest.mark.parametrize("dev,resp,params", CASES, ids=lambda c: getattr(c, "name", ""))
def test_numeric_device_matches_symbolic_response(dev, resp, params):
    tau = params.get("tau", 1.0)
    w = np.linspace(-tau, tau, 401)
    for which in ("q_plus", "q_minus", "F", "G", "M"):
        np.testing.assert_allclose(getattr(dev, which)(w), resp.numeric(which, **params)(w),
                                   rtol=1e-12, atol=1e-12, err_msg=which)
    sym = resp.symmetric_point().subs(resp.params.get("tau", 1), tau)
    if "c" in params:
        sym = sym.subs(resp.params["c"], params["c"])
    assert float(dev.symmetric_point()) == pytest.approx(float(sym), abs=1e-12)


@pytest.mark.parametrize("dev,resp,params", CASES, ids=lambda c: getattr(c, "name", ""))
def test_update_is_sign_split_mean_field(dev, resp, params):
    tau = params.get("tau", 1.0)
    rng = np.random.default_rng(0)
    w = rng.uniform(-0.9 * tau, 0.9 * tau, 500)
    d = rng.uniform(-0.05, 0.05, 500) * tau
    expected = w + d * dev.F(w) - np.abs(d) * dev.G(w)
    np.testing.assert_allclose(dev.update(w, d), expected, rtol=1e-12, atol=1e-14)


@given(w=st.floats(-1, 1), d=st.floats(-1, 1), tau=st.floats(0.1, 10))
def test_soft_bounds_box_invariance_and_odd_symmetry(w, d, tau):
    dev = sim.SoftBounds(tau)
    w, d = w * tau, d * tau
    u = w + d - abs(d) * w / tau  # the unclipped map: box invariance means clipping is inactive
    assert abs(u) <= tau * (1 + 1e-12)
    assert dev.update(np.array(w), np.array(d)) == pytest.approx(u, abs=1e-12 * tau)
    assert dev.update(np.array(-w), np.array(-d)) == pytest.approx(-u, abs=1e-12 * tau)


def test_clipping_at_the_bounds():
    dev = sim.SoftBounds(1.0)
    assert dev.update(np.array(0.5), np.array(5.0)) == 1.0  # |d| > tau would overshoot
    assert dev.update(np.array(1.0), np.array(0.3)) == 1.0  # no further up-steps at the bound


def test_per_run_parameters_broadcast():
    dev = sim.SoftBounds(np.array([[1.0], [2.0]]))
    w = np.full((2, 3), 0.5)
    out = dev.update(w, np.full((2, 3), 0.1))
    np.testing.assert_allclose(out[0], 0.5 + 0.1 - 0.1 * 0.5 / 1.0)
    np.testing.assert_allclose(out[1], 0.5 + 0.1 - 0.1 * 0.5 / 2.0)


@pytest.mark.parametrize("make,match", [
    (lambda: sim.SoftBounds(0.0), "tau must be finite and > 0"),
    (lambda: sim.SoftBounds(-1.0), "tau must be finite and > 0"),
    (lambda: sim.SoftBounds(np.inf), "tau must be finite and > 0"),
    (lambda: sim.GeneralizedLinear(1.0, 1.0), r"\|c\| < 1"),
    (lambda: sim.Power(1.0, 0.0), "gamma_res"),
    (lambda: sim.Exponential(1.0, -2.0), "gamma_res"),
])
def test_device_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_check_weights_names_entry_and_range():
    with pytest.raises(ValueError, match=r"W0 must lie in the device range.*1\.5.*\[-1, 1\]"):
        sim.SoftBounds(1.0).check_weights(np.array([0.0, 1.5]))
