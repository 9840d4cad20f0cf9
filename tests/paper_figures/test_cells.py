"""Figures as cells (issue 15, "Scale-out"): each cell cached on its own with the pair's integrity
rules, an interrupted build resumes from its finished cells, a damaged cell is one warning and is
recomputed alone, and a build on Dask workers gives the same bits as a serial one.

The cache tests build a tiny fake figure package in ``tmp_path`` (milliseconds); the Dask tests run
the real quick Figure 7 (three cells) and two cheap claims on a two-process ``LocalCluster``.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from paper_figures import _figure, all_figures, build
from paper_figures.__main__ import main as figures_main
from verify.__main__ import main as verify_main

ROOT = Path(__file__).resolve().parents[2]
PKG = "fakecells"
FIG = """
    from dataclasses import dataclass

    import numpy as np
    from paper_figures._figure import FigureSpec
    from verify.config import Config, Modes


    @dataclass(frozen=True)
    class Settings(Config):
        n: int
        seed: int

    CALLS = []
    FAIL_AT = set()

    def cells(cfg):
        return [{"i": i, "tag": "c"} for i in range(cfg.n)]

    def compute_cell(cfg, cell):
        CALLS.append(cell["i"])
        if cell["i"] in FAIL_AT:
            raise RuntimeError("killed")
        rng = np.random.default_rng([cfg.seed, cell["i"]])
        return {"x": rng.normal(size=3), "i": cell["i"]}

    def assemble(cfg, results):
        return {"x": np.stack([r["x"] for r in results]), "i": np.array([r["i"] for r in results])}

    def compute(cfg):
        return assemble(cfg, [compute_cell(cfg, c) for c in cells(cfg)])

    def render(data, cfg, out_dir):
        return []

    FIGURE = FigureSpec("fig_c", "fake", "none", Modes(quick=Settings(5, 1), full=Settings(6, 2)),
                        compute, render, cells=cells, compute_cell=compute_cell, assemble=assemble)
"""


@pytest.fixture
def fig(tmp_path, monkeypatch):
    """The fake figure module ``fakecells.fig_c`` (five cells in quick mode)."""
    pkg = tmp_path / "src" / PKG
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "fig_c.py").write_text(textwrap.dedent(FIG))
    monkeypatch.syspath_prepend(str(pkg.parent))
    importlib.invalidate_caches()
    mod = importlib.import_module(f"{PKG}.fig_c")
    yield mod
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]


def _cell_dirs(out: Path) -> list[Path]:
    root = out / "fig_c" / "quick.cells"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.exists() else []


def _finished_npz(out: Path) -> list[Path]:
    """The ``.npz`` files a writer has finished: pathlib's glob also matches the hidden in-flight
    temporaries (``.<cell>.tmp-*/data.npz``), which an interrupt removes."""
    return [p for p in out.rglob("*.npz")
            if not any(part.startswith(".") for part in p.relative_to(out).parts)]


def _same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k


class _SerialExecutor(cf.Executor):
    """Runs each job at submit time: every future is finished (the failing one too) before the
    build reads any, in any order ``as_completed`` picks."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as err:
            fut.set_exception(err)
        return fut


def test_interrupted_build_resumes_from_its_finished_cells(fig, tmp_path):
    out = tmp_path / "out"
    fig.FAIL_AT.add(3)  # the fourth cell "is killed": cells 0-2 are finished, 4 never starts
    with pytest.raises(RuntimeError, match="killed"):
        build(fig.FIGURE, "quick", out, render=False)
    assert fig.CALLS == [0, 1, 2, 3]
    assert len(_cell_dirs(out)) == 3 and not (out / "fig_c" / "quick").exists()
    fig.FAIL_AT.clear()
    fig.CALLS.clear()
    res = build(fig.FIGURE, "quick", out, render=False)
    assert fig.CALLS == [3, 4]  # only the missing cells
    assert (res.cached, res.cells, res.cells_cached) == (False, 5, 3)
    meta = json.loads((out / "fig_c" / "quick" / "meta.json").read_text())
    assert meta["cells"] == {"total": 5, "cached": 3}
    # the same bits as an uninterrupted build and as the figure's plain compute
    data = _figure.load_data(out / "fig_c" / "quick" / "data.npz")
    fresh = build(fig.FIGURE, "quick", tmp_path / "fresh", render=False)
    _same(data, _figure.load_data(fresh.files[0]))
    _same(data, fig.compute(fig.FIGURE.config("quick")))
    fig.CALLS.clear()
    assert build(fig.FIGURE, "quick", out, render=False).cached and fig.CALLS == []


def test_a_failing_cell_on_an_executor_keeps_every_finished_cell(fig, tmp_path):
    out = tmp_path / "out"
    fig.FAIL_AT.add(1)
    with pytest.raises(RuntimeError, match="killed"):
        _figure.build_all([fig.FIGURE], "quick", out, render=False, executor=_SerialExecutor())
    assert len(_cell_dirs(out)) == 4  # every cell but the failed one is on disk
    fig.FAIL_AT.clear()
    fig.CALLS.clear()
    res = _figure.build_all([fig.FIGURE], "quick", out, render=False, executor=_SerialExecutor())[0]
    assert fig.CALLS == [1] and res.cells_cached == 4


def test_damaged_cell_warns_once_and_only_it_is_recomputed(fig, tmp_path, caplog):
    out = tmp_path / "out"
    first = _figure.load_data(build(fig.FIGURE, "quick", out, render=False).files[0])
    _figure._remove(out / "fig_c" / "quick")  # the figure pair is gone: the build goes to the cells
    victim = _cell_dirs(out)[2] / "data.npz"
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    fig.CALLS.clear()
    with caplog.at_level(logging.WARNING, logger="paper_figures"):
        res = build(fig.FIGURE, "quick", out, render=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cached cell" in warnings[0] and "checksum mismatch" in warnings[0]
    assert len(fig.CALLS) == 1 and res.cells_cached == 4
    _same(_figure.load_data(res.files[0]), first)


def test_cells_follow_the_figure_key(fig, tmp_path):
    """A cell's key is the figure's key + the cell: another config recomputes every cell, quietly."""
    out = tmp_path / "out"
    build(fig.FIGURE, "quick", out, render=False)
    other = _figure.FigureSpec("fig_c", "fake", "none",
                               fig.Modes(quick=fig.Settings(5, 9), full=fig.Settings(6, 2)), fig.compute,
                               fig.render, cells=fig.cells, compute_cell=fig.compute_cell,
                               assemble=fig.assemble)
    fig.CALLS.clear()
    res = build(other, "quick", out, render=False)
    assert sorted(fig.CALLS) == [0, 1, 2, 3, 4] and res.cells_cached == 0
    assert len(_cell_dirs(out)) == 5  # the same cells, rewritten under the new key
    fig.CALLS.clear()
    assert build(other, "quick", out, render=False, force=True).cells_cached == 0
    assert len(fig.CALLS) == 5  # force recomputes the cells too


def test_cells_no_longer_in_the_grid_are_pruned(fig, tmp_path):
    """A smaller grid in the same output folder removes the cell directories it no longer has (they
    would otherwise pile up across grid changes); a rebuild of the same grid removes nothing."""
    out = tmp_path / "out"
    build(fig.FIGURE, "quick", out, render=False)
    assert len(_cell_dirs(out)) == 5
    leftover = out / "fig_c" / "quick.cells" / ".i-0_tag-c.tmp-keep"
    leftover.mkdir()
    smaller = _figure.FigureSpec("fig_c", "fake", "none",
                                 fig.Modes(quick=fig.Settings(3, 1), full=fig.Settings(6, 2)), fig.compute,
                                 fig.render, cells=fig.cells, compute_cell=fig.compute_cell,
                                 assemble=fig.assemble)
    kept = {_figure.cell_name(c) for c in fig.cells(fig.Settings(3, 1))}
    build(smaller, "quick", out, render=False)  # another config: its 3 cells are recomputed
    assert {p.name for p in _cell_dirs(out)} == kept
    assert leftover.exists()  # a writer's leftover is _clean_leftovers' business, not pruned here
    stamps = {p.name: (p / "data.npz").stat().st_mtime_ns for p in _cell_dirs(out)}
    assert build(smaller, "quick", out, render=False, force=False).cached
    assert {p.name: (p / "data.npz").stat().st_mtime_ns for p in _cell_dirs(out)} == stamps


def test_cells_declared_together_and_distinct(fig):
    half = _figure.FigureSpec("fig_c", "fake", "none", fig.FIGURE.configs, fig.compute, fig.render,
                              cells=fig.cells)
    with pytest.raises(ValueError, match="cells, compute_cell and assemble go together"):
        build(half, "quick", render=False)
    a, b = _figure.cell_name({"net": "fcn", "seeds": [0, 1]}), _figure.cell_name({"net": "fcn", "seeds": [2]})
    assert a.startswith("net-fcn_seeds-0-1-") and a != b
    assert _figure.cell_name({"i": 1}) != _figure.cell_name({"i": "1"})


def test_fig5_seed_blocks_are_bitwise_the_grid():
    """The cells of Figures 5 and 7 train blocks of seeds with the grid's run indices; by the
    per-run streams (sim/_rng.py) they reproduce the whole grid's runs bit for bit."""
    from paper_figures import exact_fig5_mnist as f5

    c = dataclasses.replace(f5.CONFIGS.quick.fcn, sizes=(64, 8, 10), epochs=1, seeds=3, taus=(0.6, 0.8))
    for alg in ("digital", "tt"):
        grid = f5.train_grid("fcn", c, alg, 5)
        T = 1 if alg == "digital" else 2
        acc = grid.test_acc.reshape(T, 3, -1)
        parts = [f5.train_seeds("fcn", c, alg, 5, block) for block in ([0, 2], [1])]
        assert np.array_equal(parts[0].test_acc.reshape(T, 2, -1), acc[:, [0, 2]])
        assert np.array_equal(parts[1].test_acc.reshape(T, 1, -1), acc[:, [1]])
        w = grid.weights[0].reshape(T, 3, -1)
        assert np.array_equal(parts[1].weights[0].reshape(T, 1, -1), w[:, [1]])


def _run(module: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "AIMC_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=600)


def test_two_workers_give_the_serial_bits(tmp_path):
    """``--workers 2`` (a Dask LocalCluster of two processes) on quick Figure 7 (three cells):
    every array of data.npz equals the serial build's."""
    proc = _run("paper_figures", "exact_fig7_weights", "--quick", "--no-plot", "-q", "--workers", "2",
                "--out", str(tmp_path / "dask"))
    assert proc.returncode == 0, proc.stderr
    assert "exact_fig7_weights (quick): computed (3 cells, 0 cached)" in proc.stdout
    serial = build(all_figures()["exact_fig7_weights"], "quick", tmp_path / "serial", render=False)
    _same(_figure.load_data(tmp_path / "dask" / "exact_fig7_weights" / "quick" / "data.npz"),
          _figure.load_data(serial.files[0]))


def test_ctrl_c_on_two_workers_exits_130_without_worker_tracebacks(tmp_path):
    """Ctrl-C reaches the whole foreground process group. The worker processes start with SIGINT
    ignored (``sim.sweep._sigint_ignored``), so only the CLI handles it: one ``interrupted`` line,
    exit 130, no traceback from a worker killed mid-task, no leaked-semaphore warning; the cells
    finished before the interrupt stay on disk."""
    import signal
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "AIMC_PROGRESS": "0"}
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "paper_figures", "exact_fig5_ablation", "--quick",
                             "--no-plot", "-q", "--workers", "2", "--out", str(out)], cwd=ROOT, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own group, as a terminal's foreground job
    deadline = time.monotonic() + 300
    while not _finished_npz(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the build ended before any cell was on disk"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["python -m paper_figures: interrupted"], err
    assert _finished_npz(out)


@pytest.mark.slow
def test_verify_on_two_workers_writes_the_serial_json(tmp_path):
    ids = ["device.ald_identities", "sim.exact_averages"]
    for name, extra in (("serial", ()), ("dask", ("--workers", "2"))):
        proc = _run("verify", "run", "--quick", "-q", "--json", str(tmp_path / f"{name}.json"), *ids, *extra)
        assert proc.returncode == 0, proc.stderr

    def timeless(o):
        if isinstance(o, dict):
            return {k: timeless(v) for k, v in o.items() if k != "elapsed_s"}
        return [timeless(v) for v in o] if isinstance(o, list) else o

    serial, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("serial", "dask"))
    assert [c["id"] for c in dask["claims"]] == ids
    assert timeless(serial) == timeless(dask)


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "2", "--scheduler", "tcp://x:1"]])
def test_bad_engine_arguments_exit_2(argv, tmp_path, capsys):
    assert figures_main(["exact_fig7_weights", "--quick", "--out", str(tmp_path), *argv]) == 2
    assert verify_main(["run", "--quick", "device.ald_identities", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("--workers" in line for line in err)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_killed_run_resumes_from_its_finished_cells(tmp_path):
    """A real kill: quick Figure 5 (six cells, serial) gets SIGKILL once a cell is on disk; the
    rerun recomputes only the cells that were not, and gives the bits of an uninterrupted build."""
    import signal
    import time

    out = tmp_path / "out"
    cells = out / "exact_fig5_mnist" / "quick.cells"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "AIMC_PROGRESS": "0"}
    argv = [sys.executable, "-m", "paper_figures", "exact_fig5_mnist", "--quick", "--no-plot", "-q",
            "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (cells.exists() and any(not p.name.startswith(".") for p in cells.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline, "no cell finished before the end"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    finished = sum(not p.name.startswith(".") for p in cells.iterdir())
    assert 1 <= finished < 6 and not (out / "exact_fig5_mnist" / "quick").exists()
    rerun = _run("paper_figures", "exact_fig5_mnist", "--quick", "--no-plot", "-q", "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr
    assert f"computed (6 cells, {finished} cached)" in rerun.stdout
    fresh = build(all_figures()["exact_fig5_mnist"], "quick", tmp_path / "fresh", render=False)
    resumed = _figure.load_data(out / "exact_fig5_mnist" / "quick" / "data.npz")
    fresh_data = _figure.load_data(fresh.files[0])
    timing = {k for k in fresh_data if k.endswith("_seconds")}
    _same({k: v for k, v in resumed.items() if k not in timing},
          {k: v for k, v in fresh_data.items() if k not in timing})
