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

The same engine runs any list of independent cells (:func:`run_cells`, used by the figure and claim
grids of ``python -m paper_figures`` / ``python -m verify run``): serially in this process, on a Dask
``LocalCluster`` of worker processes, or on an existing Dask scheduler (:class:`Engine`), with one
progress bar over the cells (:class:`CellBar`: done / cached / running).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import hashlib
import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
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
    bar = CellBar(len(todo), desc=f"sweep {path.name}", progress=progress,
                  slots=max_workers or os.cpu_count() or 1)
    try:
        with path.open("a", newline="") as fh:
            writer = None if header is None else csv.DictWriter(fh, fieldnames=header)

            def write_row(i: int, out: Mapping[str, Any], elapsed: float) -> None:
                nonlocal writer, header
                config, seed = todo[i]
                outs = _check_outputs(out, config)
                row = {"cell": cell_key(config, seed), "seed": seed,
                       **{k: _plain(v) for k, v in sorted(config.items())}, **dict(sorted(outs.items())),
                       "elapsed_s": round(elapsed, 6)}
                if writer is None or header is None:
                    header = list(row)
                    writer = csv.DictWriter(fh, fieldnames=header)
                    writer.writeheader()
                if set(row) != set(header or ()):
                    raise ValueError(f"cell {config} seed {seed}: columns {sorted(row)} differ from the"
                                     f" table's {sorted(header or ())}")
                writer.writerow(row)
                fh.flush()
                os.fsync(fh.fileno())

            run_cells(fn, todo, write_row, executor=ex, bar=bar)
    finally:
        bar.close()
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    return read_table(path)

# --- the engine: independent cells, serially or on Dask -------------------------------------------


class CellBar:
    """One tqdm bar over cells: ``n / total`` counts cells done (cached ones included) and the
    postfix says how many came from a cache and how many are running.

    Parameters
    ----------
    total : int
        Number of cells, >= 0.
    cached : int
        Cells already done before any runs (served from a cache), ``0 <= cached <= total``.
    slots : int
        Cells that can run at once (worker threads), >= 1; ``running`` is
        ``min(slots, cells not yet finished)``.
    desc : str
        Bar label.
    progress : bool or None
        Show the bar (``None``: when stderr is a terminal and ``AIMC_PROGRESS != 0``).
    """

    def __init__(self, total: int, *, cached: int = 0, slots: int = 1, desc: str = "cells",
                 progress: bool | None = None) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"total must be an integer >= 0, got {total!r}")
        if isinstance(cached, bool) or not isinstance(cached, int) or not 0 <= cached <= total:
            raise ValueError(f"cached must be an integer in [0, total={total}], got {cached!r}")
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"slots must be an integer >= 1, got {slots!r}")
        self.total, self.cached, self.slots = total, cached, slots
        self.computed = 0
        self._bar = tqdm(total=total, initial=cached, desc=desc, unit="cell",
                         disable=not progress_enabled(progress))
        self._show()

    @property
    def done(self) -> int:
        """Cells finished, cached ones included."""
        return self.cached + self.computed

    @property
    def running(self) -> int:
        """Cells in flight: ``min(slots, cells left)``."""
        return min(self.slots, self.total - self.done)

    def _show(self) -> None:
        self._bar.set_postfix_str(f"cached {self.cached}, running {self.running}", refresh=False)

    def finished(self) -> None:
        """One computed cell finished."""
        self.computed += 1
        self._show()
        self._bar.update()

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> CellBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _timed_call(fn: Callable[..., Any], args: tuple) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def run_cells(
    fn: Callable[..., Any],
    cells: Sequence[Sequence[Any]],
    on_done: Callable[[int, Any, float], None],
    *,
    executor: cf.Executor | None = None,
    bar: CellBar | None = None,
) -> None:
    """Run ``fn(*cells[i])`` for every ``i``; call ``on_done(i, result, seconds)`` in this process
    as each one finishes (e.g. to write it to disk at once).

    Parameters
    ----------
    fn
        The cell function. With an executor it must be picklable (a module-level function), and
        so must its arguments and results; it should be a pure function of its arguments, so that
        where it runs never changes what it returns.
    cells
        Argument tuples, one per cell.
    on_done
        ``on_done(index, result, seconds)``; called in the calling process, in completion order.
    executor
        ``None``: run the cells one after the other in this process, in order. Otherwise any
        :class:`concurrent.futures.Executor` (a process pool, ``distributed.Client.get_executor()``;
        see :class:`Engine`); it is not shut down here.
    bar
        Progress bar, told about every finished cell.

    Raises
    ------
    Exception
        The first exception of a cell, after every cell that finished has been passed to
        ``on_done`` and the cells not yet started have been cancelled (an interruption never
        loses finished work). An exception of ``on_done`` itself is raised at once.
    """
    if executor is None:
        for i, args in enumerate(cells):
            out, seconds = _timed_call(fn, tuple(args))
            on_done(i, out, seconds)
            if bar is not None:
                bar.finished()
        return
    futures = {executor.submit(_timed_call, fn, tuple(args)): i for i, args in enumerate(cells)}
    failure: BaseException | None = None
    try:
        for fut in cf.as_completed(futures):
            if fut.cancelled():
                continue
            try:
                out, seconds = fut.result()
            except Exception as err:
                # A failing cell stops the run: cells not started are cancelled, cells already
                # finished (whatever order as_completed yields them in) are still handed over, then
                # the first error is raised.
                if failure is None:
                    failure = err
                    for other in futures:
                        other.cancel()
                continue
            on_done(futures[fut], out, seconds)
            if bar is not None:
                bar.finished()
    finally:
        for other in futures:
            other.cancel()
    if failure is not None:
        raise failure


class Engine:
    """Where cells run: in this process (default), on a Dask ``LocalCluster`` of ``workers``
    processes, or on the existing Dask cluster whose scheduler is at ``scheduler``.

    A context manager: ``with Engine(workers=2) as eng: run_cells(fn, cells, on_done,
    executor=eng.executor)``. On leaving, the client is closed and a cluster started here is shut
    down. Dask does the scheduling; this class only starts and stops it.

    Parameters
    ----------
    workers : int, optional
        Number of local worker processes (one thread each), >= 1.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``. Its workers must
        import the same project code (same version) as this process.

    Attributes
    ----------
    executor : concurrent.futures.Executor or None
        ``None`` when serial.
    slots : int
        Cells that can run at once (the cluster's worker threads; 1 when serial).

    Notes
    -----
    Results do not depend on the engine: the project's cell functions draw from random streams
    keyed by their own seed and run indices (``sim/_rng.py``), so a cell gives the same bits in any
    process (same numpy / BLAS build and thread settings; local workers inherit the environment,
    e.g. ``OMP_NUM_THREADS``).
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or workers < 1):
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler must be a non-empty address string, got {scheduler!r}")
        if workers is not None and scheduler is not None:
            raise ValueError(f"give workers or scheduler, not both (got workers={workers}, "
                             f"scheduler={scheduler!r})")
        self.workers, self.scheduler = workers, scheduler
        self.executor: cf.Executor | None = None
        self.slots = 1
        self._client: Any = None
        self._cluster: Any = None

    @property
    def serial(self) -> bool:
        """True when cells run in this process."""
        return self.workers is None and self.scheduler is None

    def __enter__(self) -> Engine:
        if self.serial:
            return self
        import logging

        try:
            import distributed
        except ImportError as err:
            raise ImportError("workers / scheduler need dask.distributed: pip install "
                              "'aimc-verify[dask]'") from err
        try:
            if self.scheduler is not None:
                self._client = distributed.Client(self.scheduler, timeout="10s")
            else:
                # no dashboard; the scheduler's HTTP server on a free port (never a warning that
                # 8787 is taken when two runs share a machine)
                # Cell errors reach the caller as exceptions of their futures, so the cluster's own
                # error logs only repeat them -- or, on Ctrl-C, report every cancelled task and
                # closed connection of the shutdown ("Couldn't gather keys", heartbeat failures):
                # the workers log at CRITICAL only, and this process's distributed / tornado
                # loggers too while the cluster lives (restored on a normal exit)
                self._quiet_logs()
                with _sigint_ignored():  # the worker processes start with Ctrl-C ignored
                    self._cluster = distributed.LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.CRITICAL,
                        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
                self._client = distributed.Client(self._cluster)
            self.slots = max(1, sum(self._client.nthreads().values()))
            self.executor = self._client.get_executor()
        except BaseException:
            self._close()
            self._restore_logs()
            raise
        return self

    _LOGGERS = ("distributed", "tornado")

    def _quiet_logs(self) -> None:
        import logging

        self._log_levels = {n: logging.getLogger(n).level for n in self._LOGGERS}
        for n in self._LOGGERS:
            logging.getLogger(n).setLevel(logging.CRITICAL)

    def _restore_logs(self) -> None:
        import logging

        for n, level in getattr(self, "_log_levels", {}).items():
            logging.getLogger(n).setLevel(level)
        self._log_levels = {}

    def _close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False)  # cancels what is still pending
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = self.executor = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        try:
            self._close()
        finally:
            if not interrupted:  # after an interrupt the run is ending: shutdown noise stays quiet
                self._restore_logs()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process while the block starts child processes (main thread only).

    A Ctrl-C in a terminal goes to the whole foreground process group. Child processes started
    with SIGINT ignored keep it ignored (also across ``exec``: Python installs its
    ``KeyboardInterrupt`` handler only where SIGINT is at its default), so the interrupt reaches
    this process alone, which then shuts the workers down through the client (no tracebacks from
    workers killed mid-task, no leaked semaphores)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
