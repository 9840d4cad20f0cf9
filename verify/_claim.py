"""Claims, their checks and evidence, and the claim registry.

A :class:`Claim` pairs a theory statement with a simulator measurement. Running it produces
:class:`Evidence`: a list of :class:`Check` objects, each with the bound or prediction, the
measurement with its standard error, the tolerance actually used and why, and a verdict. Every
claim also runs as its **negative control** (``control=True``): a perturbed setting in which it
must fail, so that no claim can pass vacuously.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .config import Modes
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
    r"""Check an upper bound: passes iff the upper confidence limit :math:`m + Z\,\mathrm{se} \le b`.

    Parameters
    ----------
    name
        Short name of the check (shown in reports).
    measured
        An :class:`~verify.stats.Estimate` (mean and standard error over independent runs, e.g.
        from :func:`~verify.stats.mean_se`) or a plain number (standard error 0).
    bound
        The theory's value :math:`b`.
    reason
        Why the tolerance is what it is; default: ``Z`` standard errors over the runs.

    Returns
    -------
    Check
        Relation ``"<="``; ``tightness`` = measured / bound (when the bound is positive).

    Examples
    --------
    >>> from verify import Estimate, upper
    >>> upper("E_K <= bound", Estimate(0.8, 0.05, 64), 1.0).passed   # 0.8 + 3*0.05 <= 1
    True
    """
    m, se = _est(measured)
    tol = Z * se
    why = reason or f"{Z:g} standard errors over the runs (upper confidence limit <= bound)"
    return Check(name, "<=", float(bound), m, se, tol, why, bool(m + tol <= bound),
                 m / bound if bound > 0 else None)


def lower(name: str, measured: Estimate | float, bound: float, reason: str = "") -> Check:
    r"""Check a lower bound: passes iff the lower confidence limit :math:`m - Z\,\mathrm{se} \ge b`.

    Parameters
    ----------
    name, measured, bound, reason
        As in :func:`upper`.

    Returns
    -------
    Check
        Relation ``">="``; ``tightness`` = measured / bound (when the bound is positive).

    Examples
    --------
    >>> from verify import Estimate, lower
    >>> lower("floor >= s^2 w^2/tau^2", Estimate(0.30, 0.02, 64), 0.2).passed
    True
    """
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
    r"""Check agreement with a prediction: :math:`|m - p| \le Z\,\mathrm{se} + t_{\mathrm{model}}`.

    Parameters
    ----------
    name, measured, reason
        As in :func:`upper`.
    predicted
        The theory's prediction :math:`p`.
    model_tol
        Extra tolerance where the theory is only asymptotic; say which term it covers in
        ``reason``.

    Returns
    -------
    Check
        Relation ``"≈"``; ``tightness`` = measured / predicted.

    Examples
    --------
    >>> from verify import Estimate, close
    >>> close("mean", Estimate(1.02, 0.01, 100), 1.0).passed   # |0.02| <= 3 * 0.01
    True
    """
    m, se = _est(measured)
    tol = Z * se + model_tol
    why = reason or f"{Z:g} standard errors over the runs"
    return Check(name, "≈", float(predicted), m, se, tol, why, bool(abs(m - predicted) <= tol),
                 m / predicted if predicted != 0 else None)


def slope(name: str, fit: LinearFit, predicted: float, model_tol: float = 0.0,
          reason: str = "") -> Check:
    r"""Check a fitted slope against a predicted exponent: :math:`|b - b_0| \le Z\,\mathrm{se}_b + t`.

    Parameters
    ----------
    name, reason
        As in :func:`upper`.
    fit
        A :class:`~verify.stats.LinearFit`, e.g. from :func:`~verify.stats.loglog_slope`
        (weighted least squares on log-log data).
    predicted
        The predicted slope :math:`b_0` (e.g. -1/2 for a :math:`K^{-1/2}` rate).
    model_tol
        Extra tolerance :math:`t` for pre-asymptotic curvature (name it in ``reason``).

    Returns
    -------
    Check
        Relation ``"slope≈"``.
    """
    tol = Z * fit.se_slope + model_tol
    why = reason or f"{Z:g} standard errors of the weighted fit"
    return Check(name, "slope≈", float(predicted), fit.slope, fit.se_slope, tol, why,
                 bool(abs(fit.slope - predicted) <= tol))


def exact(name: str, measured: float, predicted: float, *, reason: str, rtol: float = 0.0,
          atol: float = 0.0) -> Check:
    r"""Check a deterministic agreement: :math:`|m - p| \le a + r\max(|m|, |p|)`.

    Parameters
    ----------
    name
        Short name of the check.
    measured, predicted
        Two deterministic numbers (no standard error).
    reason
        What the tolerance covers (rounding, solver accuracy); required.
    rtol, atol
        Relative tolerance :math:`r` and absolute tolerance :math:`a`.

    Returns
    -------
    Check
        Relation ``"="``.

    Examples
    --------
    >>> from verify import exact
    >>> exact("cycles", 2 * (8 + 4 - 1), 22, reason="integer count").passed
    True
    """
    tol = atol + rtol * max(abs(predicted), abs(measured))
    return Check(name, "=", float(predicted), float(measured), 0.0, tol, reason,
                 bool(abs(measured - predicted) <= tol))


def holds(name: str, ok: bool, reason: str, measured: float = float("nan"),
          predicted: float = float("nan")) -> Check:
    """Record a deterministic yes/no fact (e.g. a sympy identity re-derived).

    Parameters
    ----------
    name
        Short name of the check.
    ok
        Whether the fact holds.
    reason
        What was checked and how.
    measured, predicted
        Optional numbers shown in the report.

    Returns
    -------
    Check
        Relation ``"is"``; passes iff ``ok``.
    """
    return Check(name, "is", predicted, measured, 0.0, 0.0, reason, bool(ok))


def not_applicable(name: str, reason: str, measured: float = float("nan"),
                   predicted: float = float("nan")) -> Check:
    """Record a comparison skipped because an assumption of the bound is violated.

    It never counts as a pass: a claim all of whose checks are not applicable has the verdict
    ``n/a``. Use it with :func:`violated_assumptions`.

    Parameters
    ----------
    name
        Short name of the check.
    reason
        Which assumption fails and by how much.
    measured, predicted
        Optional numbers shown in the report.

    Returns
    -------
    Check
        Relation ``"n/a"``, ``passed = None``.
    """
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
#: ``known fail`` means the claim fails in a mode where it declares a known failure.
RowVerdict = Literal["pass", "fail", "n/a", "error", "broken", "known fail"]


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
    #: the settings the claim ran with (``Config.as_dict()``; ``None`` for a claim without config)
    config: dict | None = None
    #: the command-line overrides (``--set``) applied to them
    overrides: dict = field(default_factory=dict)

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
            "config": self.config,
            "overrides": dict(self.overrides),
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
    config
        The claim's settings (:class:`verify.config.Modes`), read by ``fn`` as ``CONFIG[mode]``;
        ``None`` if it has none. :meth:`run` with ``overrides`` makes ``CONFIG[mode]`` return the
        overridden settings while ``fn`` runs.
    known_failures
        Modes in which the claim is known to fail, each with the reason (``{"full": "why"}``).
        ``python -m verify run`` reports such a failure as ``known fail`` (not counted against the
        exit code unless ``--strict``); the test suite and the pytest plugin mark it as a strict
        expected failure, so the day it passes the declaration must go.
    """

    id: str
    title: str
    statement: str
    reference: str
    control: str
    fn: ClaimFn
    known_failures: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    config: Modes[Any] | None = field(default=None, hash=False, compare=False)

    @property
    def module(self) -> str:
        """Name of the module that defines the claim's function (where it was registered)."""
        return getattr(self.fn, "__module__", "") or ""

    def known_failure(self, mode: str) -> str | None:
        """The declared reason why the claim fails in ``mode``, or ``None`` if it should pass."""
        return self.known_failures.get(mode)

    def settings(self, mode: str, overrides: Mapping[str, str] | None = None) -> Any:
        """The claim's settings in ``mode`` with the command-line ``overrides`` applied.

        Raises
        ------
        ValueError
            One line starting with the claim id: an unknown mode, a claim without settings given
            overrides, an unknown key (with the allowed keys) or a value that does not parse.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if self.config is None:
            if overrides:
                raise ValueError(f"{self.id}: has no settings to override (got"
                                 f" {', '.join(sorted(overrides))})")
            return None
        try:
            return self.config.resolve(mode, overrides)
        except ValueError as err:
            raise ValueError(f"{self.id}: {err}") from None

    def run(self, mode: str = "quick", control: bool = False,
            overrides: Mapping[str, str] | None = None) -> Evidence:
        """Run the claim (or its negative control) once.

        Parameters
        ----------
        mode : {"quick", "full"}
        control : bool
            Run the negative control.
        overrides : mapping, optional
            ``{key: text}`` applied to the claim's settings (:meth:`settings`); the evidence
            records the settings used and the overrides.
        """
        cfg = self.settings(mode, overrides)
        t0 = time.perf_counter()
        if self.config is not None and overrides:
            with self.config.overridden(mode, cfg):
                out = self.fn(mode, control)
        else:
            out = self.fn(mode, control)
        checks, details = out if isinstance(out, tuple) else (out, {})
        return Evidence(self.id, self.title, mode, control, list(checks),
                        time.perf_counter() - t0, details,
                        config=None if cfg is None else cfg.as_dict(), overrides=dict(overrides or {}))

    def run_guarded(self, mode: str = "quick", control: bool = False,
                    overrides: Mapping[str, str] | None = None) -> Evidence:
        """:meth:`run`, but an exception raised by the claim becomes the verdict ``error``.

        The returned :class:`Evidence` has no checks and ``error = "Type: message"`` (first line of
        the message). Only :class:`Exception` is caught: ``KeyboardInterrupt`` and ``SystemExit``
        still stop the run.
        """
        t0 = time.perf_counter()
        try:
            return self.run(mode, control, overrides)
        except Exception as err:  # any failure of one claim is reported, never fatal
            return Evidence(self.id, self.title, mode, control, [], time.perf_counter() - t0,
                            error=error_summary(err))


def error_summary(err: BaseException) -> str:
    """``"Type: first line of the message"`` (``"Type"`` alone when the message is empty)."""
    msg = str(err).strip().splitlines()
    return f"{type(err).__name__}: {msg[0]}" if msg else type(err).__name__


def row_verdict(ev: Evidence, ctl: Evidence | None, known_failure: str | None = None) -> RowVerdict:
    """Verdict of a claim run together with its negative control (``ctl`` None: not run).

    ``error`` if either run raised; ``known fail`` if the claim's checks fail and
    ``known_failure`` (the claim's declared reason for this mode, :meth:`Claim.known_failure`) is
    given; ``fail``/``n/a`` as the claim's checks say; ``broken`` if the claim holds but its
    control does not fail (a control that passes or is not applicable shows the checks cannot see
    the perturbation); else ``pass``.
    """
    if ev.error is not None:
        return "error"
    if ev.verdict == "fail" and known_failure:
        return "known fail"
    if ev.verdict != "pass":
        return ev.verdict
    if ctl is None:
        return "pass"
    if ctl.error is not None:
        return "error"
    return "pass" if ctl.verdict == "fail" else "broken"


_CLAIMS: dict[str, Claim] = {}

#: ``importlib.metadata`` entry-point group whose entries name modules that register claims.
ENTRY_POINT_GROUP = "aimc_verify.claims"


def claim(id: str, *, title: str, statement: str, reference: str, control: str,
          known_failures: Mapping[str, str] | None = None,
          config: Modes[Any] | None = None) -> Callable[[ClaimFn], ClaimFn]:
    """Register ``fn(mode, control)`` as a claim (decorator).

    The function receives ``mode`` (``"quick"`` or ``"full"``) and ``control`` (``True``: run the
    negative control, the perturbed setting in which the checks must fail) and returns a list of
    :class:`Check` (from :func:`upper`, :func:`lower`, :func:`close`, :func:`slope`,
    :func:`exact`, :func:`holds`, :func:`not_applicable`), optionally with a dict of details.

    Parameters
    ----------
    id
        Unique identifier; prefix it with your project's name (``mylab.quad2_bound``).
    title, statement, reference, control
        One-line title; what is claimed and measured; where it comes from; what the negative
        control perturbs.
    known_failures
        ``{mode: reason}`` for modes in which the claim honestly fails (see :class:`Claim`).
    config
        The claim's settings, a :class:`verify.config.Modes` the function reads as
        ``config[mode]``; ``python -m verify run ID --set key=value`` overrides them.

    Returns
    -------
    Callable
        The decorator; it returns ``fn`` unchanged.

    Raises
    ------
    ValueError
        If ``id`` is empty or already registered by another function, or ``known_failures`` names
        a mode other than ``"quick"``/``"full"`` or gives an empty reason.

    Examples
    --------
    >>> from verify import claim, close, get_claim, unregister
    >>> @claim("doc.two_plus_two", title="2 + 2 = 4", statement="arithmetic",
    ...        reference="none", control="predict 5")
    ... def _(mode, control):
    ...     return [close("sum", 2 + 2, 5.0 if control else 4.0)]
    >>> c = get_claim("doc.two_plus_two")
    >>> c.run("quick").verdict, c.run("quick", control=True).verdict
    ('pass', 'fail')
    >>> unregister("doc.two_plus_two")
    """
    if not isinstance(id, str) or not id.strip():
        raise ValueError(f"claim id must be a non-empty string, got {id!r}")
    known = dict(known_failures or {})
    for mode, why in known.items():
        if mode not in MODES:
            raise ValueError(f"known_failures keys must be modes {MODES}, got {mode!r} (claim {id!r})")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"known_failures[{mode!r}] must be a non-empty reason, got {why!r}"
                             f" (claim {id!r})")

    if config is not None and not isinstance(config, Modes):
        raise ValueError(f"config must be a verify.config.Modes or None, got {type(config).__name__}"
                         f" (claim {id!r})")

    def deco(fn: ClaimFn) -> ClaimFn:
        old = _CLAIMS.get(id)
        if old is not None and _where(old.fn) != _where(fn):
            raise ValueError(f"claim id {id!r} registered twice ({_where(old.fn)} and {_where(fn)})")
        # the same function registering again is a re-import of its module (reload, notebook)
        _CLAIMS[id] = Claim(id, title, statement, reference, control, fn, known, config)
        return fn

    return deco


def _where(fn: object) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def unregister(id: str) -> None:
    """Remove claim ``id`` from the registry (tests, notebooks); unknown ids are ignored."""
    _CLAIMS.pop(id, None)


_PLUGINS_LOADED = False
_PLUGIN_PROBLEMS: list[str] = []


def load_module(name: str) -> list[Claim]:
    """Import module ``name`` (registering the claims it defines) and return its claims.

    Parameters
    ----------
    name
        A dotted module name importable from ``sys.path`` (``python -m`` puts the current
        directory there), e.g. ``mylab.claims``.

    Returns
    -------
    list of Claim
        The registered claims whose function is defined in ``name`` or one of its submodules,
        sorted by id.

    Raises
    ------
    ValueError
        One line, if the module cannot be found or raises while it is imported.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"module must be a non-empty dotted name, got {name!r}")
    try:
        importlib.import_module(name)
    except Exception as err:  # reported as one line by the callers
        raise ValueError(f"cannot import claims module {name!r}: {error_summary(err)}") from err
    return claims_of(name)


def claims_of(module: str) -> list[Claim]:
    """The registered claims defined in ``module`` or its submodules, sorted by id."""
    return [_CLAIMS[i] for i in sorted(_CLAIMS)
            if _CLAIMS[i].module == module or _CLAIMS[i].module.startswith(module + ".")]


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Load every entry point of ``group`` (each names a module registering claims).

    A plug-in declares, in its ``pyproject.toml``::

        [project.entry-points."aimc_verify.claims"]
        mylab = "mylab.claims"

    Returns
    -------
    list of str
        One line per entry point that failed to load (the others are loaded); never raises for
        a broken plug-in.
    """
    problems = []
    for ep in importlib.metadata.entry_points(group=group):
        try:
            ep.load()
        except Exception as err:  # a broken plug-in must not stop the built-in claims
            problems.append(f"claims plug-in {ep.name!r} ({ep.value}) not loaded: {error_summary(err)}")
    return problems


def _load_plugins() -> None:
    """Import the built-in claims and, once per process, the entry-point plug-ins (a plug-in that
    fails to load is reported as one warning line on stderr)."""
    global _PLUGINS_LOADED
    from . import claims  # noqa: F401  (imports every claim module)

    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    _PLUGIN_PROBLEMS.extend(load_entry_points())
    for line in _PLUGIN_PROBLEMS:
        print(f"aimc-verify: warning: {line}", file=sys.stderr)


def plugin_problems() -> list[str]:
    """The one-line problems of the entry-point plug-ins that failed to load (after loading)."""
    _load_plugins()
    return list(_PLUGIN_PROBLEMS)


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id: the built-in ones, those of the entry-point group
    :data:`ENTRY_POINT_GROUP`, and those of modules imported so far (:func:`load_module`)."""
    _load_plugins()
    return [_CLAIMS[i] for i in sorted(_CLAIMS)]


def get_claim(id: str) -> Claim:
    """The claim ``id``; ``KeyError`` (one line) if no loaded module registered it."""
    _load_plugins()
    try:
        return _CLAIMS[id]
    except KeyError:
        raise KeyError(f"no claim {id!r}; see `python -m verify list`") from None
