r"""Digital SGD: the baseline rate, derived from the L-smooth descent lemma.

Per step, with :math:`\alpha L \le 1`,
:math:`E f(W_{k+1}) \le f(W_k) - \tfrac{\alpha}{2}\|\nabla f(W_k)\|^2 + \tfrac{L\alpha^2\sigma^2}{2}`,
which telescopes (:func:`theory.calculus.telescope`) to
:math:`\frac1K\sum_k E\|\nabla f(W_k)\|^2 \le \frac{2\Delta_0}{\alpha K} + \alpha L\sigma^2`.
"""

from __future__ import annotations

import sympy as sp

from ._core import Assumption, Bound, Derivation, Provenance, register
from .calculus import balance_step_size, iteration_complexity, leading_order, telescope
from .symbols import Delta_0, K, L, alpha, epsilon, sigma

AVG_GRAD = r"\frac{1}{K}\sum_{k<K} E\|\nabla f(W_k)\|^2"
_STEP_CAP = Assumption("step_cap", alpha * L <= 1, "alpha L <= 1 (descent lemma)")
_DESCENT = "L-smooth descent lemma + unbiased gradient with variance <= sigma^2"


def sgd_per_step() -> tuple[sp.Expr, sp.Expr]:
    """Coefficients ``(a, b)`` of the per-step inequality E f_{k+1} <= f_k - a||grad||^2 + b."""
    g2 = sp.Symbol("g2", nonnegative=True)  # ||grad f(W_k)||^2
    # E f(W') <= f - alpha <grad, E g> + (L alpha^2 / 2) E||g||^2, with E||g||^2 = g2 + sigma^2
    change = -alpha * g2 + L * alpha**2 / 2 * (g2 + sigma**2)
    coeff = -sp.expand(change).coeff(g2)  # = alpha (1 - alpha L / 2)
    a = alpha / 2
    # coeff - a = alpha (1 - alpha L)/2 >= 0 exactly when alpha L <= 1 (the assumption)
    if sp.simplify(coeff - a - alpha * (1 - alpha * L) / 2) != 0:  # pragma: no cover
        raise RuntimeError("descent coefficient is not alpha/2 + alpha (1 - alpha L)/2")
    b = sp.expand(change).coeff(g2, 0)
    return a, b


def sgd_rate_expr() -> sp.Expr:
    a, b = sgd_per_step()
    return telescope(a, b)


@register("sgd.rate", title="digital SGD: avg E||grad f||^2 <= 2 Delta_0/(alpha K) + alpha L sigma^2",
          kind="bound")
def _rate() -> Bound:
    return Bound(
        id="sgd.rate",
        title="digital SGD: avg E||grad f||^2 <= 2 Delta_0/(alpha K) + alpha L sigma^2",
        lhs=AVG_GRAD,
        expr=sgd_rate_expr(),
        relation="<=",
        assumptions=(_STEP_CAP,),
        provenance=Provenance(_DESCENT + "; telescoped with sympy", "derived"),
    )


@register("sgd.step_size", title="digital SGD: step size minimizing the rate bound", kind="derivation")
def _step() -> Derivation:
    best, _ = balance_step_size(sgd_rate_expr())
    return Derivation(
        id="sgd.step_size",
        title="digital SGD: step size minimizing the rate bound",
        derived=best,
        expected=sp.sqrt(2 * Delta_0 / (L * K * sigma**2)),
        steps=("d/d alpha [2 Delta_0/(alpha K) + alpha L sigma^2] = 0",),
        provenance=Provenance(_DESCENT, "derived"),
    )


@register("sgd.rate.balanced", title="digital SGD at the balanced step: 2 sqrt(2 Delta_0 L sigma^2/K)",
          kind="bound")
def _balanced() -> Bound:
    best, value = balance_step_size(sgd_rate_expr())
    return Bound(
        id="sgd.rate.balanced",
        title="digital SGD at the balanced step: 2 sqrt(2 Delta_0 L sigma^2/K)",
        lhs=AVG_GRAD,
        expr=value,
        relation="<=",
        assumptions=(
            Assumption("step_cap", best * L <= 1, "the balanced step obeys alpha L <= 1"),
        ),
        provenance=Provenance(_DESCENT + f"; alpha = {best}", "derived"),
    )


@register("sgd.rate.paper_step",
          title="digital SGD at alpha = sqrt(Delta_0/(sigma^2 L K)): 3 sqrt(Delta_0 sigma^2 L/K)",
          kind="bound")
def _paper_step() -> Bound:
    a_paper = sp.sqrt(Delta_0 / (sigma**2 * L * K))
    return Bound(
        id="sgd.rate.paper_step",
        title="digital SGD at alpha = sqrt(Delta_0/(sigma^2 L K)): 3 sqrt(Delta_0 sigma^2 L/K)",
        lhs=AVG_GRAD,
        expr=sp.simplify(sgd_rate_expr().subs(alpha, a_paper)),
        relation="<=",
        assumptions=(Assumption("step_cap", a_paper * L <= 1, "alpha L <= 1"),),
        provenance=Provenance(
            _DESCENT + "; step size of arXiv 2406.12774 Thm 2 (O(sqrt(Delta_0 sigma^2 L/K)))",
            "derived",
        ),
    )


def sgd_capped_rate() -> sp.Expr:
    """Bound with alpha = min(1/L, balanced step): 2 Delta_0 L / K + 2 sqrt(2 Delta_0 L sigma^2/K)."""
    _, value = balance_step_size(sgd_rate_expr())
    return 2 * Delta_0 * L / K + value


@register("sgd.iteration_complexity",
          title="digital SGD: K(eps) = O(Delta_0 L sigma^2/eps^2 + Delta_0 L/eps)", kind="bound")
def _complexity() -> Bound:
    k_eps = iteration_complexity(sgd_capped_rate())
    lead = leading_order(k_eps)
    if sp.simplify(lead - 8 * Delta_0 * L * sigma**2 / epsilon**2) != 0:  # pragma: no cover
        raise RuntimeError(f"unexpected leading order {lead}")
    return Bound(
        id="sgd.iteration_complexity",
        title="digital SGD: K(eps) = O(Delta_0 L sigma^2/eps^2 + Delta_0 L/eps)",
        lhs="K",
        expr=k_eps,
        relation=">=",
        assumptions=(),
        provenance=Provenance(
            "solve 2 Delta_0 L/K + 2 sqrt(2 Delta_0 L sigma^2/K) = eps for K (alpha = min(1/L,"
            f" balanced)); leading order {lead}",
            "derived",
        ),
    )
