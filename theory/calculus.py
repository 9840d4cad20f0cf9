r"""Generic symbolic steps shared by the convergence proofs.

* :func:`telescope` turns a per-step descent inequality into an averaged bound.
* :func:`balance_step_size` finds the step size that minimizes a bound and the value there.
* :func:`iteration_complexity` solves ``bound <= eps`` for the number of iterations.
* :func:`asymptotic_error` and :func:`rate_part` split a bound into what vanishes with K and what
  does not.

All results are sympy expressions derived on the spot, never typed in.
"""

from __future__ import annotations

import sympy as sp

from .symbols import Delta_0, K, alpha, epsilon


def _positive(expr: sp.Expr) -> bool:
    """Whether ``expr`` can be positive when every symbol in it is positive (drops spurious roots)."""
    return sp.posify(expr)[0].is_positive is not False


def telescope(a: sp.Expr, b: sp.Expr, Delta: sp.Expr = Delta_0, n: sp.Expr = K) -> sp.Expr:
    r"""Average bound from a per-step inequality.

    If :math:`E f_{k+1} \le E f_k - a\, E\|\nabla f_k\|^2 + b` for :math:`k < n` and :math:`f \ge f^*`,
    summing gives :math:`\frac1n \sum_k E\|\nabla f_k\|^2 \le \frac{\Delta}{a n} + \frac{b}{a}`.
    The symbolic sum below checks the telescoping with sympy.
    """
    k = sp.Symbol("k", integer=True, nonnegative=True)
    f = sp.Function("f")
    # sum_{k<n} (f_k - f_{k+1}) = f_0 - f_n <= Delta: sympy evaluates the telescoping sum.
    n_int = sp.Symbol("n", integer=True, positive=True)
    tele = sp.summation(f(k) - f(k + 1), (k, 0, n_int - 1))
    if sp.simplify(tele - (f(0) - f(n_int))) != 0:  # pragma: no cover - sympy sanity
        raise RuntimeError("telescoping sum did not simplify")
    return sp.simplify(Delta / (a * n) + b / a)


def balance_step_size(bound: sp.Expr, step: sp.Symbol = alpha) -> tuple[sp.Expr, sp.Expr]:
    """Minimizer of ``bound`` over ``step`` > 0 and the minimal value (via d/d step = 0)."""
    crit = [r for r in sp.solve(sp.diff(bound, step), step) if _positive(r)]
    if len(crit) != 1:
        raise ValueError(f"expected one positive critical step size, got {crit}")
    best = sp.simplify(crit[0])
    return best, sp.simplify(bound.subs(step, best))


def asymptotic_error(bound: sp.Expr, n: sp.Symbol = K) -> sp.Expr:
    """The part of ``bound`` that does not vanish as ``n`` -> oo (``limit``)."""
    return sp.simplify(sp.limit(bound, n, sp.oo))


def rate_part(bound: sp.Expr, n: sp.Symbol = K) -> sp.Expr:
    """``bound`` minus its asymptotic error: the part that vanishes with ``n``.

    Not simplified, so that a bound written as ``rate + floor`` keeps the form of its rate term.
    """
    return bound - asymptotic_error(bound, n)


def iteration_complexity(bound: sp.Expr, n: sp.Symbol = K, target: sp.Symbol = epsilon) -> sp.Expr:
    """Smallest ``n`` with ``bound(n) <= target``, solved symbolically.

    ``bound`` must decrease in ``n``; for a bound with an asymptotic error ``B`` the answer holds
    for ``target > B`` only.
    """
    sols = [r for r in sp.solve(sp.Eq(bound, target), n) if _positive(r)]
    if not sols:
        raise ValueError("bound = eps has no positive solution in the iteration count")
    # several branches can appear (e.g. squared forms); the relevant one is the largest
    return sp.simplify(sols[0]) if len(sols) == 1 else sp.simplify(sp.Max(*sols))


def leading_order(expr: sp.Expr, target: sp.Symbol = epsilon) -> sp.Expr:
    """Leading term of ``expr`` as ``target`` -> 0 (e.g. the eps^-2 coefficient of a complexity)."""
    return sp.simplify(sp.series(expr, target, 0, 1).removeO().as_leading_term(target))
