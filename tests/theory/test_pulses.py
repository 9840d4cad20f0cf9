"""theory.pulses: derived closed forms agree with the simulator and with aihwkit's numbers."""

import numpy as np
import pytest

import theory
from sim import BatchRNG
from sim.pulsed import PulsedSoftBounds
from theory.pulses import alternating_limit, expected_one_step, pulse_flow, symmetric_point

IDS = ["pulse.n_pulses", "pulse.mean_field_limit", "pulse.symmetric_point", "pulse.one_step_bias",
       "pulse.alternating_fixed_point", "pulse.aihwkit_mapping"]


@pytest.mark.parametrize("sid", IDS)
def test_registered_and_rederived(sid):
    s = theory.get(sid)
    assert s.provenance.status == "derived" and s.verify()


def test_n_pulses_closed_form_is_the_sim_fast_path():
    dev = PulsedSoftBounds(dw_min=0.004, w_max=1.25, w_min=-0.75, up_down=-0.3)
    expr = theory.get("pulse.n_pulses")
    w0 = np.array([[0.1, 0.1]])
    out = dev.pulsed_update(w0, np.array([[0.04, -0.04]]), BatchRNG(0, [0], "p"))  # 10 pulses
    up, down = expr.evaluate(w=0.1, a_up=dev.a_up, a_down=dev.a_down, b_max=1.25, b_lo=0.75, n=10)
    np.testing.assert_allclose(out[0], np.ravel([up, down]), rtol=1e-12)


def test_alternating_pulses_reproduce_the_anchor_numbers():
    # anchors.md 1.4: a+ = 0.011, a- = 0.009, bounds [-0.75, 1.25]: settles at 0.090, formula 0.096
    assert symmetric_point(0.011, 0.009, 1.25, -0.75) == pytest.approx(0.096, abs=5e-4)
    assert alternating_limit(0.011, 0.009, 1.25, -0.75) == pytest.approx(0.090, abs=5e-4)


def test_one_step_mean_tends_to_the_pulse_flow_at_order_dw_min():
    gaps = [expected_one_step(0.2, 0.05, dw, dw, 1.0)[0] - pulse_flow(0.2, 0.05, 1.0, 1.0)
            for dw in (1e-3, 5e-4, 2.5e-4)]
    ratios = np.array(gaps[:-1]) / np.array(gaps[1:])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.05)  # O(dw_min): halving dw halves the gap


def test_aihwkit_mapping_matches_the_device_constants():
    m = theory.get("pulse.aihwkit_mapping")
    for beta in (0.3, -0.3):
        dev = PulsedSoftBounds(dw_min=0.01, up_down=beta, w_max=2.0, w_min=-2.0)
        vals = np.ravel(m.evaluate(beta_p=abs(beta), tau=2.0))
        sp_, c, kap = vals[:3] if beta > 0 else vals[3:]
        k = dev.theory_constants()
        np.testing.assert_allclose([k["symmetric_point"], k["c"], k["kappa"]], [sp_, c, kap])
        # the mean-field responses are the generalized-linear form kappa (1 +- c)(1 -+ w/tau)
        grid = np.linspace(-1.9, 1.9, 5)
        np.testing.assert_allclose(dev.q_plus(grid), kap * (1 + c) * (1 - grid / 2))
        np.testing.assert_allclose(dev.q_minus(grid), kap * (1 - c) * (1 + grid / 2))


def test_expected_one_step_validates():
    with pytest.raises(ValueError, match="dw_min"):
        expected_one_step(0.0, 0.1, 0.0, 0.01, 1.0)


def test_flow_update_is_the_derived_pulse_flow():
    from sim.pulsed import PulseFlow

    dev = PulsedSoftBounds(dw_min=0.001, w_max=1.25, w_min=-0.75, up_down=0.2)
    out = PulseFlow(dev).update(np.array([[0.2, 0.2]]), np.array([[0.05, -0.05]]))
    np.testing.assert_allclose(out[0], [pulse_flow(0.2, 0.05, 1.0, 1.25),
                                        pulse_flow(0.2, -0.05, 0.8, -0.75)], rtol=1e-12)


def test_one_step_bias_leading_term_matches_the_exact_mixture():
    lead = theory.get("pulse.one_step_bias")
    rel = []
    for dw in (1e-3, 2.5e-4):
        exact = expected_one_step(0.2, 0.0517, dw, dw, 1.0)[0] - pulse_flow(0.2, 0.0517, 1.0, 1.0)
        approx = float(lead.evaluate(b_max=1.0, w=0.2, kappa_up=1.0, delta=0.0517, dw_min=dw))
        rel.append(abs(exact / approx - 1))
    # the remainder is higher order: relative error < 1 % and shrinking faster than dw_min / 2
    assert rel[0] < 0.01 and rel[1] < rel[0] / 2
