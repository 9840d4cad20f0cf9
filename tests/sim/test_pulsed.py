"""Pulse-level soft-bounds device: aihwkit conventions, fast path vs per-pulse reference, contract."""

import numpy as np
import pytest

import sim
from sim._rng import BatchRNG
from sim.pulsed import PulsedConstantStep, PulsedLinearStep, PulsedSoftBounds
from verify.stats import Z


def _rng(stream="p", R=1, seed=0):
    return BatchRNG(seed, range(R), stream)


def test_matches_aihwkit_reference_numbers():
    # anchors.md 1.3: aihwkit 1.1.0 SoftBoundsDevice, bounds +-1, dw_min 0.01, no variation,
    # 10 pulses from w = 0, printed to 4 significant digits (hence atol 5e-6)
    w = np.zeros((1, 2))
    inc = np.array([[0.1, -0.1]])  # exactly 10 pulses each way (no rounding randomness)
    for up_down, expected in ((0.0, (0.09562, -0.09562)), (0.2, (0.09562, -0.07718)),
                              (-0.2, (0.07718, -0.09562))):
        dev = PulsedSoftBounds(dw_min=0.01, up_down=up_down)
        out = dev.pulsed_update(w, inc, _rng())
        np.testing.assert_allclose(out[0], expected, atol=5e-6)


def test_fast_path_equals_sequential_without_noise():
    dev = PulsedSoftBounds(dw_min=0.003, w_max=1.25, w_min=-0.75, up_down=0.1)
    w = np.random.default_rng(1).uniform(-0.7, 1.2, (64, 30))
    inc = np.random.default_rng(2).normal(0, 0.05, (64, 30))
    fast = dev.pulsed_update(w, inc, _rng(R=64))
    seq = dev.pulsed_update_sequential(w, inc, _rng(R=64))  # same stream -> same pulse counts
    np.testing.assert_allclose(fast, seq, rtol=0, atol=1e-12)


@pytest.mark.parametrize("inc", [0.02, -0.05])
def test_fast_path_matches_sequential_in_distribution_with_cycle_noise(inc):
    dev = PulsedSoftBounds(dw_min=0.002, w_max=1.0, w_min=-0.8, dw_min_std=0.5)
    R, N = 8, 2000
    w = np.full((R, N), 0.3)
    d = np.full((R, N), inc)
    fast = dev.pulsed_update(w, d, _rng("a", R)).ravel()
    seq = dev.pulsed_update_sequential(w, d, _rng("b", R)).ravel()
    n = fast.size
    # mean: Z standard errors of the difference of two independent sample means
    se_mean = np.sqrt(fast.var() / n + seq.var() / n)
    assert abs(fast.mean() - seq.mean()) <= Z * se_mean
    # variance: Z s.e. of the difference of two sample variances (s.e. of s^2 ~ s^2 sqrt(2/n),
    # the Gaussian value; the per-pulse product is near Gaussian for 10-25 pulses)
    se_var = np.sqrt(2 / n) * np.hypot(fast.var(), seq.var())
    assert abs(fast.var() - seq.var()) <= Z * se_var
    # power: the same test flags a fast path whose noise spread is 15% too large
    wrong = fast.mean() + 1.15 * (fast - fast.mean())
    assert abs(wrong.var() - seq.var()) > Z * np.sqrt(2 / n) * np.hypot(wrong.var(), seq.var())


def test_stochastic_rounding_is_unbiased_and_mean_matches_the_two_point_closed_form():
    # E[n] dw_min = |d|; E[w'] = B + (w - B) E[(1 - rho)^n] with n in {floor, floor + 1}
    R, N, w0, d = 4, 50_000, 0.2, 0.0137
    for dw in (0.004, 0.001):
        dev = PulsedSoftBounds(dw_min=dw, w_max=1.0, w_min=-1.0)
        n = dev.pulse_counts(np.full((R, N), d), _rng("n", R))
        assert abs(n.mean() * dw - d) <= Z * n.std() * dw / np.sqrt(n.size)
        out = dev.pulsed_update(np.full((R, N), w0), np.full((R, N), d), _rng("u", R))
        m, p = np.floor(d / dw), d / dw - np.floor(d / dw)
        expect = 1 + (w0 - 1) * ((1 - p) * (1 - dw) ** m + p * (1 - dw) ** (m + 1))
        assert abs(out.mean() - expect) <= Z * out.std() / np.sqrt(out.size) + 1e-15


def test_pulse_train_truncates_at_bl_pulses():
    dev = PulsedSoftBounds(dw_min=0.01, desired_bl=5)
    n = dev.pulse_counts(np.array([[1.0, 0.025, -3.0]]), _rng())
    assert n[0, 0] == 5 and n[0, 2] == 5 and 0 <= n[0, 1] <= 5
    out = dev.pulsed_update(np.zeros((1, 1)), np.array([[10.0]]), _rng())
    assert out[0, 0] == pytest.approx(1 - 0.99**5)


def test_symmetric_point_and_mean_field_interface():
    dev = PulsedSoftBounds(dw_min=0.01, w_max=1.25, w_min=-0.75, up_down=0.2)
    ws = dev.symmetric_point()
    assert dev.G(np.array(ws)) == pytest.approx(0, abs=1e-12)
    grid = np.linspace(-0.7, 1.2, 7)
    np.testing.assert_allclose(dev.F(grid) - dev.G(grid), dev.q_plus(grid))
    np.testing.assert_allclose(dev.M(grid), dev.q_plus(grid) * dev.q_minus(grid))
    assert dev.w_max == 1.25 and dev.tau == 0.75


def test_device_to_device_variation_is_seeded_and_broadcasts_over_layer_tiles():
    kw = dict(dw_min=0.01, dw_min_dtod=0.3, up_down_dtod=0.05, w_max_dtod=0.2, w_min_dtod=0.2,
              shape=(3, 4))
    a, b, c = PulsedSoftBounds(**kw, seed=1), PulsedSoftBounds(**kw, seed=1), PulsedSoftBounds(
        **kw, seed=2)
    assert np.array_equal(a.b_max, b.b_max) and np.array_equal(a.a_up, b.a_up)
    assert not np.array_equal(a.a_up, c.a_up) and a.a_up.shape == (3, 4)
    w = np.zeros((5, 3, 4))
    out = a.pulsed_update(w, np.full(w.shape, 0.05), _rng(R=5))
    assert out.shape == (5, 3, 4) and np.all(out > 0)
    with pytest.raises(ValueError, match="shape"):
        a.check_weights(np.zeros((5, 12)))


def test_analog_sgd_pulsed_end_to_end_reproducible():
    prob = sim.paper_problem("exact_fig3")
    dev = PulsedSoftBounds(dw_min=1 / 300, dw_min_std=0.3)
    run = [sim.simulate(prob, sim.AnalogSGD(0.03, dev, mode="pulsed"), steps=200, seeds=4,
                        noise=sim.GaussianNoise(0.1), progress=False) for _ in range(2)]
    assert np.array_equal(run[0]["loss"], run[1]["loss"])
    mf = sim.simulate(prob, sim.AnalogSGD(0.03, dev), steps=200, seeds=4,
                      noise=sim.GaussianNoise(0.1), progress=False)
    assert run[0]["loss"][:, -1].mean() < 0.2 * run[0]["loss"][:, 0].mean()
    assert not np.array_equal(mf["loss"], run[0]["loss"])


@pytest.mark.parametrize("kw, match", [
    (dict(dw_min=0.0), "dw_min"), (dict(w_max=-1.0), "w_max"), (dict(w_min=0.5), "w_min"),
    (dict(up_down=1.0), "up_down"), (dict(dw_min_std=-0.1), "dw_min_std"),
    (dict(desired_bl=0), "desired_bl"), (dict(dw_min_dtod=0.1), "shape"),
    (dict(dw_min=2.0), "dw_min"),
])
def test_invalid_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        PulsedSoftBounds(**kw)


@pytest.mark.parametrize("dev", [
    PulsedLinearStep(dw_min=0.01, w_max=1.0, w_min=-0.8, gamma_up=0.5, gamma_down=0.3, up_down=0.1),
    PulsedConstantStep(dw_min=0.01, w_max=1.0, w_min=-0.8, up_down=-0.2),
])
def test_linear_and_constant_step_fast_path_equals_sequential_including_clipping(dev):
    w = np.random.default_rng(3).uniform(-0.8, 1.0, (16, 50))
    inc = np.random.default_rng(4).normal(0, 0.5, (16, 50))  # many pulses: some runs hit a bound
    fast = dev.pulsed_update(w, inc, _rng(R=16))
    seq = dev.pulsed_update_sequential(w, inc, _rng(R=16))
    np.testing.assert_allclose(fast, seq, rtol=0, atol=1e-12)
    assert np.any(fast == dev.b_max) and np.any(fast == dev.b_min)
    grid = np.linspace(-0.7, 0.9, 5)  # mean-field responses are the per-pulse steps / dw_min
    np.testing.assert_allclose(dev.q_plus(grid) * dev.dw_min,
                               dev.pulsed_update_sequential(grid[None], np.full((1, 5), 0.01),
                                                            _rng())[0] - grid)


def test_constant_step_noise_sums_exactly():
    dev = PulsedConstantStep(dw_min=0.001, w_max=10.0, w_min=-10.0, dw_min_std=0.3)
    R, N = 8, 5000
    fast = dev.pulsed_update(np.zeros((R, N)), np.full((R, N), 0.02), _rng("a", R)).ravel()
    seq = dev.pulsed_update_sequential(np.zeros((R, N)), np.full((R, N), 0.02), _rng("b", R)).ravel()
    # 20 pulses: mean 0.02, sd 0.001 * 0.3 * sqrt(20); Z s.e. of the differences (see above)
    assert abs(fast.mean() - seq.mean()) <= Z * np.sqrt((fast.var() + seq.var()) / fast.size)
    se_var = np.sqrt(2 / fast.size) * np.hypot(fast.var(), seq.var())
    assert abs(fast.var() - seq.var()) <= Z * se_var
    assert abs(fast.var() - (0.001 * 0.3) ** 2 * 20) <= Z * np.sqrt(2 / fast.size) * fast.var()


def test_step_type_gammas_are_validated():
    with pytest.raises(ValueError, match="gamma"):
        PulsedSoftBounds(gamma_up=0.5)
    with pytest.raises(ValueError, match="gamma"):
        PulsedConstantStep(gamma_up=0.5)
    with pytest.raises(ValueError, match="gamma_down"):
        PulsedLinearStep(gamma_down=0.0)


def test_subtract_symmetry_point_reads_relative_to_the_reference():
    kw = dict(dw_min=0.005, w_max=1.25, w_min=-0.75, up_down=0.2, dw_min_std=0.0)
    phys, ref = PulsedSoftBounds(**kw), PulsedSoftBounds(**kw, subtract_symmetry_point=True)
    r = phys.symmetric_point()
    assert ref.symmetric_point() == pytest.approx(0, abs=1e-15)
    assert ref.G(np.array(0.0)) == pytest.approx(0, abs=1e-15)
    assert ref.theory_constants()["reference"] == pytest.approx(r)
    assert ref.tau == pytest.approx(min(1.25 - r, 0.75 + r))
    w = np.random.default_rng(5).uniform(-0.7, 1.1, (8, 20)) - r
    inc = np.random.default_rng(6).normal(0, 0.05, (8, 20))
    # the read weight moves exactly like the physical conductance shifted by r
    np.testing.assert_allclose(ref.pulsed_update(w, inc, _rng(R=8)),
                               phys.pulsed_update(w + r, inc, _rng(R=8)) - r, atol=1e-12)
    np.testing.assert_allclose(ref.pulsed_update_sequential(w, inc, _rng(R=8)),
                               ref.pulsed_update(w, inc, _rng(R=8)), atol=1e-12)
    np.testing.assert_allclose(ref.update(w, inc), phys.update(w + r, inc) - r, atol=1e-12)
    with pytest.raises(ValueError, match="subtract_symmetry_point"):
        PulsedConstantStep(subtract_symmetry_point=True)


def test_outer_product_pulse_trains_are_unbiased_truncated_and_correlated():
    dev = PulsedConstantStep(dw_min=0.01, w_max=100.0, w_min=-100.0)  # displacement = n a exactly
    R, out_, in_ = 4000, 2, 3
    x = np.tile([0.5, -1.0, 0.2], (R, 1))
    d = np.tile([0.3, 0.6], (R, 1))
    lr = 0.05
    w = np.zeros((R, out_, in_))
    # fixed BL (aihwkit update_bl_management=False): 31 slots whatever the update's size
    new = dev.pulsed_update_outer(w, x, d, lr, _rng("o", R), desired_bl=31,
                                  update_bl_management=False)
    n = np.abs(new) / dev.dw_min
    expect = lr * np.abs(d[0][:, None] * x[0][None, :]) / dev.dw_min  # E n = lr |d x| / dw_min
    se = n.std(axis=0) / np.sqrt(R)
    assert np.all(np.abs(n.mean(axis=0) - expect) <= Z * se)
    assert np.all(new * -np.sign(d[:, :, None] * x[:, None, :]) >= 0)  # pulses of sign -sign(d x)
    # shared row bit streams: counts of one input column are positively correlated across outputs
    c = np.corrcoef(n[:, 0, 1], n[:, 1, 1])[0, 1]
    assert c - Z / np.sqrt(R) > 0
    # truncation: a huge update saturates every stream, n = BL exactly
    big = dev.pulsed_update_outer(w[:2], x[:2] * 1e3, d[:2] * 1e3, lr, _rng("t", 2), desired_bl=7)
    np.testing.assert_allclose(np.abs(big), 7 * dev.dw_min)
    with pytest.raises(ValueError, match="lr"):
        dev.pulsed_update_outer(w[:2], x[:2], d[:2], 0.0, _rng(R=2))


def test_contract_apply_update_drives_layer_tiles_in_both_modes():
    from sim.optimizers import apply_update

    dev = PulsedSoftBounds(dw_min=0.01, dw_min_dtod=0.2, shape=(3, 4), seed=5)
    w = np.zeros((6, 3, 4))
    inc = np.full(w.shape, 0.03)
    for mode in ("mean_field", "pulsed"):
        out = apply_update(dev, w, inc, _rng(R=6), mode)
        assert out.shape == w.shape and np.all(out > 0)
    # per-run alpha broadcast over tiles through AnalogSGD
    algo = sim.AnalogSGD(np.array([0.1, 0.2, 0.1, 0.2, 0.1, 0.2]), dev, mode="pulsed")
    st = algo.step(algo.init(w), -np.ones(w.shape), _rng(R=6))
    assert st.W.shape == w.shape and np.all(st.W[1::2].mean() > st.W[::2].mean())


@pytest.mark.parametrize("management", [True, False])
def test_nan_increment_under_bl_gives_nan_counts_not_a_hang(management):
    """A NaN increment with a pulse train (desired_bl) used to hang: the NaN train length, cast to
    int64, was a negative value that binary exponentiation shifted forever. Now its counts are NaN
    (the whole run's under BL management, whose train length is the run's NaN maximum) and the
    other runs draw as before."""
    dev = sim.PulsedSoftBounds(dw_min=1e-3, desired_bl=31, update_bl_management=management)
    inc = np.array([[0.01, np.nan, 0.002], [0.004, 0.0, -0.003]])
    counts = dev.pulse_counts(inc.copy(), sim.BatchRNG(0, range(2), "probe"))
    clean = dev.pulse_counts(inc[1:].copy(), sim.BatchRNG(0, [1], "probe"))
    assert np.isnan(counts[0, 1])
    assert np.all(np.isnan(counts[0])) == management
    np.testing.assert_array_equal(counts[1:], clean)
