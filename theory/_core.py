"""Core theory objects: bounds, derivations, their assumptions and provenance, and the registry.

A :class:`Bound` is a sympy expression with named symbols that bounds (or predicts) a quantity a
simulation can measure. A :class:`Derivation` is a symbolic fact that sympy re-derives and checks
(an identity, a limit, a solved fixed point). Both carry their :class:`Provenance`: which paper and
theorem they restate, or that they were derived here, and what could not be recovered.

Statements are registered lazily: ``@register(id, title=...)`` records a factory, and the sympy
work runs the first time :func:`get` asks for the id (then it is cached).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import sympy as sp

from .symbols import MEANINGS

Relation = Literal["<=", ">=", "="]
Status = Literal["restated", "derived", "reconstructed"]


@dataclass(frozen=True)
class Provenance:
    """Where a statement comes from.

    Parameters
    ----------
    source
        Paper and location, e.g. ``"arXiv 2406.12774 Thm 2, restated in 2502.06309 Remark 1"``.
    status
        ``"restated"`` (a paper's statement, constants as published), ``"derived"`` (derived in this
        toolkit, with sympy where possible) or ``"reconstructed"`` (a paper's statement whose exact
        form could not be recovered; constants are parameters).
    notes
        Caveats, which constant the derivation supports, what is unknown.
    """

    source: str
    status: Status
    notes: str = ""

    def __str__(self) -> str:
        text = f"[{self.status}] {self.source}"
        return f"{text}\n  {self.notes}" if self.notes else text


@dataclass(frozen=True)
class Assumption:
    """A condition a statement needs, checkable on numbers (e.g. measured along a trajectory).

    ``condition`` is a sympy relational (or boolean combination) in named symbols; ``holds`` returns
    ``None`` when a symbol it needs was not supplied.
    """

    name: str
    condition: sp.Basic
    description: str

    def holds(self, **values: float) -> bool | None:
        names = {str(x) for x in self.condition.free_symbols}
        if not names <= values.keys():
            return None
        subs = {x: values[str(x)] for x in self.condition.free_symbols}
        result = self.condition.subs(subs)
        if result in (sp.true, sp.false):
            return bool(result)
        return bool(result.evalf())


class _Statement:
    id: str
    title: str
    provenance: Provenance
    assumptions: tuple[Assumption, ...]

    kind: str = "statement"

    def check_assumptions(self, **values: float) -> dict[str, bool | None]:
        """Each assumption's verdict on the given numbers (``None``: a value is missing)."""
        return {a.name: a.holds(**values) for a in self.assumptions}


def _lambdify(expr: sp.Expr, names: list[str]) -> Callable[..., np.ndarray]:
    syms = sorted(expr.free_symbols, key=str)
    by_name = {str(x): x for x in syms}
    fn = sp.lambdify([by_name[n] for n in names], expr, modules="numpy")
    return fn


def _evaluate(expr: sp.Expr, values: Mapping[str, float | np.ndarray], what: str) -> np.ndarray:
    names = sorted(str(x) for x in expr.free_symbols)
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{what}: missing value(s) for {', '.join(missing)}; needs {names}")
    extra = sorted(set(values) - set(names))
    if extra:
        raise ValueError(f"{what}: unknown symbol(s) {', '.join(extra)}; needs {names}")
    fn = _lambdify(expr, names)
    args = [np.asarray(values[n], dtype=float) for n in names]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(fn(*args), dtype=float)


@dataclass(frozen=True)
class Bound(_Statement):
    """A convergence bound or closed-form prediction: ``lhs  relation  expr``.

    Parameters
    ----------
    id, title
        Stable identifier (``"asgd.upper.ald"``) and one-line description.
    lhs
        What is bounded, in words and LaTeX (the quantity a simulation measures).
    expr
        The right-hand side, a sympy expression in named symbols.
    relation
        ``"<="`` for an upper bound, ``">="`` for a lower bound, ``"="`` for an exact prediction.
    assumptions
        Conditions under which the statement holds.
    provenance
        Source and status.
    """

    id: str
    title: str
    lhs: str
    expr: sp.Expr
    relation: Relation
    assumptions: tuple[Assumption, ...]
    provenance: Provenance
    meanings: Mapping[str, str] = field(default_factory=dict)

    kind = "bound"

    @property
    def symbols(self) -> list[str]:
        """Names of the free symbols of ``expr`` (the arguments of :meth:`evaluate`)."""
        return sorted(str(x) for x in self.expr.free_symbols)

    def meaning(self, name: str) -> str:
        return self.meanings.get(name) or MEANINGS.get(name, "")

    def evaluate(self, **values: float | np.ndarray) -> np.ndarray:
        """Numeric value of ``expr``; arrays broadcast (numpy)."""
        return _evaluate(self.expr, values, f"Bound {self.id!r}")

    def latex(self) -> str:
        rel = {"<=": r"\le", ">=": r"\ge", "=": "="}[self.relation]
        return f"{self.lhs} {rel} {sp.latex(self.expr)}"

    def pretty(self) -> str:
        return sp.pretty(self.expr, use_unicode=True)

    def holds(self, measured: float, **values: float) -> bool:
        """Whether ``measured  relation  expr(values)`` (exact comparison, no statistics)."""
        rhs = float(self.evaluate(**values))
        if self.relation == "<=":
            return measured <= rhs
        if self.relation == ">=":
            return measured >= rhs
        return bool(np.isclose(measured, rhs))


@dataclass(frozen=True)
class Derivation(_Statement):
    """A symbolic fact sympy re-derives: ``derived`` (computed) equals ``expected`` (stated form).

    ``derived`` is what sympy produced from first principles (a solved fixed point, a limit, an
    expansion); ``expected`` is the closed form the papers or this toolkit state. :meth:`verify`
    checks that they agree, optionally after substituting ``cases`` (e.g. ``d > 0`` and ``d < 0``).
    """

    id: str
    title: str
    derived: sp.Expr
    expected: sp.Expr
    steps: tuple[str, ...]
    provenance: Provenance
    assumptions: tuple[Assumption, ...] = ()
    cases: tuple[Mapping[sp.Symbol, sp.Expr], ...] = ()

    kind = "derivation"

    @property
    def symbols(self) -> list[str]:
        return sorted(str(x) for x in self.expected.free_symbols)

    def verify(self) -> bool:
        """True iff sympy simplifies ``derived - expected`` to zero (in every case)."""
        cases = self.cases or ({},)
        for case in cases:
            diff = sp.Matrix([self.derived - self.expected]).subs(case)
            if any(_nonzero(x) for x in diff):
                return False
        return True

    def evaluate(self, **values: float | np.ndarray) -> np.ndarray:
        return _evaluate(self.expected, values, f"Derivation {self.id!r}")

    def latex(self) -> str:
        return sp.latex(self.expected)

    def pretty(self) -> str:
        return sp.pretty(self.expected, use_unicode=True)


Statement = Bound | Derivation


def _nonzero(x: sp.Expr) -> bool:
    if sp.simplify(sp.expand(x)) == 0:
        return False
    # special functions in another basis (erfc vs erf) need a common form first
    return sp.simplify(x.rewrite(sp.erf)) != 0

# --- registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    id: str
    title: str
    kind: str
    factory: Callable[[], Statement]


_REGISTRY: dict[str, _Entry] = {}


def register(id: str, *, title: str, kind: str) -> Callable[[Callable[[], Statement]], Callable]:
    """Register a statement factory under a stable id. The factory runs once, on first use."""

    def deco(factory: Callable[[], Statement]) -> Callable[[], Statement]:
        if id in _REGISTRY:
            raise ValueError(f"theory statement id {id!r} registered twice")
        cached = functools.cache(factory)
        _REGISTRY[id] = _Entry(id, title, kind, cached)
        return cached

    return deco


def ids() -> list[str]:
    """All registered statement ids, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def entries() -> list[_Entry]:
    _load_all()
    return [_REGISTRY[i] for i in sorted(_REGISTRY)]


def get(id: str) -> Statement:
    """The statement registered under ``id`` (built on first use)."""
    _load_all()
    try:
        entry = _REGISTRY[id]
    except KeyError:
        close = [i for i in _REGISTRY if id.split(".")[0] in i]
        hint = f"; did you mean one of {close}?" if close else ""
        raise KeyError(f"no theory statement {id!r}{hint} (see `python -m theory list`)") from None
    stmt = entry.factory()
    if stmt.id != id:
        raise RuntimeError(f"factory for {id!r} built a statement with id {stmt.id!r}")
    return stmt


def _load_all() -> None:
    # Importing the package imports every statement module (see theory/__init__.py).
    import theory  # noqa: F401


def symbols_of(exprs: Iterable[sp.Expr]) -> list[str]:
    out: set[str] = set()
    for e in exprs:
        out |= {str(x) for x in e.free_symbols}
    return sorted(out)
