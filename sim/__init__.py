"""Numpy simulator of analog in-memory training: devices, problems, optimizers, trajectories.

Every quantity is batched over R independent runs (leading axis), and a run is a pure function of
``(config, seed, run index)``. ``sim`` never imports ``theory`` or ``verify``.

Errors: a bad argument raises ``ValueError`` (``TypeError`` for an object of the wrong kind) naming
the parameter, the allowed range and the value received, before any computation; a run whose
weights or loss become non-finite raises :class:`Diverged` in :func:`simulate`,
:func:`sim.nets.train` and :func:`sim.pipeline.train_pipeline` alike (see :mod:`sim._checks`).

>>> import sim
>>> prob = sim.paper_problem("exact_fig3")
>>> traj = sim.simulate(prob, sim.AnalogSGD(0.03, sim.SoftBounds(1.0)), steps=100, seeds=4,
...                     noise=sim.GaussianNoise(0.1))
>>> traj["loss"].shape
(4, 101)
"""

from ._checks import Diverged
from ._rng import BatchRNG
from .devices import Device, Exponential, GeneralizedLinear, Ideal, Power, SoftBounds
from .noise import GaussianNoise, NoNoise, RademacherNoise
from .optimizers import UPDATE_MODES, Algorithm, AnalogSGD, DigitalSGD, WeightState, apply_update
from .problems import (
    PAPER_PROBLEMS,
    Quadratic,
    diagonal_quadratic,
    least_squares,
    paper_problem,
    quadratic,
    random_least_squares,
    scalar_quadratic,
)
from .pulsed import (
    PulsedConstantStep,
    PulsedDevice,
    PulsedExpStep,
    PulsedLinearStep,
    PulsedPiecewiseStep,
    PulsedPowStep,
    PulsedSoftBounds,
    PulseFlow,
)
from .recorders import (
    Max,
    MaxRatio,
    Mean,
    Recorder,
    p_array,
    p_inf,
    quadratic_form,
    query_grad_norm2,
    s_rl_terms,
)
from .run import simulate
from .tiki_taka import ResidualLearningV2, ResidualLearningV2State, TikiTaka, TikiTakaState
from .trajectory import METRICS, Point, Trajectory

__all__ = [
    "METRICS",
    "PAPER_PROBLEMS",
    "UPDATE_MODES",
    "Algorithm",
    "AnalogSGD",
    "BatchRNG",
    "Device",
    "DigitalSGD",
    "Diverged",
    "Exponential",
    "GaussianNoise",
    "GeneralizedLinear",
    "Ideal",
    "Max",
    "MaxRatio",
    "Mean",
    "NoNoise",
    "Point",
    "Power",
    "PulseFlow",
    "PulsedConstantStep",
    "PulsedDevice",
    "PulsedExpStep",
    "PulsedLinearStep",
    "PulsedPiecewiseStep",
    "PulsedPowStep",
    "PulsedSoftBounds",
    "Quadratic",
    "RademacherNoise",
    "Recorder",
    "ResidualLearningV2",
    "ResidualLearningV2State",
    "SoftBounds",
    "TikiTaka",
    "TikiTakaState",
    "Trajectory",
    "WeightState",
    "apply_update",
    "diagonal_quadratic",
    "least_squares",
    "p_array",
    "p_inf",
    "paper_problem",
    "quadratic",
    "quadratic_form",
    "query_grad_norm2",
    "random_least_squares",
    "s_rl_terms",
    "scalar_quadratic",
    "simulate",
]
