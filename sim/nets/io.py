r"""Forward/backward non-idealities of an analog tile (aihwkit-like ``IOParameters``).

Perfect IO (the default, aihwkit ``is_perfect=True``) is the exact matrix product. With
``is_perfect=False`` one matrix-vector product :math:`y = W \tilde x` of a tile becomes

.. math::

    s = \max_j |\tilde x_j|,\quad
    u = Q_{\text{DAC}}(\mathrm{clip}(\tilde x / s, \pm b_{in})),\quad
    y = s\, Q_{\text{ADC}}(\mathrm{clip}(W u + \sigma_{out} \xi, \pm b_{out})),

with :math:`\xi \sim N(0, I)` drawn per product (plus, with ``w_noise > 0``, aihwkit's
``WeightNoiseType.ADDITIVE_CONSTANT`` weight read noise :math:`\sigma_w\|u\|_2\,\xi'` added to
:math:`W u` before the output bound: the output-referred form of a fresh
:math:`W + \sigma_w \Xi` per product, C++ ``forward_backward_pass.cpp::applyOutputWeightNoise``),
:math:`Q` a uniform quantizer of step
:math:`2b/(2^{\text{bits}} - 2)` (aihwkit ``inp_res = 1/(2^7 - 2)``, ``out_res = 1/(2^9 - 2)`` relative
to the range), and :math:`s` the abs-max *noise management* (aihwkit ``NoiseManagementType.ABS_MAX``).
The transposed product of the backward pass (:math:`W^\top \delta`) gets the same treatment. Defaults
of :data:`AIHWKIT_IO` are aihwkit's ``IOParameters`` defaults as used in the 2024 MNIST experiments
(spec ``exact_training.md`` Sec. 6: output noise 0.06, DAC 7 bit, ADC 9 bit, bounds 1 and 12).
The update (outer product) is not affected: it goes through the device model
(:func:`sim.optimizers.apply_update`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_real
from .._rng import BatchRNG


def _quantize(v: np.ndarray, bound: float, bits: int | None) -> np.ndarray:
    if bits is None:
        return v
    step = 2.0 * bound / (2**bits - 2)
    return np.round(v / step) * step


@dataclass(frozen=True)
class IO:
    r"""Non-idealities of a tile's forward and backward matrix-vector products.

    Parameters
    ----------
    is_perfect
        Exact products (all other fields ignored).
    inp_bound, out_bound
        Clipping of the (noise-managed) input and of the output, > 0.
    inp_bits, out_bits
        DAC / ADC resolution in bits (>= 2), or ``None`` for no quantization.
    out_noise
        Standard deviation of the additive Gaussian output noise, >= 0 (needs an ``rng``).
    noise_management
        Scale each input vector by its abs-max before the DAC and the output back after the ADC.
    w_noise
        aihwkit ``w_noise`` with ``w_noise_type = ADDITIVE_CONSTANT``, >= 0 (0: off, aihwkit's
        default): each product :math:`W u` gets :math:`\sigma_w \|u\|_2\,\xi'`,
        :math:`\xi' \sim N(0, I)` per output and per product, i.e. the exact distribution of
        :math:`(W + \sigma_w\Xi)u` with a fresh Gaussian :math:`\Xi` per product. The 2024 paper's
        Fig. 1 and Fig. 3/4 scripts inject their gradient noise this way (spec
        ``exact_training.md`` Sec. 6; :mod:`sim.presets`).
    """

    is_perfect: bool = True
    inp_bound: float = 1.0
    out_bound: float = 12.0
    inp_bits: int | None = 7
    out_bits: int | None = 9
    out_noise: float = 0.06
    noise_management: bool = True
    w_noise: float = 0.0

    def __post_init__(self) -> None:
        for name in ("inp_bound", "out_bound"):
            check_real(name, getattr(self, name), 0.0, lo_open=True)
        for name in ("inp_bits", "out_bits"):
            v = getattr(self, name)
            if v is not None:
                check_int(f"{name} (or None)", v, minimum=2)
        check_real("out_noise", self.out_noise, 0.0)
        check_real("w_noise", self.w_noise, 0.0)

    # -- the two products ------------------------------------------------------------------------
    def forward(self, W: np.ndarray, x: np.ndarray, bias: bool, rng: BatchRNG | None) -> np.ndarray:
        """``y = W (x, 1)``: ``W`` ``(R, out, n[+1])``, ``x`` ``(R, B, n)`` -> ``(R, B, out)``."""
        n = x.shape[-1]
        if self.is_perfect:
            y = np.matmul(x, W[..., :n].transpose(0, 2, 1))
            if bias:
                y += W[:, None, :, n]
            return y
        if bias:
            x = np.concatenate([x, np.ones((*x.shape[:-1], 1))], axis=-1)
        return self._mvm(W.transpose(0, 2, 1), x, rng)

    def backward(self, W: np.ndarray, dy: np.ndarray, bias: bool,
                 rng: BatchRNG | None = None) -> np.ndarray:
        """``dx = W[:, :, :n]^T dy``: ``dy`` ``(R, B, out)`` -> ``(R, B, n)`` (bias column dropped)."""
        n = W.shape[-1] - int(bias)
        if self.is_perfect:
            return np.matmul(dy, W[..., :n])
        return self._mvm(W[..., :n], dy, rng)

    def _mvm(self, Wt: np.ndarray, x: np.ndarray, rng: BatchRNG | None) -> np.ndarray:
        """Non-ideal ``x @ Wt`` with ``Wt`` ``(R, n, m)``, ``x`` ``(R, B, n)``."""
        if self.noise_management:
            s = np.max(np.abs(x), axis=-1, keepdims=True)
            s = np.where(s > 0, s, 1.0)
        else:
            s = 1.0
        u = _quantize(np.clip(x / s, -self.inp_bound, self.inp_bound), self.inp_bound, self.inp_bits)
        y = np.matmul(u, Wt)
        if (self.out_noise > 0 or self.w_noise > 0) and rng is None:
            raise ValueError("IO with out_noise > 0 or w_noise > 0 needs an rng (pass rng= to the"
                             " forward pass)")
        if self.w_noise > 0:  # ADDITIVE_CONSTANT weight noise, output-referred: sigma_w |u|_2 xi
            norm = np.sqrt(np.einsum("rbi,rbi->rb", u, u))[..., None]
            y += (self.w_noise * norm) * rng.normal(y.shape[1:])  # type: ignore[union-attr]
        if self.out_noise > 0:
            y += self.out_noise * rng.normal(y.shape[1:])  # type: ignore[union-attr]
        y = _quantize(np.clip(y, -self.out_bound, self.out_bound), self.out_bound, self.out_bits)
        return y * s


PERFECT_IO = IO()
"""Exact forward and backward products (the theory's setting)."""

AIHWKIT_IO = IO(is_perfect=False)
"""aihwkit's default IO (output noise 0.06, 7-bit DAC, 9-bit ADC, bounds 1 and 12, abs-max noise
management), as in the 2024 MNIST experiments (spec ``exact_training.md`` Sec. 6)."""
