"""aihwkit update semantics at pulse level, one rule per test, each citing the aihwkit source it
follows (IBM/aihwkit ``src/rpucuda/*.cpp`` and ``src/aihwkit/simulator/configs/devices.py``).

Statistical tolerances are Z = 3 standard errors (``verify.stats.Z``) of iid samples, with the
standard error stated at each check."""

import numpy as np
import pytest
from scipy.stats import binom

import sim
from sim._rng import BatchRNG
from sim.pulsed import (
    PulsedConstantStep,
    PulsedExpStep,
    PulsedLinearStep,
    PulsedSoftBounds,
    binomial_icdf,
)
from verify.stats import Z


def _rng(stream="a", R=1, seed=0):
    return BatchRNG(seed, range(R), stream)


def _var_se(x):
    c = np.ravel(x) - np.mean(x)
    s2 = np.mean(c**2)
    return s2, np.sqrt(max(np.mean(c**4) - s2**2, 0.0) / c.size)


# --- update BL management (rpu_pulsed_meta_parameter.cpp::performUpdateManagement) ---------------


@pytest.mark.parametrize("n, p", [(1, 0.37), (3, 0.83), (31, 0.05), (7, 0.5), (400, 0.3)])
def test_binomial_icdf_has_the_binomial_law(n, p):
    # every value's frequency within Z s.e. of the binomial pmf (s.e. sqrt(P(1-P)/N))
    N = 200_000
    k = binomial_icdf(np.random.default_rng(1).random(N), n, p)
    assert np.all(k == np.round(k)) and k.min() >= 0 and k.max() <= n
    vals = np.arange(n + 1)
    freq = np.bincount(k.astype(int), minlength=n + 1) / N
    pmf = binom.pmf(vals, n, p)
    assert np.all(np.abs(freq - pmf) <= Z * np.sqrt(pmf * (1 - pmf) / N) + 1e-12)
    # degenerate probabilities and the underflow branch
    assert np.all(binomial_icdf(np.array([0.0, 0.5, 0.999]), 4, 1.0) == 4)
    assert np.all(binomial_icdf(np.array([0.0, 0.999]), 4, 0.0) == 0)
    big = binomial_icdf(np.random.default_rng(2).random(50_000), 5000, 0.5)  # (1/2)^5000 underflows
    assert abs(big.mean() - 2500) <= Z * np.sqrt(1250 / big.size)


def test_bl_management_train_length_follows_the_largest_request():
    # aihwkit: BL = ceil(lr x_max d_max / dw_min), at most desired_bl ("the set BL is the *max BL*
    # in case of update_bl_management"); elementwise r_max is the run's largest |d|/dw_min
    dev = PulsedSoftBounds(dw_min=0.01, desired_bl=31)
    inc = np.array([[0.004, -0.002], [0.025, 0.001], [-2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(dev.bit_length(inc).ravel(), [1, 3, 31, 1])
    fixed = PulsedSoftBounds(dw_min=0.01, desired_bl=31, update_bl_management=False)
    assert fixed.bit_length(inc) == 31 and PulsedSoftBounds().bit_length(inc) is None
    n = dev.pulse_counts(inc, _rng(R=4))
    assert n[0].max() <= 1 and n[1].max() <= 3 and n[2, 0] == 31 and np.all(n[3] == 0)


@pytest.mark.parametrize("r", [0.3, 0.8, 2.6, 7.4])
def test_bl_managed_counts_have_mean_r_and_variance_r_times_1_minus_r_over_L(r):
    # pulse.bl_management_moments: n ~ Binomial(L, r/L), L = ceil(r) for the largest request;
    # r < 1 is the stochastic rounding of r (the default desired_bl=None path), variance r(1 - r)
    R, N, dw = 8, 25_000, 1e-3
    inc = np.full((R, N), r * dw)
    L = int(np.ceil(r))
    n = PulsedSoftBounds(dw_min=dw, desired_bl=31).pulse_counts(inc, _rng("c", R))
    v, se_v = _var_se(n)
    assert abs(n.mean() - r) <= Z * n.std() / np.sqrt(n.size)
    assert abs(v - r * (1 - r / L)) <= Z * se_v
    fixed = PulsedSoftBounds(dw_min=dw, desired_bl=31, update_bl_management=False)
    nf = fixed.pulse_counts(inc, _rng("f", R))
    vf, se_f = _var_se(nf)
    assert abs(vf - r * (1 - r / 31)) <= Z * se_f  # the fixed train: variance about r
    assert abs(v - vf) > Z * np.hypot(se_v, se_f)  # and the two laws differ
    if r < 1:
        sr = PulsedSoftBounds(dw_min=dw).pulse_counts(inc, _rng("s", R))
        vs, se_s = _var_se(sr)
        assert abs(v - vs) <= Z * np.hypot(se_v, se_s)


def test_outer_product_bl_management_and_update_management():
    # performUpdateManagement: L = min(ceil(lr x_max d_max/dw_min), BL); A, B rescaled by
    # sqrt(x_max/d_max); makeCounts: x bits with B|x|, d bits with A|d| (sparse_bit_line_maker.cpp)
    dev = PulsedConstantStep(dw_min=0.01, w_max=100.0, w_min=-100.0)
    R, lr = 20_000, 0.1
    x = np.tile([1.0, 0.25], (R, 1))
    d = np.tile([-0.06, 0.03], (R, 1))  # r_max = lr * 1 * 0.06 / 0.01 = 0.6 -> L = 1
    n = np.round(dev.pulsed_update_outer(np.zeros((R, 2, 2)), x, d, lr, _rng("o", R)) / 0.01)
    assert np.abs(n).max() <= 1  # one slot: at most one pulse per element
    expect = lr * np.abs(d[0][:, None] * x[0][None, :]) / 0.01
    m = np.abs(n).mean(axis=0)
    se = np.abs(n).std(axis=0) / np.sqrt(R)
    assert np.all(np.abs(m - expect) <= Z * se + 1e-12)
    # a huge update is truncated at desired_bl pulses (probabilities clip at 1)
    big = dev.pulsed_update_outer(np.zeros((2, 2, 2)), x[:2] * 1e3, d[:2] * 1e3, lr, _rng("t", 2),
                                  desired_bl=7)
    np.testing.assert_allclose(np.abs(big), 7 * 0.01)


# --- device-to-device bounds (rpu_pulsed_device.cpp::populate, enforce_consistency) ---------------


def test_drawn_bounds_across_zero_are_kept_valid_as_aihwkit_does():
    # aihwkit defaults w_max_dtod = w_min_dtod = 0.3 on a 10^4-element tile: some draws cross zero
    # (P(xi < -1/0.3) = 4.3e-4 per bound); populate swaps crossed bounds, then takes |b_max|, -|b_min|
    shape = (100, 100)
    dev = PulsedSoftBounds(dw_min=1e-3, w_max=0.6, w_min=-0.6, w_max_dtod=0.3, w_min_dtod=0.3,
                           dw_min_dtod=0.3, up_down_dtod=0.01, shape=shape, seed=10)
    xi = BatchRNG(10, [0], "device_to_device").normal((4, *shape))[0]
    raw_max, raw_min = 0.6 * (1 + 0.3 * xi[0]), -0.6 * (1 + 0.3 * xi[1])
    assert np.any(raw_max < 0) or np.any(raw_min > 0)  # the case the rule is about occurs here
    hi, lo = np.maximum(raw_max, raw_min), np.minimum(raw_max, raw_min)
    np.testing.assert_array_equal(dev.b_max, np.abs(hi))
    np.testing.assert_array_equal(dev.b_min, -np.abs(lo))
    assert np.all(dev.b_max >= 0) and np.all(dev.b_min <= 0)
    # a realistic tile trains: pulses stay inside every element's bounds
    w = np.zeros((2, *shape))
    for k in range(5):
        w = dev.pulsed_update(w, np.random.default_rng(k).normal(0, 0.05, w.shape), _rng("u", 2))
    assert np.all((w >= dev.b_min) & (w <= dev.b_max)) and np.all(np.isfinite(w))


# --- LinearStep slopes (rpu_linearstep_device.cpp::populate) --------------------------------------


def _one_pulse(dev, w, up=True):
    inc = np.full(w.shape, dev.dw_min if up else -dev.dw_min)
    return dev.pulsed_update(w, inc, _rng()) - w  # exactly one pulse (r = 1, no BL)


@pytest.mark.parametrize("mean_ref", [True, False])
def test_mean_bound_reference_uses_the_nominal_bound_in_the_slope(mean_ref):
    # slope_up = -gamma a_up / w_ref_up, w_ref_up = w_max (mean_bound_reference, aihwkit default for
    # LinearStepDevice) or the element's b_max (SoftBoundsDevice sets it False)
    shape = (200,)
    dev = PulsedLinearStep(dw_min=1e-3, w_max=1.0, w_min=-1.0, gamma_up=0.5, gamma_down=0.5,
                           w_max_dtod=0.2, w_min_dtod=0.2, shape=shape, seed=3,
                           mean_bound_reference=mean_ref)
    w = np.full((1, *shape), 0.3)
    ref_up = 1.0 if mean_ref else dev.b_max
    ref_dn = -1.0 if mean_ref else dev.b_min
    np.testing.assert_allclose(_one_pulse(dev, w)[0], dev.a_up * (1 - 0.5 * 0.3 / ref_up), rtol=1e-12)
    np.testing.assert_allclose(-_one_pulse(dev, w, up=False)[0],
                               dev.a_down * (1 - 0.5 * 0.3 / ref_dn), rtol=1e-12)
    np.testing.assert_allclose(dev.q_plus(w[0]) * dev.dw_min, dev.a_up * (1 - 0.5 * 0.3 / ref_up),
                               rtol=1e-12)
    assert PulsedLinearStep().mean_bound_reference and not PulsedSoftBounds().mean_bound_reference
    with pytest.raises(ValueError, match="mean_bound_reference"):
        PulsedSoftBounds(mean_bound_reference=True)


def test_gamma_dtod_draws_additive_absolute_slopes():
    # gamma' = |gamma + gamma_dtod xi| per element (ls_decrease_up + ls_decrease_up_dtod * xi; fabs
    # unless allow_increasing_slope)
    shape = (500,)
    dev = PulsedLinearStep(dw_min=1e-3, gamma_up=0.3, gamma_down=0.6, gamma_up_dtod=0.2,
                           gamma_down_dtod=0.05, shape=shape, seed=4)
    xi = BatchRNG(4, [0], "device_to_device_gamma").normal((2, *shape))[0]
    g_up, g_dn = np.abs(0.3 + 0.2 * xi[0]), np.abs(0.6 + 0.05 * xi[1])
    w = np.full((1, *shape), 0.4)
    np.testing.assert_allclose(_one_pulse(dev, w)[0], dev.a_up * (1 - g_up * 0.4), rtol=1e-10)
    np.testing.assert_allclose(-_one_pulse(dev, w, up=False)[0], dev.a_down * (1 + g_dn * 0.4),
                               rtol=1e-10)
    seq = dev.pulsed_update_sequential(np.zeros((3, *shape)), np.full((3, *shape), 0.05), _rng(R=3))
    fast = dev.pulsed_update(np.zeros((3, *shape)), np.full((3, *shape), 0.05), _rng(R=3))
    np.testing.assert_allclose(fast, seq, atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        PulsedLinearStep(gamma_up_dtod=0.1)


# --- additive cycle-to-cycle noise (mult_noise=False; update_once_add) ----------------------------


def test_additive_cycle_noise_is_a_sigma_per_pulse_whatever_the_weight():
    # update_once_add: w += a (1 - w/b) + a sigma xi (SoftBoundsReferenceDevice default
    # mult_noise=False); multiplicative: a (1 - w/b)(1 + sigma xi)
    R, N, s = 4, 50_000, 0.5
    w = np.full((R, N), 0.8)
    add = PulsedSoftBounds(dw_min=1e-3, dw_min_std=s, mult_noise=False)
    mult = PulsedSoftBounds(dw_min=1e-3, dw_min_std=s)
    da = (add.pulsed_update(w, np.full(w.shape, 1e-3), _rng("x", R)) - w).ravel()
    dm = (mult.pulsed_update(w, np.full(w.shape, 1e-3), _rng("y", R)) - w).ravel()
    step = 1e-3 * (1 - 0.8)
    se_a, se_m = da.std() / np.sqrt(2 * da.size), dm.std() / np.sqrt(2 * dm.size)
    assert abs(da.std() - 1e-3 * s) <= Z * se_a  # additive: a sigma
    assert abs(dm.std() - step * s) <= Z * se_m  # multiplicative: a (1 - w/b) sigma
    assert abs(da.mean() - step) <= Z * da.std() / np.sqrt(da.size)


def test_additive_noise_closed_form_matches_the_per_pulse_rule_in_distribution():
    # n pulses: noiseless closed form + N(0, a^2 sigma^2 sum_{i<n} (1 - rho)^{2i}) (sum of Gaussians)
    dev = PulsedSoftBounds(dw_min=0.002, w_max=1.0, w_min=-0.8, dw_min_std=0.6, mult_noise=False)
    R, N, d = 8, 4000, 0.03  # 15 pulses up from 0.2
    w = np.full((R, N), 0.2)
    fast = dev.pulsed_update(w, np.full(w.shape, d), _rng("a", R)).ravel()
    seq = dev.pulsed_update_sequential(w, np.full(w.shape, d), _rng("b", R)).ravel()
    rho = 0.002
    var = 0.002**2 * 0.6**2 * sum((1 - rho) ** (2 * i) for i in range(15))
    mean = 1 + (0.2 - 1) * (1 - rho) ** 15
    for x in (fast, seq):
        assert abs(x.mean() - mean) <= Z * x.std() / np.sqrt(x.size)
        v, se = _var_se(x)
        assert abs(v - var) <= Z * se


# --- ExpStep state-dependent noise (rpu_expstep_device.cpp::update_once_complex_noise) -------------


def test_exp_step_complex_noise_spread():
    # dw_std = dw_min_std (|dw| + dw_min_std_add + dw_min_std_slope |w|), w before the pulse
    kw = dict(dw_min=0.01, dw_min_std=0.2)
    dev = PulsedExpStep(**kw, dw_min_std_add=0.004, dw_min_std_slope=0.05)
    R, N, w0 = 4, 50_000, -0.3
    w = np.full((R, N), w0)
    out = (dev.pulsed_update(w, np.full(w.shape, 0.01), _rng("e", R)) - w).ravel()
    step = 0.01 * float(dev.q_plus(np.array(w0)))
    sd = 0.2 * (abs(step) + 0.004 + 0.05 * abs(w0))
    assert abs(out.mean() - step) <= Z * out.std() / np.sqrt(out.size)
    assert abs(out.std() - sd) <= Z * out.std() / np.sqrt(2 * out.size)
    plain = (PulsedExpStep(**kw).pulsed_update(w, np.full(w.shape, 0.01), _rng("e", R)) - w).ravel()
    assert abs(plain.std() - 0.2 * step) <= Z * plain.std() / np.sqrt(2 * plain.size)
    with pytest.raises(ValueError, match="dw_min_std_slope"):
        PulsedExpStep(dw_min_std_slope=-1.0)


# --- write noise on touched elements only (update_once_*: w_apparent = w + noise per pulse) -------


def test_apparent_redraws_only_touched_elements():
    dev = PulsedSoftBounds(dw_min=0.01, write_noise_std=1.0)
    before = np.zeros((2, 5))
    after = before.copy()
    after[:, :2] = 0.01  # the write touched the first two elements
    previous = np.full((2, 5), 0.123)  # apparent weights from an earlier write
    out = dev.apparent(after, _rng(R=2), previous=previous, before=before)
    np.testing.assert_array_equal(out[:, 2:], previous[:, 2:])
    assert np.all(out[:, :2] != after[:, :2])
    out0 = dev.apparent(after, _rng(R=2), before=before)  # no earlier write: untouched read w
    np.testing.assert_array_equal(out0[:, 2:], before[:, 2:])
    assert sim.PulsedSoftBounds(dw_min=0.01).apparent(after, _rng(R=2)) is after


# --- PiecewiseStep (rpu_piecewisestep_device.cpp::update_once) -------------------------------------


def _cpp_piecewise(w, up, a_up, a_down, b_min, b_max, vu, vd):
    """Noiseless step of update_once, transcribed element by element."""
    m = len(vu) - 1
    if m == 0:
        return a_up * vu[0] if up else -a_down * vd[0]
    s = max((w - b_min) / (b_max - b_min) * m, 0.0)
    i = min(int(np.floor(s)), m - 1)
    t = min(s - i, 1.0)
    return a_up * ((1 - t) * vu[i] + t * vu[i + 1]) if up else -a_down * ((1 - t) * vd[i] + t * vd[i + 1])


@pytest.mark.parametrize("vu, vd", [((1.0,), (1.0,)), ((1.0, 0.8, 0.3, 0.05), (0.1, 0.4, 0.9, 1.0))])
def test_piecewise_step_follows_update_once(vu, vd):
    dev = sim.PulsedPiecewiseStep(dw_min=0.02, w_max=1.0, w_min=-0.8, up_down=0.1, dw_min_dtod=0.2,
                                  w_max_dtod=0.1, shape=(7,), seed=2, piecewise_up=vu,
                                  piecewise_down=vd)
    R, D = 5, 7
    w = np.random.default_rng(1).uniform(-0.75, 0.95, (R, D))
    inc = np.random.default_rng(2).normal(0, 0.2, (R, D))
    got = dev.pulsed_update(w, inc, _rng(R=R))
    n = dev.pulse_counts(inc, _rng(R=R))  # the same stream: the same counts
    ref = w.copy()
    for r in range(R):
        for j in range(D):
            for _ in range(int(n[r, j])):
                st = _cpp_piecewise(ref[r, j], inc[r, j] >= 0, dev.a_up[j], dev.a_down[j],
                                    dev.b_min[j] if np.ndim(dev.b_min) else dev.b_min,
                                    dev.b_max[j], vu, vd)
                lo = dev.b_min[j] if np.ndim(dev.b_min) else dev.b_min
                ref[r, j] = min(max(ref[r, j] + st, lo), dev.b_max[j])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    one = dev.pulsed_update(w, np.full(w.shape, 0.02), _rng(R=R)) - w  # one pulse: q_+ dw_min
    inside = (w + one) < dev.b_max
    np.testing.assert_allclose(one[inside], (dev.q_plus(w) * 0.02)[inside], rtol=1e-12)
    with pytest.raises(ValueError, match="equal"):
        sim.PulsedPiecewiseStep(piecewise_up=(1.0, 0.5), piecewise_down=(1.0,))
    with pytest.raises(ValueError, match=">= 0"):
        sim.PulsedPiecewiseStep(piecewise_up=(-1.0,), piecewise_down=(1.0,))
