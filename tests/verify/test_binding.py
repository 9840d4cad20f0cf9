"""verify.evaluate_bound: a theory bound evaluated on a simulated trajectory."""

import numpy as np
import pytest

import sim
import theory
from theory import devices as tdev
from verify import BoundEvaluation, device_from_response, evaluate_bound, response_extremum

RECORD = ("grad_norm2", "s_ald", "sat2", "grad_norm2_M", "e_k_general", "g_over_sqrt_f2")
PROB = sim.paper_problem("exact_fig3")
DELTA0 = float(PROB.loss(np.zeros((1, PROB.dim)))[0])
STD, K = 0.1, 300


def _run(device: sim.Device, noise=None, seeds: int = 6) -> sim.Trajectory:
    noise = noise or sim.GaussianNoise(STD)
    alpha = float(np.sqrt(DELTA0 / (noise.sigma2(PROB.dim) * PROB.L * K)))
    return sim.simulate(PROB, sim.AnalogSGD(alpha, device), steps=K, seeds=seeds, noise=noise,
                        record=RECORD, progress=False)


@pytest.fixture(scope="module")
def soft():
    dev = sim.SoftBounds(1.0)
    return dev, _run(dev)


def test_symbols_read_from_trajectory_device_and_noise(soft):
    dev, tr = soft
    ev = evaluate_bound("asgd.upper.ald", tr, device=dev, noise=sim.GaussianNoise(STD), L=PROB.L,
                        Delta_0=DELTA0)
    assert isinstance(ev, BoundEvaluation) and ev.metric == "grad_norm2"
    assert ev.values["K"] == K and ev.values["tau"] == 1.0
    assert ev.values["W_max"] == float(tr.maxima["w_inf"].max())
    np.testing.assert_array_equal(ev.values["S_K"], tr.average("s_ald"))
    # noise convention: sigma^2 = D std^2, the total variance of the D-dimensional noise
    assert ev.values["sigma"] == pytest.approx(np.sqrt(PROB.dim) * STD, rel=1e-15)
    expected = theory.get("asgd.upper.ald").evaluate(
        Delta_0=DELTA0, sigma=ev.values["sigma"], L=PROB.L, K=K, W_max=ev.values["W_max"], tau=1.0,
        S_K=tr.average("s_ald"))
    np.testing.assert_array_equal(ev.value, expected)
    np.testing.assert_array_equal(ev.measured, tr.average("grad_norm2"))
    assert ev.applicable and ev.assumptions.all_hold
    assert ev.sources["Delta_0"] == "given" and ev.sources["K"] == "trajectory.steps"


def test_every_s_k_variant_and_lhs_metric(soft):
    dev, tr = soft
    given = dict(device=dev, noise=sim.GaussianNoise(STD), L=PROB.L, Delta_0=DELTA0)
    ev = evaluate_bound("asgd.upper.ald_mmin", tr, **given)
    np.testing.assert_array_equal(ev.values["Stilde_K"], tr.average("sat2"))
    ev = evaluate_bound("asgd.upper.general", tr, **given)
    np.testing.assert_array_equal(ev.values["S_K_general"], tr.average("g_over_sqrt_f2"))
    assert ev.values["F_max"] == 1.0 and ev.metric == "e_k_general"
    ev = evaluate_bound("asgd.upper.derived_M", tr, alpha=0.01, **given)
    assert ev.metric == "grad_norm2_M" and ev.assumptions["step_cap"] is True


def test_given_values_override_and_unused_theory_symbols_are_ignored(soft):
    dev, tr = soft
    ev = evaluate_bound("asgd.upper.ald", tr, device=dev, sigma=0.5, L=PROB.L, Delta_0=DELTA0,
                        S_K=0.0, Stilde_K=0.0, S_K_general=0.0)
    assert ev.values["sigma"] == 0.5 and ev.sources["sigma"] == "given"
    np.testing.assert_array_equal(ev.values["S_K"], 0.0)
    assert np.ptp(ev.value) == 0.0  # no trajectory average left: the same bound for every run


def test_general_response_f_max_and_m_min_from_the_device():
    dev = device_from_response(tdev.exponential(), tau=1.0, gamma_res=2.0)
    tr = _run(dev, seeds=3)
    ev = evaluate_bound("asgd.upper.general_mmin", tr, device=dev, noise=sim.GaussianNoise(STD),
                        L=PROB.L, Delta_0=DELTA0)
    grid = np.linspace(-1.0, 1.0, 2001)
    assert ev.values["F_max"] == float(dev.F(grid).max())
    W_max = ev.values["W_max"]
    assert ev.values["M_min"] == float(dev.M(np.linspace(-W_max, W_max, 2001)).min())
    assert ev.measured is not None and ev.measured.shape == (3,)


def test_rademacher_noise_and_weights_of_any_shape():
    p1 = sim.scalar_quadratic(1.0, 0.5)
    tr = sim.simulate(p1, sim.AnalogSGD(0.01, sim.SoftBounds(1.0)), steps=50, seeds=2,
                      noise=sim.RademacherNoise(0.3), record=RECORD, progress=False)
    ev = evaluate_bound("asgd.upper.ald", tr, device=sim.SoftBounds(1.0),
                        noise=sim.RademacherNoise(0.3), L=1.0, Delta_0=0.125)
    assert ev.values["sigma"] == pytest.approx(0.3, rel=1e-15)


def test_violated_assumption_gives_not_applicable(soft):
    dev, tr = soft
    tau_small = 0.5 * float(tr.maxima["w_inf"].max())  # W_max >= tau: saturation fails
    ev = evaluate_bound("asgd.upper.ald", tr, device=dev, noise=sim.GaussianNoise(STD), L=PROB.L,
                        Delta_0=DELTA0, tau=tau_small)
    assert ev.violated == ["saturation"] and not ev.applicable
    c = ev.check("ald")
    assert c.passed is None and "saturation" in c.reason


def test_check_is_the_paired_per_run_difference(soft):
    dev, tr = soft
    ev = evaluate_bound("asgd.upper.ald", tr, device=dev, noise=sim.GaussianNoise(STD), L=PROB.L,
                        Delta_0=DELTA0)
    c = ev.check("ald")
    d = ev.measured - ev.value
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert c.se == pytest.approx(se, rel=1e-12) and c.tolerance == pytest.approx(3 * se, rel=1e-12)
    assert c.passed is bool(d.mean() + 3 * se <= 0)
    assert c.predicted == pytest.approx(ev.value.mean()) and c.measured == pytest.approx(ev.measured.mean())
    # the control: drop the floor term on the floor-dominated 1-D instance and the bound must fail
    p1 = sim.scalar_quadratic(1.0, 0.5)
    K1 = 10_000
    a1 = float(np.sqrt(0.125 / (0.09 * K1)))
    tr1 = sim.simulate(p1, sim.AnalogSGD(a1, sim.SoftBounds(1.0)), steps=K1, seeds=100,
                       noise=sim.RademacherNoise(0.3), record=RECORD, record_every=500, progress=False)
    given = dict(device=sim.SoftBounds(1.0), noise=sim.RademacherNoise(0.3), L=1.0, Delta_0=0.125)
    assert evaluate_bound("asgd.upper.ald", tr1, **given).check("with floor").passed is True
    assert evaluate_bound("asgd.upper.ald", tr1, S_K=0.0, **given).check("no floor").passed is False


@pytest.mark.parametrize("kwargs,match", [
    (dict(L=1.0, Delta_0=1.0, bogus=1.0), r"unknown symbol\(s\) \['bogus'\]"),
    (dict(L=1.0, Delta_0=1.0), r"no value for sigma: sigma: pass noise= or sigma="),
    (dict(noise=sim.GaussianNoise(0.1), Delta_0=1.0), r"no value for L: L: pass L="),
    (dict(noise=sim.GaussianNoise(0.1), L=1.0, Delta_0=-1.0), r"Delta_0 must be a real > 0"),
])
def test_errors_name_the_symbol(soft, kwargs, match):
    _, tr = soft
    with pytest.raises(ValueError, match=match):
        evaluate_bound("asgd.upper.ald", tr, device=sim.SoftBounds(1.0), **kwargs)


def test_unrecorded_average_and_lhs_without_metric(soft):
    dev, _ = soft
    tr = sim.simulate(PROB, sim.AnalogSGD(0.01, dev), steps=20, seeds=2, record=("loss",),
                      progress=False)
    with pytest.raises(ValueError, match=r"S_K: record 's_ald' in sim.simulate or pass S_K="):
        evaluate_bound("asgd.upper.ald", tr, device=dev, sigma=0.1, L=1.0, Delta_0=1.0)
    ev = evaluate_bound("asgd.upper.ald", tr, device=dev, sigma=0.1, L=1.0, Delta_0=1.0, S_K=0.1)
    assert ev.measured is None
    with pytest.raises(ValueError, match="no measured left-hand side"):
        ev.check("x")
    with pytest.raises(TypeError, match=r"theory\.Bound"):
        evaluate_bound("device.soft_bounds.identities", tr)


def test_response_extremum_validation():
    with pytest.raises(ValueError, match="unbounded device"):
        response_extremum(sim.Ideal(), "F")
    assert response_extremum(sim.Ideal(), "F", lo=-1.0, hi=1.0) == 1.0
    with pytest.raises(ValueError, match="kind must be"):
        response_extremum(sim.SoftBounds(1.0), "F", kind="max")
    assert response_extremum(sim.SoftBounds(2.0), "M", kind="inf") == 0.0  # M = 1 - w^2/tau^2


def test_tiki_taka_bounds_read_state_recorders():
    dev = sim.SoftBounds(1.0)
    noise = sim.GaussianNoise(STD)
    tt = sim.TikiTaka(0.05, 0.05, dev, gamma=0.1)
    tr = sim.simulate(PROB, tt, steps=200, seeds=4, noise=noise, record=("grad_norm2",),
                      recorders={"P_max": sim.Max(sim.p_inf), "S_K_RL": sim.Mean(sim.s_rl_terms(dev)),
                                 "avg_bar": sim.Mean(sim.query_grad_norm2)}, progress=False)
    ev = evaluate_bound("tt.rate", tr, device=dev, noise=noise, L=PROB.L, Delta_0=DELTA0, C_TT=1.0)
    # P_max bounds ||P_k||_inf surely: the maximum over runs, like W_max
    assert ev.values["P_max"] == float(tr.recorded["P_max"].max())
    assert ev.sources["P_max"] == "max over runs of trajectory.recorded['P_max']"
    expected = theory.get("tt.rate").evaluate(C_TT=1.0, P_max=ev.values["P_max"], tau=1.0, Delta_0=DELTA0,
                                              sigma=np.sqrt(PROB.dim) * STD, L=PROB.L, K=200)
    np.testing.assert_allclose(ev.value, expected, rtol=1e-15)
    np.testing.assert_array_equal(ev.measured, tr.average("grad_norm2"))
    rl = evaluate_bound("rl.rate", tr, device=dev, noise=noise, L=PROB.L, Delta_0=DELTA0, C_RL=1.0,
                        lhs="avg_bar")
    np.testing.assert_array_equal(rl.values["S_K_RL"], tr.recorded["S_K_RL"])
    np.testing.assert_array_equal(rl.measured, tr.recorded["avg_bar"])
    with pytest.raises(ValueError, match=r"lhs must name a recorder \['P_max', 'S_K_RL', 'avg_bar'\]"):
        evaluate_bound("rl.rate", tr, device=dev, noise=noise, L=PROB.L, Delta_0=DELTA0, C_RL=1.0,
                       lhs="nope")
