"""The papers' pulse-level presets (sim.presets): the documented settings are what the objects
hold (spec exact_training.md Sec. 6 and 8), each preset builds and runs a few steps, and the IO
weight noise that injects the gradient noise has aihwkit's law."""

import numpy as np
import pytest

import sim
import sim.presets as P
from sim import nets
from sim._rng import BatchRNG
from sim.nets.io import IO
from verify.stats import Z


def test_fig1_settings():
    p = P.fig1()
    d = p.device
    assert (d.dw_min, d.w_max, d.w_min, d.up_down, d.dw_min_std, d.write_noise_std) == (
        1e-4, 3.0, -3.0, 0.0, 0.0, 0.0)
    assert (d.dw_min_dtod, d.up_down_dtod, d.w_max_dtod, d.w_min_dtod) == (0.0,) * 4
    assert d.desired_bl == 800 and d.update_bl_management and not d.subtract_symmetry_point
    assert p.update.desired_bl == 800 and p.update.sto_round and p.update.update_management
    io = p.io
    assert not io.is_perfect and io.w_noise == pytest.approx(1e-2 / np.sqrt(40))
    assert (io.out_noise, io.inp_bits, io.out_bits, io.noise_management) == (0.0, None, None, False)
    assert (io.inp_bound, io.out_bound) == (10.0, 10.0)
    assert p.problem == "exact_fig1" and p.steps == 2500 and p.w0 == 0.0
    assert p.extra["lrs"] == (0.2, 0.1, 0.05, 0.03) and p.transfer is None
    assert p.assumptions and "Sec. 6" in p.source


@pytest.mark.parametrize("tau", [1.0, 2.5])
def test_fig3_settings(tau):
    p = P.fig3(tau)
    d = p.device
    assert d.dw_min == pytest.approx(tau / 300) and (d.w_max, d.w_min) == (tau, -tau)
    assert d.subtract_symmetry_point and d.desired_bl == 5000 and p.lr == 0.03 and p.steps == 2500
    A = sim.paper_problem("exact_fig3").meta["A"]
    assert p.io.w_noise == pytest.approx(0.1 / np.linalg.svd(A, compute_uv=False).mean())
    t = p.transfer
    assert (t.fast_lr, t.transfer_lr, t.transfer_every, t.n_reads_per_transfer, t.gamma,
            t.desired_bl) == (0.03, 0.03, 1, 40, 0.0, 300)
    tt = p.tiki_taka()
    assert tt.device.desired_bl == 300 and tt.columns_per_transfer == 40 and tt.alpha == 0.03


def test_fig4_settings():
    s = P.fig4_sigma(0.1)
    assert (s.device.w_max, s.device.dw_min, s.device.desired_bl, s.lr, s.steps) == (
        2.0, 1e-4, 5000, 0.1, 200)
    assert s.io.w_noise == pytest.approx(np.sqrt(0.1)) and s.device.subtract_symmetry_point
    i = P.fig4_init(1e3)
    assert i.w0 == 1.0 and i.steps == 50 and i.device.desired_bl == 400 and i.io.inp_bound == 1.0
    assert i.io.w_noise == pytest.approx(1e-2 / np.sqrt(50))


def test_fig5_settings_and_the_tile_with_aihwkit_variability():
    p = P.fig5(0.7, shape=(128, 257))
    d = p.device
    assert (d.dw_min, d.dw_min_dtod, d.dw_min_std, d.up_down_dtod, d.w_max_dtod, d.w_min_dtod) == (
        1e-3, 0.3, 0.3, 0.01, 0.3, 0.3)
    assert (d.w_max, d.w_min, d.seed, d.desired_bl) == (0.7, -0.7, 10, 31)
    assert not d.mult_noise and not d.subtract_symmetry_point and d.update_bl_management
    assert not p.io.is_perfect and p.io.out_noise == 0.06 and p.io.inp_bits == 7
    t = p.transfer
    assert (t.fast_lr, t.transfer_lr, t.n_reads_per_transfer, t.transfer_every, t.gamma) == (
        0.01, 0.05, 1, 1, 0.0)
    assert p.lr == 0.05 and p.extra["batch_size"] == 10 and P.fig5(network="cnn").extra[
        "batch_size"] == 8
    # 3.3e4 elements with aihwkit's default 0.3 bound spread: builds (bounds kept valid) and trains
    rng = BatchRNG(0, range(2), "t")
    for algo in (p.analog_sgd(), p.tiki_taka()):
        st = algo.init(np.zeros((2, 128, 257)))
        for _ in range(3):
            st = algo.step(st, rng.normal((128, 257)), rng)
        w = algo.weights(st)
        assert np.all(np.isfinite(w)) and np.any(w != 0)
    assert P.fig5(0.7).device.dw_min_dtod == 0.0  # no tile: variation off (nets.train)


def test_response_fig2_settings():
    p = P.response_fig2(0.2)
    d = p.device
    assert (d.dw_min, d.w_max, d.up_down, d.desired_bl, d.subtract_symmetry_point) == (
        1e-4, 3.5, 0.2, 8, False)
    assert p.io is None and p.w0 == 1.0 and p.lr == 0.8 and p.steps == 1000
    t = p.transfer
    assert (t.fast_lr, t.gamma, t.n_reads_per_transfer, t.transfer_every) == (0.8, 0.4, None, 1)
    # lr 0.8 with BL 8: at most 8 pulses per element and step (the script's 8 dw_min cap)
    n = d.pulse_counts(np.full((1, 50), 0.8 * 5.0), BatchRNG(0, [0], "c"))
    assert np.all(n == 8)


@pytest.mark.parametrize("name", ["fig1", "fig3", "fig4_sigma", "fig4_init", "response_fig2"])
def test_least_squares_presets_run(name):
    p = P.PRESETS[name]()
    for algo in [p.analog_sgd()] + ([p.tiki_taka()] if p.transfer else []):
        a = P.run_least_squares(p, algo, steps=8, runs=2, seed=1)
        b = P.run_least_squares(p, algo, steps=8, runs=2, seed=1)
        assert a.shape == (2, 9) and np.array_equal(a, b) and np.all(np.isfinite(a))
        assert a[:, -1].mean() < a[:, 0].mean()  # the loss falls within 8 steps
    assert p.make_optimizer("digital")(0.1).alpha == 0.1


def test_fig5_preset_trains_a_small_network():
    data = nets.load_digits()
    small = data._replace(x_train=data.x_train[:40], y_train=data.y_train[:40],
                          x_test=data.x_test[:40], y_test=data.y_test[:40])
    p = P.fig5(0.7)
    net = [nets.Linear(64, 16, io=p.io), nets.Sigmoid(), nets.Linear(16, 10, io=p.io)]
    for kind in ("analog_sgd", "tiki_taka"):
        res = nets.train(net, small, p.make_optimizer(kind), lr=p.lr, epochs=1, batch_size=10,
                         runs=2, progress=False)
        assert res.test_acc.shape == (2, 2) and np.all(np.isfinite(res.test_acc))


def test_invalid_preset_arguments():
    with pytest.raises(ValueError, match="network"):
        P.fig5(network="resnet")
    with pytest.raises(ValueError, match="Tiki-Taka"):
        P.fig1().tiki_taka()
    with pytest.raises(ValueError, match="kind"):
        P.fig1().make_optimizer("adam")
    with pytest.raises(ValueError, match="least-squares"):
        P.run_least_squares(P.fig5(), P.fig5().analog_sgd())
    with pytest.raises(ValueError, match="w_noise"):
        IO(w_noise=-1.0)
    with pytest.raises(ValueError, match="sigma2"):
        P.fig4_sigma(-0.1)
    with pytest.raises(ValueError, match="lr"):
        P.fig1(lr=0.0)
    with pytest.raises(ValueError, match="c_lin"):
        P.response_fig2(1.5)
    with pytest.raises(ValueError, match="update_bl_management"):
        sim.PulsedSoftBounds(update_bl_management="yes")


def test_io_weight_noise_is_a_fresh_weight_perturbation_per_product():
    # aihwkit ADDITIVE_CONSTANT (forward_backward_pass.cpp::applyOutputWeightNoise): each output
    # gets w_noise |x|_2 xi, the law of (W + w_noise Xi) x with fresh Xi; sd checked within Z s.e.
    # of a sample sd (sd/sqrt(2N), Gaussian), independence across outputs by the correlation
    sw = 0.05
    io = IO(is_perfect=False, inp_bound=10.0, out_bound=1e3, inp_bits=None, out_bits=None,
            out_noise=0.0, noise_management=False, w_noise=sw)
    R, B, n, m = 4, 5000, 6, 3
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.3, (R, m, n))
    x = np.broadcast_to(rng.normal(0, 1, n), (R, B, n))
    e = io.forward(W, x, False, BatchRNG(0, range(R), "io")) - x @ W.transpose(0, 2, 1)
    sd = sw * np.linalg.norm(x[0, 0])
    se = e.std() / np.sqrt(2 * e.size)
    assert abs(e.std() - sd) <= Z * se and abs(e.mean()) <= Z * e.std() / np.sqrt(e.size)
    assert abs(np.corrcoef(e[..., 0].ravel(), e[..., 1].ravel())[0, 1]) <= Z / np.sqrt(R * B)
    dy = np.broadcast_to(rng.normal(0, 1, m), (R, B, m))  # backward: the same law on W^T
    eb = io.backward(W, dy, False, BatchRNG(1, range(R), "io")) - dy @ W
    seb = eb.std() / np.sqrt(2 * eb.size)
    assert abs(eb.std() - sw * np.linalg.norm(dy[0, 0])) <= Z * seb
    with pytest.raises(ValueError, match="rng"):
        io.forward(W, x, False, None)
