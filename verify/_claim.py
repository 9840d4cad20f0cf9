"""Claims, their checks and evidence, and the claim registry.

A :class:`Claim` pairs a theory statement with a simulator measurement. Running it produces
:class:`Evidence`: a list of :class:`Check` objects, each with the bound or prediction, the
measurement with its standard error, the tolerance actually used and why, and a verdict. Every
claim also runs as its **negative control** (``control=True``): a perturbed setting in which it
must fail, so that no claim can pass vacuously.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from .stats import Estimate, LinearFit, Z

Mode = Literal["quick", "full"]
MODES: tuple[str, ...] = ("quick", "full")


@dataclass(frozen=True)
class Check:
    """One comparison of a measurement with a bound or prediction.

    ``passed`` is ``None`` when the comparison does not apply (an assumption of the bound is
    violated by the measured trajectory); that never counts as a pass.
    """

    name: str
    relation: str
    predicted: float
    measured: float
    se: float
    tolerance: float
    reason: str
    passed: bool | None
    tightness: float | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = str(v)
        return d


def _est(measured: Estimate | float) -> tuple[float, float]:
    if isinstance(measured, Estimate):
        return measured.mean, measured.se
    return float(measured), 0.0


def upper(name: str, measured: Estimate | float, bound: float, reason: str = "") -> Check:
    """Bound holds: the measurement's upper confidence limit ``mean + Z se`` is ``<= bound``."""
    m, se = _est(measured)
    tol = Z * se
    why = reason or f"{Z:g} standard errors over the runs (upper confidence limit <= bound)"
    return Check(name, "<=", float(bound), m, se, tol, why, bool(m + tol <= bound),
                 m / bound if bound > 0 else None)


def lower(name: str, measured: Estimate | float, bound: float, reason: str = "") -> Check:
    """Lower bound holds: ``mean - Z se >= bound``."""
    m, se = _est(measured)
    tol = Z * se
    why = reason or f"{Z:g} standard errors over the runs (lower confidence limit >= bound)"
    return Check(name, ">=", float(bound), m, se, tol, why, bool(m - tol >= bound),
                 m / bound if bound > 0 else None)


def close(
    name: str,
    measured: Estimate | float,
    predicted: float,
    model_tol: float = 0.0,
    reason: str = "",
) -> Check:
    """Agreement: ``|mean - predicted| <= Z se + model_tol`` (``model_tol`` named in ``reason``)."""
    m, se = _est(measured)
    tol = Z * se + model_tol
    why = reason or f"{Z:g} standard errors over the runs"
    return Check(name, "≈", float(predicted), m, se, tol, why, bool(abs(m - predicted) <= tol),
                 m / predicted if predicted != 0 else None)


def slope(name: str, fit: LinearFit, predicted: float, model_tol: float = 0.0,
          reason: str = "") -> Check:
    """Fitted slope agrees with the predicted exponent: ``|b - b0| <= Z se_b + model_tol``."""
    tol = Z * fit.se_slope + model_tol
    why = reason or f"{Z:g} standard errors of the weighted fit"
    return Check(name, "slope≈", float(predicted), fit.slope, fit.se_slope, tol, why,
                 bool(abs(fit.slope - predicted) <= tol))


def exact(name: str, measured: float, predicted: float, *, reason: str, rtol: float = 0.0,
          atol: float = 0.0) -> Check:
    """Deterministic agreement: ``|measured - predicted| <= atol + rtol max(|.|)`` (rounding,
    solver accuracy; say which in ``reason``)."""
    tol = atol + rtol * max(abs(predicted), abs(measured))
    return Check(name, "=", float(predicted), float(measured), 0.0, tol, reason,
                 bool(abs(measured - predicted) <= tol))


def holds(name: str, ok: bool, reason: str, measured: float = float("nan"),
          predicted: float = float("nan")) -> Check:
    """A deterministic yes/no fact (e.g. a sympy identity re-derived)."""
    return Check(name, "is", predicted, measured, 0.0, 0.0, reason, bool(ok))


def not_applicable(name: str, reason: str, measured: float = float("nan"),
                   predicted: float = float("nan")) -> Check:
    """A comparison skipped because an assumption is violated (never a pass)."""
    return Check(name, "n/a", predicted, measured, 0.0, 0.0, reason, None)


def violated_assumptions(statement: object, **values: object) -> list[str]:
    """Names of the theory ``statement``'s assumptions that fail on ``values``.

    ``statement`` is a ``theory`` Bound or Derivation; its :meth:`check_assumptions` checks the
    values against the symbols' domains and each assumption's condition. Assumptions that need a
    value not given are not counted as violated (they are unchecked). A claim that evaluates a
    bound at these values reports :func:`not_applicable` when this list is non-empty.
    """
    return [c.name for c in statement.check_assumptions(**values).violated]  # type: ignore[attr-defined]


Verdict = Literal["pass", "fail", "n/a", "error"]
#: Verdict of a claim together with its negative control (:func:`row_verdict`): ``broken`` means the
#: claim's checks hold but its control does not fail, i.e. the checks have lost their power.
RowVerdict = Literal["pass", "fail", "n/a", "error", "broken"]


def verdict_of(checks: list[Check]) -> Verdict:
    if not checks:
        return "n/a"
    if any(c.passed is False for c in checks):
        return "fail"
    if all(c.passed is None for c in checks):
        return "n/a"
    return "pass"


@dataclass
class Evidence:
    """The outcome of running a claim once."""

    claim_id: str
    title: str
    mode: str
    control: bool
    checks: list[Check]
    elapsed: float
    details: dict = field(default_factory=dict)
    #: one-line summary ``Type: message`` of the exception that stopped the claim, else ``None``
    error: str | None = None

    @property
    def verdict(self) -> Verdict:
        return "error" if self.error is not None else verdict_of(self.checks)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def headline(self) -> Check | None:
        """The check that best summarizes the claim (first failing, else first applicable)."""
        for c in self.checks:
            if c.passed is False:
                return c
        numeric = [c for c in self.checks if c.relation != "is"]
        for c in numeric or self.checks:
            if c.passed is not None:
                return c
        return self.checks[0] if self.checks else None

    def as_dict(self) -> dict:
        head = self.headline()
        return {
            "id": self.claim_id,
            "title": self.title,
            "mode": self.mode,
            "control": self.control,
            "verdict": self.verdict,
            "error": self.error,
            "elapsed_s": round(self.elapsed, 3),
            "bound": None if head is None else head.predicted,
            "measured": None if head is None else head.measured,
            "uncertainty": None if head is None else head.se,
            "checks": [c.as_dict() for c in self.checks],
            "details": {k: v for k, v in self.details.items() if _jsonable(v)},
        }


def _jsonable(v: object) -> bool:
    return isinstance(v, (str, int, float, bool, type(None), list, tuple, dict))


ClaimFn = Callable[[str, bool], "list[Check] | tuple[list[Check], dict]"]


@dataclass(frozen=True)
class Claim:
    """A checkable statement of a paper.

    Attributes
    ----------
    id
        Stable identifier, e.g. ``asgd.floor_alpha_independent``.
    title
        One line.
    statement
        What the paper says (in our words) and what is measured.
    reference
        Paper and figure/theorem; theory statement ids used.
    control
        The negative control: the perturbation under which the claim must fail.
    fn
        ``fn(mode, control) -> checks`` or ``(checks, details)``.
    """

    id: str
    title: str
    statement: str
    reference: str
    control: str
    fn: ClaimFn

    def run(self, mode: str = "quick", control: bool = False) -> Evidence:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        t0 = time.perf_counter()
        out = self.fn(mode, control)
        checks, details = out if isinstance(out, tuple) else (out, {})
        return Evidence(self.id, self.title, mode, control, list(checks),
                        time.perf_counter() - t0, details)

    def run_guarded(self, mode: str = "quick", control: bool = False) -> Evidence:
        """:meth:`run`, but an exception raised by the claim becomes the verdict ``error``.

        The returned :class:`Evidence` has no checks and ``error = "Type: message"`` (first line of
        the message). Only :class:`Exception` is caught: ``KeyboardInterrupt`` and ``SystemExit``
        still stop the run.
        """
        t0 = time.perf_counter()
        try:
            return self.run(mode, control)
        except Exception as err:  # any failure of one claim is reported, never fatal
            return Evidence(self.id, self.title, mode, control, [], time.perf_counter() - t0,
                            error=error_summary(err))


def error_summary(err: BaseException) -> str:
    """``"Type: first line of the message"`` (``"Type"`` alone when the message is empty)."""
    msg = str(err).strip().splitlines()
    return f"{type(err).__name__}: {msg[0]}" if msg else type(err).__name__


def row_verdict(ev: Evidence, ctl: Evidence | None) -> RowVerdict:
    """Verdict of a claim run together with its negative control (``ctl`` None: not run).

    ``error`` if either run raised; ``fail``/``n/a`` as the claim's checks say; ``broken`` if the
    claim holds but its control does not fail (a control that passes or is not applicable shows
    the checks cannot see the perturbation); else ``pass``.
    """
    if ev.error is not None:
        return "error"
    if ev.verdict != "pass":
        return ev.verdict
    if ctl is None:
        return "pass"
    if ctl.error is not None:
        return "error"
    return "pass" if ctl.verdict == "fail" else "broken"


_CLAIMS: dict[str, Claim] = {}


def claim(id: str, *, title: str, statement: str, reference: str,
          control: str) -> Callable[[ClaimFn], ClaimFn]:
    """Register ``fn(mode, control)`` as a claim."""

    def deco(fn: ClaimFn) -> ClaimFn:
        if id in _CLAIMS:
            raise ValueError(f"claim id {id!r} registered twice")
        _CLAIMS[id] = Claim(id, title, statement, reference, control, fn)
        return fn

    return deco


def all_claims() -> list[Claim]:
    from . import claims  # noqa: F401  (imports every claim module)

    return [_CLAIMS[i] for i in sorted(_CLAIMS)]


def get_claim(id: str) -> Claim:
    from . import claims  # noqa: F401

    try:
        return _CLAIMS[id]
    except KeyError:
        raise KeyError(f"no claim {id!r}; see `python -m verify list`") from None
