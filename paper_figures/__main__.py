"""``python -m paper_figures list`` / ``python -m paper_figures [ids...|all] [--quick] [--out DIR]``.

Exit codes: 0 done; 1 a figure could not be written; 2 bad arguments (unknown id, an ``--out``
that is not a writable directory -- checked before any computation); 130 interrupted (Ctrl-C;
nothing half-written); 141 the reader of stdout went away (``... | head``).
"""

from __future__ import annotations

import argparse
import difflib
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ._figure import DEFAULT_OUT

PROG = "python -m paper_figures"


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (``prog: error: ... (see --help)``), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def output_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used (created if needed, then written) as an output directory, or
    None if it can: checked by creating and removing a probe file in it, or in the nearest existing
    ancestor when it does not exist yet (so a read-only place is caught even for root)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return "exists and is not a directory"
    anc = path
    while not anc.exists():
        if anc.parent == anc:
            break
        anc = anc.parent
    if not anc.is_dir():
        return f"{anc} is not a directory"
    probe = anc / f".aimc-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as err:
        where = "" if anc == path else f"cannot be created: {anc} is "
        return f"{where}not writable ({err.strerror})"
    return None


def _install_sigint_handler() -> Callable[[], None]:
    """Make Ctrl-C raise ``KeyboardInterrupt`` in ordinary code only: a SIGINT that arrives while a
    finalizer (``__del__``) runs would be printed as "Exception ignored" and lost (seen with tqdm),
    so it is re-delivered 50 ms later through SIGALRM. Leaves things alone when SIGINT is not
    Python's default (ignored, or handled by an embedding program). Returns the undo function."""
    if (not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        return lambda: None
    saved: dict[str, object] = {}

    def on_interrupt(signum, frame):
        f = frame
        while f is not None:
            if f.f_code.co_name == "__del__":
                if "alarm" not in saved:
                    saved["alarm"] = signal.signal(signal.SIGALRM, on_interrupt)
                signal.setitimer(signal.ITIMER_REAL, 0.05)
                return
            f = f.f_back
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)

    def restore() -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if "alarm" in saved:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, saved["alarm"])

    return restore


def cli_guard(prog: str) -> Callable:
    """Decorate a CLI ``main(argv) -> int``: Ctrl-C prints one line ``interrupted`` and returns 130;
    a closed stdout (``| head``) returns 141 quietly (stdout redirected to ``/dev/null`` so the
    interpreter's final flush cannot fail either)."""

    def wrap(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
        @functools.wraps(main)
        def guarded(argv: list[str] | None = None) -> int:
            restore = _install_sigint_handler()
            try:
                rc = main(argv)
                sys.stdout.flush()
                return rc
            except KeyboardInterrupt:
                if sys.stdout.isatty():
                    print(flush=True)
                print(f"{prog}: interrupted", file=sys.stderr, flush=True)
                return 130
            except BrokenPipeError:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
                return 141
            finally:
                restore()

        return guarded

    return wrap


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
                        help="figure ids, 'all' (default), or 'list' to list them")
    parser.add_argument("--quick", action="store_true", help="fast settings (CI); default: full")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="recompute even if cached")
    parser.add_argument("--no-plot", action="store_true", help="compute/cache data only")
    args = parser.parse_args(argv)
    listing = "list" in args.ids
    if listing and len(args.ids) > 1:
        return _fail(f"'list' takes no figure ids (got {' '.join(args.ids)})")
    if not listing:
        problem = output_dir_problem(args.out)
        if problem:
            return _fail(f"--out {args.out}: {problem}")

    from ._figure import all_figures, build

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
    # cache warnings (damaged data, recomputed) as one line each on stderr
    logger = logging.getLogger("paper_figures")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
    logger.addHandler(handler)
    t0 = time.perf_counter()
    try:
        for fid in ids:
            print(f"{fid} ({mode}) ...", end=" ", flush=True)
            try:
                res = build(figs[fid], mode, args.out, force=args.force, render=not args.no_plot)
            except OSError as err:
                print("failed", flush=True)
                return _fail(f"{fid}: cannot write its output: {err}", 1)
            how = "cached data" if res.cached else \
                "computed" + (f" ({res.reason})" if res.reason.startswith("stale") else "")
            shown = [str(f) for f in res.files if f.suffix in (".png", ".md")]
            print(f"{how}, {res.elapsed:.1f}s -> {', '.join(shown) or res.files[0].parent}")
    finally:
        logger.removeHandler(handler)
    print(f"{len(ids)} figure(s) in {time.perf_counter() - t0:.1f}s; output in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
