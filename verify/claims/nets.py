"""Multi-layer analog network claims (arXiv 2406.12774 Sec. 5 / Figures 5 and 7; spec Sec. 6).

* ``nets.gradient_check``: the simulator's backprop is exact (FC and conv stacks).
* ``nets.analog_reduces_to_digital``: tau -> infinity turns Analog SGD training into digital SGD.
* ``nets.tt_beats_asgd``: at small tau Tiki-Taka stays within a few points of digital SGD while
  Analog SGD falls behind.
* ``nets.saturation_lower_for_tt``: saturation of the arrays that receive the gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from sim import nets

from .._claim import Check, claim, exact, lower, slope, upper
from ..config import Config, Modes, config_cache
from ..stats import Z, mean_se, mean_se_rows, weighted_linear_fit

# --- nets.gradient_check -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Grad(Config):
    """Settings of the claims reading ``_GRAD[mode]`` (one instance per mode)."""

    runs: int
    batch: int
    eps: float


_GRAD = Modes(
    quick=_Grad(runs=4, batch=5, eps=1e-5),
    full=_Grad(runs=16, batch=10, eps=1e-5),
)
# Central differences in float64: truncation eps^2 |L'''| / 6 ~ 1e-10 and rounding u |L| / eps ~ 1e-11
# for losses and curvatures of order one; 1e-6 relative leaves four decades for larger curvature,
# while a wrong backward pass (the control) is off by O(1).
_GRAD_RTOL = 1e-6


class _LinearBackprop(nets.Sigmoid):
    """Negative control: a sigmoid whose backward pass forgets its derivative sigma (1 - sigma)."""

    def backward(self, W, cache, dy):
        return dy, None


def _grad_stacks(control: bool) -> dict[str, tuple[list, tuple[int, ...]]]:
    act = _LinearBackprop if control else nets.Sigmoid
    return {
        "FCN sigmoid 20-16-12-5": ([nets.Linear(20, 16), act(), nets.Linear(16, 12), act(),
                                     nets.Linear(12, 5)], (20,)),
        "FCN relu/tanh (no bias)": ([nets.Linear(20, 16, bias=False), nets.ReLU(),
                                      nets.Linear(16, 12, bias=False), nets.Tanh(),
                                      nets.Linear(12, 5, bias=False)], (20,)),
        "CNN conv-tanh-pool-conv-sigmoid-fc": ([nets.Conv2d(1, 4, 3), nets.Tanh(), nets.MaxPool2d(2),
                                                 nets.Conv2d(4, 6, 2), act(), nets.Flatten(),
                                                 nets.Linear(6 * 3 * 3, 5)], (1, 10, 10)),
    }


@claim(
    "nets.gradient_check",
    title="backprop through analog-tile layers is exact (FC and conv stacks vs finite differences)",
    statement="For fully connected and convolutional (im2col) stacks with sigmoid, tanh, ReLU and"
    " max-pool, the simulator's backward pass (W^T on the tile, outer-product weight gradients)"
    " equals the directional derivative of the mean log-softmax NLL loss computed by central finite"
    " differences, along a random direction in all weights, for every run.",
    reference="arXiv 2406.12774 Sec. 2 (analog forward W x / backward W^T d / rank-one update);"
    " aihwkit AnalogLinear / AnalogConv2d (im2col)",
    control="drop the sigmoid's derivative from its backward pass: backprop then disagrees with the"
    " finite differences",
    config=_GRAD,
)
def gradient_check(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _GRAD[mode]
    R, B = cfg.runs, cfg.batch
    checks, details = [], {}
    for name, (net, shape) in _grad_stacks(control).items():
        params = nets.init_params(net, sim.BatchRNG(0, range(R), "nets.init"), scale=0.8)
        x = sim.BatchRNG(1, range(R), "x").normal((B, *shape))
        labels = np.floor(sim.BatchRNG(2, range(R), "y").uniform(B) * 5).astype(int)
        drng = sim.BatchRNG(3, range(R), "direction")
        dirs = [None if W is None else drng.normal(W.shape[1:]) for W in params]
        analytic, numeric = nets.directional_gradient_check(net, params, x, labels, dirs, eps=cfg.eps)
        rel = float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(numeric), 1e-12)))
        checks.append(exact(f"{name}: max relative error over {R} runs", rel, 0.0, atol=_GRAD_RTOL,
                            reason="central differences in float64 (eps = 1e-5): truncation ~1e-10 and"
                            " rounding ~1e-11 relative; 1e-6 leaves four decades of margin"))
        details[name] = rel
    return checks, details


# --- nets.analog_reduces_to_digital ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Reduce(Config):
    """Settings of the claims reading ``_REDUCE[mode]`` (one instance per mode)."""

    taus: tuple[float, ...]
    runs: int
    epochs: int
    batch: int
    lr: float
    hidden: int


_REDUCE = Modes(
    quick=_Reduce(taus=(1e2, 1e3, 1e4, 1e5), runs=4, epochs=1, batch=10, lr=0.1, hidden=32),
    full=_Reduce(taus=(1e2, 1e3, 1e4, 1e5, 1e6), runs=8, epochs=3, batch=10, lr=0.1, hidden=64),
)


@config_cache
def _reduce_runs(mode: str, control: bool) -> dict:
    cfg = _REDUCE[mode]
    data = nets.load_digits(seed=0)
    net = [nets.Linear(64, cfg.hidden), nets.Sigmoid(), nets.Linear(cfg.hidden, 10)]
    common: dict[str, Any] = dict(lr=cfg.lr, epochs=cfg.epochs, batch_size=cfg.batch, runs=cfg.runs, seed=5)
    dig = nets.train(net, data, sim.DigitalSGD, **common)
    w_d = np.concatenate([W.reshape(W.shape[0], -1) for W in dig.weights if W is not None], axis=1)
    devs, accs = [], []
    for tau in cfg.taus:
        # control: an asymmetric device (symmetric point c tau) whose response tends to 1 +- c, not 1
        device = sim.GeneralizedLinear(tau, c=0.2) if control else sim.SoftBounds(tau)
        ana = nets.train(net, data, functools.partial(sim.AnalogSGD, device=device), **common)
        w_a = np.concatenate([W.reshape(W.shape[0], -1) for W in ana.weights if W is not None], axis=1)
        devs.append(np.max(np.abs(w_a - w_d), axis=1) / np.max(np.abs(w_d), axis=1))
        accs.append(np.abs(ana.test_acc[:, -1] - dig.test_acc[:, -1]))
    return dict(taus=np.array(cfg.taus), dev=np.array(devs), acc=np.array(accs),
                digital_acc=dig.test_acc[:, -1])


@claim(
    "nets.analog_reduces_to_digital",
    title="tau -> infinity: Analog SGD training of a network reproduces digital SGD (deviation ~ 1/tau)",
    statement="Training the same sigmoid FCN on digits from the same initialization and mini-batch"
    " order, the final weights of Analog SGD on soft-bounds tiles deviate from digital SGD's by a"
    " relative amount D(tau) that vanishes like 1/tau (log-log slope -1: the analog map differs from"
    " the digital one by the O(1/tau) term -|Delta| W/tau), and is below 1e-3 at the largest tau.",
    reference="arXiv 2406.12774 Sec. 2 (tau -> infinity gives the ideal device), spec Sec. 1"
    " ('When tau -> infinity the device becomes ideal and analog SGD becomes digital SGD')",
    control="an asymmetric generalized-linear device (c = 0.2): its response tends to 1 +- c, not to"
    " the ideal one, so the deviation does not vanish",
    config=_REDUCE,
)
def analog_reduces_to_digital(mode: str, control: bool) -> tuple[list[Check], dict]:
    r = _reduce_runs(mode, control)
    logd = np.log(r["dev"])  # (taus, runs)
    m, se = mean_se_rows(logd)
    fit = weighted_linear_fit(np.log(r["taus"]), m, np.maximum(se, 1e-3))
    # the exponent -1 is an independent fact, not a theory constant: the analog update differs from
    # the digital one by |d| G(w) with G = w/tau (device.soft_bounds.identities), so the deviation is
    # first order in 1/tau by a Taylor expansion of the (smooth) training map
    checks = [
        slope("log D vs log tau (first-order perturbation: slope -1)", fit, -1.0, model_tol=0.05,
              reason=f"{Z:g} s.e. of the weighted fit (per-tau s.e. over runs, floored at 1e-3 in log)"
              " + 0.05 for the O(1/tau^2) terms, which bend the local slope by O(D); D <= 1e-2 on this"
              " tau range, so the bend is well below 0.05"),
        upper(f"relative weight deviation at tau = {r['taus'][-1]:g}",
              mean_se(r["dev"][-1]), 1e-3,
              reason=f"{Z:g} s.e. over runs; 1e-3 (0.1 % of the largest weight) is what 'reproduces"
              " digital training' means here; the 1/tau law itself is the slope check"),
    ]
    details = {"taus": r["taus"].tolist(), "mean_rel_deviation": r["dev"].mean(axis=1).tolist(),
               "abs_test_acc_diff_at_largest_tau": float(r["acc"][-1].max()),
               "slope": fit.slope, "slope_se": fit.se_slope}
    return checks, details


# --- nets.tt_beats_asgd --------------------------------------------------------------------------------

_MNIST_FCN = (784, 256, 128, 10)


@dataclass(frozen=True, kw_only=True)
class _Tt(Config):
    """Settings of the claims reading ``_TT[mode]`` (one instance per mode)."""

    data: str
    sizes: tuple[int, ...]
    tau: float
    control_tau: float
    runs: int
    epochs: int
    lr: float
    beta: float
    transfer: float
    columns: int | None
    step: int | None
    batch: int
    few_points: float


_TT = Modes(
    quick=_Tt(data="digits", sizes=(64, 32, 10), tau=0.6, control_tau=20.0, runs=8, epochs=15, lr=0.1,
              beta=0.1, transfer=1.0, columns=None, step=None, batch=10, few_points=0.05),
    full=_Tt(data="mnist5k", sizes=_MNIST_FCN, tau=0.6, control_tau=20.0, runs=3, epochs=30, lr=0.05,
             beta=0.1, transfer=0.2, columns=None, step=20, batch=10, few_points=0.03),
)
# Tiki-Taka: P learns at beta, W receives a full-array transfer every step at rate transfer * lr (the
# scheduled rate). The paper's aihwkit setting (beta = 0.01, one column per transfer at rate lr)
# learns far more slowly in the mean-field model, and a full transfer at rate lr drives W to its
# bounds on MNIST (see paper_figures/exact_fig5_mnist.py).


def _load(name: str, layout: str = "flat") -> nets.Dataset:
    return nets.load_digits(layout) if name == "digits" else nets.load_mnist5k(layout)


def _tt(lr: float | np.ndarray, cfg: _Tt, device: sim.Device) -> sim.TikiTaka:
    return sim.TikiTaka(cfg.transfer * lr, cfg.beta, device, columns_per_transfer=cfg.columns)


def _tt_runs(mode: str, algorithm: str, tau: float) -> nets.TrainResult:
    # digital SGD does not depend on tau: one cached run serves every tau
    return _tt_runs_cached(mode, algorithm, np.inf if algorithm == "digital" else tau)


@config_cache
def _tt_runs_cached(mode: str, algorithm: str, tau: float) -> nets.TrainResult:
    cfg = _TT[mode]
    data = _load(cfg.data)
    device = sim.Ideal() if algorithm == "digital" else sim.SoftBounds(tau)
    makers: dict[str, Callable[[Any], sim.Algorithm]] = {
        "digital": sim.DigitalSGD,
        "analog": lambda lr: sim.AnalogSGD(lr, device),
        "tt": lambda lr: _tt(lr, cfg, device),
    }
    make = makers[algorithm]
    sched = None if cfg.step is None else nets.StepLR(cfg.step, 0.1)
    return nets.train(nets.fcn(cfg.sizes), data, make, lr=cfg.lr, epochs=cfg.epochs,
                      batch_size=cfg.batch, runs=cfg.runs, seed=11, schedule=sched,
                      label=f"{algorithm} tau={tau:g}")


def _final_acc(res: nets.TrainResult, last: int = 3) -> np.ndarray:
    """Per run, the mean test accuracy of the last ``last`` epochs (the paper averages the last 5)."""
    return res.test_acc[:, -last:].mean(axis=1)


@claim(
    "nets.tt_beats_asgd",
    title="small tau: Tiki-Taka's test accuracy stays within a few points of digital SGD, Analog SGD's"
    " falls below Tiki-Taka's",
    statement="Regime: mean-field tiles (sim.SoftBounds, the dw_min -> 0 limit; at pulse level Tiki-Taka"
    " beats Analog SGD only below a granularity threshold, see tt.granularity_floor). Training a sigmoid"
    " FCN (full: MNIST-5k 784-256-128-10, batch 10; quick: digits 64-32-10) with every layer an analog"
    " soft-bounds tile of small tau, the per-run accuracy gap digital -"
    " TT (same seeds: paired) is below a few points, digital - Analog SGD is above a few points, and"
    " TT - Analog SGD is positive, each with Z = 3 standard errors over R seeds.",
    reference="arXiv 2406.12774 Figure 5 (FCN) and Thm 4 vs Thm 2-3; spec Sec. 6",
    control="large tau (20): Analog SGD is then close to digital SGD and no longer below Tiki-Taka",
    known_failures={"full": "1/3 checks (tau = 0.6, MNIST-5k): digital - TT = 6.7 +- 9.6 points and"
                    " TT - Analog SGD = 16.6 +- 10.5 points: Tiki-Taka stalls in some seeds (the spread"
                    " over seeds, not the mean, fails both checks; see exact_fig5_mnist); digital -"
                    " Analog SGD = 23.3 +- 1.6 points holds"},
    config=_TT,
)
def tt_beats_asgd(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _TT[mode]
    tau = cfg.control_tau if control else cfg.tau
    acc = {a: _final_acc(_tt_runs(mode, a, tau)) for a in ("digital", "analog", "tt")}
    few = cfg.few_points
    gap_tt = mean_se(acc["digital"] - acc["tt"])
    gap_da = mean_se(acc["digital"] - acc["analog"])
    gap_a = mean_se(acc["tt"] - acc["analog"])
    why = f"{Z:g} s.e. over {cfg.runs} paired seeds; 'a few points' = {100 * few:g} points"
    checks = [
        upper(f"digital - TT accuracy (tau = {tau:g}) <= {few:g}", gap_tt, few, reason=why),
        lower(f"digital - Analog SGD accuracy (tau = {tau:g}) > {few:g}", gap_da, few, reason=why),
        lower(f"TT - Analog SGD accuracy (tau = {tau:g}) > 0", gap_a, 0.0,
              reason=f"{Z:g} s.e. over {cfg.runs} paired seeds (lower confidence limit > 0)"),
    ]
    details: dict[str, Any] = {f"{a}_acc_mean": float(v.mean()) for a, v in acc.items()}
    details.update({f"{a}_acc_std": float(v.std(ddof=1)) for a, v in acc.items()})
    details.update(tau=tau, gap_digital_minus_tt=[gap_tt.mean, gap_tt.se],
                   gap_digital_minus_analog=[gap_da.mean, gap_da.se],
                   gap_tt_minus_analog=[gap_a.mean, gap_a.se])
    return checks, details



# --- nets.saturation_lower_for_tt ----------------------------------------------------------------------


def _sat(arrays: list[np.ndarray], tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Per run: ``max |x| / tau`` and ``mean |x| / tau`` over every entry of every tile."""
    flat = np.concatenate([np.abs(a).reshape(a.shape[0], -1) for a in arrays], axis=1) / tau
    return flat.max(axis=1), flat.mean(axis=1)


@claim(
    "nets.saturation_lower_for_tt",
    title="the array that accumulates gradients is less saturated under Tiki-Taka (P) than under"
    " Analog SGD (W)",
    statement="Regime: mean-field tiles (sim.SoftBounds, the dw_min -> 0 limit of pulse-level writes)."
    " After training the tt_beats_asgd network at its small tau, the array the gradients are"
    " written to is less saturated under Tiki-Taka (P, whose P_max/tau enters TT's bound) than under"
    " Analog SGD (W, whose W_max/tau enters its bound; Table 1), measured as the mean |.|/tau over all"
    " tiles (the first moment of Figure 7's saturation histogram; paired seeds, Z = 3 s.e.; the"
    " ||.||_inf/tau values are reported, not checked). The model weights W themselves, whose"
    " histograms Figure 7 shows, are reported too: in the mean-field soft-bounds model TT's W is *more*"
    " saturated than Analog SGD's (Analog SGD's asymmetric drift pulls W to the symmetric point 0).",
    reference="arXiv 2406.12774 Table 1 (W_max^2/tau^2 vs P_max^2/tau^2), Thm 2 vs Thm 4, Figure 7;"
    " spec Sec. 6",
    control="compare Tiki-Taka's model weights W (what Figure 7 plots) instead of its gradient array P"
    " (the 'wrong array'): W holds the solution and is more saturated than Analog SGD's W",
    config=_TT,
)
def saturation_lower_for_tt(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _TT[mode]
    tau = cfg.tau
    analog = _tt_runs(mode, "analog", tau)
    tt = _tt_runs(mode, "tt", tau)
    a_max, a_mean = _sat([W for W in analog.weights if W is not None], tau)
    p_max, p_mean = _sat([s.P for s in tt.states if s is not None], tau)
    w_max, w_mean = _sat([W for W in tt.weights if W is not None], tau)
    t_mean, arr = (w_mean, "W") if control else (p_mean, "P")
    why = f"{Z:g} s.e. over {cfg.runs} paired seeds (lower confidence limit > 0)"
    # Only the mean saturation is checked: ||.||_inf is the single most extreme of ~2e5 entries and
    # scatters widely between seeds (full mode: A-SGD ||W||_inf - TT ||P||_inf = -0.13 +- 0.14, an
    # inconclusive check); it is reported in the details.
    checks = [
        lower(f"Analog SGD mean|W|/tau - TT mean|{arr}|/tau > 0", mean_se(a_mean - t_mean), 0.0,
              reason=why),
    ]
    details = {"tau": tau, "analog_W_inf_over_tau": float(a_max.mean()),
               "analog_W_mean_over_tau": float(a_mean.mean()),
               "tt_P_inf_over_tau": float(p_max.mean()), "tt_P_mean_over_tau": float(p_mean.mean()),
               "tt_W_inf_over_tau": float(w_max.mean()), "tt_W_mean_over_tau": float(w_mean.mean())}
    return checks, details
