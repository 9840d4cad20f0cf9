r"""Pipeline-parallel analog training (arXiv 2410.15155): cycles, density, speedups, delays, bounds.

The network is cut into ``M`` stages; a clock cycle is one stage's forward or backward pass of one
micro-batch of ``b`` samples; a mini-batch has ``B`` micro-batches (spec ``pipeline_training.md``
Sec. 3). From the authors' Fig. 1 the timing law of all three panels is

.. math:: t_F(m, j) = (m - 1) + 2j, \qquad t_B(m, j) = (2M - m) + 2j

(``j`` inside the mini-batch for the synchronous pipeline, global for the asynchronous one; spacing
``2M`` instead of 2 without pipeline). Everything below is derived from it with sympy; the event
simulation in ``sim.pipeline`` produces the schedule from dependency rules alone and the claims
compare the two.

Registered statements
---------------------
``pipeline.cycles.{none,sync,async}``
    Clock cycles: :math:`2MBK`, :math:`2(B+M-1)K` for K mini-batches, :math:`2n + 2(M-1)` for n
    micro-batches.
``pipeline.density.{sync,async}``, ``pipeline.density.async_limit``
    :math:`B/(B+M-1)`; :math:`n/(n+M-1) \to 1`.
``pipeline.speedup.{sync,async}``
    Throughput speedups over no pipeline: :math:`MB/(B+M-1)`; :math:`\to M`.
``pipeline.delay``
    Updates of stage m between its forward and backward of one micro-batch: :math:`d_m = M - m`.
``pipeline.sync.rate``
    The synchronous pipeline computes the Analog SGD iterates with batch :math:`Bb` (2024 Thm 2 with
    :math:`\sigma^2 \to \sigma^2/(Bb)`).
``pipeline.async.rate``, ``pipeline.async.rate_balanced``, ``pipeline.async.iteration_complexity``
    Reconstructed template for Analog-SGD-AP with its staleness term, constants ``a_1, a_2, a_3``,
    ``L_s``, ``G`` and the delay factor :math:`D_M` as symbols (the paper's are unknown).
``pipeline.sync.iteration_complexity``, ``pipeline.async.eps2_coefficient``,
``pipeline.async.eps1_coefficient``, ``pipeline.almost_free.samples``, ``pipeline.almost_free.cycles``
    Solved ``bound = eps`` for K and expanded as :math:`\varepsilon \to 0`: the :math:`\varepsilon^{-2}`
    coefficient is the synchronous one (at matched per-update batch, for :math:`a_1 = 2`, the value
    that reproduces the no-delay constant), the :math:`\varepsilon^{-1}` coefficient is proportional
    to :math:`D_M`; samples async/sync :math:`\to 1`, cycles sync/async :math:`\to (B+M-1)/B`.
"""

from __future__ import annotations

import functools

import sympy as sp

from ._core import Assumption, Bound, Derivation, Provenance, Status, register
from .asgd import rho
from .calculus import iteration_complexity, leading_order
from .symbols import S_K, Delta_0, K, L, W_max, alpha, epsilon, sigma, tau

M = sp.Symbol("M", positive=True, integer=True)  #: number of pipeline stages
B = sp.Symbol("B", positive=True, integer=True)  #: micro-batches per mini-batch
b = sp.Symbol("b", positive=True)  #: samples per micro-batch
n = sp.Symbol("n", positive=True, integer=True)  #: number of micro-batches streamed (async)
m = sp.Symbol("m", positive=True, integer=True)  #: stage index (1 = input side)
j = sp.Symbol("j", nonnegative=True, integer=True)  #: micro-batch index
a1, a2, a3 = sp.symbols("a_1 a_2 a_3", positive=True)  #: unknown constants of the async theorem
L_s = sp.Symbol("L_s", positive=True)  #: Lipschitz constant of the gradient in its stale arguments
G_bound = sp.Symbol("G", positive=True)  #: bound on the stochastic gradient, E||g||^2 <= G^2
D_M = sp.Symbol("D_M", positive=True)  #: delay factor of the staleness term (exact form unknown)

MEANINGS = {
    "M": "number of pipeline stages",
    "B": "micro-batches per mini-batch (per synchronous update)",
    "b": "samples per micro-batch",
    "n": "number of micro-batches streamed through the asynchronous pipeline",
    "a_1": "constant of the noise term of the async bound (unknown; a_1 = 2 reproduces Analog SGD)",
    "a_2": "constant of the staleness term of the async bound (unknown)",
    "a_3": "constant of the asymptotic-error term of the async bound (unknown)",
    "L_s": "Lipschitz constant of the stale-gradient map in its stale arguments",
    "G": "bound on the stochastic gradient, E||g||^2 <= G^2",
    "D_M": "delay factor of the staleness term: sum_m d_m^2/M, (M-1)^2 or M-1 (exact form unknown)",
}

c_rho = 1 - rho**2
#: stands for c_rho = 1 - (W_max/tau)^2 while solving (a positive symbol keeps sympy's solve fast)
_c = sp.Symbol("c_rho", positive=True)
AVG_GRAD = r"\frac{1}{K}\sum_{k<K} E\|\nabla f(W_k)\|^2"
_FIG1 = "arXiv 2410.15155 Fig. 1 (syn-asyn.pdf on the first author's homepage), spec pipeline_training.md 3.3"
_TIMING = "timing law t_F = (m-1) + 2j, t_B = (2M-m) + 2j read from " + _FIG1
_RECON = (
    "arXiv 2410.15155 v2/v3 abstract: Analog-SGD-AP needs O(eps^-2 + eps^-1) iterations; theorem body "
    "not recovered (spec pipeline_training.md 5, T2)"
)


def t_fwd(stage: sp.Expr, micro: sp.Expr, stages: sp.Expr = M) -> sp.Expr:
    """Cycle of the forward pass of micro-batch ``micro`` at ``stage`` (pipelined schedules)."""
    return (stage - 1) + 2 * micro


def t_bwd(stage: sp.Expr, micro: sp.Expr, stages: sp.Expr = M) -> sp.Expr:
    """Cycle of the backward pass of micro-batch ``micro`` at ``stage`` (pipelined schedules)."""
    return (2 * stages - stage) + 2 * micro


def delay_factor(stages: int, form: str = "sum_sq") -> float:
    r"""Numeric delay factor :math:`D_M` for the staleness term, from the delays :math:`d_m = M - m`.

    ``form``: ``"sum_sq"`` (:math:`\sum_m d_m^2 / M`, the per-stage average), ``"max_sq"``
    (:math:`(M-1)^2`, the naive bound), ``"linear"`` (:math:`M - 1`, refined analyses).
    """
    if int(stages) != stages or stages < 1:
        raise ValueError(f"stages must be a positive integer, got {stages!r}")
    d = [stages - k for k in range(1, int(stages) + 1)]
    if form == "sum_sq":
        return sum(x * x for x in d) / stages
    if form == "max_sq":
        return float((stages - 1) ** 2)
    if form == "linear":
        return float(stages - 1)
    raise ValueError(f"form must be 'sum_sq', 'max_sq' or 'linear', got {form!r}")


# --- cycles, density, speedup -----------------------------------------------------------------------


def cycles_sync() -> sp.Expr:
    """Span of one synchronous mini-batch: last backward (stage 1, micro-batch B-1) + 1."""
    return sp.expand(t_bwd(1, B - 1) + 1)


def cycles_async() -> sp.Expr:
    """Cycles for n micro-batches streamed: last backward (stage 1, micro-batch n-1) + 1."""
    return sp.expand(t_bwd(1, n - 1) + 1)


def cycles_none() -> sp.Expr:
    """No pipeline: a micro-batch passes forward through M stages and back, 2M cycles; B per update."""
    per_micro = sp.expand(t_bwd(1, 0) + 1)  # one micro-batch alone in the pipe
    return per_micro * B


def _eq(
    id_: str,
    title: str,
    lhs: str,
    expr: sp.Expr,
    source: str,
    status: Status = "derived",
    notes: str = "",
    assumptions: tuple = (),
) -> Bound:
    return Bound(
        id=id_,
        title=title,
        lhs=lhs,
        expr=expr,
        relation="=",
        assumptions=assumptions,
        provenance=Provenance(source, status, notes),
        meanings=MEANINGS,
    )


@register("pipeline.cycles.none", title="no pipeline: 2 M B K clock cycles for K mini-batches", kind="bound")
def _c_none() -> Bound:
    return _eq(
        "pipeline.cycles.none",
        "no pipeline: 2 M B K clock cycles for K mini-batches",
        "C_{none}",
        cycles_none() * K,
        _FIG1 + "; one micro-batch in flight, 2M cycles each",
    )


@register("pipeline.cycles.sync", title="synchronous pipeline: 2 (B + M - 1) K clock cycles", kind="bound")
def _c_sync() -> Bound:
    return _eq(
        "pipeline.cycles.sync",
        "synchronous pipeline: 2 (B + M - 1) K clock cycles",
        "C_{SP}",
        cycles_sync() * K,
        _TIMING + "; span = t_B(1, B-1) + 1 per mini-batch, flush in between",
    )


@register(
    "pipeline.cycles.async",
    title="asynchronous pipeline: 2 n + 2 (M - 1) cycles for n micro-batches",
    kind="bound",
)
def _c_async() -> Bound:
    return _eq(
        "pipeline.cycles.async",
        "asynchronous pipeline: 2 n + 2 (M - 1) cycles for n micro-batches",
        "C_{AP}",
        cycles_async(),
        _TIMING + "; span = t_B(1, n-1) + 1",
    )


@register("pipeline.density.sync", title="synchronous density B/(B+M-1)", kind="derivation")
def _d_sync() -> Derivation:
    busy = 2 * B * M  # each of B micro-batches: one F and one B at each of M stages
    return Derivation(
        "pipeline.density.sync",
        "synchronous density B/(B+M-1)",
        derived=sp.simplify(busy / (M * cycles_sync())),
        expected=B / (B + M - 1),
        steps=("busy stage-cycles 2BM", "all stage-cycles M * 2(B+M-1)"),
        provenance=Provenance(_TIMING, "derived", "M=4, B=5: 5/8 as in Fig. 1"),
    )


@register("pipeline.density.async", title="asynchronous density n/(n+M-1)", kind="derivation")
def _d_async() -> Derivation:
    return Derivation(
        "pipeline.density.async",
        "asynchronous density n/(n+M-1)",
        derived=sp.simplify(2 * n * M / (M * cycles_async())),
        expected=n / (n + M - 1),
        steps=("busy 2nM", "all M (2n + 2(M-1))"),
        provenance=Provenance(_TIMING, "derived"),
    )


@register("pipeline.density.async_limit", title="asynchronous density -> 1 (no bubble)", kind="derivation")
def _d_async_lim() -> Derivation:
    return Derivation(
        "pipeline.density.async_limit",
        "asynchronous density -> 1 (no bubble)",
        derived=sp.limit(2 * n * M / (M * cycles_async()), n, sp.oo),
        expected=sp.Integer(1),
        steps=("limit n -> oo",),
        provenance=Provenance(_TIMING, "derived"),
    )


@register("pipeline.speedup.sync", title="synchronous speedup over no pipeline: M B/(B+M-1)", kind="bound")
def _s_sync() -> Bound:
    expr = sp.simplify(cycles_none() / cycles_sync())
    return _eq(
        "pipeline.speedup.sync",
        "synchronous speedup over no pipeline: M B/(B+M-1)",
        r"C_{none}/C_{SP}",
        expr,
        _TIMING + "; same iterates, so cycles to any target scale alike",
        notes="B = 8: 1.778, 2.909, 4.267, 5.053, 5.565 at M = 2, 4, 8, 12, 16 (paper's bars, spec 6.2)",
    )


@register(
    "pipeline.speedup.async", title="asynchronous throughput speedup 2MBK/(2BK + 2(M-1)) -> M", kind="bound"
)
def _s_async() -> Bound:
    expr = sp.simplify(cycles_none() * K / cycles_async().subs(n, B * K))
    lim = sp.limit(expr, K, sp.oo)
    if sp.simplify(lim - M) != 0:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"async speedup limit {lim} != M")
    return _eq(
        "pipeline.speedup.async",
        "asynchronous throughput speedup 2MBK/(2BK + 2(M-1)) -> M",
        r"C_{none}/C_{AP}\ (\text{same micro-batches})",
        expr,
        _TIMING,
        notes=f"limit K -> oo: {lim} (throughput only; staleness may cost extra samples)",
    )


@register(
    "pipeline.delay",
    title="async pipeline: stage m's forward weights are d_m = M - m updates old",
    kind="derivation",
)
def _delay() -> Derivation:
    jp = sp.Symbol("jp", integer=True)
    # updates of stage m between F(m, j) and B(m, j): backward passes B(m, j') with
    # t_F(m, j) < t_B(m, j') and j' < j (an update follows every backward)
    ineq = sp.solve(sp.Gt(t_bwd(m, jp), t_fwd(m, j)), jp)
    if ineq.rel_op != ">" or ineq.lhs != jp:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"unexpected solution {ineq}")
    lowest = sp.floor(ineq.rhs) + 1  # smallest integer j' > rhs
    count = sp.simplify(j - lowest)
    return Derivation(
        "pipeline.delay",
        "async pipeline: stage m's forward weights are d_m = M - m updates old",
        derived=count,
        expected=M - m,
        steps=(
            "t_B(m, j') > t_F(m, j)  <=>  j' > j - (M - m) - 1/2",
            "count of integers j' in that range below j",
        ),
        provenance=Provenance(_TIMING, "derived", "steady state; in the warm-up (j < M - m) the delay is j"),
    )


# --- convergence ---------------------------------------------------------------------------------------

_SAT = Assumption("saturation", W_max < tau, "bounded saturation: max_k ||W_k||_inf < tau")
_DELAY_CAP = Assumption("delay_cap", alpha * L * M <= 1, "alpha <= 1/(L (1 + (M-1)))")


def sync_rate() -> sp.Expr:
    """Analog SGD (2024 Thm 2 as restated in 2502.06309) with per-update batch B b."""
    sig2 = sigma**2 / (B * b)
    return 4 / c_rho * sp.sqrt(Delta_0 * sig2 * L / K) + 2 * sig2 * S_K


def async_rate() -> sp.Expr:
    """Reconstructed template for the async pipeline at step size alpha (constants symbolic)."""
    return (
        2 * Delta_0 / (c_rho * alpha * K)
        + a1 * alpha * L * sigma**2 / (b * c_rho)
        + a2 * alpha**2 * L_s**2 * G_bound**2 * D_M / c_rho
        + a3 * sigma**2 / b * S_K
    )


def _positive_point(expr: sp.Expr) -> dict:
    """A point with every symbol positive (to pick the positive branch of a root)."""
    return {x: sp.Rational(3, 7) + i for i, x in enumerate(sorted(expr.free_symbols, key=str))}


@functools.cache
def async_step() -> sp.Expr:
    """Step size balancing the first two terms: sqrt(2 Delta_0 b / (a_1 L sigma^2 K))."""
    two_terms = async_rate() - a2 * alpha**2 * L_s**2 * G_bound**2 * D_M / c_rho - a3 * sigma**2 / b * S_K
    crit = sp.solve(sp.diff(two_terms, alpha), alpha)
    pos = [r for r in crit if float(r.subs(_positive_point(r))) > 0]
    if len(pos) != 1:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"expected one positive critical step, got {crit}")
    return sp.simplify(pos[0])


@functools.cache
def async_rate_balanced() -> sp.Expr:
    return async_rate().subs(alpha, async_step())


def _floor_free(expr: sp.Expr) -> sp.Expr:
    return expr.subs(S_K, 0)


@register("pipeline.sync.rate", title="synchronous pipeline = Analog SGD with batch B b", kind="bound")
def _sync_rate() -> Bound:
    return Bound(
        id="pipeline.sync.rate",
        title="synchronous pipeline = Analog SGD with batch B b",
        lhs=AVG_GRAD,
        expr=sync_rate(),
        relation="<=",
        assumptions=(_SAT,),
        provenance=Provenance(
            "arXiv 2406.12774 Thm 2 (restated in 2502.06309 Remark 1) with sigma^2 -> "
            "sigma^2/(B b); sync iterates = mini-batch Analog SGD (spec T1)",
            "reconstructed",
            "exact statement of 2410.15155 not recovered; the identity of the iterates is "
            "checked bitwise by pipeline.sync_equals_minibatch",
        ),
        meanings=MEANINGS,
    )


@register(
    "pipeline.async.rate", title="async pipeline (Analog-SGD-AP) template with staleness term", kind="bound"
)
def _async_rate() -> Bound:
    return Bound(
        id="pipeline.async.rate",
        title="async pipeline (Analog-SGD-AP) template with staleness term",
        lhs=AVG_GRAD,
        expr=async_rate(),
        relation="<=",
        assumptions=(_SAT, _DELAY_CAP),
        provenance=Provenance(
            _RECON,
            "reconstructed",
            "Template of a delayed-gradient + analog-drift proof: 2 Delta/(c alpha K) + "
            "a1 alpha L sigma^2/(b c) + a2 alpha^2 L_s^2 G^2 D_M/c + a3 sigma^2 S_K/b. "
            "a1, a2, "
            "a3, L_s, G, D_M are symbols: the paper's constants are unknown.",
        ),
        meanings=MEANINGS,
    )


_BAL_TITLE = "async template at alpha = sqrt(2 Delta_0 b/(a_1 L sigma^2 K))"


@functools.cache
def delay_cap_iterations() -> sp.Expr:
    """Smallest K at which the balanced async step obeys the delay cap alpha <= 1/(L M).

    The balanced step shrinks like 1/sqrt(K), so the cap is a K requirement that grows with the
    depth (M^2) and does not depend on eps.
    """
    sols = [r for r in sp.solve(sp.Eq(async_step() * L * M, 1), K) if r.is_positive is not False]
    if len(sols) != 1:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"expected one K where the balanced step hits 1/(L M), got {sols}")
    return sp.simplify(sols[0])


@register("pipeline.async.rate_balanced", title=_BAL_TITLE, kind="bound")
def _async_bal() -> Bound:
    return Bound(
        id="pipeline.async.rate_balanced",
        title=_BAL_TITLE,
        lhs=AVG_GRAD,
        expr=async_rate_balanced(),
        relation="<=",
        assumptions=(
            _SAT,
            Assumption("delay_cap", async_step() * L * M <= 1,
                       f"the balanced step obeys the template's delay cap alpha <= 1/(L M), i.e."
                       f" K >= {delay_cap_iterations()} (pipeline.async.delay_cap_iterations)"),
        ),
        provenance=Provenance(
            _RECON, "reconstructed",
            f"alpha = {async_step()}: O(1/sqrt K) + D_M O(1/K). The template (pipeline.async.rate)"
            " holds only for alpha <= 1/(L M); the balanced step obeys it once"
            f" K >= {delay_cap_iterations()}, a depth-dependent, eps-independent requirement.",
        ),
        meanings=MEANINGS,
    )


@register(
    "pipeline.async.delay_cap_iterations",
    title="async: the balanced step obeys alpha <= 1/(L M) iff K >= 2 Delta_0 b L M^2/(a_1 sigma^2)",
    kind="bound",
)
def _delay_cap_k() -> Bound:
    return Bound(
        id="pipeline.async.delay_cap_iterations",
        title="async: the balanced step obeys alpha <= 1/(L M) iff K >= 2 Delta_0 b L M^2/(a_1 sigma^2)",
        lhs="K",
        expr=delay_cap_iterations(),
        relation=">=",
        assumptions=(),
        provenance=Provenance(
            _RECON, "derived",
            "solve sqrt(2 Delta_0 b/(a_1 L sigma^2 K)) L M = 1 for K. Independent of eps, so the"
            " iteration complexity of the template is max(K(eps), this): it changes no eps^-2 or"
            " eps^-1 coefficient (pipeline.async.eps2_coefficient, eps1_coefficient) and no eps -> 0"
            " limit (pipeline.almost_free.*), but dominates at moderate eps for deep pipelines.",
        ),
        meanings=MEANINGS,
    )


@functools.cache
def sync_complexity() -> sp.Expr:
    return iteration_complexity(_floor_free(sync_rate()))


@functools.cache
def async_complexity() -> sp.Expr:
    """K(eps) solving the balanced async template = eps (floor excluded).

    The bound is quadratic in 1/sqrt(K), so ``solve`` returns two positive-looking branches; the
    valid one is the larger (the other has a negative sqrt(K)). ``iteration_complexity`` returns
    their Max; the branch is picked here by evaluating at a positive point, so that limits work.
    """
    rate = _floor_free(async_rate_balanced()).subs(c_rho, _c)
    sols = sp.solve(sp.Eq(rate, epsilon), K)
    point = {x: v for x, v in _positive_point(rate + epsilon).items() if x != K}
    best = max(sols, key=lambda r: float(r.subs(point)))
    residual = float((rate - epsilon).subs(K, best).subs(point))
    if abs(residual) > 1e-9:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"the chosen root does not solve bound = eps (residual {residual})")
    return sp.simplify(best).subs(_c, c_rho)


@register(
    "pipeline.sync.iteration_complexity",
    title="sync: K(eps) = 16 Delta_0 L sigma^2/(B b c^2 eps^2)",
    kind="derivation",
)
def _k_sync() -> Derivation:
    return Derivation(
        "pipeline.sync.iteration_complexity",
        "sync: K(eps) = 16 Delta_0 L sigma^2/(B b c^2 eps^2)",
        derived=sync_complexity(),
        expected=16 * Delta_0 * L * sigma**2 / (B * b * c_rho**2 * epsilon**2),
        steps=("solve (4/c) sqrt(Delta sigma^2 L/(B b K)) = eps for K (eps above the floor)",),
        provenance=Provenance("pipeline.sync.rate", "derived"),
    )


@register(
    "pipeline.async.eps2_coefficient",
    title="async: eps^-2 term of K(eps) is 8 a_1 Delta_0 L sigma^2/(b c^2 eps^2) (sync: a_1=2, B=1)",
    kind="derivation",
)
def _k_async_lead() -> Derivation:
    return Derivation(
        "pipeline.async.eps2_coefficient",
        "async: eps^-2 term of K(eps) is 8 a_1 Delta_0 L sigma^2/(b c^2 eps^2) (sync: a_1=2, B=1)",
        derived=leading_order(async_complexity()),
        expected=8 * a1 * Delta_0 * L * sigma**2 / (b * c_rho**2 * epsilon**2),
        steps=(
            "set S_K = 0 (no asymptotic error: eps is the distance above the floor a_3 sigma^2 S_K/b)",
            "solve pipeline.async.rate_balanced = eps for K (largest root)",
            "series eps -> 0, leading term",
        ),
        provenance=Provenance(
            _RECON, "derived", "independent of D_M: staleness does not touch the eps^-2 term. Taken"
            " at S_K = 0; with S_K > 0 read eps as eps - a_3 sigma^2 S_K/b. The delay cap adds the"
            " eps-independent requirement K >= pipeline.async.delay_cap_iterations, which does not"
            " change this coefficient."
        ),
    )


@functools.cache
def async_eps1_coefficient() -> sp.Expr:
    k_eps = async_complexity()
    return sp.simplify(sp.limit((k_eps - leading_order(k_eps)) * epsilon, epsilon, 0))


@register(
    "pipeline.async.eps1_coefficient",
    title="async: eps^-1 coefficient of K(eps) = 4 a_2 D_M L_s^2 G^2 Delta_0 b/(a_1 c L sigma^2)",
    kind="derivation",
)
def _k_async_next() -> Derivation:
    return Derivation(
        "pipeline.async.eps1_coefficient",
        "async: eps^-1 coefficient of K(eps) = 4 a_2 D_M L_s^2 G^2 Delta_0 b/(a_1 c L sigma^2)",
        derived=async_eps1_coefficient(),
        expected=4 * a2 * D_M * L_s**2 * G_bound**2 * Delta_0 * b / (a1 * c_rho * L * sigma**2),
        steps=("S_K = 0 as in pipeline.async.eps2_coefficient",
               "limit eps -> 0 of eps (K(eps) - eps^-2 term)"),
        provenance=Provenance(_RECON, "derived", "proportional to D_M: grows with the pipeline depth."
                              " Taken at S_K = 0, without the eps-independent delay-cap requirement"
                              " (pipeline.async.delay_cap_iterations)."),
    )


def _ratio_limit(num: sp.Expr, den: sp.Expr) -> sp.Expr:
    """lim_{eps->0} num/den for two quantities ~ eps^-2: the ratio of lim eps^2 num and lim eps^2 den."""
    top, bottom = sp.limit(epsilon**2 * num, epsilon, 0), sp.limit(epsilon**2 * den, epsilon, 0)
    if {top, bottom} & {sp.S.Zero, sp.oo, -sp.oo, sp.zoo}:  # pragma: no cover - sympy sanity
        raise RuntimeError(f"limits {top}, {bottom} are not both finite and non-zero")
    return sp.simplify(top / bottom)


def samples_ratio_limit() -> sp.Expr:
    """lim N_AP/N_SP with N_AP = b K_AP, N_SP = B b K_SP (a_1 = 2)."""
    return _ratio_limit((b * async_complexity()).subs(a1, 2), B * b * sync_complexity())


def cycles_ratio_limit() -> sp.Expr:
    """lim C_SP/C_AP with C_SP = 2(B+M-1) K_SP, C_AP = 2 K_AP + 2(M-1) (a_1 = 2)."""
    c_ap = cycles_async().subs(n, async_complexity()).subs(a1, 2)
    return _ratio_limit(cycles_sync() * sync_complexity(), c_ap)


@register(
    "pipeline.almost_free.samples", title="samples to eps: async/sync -> 1 as eps -> 0", kind="derivation"
)
def _free_samples() -> Derivation:
    return Derivation(
        "pipeline.almost_free.samples",
        "samples to eps: async/sync -> 1 as eps -> 0",
        derived=samples_ratio_limit(),
        expected=sp.Integer(1),
        steps=("N = b K_AP vs B b K_SP, a_1 = 2", "limit eps -> 0"),
        provenance=Provenance(_RECON, "derived"),
    )


@register(
    "pipeline.almost_free.cycles",
    title="clock cycles to eps: sync/async -> (B+M-1)/B as eps -> 0",
    kind="derivation",
)
def _free_cycles() -> Derivation:
    return Derivation(
        "pipeline.almost_free.cycles",
        "clock cycles to eps: sync/async -> (B+M-1)/B as eps -> 0",
        derived=cycles_ratio_limit(),
        expected=(B + M - 1) / B,
        steps=("C_SP = 2(B+M-1) K_SP, C_AP = 2 K_AP + 2(M-1)", "limit eps -> 0"),
        provenance=Provenance(_RECON, "derived"),
    )
