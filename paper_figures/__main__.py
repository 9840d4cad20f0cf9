"""``python -m paper_figures list`` / ``python -m paper_figures [ids...|all] [--quick] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._figure import DEFAULT_OUT, all_figures, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m paper_figures",
        description="Regenerate the papers' figures (data + metadata sidecar + PNG/PDF).",
    )
    parser.add_argument("ids", nargs="*", default=["all"],
                        help="figure ids, 'all' (default), or 'list' to list them")
    parser.add_argument("--quick", action="store_true", help="fast settings (CI); default: full")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="recompute even if cached")
    parser.add_argument("--no-plot", action="store_true", help="compute/cache data only")
    args = parser.parse_args(argv)
    figs = all_figures()
    if args.ids == ["list"]:
        width = max(map(len, figs))
        for fid, spec in figs.items():
            print(f"{fid:<{width}}  {spec.title}  [{spec.reference}]")
        return 0
    ids = list(figs) if args.ids == ["all"] or "all" in args.ids else args.ids
    unknown = [i for i in ids if i not in figs]
    if unknown:
        print(f"error: unknown figure id(s) {unknown}; available: {list(figs)}", file=sys.stderr)
        return 2
    mode = "quick" if args.quick else "full"
    t0 = time.perf_counter()
    for fid in ids:
        print(f"{fid} ({mode}) ...", end=" ", flush=True)
        res = build(figs[fid], mode, args.out, force=args.force, render=not args.no_plot)
        how = "cached data" if res.cached else "computed"
        shown = [str(f) for f in res.files if f.suffix in (".png", ".md")]
        print(f"{how}, {res.elapsed:.1f}s -> {', '.join(shown) or res.files[0].parent}")
    print(f"{len(ids)} figure(s) in {time.perf_counter() - t0:.1f}s; output in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
