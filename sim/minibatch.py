r"""A mini-batch written the way aihwkit writes it: one update per sample.

A digital optimizer sums the per-sample gradients and takes one step. An aihwkit tile does not:
``AnalogSGD`` hands the tile the batch's inputs ``x_n`` and output errors ``d_n``, and the tile
fires **one BL-managed pulse train per sample** (rank one, :math:`-\alpha\, d_n x_n^\top`), one
after the other. In expectation the difference is the response's asymmetric part. For increments
:math:`\Delta_n` applied in turn, to first order in the step,

.. math::

    \mathbb E\,\Delta W = q_+(W) \odot \sum_n [\Delta_n]_+ - q_-(W) \odot \sum_n [\Delta_n]_-
    = F(W) \odot \sum_n \Delta_n - G(W) \odot \sum_n |\Delta_n| ,

so the drift toward the symmetric point acts on :math:`\sum_n |\Delta_n|` instead of
:math:`|\sum_n \Delta_n|`. Near an optimum the per-sample gradients do not vanish (they cancel in
the sum), so on soft bounds the per-sample drift keeps Analog SGD away from :math:`W^*` by far more
than the summed update's (:func:`theory.implicit.per_sample_fixed_point`; the claim
``pulse.per_sample_drift``; ``exact_fig1_ablation``).

:func:`per_sample_update` applies ``(R, N, ...)`` per-sample increments either way: ``"mean_field"``
(the formula above, then clipped to the bounds) or ``"pulsed"`` (the pulse counts of every
sample's train, :mod:`sim.pulsed`).
"""

from __future__ import annotations

import numpy as np

from ._rng import BatchRNG
from .devices import Device
from .optimizers import UpdateMode, check_mode
from .pulsed import PulsedLinearStep, binomial_icdf

__all__ = ["per_sample_update"]


def per_sample_update(device: Device, w: np.ndarray, increments: np.ndarray, rng: BatchRNG | None = None,
                      *, mode: UpdateMode = "mean_field", bl: int | None = None) -> np.ndarray:
    r"""Write per-sample increments ``increments`` (shape ``(R, N, *w.shape[1:])``) to ``w`` (shape
    ``(R, ...)``) one sample at a time, as aihwkit applies a mini-batch; returns the new weights.

    ``mode="mean_field"`` (any :class:`sim.devices.Device`): the expected first-order change
    :math:`q_+(W)\sum_n[\Delta_n]_+ - q_-(W)\sum_n[\Delta_n]_-`, clipped to the bounds (``rng``
    unused).

    ``mode="pulsed"`` (a :class:`sim.pulsed.PulsedLinearStep`, e.g. ``PulsedSoftBounds``; ``bl``
    defaults to its ``desired_bl``):
    sample n of run r fires :math:`L_{rn} = \min(\max(\lceil \max_j r_{rnj}\rceil, 1), BL)` slots,
    :math:`r = |\Delta|/\Delta w_{\min}` (aihwkit's BL management on a rank-one update); element j
    gets :math:`\mathrm{Binomial}(L_{rn}, \min(1, r_{rnj}/L_{rn}))` pulses of its increment's sign
    (:func:`sim.pulsed.binomial_icdf`, one uniform per sample and element, stream ``rng``). The
    summed up counts are applied, then the summed down counts
    (:meth:`sim.pulsed.PulsedLinearStep.apply_pulses`), so the soft-bounds drift of opposite pulses is
    kept; aihwkit's correlation of the coincidences along a row or column is not modelled.
    """
    check_mode(mode)
    w = np.asarray(w, dtype=float)
    increments = np.asarray(increments, dtype=float)
    if increments.ndim != w.ndim + 1 or increments.shape[:1] + increments.shape[2:] != w.shape:
        raise ValueError(f"increments must have shape (R, N, *w.shape[1:]) = ({w.shape[0]}, N,"
                         f" {', '.join(map(str, w.shape[1:]))}), got {increments.shape}")
    if mode == "mean_field":
        return device.update_split(w, increments.sum(axis=1), np.abs(increments).sum(axis=1))
    if mode != "pulsed":
        raise ValueError(f"per_sample_update supports mode 'mean_field' or 'pulsed', got {mode!r}")
    if not isinstance(device, PulsedLinearStep):
        raise TypeError("mode='pulsed' needs a pulsed device with a closed form for n pulses"
                        f" (sim.pulsed.PulsedLinearStep: PulsedSoftBounds, PulsedConstantStep, ...), got"
                        f" {type(device).__name__}")
    bl = device.desired_bl if bl is None else bl
    if bl is None or int(bl) < 1:
        raise ValueError("the pulse train length bl must be an int >= 1 (or the device's desired_bl),"
                         f" got {bl!r}")
    if rng is None:
        raise ValueError("mode='pulsed' draws the pulse counts: pass rng")
    r = np.abs(increments) / device.dw_min
    axes = tuple(range(2, increments.ndim))
    L = np.minimum(np.maximum(np.ceil(r.max(axis=axes, keepdims=True)), 1.0), float(bl))
    n = binomial_icdf(rng.uniform(increments.shape[1:]), L, np.minimum(r / L, 1.0))
    is_up = increments > 0
    n_up = np.where(is_up, n, 0.0).sum(axis=1)
    n_down = n.sum(axis=1) - n_up
    w = device.apply_pulses(w, n_up, np.ones(w.shape[1:], bool), rng)
    return device.apply_pulses(w, n_down, np.zeros(w.shape[1:], bool), rng)
