"""2502.06309 Figs. 4 / 5 (response_fig4_mnist, response_fig5_gamma) and the 2406.12774 Fig. 5 ablation
(exact_fig5_ablation): devices, optimizer rows, pairing of the gamma runs, the stall count."""

from dataclasses import replace

import numpy as np
import pytest

import sim
from paper_figures import _rl_mnist as rl
from paper_figures import exact_fig5_ablation as abl
from paper_figures import response_fig4_mnist as f4
from paper_figures import response_fig5_gamma as f5


def test_power_device_is_the_papers_power_response():
    # aihwkit PowStepDevice on [-tau, tau]: q_+-(w) = 2^-gamma (1 -+ w/tau)^gamma (exact identity)
    c = f4.CONFIGS["full"].fcn
    tau = 0.6
    dev = rl.power_device(tau, c)
    w = np.linspace(-0.55, 0.55, 23)
    g = c.gamma_res
    np.testing.assert_allclose(dev.q_plus(w), 2.0**-g * (1 - w / tau) ** g, rtol=1e-12)
    np.testing.assert_allclose(dev.q_minus(w), 2.0**-g * (1 + w / tau) ** g, rtol=1e-12)
    assert abs(dev.symmetric_point()) < 1e-12
    assert dev.dw_min == 1e-3 and dev.desired_bl == 32 and g == 0.5


def test_fig4_rl_optimizer_has_the_papers_rates():
    c = f4.CONFIGS["full"].fcn
    opt = rl.optimizer_factory("rl", 0.6, c)(0.05)
    assert isinstance(opt, sim.TikiTaka) and opt.mode == "pulsed"
    assert (opt.alpha, opt.beta, opt.gamma, opt.columns_per_transfer) == (0.05, 0.01, 0.4, 1)
    assert rl.optimizer_factory("analog", 0.6, c)(0.05).mode == "pulsed"
    with pytest.raises(ValueError, match="algorithm must be one of"):
        rl.optimizer_factory("sgd", 0.6, c)
    with pytest.raises(ValueError, match="kind must be 'fcn' with FCN settings"):
        rl.network("cnn", c)


def test_fig5_stacked_gammas_are_paired_with_standalone_runs():
    # batch slot (gamma g, seed s) uses run index s: gamma = 0 inside the stacked batch gives the same
    # numbers as a standalone Tiki-Taka run (same init, shuffles, pulses and IO noise)
    c = replace(f5.CONFIGS["quick"].fcn, epochs=1, sizes=(64, 8, 10))
    stacked = rl.train("fcn", c, "rl", 0.6, 7, runs=[0, 1, 0, 1], gamma=np.array([0.0, 0.0, 0.4, 0.4]))
    alone = rl.train("fcn", c, "rl", 0.6, 7, runs=[0, 1], gamma=0.0)
    np.testing.assert_array_equal(stacked.test_acc[:2], alone.test_acc)
    # and gamma matters: the two gammas' weights differ after one epoch
    assert not np.array_equal(stacked.weights[0][:2], stacked.weights[0][2:])


def test_ablation_rows_change_one_factor_at_a_time():
    base = abl.ROWS["baseline"][1:]
    # fields: model, beta, transfer, cols, io, variation, per-sample writes
    single = {"one_column": {2, 3}, "beta": {1}, "pulse": {0}, "per_sample": {6}}
    for row, fields in single.items():
        changed = {i for i, (a, b) in enumerate(zip(base, abl.ROWS[row][1:], strict=True)) if a != b}
        assert changed == fields, row
    pulse, preset = abl.ROWS["pulse"][1:], abl.ROWS["pulse_ttv1"][1:]
    single = {"pulse_dtod": (pulse, {5}), "pulse_ttv1_dtod": (preset, {5}), "pulse_ttv1_io": (preset, {4})}
    for row, (ref, fields) in single.items():
        changed = {i for i, (a, b) in enumerate(zip(ref, abl.ROWS[row][1:], strict=True)) if a != b}
        assert changed == fields, row
    ttv1 = abl.optimizer_factory("pulse_ttv1", 0.8)(0.05)
    assert (ttv1.alpha, ttv1.beta, ttv1.columns_per_transfer, ttv1.mode) == (0.05, 0.01, 1, "pulsed")
    assert ttv1.device == abl.pulse_device(0.8)
    b = abl.optimizer_factory("baseline", 0.8)(0.05)
    assert (b.alpha, b.beta, b.columns_per_transfer, b.mode) == (pytest.approx(0.01), 0.1, None, "mean_field")
    with pytest.raises(ValueError, match="row must be one of"):
        abl.optimizer_factory("nope", 0.8)


def test_ablation_stall_count():
    # digital mean 89; epochs 0..4, midpoint epoch 2. Seed 0 fine; seed 1 low but rising (slow, not
    # stalled); seed 2 low and flat (stalled); seed 3 low, flat within 2 points (stalled)
    acc = np.array([[10, 50, 80, 88, 89], [10, 10, 20, 40, 60], [10, 18, 18, 18, 18], [10, 17, 18, 19, 19.5]],
                   dtype=float)
    data = {"fcn_digital_final": np.array([88.0, 90.0]), "fcn_baseline_acc": acc,
            "fcn_baseline_final": acc[:, -2:].mean(axis=1)}
    assert abl.stalled(data, "fcn", "baseline", 15.0, 2.0) == 2
    assert abl.stalled(data, "fcn", "baseline", 15.0, 1.0) == 1  # seed 3 gained 1.5 points
    assert abl.stalled(data, "fcn", "baseline", 15.0, 50.0) == 3  # seed 1's 40-point rise counts as flat


def test_per_tile_optimizer_gives_each_tile_its_own_varied_device():
    opt = abl.optimizer_factory("pulse_ttv1_dtod", 0.8)(0.05)
    rng = sim.BatchRNG(0, range(2), "t")
    shapes = [(3, 5), (2, 4)]
    states = [opt.init(np.zeros((2, *s))) for s in shapes]
    for s in shapes:  # one TT-v1 optimizer per tile, its device varied for that tile's shape
        tile = opt._of(np.zeros((1, *s)))
        assert tile.device.shape == s and np.shape(tile.device.b_max) == s
        assert tile.device == abl.pulse_device(0.8, s) and (tile.beta, tile.columns_per_transfer) == (0.01, 1)
    new = [opt.step(st, np.ones(st.W.shape), rng) for st in states]
    assert [n.W.shape for n in new] == [(2, *s) for s in shapes]
    assert opt.device.tau == 0.8  # nominal device (saturation metric)
    # an initial weight beyond an element's drawn bound is clipped to it (aihwkit clips set weights)
    big = opt.init(np.full((2, 3, 5), 5.0))
    np.testing.assert_array_equal(big.W, np.broadcast_to(opt._of(big.W).device.b_max, (2, 3, 5)))


def test_fig4_table_takes_different_tau_counts_per_network():
    """``--set cnn.taus=0.8`` leaves the FCN with three taus and the CNN with one: the table shows
    every measured cell and a dash where a network has no such tau (it raised IndexError)."""
    cfg = f4.FIGURE.config("full", {"cnn.taus": "0.8"})
    data = {}
    for kind, taus in (("fcn", cfg.fcn.taus), ("cnn", cfg.cnn.taus)):
        for alg in rl.ALGORITHMS:
            n = 1 if alg == "digital" else len(taus)
            data[f"{kind}_{alg}_final"] = np.arange(2 * n, dtype=float).reshape(n, 2) + 40
    rows = f4.accuracy_table(data, cfg).splitlines()[2:]
    assert len(rows) == 1 + 2 * len(cfg.fcn.taus)
    assert sum(r.endswith("| — |") for r in rows) == 2 * (len(cfg.fcn.taus) - 1)  # CNN column
    assert "0.5 / 0.8" in rows[1] and "0.6 / —" in rows[2]
