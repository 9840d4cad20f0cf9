r"""Tiki-Taka (two analog arrays) as analyzed in arXiv 2406.12774 Thm 4.

Only the rate's form is known (restated in arXiv 2502.06309 App. B): no asymptotic error, and a
saturation factor :math:`1/(1 - 33 P_{\max}^2/\tau^2)`. The constant in front is not recovered;
it is the parameter ``C_TT``.
"""

from __future__ import annotations

import sympy as sp

from ._core import Assumption, Bound, Provenance, register
from .sgd import AVG_GRAD
from .symbols import Delta0, K, L, P_max, sigma, tau

C_TT = sp.Symbol("C_TT", positive=True)
c_noise = sp.Symbol("c_noise", positive=True)


@register(
    "tt.rate",
    title="Tiki-Taka (2024 Thm 4): avg E||grad f||^2 <= C_TT/(1 - 33 P_max^2/tau^2)"
    " sqrt(Delta_0 sigma^2 L/K), no floor",
    kind="bound",
)
def _tt_rate() -> Bound:
    return Bound(
        id="tt.rate",
        title="Tiki-Taka (2024 Thm 4): avg E||grad f||^2 <= C_TT/(1 - 33 P_max^2/tau^2)"
        " sqrt(Delta_0 sigma^2 L/K), no floor",
        lhs=AVG_GRAD,
        expr=C_TT / (1 - 33 * P_max**2 / tau**2) * sp.sqrt(Delta0 * sigma**2 * L / K),
        relation="<=",
        assumptions=(
            Assumption("p_saturation", P_max < tau / sp.sqrt(33), "P_max < tau / sqrt(33)"),
            Assumption("noise_floor", c_noise > 0, "E|[grad f(W; xi)]_d| >= c_noise sigma"),
        ),
        provenance=Provenance(
            "arXiv 2406.12774 Thm 4, restated in arXiv 2502.06309 App. B",
            "reconstructed",
            "Only the O(.) form is known: C_TT (and its dependence on c_noise, tau, D) and the"
            " exact beta/alpha relation were not recovered.",
        ),
        meanings={"C_TT": "unrecovered constant of the 2024 Tiki-Taka rate",
                  "c_noise": "non-vanishing noise constant (assumption A5)"},
    )
