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


def test_reference_loop_does_the_arithmetic_of_simulate():
    """bench_loop's plain numpy loop is a fair reference: the same loss as simulate, bit for bit."""

    import sim
    from benchmarks.bench_loop import reference_loop

    prob = sim.paper_problem("exact_fig3")
    for tau, algo in [(None, sim.DigitalSGD(0.03)), (1.0, sim.AnalogSGD(0.03, sim.SoftBounds(1.0))),
                      (0.2, sim.AnalogSGD(0.03, sim.SoftBounds(0.2)))]:
        ref = reference_loop(prob, 150, 8, tau=tau)
        tr = sim.simulate(prob, algo, steps=150, seeds=8, noise=sim.GaussianNoise(0.1),
                          record=("loss",), progress=False)
        assert ref.tobytes() == tr["loss"].tobytes(), tau
