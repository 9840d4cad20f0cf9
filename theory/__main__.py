"""``python -m theory list | show <id> | eval <id> name=value ... | table``.

Exit codes
----------
0
    Success (for ``eval``: the value is printed and every assumption that could be checked holds).
2
    Bad input, one line on stderr: an unknown id, a malformed ``name=value``, a repeated, unknown or
    missing name, a value outside its symbol's domain (:data:`theory.symbols.DOMAINS`: e.g.
    ``K`` an integer >= 1, ``S_K`` a real >= 0, every value finite), or a value that is not finite
    at legal inputs.
3
    ``eval`` only: the value is printed, but an assumption of the statement is violated at these
    values (one line ``error: assumption 'name' violated ...`` on stderr): the statement does not
    apply there.
130
    Interrupted (Ctrl-C): one line ``interrupted`` on stderr. The CLI writes no files.
141
    The reader of stdout went away (``python -m theory list | head -1``): exit quietly, as a
    process killed by SIGPIPE would (128 + 13).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

import numpy as np

from . import _core
from ._core import Bound, Derivation, Statement
from .symbols import domain_of

EXIT_USAGE = 2
EXIT_ASSUMPTION = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class _InputError(Exception):
    """A user error the CLI reports in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``error: ... (see python -m theory --help)``, exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


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
        rel = {"<=": "≤", ">=": "≥", "=": "=", "~": "≈"}[st.relation]
        print(f"  {st.lhs}  {rel}\n")
        print("    " + st.pretty().replace("\n", "\n    "))
        if st.remainder:
            print(f"\n  Approximation, error {st.remainder}")
        print(f"\n  LaTeX: {st.latex()}")
        print("\n  Symbols:")
        for name in st.symbols:
            print(f"    {name:<12} {st.meaning(name)}  [{domain_of(name)}]")
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
        width = max(14, *(len(a.name) for a in st.assumptions))
        for a in st.assumptions:
            print(f"    {a.name:<{width}} {a.description}")
    print(f"\n  Provenance: {st.provenance}")
    return 0


def _parse_values(pairs: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _InputError(f"expected name=value, got {pair!r}")
        if name in values:
            raise _InputError(f"{name} given twice ({name}={values[name]:g} and {pair}); give each name once")
        try:
            values[name] = float(text)
        except ValueError:
            raise _InputError(f"value of {name} is not a number: {text!r}") from None
    return values


def _format_value(value: np.ndarray) -> str:
    """A scalar as ``%.10g``; a vector as ``[a, b, c]``; a matrix row by row."""
    if value.ndim == 0:
        return f"{float(value):.10g}"
    if value.ndim == 2 and value.shape[1] == 1:  # column vector (sympy Matrix([...]))
        value = value[:, 0]
    if value.ndim == 1:
        return "[" + ", ".join(f"{x:.10g}" for x in value) + "]"
    rows = value.reshape(value.shape[0], -1)
    return "\n".join("[" + ", ".join(f"{x:.10g}" for x in row) + "]" for row in rows)


def _evaluate_checked(st: Statement, values: dict[str, float]) -> np.ndarray:
    needed = set(st.symbols)
    allowed = needed | set(st.assumption_symbols)
    unknown = sorted(set(values) - allowed)
    if unknown:
        extra = st.assumption_symbols
        also = f"; its assumptions also use {', '.join(extra)}" if extra else ""
        raise _InputError(
            f"{st.id} has no symbol {', '.join(unknown)}; its symbols are {', '.join(sorted(needed))}{also}"
        )
    missing = sorted(needed - set(values))
    if missing:
        raise _InputError(
            f"{st.id}: missing value(s) for {', '.join(missing)} (symbols: {', '.join(sorted(needed))})"
        )
    try:
        return st.evaluate(**{k: values[k] for k in needed})
    except ValueError as err:
        raise _InputError(str(err)) from None


def _cmd_eval(args: argparse.Namespace) -> int:
    st = _core.get(args.id)
    values = _parse_values(args.values)
    value = _evaluate_checked(st, values)
    try:
        checks = st.check_assumptions(**values)
    except ValueError as err:
        raise _InputError(str(err)) from None
    if not np.all(np.isfinite(value)) and not checks.violated:
        raise _InputError(f"{st.id} is not finite at these values ({_format_value(value)})")
    print(_format_value(value))
    if checks:
        width = max(len(c.name) for c in checks)
        print("assumptions:")
        for c in checks:
            if c.holds is None:
                assumption = next(a for a in st.assumptions if a.name == c.name)
                needs = [n for n in assumption.symbols if n not in values]
                verdict = f"not checked (give {', '.join(needs)})"
            else:
                verdict = "holds" if c.holds else "VIOLATED"
            print(f"  {c.name:<{width}}  {verdict:<12}  {c.text}")
    if checks.violated:
        what = ", ".join(repr(c.name) for c in checks.violated)
        print(f"error: assumption {what} violated (see above): {st.id} does not apply at these values",
              file=sys.stderr)
        return EXIT_ASSUMPTION
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from .tables import rates_table, to_latex, to_markdown

    rows = rates_table()
    print(to_latex(rows) if args.latex else to_markdown(rows), end="")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m theory",
        description="Symbolic bounds and derivations of aimc-verify.",
        epilog="exit codes: 0 ok; 2 bad input (one line on stderr); 3 eval: an assumption is violated;"
        " 130 interrupted; 141 stdout closed by its reader",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="every bound and derivation, one line each")
    p.add_argument("--kind", choices=["bound", "derivation"])
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("show", help="pretty and LaTeX form, assumptions, provenance")
    p.add_argument("id")
    p.set_defaults(fn=_cmd_show)
    p = sub.add_parser(
        "eval",
        help="numeric value and assumption check, e.g. eval sgd.rate Delta_0=1 K=100 ...",
        description="Evaluate a statement at name=value pairs (each name once; every symbol of the"
        " statement needed; values in their domains). Names only the assumptions use (e.g. alpha for"
        " a step-size cap) may be given too, to check those assumptions.",
    )
    p.add_argument("id")
    p.add_argument("values", nargs="*", metavar="name=value")
    p.set_defaults(fn=_cmd_eval)
    p = sub.add_parser("table", help="the rates table (arXiv 2406.12774 Table 1) from the bounds")
    p.add_argument("--latex", action="store_true")
    p.set_defaults(fn=_cmd_table)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    try:
        args = _parser().parse_args(argv)
        code = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except (_InputError, KeyError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away: send the rest of stdout to /dev/null so the interpreter's final
        # flush does not raise again, and exit quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor (captured): nothing to flush
            pass
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
