"""``python -m verify list`` /
``python -m verify run [ids...] [--quick] [--json FILE] [--set KEY=VALUE ...]
[--workers N | --scheduler ADDRESS]``.

``--set KEY=VALUE`` (repeatable) overrides one of the selected claims' settings for this run (parsed
to the setting's type; tuples as comma lists, dotted keys for nested settings); every selected claim
must have that setting. The settings used and the overrides are in the ``--json`` report.

``--workers N`` runs every claim and every negative control as an independent cell on a Dask
``LocalCluster`` of N processes (``--scheduler ADDRESS``: on an existing Dask cluster), with one progress
bar over the cells (``-q``: none); the evidence and the report are those of the serial run (the
default), only the times differ.

``run`` prints one row per claim and exits 0 iff every claim passes and every negative control
fails (a control that passes means the claim's checks have no power, which is a defect too).
A claim (or its control) that raises is reported with the verdict ``error`` and the exception's
one-line summary, and the run goes on; a claim whose control does not fail is ``broken``.

A claim that fails in a mode where it declares a known failure (``@claim(...,
known_failures={"full": "why"})``) is reported as ``known fail`` with its reason and does not
count against the exit code, unless ``--strict``.

``--module NAME`` (repeatable) imports a module that registers claims with :func:`verify.claim`;
``list`` and ``run`` then show only those modules' claims (ids given to ``run`` may name any loaded
claim). Modules of the entry-point group ``aimc_verify.claims`` are loaded on every ``list`` and
``run``; one that fails to load is one warning line on stderr.

Exit codes: 0 all hold (known failures aside); 1 some claim does not hold (including ``error`` and
``broken``); 2 bad arguments (unknown claim id or ``--module``, a ``--json`` path that cannot be
written, an unknown ``--set`` key or a value that does not parse -- checked before any claim
runs); 130 interrupted (Ctrl-C; no JSON written); 141 the
reader of stdout went away (``... | head``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

from ._claim import (
    Check,
    Claim,
    Evidence,
    all_claims,
    claims_of,
    error_summary,
    get_claim,
    load_module,
    row_verdict,
)
from ._cli import OneLineParser as _Parser
from ._cli import cli_guard, nearest_existing, probe_writable
from .config import parse_sets


def _fmt(x: float | None) -> str:
    if x is None or x != x:  # None or NaN
        return "—"
    return f"{x:.3g}"


def _tightness(ev: Evidence) -> float | None:
    vals = [c.tightness for c in ev.checks if c.tightness is not None and c.passed is not None
            and c.relation in ("<=", ">=")]
    if not vals:
        return None
    # the closest a bound comes to being violated: max of measured/bound for upper bounds,
    # min for lower bounds (reported as measured/bound either way)
    uppers = [c.tightness for c in ev.checks if c.relation == "<=" and c.tightness is not None]
    return max(uppers) if uppers else min(vals)


def _headline(ev: Evidence) -> str:
    if ev.error is not None:
        return ev.error
    c: Check | None = ev.headline()
    if c is None:
        return ""
    meas = _fmt(c.measured) + (f" ± {c.se:.2g}" if c.se else "")
    return f"{meas} {c.relation} {_fmt(c.predicted)}"


def _table(rows: list[tuple[Claim, Evidence, Evidence | None]]) -> str:
    head = ("claim", "verdict", "checks", "headline: measured rel. bound/prediction", "tightness",
            "control", "time")
    lines = []
    for cl, ev, ctl in rows:
        applicable = [c for c in ev.checks if c.passed is not None]
        npass = sum(c.passed is True for c in applicable)
        control = "—" if ctl is None else ("fails ✓" if ctl.verdict == "fail" else
                                           f"{ctl.verdict.upper()} ✗"
                                           + (f" ({ctl.error})" if ctl.error else ""))
        t = ev.elapsed + (ctl.elapsed if ctl else 0.0)
        verdict = row_verdict(ev, ctl, cl.known_failure(ev.mode))
        lines.append((cl.id, verdict.upper() if verdict not in ("pass", "known fail") else verdict,
                      f"{npass}/{len(applicable)}", _headline(ev), _fmt(_tightness(ev)), control,
                      f"{t:.1f}s"))
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in lines]
    return "\n".join(out)


def _details(ev: Evidence) -> str:
    out = [f"{ev.claim_id}{' [control]' if ev.control else ''}: {ev.verdict}"
           + (f" ({ev.error})" if ev.error else "")]
    for c in ev.checks:
        mark = {True: "ok ", False: "FAIL", None: "n/a"}[c.passed]
        meas = _fmt(c.measured) + (f" ± {c.se:.2g}" if c.se else "")
        out.append(f"  [{mark}] {c.name}: {meas} {c.relation} {_fmt(c.predicted)}"
                   f" (tol {c.tolerance:.2g}: {c.reason})")
    return "\n".join(out)


def _write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file beside it, then rename), with mode
    0o666 & ~umask; a symlink at ``path`` is followed (its target is replaced)."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}"
    try:
        with open(tmp, "x") as fh:
            json.dump(payload, fh, indent=2, default=float)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _selected(args: argparse.Namespace) -> list[Claim]:
    """The claims of the ``--module`` modules (all of them, sorted by id), else every claim."""
    if not args.module:
        return all_claims()
    all_claims()  # built-ins and entry-point plug-ins, so that ids resolve across them
    return sorted({c.id: c for m in args.module for c in claims_of(m)}.values(), key=lambda c: c.id)


def _cmd_list(args: argparse.Namespace) -> int:
    claims = _selected(args)
    width = max(len(c.id) for c in claims)
    for c in claims:
        print(f"{c.id:<{width}}  {c.title}")
        if args.verbose:
            known = "".join(f"\n{'':<{width}}  known fail ({m}): {why}"
                            for m, why in c.known_failures.items())
            print(f"{'':<{width}}  statement: {c.statement}\n{'':<{width}}  reference: "
                  f"{c.reference}\n{'':<{width}}  control:   {c.control}{known}\n")
    return 0


def _run_on_engine(claims: list[Claim], mode: str,
                   args: argparse.Namespace) -> list[tuple[Claim, Evidence, Evidence | None]]:
    """Every claim and every control as an independent cell on a Dask cluster (``--workers`` /
    ``--scheduler``); the rows in the order of ``claims``, the same evidence as a serial run."""
    from sim.sweep import CellBar, Engine, run_cells

    from ._cells import run_cell

    jobs = [(cl.id, mode, control, tuple(args.module or ()), dict(args.overrides)) for cl in claims
            for control in ((False,) if args.no_controls else (False, True))]
    got: dict[tuple[str, bool], Evidence] = {}

    def on_done(k: int, ev: Evidence, seconds: float) -> None:
        got[jobs[k][0], jobs[k][2]] = ev

    with Engine(args.workers, args.scheduler) as engine, \
            CellBar(len(jobs), slots=engine.slots, desc=f"claims ({mode})",
                    progress=False if args.quiet else None) as bar:
        run_cells(run_cell, jobs, on_done, executor=engine.executor, bar=bar)
    return [(cl, got[cl.id, False], None if args.no_controls else got[cl.id, True]) for cl in claims]


def _cmd_run(args: argparse.Namespace) -> int:
    mode = "quick" if args.quick else "full"
    try:
        claims = [get_claim(i) for i in args.ids] if args.ids else _selected(args)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    rows = []
    t0 = time.perf_counter()
    if args.workers is None and args.scheduler is None:
        for cl in claims:
            if not args.quiet:
                print(f"running {cl.id} ({mode})...", file=sys.stderr, flush=True)
            # one claim's exception is its verdict `error`, never the end of the run
            ev = cl.run_guarded(mode, overrides=args.overrides)
            ctl = None if args.no_controls else cl.run_guarded(mode, control=True,
                                                               overrides=args.overrides)
            rows.append((cl, ev, ctl))
    else:
        rows = _run_on_engine(claims, mode, args)
    sets = "".join(f" --set {k}={v}" for k, v in args.overrides.items())
    print(f"aimc-verify claims ({mode} mode{', ' + sets.strip() if sets else ''}),"
          f" {time.perf_counter() - t0:.1f}s\n")
    print(_table(rows))
    if args.verbose:
        for _, ev, ctl in rows:
            print("\n" + _details(ev))
            if ctl is not None:
                print(_details(ctl))
    verdicts = {cl.id: row_verdict(ev, ctl, cl.known_failure(mode)) for cl, ev, ctl in rows}
    tolerated = ("pass",) if args.strict else ("pass", "known fail")
    ok = all(v in tolerated for v in verdicts.values())
    failed = [f"{i} ({v})" for i, v in verdicts.items() if v not in ("pass", "known fail")]
    known = [i for i, v in verdicts.items() if v == "known fail"]
    held = len(rows) - len(failed) - len(known)
    print(f"\n{held}/{len(rows)} claims hold"
          + ("" if args.no_controls else " with failing negative controls")
          + (f"; not holding: {', '.join(failed)}" if failed else ""))
    for cl, _, _ in rows:
        if verdicts[cl.id] == "known fail":
            print(f"known fail{' (counted: --strict)' if args.strict else ''}: {cl.id}:"
                  f" {cl.known_failure(mode)}")
        elif cl.known_failure(mode) and verdicts[cl.id] == "pass":
            print(f"note: {cl.id} passes although it declares a known failure in {mode} mode;"
                  " remove the declaration")
    if args.json:
        payload = {
            "mode": mode,
            "overrides": args.overrides,
            "all_pass": ok,
            "claims": [
                {**ev.as_dict(), "verdict": verdicts[cl.id], "claim_verdict": ev.verdict,
                 "known_failure": cl.known_failure(mode),
                 "statement": cl.statement, "reference": cl.reference,
                 "negative_control": None if ctl is None else
                 {"description": cl.control, **ctl.as_dict()}}
                for cl, ev, ctl in rows
            ],
        }
        _write_json(Path(args.json), payload)
        print(f"wrote {args.json}")
    return 0 if ok else 1


# --- command-line layer: one-line errors, checks before computing, Ctrl-C and closed pipes ---------

PROG = "python -m verify"


def output_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written as a regular file (replacing it if it exists), or None.

    Checked by creating and removing a probe file in its directory, or in the nearest existing
    ancestor when the directory does not exist yet, so a read-only place is caught even for root.
    """
    path = Path(os.path.realpath(path))
    if path.is_dir():
        return "is a directory"
    if path.exists() and not path.is_file():
        return "exists and is not a regular file"
    anc = nearest_existing(path.parent)
    if not anc.is_dir():
        return f"{anc} is not a directory"
    problem = probe_writable(anc)
    return f"{anc} is {problem}" if problem else None


def _preflight(args: argparse.Namespace) -> str | None:
    """Argument problems found before any claim runs (one line), or None."""
    for name in args.module or ():
        try:
            found = load_module(name)
        except ValueError as err:
            why = err.__cause__
            return f"--module {name}: " + (error_summary(why) if why is not None else str(err))
        if not found:
            return f"--module {name}: registers no claim (decorate a function with verify.claim)"
    if args.cmd != "run":
        return None
    if args.workers is not None and args.workers < 1:
        return f"--workers must be an integer >= 1, got {args.workers}"
    if args.workers is not None and args.scheduler is not None:
        return "give --workers or --scheduler, not both"
    for cid in args.ids:
        try:
            get_claim(cid)
        except KeyError as err:
            return str(err.args[0])
    try:
        args.overrides = parse_sets(args.sets)
    except ValueError as err:
        return str(err)
    if args.overrides:  # every selected claim must take every override
        mode = "quick" if args.quick else "full"
        for cl in [get_claim(i) for i in args.ids] if args.ids else _selected(args):
            try:
                cl.settings(mode, args.overrides)
            except ValueError as err:
                return f"--set: {err}"
    if args.json is not None:
        problem = output_file_problem(Path(args.json))
        if problem:
            return f"--json {args.json}: {problem}"
    return None


@cli_guard(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG, description="Bound-vs-simulation claims of aimc-verify.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="claim ids and titles")
    p.add_argument("-v", "--verbose", action="store_true", help="statement, reference, control")
    p.add_argument("--module", action="append", metavar="NAME",
                   help="import NAME (a module registering claims) and list only its claims; repeatable")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("run", help="run claims and print the report; exit 0 iff all hold")
    p.add_argument("ids", nargs="*", help="claim ids (default: all)")
    p.add_argument("--quick", action="store_true", help="fast CI settings (default: full)")
    p.add_argument("--json", metavar="FILE", help="write per-claim evidence as JSON")
    p.add_argument("--no-controls", action="store_true", help="skip the negative controls")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--module", action="append", metavar="NAME",
                   help="import NAME (a module registering claims); without ids run only its claims;"
                   " repeatable")
    p.add_argument("--strict", action="store_true",
                   help="a declared known failure that fails makes the exit code 1 too")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a setting of the selected claims (repeatable), e.g. --set runs=64"
                   " --set alphas=0.1,0.05")
    p.add_argument("--workers", type=int, metavar="N",
                   help="run every claim and control as a cell on a Dask LocalCluster of N processes"
                        " (default: serial)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the cells on the existing Dask cluster at ADDRESS (e.g. tcp://host:8786)")
    p.set_defaults(fn=_cmd_run)
    args = parser.parse_args(argv)
    problem = _preflight(args)
    if problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
