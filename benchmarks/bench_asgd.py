"""Analog SGD (mean-field) vs digital SGD on the D = 40 problem, R = 256 seeds, K = 2500.

Targets (issue "Foundation"): analog within 1.5x of digital in the same run, and under 2 us per
run-iteration. Both loops record the same metrics (loss, ||grad f||^2).
"""

from __future__ import annotations

import sim

from ._common import Result, Target, best_times


def run(smoke: bool = False) -> list[Result]:
    R, K, reps = (16, 50, 1) if smoke else (256, 2500, 3)
    prob = sim.paper_problem("exact_fig3")
    noise = sim.GaussianNoise(0.1)
    rec = ("loss", "grad_norm2")
    fns = {
        "digital SGD": lambda: sim.simulate(prob, sim.DigitalSGD(0.03), steps=K, seeds=R,
                                            noise=noise, record=rec, progress=False),
        "Analog SGD (mean-field)": lambda: sim.simulate(
            prob, sim.AnalogSGD(0.03, sim.SoftBounds(1.0)), steps=K, seeds=R, noise=noise,
            record=rec, progress=False),
    }
    t = best_times(fns, reps)
    per = {k: v / (R * K) * 1e6 for k, v in t.items()}
    ratio = t["Analog SGD (mean-field)"] / t["digital SGD"]
    res = Result(f"Analog vs digital SGD, D=40, R={R}, K={K} (best of {reps})")
    for k in fns:
        res.rows.append((f"{k}: total", t[k], "s"))
        res.rows.append((f"{k}: per run-iteration", per[k], "us"))
    res.rows.append(("analog / digital", ratio, "x"))
    res.targets = [Target("analog / digital", ratio, 1.5, "x"),
                   Target("analog per run-iteration", per["Analog SGD (mean-field)"], 2.0, "us")]
    return [res]
