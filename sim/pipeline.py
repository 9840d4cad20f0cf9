r"""Pipeline-parallel training: explicit event schedules and the training engine that follows them.

A network is cut into ``M`` stages (stage 1 = input side); a **clock cycle** is the time one stage
needs for the forward (F) or the backward (B) pass of one micro-batch (arXiv 2410.15155, Fig. 1).
:func:`build_schedule` runs a discrete-event simulation, cycle by cycle, of four schedules:

``"none"``
    no pipeline: one micro-batch in flight; an update of every stage after each mini-batch of
    ``B`` micro-batches (mini-batch Analog SGD).
``"sync"``
    synchronous pipeline (GPipe-like, 1F1B order inside the mini-batch): the ``B`` micro-batches of
    a mini-batch share the weights; all stages update at the flush.
``"async"``
    asynchronous pipeline (PipeDream-like 1F1B, no flush, **no weight stashing**): every stage
    updates right after each backward; the forward at stage m used older weights than the backward.
``"async_stash"``
    the same timing, but each stage stashes the version its forward used and the backward uses it
    (PipeDream's weight stashing); the update is still applied to the current weights.

Rules of the event simulation (nothing else is assumed): F(m, j) needs F(m-1, j) finished in an
earlier cycle; B(M, j) needs F(M, j); B(m, j) needs B(m+1, j); a stage does one operation per cycle,
in its 1F1B order (warm-up forwards, then alternate backward/forward, then drain); micro-batches
enter stage 1 no more often than every 2 cycles (the 1F1B rhythm, as drawn in the paper's Fig. 1),
and for ``"none"`` only after the previous one finished; for ``"sync"``/``"none"`` the next
mini-batch starts after the flush. Weight versions are counted per stage as the updates happen, so
the delays, the computation density and the cycle counts are **read off the log**, not from formulas
(``theory.pipeline`` states the formulas; the claims compare the two).

:func:`train_pipeline` then trains a network under a schedule: for micro-batch j and stage m it
uses the weight versions the log says the forward and the backward used (a ring buffer of versions
per layer), accumulates the stage gradients, and applies the analog update (through the layer's
optimizer, hence :func:`sim.optimizers.apply_update`) when the log says the stage updates. All R
seeds advance in one numpy call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
from tqdm.auto import tqdm

from ._checks import check_int, check_seed, raise_if_nonfinite
from ._rng import BatchRNG
from .nets.layers import Layer as NetsLayer
from .nets.layers import Linear, Tanh
from .optimizers import check_per_run_params
from .run import _runs, progress_enabled

SCHEDULES: tuple[str, ...] = ("none", "sync", "async", "async_stash")
IDLE, FWD, BWD = 0, 1, 2


def _positive_int(value: Any, name: str) -> int:
    return check_int(name, value, minimum=1)


@dataclass(frozen=True)
class Schedule:
    """Event log of a pipeline schedule.

    Attributes
    ----------
    kind, stages, micro_batches, n_micro
        Schedule name, ``M``, micro-batches per mini-batch ``B`` (``n_micro`` for async kinds: they
        never flush), number of micro-batches simulated.
    grid, grid_micro
        ``(M, T)``: the operation of stage m (row ``m - 1``) in cycle t (``IDLE``, ``FWD``, ``BWD``)
        and the micro-batch it works on (-1 when idle).
    fwd_cycle, bwd_cycle
        ``(n_micro, M)``: cycle of F(m, j) and B(m, j).
    fwd_version, bwd_version
        ``(n_micro, M)``: number of updates stage m had applied when its forward / backward of
        micro-batch j used the weights (for stashing, the backward uses the stashed forward version).
    current_version
        ``(n_micro, M)``: updates stage m had applied when its backward of micro-batch j ran (the
        version an update is applied to).
    update_after
        ``(n_micro, M)`` bool: stage m applies an update right after micro-batch j's gradient is in
        (async: every micro-batch; sync/none: the last of each mini-batch).
    update_cycle
        ``(n_updates, M)``: cycle after which each update of each stage happened.
    """

    kind: str
    stages: int
    micro_batches: int
    n_micro: int
    grid: np.ndarray
    grid_micro: np.ndarray
    fwd_cycle: np.ndarray
    bwd_cycle: np.ndarray
    fwd_version: np.ndarray
    bwd_version: np.ndarray
    current_version: np.ndarray
    update_after: np.ndarray
    update_cycle: np.ndarray

    @property
    def cycles(self) -> int:
        """Total clock cycles ``T`` until the last operation (or update) finished."""
        return int(self.grid.shape[1])

    @property
    def updates(self) -> int:
        """Updates per stage."""
        return int(self.update_after[:, 0].sum())

    @property
    def density(self) -> float:
        """Computation density: busy stage-cycles over all stage-cycles, ``#busy / (M T)``."""
        return float(np.count_nonzero(self.grid) / self.grid.size)

    @property
    def delays(self) -> np.ndarray:
        """``(n_micro, M)``: updates of stage m between its forward and its backward of micro-batch j
        (the staleness of the forward weights relative to the weights that are updated)."""
        return self.current_version - self.fwd_version

    def cycles_until(self, n_micro: int) -> int:
        """Cycles until micro-batch ``n_micro - 1`` finished at every stage (and updates applied)."""
        n = _positive_int(n_micro, "n_micro")
        if n > self.n_micro:
            raise ValueError(f"n_micro must be <= {self.n_micro}, got {n}")
        return int(self.bwd_cycle[:n].max()) + 1


def _stage_order(M: int, m: int, B: int, one_at_a_time: bool) -> list[tuple[int, int]]:
    """1F1B operation order of stage ``m`` (0-based) for ``B`` micro-batches: ``(op, j)`` pairs
    (``M - m`` warm-up forwards; one at a time: F, B per micro-batch)."""
    warm = 1 if one_at_a_time else min(M - m, B)
    order = [(FWD, j) for j in range(warm)]
    nf, nb = warm, 0
    while nb < B:
        order.append((BWD, nb))
        nb += 1
        if nf < B:
            order.append((FWD, nf))
            nf += 1
    return order


def _simulate_block(
    M: int, B: int, one_at_a_time: bool, start: int, versions: np.ndarray, stash: bool, update_each: bool
):
    """Event-simulate B micro-batches from cycle ``start``; returns per-op cycles and versions."""
    orders = [_stage_order(M, m, B, one_at_a_time) for m in range(M)]
    pos = [0] * M
    fwd_c = [[-1] * M for _ in range(B)]
    bwd_c = [[-1] * M for _ in range(B)]
    fwd_v = [[-1] * M for _ in range(B)]
    bwd_v = [[-1] * M for _ in range(B)]
    cur_v = [[-1] * M for _ in range(B)]
    ver = [int(v) for v in versions]
    upd = []  # (j, m, cycle)
    t = start
    last_inject = start - 2
    done = 0

    def ready(m: int) -> int | None:
        """Earliest cycle at which stage m's next operation may run (None: a dependency is pending)."""
        op, j = orders[m][pos[m]]
        if op == FWD:
            if m == 0:
                r = last_inject + 2
                if one_at_a_time and j > 0:
                    prev = bwd_c[j - 1][0]
                    return None if prev < 0 else max(r, prev + 1)
                return r
            dep = fwd_c[j][m - 1]
        else:
            dep = fwd_c[j][m] if m == M - 1 else bwd_c[j][m + 1]
        return None if dep < 0 else dep + 1

    while done < 2 * B * M:
        times = [ready(m) if pos[m] < len(orders[m]) else None for m in range(M)]
        ops = [m for m in range(M) if (tm := times[m]) is not None and tm <= t]
        if not ops:  # nothing can run now: jump to the next cycle at which something can
            t = min(x for x in times if x is not None)
            continue
        for m in ops:
            op, j = orders[m][pos[m]]
            pos[m] += 1
            done += 1
            if op == FWD:
                fwd_c[j][m], fwd_v[j][m] = t, ver[m]
                if m == 0:
                    last_inject = t
            else:
                bwd_c[j][m] = t
                bwd_v[j][m] = fwd_v[j][m] if stash else ver[m]
                cur_v[j][m] = ver[m]
                if update_each:  # the update is instantaneous at the end of this cycle
                    ver[m] += 1
                    upd.append((j, m, t))
        t += 1
    versions[:] = ver
    arrays = (np.array(x, dtype=np.int64).reshape(B, M) for x in (fwd_c, bwd_c, fwd_v, bwd_v, cur_v))
    return (*arrays, upd, t)


def build_schedule(kind: str, stages: int, micro_batches: int, mini_batches: int = 1) -> Schedule:
    r"""Event-simulate a pipeline schedule.

    Parameters
    ----------
    kind
        One of ``"none"``, ``"sync"``, ``"async"``, ``"async_stash"``.
    stages
        Number of stages ``M >= 1``.
    micro_batches
        ``B``: micro-batches per mini-batch (per update, for ``"none"`` / ``"sync"``).
    mini_batches
        Number of mini-batches; ``n_micro = B * mini_batches`` micro-batches are simulated (the
        asynchronous kinds run them as one continuous stream).

    Returns
    -------
    Schedule
        The event log; e.g. ``build_schedule("sync", 4, 5)`` reproduces the middle panel of
        Fig. 1 of arXiv 2410.15155 (16 cycles, density 5/8).
    """
    if not isinstance(kind, str) or kind not in SCHEDULES:
        raise ValueError(f"kind must be one of {SCHEDULES}, got {kind!r}")
    M = _positive_int(stages, "stages")
    B = _positive_int(micro_batches, "micro_batches")
    K = _positive_int(mini_batches, "mini_batches")
    versions = np.zeros(M, dtype=int)
    if kind in ("async", "async_stash"):
        stash = kind == "async_stash"
        fc, bc, fv, bv, cv, upd, T = _simulate_block(M, B * K, False, 0, versions, stash, True)
        update_after = np.ones((B * K, M), dtype=bool)
        ucyc = np.zeros((B * K, M), dtype=int)
        for j, m, t in upd:
            ucyc[j, m] = t
    else:
        blocks, ucyc_rows, t = [], [], 0
        for _ in range(K):
            fc, bc, fv, bv, cv, _, t = _simulate_block(M, B, kind == "none", t, versions, False, False)
            blocks.append((fc, bc, fv, bv, cv))
            versions += 1  # the flush: every stage updates once, after the mini-batch drained
            ucyc_rows.append(np.full(M, t - 1))
        fc, bc, fv, bv, cv = (np.vstack([b[i] for b in blocks]) for i in range(5))
        update_after = np.zeros((B * K, M), dtype=bool)
        update_after[B - 1 :: B] = True
        ucyc = np.vstack(ucyc_rows)
        T = t
    grid = np.zeros((M, T), dtype=np.int8)
    grid_micro = np.full((M, T), -1)
    n = B * K
    jj = np.repeat(np.arange(n)[:, None], M, axis=1)
    mm = np.repeat(np.arange(M)[None, :], n, axis=0)
    for cyc, code in ((fc, FWD), (bc, BWD)):
        if np.any(grid[mm, cyc] != IDLE):  # pragma: no cover - the event loop cannot double-book
            raise RuntimeError("two operations in one stage-cycle slot")
        grid[mm, cyc] = code
        grid_micro[mm, cyc] = jj
    return Schedule(
        kind,
        M,
        B if kind in ("none", "sync") else n,
        n,
        grid,
        grid_micro,
        fc,
        bc,
        fv,
        bv,
        cv,
        update_after,
        ucyc,
    )


def render_grid(schedule: Schedule, upto: int | None = None) -> list[str]:
    """Text rows (stage M first, as in the paper's figure): ``F``, ``B`` or ``.`` per cycle."""
    chars = np.array([".", "F", "B"])
    g = schedule.grid[:, :upto]
    return ["".join(chars[row]) for row in g[::-1]]


# --- training engine -----------------------------------------------------------------------------


class Layer(Protocol):
    """A layer as in ``sim.nets`` (contract): tiles ``(R, out, in)``, batched inputs ``(R, b, ...)``."""

    def forward(self, W: Any, x: np.ndarray) -> tuple[np.ndarray, Any]: ...

    def backward(self, W: Any, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


@dataclass(frozen=True)
class SeparableQuadratic:
    r"""A stage whose loss term is :math:`\tfrac{\lambda}{2}\|W - W^*\|^2`, evaluated at the weights
    its **forward** pass used.

    ``forward`` passes the input through and caches the forward weights; ``backward`` returns
    :math:`\lambda(W_{fwd} - W^*) + \xi` with :math:`\xi` the micro-batch mean of the input (the
    input carries the gradient noise). Under the asynchronous schedule stage m then follows exactly
    the delayed recursion of :mod:`theory.delay` with delay ``M - m``: the model in which the
    staleness of the forward weights is modelled exactly.
    """

    lam: float
    w_star: np.ndarray

    def forward(self, W: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x, (W, x)

    def backward(self, W: np.ndarray, cache: Any, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        W_fwd, x = cache
        noise = x.mean(axis=1).reshape(W_fwd.shape)
        return dy, self.lam * (W_fwd - self.w_star) + noise

    def grad(self, W: np.ndarray) -> np.ndarray:
        """Exact gradient at ``W`` (the quantity the bounds measure)."""
        return self.lam * (W - self.w_star)


def async_quadratic_E_K(M: int, K: int, *, c: float = 1.0, tau: float = 4.0, dim: int = 4,
                        sigma: float = 0.5, w0: float = 0.5, runs: int = 8, seed: int = 0) -> np.ndarray:
    r"""Averaged squared gradient norm per stage of the asynchronous pipeline on
    :class:`SeparableQuadratic` stages, one value per run, shape ``(runs,)``.

    ``M`` stages (:math:`\lambda = 1`, :math:`W^* = 0`, ``dim`` weights each, all starting at ``w0``)
    on analog soft-bounds tiles (:class:`sim.SoftBounds` of radius ``tau``, mean-field Analog SGD)
    at :math:`\alpha = c/\sqrt K`, trained on ``K`` micro-batches of one sample whose input, normal
    with standard deviation ``sigma`` per coordinate, is the gradient noise of every stage.
    Returns :math:`E_K/M = \frac{1}{KM}\sum_{k<K}\sum_m \|\nabla f_m(W_{m,k})\|^2` per run (every
    iterate, so the transient from ``w0`` counts); stage m sees its forward weights with delay
    ``M - m`` (the delayed recursion of :mod:`theory.delay`). Used by the figure
    ``pipeline_complexity`` and the claim ``pipeline.depth_eps1_term``.
    """
    from .devices import SoftBounds  # local: keep sim.pipeline's import surface as it is
    from .optimizers import AnalogSGD

    M, K = check_int("M", M, minimum=1), check_int("K", K, minimum=1)
    layers = [SeparableQuadratic(1.0, np.zeros(dim)) for _ in range(M)]
    opt = AnalogSGD(c / np.sqrt(K), SoftBounds(tau))
    run = train_pipeline(layers, list(range(1, M + 1)), [np.full((runs, dim), w0)] * M, [opt] * M,
                         build_schedule("async", M, K, 1),
                         lambda rng, j: (sigma * rng.normal((1, dim)), None),
                         lambda out, y: np.zeros_like(out),
                         metrics=lambda Ws: {"g2": sum((W**2).sum(axis=-1) for W in Ws)}, seeds=runs,
                         seed=seed)
    return run.metrics["g2"][:, :-1].mean(axis=1) / M


class Eps1Fit(NamedTuple):
    """Result of :func:`fit_eps1`: ``increment ~ a + b/eps`` (weighted, unconstrained)."""

    a: float
    a_se: float
    b: float
    b_se: float
    chi2_dof: float


def depth_increment(Ks: np.ndarray, E_base: np.ndarray, E_M: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Extra iterations of a deeper pipeline at equal eps, paired by seed.

    ``E_base`` and ``E_M`` are ``(len(Ks), runs)`` values of :math:`E_K` (same seeds) for the
    reference and the deeper pipeline. At each measured eps of the deeper one (its :math:`E_K` of
    run r), the reference's K for run r at that eps comes from the log-log interpolation of its
    own curve (extrapolated from the end segments). Returns ``(eps, increment, se)``: the mean
    :math:`E_K` of the deeper pipeline per K, and the mean and s.e. over runs of
    :math:`K - K_{base}(\epsilon)`.
    """
    from .stats import loglog_interp, mean_se_rows

    Ks = np.asarray(Ks, float)
    logE1 = np.log(np.asarray(E_base).T)  # (R, nK)
    per_seed = Ks - np.exp(loglog_interp(np.log(np.asarray(E_M).T), logE1,
                                         np.broadcast_to(np.log(Ks), logE1.shape)))
    inc, se = mean_se_rows(per_seed, axis=0)
    return np.asarray(E_M).mean(axis=1), inc, se


def fit_eps1(eps: np.ndarray, increment: np.ndarray, se: np.ndarray) -> Eps1Fit:
    r"""Weighted least squares ``increment ~ a + b/eps`` (weights 1/se^2; either sign), with the
    standard errors inflated by :math:`\max(1, \chi^2/\mathrm{dof})`. Needs more than 2 points
    and ``se > 0``."""
    from .stats import weighted_fit

    f = weighted_fit(np.column_stack([np.ones_like(eps), 1.0 / np.asarray(eps)]), increment, se)
    return Eps1Fit(float(f.coef[0]), float(f.se[0]), float(f.coef[1]), float(f.se[1]),
                   float(f.chi2_dof))


@dataclass
class PipelineRun:
    """Result of :func:`train_pipeline`: metrics ``(R, n_records)`` and the clocks at each record."""

    schedule: Schedule
    metrics: dict[str, np.ndarray]
    updates: np.ndarray
    micro: np.ndarray
    samples: np.ndarray
    cycles: np.ndarray
    weights: list[Any]  # per layer: its final weights, None for a parameter-free layer


def train_pipeline(
    layers: Sequence[Layer],
    stage_of_layer: Sequence[int],
    w0: Sequence[np.ndarray],
    optimizers: Sequence[Any],  # Algorithm, or None for a parameter-free layer (see below)
    schedule: Schedule,
    data: Callable[[BatchRNG, int], tuple[np.ndarray, Any]],
    loss_grad: Callable[[np.ndarray, Any], np.ndarray],
    *,
    metrics: Callable[[list[Any]], dict[str, np.ndarray]] | None = None,
    seeds: int | Sequence[int] | np.ndarray = 1,
    seed: int = 0,
    micro_batch: int = 1,
    record_every: int = 1,
    progress: bool | None = None,
) -> PipelineRun:
    r"""Train a network under a pipeline schedule, R runs at once.

    For micro-batch ``j`` (in order), layer ``l`` of stage ``m``: the forward uses weight version
    ``schedule.fwd_version[j, m]``, the backward ``schedule.bwd_version[j, m]``; the gradient is
    accumulated, and when ``schedule.update_after[j, m]`` the stage's optimizer applies the mean
    of the accumulated gradients to the **current** weights:
    :math:`W_l^{(v+1)} = U(W_l^{(v)}, -\alpha\,\bar g_l)`.

    Parameters
    ----------
    layers
        Objects with ``forward(W, x) -> (y, cache)`` and ``backward(W, cache, dy) -> (dx, dW)``.
    stage_of_layer
        Stage index (1..M) of each layer, non-decreasing.
    w0
        Initial weights per layer, shape ``(R, ...)``; ``None`` for parameter-free layers
        (activations, as in ``sim.nets``).
    optimizers
        One :class:`~sim.optimizers.Algorithm` per layer (e.g. ``AnalogSGD``); ``None`` where ``w0``
        is ``None``.
    schedule
        From :func:`build_schedule`; its ``stages`` must equal the number of stages.
    data
        ``data(rng, j) -> (x, y)``: micro-batch ``j`` drawn from the per-run stream ``rng``
        (``x`` of shape ``(R, b, ...)``).
    loss_grad
        ``loss_grad(out, y) -> d loss / d out`` (the mean loss over the micro-batch).
    metrics
        ``metrics(current weights) -> {name: (R,) array}``, recorded every ``record_every`` updates
        of stage 1 (and at the start).
    seeds, seed
        Runs and base seed; the data stream of run r depends only on ``(seed, r)`` -- so all
        schedules see the same micro-batches (paired comparisons).
    micro_batch
        Samples per micro-batch ``b`` (for the sample counter).

    Raises
    ------
    ValueError
        On a bad argument, before any training (the message names the parameter).
    sim.Diverged
        As soon as an update leaves non-finite weights (NaN or inf) in a run, with the micro-batch
        ``j`` after whose update it happened and the runs: the divergence policy shared with
        :func:`sim.simulate` and :func:`sim.nets.train` (a subclass of ``FloatingPointError``).
        Large but finite weights are returned as they are (the stability claim measures them).
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a sim.pipeline.Schedule (from build_schedule), got"
                        f" {type(schedule).__name__}")
    seed = check_seed("seed", seed)
    n_layers = len(layers)
    if not (len(stage_of_layer) == len(w0) == len(optimizers) == n_layers) or n_layers == 0:
        raise ValueError(
            "layers, stage_of_layer, w0 and optimizers must have the same non-zero length, got "
            f"{n_layers}, {len(stage_of_layer)}, {len(w0)}, {len(optimizers)}"
        )
    st = np.asarray(stage_of_layer)
    M = schedule.stages
    if np.any(np.diff(st) < 0) or st[0] != 1 or st[-1] != M or set(st.tolist()) != set(range(1, M + 1)):
        raise ValueError(
            f"stage_of_layer must be non-decreasing and cover stages 1..{M} "
            f"(schedule.stages), got {list(stage_of_layer)}"
        )
    b = _positive_int(micro_batch, "micro_batch")
    every = _positive_int(record_every, "record_every")
    for l_idx, (w, opt) in enumerate(zip(w0, optimizers, strict=True)):
        if (w is None) != (opt is None):
            raise ValueError(f"layer {l_idx}: w0 and optimizer must both be given or both be None "
                             f"(parameter-free layer), got w0={'None' if w is None else 'array'}, "
                             f"optimizer={opt!r}")
    runs = _runs(seeds)
    R = runs.size
    for l_idx, (w, opt) in enumerate(zip(w0, optimizers, strict=True)):
        if w is None:
            continue
        shape = np.shape(w)
        if len(shape) < 2 or shape[0] != R:
            raise ValueError(f"w0[{l_idx}] must have shape (R, ...) with R = {R} runs (seeds), got shape"
                             f" {shape}")
        check_per_run_params(opt, R)
    data_rng = BatchRNG(seed, runs, "pipeline_data")
    algo_rng = BatchRNG(seed, runs, "algorithm")
    states: list[Any] = [None if w is None else opt.init(np.asarray(w, dtype=float))
                         for opt, w in zip(optimizers, w0, strict=True)]
    # ring buffer of versions per parameterised layer: {version: weights}
    hist: list[dict[int, np.ndarray | None]] = [
        {0: None} if states[i] is None else {0: optimizers[i].weights(states[i])} for i in range(n_layers)]
    version = np.zeros(M, dtype=int)
    acc: list[np.ndarray | None] = [None] * n_layers
    n_acc = np.zeros(M, dtype=int)
    oldest_needed = max(int(schedule.current_version.max(initial=0) - schedule.fwd_version.min(initial=0)), 0)

    def current() -> list[np.ndarray | None]:
        return [None if s is None else opt.weights(s) for opt, s in zip(optimizers, states, strict=True)]

    def weights_at(l_idx: int, v: int) -> np.ndarray | None:
        return None if states[l_idx] is None else hist[l_idx][v]

    rec: dict[str, list[np.ndarray]] = {}
    rec_u, rec_j, rec_c = [], [], []

    def record(j_done: int) -> None:
        if metrics is not None:
            for k, v in metrics(current()).items():
                rec.setdefault(k, []).append(np.asarray(v, dtype=float))
        rec_u.append(int(version[0]))
        rec_j.append(j_done)
        rec_c.append(0 if j_done == 0 else schedule.cycles_until(j_done))

    record(0)
    bar = tqdm(
        total=schedule.n_micro,
        desc=f"pipeline {schedule.kind} M={M}",
        leave=False,
        disable=not progress_enabled(progress),
        mininterval=0.5,
    )
    sm = st - 1
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(schedule.n_micro):
            x, y = data(data_rng, j)
            caches = []
            for l_idx, layer in enumerate(layers):
                Wf = weights_at(l_idx, int(schedule.fwd_version[j, sm[l_idx]]))
                x, cache = layer.forward(Wf, x)
                caches.append(cache)
            dy = loss_grad(x, y)
            for l_idx in range(n_layers - 1, -1, -1):
                Wb = weights_at(l_idx, int(schedule.bwd_version[j, sm[l_idx]]))
                dy, g = layers[l_idx].backward(Wb, caches[l_idx], dy)
                if g is not None:
                    acc[l_idx] = g if acc[l_idx] is None else acc[l_idx] + g
            n_acc += 1
            upd_stages = np.flatnonzero(schedule.update_after[j])
            for m in upd_stages.tolist():
                for l_idx in np.flatnonzero(sm == m).tolist():
                    if states[l_idx] is None:
                        continue
                    g_mean = acc[l_idx] / n_acc[m]
                    states[l_idx] = optimizers[l_idx].step(states[l_idx], g_mean, algo_rng)
                    acc[l_idx] = None
                    v = int(version[m]) + 1
                    w_new = optimizers[l_idx].weights(states[l_idx])
                    hist[l_idx][v] = w_new
                    if not np.isfinite(w_new).all():
                        bar.close()
                        raise_if_nonfinite("train_pipeline", w_new, j, runs,
                                           what=f"weights (layer {l_idx}, stage {m + 1})",
                                           unit="micro-batch", hint="lower the step size")
                    hist[l_idx].pop(v - oldest_needed - 2, None)
                version[m] += 1
                n_acc[m] = 0
            if upd_stages.size and upd_stages[0] == 0 and version[0] % every == 0:
                record(j + 1)
            bar.update()
    bar.close()
    if rec_j[-1] != schedule.n_micro:
        record(schedule.n_micro)
    return PipelineRun(
        schedule=schedule,
        metrics={k: np.stack(v, axis=1) for k, v in rec.items()},
        updates=np.asarray(rec_u),
        micro=np.asarray(rec_j),
        samples=np.asarray(rec_j) * b,
        cycles=np.asarray(rec_c),
        weights=current(),
    )


def staged_mlp(sizes: Sequence[int], stages: int) -> tuple[list[NetsLayer], list[int]]:
    r"""A tanh MLP of :mod:`sim.nets` layers cut into pipeline stages.

    ``sizes = (n_0, ..., n_T)`` gives T analog tiles ``Linear(n_{i}, n_{i+1})`` with a ``Tanh``
    after every tile but the last; tile i (and its activation) goes to stage
    :math:`1 + \lfloor i M / T \rfloor`, so the M stages hold the tiles evenly, in order.

    Parameters
    ----------
    sizes
        Layer widths, at least two positive integers.
    stages
        Number of pipeline stages M, ``1 <= M <= T``.

    Returns
    -------
    layers, stage_of_layer
        The layers (``Linear`` / ``Tanh`` of :mod:`sim.nets`) and the stage of each, as
        :func:`train_pipeline` takes them (``sim.nets.init_params(layers, rng)`` gives the tiles,
        ``None`` for the activations).

    Examples
    --------
    >>> from sim.pipeline import staged_mlp
    >>> layers, stage = staged_mlp((64, 32, 32, 32, 10), 4)
    >>> [type(layer).__name__ for layer in layers], stage
    (['Linear', 'Tanh', 'Linear', 'Tanh', 'Linear', 'Tanh', 'Linear'], [1, 1, 2, 2, 3, 3, 4])
    """
    sizes = [check_int(f"sizes[{i}]", n, minimum=1) for i, n in enumerate(sizes)]
    n_tiles = len(sizes) - 1
    if n_tiles < 1:
        raise ValueError(f"sizes must hold at least two layer widths, got {sizes}")
    stages = check_int("stages", stages, minimum=1, maximum=n_tiles)
    layers: list[NetsLayer] = []
    stage: list[int] = []
    for i in range(n_tiles):
        st = 1 + i * stages // n_tiles
        layers.append(Linear(sizes[i], sizes[i + 1]))
        stage.append(st)
        if i < n_tiles - 1:
            layers.append(Tanh())
            stage.append(st)
    return layers, stage


# --- a small real-data task --------------------------------------------------------------------------


def digits_task(test_fraction: float = 0.25, seed: int = 0) -> dict[str, np.ndarray]:
    """The UCI handwritten digits (8x8, 1797 images, 10 classes; shipped with scikit-learn), read by
    :func:`sim.nets.load_digits` (pixels in [0, 1], seeded split), centred with the training mean:
    ``x_train (N, 64)``, ``y_train (N,)``, ``x_test``, ``y_test``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from .nets import load_digits

    d = load_digits("flat", test_fraction=test_fraction, seed=seed)
    mean = d.x_train.mean(axis=0)
    return {"x_train": d.x_train - mean, "y_train": d.y_train, "x_test": d.x_test - mean, "y_test": d.y_test}


def sample_stream(x: np.ndarray, y: np.ndarray, micro_batch: int) -> Callable[[BatchRNG, int], tuple]:
    """``data(rng, j)`` drawing ``micro_batch`` samples with replacement per run: ``(R, b, ...)``."""
    b = _positive_int(micro_batch, "micro_batch")
    n = len(x)

    def data(rng: BatchRNG, j: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.minimum((rng.uniform(b) * n).astype(np.int64), n - 1)
        return x[idx], y[idx]

    return data
