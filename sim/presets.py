r"""The papers' experiment settings as named pulse-level presets (spec ``exact_training.md`` Sec. 6, 8).

Each preset is a :class:`Preset`: the aihwkit device of the authors' script as a
:mod:`sim.pulsed` device, the ``UpdateParameters`` it ran with (:class:`UpdateSettings`; the device
carries the pulse law they imply: ``desired_bl`` and ``update_bl_management``), the IO used to
inject gradient noise (:class:`sim.nets.io.IO`, aihwkit ``w_noise`` of type ``ADDITIVE_CONSTANT``
on the forward and backward products), the learning rates, and for Tiki-Taka the ``TransferCompound``
("TT-v1") settings (:class:`TransferSettings`). Optimizer factories: :meth:`Preset.analog_sgd`,
:meth:`Preset.tiki_taka`, :meth:`Preset.make_optimizer`; :func:`run_least_squares` runs a
least-squares preset the way the scripts do (one analog tile ``AnalogLinear(D -> 1)``, full-batch
gradient read through the noisy IO). Every setting the spec does not pin down is listed in the
preset's ``assumptions``.

>>> import sim.presets as P
>>> p = P.fig1()
>>> p.device.dw_min, p.device.w_max, p.device.desired_bl, p.update.update_bl_management
(0.0001, 3.0, 800, True)

Presets: :func:`fig1` (2406.12774 Fig. 1), :func:`fig3` (Fig. 3, one tau), :func:`fig4_sigma`,
:func:`fig4_init` (Fig. 4 middle and right), :func:`fig5` (Fig. 5 and 7: MNIST FCN / CNN tiles with
aihwkit's default variability, Analog SGD and TT-v1), :func:`response_fig2` (2502.06309 Fig. 2, the
c_Lin counterexample). :data:`PRESETS` maps names to factories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ._checks import check_real
from ._rng import BatchRNG
from .minibatch import per_sample_update
from .nets.io import IO
from .nets.layers import Linear
from .optimizers import Algorithm, AnalogSGD, DigitalSGD, WeightState
from .problems import paper_problem
from .pulsed import PulsedSoftBounds
from .tiki_taka import TikiTaka


@dataclass(frozen=True)
class UpdateSettings:
    """aihwkit ``UpdateParameters`` as a script sets them (recorded; the device's ``desired_bl`` and
    ``update_bl_management`` carry the pulse law, :meth:`sim.pulsed.PulsedDevice.pulse_counts`).

    ``sto_round`` only discretizes the pulse probabilities when ``res > 0``; at aihwkit's default
    ``res = 0`` it has no effect (``sparse_bit_line_maker.cpp``, ``getDiscretizedValue``).
    """

    desired_bl: int = 31
    update_management: bool = True
    update_bl_management: bool = True
    sto_round: bool = False
    pulse_type: str = "STOCHASTIC_COMPRESSED"


@dataclass(frozen=True)
class TransferSettings:
    r"""aihwkit ``TransferCompound`` ("TT-v1", spec Sec. 5.3) as :class:`sim.TikiTaka` parameters.

    ``fast_lr`` is the fast array's (P's) rate :math:`\beta` (absolute in aihwkit 0.9.0);
    ``transfer_lr`` the rate :math:`\alpha` of the transfer writes, already multiplied by the SGD
    rate when the script scales it (``scale_transfer_lr=True``, aihwkit's default with
    ``transfer_lr = 1``); ``n_reads_per_transfer`` columns per transfer (``None``: all);
    ``desired_bl`` of the TT tiles when the script sets its own.
    """

    fast_lr: float
    transfer_lr: float
    transfer_every: int = 1
    n_reads_per_transfer: int | None = 1
    gamma: float = 0.0
    desired_bl: int | None = None


@dataclass(frozen=True)
class Preset:
    """One experiment's pulse-level settings (see the module docstring).

    Attributes
    ----------
    name, source
        Preset name; the spec section and script it records.
    problem
        Key of :data:`sim.problems.PAPER_PROBLEMS` (``None`` for the network experiments).
    device
        The pulse-level device (aihwkit device parameters, ``desired_bl``, BL management).
    update
        The script's ``UpdateParameters``.
    lr
        SGD learning rate (the list the figure sweeps is in ``extra``).
    steps
        Iterations (least squares) or epochs (networks).
    io
        Forward/backward IO of the tile (noise injection); ``None``: perfect products.
    transfer
        Tiki-Taka settings, or ``None`` if the script runs no TT on this figure.
    w0
        Initial weight (scalar broadcast over the tile).
    extra
        Further recorded settings (sweeps, seeds, batch sizes).
    assumptions
        Settings the spec does not pin down, as assumed here.
    """

    name: str
    source: str
    problem: str | None
    device: PulsedSoftBounds
    update: UpdateSettings
    lr: float
    steps: int
    io: IO | None = None
    transfer: TransferSettings | None = None
    w0: float = 0.0
    extra: dict = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()

    def analog_sgd(self, lr: float | None = None) -> AnalogSGD:
        """Pulse-level Analog SGD on :attr:`device` (rate ``lr`` or :attr:`lr`)."""
        return AnalogSGD(self.lr if lr is None else lr, self.device, mode="pulsed")

    def tiki_taka(self, lr: float | None = None) -> TikiTaka:
        """Pulse-level Tiki-Taka with the script's TT-v1 settings; ``lr`` rescales the transfer rate
        (the SGD rate the script multiplies it with), default :attr:`lr`."""
        if self.transfer is None:
            raise ValueError(f"preset {self.name!r} records no Tiki-Taka settings")
        t = self.transfer
        dev = self.device if t.desired_bl is None else replace(self.device, desired_bl=t.desired_bl)
        alpha = t.transfer_lr if lr is None else t.transfer_lr * lr / self.lr
        return TikiTaka(alpha, t.fast_lr, dev, gamma=t.gamma, transfer_every=t.transfer_every,
                        columns_per_transfer=t.n_reads_per_transfer, mode="pulsed")

    def make_optimizer(self, kind: str = "analog_sgd") -> Callable[[float], Algorithm]:
        """``lr -> optimizer`` factory (the form :func:`sim.nets.train` takes) for ``kind`` in
        ``"digital"``, ``"analog_sgd"``, ``"tiki_taka"``."""
        if kind == "digital":
            return lambda lr: DigitalSGD(lr)
        if kind == "analog_sgd":
            return self.analog_sgd
        if kind == "tiki_taka":
            return self.tiki_taka
        raise ValueError(f"kind must be 'digital', 'analog_sgd' or 'tiki_taka', got {kind!r}")


def _io(w_noise: float, inp_bound: float = 10.0) -> IO:
    """The scripts' tile IO for the least-squares figures: weight noise only (no input/output
    noise, no DAC/ADC, no noise or bound management), bounds 10 (spec Sec. 6, Fig. 1)."""
    return IO(is_perfect=False, inp_bound=inp_bound, out_bound=10.0, inp_bits=None, out_bits=None,
              out_noise=0.0, noise_management=False, w_noise=w_noise)


_NO_MAPPING = ("aihwkit's digital output scaling (mapping.learn_out_scaling,"
               " weight_scaling_columnwise) is not modelled: the tile weights are the layer weights")
_BATCH = ("the mini-batch update is one elementwise increment per tile (sum over the batch) whose"
          " pulse counts follow one BL-managed train per element; aihwkit applies one rank-1 train"
          " per sample (run_least_squares(batch_update='per_sample'), sim.minibatch; on soft bounds"
          " it moves the plateau, claim pulse.per_sample_drift)")


def fig1(lr: float = 0.1) -> Preset:
    r"""2406.12774 Fig. 1 (``S1-SGD-diff-lr.py``; spec Sec. 6): Analog SGD at several rates.

    Device ``SoftBoundsReferenceDevice``: :math:`w_{\max} = \tau = 3`, :math:`w_{\min} = -3`,
    dw_min = 1e-4, every variation, cycle noise, write noise and up_down 0, reference 0.
    ``desired_bl = 800``, ``sto_round = True``. Gradient noise: forward/backward IO ``w_noise =
    1e-2/sqrt(40)`` (``ADDITIVE_CONSTANT``), no in/out noise, no quantization, ``inp_bound =
    out_bound = 10``, no noise or bound management. Problem ``exact_fig1`` (D = 40, N = 100, torch
    MSELoss), full batch, 2500 iterations, W_0 = 0, rates {0.2, 0.1, 0.05, 0.03}, seeds data 42 /
    training 618.
    """
    check_real("lr", lr, 0.0, lo_open=True)
    noise = 1e-2 / np.sqrt(40)
    return Preset(
        name="fig1", source="spec exact_training.md Sec. 6, Figure 1 (S1-SGD-diff-lr.py)",
        problem="exact_fig1",
        device=PulsedSoftBounds(dw_min=1e-4, w_max=3.0, w_min=-3.0, desired_bl=800,
                                mult_noise=False),
        update=UpdateSettings(desired_bl=800, sto_round=True), lr=lr, steps=2500, io=_io(noise),
        extra={"lrs": (0.2, 0.1, 0.05, 0.03), "noise_std": noise, "data_seed": 42,
               "training_seed": 618},
        assumptions=(
            "update_management and update_bl_management are aihwkit's defaults (True): the script"
            " sets only desired_bl and sto_round",
            "w_noise = noise_std = 1e-2/sqrt(40), the digital runs' per-coordinate gradient std",
            "mult_noise = False (SoftBoundsReferenceDevice default; no effect at dw_min_std = 0)",
            _BATCH,
        ),
    )


def fig3(tau: float = 1.0, lr: float = 0.03) -> Preset:
    r"""2406.12774 Fig. 3 (``S2-dynamic-verification.py``; spec Sec. 6), one panel (tau in
    {1, 1.5, 2, 2.5}).

    ``SoftBoundsReferenceDevice`` on :math:`\pm\tau`, dw_min = tau/300,
    ``subtract_symmetry_point=True``, all variations 0, ``desired_bl = 5000``; IO weight noise
    ``0.1 / mean singular value of A`` (the script's ``noise_correction``) on forward and backward;
    problem ``exact_fig3`` (MSE/2), alpha = 0.03, 2500 iterations, W_0 = 0. Tiki-Taka (``run_TT``,
    commented out of the plotted set): ``transfer_every = 1``, all columns per transfer, gamma = 0,
    transfer lr 1 scaled by the SGD rate (= alpha), ``fast_lr = alpha``, ``desired_bl = 300``.
    """
    check_real("tau", tau, 0.0, lo_open=True)
    check_real("lr", lr, 0.0, lo_open=True)
    A = paper_problem("exact_fig3").meta["A"]
    msv = float(np.mean(np.linalg.svd(A, compute_uv=False)))
    D = A.shape[1]
    return Preset(
        name=f"fig3_tau{tau:g}", source="spec exact_training.md Sec. 6, Figure 3 (S2), Sec. 5.3",
        problem="exact_fig3",
        device=PulsedSoftBounds(dw_min=tau / 300, w_max=tau, w_min=-tau, desired_bl=5000,
                                subtract_symmetry_point=True, mult_noise=False),
        update=UpdateSettings(desired_bl=5000), lr=lr, steps=2500, io=_io(0.1 / msv),
        transfer=TransferSettings(fast_lr=lr, transfer_lr=lr, transfer_every=1,
                                  n_reads_per_transfer=D, gamma=0.0, desired_bl=300),
        extra={"taus": (1.0, 1.5, 2.0, 2.5), "noise_std": 0.1, "mean_singular_value": msv},
        assumptions=(
            "update_management and update_bl_management are aihwkit's defaults (True)",
            "the IO other than w_noise is Fig. 1's (no in/out noise, no quantization, bounds 10,"
            " no noise management); the spec records only the weight noise",
            "mean singular value of A over its min(N, D) = 40 singular values",
            "TT: the TT tiles use the same device with desired_bl = 300",
            _BATCH,
        ),
    )


def fig4_sigma(sigma2: float = 1e-2, lr: float = 0.1) -> Preset:
    r"""2406.12774 Fig. 4 middle (``S3.2-ablation-sigma.py``): the floor against :math:`\sigma^2`.

    Problem ``exact_fig4_sigma`` (D = 50, MSE/2), alpha = 0.1, 200 iterations, tau = 2,
    dw_min = 1e-4, ``desired_bl = 5000``, ``subtract_symmetry_point=True``; ``w_noise =
    sqrt(sigma2)`` (uncorrected), sigma2 in {1e-3, 1e-2, 1e-1, 1}.
    """
    check_real("sigma2", sigma2, 0.0, lo_open=True)
    check_real("lr", lr, 0.0, lo_open=True)
    return Preset(
        name=f"fig4_sigma{sigma2:g}", source="spec exact_training.md Sec. 6, Figure 4 middle (S3.2)",
        problem="exact_fig4_sigma",
        device=PulsedSoftBounds(dw_min=1e-4, w_max=2.0, w_min=-2.0, desired_bl=5000,
                                subtract_symmetry_point=True, mult_noise=False),
        update=UpdateSettings(desired_bl=5000), lr=lr, steps=200, io=_io(float(np.sqrt(sigma2))),
        extra={"sigma2s": (1e-3, 1e-2, 1e-1, 1.0)},
        assumptions=("update_management and update_bl_management are aihwkit's defaults (True)",
                     "IO other than w_noise as in Fig. 1", _BATCH),
    )


def fig4_init(w0: float = 1.0, lr: float = 0.1) -> Preset:
    r"""2406.12774 Fig. 4 right (``S3.3-ablation-init.py``): the floor is independent of W_0.

    Problem ``exact_fig4_init`` (D = 50 plus a bias column, true bias 0.1), alpha = 0.1,
    **50 iterations**, tau = 1, noise std 1e-2/sqrt(50) as ``w_noise``, dw_min = 1e-4,
    ``desired_bl = 400``, IO ``inp_bound = 1`` (inputs clipped); constant inits
    {1e3, 1e2, 1e1, 1, 1e-2} (clipped to the device range) plus warm starts after 10, 20, 30 digital
    GD steps.
    """
    check_real("w0", w0)
    check_real("lr", lr, 0.0, lo_open=True)
    return Preset(
        name=f"fig4_init{w0:g}", source="spec exact_training.md Sec. 6, Figure 4 right (S3.3)",
        problem="exact_fig4_init",
        device=PulsedSoftBounds(dw_min=1e-4, w_max=1.0, w_min=-1.0, desired_bl=400,
                                mult_noise=False),
        update=UpdateSettings(desired_bl=400), lr=lr, steps=50,
        io=_io(1e-2 / np.sqrt(50), inp_bound=1.0), w0=float(np.clip(w0, -1.0, 1.0)),
        extra={"inits": (1e3, 1e2, 1e1, 1.0, 1e-2), "warm_gd_steps": (10, 20, 30)},
        assumptions=("update_management and update_bl_management are aihwkit's defaults (True)",
                     "subtract_symmetry_point is not set (False): the spec does not record it for"
                     " S3.3; with no asymmetry the symmetric point is 0 either way",
                     "the scale of x* (0.3 N(0, I)) is the PAPER_PROBLEMS assumption",
                     "an init beyond tau is clipped to the device range, as the device does", _BATCH),
    )


def fig5(tau: float = 0.7, *, shape: tuple[int, ...] | None = None, lr: float = 0.05,
         network: str = "fcn") -> Preset:
    r"""2406.12774 Fig. 5 and Fig. 7 (``S4.1-mnist-FCN.py``, ``S4.2-mnist-CNN.py``): MNIST tiles.

    ``SoftBoundsReferenceDevice(w_max=tau, w_min=-tau, construction_seed=10)`` with **aihwkit's
    defaults otherwise**: dw_min = 1e-3, dw_min_dtod = 0.3, dw_min_std = 0.3 (additive:
    ``mult_noise=False`` is the reference device's default), up_down_dtod = 0.01,
    w_max_dtod = w_min_dtod = 0.3, ``subtract_symmetry_point=False``; default IO (output noise 0.06,
    7-bit DAC, 9-bit ADC, bounds 1 and 12, abs-max noise management); update BL 31 with update and
    BL management. alpha = 0.05 for every run (the script's lr switch never fires). TT-v1: fast_lr
    (beta) = 0.01, transfer lr = alpha (scaled), one column per transfer, transfer_every = 1,
    gamma = 0. FCN 784-256-128-10 (sigmoid), batch 10, 80 epochs, StepLR(35, 0.1), tau in
    {0.6, 0.78, 0.8} (README) or {0.7, 0.78, 0.8} (plot script); CNN batch 8, tau in {0.6, 0.7, 0.8};
    Fig. 7 at tau = 0.7.

    ``shape`` is the tile shape the device-to-device variation is drawn for (one preset per tile);
    ``None`` switches the variation off (aihwkit's variability needs a tile; :func:`sim.nets.train`
    steps every tile with one optimizer, so a network run uses ``shape=None``).
    """
    check_real("tau", tau, 0.0, lo_open=True)
    check_real("lr", lr, 0.0, lo_open=True)
    if network not in ("fcn", "cnn"):
        raise ValueError(f"network must be 'fcn' or 'cnn', got {network!r}")
    varied = shape is not None
    dev = PulsedSoftBounds(dw_min=1e-3, w_max=tau, w_min=-tau, dw_min_std=0.3, mult_noise=False,
                           dw_min_dtod=0.3 if varied else 0.0, up_down_dtod=0.01 if varied else 0.0,
                           w_max_dtod=0.3 if varied else 0.0, w_min_dtod=0.3 if varied else 0.0,
                           desired_bl=31, shape=shape, seed=10)
    fcn = network == "fcn"
    return Preset(
        name=f"fig5_{network}_tau{tau:g}", source="spec exact_training.md Sec. 6, Figures 5 and 7"
        " (S4.1, S4.2, S6), Sec. 5.3 (TT-v1)", problem=None, device=dev,
        update=UpdateSettings(desired_bl=31), lr=lr, steps=80, io=IO(is_perfect=False),
        transfer=TransferSettings(fast_lr=0.01, transfer_lr=lr, transfer_every=1,
                                  n_reads_per_transfer=1, gamma=0.0),
        extra={"network": network, "batch_size": 10 if fcn else 8,
               "taus": (0.6, 0.78, 0.8) if fcn else (0.6, 0.7, 0.8),
               "step_lr": (35, 0.1), "construction_seed": 10, "transfer_seed": 123,
               "epochs": 80},
        assumptions=(
            "construction_seed 10 becomes this simulator's seed 10 (not aihwkit's numbers)",
            "the CNN script's schedule is assumed to be the FCN's StepLR(35, 0.1)",
            "tau list: the FCN README and plot script disagree ({0.6, 0.78, 0.8} vs {0.7, 0.78, 0.8})",
            _NO_MAPPING, _BATCH,
            "without shape the device-to-device variation is off (one optimizer for all tiles)",
        ),
    )


def response_fig2(c_lin: float = 0.0, lr: float = 0.8) -> Preset:
    r"""2502.06309 Fig. 2 (``NeurIPS-2025/S1-TT-fails.py``; spec Sec. 8 item 4): Tiki-Taka fails
    without a zero symmetric point.

    Problem ``response_fig2`` (D = 50, N = 100, A ~ N(0, 1), W* ~ 0.5 N(0, 1)), W_0 = 1 (all ones),
    tau = 3.5, aihwkit ``up_down = c_Lin`` in {0, 0.1, 0.2, 0.3} on both arrays,
    ``subtract_symmetry_point`` not set (symmetric point shifted), no explicit gradient noise
    (perfect IO): the only noise is pulse rounding, dw_min = 1e-4, ``desired_bl = 8``,
    ``sto_round``; lr 0.8 (so at most 8 pulses = 8 dw_min per element and step). TT: fast_lr 0.8,
    gamma = 0.4, all columns transferred every step; 1000 iterations.
    """
    check_real("c_lin", c_lin, -1.0, 1.0, lo_open=True, hi_open=True)
    check_real("lr", lr, 0.0, lo_open=True)
    return Preset(
        name=f"response_fig2_c{c_lin:g}", source="spec exact_training.md Sec. 8 item 4"
        " (NeurIPS-2025/S1-TT-fails.py)", problem="response_fig2",
        device=PulsedSoftBounds(dw_min=1e-4, w_max=3.5, w_min=-3.5, up_down=c_lin, desired_bl=8),
        update=UpdateSettings(desired_bl=8, sto_round=True), lr=lr, steps=1000, io=None,
        transfer=TransferSettings(fast_lr=0.8, transfer_lr=lr, transfer_every=1,
                                  n_reads_per_transfer=None, gamma=0.4),
        w0=1.0, extra={"c_lins": (0.0, 0.1, 0.2, 0.3)},
        assumptions=(
            "up_down = c_Lin as the script passes it; under aihwkit's one-sided C++ rule the"
            " response's c is c_Lin/(2 - c_Lin) (pulse.aihwkit_mapping); the figure module"
            " paper_figures/response_fig2_tt_fails uses up_down = 2c/(1+c) to hit c exactly",
            "the transfer lr is the SGD lr (aihwkit default transfer_lr = 1, scaled)",
            "update_management and update_bl_management are aihwkit's defaults (True)",
            "SoftBoundsDevice-like (multiplicative noise, no reference); dw_min_std = 0 as the"
            " spec records no cycle noise",
            _BATCH,
        ),
    )


#: how :func:`run_least_squares` writes a mini-batch: one summed increment, or one per sample
BatchUpdate = Literal["summed", "per_sample"]

PRESETS: dict[str, Callable[..., Preset]] = {
    "fig1": fig1, "fig3": fig3, "fig4_sigma": fig4_sigma, "fig4_init": fig4_init, "fig5": fig5,
    "response_fig2": response_fig2,
}
"""Preset factories by name."""


def run_least_squares(preset: Preset, optimizer: Algorithm, *, steps: int | None = None,
                      runs: int = 1, seed: int = 0, batch_update: BatchUpdate = "summed",
                      read: Literal["weights", "forward", "both"] = "weights") -> np.ndarray:
    r"""Run a least-squares preset as the scripts do: one tile ``AnalogLinear(D -> 1)`` (no bias;
    the bias problem's constant column is an input), full-batch gradient
    :math:`g = \nabla_W \frac{c}{N}\sum_n (\hat y_n - y_n)^2` with :math:`\hat y = ` the tile's
    forward product through :attr:`Preset.io` (``w_noise``: the gradient noise), then
    ``optimizer.step``. Returns the loss :math:`(f - f^*)/D`, shape ``(runs, steps + 1)``.

    ``batch_update="per_sample"`` writes the batch as aihwkit does, one update per sample
    (:func:`sim.minibatch.per_sample_update` with the optimizer's mode; Analog SGD only):
    increments :math:`-\alpha\, \partial_{\hat y_n} f \, a_n`. ``read="weights"`` records the
    noiseless :math:`f(W_k)`; ``read="forward"`` the loss of the training forward pass itself
    (through the tile's IO noise, as a script records ``loss.item()``; the last entry, after the
    final step, is a fresh read); ``read="both"`` returns both from the same runs, shape
    ``(2, runs, steps + 1)`` (weights, forward), each bitwise the array of its single read.

    Random streams (:class:`sim._rng.BatchRNG`, base ``seed``): ``"presets.io"`` (forward-pass
    noise), ``"presets.update"`` (pulses).
    """
    if preset.problem is None:
        raise ValueError(f"preset {preset.name!r} is not a least-squares preset")
    K = preset.steps if steps is None else int(steps)
    if K < 0 or runs < 1:
        raise ValueError(f"steps must be >= 0 and runs >= 1, got steps={steps!r}, runs={runs!r}")
    if batch_update not in ("summed", "per_sample"):
        raise ValueError(f"batch_update must be 'summed' or 'per_sample', got {batch_update!r}")
    if read not in ("weights", "forward", "both"):
        raise ValueError(f"read must be 'weights', 'forward' or 'both', got {read!r}")
    per_sample = batch_update == "per_sample"
    if per_sample and (not isinstance(optimizer, AnalogSGD) or optimizer.mode not in ("mean_field", "pulsed")
                       or getattr(optimizer.device, "write_noise_std", 0) > 0):
        raise ValueError("batch_update='per_sample' needs Analog SGD in mode 'mean_field' or 'pulsed'"
                         f" on a device without write noise, got {optimizer!r}")
    prob = paper_problem(preset.problem)
    A, y = prob.meta["A"], prob.meta["y"]
    N, D = A.shape
    c = 0.5 if prob.meta["halved"] else 1.0
    layer = Linear(D, 1, bias=False, io=preset.io if preset.io is not None else IO())
    X = np.broadcast_to(A, (runs, N, D))
    rng_io = BatchRNG(seed, range(runs), "presets.io")
    rng_up = BatchRNG(seed, range(runs), "presets.update")
    state = optimizer.init(np.full((runs, D), preset.w0))
    want_w, want_f = read in ("weights", "both"), read in ("forward", "both")
    reads = np.empty((want_w + want_f, runs, K + 1))  # [noiseless f(W_k)], [the forward's loss]
    wi, fi = 0, int(want_w)

    def forward_loss(yhat: np.ndarray) -> np.ndarray:
        return (c * ((yhat[..., 0] - y) ** 2).mean(axis=1) - prob.f_star) / D

    if want_w:
        reads[wi, :, 0] = (prob.loss(optimizer.weights(state)) - prob.f_star) / D
    if per_sample:
        assert isinstance(optimizer, AnalogSGD)  # checked above
        device, mode = optimizer.device, optimizer.mode
        alpha_r = np.reshape(optimizer.alpha, (-1, 1, 1))  # per run, against (R, N, D)
    for k in range(K):
        W = optimizer.query(state)[:, None, :]  # (R, 1, D)
        yhat, cache = layer.forward(W, X, rng_io)
        if want_f:
            reads[fi, :, k] = forward_loss(yhat)
        dy = (2 * c / N) * (yhat - y[None, :, None])
        if per_sample:
            inc = -alpha_r * dy * A[None]  # (R, N, D): sample n's increment -alpha dy_n a_n
            state = WeightState(per_sample_update(device, state.W, inc, rng_up, mode=mode))
        else:
            _, dW = layer.backward(W, cache, dy)
            state = optimizer.step(state, dW[:, 0, :], rng_up)
        if want_w:
            reads[wi, :, k + 1] = (prob.loss(optimizer.weights(state)) - prob.f_star) / D
    if want_f:
        reads[fi, :, K] = forward_loss(layer.forward(optimizer.query(state)[:, None, :], X, rng_io)[0])
    return reads if read == "both" else reads[0]
