"""The simulation loop: one numpy call advances all R runs; Python loops only over iterations."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._checks import Diverged, as_real_array, check_int, check_runs, check_seed, raise_if_nonfinite
from ._rng import BatchRNG
from .noise import GaussianNoise, Noise, NoiseModel, NoNoise, RademacherNoise
from .optimizers import Algorithm, check_per_run_params
from .problems import Quadratic
from .recorders import Recorder

__all__ = ["DEFAULT_RECORD", "Diverged", "initial_weights", "progress_enabled", "simulate"]
from .trajectory import MAXIMA, METRICS, Point, Trajectory, _tau_rows

DEFAULT_RECORD = ("loss", "grad_norm2", "sat")
#: metrics that read w_inf = ||W_k||_inf of every run at every iteration
_W_INF_METRICS = ("w_inf", "sat", "sat2", "s_ald")
#: memory that the recorded snapshots of one simulate call may take (checked before running)
_MAX_RECORD_BYTES = 2 * 2**30


def progress_enabled(progress: bool | None) -> bool:
    """``progress=None`` means: show bars when stderr is a terminal and AIMC_PROGRESS != 0."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("AIMC_PROGRESS", "") == "0":
        return False
    return sys.stderr.isatty()


def _runs(seeds: int | Sequence[int] | np.ndarray, name: str = "seeds") -> np.ndarray:
    """R (runs ``0..R-1``) or explicit non-negative integer run indices, as an int array."""
    return check_runs(name, seeds)


def initial_weights(w0: float | np.ndarray, runs: int, dim: int) -> np.ndarray:
    """Broadcast a scalar, ``(D,)`` or ``(R, D)`` initial point to ``(R, D)``."""
    w0 = as_real_array("w0", w0)
    if w0.ndim == 0 or w0.shape == (dim,) or w0.shape == (runs, dim):
        out = np.broadcast_to(w0, (runs, dim)).copy()
    else:
        raise ValueError(f"W0 must be a scalar, shape (D,) = ({dim},) or (R, D) = ({runs}, {dim}); got"
                         f" shape {w0.shape} (argument w0)")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"W0 must be finite, got {int((~np.isfinite(out)).sum())} non-finite entries"
                         " (argument w0)")
    return out


def _big(i: int) -> str:
    """An integer for a message: in full up to 15 digits, else as ``d.dde+N``."""
    t = str(int(i))
    return t if len(t) <= 15 else f"{t[0]}.{t[1:3]}e+{len(t) - 1}"


def _check_algorithm(algorithm: object) -> None:
    missing = [m for m in ("init", "query", "weights", "step", "device") if not hasattr(algorithm, m)]
    if missing:
        raise TypeError(f"algorithm must be an optimizer (sim.AnalogSGD, sim.DigitalSGD, sim.TikiTaka,"
                        f" ...) with init/query/weights/step/device, got {type(algorithm).__name__}"
                        f" (missing {missing})")


def _check_recorders(recorders: Mapping[str, Recorder] | None) -> dict[str, Recorder]:
    """``recorders`` as a dict of objects with start / observe / result, keyed by strings."""
    if recorders is None:
        return {}
    if not isinstance(recorders, Mapping):
        raise TypeError("recorders must be a mapping name -> recorder (e.g. {'P_max':"
                        " sim.Max(sim.p_inf)}), got " + type(recorders).__name__)
    out = {}
    for name, rec in recorders.items():
        if not isinstance(name, str):
            raise ValueError(f"recorders: names must be strings, got {name!r}")
        if not isinstance(rec, Recorder):
            raise TypeError(f"recorders[{name!r}] must have start(runs, steps), observe(k, state, point)"
                            f" and result() (sim.Mean, sim.Max, sim.MaxRatio, ...), got {type(rec).__name__}")
        out[name] = rec
    return out


def simulate(
    problem: Quadratic,
    algorithm: Algorithm,
    *,
    steps: int,
    seeds: int | Sequence[int] | np.ndarray = 1,
    seed: int = 0,
    noise: Noise | NoiseModel | None = None,
    w0: float | np.ndarray = 0.0,
    record: Sequence[str] = DEFAULT_RECORD,
    record_every: int = 1,
    average_from: int | None = None,
    progress: bool | None = None,
    label: str | None = None,
    recorders: Mapping[str, Recorder] | None = None,
) -> Trajectory:
    r"""Run ``algorithm`` on ``problem`` for ``steps`` iterations, R runs at once.

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
        Base seed: a non-negative integer (``1.7``, strings and bools are rejected).
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
    recorders
        State-aware recorders by name (:mod:`sim.recorders`: :class:`sim.Mean`, :class:`sim.Max`,
        :class:`sim.MaxRatio` of a metric or of a quantity of the optimizer's state, such as
        Tiki-Taka's :math:`\|P_k\|_\infty`). Each is restarted, then observes every iteration
        ``k = 0..K`` (the state before its step and the metrics' :class:`~sim.trajectory.Point`);
        its ``result()`` is in ``Trajectory.recorded[name]``. Recorders draw no random numbers:
        the run is the same, bit for bit, with or without them.

    Returns
    -------
    Trajectory
        Every recorded value is finite (a divergence raises :class:`sim.Diverged` instead).

    Examples
    --------
    Tiki-Taka's :math:`P_{\max} = \max_{k<K}\|P_k\|_\infty` and its second-half floor of
    :math:`\|\nabla f(W_k)\|^2`, measured along the run:

    >>> import sim
    >>> traj = sim.simulate(sim.paper_problem("exact_fig3"),
    ...                     sim.TikiTaka(0.05, 0.05, sim.SoftBounds(1.0)), steps=400, seeds=3,
    ...                     noise=sim.GaussianNoise(0.1), record=(),
    ...                     recorders={"P_max": sim.Max(sim.p_inf),
    ...                                "floor": sim.Mean("grad_norm2", start=200)})
    >>> sorted(traj.recorded), traj.recorded["P_max"].shape
    (['P_max', 'floor'], (3,))

    Raises
    ------
    ValueError
        On a bad argument, before any computation (the message names the parameter, the allowed
        range or shape and the value received): ``steps``, ``seeds``, ``seed``, ``w0``, ``record``,
        ``record_every``, ``average_from``, a recorder's window, the noise's ``std`` against D,
        an optimizer's per-run rates or a device parameter against ``(R, D)``.
    sim.Diverged
        As soon as a run's weights :math:`W_k` or its loss become non-finite (NaN or inf), with the
        iteration k and the runs (the divergence policy shared with :func:`sim.nets.train` and
        :func:`sim.pipeline.train_pipeline`; a non-finite value never reaches the trajectory).
    """
    if not isinstance(problem, Quadratic):
        raise TypeError(f"problem must be a sim.Quadratic (e.g. sim.paper_problem('exact_fig3')), got"
                        f" {type(problem).__name__}")
    _check_algorithm(algorithm)
    steps = check_int("steps", steps, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    seed = check_seed("seed", seed)
    if isinstance(record, str):
        record = (record,)
    unknown = [m for m in record if not isinstance(m, str) or m not in METRICS]
    if unknown:
        raise ValueError(f"record: unknown metric(s) {unknown}; available: {sorted(METRICS)}")
    if average_from is not None:
        average_from = check_int("average_from", average_from, minimum=0, maximum=steps - 1)
    noise = NoNoise() if noise is None else noise
    if not callable(getattr(noise, "sample", None)):
        raise TypeError(f"noise must be None or a noise model with sample(rng, dim) (sim.GaussianNoise,"
                        f" sim.RademacherNoise, sim.NoNoise, ...), got {noise!r}")
    runs = _runs(seeds)
    R, D = runs.size, problem.dim
    check_dim = getattr(noise, "check_dim", None)
    if callable(check_dim):
        check_dim(D)
    check_per_run_params(algorithm, R)
    recorders = _check_recorders(recorders)
    for rec in recorders.values():
        rec.start(R, steps)
    device = algorithm.device
    analog = np.isfinite(np.asarray(device.tau)).all()

    state = algorithm.init(initial_weights(w0, R, D))
    noise_rng = BatchRNG(seed, runs, "gradient_noise")
    algo_rng = BatchRNG(seed, runs, "algorithm")

    names = list(dict.fromkeys(record))
    n = -(-steps // record_every) + 1  # snapshots 0, s, 2s, ... below K, and K
    need = n * (16 * R * len(names) + 40)  # values + sums (float64), the index list
    if need > _MAX_RECORD_BYTES:
        raise ValueError(f"record_every={record_every} with steps={_big(steps)} and R={R} runs would keep"
                         f" {_big(n)} snapshots of {len(names)} metric(s) (~{_big(need // 2**30)} GiB, limit"
                         f" {_MAX_RECORD_BYTES // 2**30} GiB); raise record_every (the averages stay exact"
                         " whatever the stride)")
    snaps = list(range(0, steps, record_every))
    snaps.append(steps)
    values = {m: np.empty((R, n)) for m in names}
    sums = {m: np.zeros((R, n)) for m in names}
    # with a snapshot every iteration the cumulative sums are the running sums of the values,
    # formed once at the end (np.add.accumulate adds in the same order as the loop would)
    every = record_every == 1
    running = {} if every else {m: np.zeros(R) for m in names}
    maxima = {m: np.zeros(R) for m in MAXIMA}
    first_saturated = np.full(R, -1)
    need_sat = bool(analog)
    tau_rows: Any = _tau_rows(device, R) if need_sat else None  # None unless need_sat
    # a run saturates when fl(w_inf / tau) >= 1, so only if some |W| >= tau (1 - 2^-52) at least:
    # below this threshold (checked on the whole batch at once) no run can newly saturate
    sat_lo = float(tau_rows.min()) * (1 - 2.0**-50) if need_sat else np.inf
    w_sum: Any = np.zeros((R, D)) if average_from is not None else None  # None iff average_from is
    snap_i = 0
    # the running maximum of |W| is kept per element (one pass per iteration) and reduced over
    # coordinates at the end: max over k of max over d is exact in any order
    # when a metric needs w_inf = max_d |W| per run at every iteration, |W| is written transposed,
    # (D, R), so that the maximum over d is a reduction over the outer axis (vectorized over runs)
    need_w_inf = any(m in _W_INF_METRICS for m in names)
    abs_w = np.empty((D, R) if need_w_inf else (R, D))
    max_abs = np.zeros_like(abs_w)
    w_inf_buf = np.empty(R)
    per_point = [m for m in names if m != "loss"]
    # the problem's gradient and loss with preallocated buffers, when they are Quadratic's own
    fast = (type(problem).grad is Quadratic.grad
            and type(problem).loss_from_grad is Quadratic.loss_from_grad)
    H, w_star = problem.H, problem.w_star
    diff, grad_buf, loss, zeros_R = np.empty((R, D)), np.empty((R, D)), np.empty(R), np.zeros(R)
    # recording the loss every iteration: it is computed straight into its record, halved at the
    # end (the same product 0.5 * <., .> for every entry); the finiteness check is unaffected
    loss_col = fast and every and "loss" in names
    loss_rec: Any = values["loss"] if loss_col else None  # None unless loss_col
    own_noise = type(noise) in (GaussianNoise, RademacherNoise)  # sample() returns a new array

    show = progress_enabled(progress)
    bar = tqdm(total=steps, desc=label or algorithm.name, leave=False, disable=not show,
               mininterval=0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            x = algorithm.query(state)
            W = algorithm.weights(state)
            if fast and x.shape == diff.shape:
                # (x - w*) H and 0.5 <W - w*, grad f(W)>, as Quadratic.grad / loss_from_grad
                np.subtract(x, w_star, out=diff)
                grad = np.matmul(diff, H, out=grad_buf)
                if W is x:
                    grad_W, diff_W = grad, diff
                else:
                    diff_W = W - w_star
                    grad_W = diff_W @ H
                if loss_col:  # into the record; the factor 1/2 is applied to it at the end
                    loss = np.einsum("...i,...i->...", diff_W, grad_W, out=loss_rec[:, k])
                else:
                    np.einsum("...i,...i->...", diff_W, grad_W, out=loss)
                    loss *= 0.5
            else:
                grad = problem.grad(x)
                grad_W = grad if W is x else problem.grad(W)
                if loss_col:  # Quadratic.loss_from_grad without its factor 1/2 (applied at the end)
                    loss = np.einsum("...i,...i->...", W - w_star, grad_W, out=loss_rec[:, k])
                else:
                    loss = problem.loss_from_grad(W, grad_W)
            # a non-finite weight makes the loss non-finite (inf * 0 and nan propagate through
            # (W - w*) H and the dot product), so the loss alone is checked every iteration:
            # <loss, 0> is 0 if every entry is finite, else nan (0 * inf, 0 * nan), in one call
            if np.dot(loss, zeros_R) != 0.0:
                bar.close()
                w_inf = np.abs(W).max(axis=-1)
                raise_if_nonfinite("simulate", np.stack([w_inf, loss], axis=1), k, runs,
                                   what="weights or loss", hint="lower the step size (alpha)")
            if need_w_inf:
                np.abs(W.T, out=abs_w)
                w_inf = np.maximum.reduce(abs_w, axis=0, out=w_inf_buf)
                peak = w_inf.max()
            else:
                np.abs(W, out=abs_w)
                peak = abs_w.max() if need_sat else 0.0
            np.maximum(max_abs, abs_w, out=max_abs)
            if need_sat and peak >= sat_lo:
                sat = (w_inf if need_w_inf else abs_w.max(axis=-1)) / tau_rows
                newly = (first_saturated < 0) & (sat >= 1)
                first_saturated[newly] = k
            current = {"loss": loss}
            if recorders:
                # the loss recorded every iteration is still unhalved here: 0.5 * it is the value
                # stored at the end (bit for bit)
                point = Point(W, grad_W, 0.5 * loss if loss_col else loss, device, x, grad)
                if need_w_inf:
                    point._w_inf = w_inf
                for rec in recorders.values():
                    rec.observe(k, state, point)
            if per_point:
                point = Point(W, grad_W, loss, device)
                if need_w_inf:
                    point._w_inf = w_inf
                for m in per_point:
                    if every and m == "grad_norm2":  # METRICS["grad_norm2"], into its record
                        np.einsum("ij,ij->i", grad_W, grad_W, out=values[m][:, k])
                    else:
                        current[m] = METRICS[m](point)
            if snap_i < n and snaps[snap_i] == k:
                for m in names:
                    if not ((loss_col and m == "loss") or (every and m == "grad_norm2")):
                        values[m][:, snap_i] = current[m]
                    if not every:
                        sums[m][:, snap_i] = running[m]
                snap_i += 1
            if k == steps:
                break
            if not every:
                for m in names:
                    running[m] += current[m]
            if w_sum is not None and k >= average_from:  # type: ignore[operator]
                w_sum += W
            xi = noise.sample(noise_rng, D)
            if xi is None:
                g = grad
            elif own_noise and xi.shape == grad.shape:
                g = np.add(xi, grad, out=xi)
            else:
                g = grad + xi
            if g is grad_buf:  # the step must not keep a view of a buffer reused next iteration
                g = g.copy()
            state = algorithm.step(state, g, algo_rng)
            if show:
                bar.update()
    bar.close()
    if not np.isfinite(max_abs).all():  # unreachable if the loss check above holds
        raise_if_nonfinite("simulate", max_abs, steps, runs, what="weights")
    np.max(max_abs, axis=0 if need_w_inf else -1, out=maxima["w_inf"])
    if need_sat:
        # fl(a / tau) is non-decreasing in a, so the maximum of the quotients is the quotient of
        # the maximum, bit for bit
        np.divide(maxima["w_inf"], tau_rows, out=maxima["sat"])
    if loss_col:
        loss_rec *= 0.5
    if every:
        for m in names:
            np.add.accumulate(values[m][:, :-1], axis=1, out=sums[m][:, 1:])
            sums[m] += 0.0  # the loop's sums start from +0.0: a leading -0.0 becomes +0.0

    return Trajectory(
        steps=steps,
        k=np.asarray(snaps),
        values=values,
        sums=sums,
        maxima=maxima,
        final_weights=np.array(algorithm.weights(state)),
        first_saturated=first_saturated,
        mean_weights=None if w_sum is None else w_sum / (steps - average_from),  # type: ignore[operator]
        recorded={name: rec.result() for name, rec in recorders.items()},
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
