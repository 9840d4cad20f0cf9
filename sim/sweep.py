"""Sweeps over parameter grids x seeds on any ``concurrent.futures.Executor``, into one tidy CSV.

A *cell* is one ``(config, seed)`` pair; ``fn(config, seed) -> {name: scalar}`` computes it (a
top-level, picklable function; inside, vectorize over runs as everywhere in ``sim``). Every finished
cell is appended to the CSV at once (one row: a ``cell`` key, the seed, every config value, every
output, the cell's wall time), so an interrupted sweep loses at most the cells in flight, and
:func:`run_sweep` on the same file skips the cells already there.

>>> from sim.sweep import grid
>>> grid(tau=[1.0, 2.0], sigma=[0.1])
[{'sigma': 0.1, 'tau': 1.0}, {'sigma': 0.1, 'tau': 2.0}]

Executors: local processes by default (``ProcessPoolExecutor``); pass a thread pool, or a Dask
cluster's ``distributed.Client(...).get_executor()`` to run the same sweep on many machines.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .run import progress_enabled

CellFn = Callable[[Mapping[str, Any], int], Mapping[str, float]]
_RESERVED = ("cell", "seed", "elapsed_s")


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Cartesian product of named axes, as a list of config dicts (keys sorted)."""
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"axis {name!r} must be a sequence of values, got {values!r}")
        if len(list(values)) == 0:
            raise ValueError(f"axis {name!r} is empty")
    names = sorted(axes)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(list(axes[n]) for n in names))]


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def cell_key(config: Mapping[str, Any], seed: int) -> str:
    """Stable 16-hex key of a cell: SHA-1 of the canonical JSON of ``(config, seed)``."""
    payload = json.dumps({"config": {k: _plain(v) for k, v in sorted(config.items())}, "seed": int(seed)},
                         sort_keys=True, default=str)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The sweep CSV as columns (numeric columns as float arrays, the rest as str arrays)."""
    rows = _read_rows(Path(path))
    if not rows:
        return {}
    out: dict[str, np.ndarray] = {}
    for name in rows[0]:
        col = [r[name] for r in rows]
        try:
            out[name] = np.array([float(x) for x in col])
        except ValueError:
            out[name] = np.array(col)
    return out


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    text = path.read_text()
    if not text.endswith("\n"):  # a row cut short by an interruption: drop it (it is redone)
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    return list(csv.DictReader(text.splitlines()))


def _check_outputs(out: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(out, Mapping):
        raise ValueError(f"the cell function must return a mapping of scalars, got {type(out).__name__}")
    clash = set(out) & (set(config) | set(_RESERVED))
    if clash:
        raise ValueError(f"output names {sorted(clash)} clash with config keys or {_RESERVED}")
    res = {}
    for k, v in out.items():
        v = _plain(v)
        if not isinstance(v, (int, float, bool)):
            raise ValueError(f"output {k!r} must be a scalar, got {type(v).__name__}")
        res[k] = float(v)
    return res


def _timed(fn: CellFn, config: Mapping[str, Any], seed: int) -> tuple[dict[str, float], float]:
    t0 = time.perf_counter()
    out = fn(config, seed)
    return dict(out), time.perf_counter() - t0


def run_sweep(
    fn: CellFn,
    configs: Sequence[Mapping[str, Any]],
    seeds: Sequence[int] | int,
    *,
    path: str | os.PathLike,
    executor: cf.Executor | None = None,
    max_workers: int | None = None,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Run ``fn`` on every ``(config, seed)`` cell not yet in ``path``; return the whole table.

    Parameters
    ----------
    fn
        ``fn(config, seed) -> {output name: scalar}``; must be picklable for process and Dask
        executors (a module-level function).
    configs
        Config dicts (e.g. from :func:`grid`); values must be JSON-able scalars or strings.
    seeds
        Seeds per config, or a count ``n`` meaning ``range(n)``.
    path
        The CSV file (created with a header; appended to one row per finished cell).
    executor
        Any :class:`concurrent.futures.Executor` (not shut down here). ``None``: a local
        ``ProcessPoolExecutor(max_workers)`` for the duration of the sweep.
    progress
        tqdm bar over cells (``None``: when stderr is a terminal and ``AIMC_PROGRESS != 0``).

    Returns
    -------
    dict
        :func:`read_table` of ``path`` after the sweep.

    Raises
    ------
    ValueError
        On an empty grid, seeds < 1, or outputs that are not scalars / change names between cells.
    """
    if not configs:
        raise ValueError("configs must contain at least one config, got none")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError(f"seeds must be a positive count or a non-empty sequence, got {seeds!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = _read_rows(path)
    done = {r["cell"] for r in existing}
    header: list[str] | None = list(existing[0].keys()) if existing else None
    todo = [(dict(c), s) for c in configs for s in seed_list if cell_key(c, s) not in done]
    if not todo:
        return read_table(path)
    own = executor is None
    ex: cf.Executor = cf.ProcessPoolExecutor(max_workers=max_workers) if executor is None else executor
    bar = tqdm(total=len(todo), desc=f"sweep {path.name}", disable=not progress_enabled(progress))
    try:
        futures = {ex.submit(_timed, fn, c, s): (c, s) for c, s in todo}
        with path.open("a", newline="") as fh:
            writer = None if header is None else csv.DictWriter(fh, fieldnames=header)
            failure: BaseException | None = None
            for fut in cf.as_completed(futures):
                config, seed = futures[fut]
                if fut.cancelled():
                    continue
                try:
                    out, elapsed = fut.result()
                except Exception as err:
                    # A failing cell stops the sweep: cells not started are cancelled, cells already
                    # finished (whatever order as_completed yields them in) are still written, then
                    # the first error is raised. So an interruption never loses finished work.
                    if failure is None:
                        failure = err
                        for other in futures:
                            other.cancel()
                    continue
                outs = _check_outputs(out, config)
                row = {"cell": cell_key(config, seed), "seed": seed,
                       **{k: _plain(v) for k, v in sorted(config.items())}, **dict(sorted(outs.items())),
                       "elapsed_s": round(elapsed, 6)}
                if writer is None:
                    header = list(row)
                    writer = csv.DictWriter(fh, fieldnames=header)
                    writer.writeheader()
                if set(row) != set(header or ()):
                    raise ValueError(f"cell {config} seed {seed}: columns {sorted(row)} differ from the"
                                     f" table's {sorted(header or ())}")
                writer.writerow(row)
                fh.flush()
                os.fsync(fh.fileno())
                bar.update()
            if failure is not None:
                raise failure
    finally:
        bar.close()
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    return read_table(path)


def asgd_floor_cell(config: Mapping[str, Any], seed: int) -> dict[str, float]:
    """Example cell: Analog SGD (soft bounds) on the 1-D instance ``L/2 (w - w*)^2``, Rademacher
    noise; the stationary E|grad f|^2 (second-half average) over ``runs`` runs of one seed.

    Config keys: ``tau``, ``s`` (noise), ``alpha``, ``K``, ``runs``; optional ``L``, ``w_star``.
    """
    from .devices import SoftBounds
    from .noise import RademacherNoise
    from .optimizers import AnalogSGD
    from .problems import scalar_quadratic
    from .run import simulate

    K = int(config["K"])
    tr = simulate(scalar_quadratic(float(config.get("L", 1.0)), float(config.get("w_star", 0.5))),
                  AnalogSGD(float(config["alpha"]), SoftBounds(float(config["tau"]))), steps=K,
                  seeds=int(config["runs"]), seed=int(seed), noise=RademacherNoise(float(config["s"])),
                  record=("grad_norm2", "sat2"), record_every=max(1, K // 200), progress=False)
    floor = tr.tail_average("grad_norm2", 0.5)
    return {"floor": float(floor.mean()), "floor_se": float(floor.std(ddof=1) / np.sqrt(floor.size)),
            "stilde": float(tr.tail_average("sat2", 0.5).mean()),
            "w_max": float(tr.maxima["w_inf"].max())}
