import numpy as np
import pytest

import sim
from sim._rng import BatchRNG

PROB = sim.paper_problem("exact_fig3")


def _rng(R=3):
    return BatchRNG(0, range(R), "algorithm")


def _grads(shape, n, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape))


def test_step_is_the_papers_recursion_on_a_general_response():
    # spec exact_training.md Sec. 5.4: P' = P - b g F(P) - b|g| G(P); W' = W + a P' F(W) - a|P'| G(W)
    dev_p, dev_w = sim.GeneralizedLinear(2.0, 0.2), sim.Power(1.5, 2.0)
    a, b, gam = 0.07, 0.05, 0.3
    tt = sim.TikiTaka(a, b, dev_p, device_w=dev_w, gamma=gam)
    W = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 6))
    st = tt.init(W)
    P, rng = np.zeros_like(W), _rng()
    for g in _grads((3, 6), 5):
        np.testing.assert_allclose(tt.query(st), W + gam * P)
        st = tt.step(st, g, rng)
        P = P - b * g * dev_p.F(P) - b * np.abs(g) * dev_p.G(P)
        W = W + a * P * dev_w.F(W) - a * np.abs(P) * dev_w.G(W)
        np.testing.assert_allclose(st.P, P, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(st.W, W, rtol=1e-13, atol=1e-15)
    assert tt.weights(st) is st.W


def test_soft_bounds_equals_the_2024_form_by_odd_symmetry():
    # 2024 form (spec Sec. 5.2): P = P + b g - b/tau |g| P, W = W - a P - a/tau |P| W
    tau, a, b = 1.3, 0.05, 0.08
    tt = sim.TikiTaka(a, b, sim.SoftBounds(tau))
    st = tt.init(np.full((3, 4), 0.2))
    P, W, rng = np.zeros((3, 4)), np.full((3, 4), 0.2), _rng()
    for g in _grads((3, 4), 6):
        st = tt.step(st, g, rng)
        P = P + b * g - b / tau * np.abs(g) * P
        W = W - a * P - a / tau * np.abs(P) * W
        np.testing.assert_allclose(st.P, -P, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(st.W, W, rtol=1e-13, atol=1e-15)


def test_layer_tiles_match_flattened_vectors_for_whole_array_transfer():
    dev = sim.SoftBounds(1.0)
    tt = sim.TikiTaka(np.array([0.1, 0.05]), np.array([0.2, 0.1]), dev, gamma=0.4)
    W0 = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 3, 4))
    s3, s2 = tt.init(W0), tt.init(W0.reshape(2, 12))
    rng3, rng2 = _rng(2), _rng(2)
    for g in _grads((2, 3, 4), 4):
        s3 = tt.step(s3, g, rng3)
        s2 = tt.step(s2, g.reshape(2, 12), rng2)
    np.testing.assert_array_equal(s3.W.reshape(2, 12), s2.W)
    np.testing.assert_array_equal(tt.query(s3).reshape(2, 12), tt.query(s2))


def test_per_run_rates_equal_separate_runs():
    dev = sim.SoftBounds(1.0)
    alphas, betas = np.array([0.1, 0.03]), np.array([0.05, 0.2])
    batch = sim.simulate(PROB, sim.TikiTaka(alphas, betas, dev), steps=40, seeds=[0, 0],
                         noise=sim.GaussianNoise(0.1))
    for i in range(2):
        one = sim.simulate(PROB, sim.TikiTaka(alphas[i], betas[i], dev), steps=40, seeds=[0],
                           noise=sim.GaussianNoise(0.1))
        np.testing.assert_allclose(batch.final_weights[i], one.final_weights[0], rtol=1e-12, atol=1e-15)


def test_cyclic_column_transfer_touches_only_the_pointed_columns():
    dev = sim.SoftBounds(1.0)
    tt = sim.TikiTaka(0.1, 0.1, dev, transfer_every=2, columns_per_transfer=2)
    st, rng = tt.init(np.zeros((2, 3, 5))), _rng(2)
    g = np.ones((2, 3, 5))
    expected_cols = [None, [0, 1], None, [2, 3], None, [4, 0], None, [1, 2]]
    for cols in expected_cols:
        before = st.W.copy()
        st = tt.step(st, g, rng)
        changed = np.flatnonzero(np.any(st.W != before, axis=(0, 1)))
        if cols is None:
            assert changed.size == 0
        else:
            assert sorted(changed.tolist()) == sorted(cols)
            # the transferred columns received U(W, alpha P)
            np.testing.assert_allclose(st.W[..., cols], dev.update(before[..., cols], 0.1 * st.P[..., cols]))
    assert st.pointer == 3 and st.k == 8


def test_one_column_of_a_vector_is_one_coordinate():
    tt = sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), columns_per_transfer=1)
    st, rng = tt.init(np.zeros((1, 4))), _rng(1)
    for i in range(5):
        before = st.W.copy()
        st = tt.step(st, np.ones((1, 4)), rng)
        assert np.flatnonzero(st.W != before).tolist() == [i % 4]


def test_same_seed_same_numbers_and_exact_gradients_converge():
    tt = sim.TikiTaka(0.05, 0.05, sim.SoftBounds(1.0))
    a = sim.simulate(PROB, tt, steps=50, seeds=3, seed=7, noise=sim.GaussianNoise(0.1))
    b = sim.simulate(PROB, tt, steps=50, seeds=3, seed=7, noise=sim.GaussianNoise(0.1))
    np.testing.assert_array_equal(a.final_weights, b.final_weights)
    # deterministic sanity: with exact gradients TT descends on the D = 40 problem
    # (slowly: without noise P saturates at +-tau sign(grad), spec Sec. 5.2)
    tr = sim.simulate(PROB, tt, steps=3000, seeds=1, record_every=1000)
    assert np.all(np.diff(tr["loss"][0]) < 0) and tr["loss"][0, -1] < 1e-2 * tr["loss"][0, 0]


_PULSE_CALLS: list[tuple[int, ...]] = []


class _RecordingSoftBounds(sim.SoftBounds):
    """Soft bounds whose 'pulse-level' update is the mean-field one, recording each call."""

    def pulsed_update(self, w, increment, rng):
        _PULSE_CALLS.append(np.shape(w))
        return self.update(w, increment)


@pytest.mark.parametrize("cls", ["TikiTaka", "ResidualLearningV2"])
def test_pulsed_mode_routes_every_write_through_the_device_pulse_model(cls):
    dev = _RecordingSoftBounds(1.0)
    kw = dict(dw_min=1e-3) if cls == "ResidualLearningV2" else {}
    pulsed = getattr(sim, cls)(0.1, 0.1, dev, mode="pulsed", **kw)
    mean_field = getattr(sim, cls)(0.1, 0.1, sim.SoftBounds(1.0), **kw)
    sp, sm, rng = pulsed.init(np.zeros((2, 3))), mean_field.init(np.zeros((2, 3))), _rng(2)
    _PULSE_CALLS.clear()
    for g in _grads((2, 3), 3):
        sp, sm = pulsed.step(sp, g, rng), mean_field.step(sm, g, rng)
    assert _PULSE_CALLS == [(2, 3)] * 6  # one write to P and one to W per step
    np.testing.assert_array_equal(sp.W, sm.W)


@pytest.mark.skipif(not hasattr(sim, "PulsedSoftBounds"), reason="pulse-level devices not merged")
def test_pulsed_tiki_taka_on_the_pulse_level_device_descends():
    dev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=1.0, w_min=-1.0)
    tt = sim.TikiTaka(0.03, 0.03, dev, mode="pulsed", columns_per_transfer=5, gamma=0.4)
    tr = sim.simulate(PROB, tt, steps=2000, seeds=4, noise=sim.GaussianNoise(0.1), record_every=1000)
    assert np.all(tr["loss"][:, -1] < 0.05 * tr["loss"][:, 0])


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(beta=-1.0), "beta"),
        (dict(beta=np.ones((2, 2))), "beta"),
        (dict(gamma=-0.1), "gamma"),
        (dict(transfer_every=0), "transfer_every"),
        (dict(transfer_every=1.5), "transfer_every"),
        (dict(columns_per_transfer=0), "columns_per_transfer"),
        (dict(mode="exact"), "mode"),
    ],
)
def test_invalid_parameters_raise(kw, match):
    args = dict(alpha=0.1, beta=0.1, device=sim.SoftBounds(1.0)) | kw
    with pytest.raises(ValueError, match=match):
        sim.TikiTaka(**args)


def test_invalid_init_raises():
    tt = sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), columns_per_transfer=5)
    with pytest.raises(ValueError, match=r"columns_per_transfer must be in \[1, 4\]"):
        tt.init(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="W0"):
        sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0)).init(np.full((2, 4), 2.0))
    with pytest.raises(TypeError, match="device"):
        sim.TikiTaka(0.1, 0.1, "soft")


# --- residual learning v2 ------------------------------------------------------------------------------

def test_rl_v2_step_is_the_papers_recursion():
    dev = sim.SoftBounds(1.0)
    a, b, gam, dw = 0.3, 0.1, 0.4, 0.02
    algo = sim.ResidualLearningV2(a, b, dev, dw_min=dw, gamma=gam)
    W = np.random.default_rng(3).uniform(-0.5, 0.5, (2, 7))
    st, rng = algo.init(W), _rng(2)
    P, H = np.zeros_like(W), np.zeros_like(W)
    fired_any = False
    for g in _grads((2, 7), 8, seed=4):
        np.testing.assert_allclose(algo.query(st), W + gam * P)
        st = algo.step(st, g, rng)
        P = P - b * g - b * np.abs(g) * P
        H = (1 - a) * H + a * P
        fire = np.abs(H) >= dw
        fired_any |= bool(fire.any())
        pulse = np.where(fire, np.sign(H) * dw, 0.0)
        W = W + pulse - np.abs(pulse) * W
        H = H - pulse
        np.testing.assert_allclose(st.P, P, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(st.H, H, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(st.W, W, rtol=1e-13, atol=1e-15)
    assert fired_any and st.k == 8


def test_rl_v2_moves_w_by_single_pulses_and_descends():
    dev = sim.SoftBounds(1.0)
    algo = sim.ResidualLearningV2(0.2, 0.05, dev, dw_min=1e-3, read_noise=0.01, gamma=0.4)
    st, rng = algo.init(np.zeros((2, 40))), _rng(2)
    for _ in range(5):
        before = st.W
        st = algo.step(st, PROB.grad(algo.query(st)), rng)
        # each weight moves by at most one pulse dw_min * q(W) <= dw_min * (1 + |W|/tau)
        assert np.all(np.abs(st.W - before) <= 1e-3 * (1 + np.abs(before)) + 1e-15)
    tr = sim.simulate(PROB, algo, steps=3000, seeds=2, noise=sim.GaussianNoise(0.1), record_every=1500)
    assert np.all(tr["loss"][:, -1] < 0.1 * tr["loss"][:, 0])


@pytest.mark.parametrize(
    "kw, match",
    [(dict(alpha=1.5), "alpha"), (dict(dw_min=0.0), "dw_min"), (dict(read_noise=-1.0), "read_noise"),
     (dict(beta=0.0), "beta"), (dict(gamma=-1.0), "gamma")],
)
def test_rl_v2_invalid_parameters_raise(kw, match):
    args = dict(alpha=0.1, beta=0.1, device=sim.SoftBounds(1.0), dw_min=1e-3) | kw
    with pytest.raises(ValueError, match=match):
        sim.ResidualLearningV2(**args)


def test_column_transfer_with_per_element_device_parameters():
    # tau varies per weight (device-to-device spread): the transfer must still see the whole array
    tau = np.random.default_rng(5).uniform(0.5, 2.0, (2, 3, 4))
    dev = sim.SoftBounds(tau)
    tt = sim.TikiTaka(0.1, 0.1, dev, columns_per_transfer=1)
    st, rng = tt.init(np.zeros((2, 3, 4))), _rng(2)
    g = np.ones((2, 3, 4))
    st = tt.step(st, g, rng)
    expected = dev.update(np.zeros((2, 3, 4)), np.where(np.arange(4) == 0, 0.1 * st.P, 0.0))
    np.testing.assert_array_equal(st.W, expected)
    assert np.all(st.W[..., 1:] == 0) and np.all(st.W[..., 0] != 0)
