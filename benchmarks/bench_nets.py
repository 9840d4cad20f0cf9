"""One epoch of the paper's FCN (784-256-128-10 sigmoid, batch 10) on MNIST-5k: digital vs analog.

Targets (issue "Analog multi-layer networks"): Analog SGD with the mean-field soft-bounds update
within 1.5x of digital SGD in the same run; pulse-level Analog SGD within 4x when the device has a
pulse-level model (``sim.PulsedSoftBounds``, another issue's work; skipped and reported if absent).
Timings exclude data loading and weight init (``TrainResult.elapsed``: the training epoch itself).
"""

from __future__ import annotations

import sim
from sim import nets

from ._common import Result, Target, best_times


def run(smoke: bool = False) -> list[Result]:
    sizes, runs, reps = ((784, 16, 10), 1, 1) if smoke else ((784, 256, 128, 10), 1, 3)
    data = nets.load_mnist5k()
    if smoke:
        data = data._replace(x_train=data.x_train[:200], y_train=data.y_train[:200],
                             x_test=data.x_test[:100], y_test=data.y_test[:100])
    net = nets.fcn(sizes)
    device = sim.SoftBounds(0.7)
    makers = {
        "digital SGD": sim.DigitalSGD,
        "Analog SGD (mean-field)": lambda lr: sim.AnalogSGD(lr, device),
        "Tiki-Taka (mean-field)": lambda lr: sim.TikiTaka(lr, 0.01, device),
    }
    pulsed_cls = getattr(sim, "PulsedSoftBounds", None)  # pulse-level devices (issue "pulse")
    has_pulses = pulsed_cls is not None
    if has_pulses:
        # aihwkit's default granularity dw_min = 1e-3 on the same +-0.7 range, no variation
        pdev = pulsed_cls(dw_min=1e-3, w_max=0.7, w_min=-0.7)
        makers["Analog SGD (pulsed)"] = lambda lr: sim.AnalogSGD(lr, pdev, mode="pulsed")
    elapsed: dict[str, float] = {}

    def epoch(name: str):
        def fn() -> None:
            res = nets.train(net, data, makers[name], lr=0.05, epochs=1, batch_size=10, runs=runs, seed=0,
                             progress=False)
            elapsed[name] = min(elapsed.get(name, float("inf")), res.elapsed)
        return fn

    best_times({k: epoch(k) for k in makers}, reps)
    steps = -(-len(data.y_train) // 10)
    res = Result(f"FCN {'-'.join(map(str, sizes))}, batch 10, one epoch on {len(data.y_train)} images,"
                 f" R={runs} (best of {reps})")
    for k, t in elapsed.items():
        res.rows.append((f"{k}: epoch", t, "s"))
        res.rows.append((f"{k}: per step", t / steps * 1e3, "ms"))
    d = elapsed["digital SGD"]
    ratio = elapsed["Analog SGD (mean-field)"] / d
    res.rows.append(("analog mean-field / digital", ratio, "x"))
    res.rows.append(("Tiki-Taka / digital", elapsed["Tiki-Taka (mean-field)"] / d, "x"))
    res.targets = [Target("analog mean-field / digital", ratio, 1.5, "x")]
    if has_pulses:
        pr = elapsed["Analog SGD (pulsed)"] / d
        res.rows.append(("analog pulsed / digital", pr, "x"))
        res.targets.append(Target("analog pulsed / digital", pr, 4.0, "x"))
    else:
        res.rows.append(("analog pulsed / digital: skipped (no sim.PulsedSoftBounds)", float("nan"), ""))
    return [res]
