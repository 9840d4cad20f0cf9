"""The simulation loop: one numpy call advances all R runs; Python loops only over iterations."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from ._rng import BatchRNG, check_runs, check_seed
from .noise import Noise, NoNoise
from .optimizers import Algorithm
from .problems import Quadratic
from .trajectory import MAXIMA, METRICS, Point, Trajectory

DEFAULT_RECORD = ("loss", "grad_norm2", "sat")


def progress_enabled(progress: bool | None) -> bool:
    """``progress=None`` means: show bars when stderr is a terminal and AIMC_PROGRESS != 0."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("AIMC_PROGRESS", "") == "0":
        return False
    return sys.stderr.isatty()


def _runs(seeds: int | Sequence[int]) -> np.ndarray:
    """Run indices from ``seeds``: an integer R means runs ``0..R-1``; a sequence gives the run
    indices themselves (``[r]`` simulates run r alone; repeats share their noise)."""
    if np.isscalar(seeds):
        if isinstance(seeds, (bool, np.bool_)) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
            raise ValueError(f"seeds must be a positive integer or a sequence of run indices, got {seeds!r}")
        return np.arange(int(seeds))
    return check_runs(seeds, "seeds")


def initial_weights(w0: float | np.ndarray, runs: int, dim: int) -> np.ndarray:
    """Broadcast a scalar, ``(D,)`` or ``(R, D)`` initial point to ``(R, D)``."""
    w0 = np.asarray(w0, dtype=float)
    if w0.ndim == 0 or w0.shape == (dim,) or w0.shape == (runs, dim):
        out = np.broadcast_to(w0, (runs, dim)).copy()
    else:
        raise ValueError(f"W0 must be a scalar, shape ({dim},) or ({runs}, {dim}); got {w0.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError("W0 must be finite")
    return out


def simulate(
    problem: Quadratic,
    algorithm: Algorithm,
    *,
    steps: int,
    seeds: int | Sequence[int] = 1,
    seed: int = 0,
    noise: Noise | None = None,
    w0: float | np.ndarray = 0.0,
    record: Sequence[str] = DEFAULT_RECORD,
    record_every: int = 1,
    average_from: int | None = None,
    progress: bool | None = None,
    label: str | None = None,
) -> Trajectory:
    """Run ``algorithm`` on ``problem`` for ``steps`` iterations, R runs at once.

    Parameters
    ----------
    problem
        A :class:`~sim.problems.Quadratic` (exact gradient ``grad`` and ``loss_from_grad``).
    algorithm
        An optimizer from :mod:`sim.optimizers` (or anything with the same methods).
    steps
        Number of iterations K.
    seeds
        R (runs 0..R-1) or explicit run indices (non-negative integers; ``[r]`` runs run r alone,
        repeated indices share their noise). Run ``r`` draws its noise from
        ``SeedSequence(seed, spawn_key=(r, stream, kind))`` (:mod:`sim._rng`), so its result does
        not depend on the batch (bitwise; see the guarantee there).
    seed
        Base seed: a non-negative integer (floats, strings and bools are rejected).
    noise
        Gradient-noise model (:mod:`sim.noise`); ``None`` means exact gradients.
    w0
        Initial weights: scalar, ``(D,)`` or ``(R, D)``; must lie in the device's range.
    record
        Metric names (see :mod:`sim.trajectory`).
    record_every
        Snapshot stride; averages stay exact (cumulative sums are kept every iteration).
    average_from
        If given, also keep the per-run time average of the weights over iterations
        ``average_from <= k < steps`` (``Trajectory.mean_weights``), e.g. a stationary mean.
    progress
        Show a tqdm bar (``None``: only on a terminal).
    label
        Text for the progress bar.

    Returns
    -------
    Trajectory
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if int(record_every) != record_every or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    unknown = [m for m in record if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; available: {sorted(METRICS)}")
    steps, record_every = int(steps), int(record_every)
    if average_from is not None and not 0 <= average_from < steps:
        raise ValueError(f"average_from must be in [0, steps), got {average_from}")
    noise = noise or NoNoise()
    seed = check_seed(seed, "seed")
    runs = _runs(seeds)
    R, D = runs.size, problem.dim
    device = algorithm.device
    analog = np.isfinite(np.asarray(device.tau)).all()

    state = algorithm.init(initial_weights(w0, R, D))
    noise_rng = BatchRNG(seed, runs, "gradient_noise")
    algo_rng = BatchRNG(seed, runs, "algorithm")

    snaps = sorted(set(range(0, steps, record_every)) | {steps})
    n = len(snaps)
    names = list(dict.fromkeys(record))
    values = {m: np.empty((R, n)) for m in names}
    sums = {m: np.zeros((R, n)) for m in names}
    running = {m: np.zeros(R) for m in names}
    maxima = {m: np.zeros(R) for m in MAXIMA}
    first_nonfinite = np.full(R, -1)
    first_saturated = np.full(R, -1)
    need_sat = analog
    snap_i = 0
    w_sum = np.zeros((R, D)) if average_from is not None else None

    bar = tqdm(total=steps, desc=label or algorithm.name, leave=False,
               disable=not progress_enabled(progress), mininterval=0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            x = algorithm.query(state)
            grad = problem.grad(x)
            W = algorithm.weights(state)
            grad_W = grad if W is x else problem.grad(W)
            loss = problem.loss_from_grad(W, grad_W)
            point = Point(W, grad_W, loss, device)
            current = {m: METRICS[m](point) for m in names}
            w_inf = point.w_inf
            np.maximum(maxima["w_inf"], w_inf, out=maxima["w_inf"])
            if need_sat:
                sat = point.sat
                np.maximum(maxima["sat"], sat, out=maxima["sat"])
                newly = (first_saturated < 0) & (sat >= 1)
                first_saturated[newly] = k
            bad = (first_nonfinite < 0) & ~np.isfinite(w_inf)
            first_nonfinite[bad] = k
            if snap_i < n and snaps[snap_i] == k:
                for m in names:
                    values[m][:, snap_i] = current[m]
                    sums[m][:, snap_i] = running[m]
                snap_i += 1
            if k == steps:
                break
            for m in names:
                running[m] += current[m]
            if w_sum is not None and k >= average_from:
                w_sum += W
            xi = noise.sample(noise_rng, D)
            g = grad if xi is None else grad + xi
            state = algorithm.step(state, g, algo_rng)
            bar.update()
    bar.close()

    return Trajectory(
        steps=steps,
        k=np.asarray(snaps),
        values=values,
        sums=sums,
        maxima=maxima,
        final_weights=np.array(algorithm.weights(state)),
        first_nonfinite=first_nonfinite,
        first_saturated=first_saturated,
        mean_weights=None if w_sum is None else w_sum / (steps - average_from),
        meta={
            "problem": problem.name,
            "algorithm": repr(algorithm),
            "noise": repr(noise),
            "seed": int(seed),
            "runs": runs.tolist() if R <= 64 else f"{R} runs from {int(runs.min())}",
            "steps": steps,
            "average_from": average_from,
        },
    )
