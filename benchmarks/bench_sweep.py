"""The sweep runner: one grid x seeds sweep serially, on local processes and on a Dask cluster.

Cells are ``sim.sweep.asgd_floor_cell`` (Analog SGD on the 1-D instance, ``runs`` chains per cell).
Targets, as ratios in the same run: two local processes at most 0.8x the serial time (2 cores), and
a Dask LocalCluster with two worker processes at most 1.5x the local process pool (scheduling and
serialization overhead). Each sweep writes its own fresh CSV. The first target needs two idle
cores: on a loaded machine the process pool cannot beat the serial run.
"""

from __future__ import annotations

import concurrent.futures as cf
import tempfile
import time
from pathlib import Path

from sim.sweep import asgd_floor_cell, grid, run_sweep

from ._common import Result, Target


def _serial(configs, seeds, path):  # the same cells, one after the other in this process
    class _Inline(cf.Executor):
        def submit(self, fn, /, *args, **kwargs):
            fut = cf.Future()
            fut.set_result(fn(*args, **kwargs))
            return fut

    return run_sweep(asgd_floor_cell, configs, seeds, path=path, executor=_Inline())


def run(smoke: bool = False) -> list[Result]:
    K, runs, seeds = (100, 8, 2) if smoke else (4000, 128, 4)
    configs = grid(tau=[0.5, 1.0, 2.0, 4.0], s=[0.1, 0.3], alpha=[0.05], K=[K], runs=[runs])
    n = len(configs) * seeds
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _serial(configs, seeds, Path(tmp) / "serial.csv")
        times["serial (one process)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_sweep(asgd_floor_cell, configs, seeds, path=Path(tmp) / "local.csv", max_workers=2)
        times["local processes (2)"] = time.perf_counter() - t0
        import distributed

        with distributed.LocalCluster(n_workers=2 if not smoke else 1, threads_per_worker=1,
                                      processes=not smoke, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            t0 = time.perf_counter()
            run_sweep(asgd_floor_cell, configs, seeds, path=Path(tmp) / "dask.csv",
                      executor=client.get_executor())
            times["Dask LocalCluster (2 workers)"] = time.perf_counter() - t0
    res = Result(f"sweep runner: {n} cells (K={K}, {runs} chains each)")
    for k, v in times.items():
        res.rows.append((k, v, "s"))
    par = times["local processes (2)"] / times["serial (one process)"]
    dask = times["Dask LocalCluster (2 workers)"] / times["local processes (2)"]
    res.rows += [("local processes / serial", par, "x"), ("Dask / local processes", dask, "x")]
    res.targets = [Target("local processes / serial", par, 0.8, "x"),
                   Target("Dask / local processes", dask, 1.5, "x")]
    return [res]
