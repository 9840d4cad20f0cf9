"""Command-line plumbing shared by ``python -m verify`` and ``python -m paper_figures``.

One-line argument errors, a writability probe for output paths (checked before any computation),
and a guard that turns Ctrl-C into ``interrupted`` / exit 130 and a closed stdout into a quiet exit
141. (``python -m theory`` has its own copy: ``theory`` is a leaf and imports nothing of ``verify``.)
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class OneLineParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (``prog: error: ... (see --help)``), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing ancestor."""
    anc = Path(path)
    while not anc.exists() and anc.parent != anc:
        anc = anc.parent
    return anc


def probe_writable(directory: Path) -> str | None:
    """``None`` if a file can be created in ``directory`` (by creating and removing a probe, so a
    read-only place is caught even for root), else why not."""
    probe = Path(directory) / f".aimc-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as err:
        return f"not writable ({err.strerror})"
    return None


def install_sigint_handler() -> Callable[[], None]:
    """Make Ctrl-C raise ``KeyboardInterrupt`` in ordinary code only: a SIGINT that arrives while a
    finalizer (``__del__``) runs would be printed as "Exception ignored" and lost (seen with tqdm),
    so it is re-delivered 50 ms later through SIGALRM. Leaves things alone when SIGINT is not
    Python's default (ignored, or handled by an embedding program). Returns the undo function."""
    if (not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        return lambda: None
    saved: dict[str, Any] = {}

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
            restore = install_sigint_handler()
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
