"""Claims that run the simulator's less-travelled public paths against exact identities.

Each claim drives a path that the paper claims never reach on their own: ``sim.simulate``'s
running averages (pinned to closed-form sums), residual learning's query point W + gamma P and
the transfer schedule (``transfer_every``, ``columns_per_transfer``) inside ``simulate``, the
clipping of every mean-field device, the pulse fast path's cycle-noise spread, write noise,
device-to-device variation with ``up_down < 0``, and the independence of the pulse and
gradient-noise streams. Every prediction is a closed form or an exact identity (named in the
check's reason) and every claim has a negative control that fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from sim import BatchRNG
from theory import devices as tdev

from .._claim import Check, claim, close, exact, holds
from ..config import Config, Modes, config_cache
from ..stats import Estimate, Z, mean_se, sd_se_normal
from .tt import _drive

# --- sim.exact_averages -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Avg(Config):
    """The fixed settings ``_AVG``."""

    lam: tuple[float, ...]
    w_star: tuple[float, ...]
    w0: tuple[float, ...]
    alpha: float
    K: int
    every: int
    average_from: int


_AVG = _Avg(lam=(0.5, 1.0, 2.0), w_star=(0.3, -0.2, 0.1), w0=(-0.4, 0.5, 0.05), alpha=0.3, K=60, every=7,
            average_from=20)


def _geometric(r2: np.ndarray, start: int, stop: int) -> np.ndarray:
    """sum_{k=start}^{stop-1} r2^k per coordinate (closed form; r2 != 1)."""
    return (r2**start - r2**stop) / (1 - r2)


@claim(
    "sim.exact_averages",
    title="simulate's running averages equal the closed-form sums of noiseless GD on a quadratic",
    statement="Noiseless GD (digital SGD and Analog SGD on the ideal device) on f = sum_i lam_i/2"
    " (w_i - w*_i)^2 has e_k = (1 - alpha lam)^k e_0, so (1/(b - a)) sum_{a <= k < b} ||grad f(W_k)||^2"
    " and f(W_k) - f* are geometric sums in closed form, and the time-averaged weights over"
    " [average_from, K) are W* + e_0 sum r^k/(K - average_from). simulate's exact running averages"
    " (stride record_every = 7, so snapshots are not every iteration) match them to rounding for"
    " every window of snapshots. Along noiseless Analog GD on the soft-bounds device, every metric the"
    " bounds consume (S_K, Stilde_K, S_K_general, M-weighted and E_K norms) and W_max equal their"
    " definitions evaluated on a plain reference recursion with theory.devices' responses.",
    reference="sim.trajectory (exact running averages; every bound's (1/K) sum_{k<K}); closed form of"
    " the linear recursion; symbol tables of theory asgd.upper.*",
    control="predict with the sums shifted by one iteration (k = a+1 .. b): a one-iteration offset of"
    " the averages is then seen",
)
def exact_averages(mode: str, control: bool) -> list[Check]:
    lam = np.array(_AVG.lam)
    w_star, w0 = np.array(_AVG.w_star), np.array(_AVG.w0)
    a, K, a0 = _AVG.alpha, _AVG.K, _AVG.average_from
    prob = sim.quadratic(np.diag(lam), w_star)
    e0 = w0 - w_star
    r = 1 - a * lam
    shift = 1 if control else 0
    checks: list[Check] = []
    for algo in (sim.DigitalSGD(a), sim.AnalogSGD(a, sim.Ideal())):
        tr = sim.simulate(prob, algo, steps=K, seeds=2, w0=w0, record=("grad_norm2", "loss"),
                          record_every=_AVG.every, average_from=a0)
        snaps = [int(k) for k in tr.k]
        windows = [(0, K), (0, snaps[1]), (snaps[2], snaps[-2]), (snaps[3], K)]
        for start, stop in windows:
            n = stop - start
            s = _geometric(r**2, start + shift, stop + shift)
            pred = {"grad_norm2": float(np.sum(lam**2 * e0**2 * s)) / n,
                    "loss": float(np.sum(lam / 2 * e0**2 * s)) / n}
            for metric, p in pred.items():
                got = tr.average(metric, start, stop)
                checks.append(exact(
                    f"{algo.name}: average of {metric} over {start} <= k < {stop}",
                    float(np.max(np.abs(got - p))) + p, p, rtol=1e-12,
                    reason="closed-form geometric sum; 1e-12 relative for float64 rounding over"
                    f" {K} iterations (reported: worst run)"))
        pred_w = w_star + e0 * _geometric(r, a0 + shift, K + shift) / (K - a0)
        checks.append(exact(f"{algo.name}: time-averaged weights over {a0} <= k < {K}",
                            float(np.max(np.abs(tr.mean_weights - pred_w))), 0.0, atol=1e-13,
                            reason="closed form W* + e_0 sum r^k/(K - a); 1e-13 absolute for float64"
                            " rounding on O(1) weights"))
    checks += _bound_metrics(shift)
    return checks


def _bound_metrics(shift: int) -> list[Check]:
    """Every metric the bounds consume, recorded by simulate along noiseless Analog GD on the
    soft-bounds device, against its definition (theory's symbol table) evaluated on the iterates of
    a plain reference recursion U(w, d) = w + d q_+-(w) with theory.devices' responses."""
    lam = np.array(_AVG.lam)
    w_star, w0 = np.array(_AVG.w_star), np.array(_AVG.w0)
    a, K, tau = _AVG.alpha, _AVG.K, 0.8
    resp = tdev.soft_bounds()
    q = {k: resp.numeric(k, tau=tau) for k in ("q_plus", "q_minus", "F", "G", "M")}
    Ws = [w0]
    for _ in range(K):
        w = Ws[-1]
        d = -a * lam * (w - w_star)
        Ws.append(w + np.where(d >= 0, d * q["q_plus"](w), d * q["q_minus"](w)))
    W = np.array(Ws)  # (K + 1, D): W_0 .. W_K
    g = lam * (W - w_star)
    sat2 = (np.abs(W).max(axis=1) / tau) ** 2
    grad_M = np.sum(q["M"](W) * g**2, axis=1)
    defs = {  # per-iteration values, as defined in theory's symbol tables (asgd.upper.*)
        "grad_norm2": np.sum(g**2, axis=1),
        "loss": np.sum(lam / 2 * (W - w_star) ** 2, axis=1),
        "sat2": sat2,  # Stilde_K summand ||W_k||_inf^2 / tau^2
        "s_ald": sat2 / (1 - sat2),  # S_K summand
        "grad_norm2_M": grad_M,  # ||grad f||^2_M
        "g_over_sqrt_f2": np.max(q["G"](W) ** 2 / q["F"](W), axis=1),  # S_K_general summand
        "e_k_general": np.sum((g * q["F"](W) + np.abs(g) * q["G"](W)) ** 2, axis=1) + 4 * grad_M,
    }
    prob = sim.quadratic(np.diag(lam), w_star)
    tr = sim.simulate(prob, sim.AnalogSGD(a, sim.SoftBounds(tau)), steps=K, seeds=2, w0=w0,
                      record=tuple(defs), record_every=_AVG.every)
    checks = []
    for metric, per_k in defs.items():
        pred = float(np.mean(per_k[shift:K + shift]))
        got = tr.average(metric)
        checks.append(exact(f"Analog GD (soft bounds): (1/K) sum_k {metric}(W_k) = definition on the"
                            " reference iterates", float(np.max(np.abs(got - pred))) + pred, pred,
                            rtol=1e-10, reason="independent recursion with theory's responses;"
                            " 1e-10 relative for float64 rounding over 60 steps (worst run)"))
    w_max = float(np.abs(W[: K + 1]).max())
    checks.append(exact("Analog GD (soft bounds): W_max = max_k ||W_k||_inf over k <= K",
                        float(np.max(tr.maxima["w_inf"])), w_max if shift == 0 else
                        float(np.abs(W[1:]).max()), rtol=1e-12,
                        reason="running maximum of the same iterates (float64 rounding)"))
    return checks


# --- sim.random_streams_independent ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Streams(Config):
    """The fixed settings ``_STREAMS``."""

    dw: float
    s: float
    D: int
    runs: int
    w: float


_STREAMS = _Streams(dw=0.0625, s=0.5, D=16, runs=1024, w=0.25)


@claim(
    "sim.random_streams_independent",
    title="the pulse stream and the gradient-noise stream are independent",
    statement="One pulsed Analog SGD step at a point with zero gradient, Rademacher noise +-s and"
    " alpha s = dw_min/2: each element fires one pulse iff the pulse stream's uniform is below 1/2"
    " (stochastic rounding of 1/2), while the noise sign is read from the same seeds' mean-field run."
    " Over R x D elements the statistic mean((2 fired - 1) sign(xi)) is 0 within 3 s.e. (it is +-1"
    " per element, so s.e. = sample s.d./sqrt(N)); if the two streams coincided it would be +-1.",
    reference="sim._rng (one stream per purpose), sim.run.simulate; aihwkit stochastic rounding",
    control="pair the pulse outcome with a statistic of the pulsed run itself (the direction moved),"
    " which shares its draw: the statistic is then ~0.5, far from 0",
)
def random_streams_independent(mode: str, control: bool) -> tuple[list[Check], dict]:
    c = _STREAMS
    alpha = 0.5 * c.dw / c.s
    prob = sim.quadratic(np.eye(c.D), np.full(c.D, c.w))
    dev = sim.PulsedSoftBounds(dw_min=c.dw)
    noise = sim.RademacherNoise(c.s)
    common: dict[str, Any] = dict(steps=1, seeds=c.runs, noise=noise, w0=c.w, record=("loss",))
    pulsed = sim.simulate(prob, sim.AnalogSGD(alpha, dev, mode="pulsed"), **common)
    mf = sim.simulate(prob, sim.AnalogSGD(alpha, dev, mode="mean_field"), **common)
    moved = pulsed.final_weights - c.w
    fired = (moved != 0).astype(float)
    sign_xi = -np.sign(mf.final_weights - c.w)  # the step is -alpha xi times a positive gain
    other = np.where(moved < 0, 1.0, -1.0) if control else sign_xi
    stat = mean_se(((2 * fired - 1) * other).ravel())
    checks = [
        close("mean((2 fired - 1) x sign(noise)) = 0", stat, 0.0,
              reason=f"{Z:g} s.e. over R x D = {fired.size} elements (independent under the claim)"),
        close("fraction of elements that fired = 1/2 (stochastic rounding of 1/2)",
              mean_se(fired.ravel()), 0.5,
              reason=f"{Z:g} s.e. (Bernoulli(1/2) per element)"),
        # the statistic's samples are +-1, so its standard error is known exactly: this pins
        # verify.stats.mean_se, on which every statistical tolerance of the claims rests
        exact("s.e. of the +-1 statistic = sqrt((1 - m^2)/(N - 1)) (verify.stats.mean_se)", stat.se,
              float(np.sqrt((1 - stat.mean**2) / (stat.n - 1))), rtol=1e-9,
              reason="identity for +-1 samples (sample variance N(1 - m^2)/(N - 1)); float64"
              " rounding of a mean over 16384 terms"),
        exact("mean-field run: every noise sign seen (|step| = alpha s (1 -+ w/tau))",
              float(np.min(np.abs(mf.final_weights - c.w))), alpha * c.s * (1 - c.w),
              rtol=1e-12, reason="soft-bounds update of a +-alpha s increment at w; float rounding"),
    ]
    return checks, {"statistic": stat.mean, "se": stat.se}


# --- device.update_clips -----------------------------------------------------------------------------

_CLIP_DEVICES: tuple[tuple[str, Callable[[float], sim.Device], dict[str, float]], ...] = (
    ("generalized_linear", lambda t: sim.GeneralizedLinear(t, 0.2), dict(c=0.2)),
    ("power", lambda t: sim.Power(t, 0.5), dict(gamma_res=0.5)),
    ("power", lambda t: sim.Power(t, 2.0), dict(gamma_res=2.0)),
    ("exponential", lambda t: sim.Exponential(t, 1.0), dict(gamma_res=1.0)),
    ("exponential", lambda t: sim.Exponential(t, 3.0), dict(gamma_res=3.0)),
    ("soft_bounds", lambda t: sim.SoftBounds(t), {}),
)


@dataclass(frozen=True, kw_only=True)
class _Clips(Config):
    """Random (w, d) pairs per device and tau."""

    n: int


_CLIPS = Modes(quick=_Clips(n=401), full=_Clips(n=4001))


@claim(
    "device.update_clips",
    title="every mean-field device clips large steps at its bounds: U = clip(w + d q_+-(w))",
    statement="For the generalized linear (c = 0.2), power (gamma 0.5, 2), exponential (gamma 1, 3)"
    " and soft-bounds devices, steps up to 3 tau in size (so that at least a fifth of the updates"
    " cross a bound) give exactly clip(w + d q_+-(w), -tau, tau) with q_+- the sympy responses of"
    " theory.devices; and Analog GD with a step that overshoots (target outside the range) ends"
    " exactly on the bound.",
    reference="theory.devices (responses, ranges); aihwkit clips at w_max/w_min; spec C1",
    control="compare with the unclipped update w + d q_+-(w)",
    config=_CLIPS,
)
def update_clips(mode: str, control: bool) -> list[Check]:
    n = _CLIPS[mode].n
    rng = np.random.default_rng(11)
    checks: list[Check] = []
    for tau in (0.5, 2.0):
        w = np.linspace(-tau, tau, n)
        d = rng.uniform(-3 * tau, 3 * tau, n)
        for name, make, params in _CLIP_DEVICES:
            resp = tdev.BUILTINS[name]()
            vals = dict(tau=tau, **params)
            qp, qm = resp.numeric("q_plus", **vals)(w), resp.numeric("q_minus", **vals)(w)
            lo, hi = (float(b.subs({resp.params["tau"]: tau})) for b in resp.w_range)
            raw = w + np.where(d >= 0, d * qp, d * qm)
            ref = raw if control else np.clip(raw, lo, hi)
            crossed = float(np.mean((raw > hi) | (raw < lo)))
            label = f"{name}{params or ''} tau={tau:g}"
            checks.append(holds(f"{label}: fraction of updates that cross a bound >= 0.2",
                                crossed >= 0.2, "deterministic grid: the clipping branch must be"
                                " exercised", measured=crossed, predicted=0.2))
            got = make(tau).update(w, d)
            checks.append(exact(f"{label}: sim update = clip(w + d q_+-(w)) (theory responses)",
                                float(np.max(np.abs(got - ref))), 0.0, atol=1e-12 * tau,
                                reason="float64 rounding of a few operations on O(tau) numbers"))
    # through simulate: a step that overshoots lands on the bound and stays there
    for name, make, params in _CLIP_DEVICES[:4]:
        dev = make(1.0)
        tr = sim.simulate(sim.scalar_quadratic(1.0, 5.0), sim.AnalogSGD(3.0, dev), steps=4, seeds=2)
        final = float(np.max(np.abs(tr.final_weights - (5.0 if control else 1.0))))
        checks.append(exact(f"{name}{params}: Analog GD toward W* = 5 tau ends at the bound tau",
                            final, 0.0, atol=1e-15,
                            reason="the clip returns the bound itself (exact)"))
    return checks


# --- tt.simulate_paths --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Ttp(Config):
    """The fixed settings ``_TTP``."""

    D: int
    R: int
    K: int
    alpha: float
    beta: float
    gamma: float
    tau: float
    std: float


_TTP = _Ttp(D=6, R=6, K=300, alpha=0.1, beta=0.2, gamma=0.4, tau=1.0, std=0.05)


@dataclass(frozen=True, kw_only=True)
class _Sched(Config):
    """The fixed settings ``_SCHED``."""

    lam: tuple[float, ...]
    w_star: tuple[float, ...]
    alpha: float
    beta: float
    gamma: float
    every: int
    cols: int
    K: int


_SCHED = _Sched(lam=(0.5, 1.0, 1.5, 2.0, 0.8), w_star=(0.3, -0.2, 0.1, 0.25, -0.35), alpha=0.3, beta=0.2,
                gamma=0.25, every=3, cols=2, K=25)


def _schedule_reference(every: int, cols: int) -> np.ndarray:
    """Tiki-Taka / residual learning on ideal arrays, as documented (sim.TikiTaka): per step
    P <- P - beta grad f(W + gamma P); on every ``every``-th step W[c] <- W[c] + alpha P[c] for the
    ``cols`` columns at a cyclic pointer, which then advances by ``cols``. A plain loop, written
    from the documentation (not from sim's code)."""
    s = _SCHED
    lam, w_star = np.array(s.lam), np.array(s.w_star)
    N = lam.size
    W, P = np.zeros(N), np.zeros(N)
    pointer = 0
    for k in range(1, s.K + 1):
        P = P - s.beta * lam * (W + s.gamma * P - w_star)
        if k % every == 0:
            idx = (pointer + np.arange(cols)) % N
            W[idx] = W[idx] + s.alpha * P[idx]
            pointer = (pointer + cols) % N
    return W


@claim(
    "tt.simulate_paths",
    title="Tiki-Taka / residual learning inside sim.simulate: query point W + gamma P and the"
    " transfer schedule",
    statement="Regime: mean-field (sim.SoftBounds / sim.Ideal, mode = mean_field). Residual learning"
    " (gamma = 0.4, soft-bounds arrays, Gaussian noise) run through"
    " sim.simulate gives the same (1/K) sum ||grad f(W_k)||^2 per run as the claims' recorders"
    " (tt._drive: sim.Mean over the same run, a running sum against the Trajectory's cumulative"
    " sums) to rounding; and with transfer_every = 3 and"
    " columns_per_transfer = 2 of 5 columns, noiseless runs on ideal arrays end exactly where the"
    " documented schedule (P update at W + gamma P every step; every 3rd step, 2 columns at a cyclic"
    " pointer) puts them.",
    reference="sim.TikiTaka (aihwkit TransferCompound: gamma, transfer_every, n_reads_per_transfer);"
    " arXiv 2502.06309 Sec. 4",
    control="simulate with gamma = 0 against the gamma = 0.4 loop, and the schedule predicted as"
    " transfer every step on all columns",
)
def tt_simulate_paths(mode: str, control: bool) -> list[Check]:
    t = _TTP
    prob = sim.paper_problem("exact_fig3")
    dev = sim.SoftBounds(t.tau)
    noise = sim.GaussianNoise(t.std)
    runs = np.arange(t.R)
    ref = _drive(prob, sim.TikiTaka(t.alpha, t.beta, dev, gamma=t.gamma), steps=t.K,
                 runs=runs, noise=noise)
    algo = sim.TikiTaka(t.alpha, t.beta, dev, gamma=0.0 if control else t.gamma)
    tr = sim.simulate(prob, algo, steps=t.K, seeds=runs, noise=noise, record=("grad_norm2",))
    got = tr.average("grad_norm2")
    checks = [exact("residual learning gamma=0.4: simulate's avg ||grad f(W_k)||^2 = tt._drive's"
                    " (worst run, relative)", float(np.max(np.abs(got / ref["avg"] - 1))), 0.0,
                    atol=1e-12, reason="same seeds and streams, same arithmetic: equal up to the"
                    " order of float64 summation (1e-12 relative)")]
    s = _SCHED
    prob5 = sim.quadratic(np.diag(s.lam), np.array(s.w_star))
    for every, cols in ((s.every, s.cols), (1, None), (2, 3)):
        algo = sim.TikiTaka(s.alpha, s.beta, sim.Ideal(), gamma=s.gamma,
                            transfer_every=every, columns_per_transfer=cols)
        tr = sim.simulate(prob5, algo, steps=s.K, seeds=2, record=("loss",))
        pred = (_schedule_reference(1, len(s.lam)) if control else
                _schedule_reference(every, len(s.lam) if cols is None else cols))
        checks.append(exact(f"transfer_every={every}, columns_per_transfer={cols}: final W ="
                            " documented schedule", float(np.max(np.abs(tr.final_weights - pred))),
                            0.0, atol=1e-13, reason="deterministic linear recursion; 1e-13 for float64"
                            " rounding on O(1) weights"))
    return checks


# --- pulse.device_paths -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Pp(Config):
    """Settings of the claims reading ``_PP[mode]`` (one instance per mode)."""

    runs: int
    dw: float
    n: int
    sigma_c: float
    wn: float
    wn_runs: int
    wn_K: int
    dtod_D: int
    beta: float
    dtod: float


_PP = Modes(
    quick=_Pp(runs=4000, dw=0.0625, n=8, sigma_c=0.3, wn=2.0, wn_runs=256, wn_K=40, dtod_D=400, beta=-0.3,
              dtod=0.2),
    full=_Pp(runs=40000, dw=0.0625, n=8, sigma_c=0.3, wn=2.0, wn_runs=2048, wn_K=100, dtod_D=4000, beta=-0.3,
             dtod=0.2),
)


def _variance(x: np.ndarray) -> Estimate:
    """Sample variance over axis 0 with its standard error (mean of squared deviations)."""
    return mean_se((x - x.mean()) ** 2)


@config_cache
def _fast_vs_sequential(mode: str) -> dict[str, np.ndarray]:
    c = _PP[mode]
    dev = sim.PulsedSoftBounds(dw_min=c.dw, dw_min_std=c.sigma_c)
    w = np.zeros((c.runs, 1))
    d = np.full_like(w, c.n * c.dw)  # exactly n pulses (dw is a power of 2)
    fast = dev.pulsed_update(w, d, BatchRNG(5, range(c.runs), "pulse_fast"))
    seq = dev.pulsed_update_sequential(w, d, BatchRNG(6, range(c.runs), "pulse_seq"))
    return {"fast": fast[:, 0], "sequential": seq[:, 0]}


@claim(
    "pulse.device_paths",
    title="pulse-level paths: fast-path cycle-noise spread, write noise, device-to-device variation"
    " with up_down < 0",
    statement="(1) n = 8 up pulses with cycle-to-cycle noise 0.3 from w = 0: the fast path's and the"
    " sequential per-pulse reference's mean and variance both equal the exact moments b (1 - (1-rho)^n)"
    " and b^2 (((1-rho)^2 + rho^2 sigma_c^2)^n - (1-rho)^(2n)) (rho = dw_min/b; independent factors)."
    " (2) Write noise 2 dw_min: Analog SGD run through simulate at its optimum, with a step too small"
    " to fire pulses, reads exactly the persistent weights (aihwkit redraws the apparent weight only"
    " on elements a pulse touched; none was), and a redrawn read weight at W* has loss"
    " tr(H)/2 (2 dw_min)^2 on average. (3) Device-to-device variation (dw_min_dtod 0.2)"
    " with up_down = -0.3: per element, the step sizes measured from noiseless pulses satisfy"
    " a_+ = |a_- + up_down dw_min| (aihwkit: -beta shrinks only the up step; enforce_consistency"
    " takes the absolute value), and a_-/dw_min spreads"
    " with s.d. dw_min_dtod.",
    reference="sim.pulsed (aihwkit SoftBoundsDevice, write_noise_std, populate); theory pulse.n_pulses;"
    " anchors.md 1.2-1.4",
    control="predict without cycle noise (zero spread), with write noise redrawn on every element at"
    " every write but absent from a fresh draw, and with the docstring's symmetric split"
    " a_+ - a_- = 2 up_down dw_min",
    config=_PP,
)
def device_paths(mode: str, control: bool) -> tuple[list[Check], dict]:
    c = _PP[mode]
    checks: list[Check] = []
    # (1) fast path vs sequential reference vs exact moments
    rho, n, b = c.dw / 1.0, c.n, 1.0
    sig = 0.0 if control else c.sigma_c
    mean_pred = b * (1 - (1 - rho) ** n)
    var_pred = b**2 * (((1 - rho) ** 2 + rho**2 * sig**2) ** n - (1 - rho) ** (2 * n))
    for name, x in _fast_vs_sequential(mode).items():
        checks.append(close(f"{name}: mean after {n} noisy pulses = b(1 - (1-rho)^n)", mean_se(x),
                            mean_pred, reason=f"{Z:g} s.e. over {x.size} runs"))
        checks.append(close(f"{name}: variance after {n} noisy pulses = exact product moments",
                            _variance(x), var_pred,
                            reason=f"{Z:g} s.e. of the mean squared deviation over {x.size} runs"))
    # (2) write noise through simulate: no pulses fire (|d| <= alpha L 8 sigma_w << dw_min)
    wn_dev = sim.PulsedSoftBounds(dw_min=c.dw, write_noise_std=c.wn)
    lam = np.array([0.5, 1.0, 2.0])
    prob = sim.quadratic(np.diag(lam), np.array([0.2, -0.1, 0.3]))
    # |d|/dw_min = alpha lam |xi| write_noise_std ~ 4e-9: a pulse fires with that probability per
    # element and step, ~1e-4 expected fires over the whole quick run (1e-3 in full mode)
    alpha = 1e-9
    tr = sim.simulate(prob, sim.AnalogSGD(alpha, wn_dev, mode="pulsed"), steps=c.wn_K,
                      seeds=c.wn_runs, w0=prob.w_star, record=("loss",))
    sw = 0.0 if control else c.wn * c.dw
    sw_all = c.wn * c.dw
    # aihwkit redraws w_apparent only on the elements a pulse touched: no pulse fired, so the read
    # weights stay the persistent ones (control: every element redrawn at every write)
    checks.append(close("write noise: no pulse fired, so nothing was redrawn: average loss of the read"
                        " weights over 1 <= k < K = 0 (aihwkit: only touched elements)",
                        mean_se(tr.average("loss", 1, c.wn_K)),
                        float(lam.sum() / 2 * sw_all**2) if control else 0.0,
                        reason=f"{Z:g} s.e. over runs (exactly 0 when no element is touched)"))
    # a touched element reads persistent + write_noise_std dw_min N(0, 1): every element redrawn
    read = wn_dev.apparent(np.tile(prob.w_star, (c.wn_runs, 1)),
                           BatchRNG(7, range(c.wn_runs), "write_noise_probe"))
    checks.append(close("write noise: loss of freshly redrawn read weights at W* ="
                        " tr(H)/2 (write_noise_std dw_min)^2", mean_se(prob.loss(read) - prob.f_star),
                        float(lam.sum() / 2 * sw**2),
                        reason=f"{Z:g} s.e. over runs (i.i.d. N(0, 1) per element)"))
    checks.append(exact("write noise: persistent weights stay at W* (no pulse fired)",
                        float(np.max(np.abs(tr.final_weights.mean(axis=0) - prob.w_star))), 0.0,
                        atol=6 * sw / np.sqrt(c.wn_runs) + 1e-12,
                        reason="the final read weight averaged over runs: 6 s.d. of the mean of the"
                        " read noise (no drift of the persistent weight)"))
    # (3) device-to-device variation with up_down < 0, noiseless pulses (exact closed form)
    D = c.dtod_D
    dev = sim.PulsedSoftBounds(dw_min=c.dw, up_down=c.beta, dw_min_dtod=c.dtod, shape=(D,),
                               seed=3)
    rng = BatchRNG(0, [0], "dtod_probe")
    w0 = np.zeros((1, D))
    up = dev.pulsed_update(w0, np.full((1, D), c.dw), rng)[0]  # one pulse each way, from 0
    down = dev.pulsed_update(w0, np.full((1, D), -c.dw), rng)[0]
    a_up, a_down = up, -down  # from w = 0 one pulse moves by exactly a_+ (1 - 0) = a_+
    beta = c.beta * (2 if control else 1)
    # enforce_consistency takes |.| of each step: a_+ = |a_- + up_down dw_min| (a_- = g dw_min > 0;
    # an element with g < |up_down|, about 1 in 4000 at dtod 0.2, gets its up step flipped back)
    checks.append(exact("dtod, up_down = -0.3: a_+ = |a_- + up_down dw_min| per element (worst)",
                        float(np.max(np.abs(a_up - np.abs(a_down + beta * c.dw)))), 0.0,
                        atol=1e-15, reason="aihwkit C++ populate: a_+ = |g + min(beta, 0)| dw_min,"
                        " a_- = |g - max(beta, 0)| dw_min; float64 rounding"))
    g = a_down / c.dw
    spread = sd_se_normal(g)
    checks.append(close("dtod: s.d. of a_-/dw_min over elements = dw_min_dtod", spread,
                        0.0 if control else c.dtod,
                        reason=f"{Z:g} x the normal-theory s.e. of a sample s.d., s/sqrt(2(D-1))"))
    return checks, {"fast_var": float(_variance(_fast_vs_sequential(mode)["fast"]).mean),
                    "var_pred": var_pred}
