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
from collections.abc import Callable, ItemsView, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import sympy as sp

from .symbols import MEANINGS, domain_of

Relation = Literal["<=", ">=", "=", "~"]
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
    r"""A condition a statement needs, checkable on numbers (e.g. measured along a trajectory).

    Parameters
    ----------
    name
        Short identifier (``"step_cap"``), unique within a statement.
    condition
        A sympy relational (or boolean combination, ``sp.And`` / ``sp.Or``) in named symbols, e.g.
        ``alpha * L <= 1``. A condition sympy already decides (``tau > 0`` with ``tau`` positive)
        is ``sp.true``.
    description
        The condition in words, shown by ``python -m theory show`` and ``eval``.

    Notes
    -----
    :meth:`holds` evaluates the condition with numpy (``sympy.lambdify``), so array values are
    checked elementwise; it returns ``None`` when a value it needs was not supplied. The values it
    uses are checked against their domains (:data:`theory.symbols.DOMAINS`) first.
    """

    name: str
    condition: sp.Basic
    description: str

    @property
    def symbols(self) -> list[str]:
        """Names of the symbols the condition needs."""
        return sorted(str(x) for x in self.condition.free_symbols)

    @functools.cached_property
    def _fn(self) -> Callable[..., object]:
        syms = sorted(self.condition.free_symbols, key=str)
        return sp.lambdify(syms, self.condition, modules="numpy")

    def holds_elementwise(self, **values: float | np.ndarray) -> np.ndarray | None:
        """The condition at every (broadcast) element of ``values``; ``None`` if a value is missing.

        A value that makes the condition undefined (NaN inside) counts as not holding.
        """
        if self.condition in (sp.true, sp.false):
            return np.asarray(bool(self.condition))
        syms = sorted(self.condition.free_symbols, key=str)
        if not {str(x) for x in syms} <= values.keys():
            return None
        args = [domain_of(x).check(str(x), values[str(x)]) for x in syms]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(self._fn(*args))
        return out.astype(bool)

    def holds(self, **values: float | np.ndarray) -> bool | None:
        """``True`` if the condition holds at every element, ``False`` if it fails at one,
        ``None`` if a value it needs was not supplied. Extra values are ignored."""
        out = self.holds_elementwise(**values)
        return None if out is None else bool(np.all(out))


class AssumptionCheck(NamedTuple):
    """One assumption's verdict: ``holds`` is ``True``, ``False`` or ``None`` (values missing)."""

    name: str
    holds: bool | None
    text: str


class AssumptionChecks(tuple):
    """The verdicts of a statement's assumptions, in order (a tuple of :class:`AssumptionCheck`).

    Iterating gives ``(name, holds, text)`` triples; indexing by an assumption's name gives its
    ``holds`` (``checks["saturation"]``), as the dictionary this replaces did.
    """

    def __getitem__(self, key):
        if isinstance(key, str):
            for c in self:
                if c.name == key:
                    return c.holds
            raise KeyError(f"no assumption named {key!r}; have {[c.name for c in self]}")
        return super().__getitem__(key)

    def as_dict(self) -> dict[str, bool | None]:
        """``{name: holds}``."""
        return {c.name: c.holds for c in self}

    def items(self) -> ItemsView[str, bool | None]:
        """``(name, holds)`` pairs (compatibility with the former ``dict`` result)."""
        return self.as_dict().items()

    def get(self, name: str, default: bool | None = None) -> bool | None:
        """``holds`` of the assumption ``name`` (``default`` if there is none)."""
        return self.as_dict().get(name, default)

    @property
    def violated(self) -> list[AssumptionCheck]:
        """The assumptions that fail on the given values."""
        return [c for c in self if c.holds is False]

    @property
    def unchecked(self) -> list[AssumptionCheck]:
        """The assumptions that could not be checked (a value they need was not given)."""
        return [c for c in self if c.holds is None]

    @property
    def all_hold(self) -> bool:
        """Whether every assumption was checked and holds."""
        return all(c.holds is True for c in self)


class _Statement:
    id: str
    title: str
    provenance: Provenance
    assumptions: tuple[Assumption, ...]

    kind: str = "statement"

    def check_assumptions(self, **values: float | np.ndarray) -> AssumptionChecks:
        """Each assumption's verdict on the given numbers.

        Returns
        -------
        AssumptionChecks
            ``(name, holds, text)`` per assumption, in order; ``holds`` is ``None`` when a value
            the condition needs was not given. Values are checked against their domains
            (``ValueError`` naming the symbol, its domain and the value); values no assumption
            uses are ignored. For array values ``holds`` is ``True`` only if every element holds.

        Notes
        -----
        A claim that measures a bound should report "not applicable" when an entry is ``False``
        (the statement says nothing there), and the measured comparison otherwise.
        """
        return AssumptionChecks(
            AssumptionCheck(a.name, a.holds(**values), a.description) for a in self.assumptions
        )

    @property
    def assumption_symbols(self) -> list[str]:
        """Names the assumptions need beyond the statement's own symbols (e.g. ``alpha``)."""
        own = set(self.symbols)  # type: ignore[attr-defined]
        return sorted({n for a in self.assumptions for n in a.symbols} - own)


@functools.lru_cache(maxsize=512)
def _lambdify(expr: sp.Basic, names: tuple[str, ...]) -> Callable[..., np.ndarray]:
    by_name = {str(x): x for x in expr.free_symbols}
    return sp.lambdify([by_name.get(n, sp.Symbol(n)) for n in names], expr, modules="numpy")


def _evaluate(expr: sp.Basic, values: Mapping[str, float | np.ndarray], what: str) -> np.ndarray:
    """Numeric value of ``expr`` after checking every value against its symbol's domain.

    A matrix expression gives an array of the matrix's shape (followed by the broadcast shape of
    the values). Raises ``ValueError`` for missing or unknown names, values outside their domain
    and a result that is not real.
    """
    by_name = {str(x): x for x in expr.free_symbols}
    names = sorted(by_name)
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{what}: missing value(s) for {', '.join(missing)}; needs {names}")
    extra = sorted(set(values) - set(names))
    if extra:
        raise ValueError(f"{what}: unknown symbol(s) {', '.join(extra)}; needs {names}")
    args = []
    for n in names:
        try:
            args.append(domain_of(by_name[n]).check(n, values[n]))
        except ValueError as err:
            raise ValueError(f"{what}: {err}") from None
    if isinstance(expr, sp.MatrixBase):
        # entry by entry (a constant entry and an array entry do not form one numpy array)
        shape = np.broadcast_shapes(*(a.shape for a in args)) if args else ()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            entries = [np.broadcast_to(np.asarray(_lambdify(x, tuple(names))(*args)), shape)
                       for x in expr]
        out = np.stack(entries).reshape(tuple(expr.shape) + shape)
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(_lambdify(expr, tuple(names))(*args))
    if np.iscomplexobj(out):
        if np.any(np.imag(out) != 0):
            raise ValueError(f"{what}: the value is not real at these values")
        out = np.real(out)
    return np.asarray(out, dtype=float)


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
        ``"<="`` for an upper bound, ``">="`` for a lower bound, ``"="`` for an exact prediction,
        ``"~"`` for an approximation whose error is stated in ``remainder``.
    assumptions
        Conditions under which the statement holds.
    provenance
        Source and status.
    meanings
        Meanings of symbols not in :data:`theory.symbols.MEANINGS`.
    remainder
        For ``relation="~"``: the size of the error (e.g. ``"O(alpha^3)"``) and where it comes from.
    """

    id: str
    title: str
    lhs: str
    expr: sp.Expr
    relation: Relation
    assumptions: tuple[Assumption, ...]
    provenance: Provenance
    meanings: Mapping[str, str] = field(default_factory=dict)
    remainder: str = ""

    def __post_init__(self) -> None:
        if (self.relation == "~") != bool(self.remainder):
            raise ValueError(f"Bound {self.id!r}: relation '~' needs a remainder (and only it has one);"
                             f" got relation {self.relation!r}, remainder {self.remainder!r}")

    kind = "bound"

    @property
    def symbols(self) -> list[str]:
        """Names of the free symbols of ``expr`` (the arguments of :meth:`evaluate`)."""
        return sorted(str(x) for x in self.expr.free_symbols)

    def meaning(self, name: str) -> str:
        return self.meanings.get(name) or MEANINGS.get(name, "")

    def evaluate(self, **values: float | np.ndarray) -> np.ndarray:
        """Numeric value of ``expr``; arrays broadcast (numpy).

        Every value is checked against its symbol's domain (:data:`theory.symbols.DOMAINS`;
        elementwise for arrays): ``ValueError`` names the symbol, its domain and the offending
        value. Missing and unknown names are ``ValueError`` too. The assumptions are *not* checked
        here (see :meth:`check_assumptions`): outside them the number is still the formula's value,
        but the statement does not apply.
        """
        return _evaluate(self.expr, values, f"Bound {self.id!r}")

    def latex(self) -> str:
        rel = {"<=": r"\le", ">=": r"\ge", "=": "=", "~": r"\approx"}[self.relation]
        return f"{self.lhs} {rel} {sp.latex(self.expr)}"

    def pretty(self) -> str:
        return sp.pretty(self.expr, use_unicode=True)

    def holds(self, measured: float, **values: float) -> bool:
        """Whether ``measured  relation  expr(values)`` (exact comparison, no statistics).

        An approximation (``relation="~"``) has no exact verdict: ``ValueError``.
        """
        if self.relation == "~":
            raise ValueError(f"Bound {self.id!r} is an approximation ({self.remainder}); compare the"
                             " measurement with its stated error instead of calling holds()")
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
        """Numeric value of the stated form ``expected`` (domains checked as in :meth:`Bound.evaluate`).

        A vector or matrix statement gives an array of its shape (e.g. ``(3, 1)``).
        """
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
