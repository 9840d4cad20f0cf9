"""The sweep runner: tidy table, resume after interruption, local processes and a Dask cluster."""

import concurrent.futures as cf
import threading

import numpy as np
import pytest

from sim.sweep import asgd_floor_cell, cell_key, grid, read_table, run_sweep

CALLS: list[tuple] = []
_LOCK = threading.Lock()
FAIL_ON: set = set()


def _toy(config, seed):
    with _LOCK:
        CALLS.append((config["a"], config["b"], seed))
    if (config["a"], seed) in FAIL_ON:
        raise RuntimeError("interrupted")
    rng = np.random.default_rng([seed, int(10 * config["a"])])
    return {"y": config["a"] * config["b"] + rng.normal(), "z": float(seed)}


def test_grid_and_keys():
    g = grid(b=["x", "y"], a=[1, 2, 3])
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"}
    key = cell_key({"a": 1, "b": "x"}, 0)
    assert key == cell_key({"b": "x", "a": 1}, 0) != cell_key({"a": 1, "b": "x"}, 1)
    with pytest.raises(ValueError, match="axis 'a'"):
        grid(a=[])
    with pytest.raises(ValueError, match="axis 'a'"):
        grid(a="abc")


def test_resume_redoes_only_missing_cells(tmp_path):
    path = tmp_path / "t.csv"
    configs = grid(a=[0.5, 1.0, 2.0], b=[1.0, 3.0])
    CALLS.clear()
    FAIL_ON.clear()
    FAIL_ON.add((2.0, 1))
    with cf.ThreadPoolExecutor(1) as ex, pytest.raises(RuntimeError, match="interrupted"):
        run_sweep(_toy, configs, 2, path=path, executor=ex)
    first = read_table(path)
    assert 0 < first["cell"].size < 12  # some cells finished and are on disk
    finished = set(first["cell"])
    FAIL_ON.clear()
    CALLS.clear()
    with cf.ThreadPoolExecutor(2) as ex:
        table = run_sweep(_toy, configs, 2, path=path, executor=ex)
    assert len(CALLS) == 12 - len(finished)  # only the missing cells ran again
    assert table["cell"].size == 12 and len(set(table["cell"])) == 12
    assert set(table) == {"cell", "seed", "a", "b", "y", "z", "elapsed_s"}
    # same numbers as an uninterrupted sweep (cells are pure functions of (config, seed))
    CALLS.clear()
    with cf.ThreadPoolExecutor(2) as ex:
        fresh = run_sweep(_toy, configs, 2, path=tmp_path / "fresh.csv", executor=ex)
    order = np.argsort(table["cell"]), np.argsort(fresh["cell"])
    assert np.array_equal(table["y"][order[0]], fresh["y"][order[1]])
    # nothing left to do: no call at all
    CALLS.clear()
    run_sweep(_toy, configs, 2, path=path, executor=cf.ThreadPoolExecutor(1))
    assert CALLS == []


def test_truncated_last_row_is_redone(tmp_path):
    path = tmp_path / "t.csv"
    with cf.ThreadPoolExecutor(1) as ex:
        run_sweep(_toy, grid(a=[1.0], b=[1.0, 2.0]), 1, path=path, executor=ex)
    before = read_table(path)
    text = path.read_text()
    path.write_text(text[:-5])  # killed in the middle of writing the last row
    with cf.ThreadPoolExecutor(1) as ex:
        table = run_sweep(_toy, grid(a=[1.0], b=[1.0, 2.0]), 1, path=path, executor=ex)
    assert table["cell"].size == 2 and path.read_text().count("\n") == 3
    assert np.array_equal(table["y"], before["y"]) and np.array_equal(table["cell"], before["cell"])


def test_bad_outputs_and_arguments(tmp_path):
    with pytest.raises(ValueError, match="configs"):
        run_sweep(_toy, [], 1, path=tmp_path / "x.csv")
    with pytest.raises(ValueError, match="seeds"):
        run_sweep(_toy, grid(a=[1.0], b=[1.0]), [], path=tmp_path / "x.csv")
    with cf.ThreadPoolExecutor(1) as ex, pytest.raises(ValueError, match="clash"):
        run_sweep(lambda c, s: {"a": 1.0}, grid(a=[1.0]), 1, path=tmp_path / "y.csv", executor=ex)
    with cf.ThreadPoolExecutor(1) as ex, pytest.raises(ValueError, match="scalar"):
        run_sweep(lambda c, s: {"v": [1, 2]}, grid(a=[1.0]), 1, path=tmp_path / "z.csv", executor=ex)


SMALL = grid(tau=[1.0, 2.0], s=[0.3], alpha=[0.1], K=[200], runs=[8])


def test_local_processes_match_direct_calls(tmp_path):
    table = run_sweep(asgd_floor_cell, SMALL, [0, 1], path=tmp_path / "p.csv", max_workers=2)
    assert table["cell"].size == 4
    for i in range(4):
        cfg = {k: table[k][i] for k in ("tau", "s", "alpha", "K", "runs")}
        direct = asgd_floor_cell(cfg, int(table["seed"][i]))
        assert direct["floor"] == pytest.approx(table["floor"][i], rel=1e-12)


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        table = run_sweep(asgd_floor_cell, SMALL, [0, 1], path=tmp_path / "d.csv",
                          executor=client.get_executor())
    with cf.ThreadPoolExecutor(2) as ex:
        local = run_sweep(asgd_floor_cell, SMALL, [0, 1], path=tmp_path / "l.csv", executor=ex)
    a, b = np.argsort(table["cell"]), np.argsort(local["cell"])
    assert np.array_equal(table["cell"][a], local["cell"][b])
    assert np.allclose(table["floor"][a], local["floor"][b], rtol=1e-12, atol=0)


class _SerialExecutor(cf.Executor):
    """Runs each cell at submit time, so every future is finished before the runner reads any."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as err:
            fut.set_exception(err)
        return fut


def test_a_failing_cell_never_loses_finished_cells(tmp_path):
    # as_completed yields already-finished futures in arbitrary order: the failing cell may come
    # first. Every successful cell must still be on disk when the error is raised.
    path = tmp_path / "t.csv"
    configs = grid(a=[0.5, 1.0, 2.0], b=[1.0, 3.0])
    FAIL_ON.clear()
    FAIL_ON.add((2.0, 1))  # a = 2.0, seed 1: two of the twelve cells fail
    try:
        with pytest.raises(RuntimeError, match="interrupted"):
            run_sweep(_toy, configs, 2, path=path, executor=_SerialExecutor())
    finally:
        FAIL_ON.clear()
    assert read_table(path)["cell"].size == 10


# --- the cell engine shared with the figures and the claims ---------------------------------------


def _square(x):
    if x == 3:
        raise RuntimeError("interrupted")
    return x * x


def test_run_cells_serial_in_order_and_failure_keeps_finished():
    from sim.sweep import CellBar, run_cells

    got = []
    bar = CellBar(6, cached=1, slots=2, progress=False)
    assert (bar.done, bar.running) == (1, 2)
    with pytest.raises(RuntimeError, match="interrupted"):
        run_cells(_square, [(0,), (1,), (2,), (3,), (4,)], lambda i, out, s: got.append((i, out)), bar=bar)
    assert got == [(0, 0), (1, 1), (2, 4)]  # in order; the cell after the failure never ran
    assert (bar.done, bar.computed, bar.running) == (4, 3, 2)
    got.clear()
    with pytest.raises(RuntimeError, match="interrupted"):
        run_cells(_square, [(3,), (1,), (2,)], lambda i, out, s: got.append((i, out)),
                  executor=_SerialExecutor())
    assert sorted(got) == [(1, 1), (2, 4)]  # the failure came first, the finished cells still arrive
    bar.close()


def test_engine_and_bar_arguments():
    from sim.sweep import CellBar, Engine

    with Engine() as eng:
        assert eng.serial and eng.executor is None and eng.slots == 1
    for kwargs, match in (({"workers": 0}, "workers must be an integer >= 1, got 0"),
                          ({"workers": 1.5}, "workers"), ({"scheduler": " "}, "scheduler"),
                          ({"workers": 2, "scheduler": "tcp://h:1"}, "not both")):
        with pytest.raises(ValueError, match=match):
            Engine(**kwargs)
    with pytest.raises(ValueError, match=r"cached must be an integer in \[0, total=2\], got 3"):
        CellBar(2, cached=3, progress=False)
    with pytest.raises(ValueError, match="slots"):
        CellBar(2, slots=0, progress=False)
