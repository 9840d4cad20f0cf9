"""``python -m paper_figures list`` / ``python -m paper_figures status [--json]`` /
``python -m paper_figures [ids...|all] [--quick] [--out DIR] [--set KEY=VALUE ...]
[--workers N | --scheduler ADDRESS] [-q]``.

``--set KEY=VALUE`` (repeatable) overrides one setting of the figure's configuration for this run
(``--set tau=2 --set alphas=0.01,0.02``; tuples as comma lists, dotted keys for nested settings),
parsed to the setting's type; the result goes to ``<out>/<id>/<mode>-set-<hash>/`` with the
overrides in ``meta.json`` and in the cache key, never over the default ``<out>/<id>/<mode>/``.

``--workers N`` runs the cells of every figure (see :mod:`paper_figures._figure`, "Cells") on a Dask
``LocalCluster`` of N worker processes, ``--scheduler ADDRESS`` on an existing Dask cluster; the
default is serial, in this process. The data are the same bits either way. One progress bar over the
cells (done / cached / running) goes to stderr when it is a terminal; ``-q`` turns it off.

``status`` prints each figure's fidelity record (paper item, model, verdict, evidence; see
:mod:`paper_figures.status`), ``--json`` as a JSON list.

Exit codes: 0 done; 1 a figure could not be written; 2 bad arguments (unknown id, an ``--out``
that is not a writable directory, an unknown ``--set`` key or a value that does not parse --
checked before any computation); 130 interrupted (Ctrl-C;
nothing half-written); 141 the reader of stdout went away (``... | head``).
"""

from __future__ import annotations

import difflib
import logging
import sys
import time
from pathlib import Path

from sim.config import parse_sets
from verify._cli import OneLineParser as _Parser
from verify._cli import cli_guard, nearest_existing, probe_writable

from ._figure import DEFAULT_OUT

PROG = "python -m paper_figures"


def output_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used (created if needed, then written) as an output directory, or
    None if it can (probed in the nearest existing ancestor when it does not exist yet)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return "exists and is not a directory"
    anc = nearest_existing(path)
    if not anc.is_dir():
        return f"{anc} is not a directory"
    problem = probe_writable(anc)
    if problem and anc != path:
        return f"cannot be created: {anc} is {problem}"
    return problem


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


@cli_guard(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog=PROG,
        description="Regenerate the papers' figures (data + metadata sidecar + PNG/PDF).",
    )
    parser.add_argument("ids", nargs="*", default=["all"],
                        help="figure ids, 'all' (default), 'list' to list them, or 'status' for "
                             "each figure's fidelity record")
    parser.add_argument("--quick", action="store_true", help="fast settings (CI); default: full")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="recompute even if cached")
    parser.add_argument("--no-plot", action="store_true", help="compute/cache data only")
    parser.add_argument("--json", action="store_true", help="with 'status': print a JSON list")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                        help="override a setting of the figure's configuration (repeatable), e.g."
                             " --set tau=2 --set alphas=0.01,0.02")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="run the figures' cells on a Dask LocalCluster of N processes "
                             "(default: serial)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the cells on the existing Dask cluster at ADDRESS "
                             "(e.g. tcp://host:8786)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        return _fail(f"--workers must be an integer >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        return _fail("give --workers or --scheduler, not both")
    try:
        overrides = parse_sets(args.sets)
    except ValueError as err:
        return _fail(str(err))
    if "status" in args.ids:
        if len(args.ids) > 1:
            return _fail(f"'status' takes no figure ids (got {' '.join(args.ids)})")
        from .status import as_json, text_table

        print(as_json() if args.json else text_table())
        return 0
    if args.json:
        return _fail("--json is only valid with 'status'")
    listing = "list" in args.ids
    if listing and len(args.ids) > 1:
        return _fail(f"'list' takes no figure ids (got {' '.join(args.ids)})")
    if listing and overrides:
        return _fail("--set is not valid with 'list'")
    if not listing:
        problem = output_dir_problem(args.out)
        if problem:
            return _fail(f"--out {args.out}: {problem}")

    from ._figure import BuildResult, FigureSpec, all_figures, build_all

    figs = all_figures()
    if listing:
        width = max(map(len, figs))
        for fid, spec in figs.items():
            print(f"{fid:<{width}}  {spec.title}  [{spec.reference}]")
        return 0
    unknown = [i for i in args.ids if i != "all" and i not in figs]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], list(figs), n=1)
        return _fail(f"unknown figure id{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                     + (f" (did you mean {hint[0]!r}?)" if hint else "")
                     + f"; see `{PROG} list`")
    ids = list(figs) if "all" in args.ids else list(dict.fromkeys(args.ids))
    mode = "quick" if args.quick else "full"
    for fid in ids:  # every override must fit every figure before anything is computed
        try:
            figs[fid].config(mode, overrides)
        except ValueError as err:
            return _fail(f"--set: {err}")
    # cache warnings (damaged data, recomputed) as one line each on stderr
    logger = logging.getLogger("paper_figures")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
    logger.addHandler(handler)
    t0 = time.perf_counter()

    parallel = args.workers is not None or args.scheduler is not None
    building: list[str] = []  # serial: the figure whose line is open

    def starting(spec: FigureSpec) -> None:
        if not parallel:  # serial: the line is completed by report()
            print(f"{spec.id} ({mode}) ...", end=" ", flush=True)
            building[:] = [spec.id]

    def report(res: BuildResult) -> None:
        how = "cached data" if res.cached else \
            "computed" + (f" ({res.reason})" if res.reason.startswith("stale") else "")
        if res.cells and not res.cached:
            how += f" ({res.cells} cells, {res.cells_cached} cached)"
        shown = [str(f) for f in res.files if f.suffix in (".png", ".md")]
        print(f"{f'{res.id} ({mode}): ' if parallel else ''}{how}, {res.elapsed:.1f}s -> "
              f"{', '.join(shown) or res.files[0].parent}", flush=True)
        building.clear()

    from sim.sweep import Engine

    try:
        with Engine(args.workers, args.scheduler) as engine:
            build_all([figs[f] for f in ids], mode, args.out, force=args.force,
                      render=not args.no_plot, executor=engine.executor, slots=engine.slots,
                      progress=False if args.quiet else None, overrides=overrides,
                      on_start=starting, on_result=report)
    except OSError as err:
        if building:
            print("failed", flush=True)
        return _fail(f"{building[0] if building else 'a figure'}: cannot write its output: {err}", 1)
    finally:
        logger.removeHandler(handler)
    print(f"{len(ids)} figure(s) in {time.perf_counter() - t0:.1f}s; output in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
