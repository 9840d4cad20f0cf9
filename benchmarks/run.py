"""Run every ``benchmarks/bench_*.py``; print a table, write JSON, exit 1 if a target is missed.

``python benchmarks/run.py [names...] [--smoke]``; ``--smoke`` runs tiny sizes and evaluates no
targets (the test suite uses it to keep the benchmarks runnable).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules (default: all bench_*.py)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "benchmarks.json")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in HERE.glob("bench_*.py"))
    report, missed = [], []
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        for res in mod.run(smoke=args.smoke):
            print(f"\n== {res.name}")
            for label, value, unit in res.rows:
                print(f"  {label:<45} {value:10.4g} {unit}")
            for t in res.targets:
                status = "n/a (smoke)" if args.smoke else ("met" if t.met else "MISSED")
                print(f"  target {t.name:<38} {t.value:10.4g} <= {t.limit:g} {t.unit}: {status}")
                if not args.smoke and not t.met:
                    missed.append(f"{res.name}: {t.name}")
            report.append({"benchmark": res.name, "rows": res.rows,
                           "targets": [vars(t) | {"met": t.met} for t in res.targets]})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": platform.platform(), "smoke": args.smoke,
                                     "results": report}, indent=2))
    if missed:
        print(f"\nmissed targets: {missed}")
        return 1
    print("\nall targets met" if not args.smoke else "\nsmoke run (no targets evaluated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
