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


def test_pulsed_mode_goes_through_apply_update():
    tt = sim.TikiTaka(0.1, 0.1, sim.SoftBounds(1.0), mode="pulsed")
    st = tt.init(np.zeros((1, 3)))
    if not hasattr(sim.SoftBounds(1.0), "pulsed_update"):
        with pytest.raises(ValueError, match="pulse-level"):
            tt.step(st, np.ones((1, 3)), _rng(1))


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
