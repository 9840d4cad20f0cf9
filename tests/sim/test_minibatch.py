"""sim.minibatch: a mini-batch written one update per sample (aihwkit's update) and the claim's
theory (theory.implicit.per_sample_fixed_point / per_sample_plateau)."""

import numpy as np
import pytest

import sim
import sim.presets as presets
from sim.minibatch import per_sample_update
from theory.implicit import per_sample_fixed_point, per_sample_plateau


def test_one_sample_is_the_device_update_and_opposite_samples_drift():
    dev = sim.SoftBounds(3.0)
    rng = np.random.default_rng(0)
    w = rng.uniform(-2, 2, (4, 5))
    inc = rng.normal(0, 1e-2, (4, 1, 5))
    np.testing.assert_allclose(per_sample_update(dev, w, inc), dev.update(w, inc[:, 0]), rtol=0, atol=1e-15)
    # two opposite samples cancel in the summed update but drift by -2|d| w / tau per sample
    pair = np.concatenate([inc, -inc], axis=1)
    np.testing.assert_allclose(per_sample_update(dev, w, pair), w - 2 * np.abs(inc[:, 0]) * w / 3.0,
                               rtol=1e-12)
    assert not np.allclose(per_sample_update(dev, w, pair), dev.update(w, pair.sum(axis=1)))


def test_pulsed_mean_matches_mean_field_for_small_steps():
    # 2000 runs of 3 samples each on soft bounds (dw_min = 1e-4): the pulse-level mean equals the
    # first-order mean-field formula within 4 s.e. (the O(dw_min) second-order term is ~1e-8 here)
    dev = sim.PulsedSoftBounds(dw_min=1e-4, w_max=1.0, w_min=-1.0, desired_bl=31)
    R = 2000
    w0 = np.full((R, 2), 0.5)
    inc = np.broadcast_to(np.array([[3e-4, -2e-4], [-5e-4, 1e-4], [2.5e-4, 4e-4]]), (R, 3, 2))
    w = per_sample_update(dev, w0, inc, sim.BatchRNG(0, range(R), "test.minibatch"), mode="pulsed")
    mf = per_sample_update(sim.SoftBounds(1.0), w0[:1], inc[:1])[0]
    se = w.std(axis=0, ddof=1) / np.sqrt(R)
    assert np.all(np.abs(w.mean(axis=0) - mf) < 4 * se + 1e-8)


def test_bad_input_is_named():
    dev = sim.SoftBounds(1.0)
    with pytest.raises(ValueError, match="increments must have shape"):
        per_sample_update(dev, np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="PulsedLinearStep"):
        per_sample_update(dev, np.zeros((2, 3)), np.zeros((2, 1, 3)), mode="pulsed")
    with pytest.raises(ValueError, match="pass rng"):
        per_sample_update(sim.PulsedSoftBounds(dw_min=1e-3, desired_bl=8), np.zeros((2, 3)),
                          np.zeros((2, 1, 3)), mode="pulsed")
    with pytest.raises(ValueError, match="per_sample"):
        presets.run_least_squares(presets.fig1(0.1), sim.DigitalSGD(0.1), steps=2,
                                  batch_update="per_sample")
    with pytest.raises(ValueError, match="batch_update"):
        presets.run_least_squares(presets.fig1(0.1), sim.DigitalSGD(0.1), steps=2, batch_update="rows")


def test_forward_read_is_the_weight_loss_plus_the_read_offset():
    # the same runs read both ways: the training forward's loss exceeds f(W_k) by sigma_w^2
    # mean ||a_n||^2 / D on average (2.5e-6 here), checked on the last 1000 steps within 4 s.e.
    p = presets.fig1(0.1)
    opt = sim.AnalogSGD(0.1, sim.SoftBounds(3.0))
    kw = dict(steps=1500, runs=8, seed=3, batch_update="per_sample")
    f_w = presets.run_least_squares(p, opt, read="weights", **kw)
    f_r = presets.run_least_squares(p, opt, read="forward", **kw)
    A = sim.paper_problem("exact_fig1").meta["A"]
    offset = p.extra["noise_std"] ** 2 * np.mean(np.sum(A**2, axis=1)) / A.shape[1]
    d = (f_r[:, 500:-1] - f_w[:, 500:-1]).mean(axis=1)
    assert abs(d.mean() - offset) < 4 * d.std(ddof=1) / np.sqrt(d.size)


def test_fixed_point_solves_its_equation_and_reduces_to_least_squares_without_noise():
    prob = sim.paper_problem("exact_fig1")
    A, y = prob.meta["A"], prob.meta["y"]
    w = per_sample_fixed_point(A, y, 3.0, 0.0)
    np.testing.assert_allclose(w, prob.w_star, atol=1e-10)  # no noise: every residual vanishes at W*
    w = per_sample_fixed_point(A, y, 3.0, 1e-2 / np.sqrt(40))
    r = A @ w - y
    s = 1e-2 / np.sqrt(40) * np.linalg.norm(A, axis=1)
    from scipy.stats import norm
    m = s * np.sqrt(2 / np.pi) * np.exp(-r**2 / (2 * s**2)) + r * (1 - 2 * norm.cdf(-r / s))
    S = 2 / 100 * np.abs(A).T @ m
    np.testing.assert_allclose(2 / 100 * A.T @ r + S * w / 3.0, 0, atol=1e-15)
    # ~100x farther from W* than the summed update's point (the claim's control)
    lim, lim_summed = per_sample_plateau(A, y, 3.0, 1e-2 / np.sqrt(40), 0.03)[1], \
        per_sample_plateau(A, y, 3.0, 1e-2 / np.sqrt(40), 0.03, summed=True)[1]
    assert lim > 50 * lim_summed


def test_fixed_point_rejects_bad_arguments():
    A = np.eye(3)
    with pytest.raises(ValueError, match="tau"):
        per_sample_fixed_point(A, np.ones(3), 0.0, 0.1)
    with pytest.raises(ValueError, match="unstable"):
        per_sample_plateau(np.ones((4, 2)), np.ones(4), 1.0, 0.1, 5.0)


def test_read_both_is_bitwise_the_two_single_reads():
    p = presets.fig1(0.1)
    opt = p.analog_sgd(0.1)
    kw = dict(steps=30, runs=3, seed=5, batch_update="per_sample")
    both = presets.run_least_squares(p, opt, read="both", **kw)
    np.testing.assert_array_equal(both[0], presets.run_least_squares(p, opt, read="weights", **kw))
    np.testing.assert_array_equal(both[1], presets.run_least_squares(p, opt, read="forward", **kw))
    with pytest.raises(ValueError, match="read must be"):
        presets.run_least_squares(p, opt, read="noisy", **kw)


def test_read_offset_and_limit():
    from theory.implicit import per_sample_limit, read_offset

    prob = sim.paper_problem("exact_fig1")
    A, y = prob.meta["A"], prob.meta["y"]
    sw = 1e-2 / np.sqrt(40)
    # the closed-form read offset against 4000 reads through the tile's noisy forward at W = W*
    # (there the read's excess is the noise alone: s.e. ~6e-9 against an offset of 2.5e-6)
    from sim.nets.layers import Linear

    io = presets.fig1().io
    n = 4000
    layer = Linear(A.shape[1], 1, bias=False, io=io)
    yhat, _ = layer.forward(np.broadcast_to(prob.w_star, (n, 1, A.shape[1])),
                            np.broadcast_to(A, (n, *A.shape)), sim.BatchRNG(2, range(n), "t.read"))
    f = ((yhat[..., 0] - y) ** 2).mean(axis=1) / A.shape[1]
    se = f.std(ddof=1) / np.sqrt(n)
    assert abs(f.mean() - read_offset(A, io.w_noise)) < 4 * se < 0.01 * read_offset(A, io.w_noise)
    # the limit is the fixed point's loss, plus the offset when read
    w = per_sample_fixed_point(A, y, 3.0, sw)
    lim = per_sample_limit(A, y, 3.0, sw)
    assert lim == pytest.approx((prob.loss(w[None])[0] - prob.f_star) / A.shape[1], rel=1e-9)
    assert per_sample_limit(A, y, 3.0, sw, read=True) == pytest.approx(lim + read_offset(A, sw), rel=1e-12)
