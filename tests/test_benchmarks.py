"""The benchmarks stay runnable (tiny sizes; performance targets live in `make bench`)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_smoke(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke",
                          "--json", str(tmp_path / "b.json")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "analog / digital" in out.stdout and (tmp_path / "b.json").exists()
