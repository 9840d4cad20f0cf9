"""float32 network training agrees with float64 (``sim.nets.train(dtype="float32")``; issue 15).

* ``nets.float32_agrees``: on the quick networks (digits FCN 64-32-10; full: MNIST-5k FCN
  784-256-128-10) trained by digital SGD, mean-field Analog SGD and Tiki-Taka, the float32 run and
  the float64 run of the same seeds end with weights that differ by a tiny fraction of what a change
  of seed moves them, and with test accuracies that differ by far less than the seed-to-seed spread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from sim import nets

from .._claim import Check, claim, upper
from ..config import Config, Modes, config_cache
from ..stats import Z, mean_se


@dataclass(frozen=True, kw_only=True)
class _F32Cfg(Config):
    """Settings of ``nets.float32_agrees`` (one instance per mode)."""

    data: str
    sizes: tuple[int, ...]
    runs: int
    epochs: int
    lr: float
    batch: int
    tau: float


_F32 = Modes(
    quick=_F32Cfg(data="digits", sizes=(64, 32, 10), runs=6, epochs=5, lr=0.1, batch=10, tau=0.6),
    full=_F32Cfg(data="mnist5k", sizes=(784, 256, 128, 10), runs=4, epochs=5, lr=0.05, batch=10,
                 tau=0.6),
)
# Tolerances, both relative to the seed-to-seed spread of the float64 runs (what the figures resolve):
# weights: float32 may move the trained weights by at most 1e-3 of what a change of seed moves them
# (float32's unit roundoff is 6e-8 per operation; the training maps contract, so the measured
# deviation is ~1e-6 relative, against O(1) between seeds);
# accuracy: the mean |float32 - float64| test-accuracy difference at most a quarter of the seed-to-seed
# standard deviation, i.e. invisible next to the +-1 s.e. bands the network figures draw over seeds.
_W_FRAC = 1e-3
_ACC_FRAC = 0.25
_SEED = 13


def _makers(tau: float) -> dict[str, Callable[[Any], sim.Algorithm]]:
    device = sim.SoftBounds(tau)
    return {
        "digital SGD": sim.DigitalSGD,
        "Analog SGD": lambda lr: sim.AnalogSGD(lr, device),
        "Tiki-Taka": lambda lr: sim.TikiTaka(lr, 0.1, device),
    }


def _flat(res: nets.TrainResult) -> np.ndarray:
    return np.concatenate([W.reshape(W.shape[0], -1).astype(float) for W in res.weights
                           if W is not None], axis=1)


@config_cache
def _runs(mode: str, algorithm: str, control: bool) -> dict[str, Any]:
    cfg = _F32[mode]
    data = nets.load_digits() if cfg.data == "digits" else nets.load_mnist5k()
    make = _makers(cfg.tau)[algorithm]
    R = cfg.runs
    net = nets.fcn(cfg.sizes)
    r64 = nets.train(net, data, make, lr=cfg.lr, epochs=cfg.epochs, batch_size=cfg.batch, seed=_SEED,
                     runs=list(range(R + 1)), label=f"{algorithm} float64")
    # the control compares run r in float64 with run r + 1 (another seed) in float32
    ids32 = list(range(1, R + 1)) if control else list(range(R))
    r32 = nets.train(net, data, make, lr=cfg.lr, epochs=cfg.epochs, batch_size=cfg.batch, seed=_SEED,
                     runs=ids32, dtype="float32", label=f"{algorithm} float32")
    w64, w32 = _flat(r64), _flat(r32)
    scale = np.abs(w64[:R]).max(axis=1)
    return dict(
        dev32=np.abs(w32 - w64[:R]).max(axis=1) / scale,
        # seed-to-seed: run r + 1 against run r, both float64 (independent streams)
        dev_seed=np.abs(w64[1:] - w64[:R]).max(axis=1) / scale,
        acc64=r64.test_acc[:R, -1], acc32=r32.test_acc[:, -1], n_test=len(data.y_test),
    )


@claim(
    "nets.float32_agrees",
    title="float32 training of the quick networks agrees with float64 well within the seed-to-seed"
    " spread (weights and test accuracy)",
    statement="For a sigmoid FCN (quick: digits 64-32-10, 5 epochs, 6 seeds; full: MNIST-5k"
    " 784-256-128-10, 5 epochs, 4 seeds) trained by digital SGD, mean-field Analog SGD and Tiki-Taka"
    " on soft-bounds tiles (tau = 0.6), the float32 run (sim.nets.train dtype='float32', same random"
    f" streams) and the float64 run of each seed end with (a) a relative weight deviation max|W32 -"
    f" W64| / max|W64| below {_W_FRAC:g} times the float64 seed-to-seed deviation and (b) a mean"
    f" |test-accuracy difference| below {_ACC_FRAC:g} times the seed-to-seed standard deviation of the"
    f" float64 accuracy, each with Z = {Z:g} standard errors over the seeds.",
    reference="issue 15 (optional float32 path); IEEE 754 binary32 unit roundoff 2^-24 = 6e-8",
    control="the float32 run of the next seed (run r + 1) in place of run r: a change of seed, which"
    " both tolerances must reject",
    config=_F32,
)
def float32_agrees(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _F32[mode]
    checks: list[Check] = []
    details: dict[str, Any] = {}
    for algo in _makers(cfg.tau):
        r = _runs(mode, algo, control)
        seed_dev = float(r["dev_seed"].mean())
        spread = float(np.std(r["acc64"], ddof=1))
        why_w = (f"{Z:g} s.e. over {cfg.runs} seeds; bound = {_W_FRAC:g} x the mean float64"
                 f" seed-to-seed deviation ({seed_dev:.3g}): float32 rounding (6e-8 per operation,"
                 " not amplified by the contracting updates) must be negligible next to a change of seed")
        why_a = (f"{Z:g} s.e. over {cfg.runs} paired seeds; bound = {_ACC_FRAC:g} x the seed-to-seed"
                 f" standard deviation of the float64 accuracy ({spread:.3g}), invisible next to the"
                 " +-1 s.e. bands drawn over seeds")
        # a spread of exactly 0 (every seed equal) would make the bound 0; one test image (1/N) is
        # the resolution of an accuracy, so the bound is at least that
        acc_bound = max(_ACC_FRAC * spread, 1.0 / r["n_test"])
        checks += [
            upper(f"{algo}: relative weight deviation float32 vs float64", mean_se(r["dev32"]),
                  _W_FRAC * seed_dev, reason=why_w),
            upper(f"{algo}: |test accuracy float32 - float64|",
                  mean_se(np.abs(r["acc32"] - r["acc64"])), acc_bound, reason=why_a),
        ]
        details[algo] = dict(dev32_mean=float(r["dev32"].mean()), dev_seed_mean=seed_dev,
                             acc64_mean=float(r["acc64"].mean()), acc64_std=spread,
                             acc_absdiff_mean=float(np.abs(r["acc32"] - r["acc64"]).mean()))
    return checks, details
