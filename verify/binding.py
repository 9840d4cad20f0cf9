r"""Binding a theory bound to a simulated trajectory: :func:`evaluate_bound`.

A :class:`theory.Bound` is a sympy expression in named symbols (``K``, ``sigma``, ``W_max``, ``S_K``,
...); a :class:`sim.Trajectory` holds per-run metric averages and running maxima. This module maps
one onto the other, once, so a claim (or a user) evaluates a bound on a batch of runs in one call:

>>> import numpy as np, sim
>>> prob = sim.paper_problem("exact_fig3")
>>> dev, noise, K = sim.SoftBounds(1.0), sim.GaussianNoise(0.1), 400
>>> Delta_0 = float(prob.loss(np.zeros((1, prob.dim)))[0])
>>> alpha = float(np.sqrt(Delta_0 / (noise.sigma2(prob.dim) * prob.L * K)))  # the theorem's step
>>> tr = sim.simulate(prob, sim.AnalogSGD(alpha, dev), steps=K, seeds=8, noise=noise,
...                   record=("grad_norm2", "s_ald"), progress=False)
>>> ev = evaluate_bound("asgd.upper.ald", tr, device=dev, noise=noise, L=prob.L, Delta_0=Delta_0)
>>> ev.sources["S_K"], ev.sources["sigma"]
("trajectory.average('s_ald') per run", 'noise: sigma^2 = noise.sigma2(D), D = 40')
>>> ev.applicable, ev.value.shape, ev.check("2024 Thm 2").passed
(True, (8,), True)

Where each symbol comes from
----------------------------
An explicit keyword always wins (``S_K=0.0`` switches the asymptotic-error term off). Otherwise:

==================  =============================================================================
``K``               ``trajectory.steps``
``W_max``           ``max`` of ``trajectory.maxima["w_inf"]`` over all runs: a *sure* bound on
                    :math:`\|W_k\|_\infty` along every run and iteration, as the theorems assume
``S_K``             per run, ``trajectory.average("s_ald")`` (the 2024 saturation average)
``Stilde_K``        per run, ``trajectory.average("sat2")``
``S_K_general``     per run, ``trajectory.average("g_over_sqrt_f2")`` (2502.06309 Thm 2)
``tau``             ``device.tau`` (a scalar)
``F_max``           :math:`\sup F` on a grid of :data:`GRID_POINTS` points over the device's range
                    ``[w_min, w_max]`` (``[-W_max, W_max]`` when the range is unbounded)
``M_min``           :math:`\inf M` on the same grid over ``[-W_max, W_max]``, the range the runs
                    visited (a sure lower bound of :math:`\min_k M(W_k)` up to the grid spacing)
``sigma``           :math:`\sqrt{\texttt{noise.sigma2}(D)}`, see the noise convention below
any other symbol    a recorder of :func:`sim.simulate` named after it (``trajectory.recorded``):
                    per run, or the maximum over runs for the sure bounds ``P_max`` / ``W_max``
                    (``recorders={"P_max": sim.Max(sim.p_inf),
                    "S_K_RL": sim.Mean(sim.s_rl_terms(device))}`` for the Tiki-Taka and
                    residual-learning bounds)
==================  =============================================================================

Noise convention
----------------
The theory's :math:`\sigma^2` bounds the *total* variance :math:`E\|g - \nabla f\|^2`, summed over
the :math:`D` coordinates. The simulator's noises are per coordinate (``GaussianNoise(std)``:
:math:`N(0, \mathrm{std}^2)` in every coordinate; ``RademacherNoise(s)``: :math:`\pm s`), so
:math:`\sigma^2 = D\,\mathrm{std}^2` (:meth:`sim.GaussianNoise.sigma2`), with :math:`D` the number
of weights of one run. Passing ``sigma=`` overrides it.

Per-run values
--------------
The trajectory averages differ from run to run, so the bound is evaluated per run (shape ``(R,)``)
and compared with each run's own measured left-hand side; :meth:`BoundEvaluation.check` decides on
the paired per-run difference (mean and standard error over the R independent runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

import sim
import theory
from theory import AssumptionChecks, Bound
from theory.asgd import AVG_GRAD_M, E_K_GENERAL
from theory.sgd import AVG_GRAD
from theory.symbols import DOMAINS

from ._claim import Check, not_applicable
from .stats import Z, mean_se

__all__ = [
    "GRID_POINTS",
    "LHS_METRICS",
    "SURE_BOUNDS",
    "TRAJECTORY_AVERAGES",
    "BoundEvaluation",
    "evaluate_bound",
    "response_extremum",
]

#: points of the grid on which F_max and M_min are taken
GRID_POINTS = 2001

#: symbols that bound a quantity surely (along every run): read as the maximum over runs
SURE_BOUNDS = frozenset({"W_max", "P_max"})

#: trajectory metric whose per-run average is each trajectory-average symbol
TRAJECTORY_AVERAGES: Mapping[str, str] = {
    "S_K": "s_ald",
    "Stilde_K": "sat2",
    "S_K_general": "g_over_sqrt_f2",
}

#: trajectory metric whose per-run average (over k < K) is each bound's left-hand side
LHS_METRICS: Mapping[str, str] = {
    AVG_GRAD: "grad_norm2",
    AVG_GRAD_M: "grad_norm2_M",
    E_K_GENERAL: "e_k_general",
}


def response_extremum(device: sim.Device, which: str = "F", kind: str = "sup",
                      lo: float | np.ndarray | None = None, hi: float | np.ndarray | None = None,
                      points: int = GRID_POINTS) -> float:
    r""":math:`\sup` or :math:`\inf` of a response component of ``device`` on a grid.

    Parameters
    ----------
    device
        A :class:`sim.Device` (its ``F``, ``G``, ``M``, ``q_plus``, ``q_minus``).
    which
        The component.
    kind
        ``"sup"`` or ``"inf"``.
    lo, hi
        The interval; default the device's range ``[w_min, w_max]`` (must be finite).
    points
        Grid points (``np.linspace(lo, hi, points)``), >= 2.

    Returns
    -------
    float
        The extremum over the grid (over all parameter values of an array-parameter device).
    """
    if which not in ("F", "G", "M", "q_plus", "q_minus"):
        raise ValueError(f"which must be one of F, G, M, q_plus, q_minus; got {which!r}")
    if kind not in ("sup", "inf"):
        raise ValueError(f"kind must be 'sup' or 'inf', got {kind!r}")
    if not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    lo_ = np.asarray(device.w_min if lo is None else lo, dtype=float)
    hi_ = np.asarray(device.w_max if hi is None else hi, dtype=float)
    if lo_.ndim or hi_.ndim:
        lo_, hi_ = np.asarray(np.min(lo_)), np.asarray(np.max(hi_))
    if not (np.isfinite(lo_) and np.isfinite(hi_) and lo_ <= hi_):
        raise ValueError(f"the interval [lo, hi] must be finite with lo <= hi, got [{lo_}, {hi_}]"
                         f" ({device!r}); pass lo and hi for an unbounded device")
    values = getattr(device, which)(np.linspace(lo_, hi_, points))
    return float(np.max(values) if kind == "sup" else np.min(values))


@dataclass(frozen=True)
class BoundEvaluation:
    """A bound evaluated on a batch of runs, with what was plugged in.

    Attributes
    ----------
    bound
        The theory statement.
    value
        The bound per run, shape ``(R,)`` (constant across runs unless a trajectory average enters).
    measured
        Per run, the average over :math:`k < K` of the metric of the bound's left-hand side
        (:data:`LHS_METRICS`), or ``None`` if the left-hand side has no metric or it was not recorded.
    metric
        That metric's name (or ``None``).
    values
        Every value plugged into the expression or its assumptions, by symbol name.
    sources
        Where each value came from (``"given"``, ``"trajectory.steps"``, ...).
    assumptions
        The bound's assumptions checked on ``values`` (``theory.AssumptionChecks``).
    """

    bound: Bound
    value: np.ndarray
    measured: np.ndarray | None
    metric: str | None
    values: dict[str, float | np.ndarray]
    sources: dict[str, str] = field(default_factory=dict)
    assumptions: AssumptionChecks = field(default_factory=lambda: AssumptionChecks(()))

    @property
    def violated(self) -> list[str]:
        """Names of the assumptions that fail."""
        return [c.name for c in self.assumptions.violated]

    @property
    def applicable(self) -> bool:
        """No assumption fails (unchecked ones, missing a value, do not count)."""
        return not self.violated

    def check(self, name: str, *, reason: str | None = None) -> Check:
        r"""The bound as a claim check on the paired per-run difference ``measured - value``.

        For ``<=``: passes iff :math:`\bar d + Z\,\mathrm{se}(d) \le 0` with :math:`d_r` the
        measured minus the bound of run r; for ``>=`` iff :math:`\bar d - Z\,\mathrm{se}(d) \ge 0`.
        A violated assumption gives :func:`verify.not_applicable`. ``predicted`` and ``measured`` of
        the check are the means over runs; ``tightness`` is measured / bound.
        """
        if self.measured is None:
            raise ValueError(f"{self.bound.id}: no measured left-hand side (record "
                             f"{self.metric or 'its metric'!r}, or compare .value yourself)")
        if self.bound.relation not in ("<=", ">="):
            raise ValueError(f"{self.bound.id}: check() compares '<=' or '>=' bounds; relation is"
                             f" {self.bound.relation!r}")
        if self.violated:
            return not_applicable(name, f"assumption violated: {', '.join(self.violated)}")
        est = mean_se(self.measured - self.value)
        total = float(np.mean(self.value))
        m = float(np.mean(self.measured))
        upper = self.bound.relation == "<="
        passed = est.mean + Z * est.se <= 0.0 if upper else est.mean - Z * est.se >= 0.0
        why = reason or (f"{Z:g} s.e. of the paired per-run difference (measured - the run's"
                         " bound at its own S_K)")
        return Check(name, self.bound.relation, total, m, est.se, Z * est.se, why, bool(passed),
                     m / total if total > 0 else None)


def _dim(trajectory: sim.Trajectory) -> int:
    return int(np.prod(trajectory.final_weights.shape[1:]))


def evaluate_bound(bound: Bound | str, trajectory: sim.Trajectory, *,
                   device: sim.Device | None = None, noise: object | None = None,
                   lhs: str | None = None, **constants: float | np.ndarray) -> BoundEvaluation:
    r"""Evaluate a theory bound on a batch of simulated runs.

    Parameters
    ----------
    bound
        A :class:`theory.Bound` or its id (``"asgd.upper.general"``).
    trajectory
        The runs (:func:`sim.simulate`); record the metrics the bound consumes
        (:data:`TRAJECTORY_AVERAGES`) and its left-hand side (:data:`LHS_METRICS`).
    device
        The device the runs used, for ``tau``, ``F_max`` and ``M_min``.
    noise
        The gradient noise the runs used (``sim.GaussianNoise``, ...), for ``sigma`` (noise
        convention in the module docstring: :math:`\sigma^2 = D\,\mathrm{std}^2`).
    lhs
        Where the measured left-hand side is, per run: a recorder name (``trajectory.recorded``)
        or a metric (its average over :math:`k < K`). Default: the metric of the bound's
        left-hand side in :data:`LHS_METRICS`, if recorded.
    **constants
        Values by symbol name (``L``, ``Delta_0``, ``alpha``, ...); they override anything read
        from the trajectory, the device or the noise. Names of theory symbols the bound does not use
        are ignored (one call pattern for several bounds); other names are an error.

    Returns
    -------
    BoundEvaluation
        The bound per run, the measured left-hand side per run, the values plugged in with their
        sources, and the assumption verdicts.

    Raises
    ------
    ValueError
        An unknown keyword; a symbol of the expression with no value (the message says how to
        supply it); a value outside its symbol's domain (from :meth:`theory.Bound.evaluate`).
    """
    b = theory.get(bound) if isinstance(bound, str) else bound
    if not isinstance(b, Bound):
        raise TypeError(f"bound must be a theory.Bound or its id, got {type(b).__name__}")
    unknown = sorted(set(constants) - set(DOMAINS) - set(b.symbols) - set(b.assumption_symbols))
    if unknown:
        raise ValueError(f"{b.id}: unknown symbol(s) {unknown}; the bound uses {b.symbols}"
                         f" (assumptions also {b.assumption_symbols})")
    values: dict[str, float | np.ndarray] = {}
    sources: dict[str, str] = {}
    hints: dict[str, str] = {}

    def resolve(name: str) -> None:
        if name in constants:
            values[name], sources[name] = constants[name], "given"
        elif name in getattr(trajectory, "recorded", {}):
            rec = np.asarray(trajectory.recorded[name], dtype=float)
            if name in SURE_BOUNDS:
                values[name] = float(rec.max())
                sources[name] = f"max over runs of trajectory.recorded[{name!r}]"
            else:
                values[name] = rec
                sources[name] = f"trajectory.recorded[{name!r}] per run"
        elif name == "K":
            values[name], sources[name] = trajectory.steps, "trajectory.steps"
        elif name == "W_max":
            values[name] = float(trajectory.maxima["w_inf"].max())
            sources[name] = "max over runs and iterations of ||W_k||_inf (trajectory.maxima['w_inf'])"
        elif name in TRAJECTORY_AVERAGES:
            metric = TRAJECTORY_AVERAGES[name]
            if metric not in trajectory.sums:
                hints[name] = f"record {metric!r} in sim.simulate or pass {name}="
                return
            values[name] = trajectory.average(metric)
            sources[name] = f"trajectory.average({metric!r}) per run"
        elif name == "tau" and device is not None and np.ndim(device.tau) == 0 \
                and np.isfinite(device.tau):
            values[name], sources[name] = float(device.tau), "device.tau"
        elif name == "F_max" and device is not None:
            lo, hi = device.w_min, device.w_max
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
                resolve("W_max")
                lo, hi = -values["W_max"], values["W_max"]
            values[name] = response_extremum(device, "F", "sup", lo, hi)
            sources[name] = (f"sup of device.F on {GRID_POINTS} grid points over"
                             f" [{np.min(lo):g}, {np.max(hi):g}]")
        elif name == "M_min" and device is not None:
            resolve("W_max")
            values[name] = response_extremum(device, "M", "inf", -values["W_max"], values["W_max"])
            sources[name] = f"inf of device.M on {GRID_POINTS} grid points over [-W_max, W_max]"
        elif name == "sigma" and noise is not None:
            D = _dim(trajectory)
            values[name] = float(np.sqrt(noise.sigma2(D)))  # type: ignore[attr-defined]
            sources[name] = f"noise: sigma^2 = noise.sigma2(D), D = {D}"
        else:
            hints[name] = {"tau": "pass device= (scalar tau) or tau=",
                           "F_max": "pass device= or F_max=", "M_min": "pass device= or M_min=",
                           "sigma": "pass noise= or sigma= (total: sigma^2 = D std^2)"}.get(
                               name, f"pass {name}=")

    for name in b.symbols:
        resolve(name)
    missing = [n for n in b.symbols if n not in values]
    if missing:
        raise ValueError(f"{b.id}: no value for {', '.join(missing)}: "
                         + "; ".join(f"{n}: {hints[n]}" for n in missing))
    for name in b.assumption_symbols:
        resolve(name)  # optional: an assumption lacking a value stays unchecked
    for name, v in constants.items():  # given values the assumptions do not list are kept too
        values.setdefault(name, v)
        sources.setdefault(name, "given")
    R = trajectory.runs
    value = np.broadcast_to(np.asarray(b.evaluate(**{n: values[n] for n in b.symbols}), float), (R,))
    recorded = getattr(trajectory, "recorded", {})
    metric = LHS_METRICS.get(b.lhs) if lhs is None else lhs
    if lhs is not None and lhs not in recorded and lhs not in trajectory.sums:
        raise ValueError(f"lhs must name a recorder {sorted(recorded)} or a recorded metric"
                         f" {sorted(trajectory.sums)}; got {lhs!r}")
    if metric is not None and metric in recorded:
        measured = np.asarray(recorded[metric], dtype=float)
    elif metric is not None and metric in trajectory.sums:
        measured = trajectory.average(metric)
    else:
        measured = None
    return BoundEvaluation(b, value, measured, metric, values, sources,
                           b.check_assumptions(**values))
