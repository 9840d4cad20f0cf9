"""The runner never aborts: an exception is one claim's verdict `error`, a control that stops
failing is `broken`, the other claims still run, and the exit code is non-zero."""

import json

import pytest

from verify import _claim
from verify.__main__ import main
from verify._claim import Claim, Evidence, error_summary, holds, row_verdict


def _ok(mode, control):
    return [holds("fact", not control, "the control flips the fact")]


def _raises(mode, control):
    raise ZeroDivisionError("float division by zero\nsecond line is dropped")


def _control_raises(mode, control):
    if control:
        raise RuntimeError("control exploded")
    return [holds("fact", True, "always")]


def _powerless(mode, control):
    return [holds("fact", True, "holds with and without the perturbation")]


def _interrupted(mode, control):
    raise KeyboardInterrupt


FAKES = {
    "zz_fake.ok": _ok,
    "zz_fake.raises": _raises,
    "zz_fake.control_raises": _control_raises,
    "zz_fake.powerless": _powerless,
    "zz_fake.interrupted": _interrupted,
}


@pytest.fixture
def fakes(monkeypatch):
    _claim.all_claims()  # register the real claims first (the registry is then complete)
    for cid, fn in FAKES.items():
        monkeypatch.setitem(_claim._CLAIMS, cid, Claim(cid, cid, "s", "r", "c", fn))


def test_error_summary_is_one_line():
    assert error_summary(ValueError("a\nb")) == "ValueError: a"
    assert error_summary(KeyError()) == "KeyError"


def test_run_guarded_turns_an_exception_into_the_verdict_error(fakes):
    ev = _claim.get_claim("zz_fake.raises").run_guarded("quick")
    assert ev.verdict == "error" and ev.checks == []
    assert ev.error == "ZeroDivisionError: float division by zero"
    assert ev.as_dict()["error"] == ev.error
    with pytest.raises(ZeroDivisionError):  # the plain run still raises (tests see the traceback)
        _claim.get_claim("zz_fake.raises").run("quick")


def test_keyboard_interrupt_still_interrupts(fakes):
    with pytest.raises(KeyboardInterrupt):
        _claim.get_claim("zz_fake.interrupted").run_guarded("quick")


def test_row_verdict():
    def ev(checks, error=None):
        return Evidence("x", "x", "quick", False, checks, 0.0, error=error)

    good, bad = ev([holds("a", True, "r")]), ev([holds("a", False, "r")])
    err = ev([], error="E: m")
    assert row_verdict(good, bad) == "pass"
    assert row_verdict(good, None) == "pass"
    assert row_verdict(good, good) == "broken"
    assert row_verdict(bad, bad) == "fail"
    assert row_verdict(err, bad) == "error"
    assert row_verdict(good, err) == "error"
    assert row_verdict(bad, err) == "fail"


def test_cli_reports_error_and_broken_and_goes_on(fakes, tmp_path, capsys):
    path = tmp_path / "r.json"
    ids = ["zz_fake.raises", "zz_fake.ok", "zz_fake.powerless", "zz_fake.control_raises"]
    rc = main(["run", *ids, "--quick", "-q", "--json", str(path)])
    out = capsys.readouterr().out
    assert rc == 1
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("zz_fake.")}
    assert set(rows) == set(ids)  # every claim has its row: the exception did not stop the run
    assert rows["zz_fake.raises"].split()[1] == "ERROR"
    assert "ZeroDivisionError: float division by zero" in rows["zz_fake.raises"]
    assert rows["zz_fake.ok"].split()[1] == "pass" and "fails ✓" in rows["zz_fake.ok"]
    assert rows["zz_fake.powerless"].split()[1] == "BROKEN"
    assert rows["zz_fake.control_raises"].split()[1] == "ERROR"
    assert "RuntimeError: control exploded" in rows["zz_fake.control_raises"]
    assert "1/4 claims hold" in out
    data = json.loads(path.read_text())
    assert data["all_pass"] is False
    rec = {r["id"]: r for r in data["claims"]}
    assert rec["zz_fake.raises"]["verdict"] == "error"
    assert rec["zz_fake.raises"]["error"] == "ZeroDivisionError: float division by zero"
    assert rec["zz_fake.ok"]["verdict"] == "pass"
    assert rec["zz_fake.powerless"]["verdict"] == "broken"
    assert rec["zz_fake.powerless"]["claim_verdict"] == "pass"
    assert rec["zz_fake.powerless"]["negative_control"]["verdict"] == "pass"
    assert rec["zz_fake.control_raises"]["verdict"] == "error"
    assert rec["zz_fake.control_raises"]["negative_control"]["error"] == (
        "RuntimeError: control exploded")


def test_cli_exit_zero_when_all_hold(fakes, capsys):
    assert main(["run", "zz_fake.ok", "--quick", "-q"]) == 0
    assert main(["run", "zz_fake.powerless", "--quick", "-q", "--no-controls"]) == 0
    capsys.readouterr()


def test_cli_keyboard_interrupt_stops_the_run(fakes, capsys):
    # not turned into a verdict: the whole run stops (the CLI guard's exit code 130, no table)
    assert main(["run", "zz_fake.ok", "zz_fake.interrupted", "--quick", "-q"]) == 130
    out, err = capsys.readouterr()
    assert "claims hold" not in out and "interrupted" in err
