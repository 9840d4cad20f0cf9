"""Pulse-level vs mean-field Analog SGD on the fig-3 problem (D = 40, R = 256 seeds, K = 2500).

Target (issue "Pulse-level device physics"): the pulse-level run (``PulsedSoftBounds``, closed-form
fast path, dw_min = tau/300) within 4x of the mean-field run of ``SoftBounds`` in the same run, and
within 4x with cycle-to-cycle noise on (one more normal draw per element).
"""

from __future__ import annotations

import sim

from ._common import Result, Target, best_times


def run(smoke: bool = False) -> list[Result]:
    R, K, reps = (16, 50, 1) if smoke else (256, 2500, 3)
    prob = sim.paper_problem("exact_fig3")
    noise = sim.GaussianNoise(0.1)
    rec = ("loss", "grad_norm2")
    tau = 1.0
    pulsed = sim.PulsedSoftBounds(dw_min=tau / 300, w_max=tau, w_min=-tau)
    noisy = sim.PulsedSoftBounds(dw_min=tau / 300, w_max=tau, w_min=-tau, dw_min_std=0.3)

    def go(algo):
        return lambda: sim.simulate(prob, algo, steps=K, seeds=R, noise=noise, record=rec,
                                    progress=False)

    fns = {
        "mean-field (SoftBounds)": go(sim.AnalogSGD(0.03, sim.SoftBounds(tau))),
        "pulse-level": go(sim.AnalogSGD(0.03, pulsed, mode="pulsed")),
        "pulse-level + cycle noise": go(sim.AnalogSGD(0.03, noisy, mode="pulsed")),
    }
    t = best_times(fns, reps)
    res = Result(f"Pulse-level vs mean-field Analog SGD, D=40, R={R}, K={K} (best of {reps})")
    for k in fns:
        res.rows.append((f"{k}: total", t[k], "s"))
        res.rows.append((f"{k}: per run-iteration", t[k] / (R * K) * 1e6, "us"))
    base = t["mean-field (SoftBounds)"]
    r1, r2 = t["pulse-level"] / base, t["pulse-level + cycle noise"] / base
    res.rows += [("pulse-level / mean-field", r1, "x"), ("pulse+noise / mean-field", r2, "x")]
    res.targets = [Target("pulse-level / mean-field", r1, 4.0, "x"),
                   Target("pulse+noise / mean-field", r2, 4.0, "x")]
    return [res]
