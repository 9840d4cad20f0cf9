"""Command lines of ``paper_figures`` and ``verify`` (issue 11, "Command lines"): output paths and ids
are checked before any computation (exit 2, one line naming the path and the problem), Ctrl-C prints
one line and exits 130 leaving nothing behind, a closed stdout ends quietly, argument errors are one
line. The console scripts ``aimc-figures`` / ``aimc-verify`` run the same ``main``.

"Before any computation" is shown twice: in process, with the compute step replaced by one that
fails the test if called; and as a subprocess on the *full-mode* job (Figure 5 alone takes an hour,
the claims many minutes), which must answer within the subprocess timeout.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "AIMC_PROGRESS": "0"}
TIMEOUT = 120  # s; the full-mode jobs below take from minutes to an hour if they start computing
SCRIPTS = {"aimc-figures": "paper_figures", "aimc-verify": "verify"}


def _run(*argv: str, script: str | None = None, **kw) -> subprocess.CompletedProcess:
    """``python -m <module> argv`` (or the console script's entry point) from the repo root."""
    if script is None:
        cmd = [sys.executable, "-m", *argv]
    else:  # what the installed console script does: load the entry point and exit with main()
        code = ("import sys; from importlib.metadata import entry_points; "
                f"ep = entry_points(group='console_scripts')[{script!r}]; sys.exit(ep.load()())")
        cmd = [sys.executable, "-c", code, *argv[1:]]
    kw.setdefault("capture_output", True)
    return subprocess.run(cmd, cwd=ROOT, env=ENV, text=True, timeout=TIMEOUT, **kw)


def _one_line_error(proc: subprocess.CompletedProcess, prog: str, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _files(d: Path) -> list[Path]:
    return [p for p in d.rglob("*") if not p.is_dir()] if d.exists() else []


def _read_only(tmp_path: Path) -> Path:
    """A directory this process cannot create files in. root ignores permission bits, so for root
    use sysfs, which refuses new files even to root."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    ro = Path("/sys")
    try:
        os.close(os.open(ro / ".aimc-probe-test", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except OSError:
        return ro
    os.unlink(ro / ".aimc-probe-test")
    pytest.skip("running as root without a read-only directory")


def _bad_places(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words the error must contain)."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    a_dir = tmp_path / "a_dir"
    a_dir.mkdir()
    ro = _read_only(tmp_path)
    return {
        "a-file": (a_file, "not a directory"),
        "under-a-file": (a_file / "sub" / "out", f"{a_file} is not a directory"),
        "read-only": (ro / "aimc-out", "not writable"),
        "a-directory": (a_dir, "is a directory"),
        "a-device": (Path(os.devnull), "not a regular file"),
    }


OUT_CASES = ["a-file", "under-a-file", "read-only"]
JSON_CASES = ["a-directory", "under-a-file", "read-only", "a-device"]


# --- output paths, before any computation ------------------------------------------------------


@pytest.mark.parametrize("case", OUT_CASES)
def test_figures_bad_out_exits_2_before_computing_in_process(case, tmp_path, monkeypatch, capsys):
    from paper_figures import _figure
    from paper_figures.__main__ import main

    def boom(*a, **k):
        raise AssertionError("computation started before --out was checked")

    monkeypatch.setattr(_figure, "build", boom)
    monkeypatch.setattr(_figure, "all_figures", boom)
    path, words = _bad_places(tmp_path)[case]
    assert main(["exact_fig5_mnist", "--out", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--out {path}" in err[0] and words in err[0]


@pytest.mark.parametrize("case", OUT_CASES)
def test_figures_bad_out_exits_2_before_computing(case, tmp_path):
    path, words = _bad_places(tmp_path)[case]
    proc = _run("paper_figures", "exact_fig5_mnist", "--out", str(path))  # full mode: ~1 h if run
    _one_line_error(proc, "python -m paper_figures", f"--out {path}", words)
    assert proc.stdout == ""


@pytest.mark.parametrize("case", JSON_CASES)
def test_verify_bad_json_exits_2_before_computing_in_process(case, tmp_path, monkeypatch, capsys):
    from verify import _claim
    from verify.__main__ import main

    def boom(*a, **k):
        raise AssertionError("a claim ran before --json was checked")

    monkeypatch.setattr(_claim.Claim, "run", boom)
    path, words = _bad_places(tmp_path)[case]
    assert main(["run", "--json", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--json {path}" in err[0] and words in err[0]


@pytest.mark.parametrize("case", JSON_CASES)
def test_verify_bad_json_exits_2_before_computing(case, tmp_path):
    path, words = _bad_places(tmp_path)[case]
    proc = _run("verify", "run", "--json", str(path))  # every claim in full mode if it ran
    _one_line_error(proc, "python -m verify", f"--json {path}", words)
    assert proc.stdout == ""


# --- ids and other argument errors ---------------------------------------------------------------


def test_figures_unknown_id_rejected(tmp_path):
    out = tmp_path / "out"
    proc = _run("paper_figures", "all", "nosuch", "--quick", "--out", str(out))
    _one_line_error(proc, "python -m paper_figures", "'nosuch'", "python -m paper_figures list")
    assert proc.stdout == "" and not _files(out)


def test_verify_unknown_id_rejected(tmp_path):
    proc = _run("verify", "run", "nosuch", "--quick", "--json", str(tmp_path / "c.json"))
    _one_line_error(proc, "python -m verify", "'nosuch'", "python -m verify list")
    assert proc.stdout == "" and not _files(tmp_path)


@pytest.mark.parametrize(("argv", "prog", "needle"), [
    (["paper_figures", "--bogus"], "python -m paper_figures", "--bogus"),
    (["paper_figures", "list", "exact_fig1_lr"], "python -m paper_figures", "'list' takes no"),
    (["verify", "frob"], "python -m verify", "'frob'"),
    (["verify", "run", "--quick", "--bogus"], "python -m verify", "--bogus"),
    (["verify", "list", "extra"], "python -m verify", "extra"),
], ids=["figures-option", "figures-list-with-ids", "verify-subcommand", "verify-option",
        "verify-list-extra"])
def test_argument_errors_are_one_line(argv, prog, needle):
    _one_line_error(_run(*argv), prog, needle)


@pytest.mark.parametrize(("script", "argv", "needle"), [
    ("aimc-figures", ["exact_fig5_mnist", "--out", "{file}"], "not a directory"),
    ("aimc-figures", ["--bogus"], "--bogus"),
    ("aimc-verify", ["run", "--json", "{dir}"], "is a directory"),
    ("aimc-verify", ["frob"], "'frob'"),
])
def test_console_scripts_behave_the_same(script, argv, needle, tmp_path):
    (tmp_path / "file").write_text("x")
    argv = [a.format(file=tmp_path / "file", dir=tmp_path) for a in argv]
    proc = _run(SCRIPTS[script], *argv, script=script)
    _one_line_error(proc, f"python -m {SCRIPTS[script]}", needle)


def test_console_scripts_point_at_the_guarded_mains():
    eps = {ep.name: ep.value for ep in entry_points(group="console_scripts") if ep.name in SCRIPTS}
    assert eps == {name: f"{mod}.__main__:main" for name, mod in SCRIPTS.items()}
    from paper_figures.__main__ import main as figures_main
    from verify.__main__ import main as verify_main

    for fn in (figures_main, verify_main):
        assert callable(getattr(fn, "__wrapped__", None))  # the Ctrl-C / broken-pipe guard


# --- closed pipe, Ctrl-C --------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["paper_figures", "verify"])
def test_list_into_a_closed_pipe_exits_quietly(module):
    """``python -m X list | head -1`` when head is gone before anything is written (the case that
    always raises; with a reader still present there is nothing to test)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = _run(module, "list", stdout=w, capture_output=False, stderr=subprocess.PIPE)
    finally:
        os.close(w)
    assert proc.returncode in (0, 141)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.stderr == ""


def _interrupt(argv: list[str], ready: str, stream: str) -> tuple[subprocess.Popen, str, str]:
    """Start ``python -m argv``, wait until ``ready`` appears on ``stream``, send SIGINT."""
    proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = ""
    deadline = time.monotonic() + TIMEOUT
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    while ready not in seen:
        ch = pipe.read(1)
        assert ch and time.monotonic() < deadline, f"no {ready!r} on {stream}: {seen!r}"
        seen += ch
    time.sleep(0.3)  # inside the computation now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    if stream == "stdout":
        out = seen + out
    else:
        err = seen + err
    return proc, out, err


def test_figures_ctrl_c(tmp_path):
    out = tmp_path / "out"
    # full-mode Figure 5 (an hour): certainly still computing when interrupted
    proc, stdout, stderr = _interrupt(["paper_figures", "exact_fig5_mnist", "--out", str(out)],
                                      "...", "stdout")
    assert proc.returncode == 130, stderr
    assert stdout.startswith("exact_fig5_mnist (full) ...") and "computed" not in stdout
    assert stderr.strip().splitlines() == ["python -m paper_figures: interrupted"]
    assert not _files(out)  # nothing written, not even a temporary file


def test_verify_ctrl_c(tmp_path):
    out = tmp_path / "claims.json"
    # every claim in full mode (many minutes): certainly still running when interrupted
    proc, _, stderr = _interrupt(["verify", "run", "--json", str(out)], "...\n", "stderr")
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("running ") and lines[1:] == ["python -m verify: interrupted"]
    assert not _files(tmp_path)


# --- modes of written files -----------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_verify_json_respects_umask(tmp_path, umask):
    from verify.__main__ import _write_json

    old = os.umask(umask)
    try:
        _write_json(tmp_path / "sub" / "claims.json", {"all_pass": True})
    finally:
        os.umask(old)
    path = tmp_path / "sub" / "claims.json"
    assert json.loads(path.read_text()) == {"all_pass": True}
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o777 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["claims.json"]


class _InterruptsInFinalizer:
    """Sends this process SIGINT from ``__del__``, so the handler runs inside the finalizer (what
    happened with tqdm's ``__del__`` during Figure 5)."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)


def test_ctrl_c_inside_a_finalizer_is_not_lost(monkeypatch):
    # both CLIs (paper_figures, verify) install this handler through verify._cli.cli_guard
    module = "verify._cli"
    import importlib

    lost = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: lost.append(u.exc_type))
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # negative control: Python's default handler raises inside __del__, where it is lost
        _InterruptsInFinalizer()
        time.sleep(0.2)
        assert lost == [KeyboardInterrupt]
        restore = importlib.import_module(module).install_sigint_handler()
        try:
            with pytest.raises(KeyboardInterrupt):
                _InterruptsInFinalizer()
                time.sleep(5)
        finally:
            restore()
        assert lost == [KeyboardInterrupt]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, old)
