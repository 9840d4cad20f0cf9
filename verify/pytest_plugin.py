"""pytest plug-in: every claim of a module becomes one test item.

Installed with the package (entry point ``pytest11``: ``aimc_verify``), so in a project that
depends on aimc-verify::

    pytest --aimc-claims=mylab.claims                 # quick mode (the default)
    pytest --aimc-claims=mylab.claims --aimc-mode full -k floor -n 2 --junitxml=claims.xml

``--aimc-claims`` (repeatable) imports the module, which registers claims with
:func:`verify.claim`; each claim defined in it (or its submodules) is collected as an item whose
node id is the claim id. The item passes iff the claim passes and its negative control fails; it
fails if a check fails, the claim raises, or the control does not fail (the claim is ``broken``:
its checks cannot see the perturbation). A claim that declares a known failure in the mode
(``known_failures={"full": "why"}``) is a strict expected failure: reported ``xfail`` while it
fails, and a failure (``XPASS(strict)``) the day it passes. ``--aimc-no-controls`` skips the
controls. Without ``--aimc-claims`` the plug-in adds nothing.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ._claim import MODES, Claim, Evidence, load_module


class ClaimFailure(Exception):
    """A claim did not hold (message: the verdict and every check)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aimc-verify", "aimc-verify claims as test items")
    group.addoption("--aimc-claims", action="append", default=[], metavar="MODULE",
                    help="import MODULE (registers claims with verify.claim) and collect each of its"
                    " claims as a test item; repeatable")
    group.addoption("--aimc-mode", default="quick", choices=MODES,
                    help="mode the claims run in (default: quick)")
    group.addoption("--aimc-no-controls", action="store_true",
                    help="do not run the negative controls")


_CLAIMS_KEY = pytest.StashKey[list[Claim]]()


def pytest_configure(config: pytest.Config) -> None:
    """Import the ``--aimc-claims`` modules (a usage error, one line, if one cannot be)."""
    config.stash[_CLAIMS_KEY] = _claims(config)


def _claims(config: pytest.Config) -> list[Claim]:
    found: dict[str, Claim] = {}
    for name in config.getoption("aimc_claims"):
        try:
            claims = load_module(name)
        except ValueError as err:
            raise pytest.UsageError(f"--aimc-claims {name}: {err}") from None
        if not claims:
            raise pytest.UsageError(f"--aimc-claims {name}: the module registers no claim")
        found.update((c.id, c) for c in claims)
    return [found[i] for i in sorted(found)]


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Add one :class:`ClaimItem` per claim to the session's own collection (so the items are
    counted, deselected by ``-k``/``-m`` and distributed by xdist like any other)."""
    rep = yield
    if isinstance(collector, pytest.Session) and rep.passed:
        config = collector.config
        mode = config.getoption("aimc_mode")
        for cl in config.stash.get(_CLAIMS_KEY, []):
            item = ClaimItem.from_parent(collector, name=cl.id, nodeid=cl.id, claim=cl, mode=mode)
            why = cl.known_failure(mode)
            if why:
                item.add_marker(pytest.mark.xfail(reason=why, strict=True, raises=ClaimFailure))
            rep.result.append(item)
    return rep


def _report(ev: Evidence) -> str:
    lines = [f"{ev.claim_id}{' [negative control]' if ev.control else ''} ({ev.mode}): {ev.verdict}"]
    for c in ev.checks:
        mark = {True: "ok  ", False: "FAIL", None: "n/a "}[c.passed]
        se = f" ± {c.se:.2g}" if c.se else ""
        lines.append(f"  [{mark}] {c.name}: {c.measured:.4g}{se} {c.relation} {c.predicted:.4g}"
                     f" (tol {c.tolerance:.2g}: {c.reason})")
    return "\n".join(lines)


class ClaimItem(pytest.Item):
    """One claim run as a test (see the module docstring for the verdicts)."""

    def __init__(self, *, claim: Claim, mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.mode = mode
        self.user_properties.append(("aimc_mode", mode))

    def runtest(self) -> None:
        ev = self.claim.run(self.mode)  # an exception propagates: the item fails with its traceback
        if ev.verdict != "pass":
            raise ClaimFailure(f"claim does not hold (verdict {ev.verdict})\n{_report(ev)}")
        if self.config.getoption("aimc_no_controls"):
            return
        ctl = self.claim.run(self.mode, control=True)
        if ctl.verdict != "fail":
            raise ClaimFailure(f"broken: the negative control ({self.claim.control}) does not fail"
                               f" (verdict {ctl.verdict}), so the checks have no power\n{_report(ctl)}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        fn = self.claim.fn
        try:
            path = Path(inspect.getsourcefile(fn) or ".")
            line = inspect.getsourcelines(fn)[1] - 1
        except (OSError, TypeError):
            path, line = Path("."), None
        return path, line, f"claim {self.claim.id}"
