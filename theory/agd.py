r"""Noiseless Analog GD converges exactly (arXiv 2502.06309 Thm 6; soft-bounds case).

With :math:`\sigma = 0` and :math:`\alpha = 1/L`, coordinate :math:`d` moves by
:math:`-\alpha\,\nabla_d f\, q_d` with :math:`q_d = 1 + \mathrm{sign}(\nabla_d f) G_d`, and the
descent lemma gives :math:`f(W') \le f(W) - \frac{1}{L}\sum_d \nabla_d f^2 (q_d - q_d^2/2)
= f(W) - \frac{1}{2L}\|\nabla f\|^2_{M(W)}`, because :math:`q - q^2/2 = (1 - G^2)/2` for
:math:`q = 1 \pm G`. Telescoping: :math:`\frac1K\sum_k\|\nabla f(W_k)\|^2 \le
\frac{2L\Delta_0}{K(1 - W_{\max}^2/\tau^2)}`.
"""

from __future__ import annotations

import sympy as sp

from ._core import Assumption, Bound, Derivation, Provenance, register
from .calculus import telescope
from .sgd import AVG_GRAD
from .symbols import L, W_max, tau

_G = sp.Symbol("G_d", real=True)


@register(
    "agd.descent_identity",
    title="Analog GD at alpha = 1/L: q - q^2/2 = (1 - G^2)/2 for q = 1 +- G",
    kind="derivation",
)
def _identity() -> Derivation:
    q = sp.Symbol("q", positive=True)
    per = q - q**2 / 2
    return Derivation(
        id="agd.descent_identity",
        title="Analog GD at alpha = 1/L: q - q^2/2 = (1 - G^2)/2 for q = 1 +- G",
        derived=sp.Matrix([per.subs(q, 1 + _G), per.subs(q, 1 - _G)]),
        expected=sp.Matrix([(1 - _G**2) / 2, (1 - _G**2) / 2]),
        steps=(
            "increment of coordinate d: -alpha grad_d q_d, q_d = 1 + sign(grad_d) G_d",
            "descent lemma: f(W') - f(W) <= -alpha sum_d grad_d^2 q_d (1 - alpha L q_d / 2)",
            "alpha = 1/L: -(1/L) sum_d grad_d^2 (q_d - q_d^2/2) = -(1/(2L)) ||grad||_M^2",
        ),
        provenance=Provenance("arXiv 2502.06309 Thm 6 (soft-bounds case derived here)", "derived"),
    )


@register(
    "agd.noiseless.ald",
    title="noiseless Analog GD (soft bounds, alpha = 1/L): avg ||grad f||^2 <= 2 L Delta_0"
    " / (K (1 - W_max^2/tau^2))",
    kind="bound",
)
def _bound() -> Bound:
    rate_M = telescope(1 / (2 * L), sp.Integer(0))
    return Bound(
        id="agd.noiseless.ald",
        title="noiseless Analog GD (soft bounds, alpha = 1/L): avg ||grad f||^2 <= 2 L Delta_0"
        " / (K (1 - W_max^2/tau^2))",
        lhs=AVG_GRAD,
        expr=rate_M / (1 - W_max**2 / tau**2),
        relation="<=",
        assumptions=(
            Assumption("saturation", W_max < tau, "max_k ||W_k||_inf < tau"),
        ),
        provenance=Provenance(
            "arXiv 2502.06309 Thm 6 (the 2024 analogue is not recovered); derived here from"
            " agd.descent_identity with alpha = 1/L",
            "derived",
            "Exact convergence: no asymptotic-error term.",
        ),
    )

