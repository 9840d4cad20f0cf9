"""Symbolic statements of the analog-training theory: devices, dynamics, bounds, complexities.

Every statement is registered under a stable id; ``python -m theory list`` shows them all.

>>> import theory
>>> b = theory.get("asgd.upper.ald")
>>> float(b.evaluate(Delta_0=1, sigma=0.1, L=1, K=10_000, W_max=0.5, tau=1, S_K=0.2))  # doctest: +ELLIPSIS
0.0093...

Domains and assumptions
-----------------------
Every symbol has a domain (:data:`theory.symbols.DOMAINS`: ``K`` an integer >= 1, ``tau`` a real
> 0, ``S_K`` a real >= 0, ...; NaN and infinities are never legal). ``evaluate`` checks its values
against them (elementwise for arrays) and raises ``ValueError`` naming the symbol, its domain and
the value. The conditions a statement needs beyond that are its assumptions, checkable on numbers:

>>> checks = b.check_assumptions(Delta_0=1, sigma=0.1, L=1, K=10_000, W_max=1.5, tau=1)
>>> [(c.name, c.holds) for c in checks]
[('paper_step', True), ('saturation', False)]
>>> checks["saturation"], [c.name for c in checks.violated]
(False, ['saturation'])

``holds`` is ``None`` when a value the condition needs is not given. A claim that measures a
statement reports it "not applicable" where an assumption fails (``checks.violated`` non-empty):
the statement says nothing there. ``python -m theory eval`` prints the same verdicts and exits 3
when one fails (exit codes in ``theory/__main__.py``).
"""

from . import (  # noqa: F401 (register)
    agd,
    asgd,
    certify,
    delay,
    devices,
    granularity,
    implicit,
    lower_bound,
    pipeline,
    pulses,
    sgd,
    tiki_taka,
)
from ._core import (
    Assumption,
    AssumptionCheck,
    AssumptionChecks,
    Bound,
    Derivation,
    Provenance,
    entries,
    get,
    ids,
    register,
)
from .symbols import DOMAINS, Domain, domain_of

__all__ = [
    "DOMAINS",
    "Assumption",
    "AssumptionCheck",
    "AssumptionChecks",
    "Bound",
    "Derivation",
    "Domain",
    "Provenance",
    "domain_of",
    "entries",
    "get",
    "ids",
    "register",
]
