"""Shared pieces of the 2502.06309 MNIST figures (``response_fig4_mnist``, ``response_fig5_gamma``):
the network settings, the pulse-level power-step tile, the optimizers and the training call.

Kept in a private module so that each figure's cache key holds only this file, not the other
figure's module (``tests/reliability/test_figure_cache.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from sim import nets
from sim.config import Config

from ._net_shapes import CNNShape, FCNShape

ALGORITHMS = ("digital", "analog", "rl")
LABELS = {"digital": "D SGD", "analog": "A SGD", "rl": "TT/RL"}

@dataclass(frozen=True, kw_only=True)
class Net(Config):
    """Training and device settings shared by the FCN and the CNN."""

    data: str
    batch: int
    taus: tuple[float, ...]
    epochs: int
    seeds: int
    lr: float
    beta: float
    gamma: float
    columns: int | None
    gamma_res: float
    dw_min: float
    bl: int
    dw_min_std: float
    io: bool


@dataclass(frozen=True, kw_only=True)
class FCN(Net, FCNShape):
    """The fully connected network's settings."""


@dataclass(frozen=True, kw_only=True)
class CNN(Net, CNNShape):
    """The LeNet-style CNN's settings."""



DEVICE: dict[str, Any] = dict(gamma_res=0.5, dw_min=1e-3, bl=32, dw_min_std=0.3, io=True)
PAPER_RATES: dict[str, Any] = dict(lr=0.05, beta=0.01, gamma=0.4, columns=1)
# smoke test: coarse pulses (dw_min = 1e-2: ~10x fewer pulse-loop passes), larger rates
QUICK: dict[str, Any] = dict(DEVICE, dw_min=1e-2, lr=0.2, beta=0.1, gamma=0.4, columns=1)


def power_device(tau: float, c: Net) -> sim.PulsedPowStep:
    """The tile: aihwkit ``PowStepDevice`` on :math:`[-\\tau, \\tau]` with ``c``'s gamma_res, dw_min,
    BL (update and BL management on) and cycle-to-cycle noise; no device-to-device variation."""
    return sim.PulsedPowStep(dw_min=c.dw_min, w_max=tau, w_min=-tau, pow_gamma=c.gamma_res,
                             dw_min_std=c.dw_min_std, desired_bl=c.bl)


def network(kind: str, c: Net) -> tuple[list, nets.Dataset]:
    """``(layers, data)`` of ``kind`` ("fcn" / "cnn") with ``c``'s sizes, data set and IO."""
    load = nets.load_digits if c.data == "digits" else nets.load_mnist5k
    io = nets.AIHWKIT_IO if c.io else nets.PERFECT_IO
    if kind == "fcn" and isinstance(c, FCN):
        return nets.fcn(c.sizes, io=io), load("flat")
    if kind == "cnn" and isinstance(c, CNN):
        return (nets.lenet(side=c.side, channels=c.channels, kernels=c.kernels, hidden=c.hidden, io=io),
                load("image"))
    raise ValueError(f"kind must be 'fcn' with FCN settings or 'cnn' with CNN settings, got {kind!r} with"
                     f" {type(c).__name__}")


def optimizer_factory(algorithm: str, tau: float, c: Net, gamma: float | np.ndarray | None = None):
    """``lr -> optimizer`` at pulse level; TT/RL's transfer rate is the scheduled SGD rate (aihwkit
    ``scale_transfer_lr``), its P rate ``c.beta`` is absolute; ``gamma`` (default ``c.gamma``)
    may be one value per run."""
    if algorithm == "digital":
        return sim.DigitalSGD
    dev = power_device(tau, c)
    if algorithm == "analog":
        return lambda lr: sim.AnalogSGD(lr, dev, mode="pulsed")
    if algorithm == "rl":
        g = c.gamma if gamma is None else gamma
        return lambda lr: sim.TikiTaka(lr, c.beta, dev, gamma=g, columns_per_transfer=c.columns,
                                       mode="pulsed", name="residual learning")
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")


def train(kind: str, c: Net, algorithm: str, tau: float, seed: int, *,
          runs: int | list[int] | None = None, gamma: float | np.ndarray | None = None) -> nets.TrainResult:
    """Train stacked networks of one algorithm at one tau: ``runs`` as :func:`sim.nets.train` takes it
    (default ``c.seeds`` runs); ``gamma`` one TT/RL mixing weight per run (default ``c.gamma``)."""
    net, data = network(kind, c)
    return nets.train(net, data, optimizer_factory(algorithm, tau, c, gamma), lr=c.lr,
                      epochs=c.epochs, batch_size=c.batch, runs=c.seeds if runs is None else runs,
                      seed=seed, label=f"{kind} {LABELS[algorithm]} tau={tau:g}")
