"""``python -m theory list | show <id> | eval <id> name=value ... | table``."""

from __future__ import annotations

import argparse
import sys

from . import _core
from ._core import Bound, Derivation


def _cmd_list(args: argparse.Namespace) -> int:
    entries = _core.entries()
    if args.kind:
        entries = [e for e in entries if e.kind == args.kind]
    width = max(len(e.id) for e in entries)
    for e in entries:
        print(f"{e.id:<{width}}  {e.kind:<10}  {e.title}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    st = _core.get(args.id)
    print(f"{st.id}  ({st.kind})")
    print(f"  {st.title}\n")
    if isinstance(st, Bound):
        rel = {"<=": "≤", ">=": "≥", "=": "="}[st.relation]
        print(f"  {st.lhs}  {rel}\n")
        print("    " + st.pretty().replace("\n", "\n    "))
        print(f"\n  LaTeX: {st.latex()}")
        print("\n  Symbols:")
        for name in st.symbols:
            print(f"    {name:<12} {st.meaning(name)}")
    else:
        assert isinstance(st, Derivation)
        print("    " + st.pretty().replace("\n", "\n    "))
        print(f"\n  LaTeX: {st.latex()}")
        print("\n  Steps:")
        for step in st.steps:
            print(f"    - {step}")
        print(f"\n  sympy re-derivation agrees: {st.verify()}")
    if st.assumptions:
        print("\n  Assumptions:")
        for a in st.assumptions:
            print(f"    {a.name:<14} {a.description}")
    print(f"\n  Provenance: {st.provenance}")
    return 0


def _parse_values(pairs: list[str]) -> dict[str, float]:
    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: expected name=value, got {pair!r}")
        try:
            values[name] = float(text)
        except ValueError:
            raise SystemExit(f"error: value of {name!r} is not a number: {text!r}") from None
    return values


def _cmd_eval(args: argparse.Namespace) -> int:
    st = _core.get(args.id)
    values = _parse_values(args.values)
    try:
        value = float(st.evaluate(**values))
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"{value:.10g}")
    bad = [name for name, ok in st.check_assumptions(**values).items() if ok is False]
    for name in bad:
        print(f"warning: assumption {name!r} does not hold for these values", file=sys.stderr)
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from .tables import rates_table, to_latex, to_markdown

    rows = rates_table()
    print(to_latex(rows) if args.latex else to_markdown(rows), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m theory", description="Symbolic bounds and derivations of aimc-verify."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="every bound and derivation, one line each")
    p.add_argument("--kind", choices=["bound", "derivation"])
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("show", help="pretty and LaTeX form, assumptions, provenance")
    p.add_argument("id")
    p.set_defaults(fn=_cmd_show)
    p = sub.add_parser("eval", help="numeric value, e.g. eval sgd.rate Delta_0=1 K=100 ...")
    p.add_argument("id")
    p.add_argument("values", nargs="*", metavar="name=value")
    p.set_defaults(fn=_cmd_eval)
    p = sub.add_parser("table", help="the rates table (arXiv 2406.12774 Table 1) from the bounds")
    p.add_argument("--latex", action="store_true")
    p.set_defaults(fn=_cmd_table)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
