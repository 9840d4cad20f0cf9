"""``python -m theory``: every bad input ends in one line and a documented exit code, never a traceback.

Exit codes (``theory/__main__.py``): 0 ok, 2 bad input, 3 an assumption violated, 130 interrupted,
141 stdout closed by its reader. The cases below are the ones of issue 11 ("Command lines") and
issue 16 (vector-valued derivations), plus ``eval`` on every registered statement.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import theory
from tests.theory._values import plausible
from theory.__main__ import main

ALL = theory.ids()
ALD = ["asgd.upper.ald", "Delta_0=0.42", "sigma=0.63", "L=0.6", "W_max=0.6", "tau=1"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "theory", *args], capture_output=True, text=True,
                          timeout=300)


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {stderr!r}"
    assert "Traceback" not in stderr
    return lines[0]


# --- issue 11: the attempts, through a real process ---------------------------------------------------

@pytest.mark.parametrize(("extra", "needle"), [
    (["K=2000", "S_K=nan"], "S_K must be a real >= 0; got S_K = nan"),
    (["K=0", "S_K=0.5"], "K must be an integer >= 1; got K = 0"),
    (["K=-5", "S_K=0.5"], "K must be an integer >= 1; got K = -5"),
    (["K=2.5", "S_K=0.5"], "K must be an integer >= 1; got K = 2.5"),
    (["K=inf", "S_K=0.5"], "K must be an integer >= 1; got K = inf"),
    (["K=2000", "S_K=-3"], "S_K must be a real >= 0; got S_K = -3"),
    (["K=2000", "S_K=0.5", "tau=-1"], "given twice"),  # tau=1 is in ALD already
    (["K=2000", "K=3", "S_K=0.5"], "K given twice"),
    (["K=2000"], "missing value(s) for S_K"),
    (["K=2000", "S_K=0.5", "bogus=1"], "has no symbol bogus"),
    (["K=2000", "S_K=abc"], "value of S_K is not a number"),
    (["K2000", "S_K=0.5"], "expected name=value"),
])
def test_eval_bad_input_is_one_line_exit_2(extra, needle):
    out = _cli("eval", *ALD, *extra)
    assert out.returncode == 2, out
    assert needle in _one_error_line(out.stderr)
    assert out.stdout == ""


def test_eval_negative_tau_is_rejected_not_squared_away():
    # rho = W_max/tau enters squared: tau = -1 used to return the tau = 1 value
    out = _cli("eval", "asgd.upper.ald", "Delta_0=0.42", "sigma=0.63", "L=0.6", "W_max=0.6", "tau=-1",
               "K=2000", "S_K=0.5")
    assert out.returncode == 2 and "tau must be a real > 0; got tau = -1" in _one_error_line(out.stderr)


def test_eval_ok_prints_value_and_assumptions():
    out = _cli("eval", *ALD, "K=2000", "S_K=0.5")
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    # 4/(1 - 0.36) sqrt(0.42 * 0.63^2 * 0.6 / 2000) + 2 * 0.63^2 * 0.5
    assert float(lines[0]) == pytest.approx(4 / 0.64 * math.sqrt(0.42 * 0.63**2 * 0.6 / 2000) + 0.63**2)
    assert any(line.split()[:2] == ["saturation", "holds"] for line in lines)


def test_eval_violated_assumption_exit_3():
    out = _cli("eval", "asgd.upper.ald", "Delta_0=0.42", "sigma=0.63", "L=0.6", "W_max=1.5", "tau=1",
               "K=2000", "S_K=0.5")
    assert out.returncode == 3
    assert "assumption 'saturation'" in _one_error_line(out.stderr)
    assert "VIOLATED" in out.stdout


def test_eval_checks_assumption_only_names():
    # rl.corollary1's value does not contain gamma or c, its assumptions do: they may be given
    base = ["rl.corollary1", "C_RL=1", "Delta_0=1", "sigma=0.3", "L=1", "K=1000", "P_max=0.1", "tau=1"]
    out = _cli("eval", *base)
    assert out.returncode == 0, out
    assert "not checked (give gamma)" in out.stdout and "not checked (give c)" in out.stdout
    out = _cli("eval", *base, "gamma=0.4", "c=0")
    assert out.returncode == 0 and "not checked" not in out.stdout, out
    out = _cli("eval", *base, "gamma=0.4", "c=0.2")
    assert out.returncode == 3 and "assumption 'zero_symmetric_point'" in _one_error_line(out.stderr)
    out = _cli("eval", *base, "gamma=-0.4", "c=0")
    assert out.returncode == 2
    assert "gamma must be a real >= 0; got gamma = -0.4" in _one_error_line(out.stderr)


@pytest.mark.parametrize(("sid", "values", "expected"), [
    ("tt.p_fixed_point.shifted", ["tau=2", "c=0.3", "mu_g=0.1", "m_g=0.5"], 3),
    ("device.soft_bounds.identities", ["tau=2", "w=0.3"], 4),
    ("certify.worst_noise_floor", ["mu_g=0.1", "s=0.3", "u=0.2"], 3),
])
def test_eval_vector_derivations(sid, values, expected):
    out = _cli("eval", sid, *values)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out
    first = out.stdout.splitlines()[0]
    assert first.startswith("[") and first.endswith("]")
    nums = [float(x) for x in first[1:-1].split(",")]
    assert len(nums) == expected and all(math.isfinite(x) for x in nums)


def test_unknown_id_one_line():
    out = _cli("show", "nope.nope")
    assert out.returncode == 2 and "no theory statement" in _one_error_line(out.stderr)


def test_list_into_head_exits_quietly():
    # the reader goes away after one line: no BrokenPipeError traceback, SIGPIPE-style exit 141
    proc = subprocess.Popen(f"'{sys.executable}' -m theory list | head -1", shell=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0  # head's status
    assert len(stdout.splitlines()) == 1
    assert stderr == "", stderr
    # with pipefail the writer's own status shows: 0 if all of stdout fit in the pipe before head
    # closed it (a race), else 141 -- never 1 with a traceback
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; '{sys.executable}' -m theory list | head -1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 141) and proc.stderr == ""


def test_broken_pipe_in_process_exits_141(monkeypatch, capsys):
    # deterministic version of the race above: stdout raises BrokenPipeError on write
    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("theory.__main__._cmd_list", broken)
    assert main(["list"]) == 141
    assert capsys.readouterr().err == ""


def test_ctrl_c_one_line_exit_130():
    code = ("import os, signal, sys\n"
            "from theory import __main__ as m\n"
            "m._cmd_list = lambda args: os.kill(os.getpid(), signal.SIGINT) or 0\n"
            "sys.exit(m.main(['list']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 130
    assert _one_error_line(out.stderr) == "interrupted"


# --- eval on every registered statement (in process: the same main(), no interpreter start each) -----

def _run(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("sid", ALL)
def test_eval_every_statement_plausible_values(sid, capsys):
    st = theory.get(sid)
    values = plausible(st.symbols + st.assumption_symbols)
    code, out, err = _run(capsys, ["eval", sid, *(f"{k}={v!r}" for k, v in values.items())])
    assert code == 0, (code, err)
    first = out.splitlines()[0]
    nums = [float(x) for x in first.strip("[]").split(",")]
    assert nums and all(math.isfinite(x) for x in nums), first
    assert err == ""


@pytest.mark.parametrize("sid", ALL)
def test_eval_every_statement_rejects_nan_and_missing(sid, capsys):
    st = theory.get(sid)
    values = plausible(st.symbols)
    if not values:  # a constant (e.g. a limit equal to 1): any name is unknown
        code, out, err = _run(capsys, ["eval", sid, "K=10"])
        assert code == 2 and out == "" and "has no symbol K" in _one_error_line(err)
        return
    first = sorted(values)[0]
    bad = {**values, first: float("nan")}
    code, out, err = _run(capsys, ["eval", sid, *(f"{k}={v!r}" for k, v in bad.items())])
    assert code == 2 and out == "" and f"got {first} = nan" in _one_error_line(err)
    rest = {k: v for k, v in values.items() if k != first}
    code, out, err = _run(capsys, ["eval", sid, *(f"{k}={v!r}" for k, v in rest.items())])
    assert code == 2 and out == "" and f"missing value(s) for {first}" in _one_error_line(err)


@pytest.mark.parametrize("argv", [[], ["eval"], ["list", "--kind", "foo"], ["frob"], ["show"]])
def test_usage_errors_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    assert _one_error_line(cap.err).startswith("error: ")


@pytest.mark.parametrize("sid", ALL)
def test_show_every_statement(sid, capsys):
    code, out, err = _run(capsys, ["show", sid])
    assert code == 0 and err == ""
    assert out.startswith(sid) and "Provenance" in out
