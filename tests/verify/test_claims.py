"""Every claim passes in quick mode and its negative control fails (full mode: slow)."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from verify import get_claim, load_module

#: the built-in claims (not those of modules or entry-point plug-ins loaded in this process)
BUILTIN = load_module("verify.claims")
IDS = [c.id for c in BUILTIN]

#: Claims whose full mode honestly fails declare it on the claim (``known_failures``; README claims
#: table, status "fails (full)"). strict=True: the day one passes, the test says so and the declaration
#: (and the README status) must go.
FULL_IDS = [pytest.param(c.id, marks=pytest.mark.xfail(reason=c.known_failure("full"), strict=True))
            if c.known_failure("full") else c.id for c in BUILTIN]


def test_known_full_mode_failures_are_declared_on_their_claims():
    """The README claims table's "fails (full)" statuses are exactly the declared known failures."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    in_readme = set(re.findall(r"^\| `([\w.]+)` \|.*fails \(full\)", readme, flags=re.M))
    declared = {c.id for c in BUILTIN if c.known_failure("full")}
    assert in_readme and declared == in_readme
    assert not any(c.known_failure("quick") for c in BUILTIN), "quick mode must pass in CI"


def _assert_honest(ev):
    assert ev.checks, "a claim must make at least one check"
    for c in ev.checks:
        assert c.reason, f"{c.name}: every check states why its tolerance is what it is"
        assert c.tolerance >= 0 and (c.se >= 0 or math.isnan(c.se))


@pytest.mark.parametrize("cid", IDS)
def test_claim_quick_passes_and_control_fails(cid):
    claim = get_claim(cid)
    assert claim.statement and claim.reference and claim.control
    ev = claim.run("quick")
    _assert_honest(ev)
    failed = [(c.name, c.measured, c.predicted, c.tolerance) for c in ev.checks if not c.passed]
    assert ev.verdict == "pass", failed
    ctl = claim.run("quick", control=True)
    assert ctl.verdict == "fail", "negative control passed: the checks have no power"


@pytest.mark.slow
@pytest.mark.parametrize("cid", FULL_IDS)
def test_claim_full_passes_and_control_fails(cid):
    claim = get_claim(cid)
    ev = claim.run("full")
    assert ev.verdict == "pass", [c for c in ev.checks if not c.passed]
    assert claim.run("full", control=True).verdict == "fail"


def test_unknown_claim_and_mode():
    with pytest.raises(KeyError, match="no claim"):
        get_claim("nope")
    with pytest.raises(ValueError, match="mode"):
        get_claim(IDS[0]).run("medium")


def test_cli_list_and_run_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "verify", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and all(i in out.stdout for i in IDS)
    path = tmp_path / "r.json"
    out = subprocess.run([sys.executable, "-m", "verify", "run", "asgd.lower_bound_instance",
                          "--quick", "--json", str(path), "-q"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "asgd.lower_bound_instance" in out.stdout and "fails ✓" in out.stdout
    data = json.loads(path.read_text())
    (rec,) = data["claims"]
    assert data["all_pass"] and rec["verdict"] == "pass"
    for key in ("bound", "measured", "uncertainty", "verdict", "checks"):
        assert key in rec
    assert rec["negative_control"]["verdict"] == "fail"
    out = subprocess.run([sys.executable, "-m", "verify", "run", "nope", "--quick"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "no claim" in out.stderr
