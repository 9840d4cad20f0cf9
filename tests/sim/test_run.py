import numpy as np
import pytest

import sim
from sim._rng import BatchRNG

PROB = sim.paper_problem("exact_fig3")
NOISE = sim.GaussianNoise(0.1)


def _run(algo=None, **kw):
    algo = algo or sim.AnalogSGD(0.05, sim.SoftBounds(1.0))
    kw.setdefault("steps", 60)
    kw.setdefault("seeds", 4)
    return sim.simulate(PROB, algo, noise=NOISE, **kw)


def test_same_seed_same_numbers_bit_for_bit():
    a, b = _run(seed=3), _run(seed=3)
    np.testing.assert_array_equal(a.final_weights, b.final_weights)
    np.testing.assert_array_equal(a["loss"], b["loss"])
    assert not np.array_equal(a.final_weights, _run(seed=4).final_weights)


def test_run_does_not_depend_on_batch():
    alone = _run(seeds=[5])
    batch = _run(seeds=8)
    # same noise stream for run 5; BLAS blocking of the batched matmul may differ in the last bit
    np.testing.assert_allclose(alone.final_weights[0], batch.final_weights[5], rtol=1e-12,
                               atol=1e-15)


def test_rng_streams_are_per_run_and_reusable():
    r = BatchRNG(0, [2, 0, 2], "x").normal(5)
    np.testing.assert_array_equal(r[0], r[2])
    assert not np.array_equal(r[0], r[1])
    np.testing.assert_array_equal(BatchRNG(0, [0], "x").normal(5)[0], r[1])
    assert not np.array_equal(BatchRNG(0, [0], "y").normal(5)[0], r[1])


def test_rng_blocks_continue_seamlessly():
    # the stream does not depend on how the buffer is refilled
    rng = BatchRNG(1, range(3), "z")
    draws = np.stack([rng.uniform(2) for _ in range(600)], axis=1)
    fresh = BatchRNG(1, [1], "z")
    np.testing.assert_array_equal(np.stack([fresh.uniform(2) for _ in range(600)], 1)[0],
                                  draws[1])


def test_averages_exact_with_stride():
    full = _run(record=("loss", "grad_norm2"), record_every=1, steps=100)
    strided = _run(record=("loss", "grad_norm2"), record_every=25, steps=100)
    np.testing.assert_allclose(strided.average("loss"), full["loss"][:, :100].mean(axis=1))
    np.testing.assert_allclose(strided.average("grad_norm2", 25, 75),
                               full["grad_norm2"][:, 25:75].mean(axis=1))
    with pytest.raises(ValueError, match="not a snapshot"):
        strided.average("loss", 10, 50)


def test_recorded_metrics_match_their_definitions():
    dev = sim.Power(1.0, 2.0)
    tr = _run(sim.AnalogSGD(0.05, dev), record=tuple(sim.METRICS), steps=5)
    # recompute at the final weights
    W = tr.final_weights
    g = PROB.grad(W)
    np.testing.assert_allclose(tr["grad_norm2"][:, -1], np.sum(g**2, axis=1))
    np.testing.assert_allclose(tr["loss"][:, -1], PROB.loss(W))
    np.testing.assert_allclose(tr["sat"][:, -1], np.abs(W).max(axis=1))
    np.testing.assert_allclose(tr["grad_norm2_M"][:, -1], np.sum(dev.M(W) * g**2, axis=1))
    np.testing.assert_allclose(tr["g_over_sqrt_f2"][:, -1], (dev.G(W) ** 2 / dev.F(W)).max(1))
    np.testing.assert_allclose(tr["e_k_general"][:, -1],
                               np.sum((g * dev.F(W) + np.abs(g) * dev.G(W)) ** 2, 1)
                               + 4 * np.sum(dev.M(W) * g**2, 1))
    np.testing.assert_array_less(tr["w_inf"].max(axis=1), tr.maxima["w_inf"] + 1e-15)


def test_digital_equals_analog_on_ideal_device():
    a = _run(sim.DigitalSGD(0.05))
    b = _run(sim.AnalogSGD(0.05, sim.Ideal()))
    np.testing.assert_array_equal(a.final_weights, b.final_weights)


def test_per_run_alpha_grid_matches_separate_runs():
    alphas = np.array([0.01, 0.05])
    grid = _run(sim.AnalogSGD(alphas, sim.SoftBounds(1.0)), seeds=[0, 0])
    for i, a in enumerate(alphas):
        one = _run(sim.AnalogSGD(float(a), sim.SoftBounds(1.0)), seeds=[0])
        np.testing.assert_allclose(grid.final_weights[i], one.final_weights[0], rtol=1e-12)


def test_mean_weights_is_time_average():
    tr = _run(average_from=30, steps=60, record=("loss",))
    assert tr.mean_weights.shape == (4, PROB.dim)
    with pytest.raises(ValueError, match="average_from"):
        _run(average_from=60, steps=60)


def test_saturation_and_divergence_are_flagged():
    # a huge step drives the soft-bounds device into its bound: flagged, not hidden
    tr = sim.simulate(PROB, sim.AnalogSGD(50.0, sim.SoftBounds(0.1)), steps=20, seeds=2,
                      noise=NOISE)
    assert tr.saturated.all() and (tr.first_saturated >= 0).all()
    # digital SGD with alpha L >> 2 diverges: sim.Diverged names the iteration and the runs
    with pytest.raises(sim.Diverged) as err:
        sim.simulate(PROB, sim.DigitalSGD(100.0), steps=400, seeds=2, noise=NOISE)
    assert 0 < err.value.iteration <= 400 and err.value.runs == [0, 1]


@pytest.mark.parametrize("kwargs,match", [
    (dict(steps=0), "steps must be a positive integer"),
    (dict(steps=2.5), "steps must be a positive integer"),
    (dict(record_every=0), "record_every"),
    (dict(seeds=0), "seeds must be a positive integer"),
    (dict(seeds=[]), "seeds must be"),
    (dict(record=("nope",)), "unknown metric"),
    (dict(w0=np.zeros(3)), "W0 must be a scalar"),
    (dict(w0=2.0), "W0 must lie in the device range"),
])
def test_simulate_validation(kwargs, match):
    kwargs.setdefault("steps", 5)
    with pytest.raises(ValueError, match=match):
        sim.simulate(PROB, sim.AnalogSGD(0.1, sim.SoftBounds(1.0)), **kwargs)


@pytest.mark.parametrize("make,match", [
    (lambda: sim.AnalogSGD(0.0, sim.SoftBounds(1.0)), "alpha"),
    (lambda: sim.DigitalSGD(-1.0), "alpha"),
    (lambda: sim.AnalogSGD(0.1, "soft"), "device must be"),
    (lambda: sim.GaussianNoise(-0.1), "std"),
    (lambda: sim.RademacherNoise(np.ones((2, 2))), "scale"),
    (lambda: sim.quadratic(np.ones((2, 3)), np.zeros(2)), "square"),
    (lambda: sim.quadratic(np.diag([1.0, -1.0]), np.zeros(2)), "positive semi-definite"),
    (lambda: sim.quadratic(np.eye(2), np.zeros(3)), "w_star"),
    (lambda: sim.paper_problem("nope"), "unknown paper problem"),
])
def test_constructor_validation(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_noise_levels():
    assert sim.GaussianNoise(0.1).sigma2(40) == pytest.approx(0.4)
    assert sim.GaussianNoise.from_sigma(2.0, 16).sigma2(16) == pytest.approx(4.0)
    assert sim.RademacherNoise(0.3).sigma2(1) == pytest.approx(0.09)


def test_paper_problems():
    p = sim.paper_problem("exact_fig3")
    assert p.dim == 40 and p.f_star == pytest.approx(0, abs=1e-20)
    np.testing.assert_allclose(p.grad(p.w_star[None]), 0, atol=1e-12)
    p = sim.paper_problem("exact_fig4_init")
    assert p.dim == 51 and p.w_star[-1] == pytest.approx(0.1)


def test_optimizers_accept_layer_shaped_weights_with_per_run_alpha():
    """The same optimizer objects drive (R, out, in) tiles; alpha per run broadcasts over both axes."""
    alpha = np.array([0.1, 0.2])
    w = np.full((2, 3, 4), 0.5)
    g = np.ones((2, 3, 4))
    rng = BatchRNG(0, range(2), "test")
    out = sim.AnalogSGD(alpha, sim.SoftBounds(1.0)).step(sim.WeightState(w), g, rng).W
    expected = 0.5 - alpha[:, None, None] * (1 + 0.5)  # W - a g - a |g| W / tau
    np.testing.assert_allclose(out, np.broadcast_to(expected, w.shape))
    dig = sim.DigitalSGD(alpha).step(sim.WeightState(w), g, rng).W
    np.testing.assert_allclose(dig, np.broadcast_to(0.5 - alpha[:, None, None], w.shape))


def test_record_memory_guard_counts_recorded_metrics_only(monkeypatch):
    """The snapshot-memory guard counts the metrics actually recorded: with ``record=()`` (recorders
    only) a long, wide run keeps no snapshots and must not be refused; recording one metric over the
    same run is refused once its snapshots pass the limit (the guard still works)."""
    import sim.run as run_mod

    monkeypatch.setattr(run_mod, "_MAX_RECORD_BYTES", 1 << 20)  # 1 MiB: R = 64, 2000 steps needs 2 MiB
    prob = sim.scalar_quadratic(1.0, 0.5)
    algo = sim.AnalogSGD(0.01, sim.SoftBounds(1.0))
    traj = sim.simulate(prob, algo, steps=2000, seeds=64, record=(), progress=False,
                        recorders={"floor": sim.Mean("grad_norm2", start=1000)})
    assert traj.recorded["floor"].shape == (64,)
    with pytest.raises(ValueError, match="raise record_every"):
        sim.simulate(prob, algo, steps=2000, seeds=64, record=("loss",), progress=False)
