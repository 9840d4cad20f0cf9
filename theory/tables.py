"""The rates table of arXiv 2406.12774 (Table 1), rebuilt from the registered bounds.

Each row's rate and asymptotic error are computed from the bound expression with sympy
(``asymptotic_error`` = limit K -> oo, rate = the rest), not typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ._core import Bound, get
from .calculus import asymptotic_error, rate_part
from .symbols import P_max, W_max, tau

#: (algorithm label, bound id) in the order of the paper's table, plus the derived rows
TABLE1_ROWS: tuple[tuple[str, str], ...] = (
    ("Digital SGD", "sgd.rate.paper_step"),
    ("Analog SGD (2024 Thm 2)", "asgd.upper.ald"),
    ("Analog SGD (derived here)", "asgd.upper.derived_balanced"),
    ("Analog SGD, any response (2502.06309 Thm 2)", "asgd.upper.general"),
    ("Tiki-Taka (2024 Thm 4)", "tt.rate"),
    ("Analog GD, noiseless", "agd.noiseless.ald"),
    ("Lower bound (instance)", "asgd.lower.floor"),
)


@dataclass(frozen=True)
class RateRow:
    algorithm: str
    bound_id: str
    rate: sp.Expr
    asymptotic_error: sp.Expr
    relation: str
    status: str


def split_rate_floor(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Split ``expr`` term by term into (part vanishing as K -> oo, asymptotic error)."""
    rate, err = [], []
    for term in sp.Add.make_args(sp.expand(expr, deep=False)):
        lim = asymptotic_error(term)
        if lim == 0:
            rate.append(term)
        elif sp.simplify(lim - term) == 0:
            err.append(term)
        else:
            rate.append(rate_part(term))
            err.append(lim)
    tidy = [sp.factor_terms(sp.Add(*parts)) for parts in (rate, err)]
    return tidy[0], tidy[1]


def rates_table(rows: tuple[tuple[str, str], ...] = TABLE1_ROWS) -> list[RateRow]:
    out = []
    for label, bid in rows:
        b = get(bid)
        if not isinstance(b, Bound):  # pragma: no cover - registry misuse
            raise TypeError(f"{bid} is not a bound")
        expr = display_form(b.expr)
        if b.relation == ">=":  # a lower bound on the limit: all of it is asymptotic error
            rate, err = sp.Integer(0), expr
        else:
            rate, err = split_rate_floor(expr)
        out.append(RateRow(label, bid, rate, err, b.relation, b.provenance.status))
    return out


RHO = sp.Symbol("rho", nonnegative=True)
RHO_P = sp.Symbol("rho_P", nonnegative=True)


def display_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` with saturations written as rho = W_max/tau and rho_P = P_max/tau (display only)."""
    return expr.subs({W_max: RHO * tau, P_max: RHO_P * tau})


def _fmt(expr: sp.Expr, latex: bool) -> str:
    if expr == 0:
        return "0"
    return sp.latex(expr) if latex else sp.sstr(expr)


def to_markdown(rows: list[RateRow]) -> str:
    lines = [
        "| Algorithm | Rate (vanishes with K) | Asymptotic error | Bound id | Status |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        rate = "—" if r.relation == ">=" else f"`{_fmt(r.rate, False)}`"
        err = f"`{_fmt(r.asymptotic_error, False)}`"
        if r.relation == ">=":
            err = "≥ " + err
        lines.append(f"| {r.algorithm} | {rate} | {err} | `{r.bound_id}` | {r.status} |")
    return "\n".join(lines) + "\n"


def to_latex(rows: list[RateRow]) -> str:
    lines = [
        r"\begin{tabular}{llll}",
        r"\hline",
        r"Algorithm & Rate & Asymptotic error & Status \\",
        r"\hline",
    ]
    for r in rows:
        rate = "---" if r.relation == ">=" else f"${_fmt(r.rate, True)}$"
        err = f"${_fmt(r.asymptotic_error, True)}$"
        if r.relation == ">=":
            err = r"$\ge$ " + err
        lines.append(f"{r.algorithm} & {rate} & {err} & {r.status} \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
