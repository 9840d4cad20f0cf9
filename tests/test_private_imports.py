"""Layering rules checked on the source (AST): the simulator's random streams are private.

``sim._rng`` (how a run's streams are derived from ``(seed, run, stream)``) is an implementation
detail of ``sim``: code outside the package uses the public ``sim.BatchRNG`` and measures optimizer
state through ``sim.simulate``'s recorders instead of rebuilding the streams by hand. Tests of the
simulator itself (``tests/sim``) may import the private module to test it. ``sim.stats`` is the
one statistics layer, a numpy-only leaf that figures and notebooks import without loading the claims.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: packages and scripts outside ``sim`` that must not reach into ``sim._rng``
OUTSIDE = ("verify", "paper_figures", "theory", "notebooks", "benchmarks")


def _private_rng_imports(source: str, where: str) -> list[str]:
    """Lines of ``source`` that import ``sim._rng`` or name it as an attribute (``sim._rng.X``)."""
    tree = ast.parse(source, filename=where)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "sim._rng" or node.module.startswith("sim._rng."):
                hits.append(f"{where}:{node.lineno}: from {node.module} import ...")
            elif node.module == "sim" and any(a.name == "_rng" for a in node.names):
                hits.append(f"{where}:{node.lineno}: from sim import _rng")
        elif isinstance(node, ast.Import):
            hits += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                     if a.name == "sim._rng" or a.name.startswith("sim._rng.")]
        elif (isinstance(node, ast.Attribute) and node.attr == "_rng" and isinstance(node.value, ast.Name)
              and node.value.id == "sim"):
            hits.append(f"{where}:{node.lineno}: sim._rng")
    return hits


def _sources() -> list[Path]:
    files = [p for d in OUTSIDE for p in sorted((ROOT / d).rglob("*.py"))]
    return files + [p for p in sorted(ROOT.glob("tests/*.py")) + sorted(ROOT.glob("tests/*/*.py"))
                    if p.parent.name != "sim"]


def test_the_sources_exist():
    files = _sources()
    assert any(p.parts[-3:] == ("verify", "claims", "tt.py") for p in files)
    assert any(p.name == "tt_condition.py" for p in files)


def test_no_module_outside_sim_imports_sim_rng():
    hits = [h for p in _sources()
            for h in _private_rng_imports(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert not hits, "use the public sim.BatchRNG / sim.simulate recorders instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("source, expected", [
    ("from sim._rng import BatchRNG\n", 1),
    ("import sim._rng as r\n", 1),
    ("from sim import _rng\n", 1),
    ("import sim\nx = sim._rng.BatchRNG\n", 1),
    ("from sim import BatchRNG\nimport sim\nx = sim.BatchRNG\n", 0),
])
def test_the_check_sees_every_spelling(source, expected):
    assert len(_private_rng_imports(source, "probe.py")) == expected


def test_stats_is_a_leaf():
    """``sim.stats`` imports numpy only (and scipy inside ``nonneg_weighted_fit``); importing it
    loads no claim, no ``theory``, no solver and no scipy, and ``verify.stats`` re-exports the same
    objects (one implementation)."""
    tree = ast.parse((ROOT / "sim" / "stats.py").read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "dataclasses", "typing", "numpy", "scipy"}, imported
    code = ("import sys, sim.stats; bad = [m for m in sys.modules if m.startswith(('verify', 'theory',"
            " 'sympy', 'cvxpy', 'scipy'))]; print(bad); raise SystemExit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    import sim.stats
    import verify.stats

    for name in verify.stats.__all__:
        assert getattr(verify.stats, name) is getattr(sim.stats, name), name
