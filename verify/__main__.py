"""``python -m verify list`` / ``python -m verify run [ids...] [--quick] [--json FILE]``.

``run`` prints one row per claim and exits 0 iff every claim passes and every negative control
fails (a control that passes means the claim's checks have no power, which is a defect too).
A claim (or its control) that raises is reported with the verdict ``error`` and the exception's
one-line summary, and the run goes on; a claim whose control does not fail is ``broken``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ._claim import Check, Claim, Evidence, all_claims, get_claim, row_verdict


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
        verdict = row_verdict(ev, ctl)
        lines.append((cl.id, verdict.upper() if verdict != "pass" else "pass",
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)
    os.replace(tmp, path)


def _cmd_list(args: argparse.Namespace) -> int:
    claims = all_claims()
    width = max(len(c.id) for c in claims)
    for c in claims:
        print(f"{c.id:<{width}}  {c.title}")
        if args.verbose:
            print(f"{'':<{width}}  statement: {c.statement}\n{'':<{width}}  reference: "
                  f"{c.reference}\n{'':<{width}}  control:   {c.control}\n")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    mode = "quick" if args.quick else "full"
    try:
        claims = [get_claim(i) for i in args.ids] if args.ids else all_claims()
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    rows = []
    t0 = time.perf_counter()
    for cl in claims:
        if not args.quiet:
            print(f"running {cl.id} ({mode})...", file=sys.stderr, flush=True)
        # one claim's exception is its verdict `error`, never the end of the run
        ev = cl.run_guarded(mode)
        ctl = None if args.no_controls else cl.run_guarded(mode, control=True)
        rows.append((cl, ev, ctl))
    print(f"aimc-verify claims ({mode} mode), {time.perf_counter() - t0:.1f}s\n")
    print(_table(rows))
    if args.verbose:
        for _, ev, ctl in rows:
            print("\n" + _details(ev))
            if ctl is not None:
                print(_details(ctl))
    verdicts = {cl.id: row_verdict(ev, ctl) for cl, ev, ctl in rows}
    ok = all(v == "pass" for v in verdicts.values())
    failed = [f"{i} ({v})" for i, v in verdicts.items() if v != "pass"]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} claims hold"
          + ("" if args.no_controls else " with failing negative controls")
          + (f"; not holding: {', '.join(failed)}" if failed else ""))
    if args.json:
        payload = {
            "mode": mode,
            "all_pass": ok,
            "claims": [
                {**ev.as_dict(), "verdict": verdicts[cl.id], "claim_verdict": ev.verdict,
                 "statement": cl.statement, "reference": cl.reference,
                 "negative_control": None if ctl is None else
                 {"description": cl.control, **ctl.as_dict()}}
                for cl, ev, ctl in rows
            ],
        }
        _write_json(Path(args.json), payload)
        print(f"wrote {args.json}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify",
                                     description="Bound-vs-simulation claims of aimc-verify.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="claim ids and titles")
    p.add_argument("-v", "--verbose", action="store_true", help="statement, reference, control")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("run", help="run claims and print the report; exit 0 iff all hold")
    p.add_argument("ids", nargs="*", help="claim ids (default: all)")
    p.add_argument("--quick", action="store_true", help="fast CI settings (default: full)")
    p.add_argument("--json", metavar="FILE", help="write per-claim evidence as JSON")
    p.add_argument("--no-controls", action="store_true", help="skip the negative controls")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(fn=_cmd_run)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
