"""Network training epochs: digital vs analog, pulse level vs mean field, float32 vs float64.

1. One epoch of the paper's FCN (784-256-128-10 sigmoid, batch 10) on MNIST-5k, R = 1. Targets (issue
   "Analog multi-layer networks"): Analog SGD with the mean-field soft-bounds update within 1.5x of
   digital SGD in the same run; pulse-level Analog SGD (``sim.PulsedSoftBounds``, dw_min = 1e-3)
   within 4x of digital.
2. Issue 15: one epoch of the digits FCN 64-256-128-10, batch 10, R = 1: pulse-level Analog SGD
   / mean-field Analog SGD <= 1.5. Beside it, two floors no implementation of the same random
   streams can go under: the epoch's uniforms (one 32-bit word per weight and step,
   :meth:`sim.PulsedDevice.pulse_counts`) drawn alone in a loop and added to the mean-field epoch,
   and **in place**: a mean-field epoch whose every update also draws those uniforms (same
   ``BatchRNG`` stream, nothing done with them), which adds the cost of the numbers leaving the
   caches to the network's data -- the floor the pulse-level epoch is really measured against.
   Reported beside it (no target): the pulse-level paper preset (``sim.presets.fig5``: BL 31
   stochastic pulse trains with BL management, additive cycle-to-cycle noise dw_min_std = 0.3,
   no device-to-device variation) / mean-field.
3. Issue 15: the float32 path (``nets.train(dtype="float32")``): the same MNIST-5k FCN epoch for
   digital SGD, mean-field Analog SGD and Tiki-Taka in float64 and float32, reported as float32 /
   float64 (no target; the agreement of the two is the claim ``nets.float32_agrees``).

Timings exclude data loading and weight init (``TrainResult.elapsed``: the training epoch itself);
each group is timed interleaved (best of ``reps``), so machine load affects its rows alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import sim
from sim import BatchRNG, _kernels, nets, presets

from ._common import Result, Target, best_times


def _epochs(net, data, makers: dict, runs: int, reps: int, dtypes=("float64",)) -> dict:
    elapsed: dict[tuple[str, str], float] = {}

    def epoch(name: str, dt: str):
        def fn() -> None:
            res = nets.train(net, data, makers[name], lr=0.05, epochs=1, batch_size=10, runs=runs,
                             seed=0, progress=False, dtype=dt)
            elapsed[name, dt] = min(elapsed.get((name, dt), float("inf")), res.elapsed)
        return fn

    best_times({(k, dt): epoch(k, dt) for k in makers for dt in dtypes}, reps)
    return elapsed


@dataclass(frozen=True)
class _UniformsThenMeanField(sim.SoftBounds):
    """The in-place floor: the pulse-level stream's uniforms are drawn, the update is mean-field."""

    def pulsed_update(self, w: np.ndarray, increment: np.ndarray, rng: BatchRNG) -> np.ndarray:
        rng.bits32(increment.shape[1:])  # the words stochastic rounding reads
        return self.update(w, increment)


def _uniform_floor(shapes: list[tuple[int, int]], steps: int, runs: int) -> float:
    """Seconds to draw one epoch's pulse-count uniforms (one per weight per step) alone."""
    rng = BatchRNG(0, range(runs), "nets.update")
    t0 = time.perf_counter()
    for _ in range(steps):
        for s in shapes:
            rng.bits32(s)
    return time.perf_counter() - t0


def run(smoke: bool = False) -> list[Result]:
    sizes, runs, reps = ((784, 16, 10), 1, 1) if smoke else ((784, 256, 128, 10), 1, 3)
    data = nets.load_mnist5k()
    digits = nets.load_digits()
    if smoke:
        data = data._replace(x_train=data.x_train[:200], y_train=data.y_train[:200],
                             x_test=data.x_test[:100], y_test=data.y_test[:100])
        digits = digits._replace(x_train=digits.x_train[:200], y_train=digits.y_train[:200])
    net = nets.fcn(sizes)
    device = sim.SoftBounds(0.7)
    # aihwkit's default granularity dw_min = 1e-3 on the same +-0.7 range, no variation
    pdev = sim.PulsedSoftBounds(dw_min=1e-3, w_max=0.7, w_min=-0.7)
    makers = {
        "digital SGD": sim.DigitalSGD,
        "Analog SGD (mean-field)": lambda lr: sim.AnalogSGD(lr, device),
        "Tiki-Taka (mean-field)": lambda lr: sim.TikiTaka(lr, 0.01, device),
        "Analog SGD (pulsed)": lambda lr: sim.AnalogSGD(lr, pdev, mode="pulsed"),
    }

    # 1. MNIST-5k FCN: analog / digital
    el = _epochs(net, data, makers, runs, reps)
    steps = -(-len(data.y_train) // 10)
    res = Result(f"FCN {'-'.join(map(str, sizes))}, batch 10, one epoch on {len(data.y_train)} images,"
                 f" R={runs} (best of {reps})")
    for (k, _), t in el.items():
        res.rows.append((f"{k}: epoch", t, "s"))
        res.rows.append((f"{k}: per step", t / steps * 1e3, "ms"))
    d = el["digital SGD", "float64"]
    ratio = el["Analog SGD (mean-field)", "float64"] / d
    pr = el["Analog SGD (pulsed)", "float64"] / d
    res.rows += [("analog mean-field / digital", ratio, "x"),
                 ("Tiki-Taka / digital", el["Tiki-Taka (mean-field)", "float64"] / d, "x"),
                 ("analog pulsed / digital", pr, "x")]
    res.targets = [Target("analog mean-field / digital", ratio, 1.5, "x"),
                   Target("analog pulsed / digital", pr, 4.0, "x")]

    # 2. digits FCN 64-256-128-10, R = 1: pulse level / mean field (issue 15)
    dsizes = (64, 16, 10) if smoke else (64, 256, 128, 10)
    dnet = nets.fcn(dsizes)
    two = {k: makers[k] for k in ("Analog SGD (mean-field)", "Analog SGD (pulsed)")}
    floor_dev = _UniformsThenMeanField(0.7)
    two["mean-field + uniforms in place"] = lambda lr: sim.AnalogSGD(lr, floor_dev, mode="pulsed")
    preset_dev = presets.fig5(0.7, network="fcn").device  # BL 31 trains, additive cycle noise
    two["paper preset"] = lambda lr: sim.AnalogSGD(lr, preset_dev, mode="pulsed")
    el2 = _epochs(dnet, digits, two, 1, 1 if smoke else 5)
    dsteps = -(-len(digits.y_train) // 10)
    mf, pl = el2["Analog SGD (mean-field)", "float64"], el2["Analog SGD (pulsed)", "float64"]
    inplace = el2["mean-field + uniforms in place", "float64"]
    shapes = [la.param_shape for la in dnet if la.param_shape is not None]
    floor = min(_uniform_floor(shapes, dsteps, 1) for _ in range(1 if smoke else 5))
    res2 = Result(f"digits FCN {'-'.join(map(str, dsizes))}, batch 10, one epoch on"
                  f" {len(digits.y_train)} images, R=1: pulse level vs mean field (issue 15)")
    res2.rows += [("Analog SGD mean-field: epoch", mf, "s"), ("Analog SGD pulse level: epoch", pl, "s"),
                  ("pulse-count uniforms alone: epoch", floor, "s"),
                  ("pulse level / mean-field", pl / mf, "x"),
                  ("floor: (mean-field + uniforms) / mean-field", (mf + floor) / mf, "x"),
                  ("floor in place: mean-field drawing the uniforms / mean-field", inplace / mf, "x"),
                  ("pulse-level paper preset (BL 31, cycle noise): epoch",
                   el2["paper preset", "float64"], "s"),
                  ("pulse-level paper preset (BL 31, cycle noise) / mean-field",
                   el2["paper preset", "float64"] / mf, "x"),
                  ("compiled kernels (numba)", float(_kernels.pulse_kernels() is not None), "yes=1")]
    res2.targets = [Target("pulse level / mean-field (digits FCN)", pl / mf, 1.5, "x")]

    # 3. float32 vs float64 on the MNIST-5k FCN
    three = {k: makers[k] for k in ("digital SGD", "Analog SGD (mean-field)", "Tiki-Taka (mean-field)")}
    el3 = _epochs(net, data, three, runs, reps, dtypes=("float64", "float32"))
    res3 = Result(f"float32 vs float64, FCN {'-'.join(map(str, sizes))} on MNIST-5k, batch 10, R={runs},"
                  f" one epoch (best of {reps})")
    for k in three:
        t64, t32 = el3[k, "float64"], el3[k, "float32"]
        res3.rows += [(f"{k}: float64 epoch", t64, "s"), (f"{k}: float32 epoch", t32, "s"),
                      (f"{k}: float32 / float64", t32 / t64, "x")]
    res3.rows.append(("geometric mean float32 / float64", float(np.exp(np.mean(
        [np.log(el3[k, "float32"] / el3[k, "float64"]) for k in three]))), "x"))
    return [res, res2, res3]
