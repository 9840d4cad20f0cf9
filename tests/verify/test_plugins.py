"""Claims as plug-ins: public check helpers, ``--module``, the entry-point group, declared known
failures, and the pytest plug-in (``--aimc-claims``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import verify
from verify import (
    Estimate,
    Z,
    claim,
    close,
    exact,
    get_claim,
    holds,
    lower,
    not_applicable,
    row_verdict,
    unregister,
    upper,
)

pytest_plugins = ["pytester"]

ROOT = Path(verify.__file__).resolve().parents[1]

#: A user's claims module: one claim per verdict the runners must tell apart.
MODULE = '''
import numpy as np
from verify import claim, close, mean_se, upper

@claim("{pkg}.good", title="mean of N(0, 1) samples is 0", statement="s", reference="r",
       control="predict 1")
def good(mode, control):
    x = np.random.default_rng(1).standard_normal(400)
    return [close("mean", mean_se(x), 1.0 if control else 0.0)]

@claim("{pkg}.known", title="fails, declared", statement="s", reference="r", control="c",
       known_failures={{"quick": "a documented limitation"}})
def known(mode, control):
    return [upper("x", 2.0, 1.0)]

@claim("{pkg}.broken", title="control passes too", statement="s", reference="r",
       control="changes nothing")
def broken(mode, control):
    return [upper("x", 0.5, 1.0)]

@claim("{pkg}.raises", title="raises", statement="s", reference="r", control="c")
def raises(mode, control):
    raise RuntimeError("boom\\nsecond line")
'''


@pytest.fixture
def user_module(tmp_path):
    """Package ``mylab_<n>`` with module ``claims`` in ``tmp_path`` (unique per test: the registry
    is per process, and subprocesses start afresh)."""
    pkg = f"mylab_{tmp_path.name.replace('-', '_').replace('.', '_')}"
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / pkg / "claims.py").write_text(MODULE.format(pkg=pkg))
    return tmp_path, pkg


def _env(*paths: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *map(str, paths)]), **extra}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _verify(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# --- public API -----------------------------------------------------------------------------------


def test_public_api_exports_the_helpers():
    for name in ("claim", "upper", "lower", "close", "slope", "exact", "holds", "not_applicable",
                 "Check", "Estimate", "mean_se", "load_module", "violated_assumptions"):
        assert name in verify.__all__ and callable(getattr(verify, name))
    assert all(hasattr(verify, n) for n in verify.__all__)


def test_helpers_verdicts_at_the_confidence_limit():
    se = 0.1
    # upper passes iff mean + Z se <= bound; at exactly the limit it passes, a hair over it fails
    assert upper("u", Estimate(1.0 - Z * se, se, 10), 1.0).passed
    assert not upper("u", Estimate(1.0 - Z * se + 1e-9, se, 10), 1.0).passed
    assert lower("l", Estimate(1.0 + Z * se, se, 10), 1.0).passed
    assert not lower("l", Estimate(1.0 + Z * se - 1e-9, se, 10), 1.0).passed
    c = close("c", Estimate(1.25, se, 10), 1.0, model_tol=0.0)
    assert c.passed and c.tolerance == pytest.approx(Z * se)
    assert not close("c", Estimate(1.31, se, 10), 1.0).passed
    assert exact("e", 1.0 + 1e-13, 1.0, reason="rounding", rtol=1e-12).passed
    assert not exact("e", 1.0 + 1e-11, 1.0, reason="rounding", rtol=1e-12).passed
    assert holds("h", True, "why").passed and not holds("h", False, "why").passed
    assert not_applicable("n", "rho >= 1").passed is None


def test_claim_decorator_validates_and_allows_reimport():
    with pytest.raises(ValueError, match="known_failures keys must be modes"):
        claim("t.x", title="t", statement="s", reference="r", control="c",
              known_failures={"medium": "why"})
    with pytest.raises(ValueError, match=r"known_failures\['full'\] must be a non-empty reason"):
        claim("t.x", title="t", statement="s", reference="r", control="c", known_failures={"full": " "})
    with pytest.raises(ValueError, match="claim id must be a non-empty string"):
        claim("", title="t", statement="s", reference="r", control="c")

    def fn(mode, control):
        return [holds("h", not control, "r")]

    deco = claim("t.reimport", title="t", statement="s", reference="r", control="c",
                 known_failures={"full": "slow"})
    try:
        deco(fn)
        deco(fn)  # the same function again: a re-import of its module, allowed
        assert get_claim("t.reimport").known_failure("full") == "slow"
        assert get_claim("t.reimport").known_failure("quick") is None

        def other(mode, control):
            return []

        with pytest.raises(ValueError, match="registered twice"):
            deco(other)
    finally:
        unregister("t.reimport")


def test_row_verdict_known_fail_only_for_failing_checks():
    def ev(*checks, error=None):
        return verify.Evidence("x", "t", "quick", False, list(checks), 0.0, error=error)

    failing, passing = ev(upper("u", 2.0, 1.0)), ev(upper("u", 0.5, 1.0))
    ctl_fails = ev(upper("u", 2.0, 1.0))
    assert row_verdict(failing, ctl_fails, "why") == "known fail"
    assert row_verdict(failing, ctl_fails) == "fail"
    assert row_verdict(passing, ctl_fails, "why") == "pass"
    assert row_verdict(passing, passing, "why") == "broken"
    assert row_verdict(ev(error="E: x"), None, "why") == "error"


# --- python -m verify --module ----------------------------------------------------------------------


def test_cli_module_list_and_run(user_module):
    path, pkg = user_module
    env = _env(path)
    out = _verify("list", "--module", f"{pkg}.claims", "-v", cwd=path, env=env)
    assert out.returncode == 0, out.stderr
    ids = [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith(pkg)]
    assert ids == [f"{pkg}.{n}" for n in ("broken", "good", "known", "raises")]
    assert "known fail (quick): a documented limitation" in out.stdout
    assert "device.ald_identities" not in out.stdout  # --module lists only that module's claims

    # a declared known failure does not change the exit code; --strict counts it
    out = _verify("run", "--quick", "-q", "--module", f"{pkg}.claims", f"{pkg}.good", f"{pkg}.known",
                  "--json", str(path / "r.json"), cwd=path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "known fail: " + f"{pkg}.known: a documented limitation" in out.stdout
    recs = {r["id"]: r for r in json.loads((path / "r.json").read_text())["claims"]}
    assert recs[f"{pkg}.known"]["verdict"] == "known fail"
    assert recs[f"{pkg}.known"]["known_failure"] == "a documented limitation"
    assert recs[f"{pkg}.good"]["verdict"] == "pass" and recs[f"{pkg}.good"]["known_failure"] is None
    out = _verify("run", "--quick", "-q", "--strict", "--module", f"{pkg}.claims", f"{pkg}.known",
                  cwd=path, env=env)
    assert out.returncode == 1 and "counted: --strict" in out.stdout

    # every claim of the module (no ids): broken and error make the run fail
    out = _verify("run", "--quick", "-q", "--module", f"{pkg}.claims", cwd=path, env=env)
    assert out.returncode == 1
    rows = {ln.split()[0]: ln.split()[1] for ln in out.stdout.splitlines() if ln.startswith(pkg)}
    assert rows == {f"{pkg}.broken": "BROKEN", f"{pkg}.good": "pass", f"{pkg}.known": "known",
                    f"{pkg}.raises": "ERROR"}
    assert "RuntimeError: boom" in out.stdout and "second line" not in out.stdout


def test_cli_module_errors_are_one_line(user_module):
    path, pkg = user_module
    (path / "bad_mod.py").write_text("raise ImportError('needs torch')\n")
    (path / "empty_mod.py").write_text("X = 1\n")
    for mod, msg in (("nope_no_such_module", "No module named 'nope_no_such_module'"),
                     ("bad_mod", "ImportError: needs torch"), ("empty_mod", "registers no claim")):
        for cmd in (["list"], ["run", "--quick"]):
            out = _verify(*cmd, "--module", f"{pkg}.claims", "--module", mod, cwd=path, env=_env(path))
            assert out.returncode == 2 and out.stdout == ""
            assert out.stderr.count("\n") == 1 and f"--module {mod}: " in out.stderr and msg in out.stderr


def test_cli_repeated_module(user_module, tmp_path_factory):
    path, pkg = user_module
    other = tmp_path_factory.mktemp("other")
    (other / "other_claims.py").write_text(textwrap.dedent("""
        from verify import claim, holds
        @claim("other.fact", title="t", statement="s", reference="r", control="c")
        def _(mode, control):
            return [holds("fact", not control, "r")]
    """))
    out = _verify("list", "--module", f"{pkg}.claims", "--module", "other_claims", cwd=path,
                  env=_env(path, other))
    assert out.returncode == 0
    assert "other.fact" in out.stdout and f"{pkg}.good" in out.stdout


# --- entry-point group aimc_verify.claims -------------------------------------------------------------


def _dist(where: Path, name: str, entry_points: str) -> None:
    """A minimal installed distribution (``*.dist-info``) that importlib.metadata finds on sys.path."""
    info = where / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_entry_point_claims_are_listed_and_a_broken_plugin_warns(user_module):
    path, pkg = user_module
    _dist(path, "mylab_plugin", f'[aimc_verify.claims]\nmylab = {pkg}.claims\n'
          'broken = no_such_plugin_module\n')
    out = _verify("list", cwd=path, env=_env(path))
    assert out.returncode == 0, out.stderr
    assert f"{pkg}.good" in out.stdout and "device.ald_identities" in out.stdout
    warn = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(warn) == 1 and warn[0].startswith("aimc-verify: warning: claims plug-in 'broken'")
    assert "No module named 'no_such_plugin_module'" in warn[0]
    out = _verify("run", "--quick", "-q", f"{pkg}.good", cwd=path, env=_env(path))
    assert out.returncode == 0 and f"{pkg}.good" in out.stdout


# --- pytest plug-in ----------------------------------------------------------------------------------


def test_pyproject_registers_the_pytest_plugin():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pytest11"] == {"aimc_verify": "verify.pytest_plugin"}


def _pytest(pytester: pytest.Pytester, monkeypatch, path: Path, *args: str):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(path)]))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # only the plug-ins named below
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return pytester.runpytest_subprocess("-p", "verify.pytest_plugin", "-p", "no:cacheprovider",
                                         *args, timeout=120)


def test_pytest_plugin_one_item_per_claim(pytester, monkeypatch, user_module):
    path, pkg = user_module
    xml = pytester.path / "claims.xml"
    res = _pytest(pytester, monkeypatch, path, f"--aimc-claims={pkg}.claims", "-rA",
                  f"--junitxml={xml}")
    res.assert_outcomes(passed=1, failed=2, xfailed=1)
    res.stdout.fnmatch_lines(["collected 4 items"])
    out = res.stdout.str()
    assert f"PASSED {pkg}.good" in out and f"XFAIL {pkg}.known - a documented limitation" in out
    assert f"FAILED {pkg}.broken" in out and "broken: the negative control" in out
    assert f"FAILED {pkg}.raises" in out and "RuntimeError: boom" in out
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    assert set(cases) == {f"{pkg}.{n}" for n in ("good", "known", "broken", "raises")}
    assert cases[f"{pkg}.broken"].find("failure") is not None
    assert cases[f"{pkg}.good"].find("failure") is None

    res = _pytest(pytester, monkeypatch, path, f"--aimc-claims={pkg}.claims", "-k", "good or known",
                  "--aimc-no-controls")
    res.assert_outcomes(passed=1, xfailed=1, deselected=2)


def test_pytest_plugin_strict_xfail_and_xdist(pytester, monkeypatch, user_module):
    path, pkg = user_module
    # a claim declaring a known failure that passes is XPASS(strict): a failure
    (path / "fixed.py").write_text(textwrap.dedent("""
        from verify import claim, holds
        @claim("fixed.now_passes", title="t", statement="s", reference="r", control="c",
               known_failures={"quick": "used to fail"})
        def _(mode, control):
            return [holds("fact", not control, "r")]
    """))
    res = _pytest(pytester, monkeypatch, path, "--aimc-claims=fixed")
    res.assert_outcomes(failed=1)
    assert "XPASS(strict)" in res.stdout.str()
    res = _pytest(pytester, monkeypatch, path, "-p", "xdist.plugin", "-n", "2",
                  f"--aimc-claims={pkg}.claims", "-k", "good or broken")
    res.assert_outcomes(passed=1, failed=1)


def test_pytest_plugin_usage_errors_and_inactive_by_default(pytester, monkeypatch, user_module):
    path, _ = user_module
    res = _pytest(pytester, monkeypatch, path, "--aimc-claims=no_such_module_xyz")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--aimc-claims no_such_module_xyz: cannot import claims module" in res.stderr.str()
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    res = _pytest(pytester, monkeypatch, path)
    res.assert_outcomes(passed=1)


def test_pytest_plugin_loads_through_the_pytest11_entry_point(pytester, monkeypatch, user_module):
    """As installed: a distribution whose pytest11 entry point names the plug-in (no ``-p``)."""
    path, pkg = user_module
    _dist(path, "aimc_verify_shim", "[pytest11]\naimc_verify = verify.pytest_plugin\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(path)]))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--aimc-claims={pkg}.claims",
                                        "-k", "good", timeout=120)
    res.assert_outcomes(passed=1, deselected=3)


def test_readme_example_claim_runs_with_module(tmp_path):
    """The README's "Your own claims" example, as written there, passes with its control failing."""
    readme = (ROOT / "README.md").read_text()
    (src,) = [b for b in readme.split("```python\n")[1:] if b.startswith("# mylab/claims.py")]
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    (tmp_path / "mylab" / "claims.py").write_text(src.split("```")[0])
    out = _verify("run", "--quick", "-q", "--module", "mylab.claims", cwd=tmp_path, env=_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "mylab.ideal_mean" in out.stdout and "fails ✓" in out.stdout
