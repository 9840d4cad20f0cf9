"""verify.device_from_response: one definition per device (theory response -> sim.Device).

The hand-written built-ins of sim.devices are checked against the device built from the symbolic
response: same q+/q-/F/G/M on grids, same symmetric point, same update, same trajectories.
"""

import pickle

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sim
from theory import devices as tdev
from theory.symbols import tau
from theory.symbols import w as w_sym
from verify import ResponseDevice, device_from_response

# float64 evaluation of the same expression in two algebraic forms (simplified sympy vs the
# hand-written numpy): a few ulps of the O(1) values on the range
RTOL, ATOL = 1e-12, 1e-12

EPS = float(np.finfo(float).eps)

taus = st.floats(0.1, 10.0)


def _derivative(dev: ResponseDevice, which: str, w: np.ndarray) -> np.ndarray:
    """d(which)/dw of the response at w (sympy derivative, lambdified)."""
    expr = sp.diff(getattr(dev.response, which), w_sym)
    fn = sp.lambdify((w_sym, *dev.response.params.values()), expr, modules="numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(fn(w, *dev.params.values()), np.shape(w))
gammas = st.floats(0.2, 4.0)


def _pairs(t: float, c: float, g: float) -> list[tuple[sim.Device, ResponseDevice]]:
    return [
        (sim.SoftBounds(t), device_from_response(tdev.soft_bounds(), tau=t)),
        (sim.GeneralizedLinear(t, c), device_from_response(tdev.generalized_linear(), tau=t, c=c)),
        (sim.Power(t, g), device_from_response(tdev.power(), tau=t, gamma_res=g)),
        (sim.Exponential(t, g), device_from_response(tdev.exponential(), tau=t, gamma_res=g)),
        (sim.Ideal(), device_from_response(tdev.ideal())),
    ]


@settings(max_examples=15, deadline=None)
@example(t=3.4710780786776296, c=0.0, g=0.3045757868934873, u=[0.0, 0.9999999999999999])  # near tau
@given(t=taus, c=st.floats(-0.9, 0.9), g=gammas, u=st.lists(st.floats(-1, 1), min_size=1, max_size=20))
def test_builtins_match_the_response_path(t, c, g, u):
    for builtin, built in _pairs(t, c, g):
        w = t * np.asarray(u)
        for which in ("q_plus", "q_minus", "F", "G", "M"):
            a, b = getattr(built, which)(w), getattr(builtin, which)(w)
            # conditioning: the two forms round the argument w/tau differently, by a few ulps of 1
            # (1 - w/tau vs (tau - w)/tau); that error is amplified by the derivative, unbounded at
            # the range's ends for gamma_res < 1 (exactly at the ends both give the exact 0)
            slack = np.nan_to_num(8 * EPS * t * np.abs(_derivative(built, which, w)), posinf=0.0)
            bad = np.abs(a - b) > RTOL * np.abs(b) + ATOL + slack
            assert not np.any(bad), (builtin.name, which, w[bad], a[bad], b[bad], slack[bad])
        assert float(built.symmetric_point()) == pytest.approx(float(builtin.symmetric_point()),
                                                               abs=ATOL * t)
        np.testing.assert_allclose(built.w_min, builtin.w_min)
        np.testing.assert_allclose(built.w_max, builtin.w_max)
        assert float(built.tau) == float(builtin.tau)
        d = 0.05 * t * np.asarray(u)[::-1]
        np.testing.assert_allclose(built.update(w, d), builtin.update(w, d), rtol=RTOL, atol=ATOL * t)


def test_array_parameters_broadcast_per_run():
    taus_ = np.array([[1.0], [2.0]])
    cs = np.array([[0.1], [-0.3]])
    built = device_from_response(tdev.generalized_linear(), tau=taus_, c=cs)
    builtin = sim.GeneralizedLinear(taus_, cs)
    w = np.array([[0.5, -0.2, 0.9], [1.5, -1.9, 0.0]])
    np.testing.assert_allclose(built.G(w), builtin.G(w), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(built.symmetric_point(), builtin.symmetric_point(), atol=ATOL)
    assert built.array_params().keys() == {"tau", "c"}
    with pytest.raises(ValueError, match="c"):
        built.check_shape((3, 3))


def test_trajectories_agree_under_every_optimizer():
    prob = sim.paper_problem("exact_fig3")
    kw = dict(steps=200, seeds=3, noise=sim.GaussianNoise(0.1), record=("loss", "g_over_sqrt_f2"),
              progress=False)
    for builtin, built in _pairs(1.0, 0.2, 0.5)[1:4]:
        for make in (lambda d: sim.AnalogSGD(0.05, d),
                     lambda d: sim.TikiTaka(0.05, 0.1, d),
                     lambda d: sim.TikiTaka(0.05, 0.1, d, gamma=0.2)):
            a, b = sim.simulate(prob, make(builtin), **kw), sim.simulate(prob, make(built), **kw)
            # same numbers up to float64 rounding of the two algebraic forms, propagated over 200 steps
            np.testing.assert_allclose(b.final_weights, a.final_weights, rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(b["g_over_sqrt_f2"], a["g_over_sqrt_f2"], rtol=1e-8, atol=1e-12)


def test_custom_response_without_closed_form_root_uses_bisection():
    w = sp.Symbol("w", real=True)
    # G = (q- - q+)/2 = w/tau - 0.3 + w^5/(5 tau^5): sympy has no radical root of this quintic
    q_plus = 2 - w / tau + sp.Rational(3, 10) - w**5 / (5 * tau**5)
    q_minus = 2 + w / tau - sp.Rational(3, 10) + w**5 / (5 * tau**5)
    resp = tdev.Response("quintic", q_plus, q_minus, {"tau": tau}, (-tau, tau))
    dev = device_from_response(resp, tau=np.array([[1.0], [3.0]]))
    root = dev.symmetric_point()
    assert root.shape == (2, 1)
    np.testing.assert_allclose(dev.G(root), 0.0, atol=1e-12)
    assert np.all((root > 0) & (root < np.array([[1.0], [3.0]])))


def test_symmetric_point_picks_the_root_inside_the_range():
    w = sp.Symbol("w", real=True)
    # G = w^2/tau^2 - 1/4 has roots +-tau/2; on the range [0, tau] only tau/2 is a symmetric point
    resp = tdev.Response("half", 1 - (w**2 / tau**2 - sp.Rational(1, 4)),
                         1 + (w**2 / tau**2 - sp.Rational(1, 4)), {"tau": tau}, (0, tau))
    assert device_from_response(resp, tau=2.0).symmetric_point() == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("kwargs,match", [
    (dict(), r"parameters must be exactly \['tau'\]; missing \['tau'\]"),
    (dict(tau=1.0, c=0.1), r"unknown \['c'\]"),
    (dict(tau=-1.0), r"soft_bounds parameter tau must be a real > 0; got .*-1"),
    (dict(tau=np.nan), r"tau must be a real > 0"),
])
def test_parameter_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        device_from_response(tdev.soft_bounds(), **kwargs)


def test_negative_response_and_missing_root_are_rejected():
    w = sp.Symbol("w", real=True)
    neg = tdev.Response("neg", 1 - 2 * w / tau, 1 + 2 * w / tau, {"tau": tau}, (-tau, tau))
    with pytest.raises(ValueError, match=r"q_plus must be finite and >= 0 on the dynamic range"):
        device_from_response(neg, tau=1.0)
    # G = (2 + w/tau)/2: its root -2 tau lies outside the range
    shifted = tdev.Response("shifted", sp.Integer(1), 3 + w / tau, {"tau": tau}, (-tau, tau))
    with pytest.raises(ValueError, match="no symmetric point"):
        device_from_response(shifted, tau=1.0)
    with pytest.raises(TypeError, match=r"theory\.devices\.Response"):
        device_from_response(sim.SoftBounds(1.0))  # type: ignore[arg-type]


def test_pickles_and_sup_inf_on_the_range():
    dev = device_from_response(tdev.exponential(), tau=1.0, gamma_res=2.0)
    again = pickle.loads(pickle.dumps(dev))
    x = np.linspace(-1, 1, 11)
    np.testing.assert_array_equal(again.q_plus(x), dev.q_plus(x))
    # F is convex and even here: its sup on [-1, 1] is at the ends, F(1) = (e^4 - 1)/(2 (e^2 - 1))
    assert dev.sup("F") == pytest.approx((np.expm1(4.0)) / (2 * np.expm1(2.0)), rel=1e-12)
    assert dev.inf("M", -0.5, 0.5) == pytest.approx(float(dev.M(np.array(0.5))), rel=1e-12)
    with pytest.raises(ValueError, match="which must be one of"):
        dev.sup("H")
