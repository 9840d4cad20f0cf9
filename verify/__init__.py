"""Claims: each pairs a theory statement with a simulator measurement, with statistics and a
negative control. ``python -m verify list`` / ``python -m verify run --quick``.

Write your own claim with the same pieces the built-in ones use::

    from verify import Estimate, claim, mean_se, upper

    @claim("mylab.floor", title="...", statement="...", reference="...", control="...")
    def _(mode, control):
        ...
        return [upper("E_K <= bound", mean_se(per_run_values), bound)]

and run it with ``python -m verify run --module mylab.claims``, from an entry point of the group
``aimc_verify.claims``, or as pytest items (``pytest --aimc-claims=mylab.claims``).
"""

from typing import TYPE_CHECKING

from ._claim import (
    ENTRY_POINT_GROUP,
    MODES,
    Check,
    Claim,
    Evidence,
    all_claims,
    claim,
    claims_of,
    close,
    exact,
    get_claim,
    holds,
    load_entry_points,
    load_module,
    lower,
    not_applicable,
    row_verdict,
    slope,
    unregister,
    upper,
    violated_assumptions,
)
from .stats import Estimate, LinearFit, Z, loglog_slope, mean_se, mean_se_rows, weighted_linear_fit

__all__ = [
    "ENTRY_POINT_GROUP",
    "MODES",
    "BoundEvaluation",
    "Check",
    "Claim",
    "Estimate",
    "Evidence",
    "LinearFit",
    "ResponseDevice",
    "Z",
    "all_claims",
    "claim",
    "claims_of",
    "close",
    "device_from_response",
    "evaluate_bound",
    "exact",
    "get_claim",
    "holds",
    "load_entry_points",
    "load_module",
    "loglog_slope",
    "lower",
    "mean_se",
    "mean_se_rows",
    "not_applicable",
    "response_extremum",
    "row_verdict",
    "slope",
    "unregister",
    "upper",
    "violated_assumptions",
    "weighted_linear_fit",
]


if TYPE_CHECKING:
    from .binding import BoundEvaluation, evaluate_bound, response_extremum
    from .devices import ResponseDevice, device_from_response

#: names served lazily, so that ``import verify.stats`` (figures, notebooks) does not load sympy,
#: theory and sim through the bound binding and the device builder
_LAZY = {
    "BoundEvaluation": "binding", "evaluate_bound": "binding", "response_extremum": "binding",
    "ResponseDevice": "devices", "device_from_response": "devices",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

