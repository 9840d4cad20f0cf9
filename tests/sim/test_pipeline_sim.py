"""Pipeline schedules (event simulation) and the pipelined training engine."""

import numpy as np
import pytest

import sim
from sim import nets
from sim.pipeline import (
    SCHEDULES,
    SeparableQuadratic,
    build_schedule,
    render_grid,
    staged_mlp,
    train_pipeline,
)


@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize("M,B", [(1, 1), (1, 4), (3, 2), (4, 5), (6, 1)])
def test_schedule_is_consistent(kind, M, B):
    s = build_schedule(kind, M, B, 3)
    n = s.n_micro
    assert n == 3 * B
    # each stage does exactly one F and one B per micro-batch, dependencies respected
    assert np.count_nonzero(s.grid == 1) == n * M and np.count_nonzero(s.grid == 2) == n * M
    assert np.all(s.fwd_cycle[:, 1:] > s.fwd_cycle[:, :-1])
    assert np.all(s.bwd_cycle[:, -1] > s.fwd_cycle[:, -1])
    assert np.all(s.bwd_cycle[:, :-1] > s.bwd_cycle[:, 1:])
    assert s.updates == (n if kind.startswith("async") else 3)
    assert np.all(s.delays >= 0) and np.all(s.delays <= M - 1)


def test_one_stage_pipelines_coincide():
    a = build_schedule("async", 1, 6, 1)
    n = build_schedule("none", 1, 1, 6)
    assert a.cycles == n.cycles == 12 and np.all(a.delays == 0)
    np.testing.assert_array_equal(a.grid, n.grid)


def test_fig1_sync_panel():
    rows = render_grid(build_schedule("sync", 4, 5, 1))
    assert rows[-1] == "F.F.F.FBFB.B.B.B" and len(rows[0]) == 16


@pytest.mark.parametrize("kwargs,match", [
    (dict(kind="gpipe", stages=2, micro_batches=2), "kind"),
    (dict(kind="sync", stages=0, micro_batches=2), "stages"),
    (dict(kind="sync", stages=2, micro_batches=1.5), "micro_batches"),
    (dict(kind="sync", stages=2, micro_batches=2, mini_batches=-1), "mini_batches"),
])
def test_schedule_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_schedule(**kwargs)


def _mlp(R, M, rng_seed=0):
    """M tanh-separated sim.nets Linear tiles, one per stage, and their initial weights."""
    layers, stage = staged_mlp([6, 8, 8, 8, 3][: M + 1], M)
    w0 = nets.init_params(layers, sim.BatchRNG(rng_seed, range(R), "init"))
    return layers, stage, w0


def _tiles(run):
    """The trained tiles (the activations have no weights)."""
    return [W for W in run.weights if W is not None]


def _teacher_data(R, b, n_in, n_out):
    A = np.linspace(-1, 1, n_in * n_out).reshape(n_out, n_in)

    def data(rng, j):
        x = rng.normal((b, n_in))
        return x, np.tanh(x @ A.T)

    return data


def _mse_grad(out, y):
    return (out - y) / out.shape[1]


def _train(kind, M=3, B=4, K=5, R=3, seed=0):
    layers, stage, w0 = _mlp(R, M)
    sched = build_schedule(kind, M, B, K) if kind in ("none", "sync") else build_schedule(kind, M, B * K, 1)
    opt = sim.AnalogSGD(0.05, sim.SoftBounds(1.0))
    return train_pipeline(layers, stage, w0, [None if W is None else opt for W in w0], sched,
                          _teacher_data(R, 2, 6, layers[-1].out_features), _mse_grad, seeds=R, seed=seed,
                          micro_batch=2, progress=False)


def test_sync_equals_none_bitwise_and_async_differs():
    none, sync, asyn = _train("none"), _train("sync"), _train("async")
    assert len(_tiles(none)) == 3
    for a, b in zip(_tiles(none), _tiles(sync), strict=True):
        np.testing.assert_array_equal(a, b)
    assert max(np.abs(a - b).max() for a, b in zip(_tiles(none), _tiles(asyn), strict=True)) > 0
    assert none.cycles[-1] == 2 * 3 * 4 * 5 and sync.cycles[-1] == 2 * (4 + 3 - 1) * 5
    assert sync.samples[-1] == asyn.samples[-1] == 2 * 4 * 5


def test_stashing_changes_backward_weights_only_for_real_networks():
    a, s = _train("async"), _train("async_stash")
    assert max(np.abs(x - y).max() for x, y in zip(_tiles(a), _tiles(s), strict=True)) > 0


def test_training_is_deterministic_and_runs_are_independent_of_batch():
    a, b = _train("async", R=3), _train("async", R=3)
    for x, y in zip(_tiles(a), _tiles(b), strict=True):
        np.testing.assert_array_equal(x, y)
    c = _train("async", R=2)
    for x, y in zip(_tiles(a), _tiles(c), strict=True):
        np.testing.assert_array_equal(x[:2], y)


def test_separable_quadratic_follows_delayed_recursion():
    # noise-free async pipeline: stage 1 obeys x_{k+1} = x_k - a x_{k - (M-1)} exactly
    from theory.delay import delayed_recursion

    M, a, n = 3, 0.3, 40
    layers = [SeparableQuadratic(1.0, np.zeros(1)) for _ in range(M)]
    run = train_pipeline(layers, [1, 2, 3], [np.ones((2, 1))] * M, [sim.DigitalSGD(a)] * M,
                         build_schedule("async", M, n, 1), lambda rng, j: (np.zeros((2, 1, 1)), None),
                         lambda out, y: np.zeros_like(out), seeds=2, progress=False)
    # warm-up: delays 0, 1, ... reach M - 1; afterwards the recursion with delay M - 1
    assert np.all(run.weights[1][0, 0] != run.weights[0][0, 0])
    x = [1.0]
    for k in range(n):
        d = min(k, M - 1)
        x.append(x[-1] - a * x[k - d])
    np.testing.assert_allclose(run.weights[0][0, 0], x[-1], rtol=1e-12)
    # the warm-up delays min(k, M-1) act like the history x_j = x_0 for j <= 0 of theory.delay
    np.testing.assert_allclose(delayed_recursion(a, M - 1, n)[-1], x[-1], rtol=1e-12)


def test_train_validation():
    layers, stage, w0 = _mlp(2, 2)
    assert stage == [1, 1, 2]
    sched = build_schedule("sync", 2, 2, 1)
    opt = sim.AnalogSGD(0.05, sim.SoftBounds(1.0))
    opts = [None if W is None else opt for W in w0]
    with pytest.raises(ValueError, match=r"stage_of_layer must be non-decreasing and cover stages 1\.\.2"):
        train_pipeline(layers, [1, 1, 1], w0, opts, sched, _teacher_data(2, 1, 6, 8), _mse_grad, seeds=2)
    with pytest.raises(ValueError, match="same non-zero length"):
        train_pipeline(layers, stage, w0[:1], opts, sched, _teacher_data(2, 1, 6, 8), _mse_grad, seeds=2)


def test_staged_mlp_splits_tiles_evenly_and_checks_its_arguments():
    layers, stage = staged_mlp((64, 32, 32, 16, 10), 2)
    assert [type(layer).__name__ for layer in layers] == ["Linear", "Tanh"] * 3 + ["Linear"]
    assert [(layer.in_features, layer.out_features) for layer in layers[::2]] == [
        (64, 32), (32, 32), (32, 16), (16, 10)]
    assert stage == [1, 1, 1, 1, 2, 2, 2]
    assert staged_mlp((3, 2), 1)[1] == [1]
    with pytest.raises(ValueError, match="stages must be an integer >= 1 and <= 4, got 5"):
        staged_mlp((64, 32, 32, 16, 10), 5)
    with pytest.raises(ValueError, match="at least two layer widths"):
        staged_mlp((64,), 1)
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        staged_mlp((64, 0), 1)
