"""Packaging: the core install runs sim/theory/verify without the optional extras.

``pip install aimc-verify`` installs numpy, scipy, sympy, matplotlib, tqdm; cvxpy and its solvers
are the ``[certify]`` extra, the data-file packages the ``[data]`` extra, Dask (``--workers``) the
``[dask]`` extra (pyproject.toml).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (CI's); requires-python is 3.10
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# import name -> distribution name, for the third-party packages the code imports
DISTRIBUTION = {"numpy": "numpy", "scipy": "scipy", "sympy": "sympy", "matplotlib": "matplotlib",
                "tqdm": "tqdm", "cvxpy": "cvxpy", "pytest": "pytest"}


def _run(code: str) -> subprocess.CompletedProcess:
    # cvxpy made unimportable (sys.modules entry None) as if the extra were not installed
    prelude = "import sys; sys.modules['cvxpy'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("[")[0].strip() for r in requirements}


def test_core_install_imports_without_cvxpy():
    out = _run("import sim\nassert 'cvxpy' not in sys.modules or sys.modules['cvxpy'] is None\n"
               "import theory, verify, verify.claims\nprint('ok')")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_import_sim_does_not_load_cvxpy():
    out = subprocess.run([sys.executable, "-c", "import sys, sim, theory; print('cvxpy' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_certificates_name_the_extra_when_cvxpy_is_missing():
    out = _run("import numpy as np\nfrom theory.certify import lyapunov_rate\n"
               "lyapunov_rate([0.5 * np.eye(2)])")
    assert out.returncode != 0
    assert "ImportError: theory.certify's SDP certificates need cvxpy" in out.stderr
    assert "pip install 'aimc-verify[certify]'" in out.stderr


def test_extras_split_the_dependencies():
    core = _names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert core == {"numpy", "scipy", "sympy", "matplotlib", "tqdm"}
    assert _names(extras["certify"]) == {"cvxpy", "clarabel", "scs"}
    assert _names(extras["data"]) == {"scikit-learn", "mlxtend"}
    assert _names(extras["dask"]) == {"dask"}
    assert _names(extras["fast"]) == {"numba"}
    assert extras["all"] == ["aimc-verify[certify,data,dask,fast]"]
    # the README set-up (make) installs every extra, so CI runs what it ran before
    assert '-e ".[all,test]"' in (ROOT / "Makefile").read_text()


def test_every_imported_third_party_package_is_declared():
    core = _names(PYPROJECT["project"]["dependencies"])
    certify = _names(PYPROJECT["project"]["optional-dependencies"]["certify"])
    stdlib = set(sys.stdlib_module_names)
    local = {"sim", "theory", "verify", "paper_figures"}
    undeclared = []
    for package in sorted(local):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                for top in tops:
                    if top in stdlib or top in local or top == "__future__":
                        continue
                    dist = DISTRIBUTION.get(top, top)
                    rel = path.relative_to(ROOT).as_posix()
                    ok = (dist in core or (dist in certify and rel == "theory/certify.py")
                          or (top == "distributed" and rel == "sim/sweep.py")  # the [dask] extra
                          or (top == "numba" and rel == "sim/_kernels.py")  # the [fast] extra
                          or (dist == "pytest" and rel == "verify/pytest_plugin.py"))
                    if not ok:
                        undeclared.append(f"{rel}: {top}")
    assert not undeclared, f"imports not covered by the declared dependencies: {undeclared}"
