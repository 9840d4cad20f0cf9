"""Power-step and exponential-step devices at pulse level (aihwkit PowStepDevice / ExpStepDevice):
per-pulse rule, masked pulse loop, mean-field limit, write noise, validation."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import sim
from sim._rng import BatchRNG
from sim.pulsed import PulsedExpStep, PulsedPowStep
from verify.stats import Z


def _rng(stream="s", R=1, seed=0):
    return BatchRNG(seed, range(R), stream)


def _aihwkit_pow(w, sign_up, a_up, a_down, g_up, g_down, b_max, b_min):
    """Noiseless step of rpu_powstep_device.cpp::update_once (aihwkit sign > 0 is a down pulse)."""
    rng_ = b_max - b_min
    if sign_up:
        return a_up * ((b_max - w) / rng_) ** g_up
    return -a_down * ((w - b_min) / rng_) ** g_down


def _aihwkit_exp(w, sign_up, a_up, a_down, dev, b_max, b_min):
    """Noiseless step of rpu_expstep_device.cpp::update_once."""
    z = 2.0 * w / (b_max - b_min) * dev.a + dev.b
    if sign_up:
        return max(1.0 - dev.A_up * np.exp(dev.gamma_up * z), 0.0) * a_up
    return -max(1.0 - dev.A_down * np.exp(-dev.gamma_down * z), 0.0) * a_down


def _elem(v, j):
    return float(np.ravel(v)[j]) if np.ndim(v) else float(v)


def _scalar_reference(dev, w, inc, rng):
    """Element by element, pulse by pulse, with the aihwkit formulas (same draws as the device:
    the pulse counts, then one normal per element per pulse index)."""
    R, D = w.shape
    n = dev.pulse_counts(inc, rng)
    z = [rng.normal(D) if dev.dw_min_std else np.zeros((R, D)) for _ in range(int(n.max()))]
    out = w.copy()
    for r in range(R):
        for j in range(D):
            c = {nm: _elem(getattr(dev, nm), j) for nm in ("a_up", "a_down", "b_max", "b_min")}
            x = out[r, j]
            for k in range(int(n[r, j])):
                if isinstance(dev, PulsedPowStep):
                    s = _aihwkit_pow(x, inc[r, j] >= 0, c["a_up"], c["a_down"],
                                     _elem(dev.gamma_up, j), _elem(dev.gamma_down, j), c["b_max"],
                                     c["b_min"])
                else:
                    s = _aihwkit_exp(x, inc[r, j] >= 0, c["a_up"], c["a_down"], dev, c["b_max"],
                                     c["b_min"])
                x = min(max(x + s * (1 + dev.dw_min_std * z[k][r, j]), c["b_min"]), c["b_max"])
            out[r, j] = x
    return out


@pytest.mark.parametrize("dev", [
    PulsedPowStep(dw_min=0.02, w_max=1.0, w_min=-0.8, up_down=0.2, pow_gamma=1.7, pow_up_down=-0.3,
                  pow_gamma_dtod=0.2, pow_up_down_dtod=0.05, dw_min_dtod=0.2, w_max_dtod=0.1,
                  dw_min_std=0.3, shape=(5,), seed=4),
    PulsedPowStep(dw_min=0.05, w_max=0.6, w_min=-0.6, pow_gamma=0.5, dw_min_std=0.0),
    PulsedExpStep(dw_min=0.02, w_max=1.0, w_min=-1.0, up_down=-0.1, dw_min_dtod=0.3, w_min_dtod=0.1,
                  dw_min_std=0.3, shape=(5,), seed=2),
    PulsedExpStep(dw_min=0.05, w_max=0.6, w_min=-0.6, A_up=0.05, A_down=0.05, gamma_up=2.0,
                  gamma_down=3.0, a=1.0, b=0.0),
])
def test_masked_pulse_loop_equals_aihwkit_per_pulse_rule(dev):
    R, D = 6, 5
    w = np.random.default_rng(1).uniform(-0.55, 0.55, (R, D))
    inc = np.random.default_rng(2).normal(0, 0.3, (R, D))  # 0-40 pulses; some runs hit a bound
    got = dev.pulsed_update(w, inc, _rng(R=R))
    ref = _scalar_reference(dev, w, inc, _rng(R=R))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    assert np.all((got >= dev.b_min) & (got <= dev.b_max))
    # one noiseless pulse moves by dw_min q_pm(w): the mean-field responses are the per-pulse rule
    quiet = type(dev)(**{**{f: getattr(dev, f) for f in dev.__dataclass_fields__
                            if dev.__dataclass_fields__[f].init}, "dw_min_std": 0.0})
    one = quiet.pulsed_update(w, np.full(w.shape, quiet.dw_min), _rng(R=R))
    np.testing.assert_allclose(one - w, quiet.dw_min * quiet.q_plus(w), rtol=1e-12, atol=1e-15)
    down = quiet.pulsed_update(w, np.full(w.shape, -quiet.dw_min), _rng(R=R))
    np.testing.assert_allclose(w - down, quiet.dw_min * quiet.q_minus(w), rtol=1e-12, atol=1e-15)


def test_exp_step_clips_at_the_bound_like_update_once():
    # A small: the up step is still > 0 at b_max, so pulses overshoot and are clipped (C++ MIN/MAX)
    dev = PulsedExpStep(dw_min=0.05, w_max=0.6, w_min=-0.6, A_up=0.05, A_down=0.05, gamma_up=2.0,
                        gamma_down=3.0, a=1.0, b=0.0)
    assert dev.q_plus(np.array(0.6)) > 0.5
    out = dev.pulsed_update(np.array([[0.55, -0.55]]), np.array([[0.5, -0.5]]), _rng())
    assert out[0, 0] == 0.6
    # down: the step max(1 - A e^{-gamma z}, 0) vanishes at z0 = -ln(1/A)/gamma, above b_min
    z0 = -np.log(1 / 0.05) / 3.0
    # (w0 = z0 * 1.2/2 = -0.599): the weight moves down but never past w0, so never to b_min
    assert z0 * 0.6 < out[0, 1] < -0.55


def test_pow_up_down_is_one_sided_as_in_the_cpp():
    # C++ populate: pow_up_down = +beta lowers gamma_down only, -beta gamma_up only
    p = PulsedPowStep(pow_gamma=2.0, pow_up_down=0.25)
    m = PulsedPowStep(pow_gamma=2.0, pow_up_down=-0.25)
    assert (p.gamma_up, p.gamma_down) == (2.0, 1.5) and (m.gamma_up, m.gamma_down) == (1.5, 2.0)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.5])
def test_pow_step_mean_field_is_a_scaled_power_device(gamma):
    # on +-tau without asymmetry: q_pm = 2^-gamma (1 -+ w/tau)^gamma = 2^-gamma * sim.Power
    tau = 0.8
    dev = PulsedPowStep(dw_min=1e-3, w_max=tau, w_min=-tau, pow_gamma=gamma)
    ref = sim.Power(tau, gamma)
    grid = np.linspace(-tau, tau, 11)
    np.testing.assert_allclose(dev.q_plus(grid), 2**-gamma * ref.q_plus(grid), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dev.q_minus(grid), 2**-gamma * ref.q_minus(grid), rtol=1e-12,
                               atol=1e-15)
    assert dev.symmetric_point() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("dev", [PulsedPowStep(w_max=1.0, w_min=-0.6, up_down=0.2, pow_gamma=1.5,
                                               pow_up_down=0.2),
                                 PulsedExpStep()])
def test_symmetric_point_is_the_root_of_G(dev):
    ws = dev.symmetric_point()
    assert dev.G(np.array(ws)) == pytest.approx(0.0, abs=1e-12)
    assert dev.b_min < ws < dev.b_max


def _flow(dev, w0, d):
    """The dw_min -> 0 limit of n = d/dw_min pulses: dw/ds = q_+(w) over s in [0, d]."""
    sol = solve_ivp(lambda s, y: dev.q_plus(y), (0.0, d), [w0], rtol=1e-12, atol=1e-14)
    return float(sol.y[0, -1])


@pytest.mark.parametrize("cls, kw", [(PulsedPowStep, dict(pow_gamma=1.7)), (PulsedExpStep, {})])
def test_mean_field_limit_pulses_converge_to_the_flow_of_q_at_order_dw_min(cls, kw):
    # noiseless, n = d/dw_min pulses exactly (integer, so no rounding randomness); Euler steps of
    # the flow dw/ds = q_+(w): global error O(dw_min), so it must fall 10x when dw_min does (within
    # 20%: the next order is O(dw_min^2)); the flow's first order in d is the mean-field map w + d q.
    w0, d = 0.1, 0.2
    errs = []
    for dw in (4e-3, 4e-4, 4e-5):
        dev = cls(dw_min=dw, w_max=1.0, w_min=-1.0, **kw)
        out = dev.pulsed_update(np.full((1, 1), w0), np.full((1, 1), d), _rng())[0, 0]
        errs.append(out - _flow(dev, w0, d))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all(np.abs(ratios - 10) < 2), ratios
    # negative control: against the mean-field map U(w, d) = w + d q(w) the gap does not shrink
    dev = cls(dw_min=4e-5, w_max=1.0, w_min=-1.0, **kw)
    u = w0 + d * float(dev.q_plus(np.array(w0)))
    out = dev.pulsed_update(np.full((1, 1), w0), np.full((1, 1), d), _rng())[0, 0]
    assert abs(out - u) > 10 * abs(errs[-1])


def test_cycle_noise_mean_and_spread_of_one_pulse():
    # one up pulse: mean dw_min q_+(w), sd dw_min q_+(w) sigma_c; Z s.e. over N iid elements
    dev = PulsedPowStep(dw_min=0.01, pow_gamma=2.0, dw_min_std=0.4)
    R, N, w0 = 4, 50_000, 0.3
    out = dev.pulsed_update(np.full((R, N), w0), np.full((R, N), 0.01), _rng("c", R)).ravel() - w0
    step = 0.01 * float(dev.q_plus(np.array(w0)))
    assert abs(out.mean() - step) <= Z * out.std() / np.sqrt(out.size)
    assert abs(out.std() - 0.4 * step) <= Z * out.std() / np.sqrt(2 * out.size)
    assert abs(out.std() - 0.44 * step) > Z * out.std() / np.sqrt(2 * out.size)  # power: +10% fails


def test_same_seed_same_numbers_and_analog_sgd_runs_pulsed():
    prob = sim.paper_problem("exact_fig3")
    for dev in (PulsedPowStep(dw_min=1 / 300, pow_gamma=1.5, dw_min_std=0.3),
                PulsedExpStep(dw_min=1 / 300, dw_min_std=0.3)):
        runs = [sim.simulate(prob, sim.AnalogSGD(0.03, dev, mode="pulsed"), steps=100, seeds=3,
                             noise=sim.GaussianNoise(0.1), progress=False) for _ in range(2)]
        assert np.array_equal(runs[0]["loss"], runs[1]["loss"])
        assert runs[0]["loss"][:, -1].mean() < 0.7 * runs[0]["loss"][:, 0].mean()


@pytest.mark.parametrize("cls, kw, match", [
    (PulsedPowStep, dict(pow_gamma=0.0), "pow_gamma"),
    (PulsedPowStep, dict(pow_up_down=1.0), "pow_up_down"),
    (PulsedPowStep, dict(pow_gamma_dtod=0.1), "shape"),
    (PulsedPowStep, dict(pow_up_down_dtod=-0.1), "pow_up_down_dtod"),
    (PulsedPowStep, dict(dw_min=2.5), "dw_min"),
    (PulsedExpStep, dict(A_up=-1.0), "A_up"),
    (PulsedExpStep, dict(gamma_down=float("nan")), "gamma_down"),
    (PulsedExpStep, dict(a=float("inf")), "a must"),
    (PulsedExpStep, dict(write_noise_std=-0.5), "write_noise_std"),
])
def test_invalid_parameters(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_weight_shape_must_match_the_variation():
    dev = PulsedPowStep(pow_gamma_dtod=0.1, shape=(3,))
    with pytest.raises(ValueError, match="shape"):
        dev.pulsed_update(np.zeros((2, 4)), np.ones((2, 4)), _rng(R=2))


@pytest.mark.parametrize("dev_cls", [PulsedPowStep, sim.PulsedSoftBounds])
def test_write_noise_leaves_the_persistent_trajectory_and_reads_persistent_plus_noise(dev_cls):
    kw = dict(dw_min=0.005, w_max=1.0, w_min=-1.0, dw_min_std=0.3)
    clean, noisy = dev_cls(**kw), dev_cls(**kw, write_noise_std=2.0)
    a, b = sim.AnalogSGD(0.05, clean, mode="pulsed"), sim.AnalogSGD(0.05, noisy, mode="pulsed")
    R, D = 8, 2000
    sa, sb = a.init(np.zeros((R, D))), b.init(np.zeros((R, D)))
    assert sb.W_read is None and np.array_equal(b.query(sb), sb.W)  # W_read = W until a write
    ra, rb, grads = _rng("w", R), _rng("w", R), np.random.default_rng(7)
    touched = np.zeros((R, D), dtype=bool)
    for _ in range(20):  # the same gradients for both
        g = grads.normal(0, 1, (R, D))
        before = sb.W
        sa, sb = a.step(sa, g, ra), b.step(sb, g, rb)
        touched |= sb.W != before
        # persistent weights: bit for bit the clean device's trajectory
        assert np.array_equal(sa.W, sb.W) and sa.W_read is None
        assert np.array_equal(a.weights(sa), sa.W)
    # apparent = persistent + write_noise_std * dw_min * N(0, 1) on every element a write touched
    # (aihwkit redraws only those); never-touched elements read their persistent weight exactly
    e_all = b.weights(sb) - sb.W
    assert touched.mean() > 0.9 and np.all(e_all[~touched] == 0)
    e = e_all[touched]
    # the spread is 2 * 0.005 within Z s.e. of a sample sd (sd / sqrt(2N), Gaussian); mean 0
    target, se = 2.0 * 0.005, e.std() / np.sqrt(2 * e.size)
    assert abs(e.std() - target) <= Z * se and abs(e.mean()) <= Z * e.std() / np.sqrt(e.size)
    assert abs(e.std() - 1.05 * target) > Z * se  # power: a 5% wrong spread fails
    assert np.array_equal(b.query(sb), b.weights(sb))
    # a write that touches nothing (zero gradient: no pulse) leaves the apparent weights as they are
    same = b.step(sb, np.zeros((R, D)), rb)
    np.testing.assert_array_equal(same.W_read, sb.W_read)
    # redrawn, not accumulated: a write touching an element draws a new, independent deviation,
    # the untouched ones keep theirs
    sc = b.step(sb, grads.normal(0, 1, (R, D)), rb)
    hit = sc.W != sb.W
    e1, e2 = (sb.W_read - sb.W)[hit & touched], (sc.W_read - sc.W)[hit & touched]
    assert abs(np.corrcoef(e1, e2)[0, 1]) <= Z / np.sqrt(e1.size)
    assert abs(e2.std() - target) <= Z * e2.std() / np.sqrt(2 * e2.size)
    np.testing.assert_array_equal(sc.W_read[~hit], sb.W_read[~hit])


def test_substream_is_cached_and_a_per_run_function():
    big, small = _rng("x", 4), BatchRNG(0, [2], "x")
    assert big.substream("write_noise") is big.substream("write_noise")
    a = big.substream("write_noise").normal(3)[2]
    b = small.substream("write_noise").normal(3)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, big.normal(3)[2])


def test_tiki_taka_write_noise_reads_apparent_weights_and_keeps_persistent_ones():
    kw = dict(dw_min=0.004, w_max=1.0, w_min=-1.0)
    clean, noisy = sim.PulsedSoftBounds(**kw), sim.PulsedSoftBounds(**kw, write_noise_std=3.0)
    a = sim.TikiTaka(0.1, 0.1, clean, mode="pulsed", gamma=0.5)
    b = sim.TikiTaka(0.1, 0.1, noisy, mode="pulsed", gamma=0.5)
    R, D = 4, 3000
    sa, sb = a.init(np.zeros((R, D))), b.init(np.zeros((R, D)))
    ra, rb, grads = _rng("t", R), _rng("t", R), np.random.default_rng(3)
    g = grads.normal(0, 1, (R, D))
    sa, sb = a.step(sa, g, ra), b.step(sb, g, rb)
    # P is persistent-identical; the transfer read P's apparent weight, so W differs
    assert np.array_equal(sa.P, sb.P) and not np.array_equal(sa.W, sb.W)
    hit = sb.W != 0  # the transfer's pulses touched these elements of W: fresh write noise
    assert hit.mean() > 0.5 and np.all(sb.W_read[~hit] == sb.W[~hit])
    e = (sb.W_read - sb.W)[hit]
    se = e.std() / np.sqrt(2 * e.size)
    assert abs(e.std() - 3.0 * 0.004) <= Z * se
    np.testing.assert_array_equal(b.query(sb), sb.W_read + 0.5 * sb.P_read)
    assert sa.W_read is None and sa.P_read is None
