"""Analog SGD claims (arXiv 2406.12774 Sec. 3-4; 2502.06309 Thm 1-2): the asymptotic error."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

import sim
import theory
from theory.implicit import mean_field_fixed_point, quadratic_loss, ridge_minimizer

from .._claim import Check, claim, close, exact, lower, not_applicable, slope, violated_assumptions
from ..binding import evaluate_bound, response_extremum
from ..config import Config, Modes, config_cache
from ..stats import Estimate, Z, loglog_slope, mean_se, mean_se_rows, weighted_linear_fit

# --- the 1-D lower-bound instance (spec Sec. 4.3): shared by two claims ---------------------------

INSTANCE: dict[str, Any] = dict(L=1.0, w_star=0.5, tau=1.0, s=0.3)


@dataclass(frozen=True, kw_only=True)
class _InstanceRuns(Config):
    """Settings of the claims reading ``_INSTANCE_RUNS[mode]`` (one instance per mode)."""

    alphas: tuple[float, ...]
    runs: int
    horizon: float


_INSTANCE_RUNS = Modes(
    # alphas, chains, horizon alpha*K (the second half is averaged)
    quick=_InstanceRuns(alphas=(0.1, 0.05, 0.025), runs=2000, horizon=40.0),
    full=_InstanceRuns(alphas=(0.1, 0.03, 0.01, 0.003), runs=8000, horizon=60.0),
)


@config_cache
def _instance_floors(mode: str, optimizer: str) -> dict:
    """Per-alpha floor of E|grad f|^2 (second-half time average) on the 1-D instance."""
    cfg = _INSTANCE_RUNS[mode]
    prob = sim.scalar_quadratic(INSTANCE["L"], INSTANCE["w_star"])
    noise = sim.RademacherNoise(INSTANCE["s"])
    means, ses, ratios, ratio_ses = [], [], [], []
    for a in cfg.alphas:
        K = round(cfg.horizon / a)
        algo: sim.Algorithm
        if optimizer == "digital":
            algo = sim.DigitalSGD(a)
        elif optimizer == "analog":
            algo = sim.AnalogSGD(a, sim.SoftBounds(INSTANCE["tau"]))
        else:  # negative control: the same analog recursion with the asymmetric term switched off
            algo = sim.AnalogSGD(a, sim.Ideal())
        tr = sim.simulate(prob, algo, steps=K, seeds=cfg.runs, noise=noise,
                          record=("grad_norm2", "s_ald"), record_every=max(1, K // 400))
        floor = tr.tail_average("grad_norm2", 0.5)
        e = mean_se(floor)
        means.append(e.mean)
        ses.append(e.se)
        s_k = tr.tail_average("s_ald", 0.5)
        if np.all(s_k > 0):
            r = mean_se(floor / (INSTANCE["s"] ** 2 * s_k))
            ratios.append(r.mean)
            ratio_ses.append(r.se)
    return dict(alphas=np.array(cfg.alphas), mean=np.array(means), se=np.array(ses),
                ratio=np.array(ratios), ratio_se=np.array(ratio_ses))


def _instance_values(**extra: float) -> dict:
    return dict(L=INSTANCE["L"], w_star=INSTANCE["w_star"], tau=INSTANCE["tau"], s=INSTANCE["s"],
                **extra)


@claim(
    "asgd.floor_alpha_independent",
    title="Analog SGD's floor does not vanish with alpha; digital SGD's floor is proportional to"
    " alpha",
    statement="On the 1-D instance (f = (w - 0.5)^2/2, Rademacher noise +-0.3, tau = 1), the floor"
    " of E|grad f|^2 under Analog SGD stays above the alpha-independent value s^2 w_bar^2/tau^2 at"
    " every step size and extrapolates to a positive value as alpha -> 0, while digital SGD's floor"
    " equals alpha L s^2 / (2 - alpha L), which vanishes with alpha.",
    reference="arXiv 2406.12774 Fig. 1; spec C2; theory asgd.lower.floor, sgd.floor_1d",
    control="switch the asymmetric term off (ideal device, tau = inf): the 'analog' floor then"
    " scales with alpha and drops below the alpha-independent value",
    config=_INSTANCE_RUNS,
)
def floor_alpha_independent(mode: str, control: bool) -> tuple[list[Check], dict]:
    analog = _instance_floors(mode, "ideal" if control else "analog")
    digital = _instance_floors(mode, "digital")
    lb = float(theory.get("asgd.lower.floor").evaluate(**_instance_values()))
    sgd_floor = theory.get("sgd.floor_1d")
    checks: list[Check] = []
    for a, m, se in zip(analog["alphas"], analog["mean"], analog["se"], strict=True):
        checks.append(lower(f"analog floor at alpha={a:g} >= s^2 w_bar^2/tau^2",
                            Estimate(m, se, 0), lb))
    fit = weighted_linear_fit(analog["alphas"], analog["mean"], analog["se"])
    checks.append(lower("analog floor extrapolated to alpha -> 0 (linear fit) > 0",
                        Estimate(fit.intercept, fit.se_intercept, 0), 0.0,
                        f"{Z:g} standard errors of the weighted fit's intercept"))
    for a, m, se in zip(digital["alphas"], digital["mean"], digital["se"], strict=True):
        pred = float(sgd_floor.evaluate(alpha=a, L=INSTANCE["L"], s=INSTANCE["s"]))
        checks.append(close(f"digital floor at alpha={a:g} = alpha L s^2/(2 - alpha L)",
                            Estimate(m, se, 0), pred))
    details = {
        "alphas": analog["alphas"].tolist(),
        "analog_floor": analog["mean"].tolist(),
        "digital_floor": digital["mean"].tolist(),
        "analog_loglog_slope": loglog_slope(analog["alphas"], analog["mean"], analog["se"]).slope,
        "digital_loglog_slope": loglog_slope(digital["alphas"], digital["mean"],
                                             digital["se"]).slope,
    }
    return checks, details


@claim(
    "asgd.lower_bound_instance",
    title="lower-bound instance: Analog SGD's floor = s^2 w_bar^2/tau^2 + O(alpha), ratio to"
    " sigma^2 S_K -> 1 - w_bar^2/tau^2",
    statement="On the 1-D instance the stationary E|grad f|^2 of Analog SGD equals the derived"
    " closed form s^2 w_bar^2/tau^2 (w_bar = tau L w*/(tau L + s)) plus the O(alpha) variance term"
    " of asgd.lower.floor_alpha, at every step size; its ratio to sigma^2 S_K extrapolates to"
    " 1 - w_bar^2/tau^2 as alpha -> 0. So the asymptotic error Theta(sigma^2 S_K) is attained.",
    reference="arXiv 2406.12774 Thm 3 / Table 1 (instance derived here); spec C5;"
    " theory asgd.lower.floor, asgd.lower.floor_alpha",
    control="switch the asymmetric term off (ideal device): the floor no longer matches the"
    " closed form",
    config=_INSTANCE_RUNS,
)
def lower_bound_instance(mode: str, control: bool) -> tuple[list[Check], dict]:
    runs = _instance_floors(mode, "ideal" if control else "analog")
    floor_alpha = cast(theory.Bound, theory.get("asgd.lower.floor_alpha"))
    checks: list[Check] = []
    for a, m, se in zip(runs["alphas"], runs["mean"], runs["se"], strict=True):
        bad = violated_assumptions(floor_alpha, **_instance_values(alpha=a))
        if bad:  # outside the band where the closed form is derived: the statement says nothing
            checks.append(not_applicable(f"floor at alpha={a:g} = closed form + O(alpha)",
                                         f"assumption violated: {', '.join(bad)}", measured=m))
            continue
        pred = float(floor_alpha.evaluate(**_instance_values(alpha=a)))
        checks.append(close(
            f"floor at alpha={a:g} = closed form + O(alpha)", Estimate(m, se, 0), pred,
            reason=f"{Z:g} s.e.; the prediction keeps the multiplicative-noise terms of the"
            f" fluctuation recursion (asgd.lower.floor_alpha, an approximation '~' with remainder"
            f" {floor_alpha.remainder}), below the standard error on this grid",
        ))
    # the bound itself (asgd.lower.floor, Jensen): reported with its tightness measured / bound
    lb = float(theory.get("asgd.lower.floor").evaluate(**_instance_values()))
    checks += [lower(f"floor at alpha={a:g} >= s^2 w_bar^2/tau^2 (asgd.lower.floor)", Estimate(m, se, 0), lb)
               for a, m, se in zip(runs["alphas"], runs["mean"], runs["se"], strict=True)]
    # the saturation u = w_bar^2/tau^2 of the instance, read from theory: asgd.lower.floor = s^2 u
    u = lb / INSTANCE["s"] ** 2
    if runs["ratio"].size == runs["alphas"].size:
        fit = weighted_linear_fit(runs["alphas"], runs["ratio"], runs["ratio_se"])
        checks.append(close("floor / (sigma^2 S_K) extrapolated to alpha -> 0",
                            Estimate(fit.intercept, fit.se_intercept, 0), 1 - u,
                            reason=f"{Z:g} s.e. of the weighted fit's intercept"))
    else:
        checks.append(not_applicable("floor / (sigma^2 S_K) extrapolated to alpha -> 0",
                                     "S_K = 0: no saturation (ideal device)", predicted=1 - u))
    details = {"alphas": runs["alphas"].tolist(), "floor": runs["mean"].tolist(),
               "ratio_to_sigma2_SK": runs["ratio"].tolist(), "ratio_limit_predicted": 1 - u}
    return checks, details


# --- the Analog SGD upper bounds --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Upper(Config):
    """Settings of the claims reading ``_UPPER[mode]`` (one instance per mode)."""

    taus: tuple[float, ...]
    stds: tuple[float, ...]
    Ks: tuple[int, ...]
    runs: int
    inst_K: int
    inst_runs: int
    dev_K: int


_UPPER = Modes(
    quick=_Upper(taus=(1.0, 2.0), stds=(0.03, 0.1), Ks=(400, 2000), runs=32, inst_K=10_000, inst_runs=400,
                 dev_K=1000),
    full=_Upper(taus=(0.5, 1.0, 2.0, 4.0), stds=(0.03, 0.1, 0.3), Ks=(500, 5000), runs=128, inst_K=100_000,
                inst_runs=2000, dev_K=5000),
)
_UB_RECORD = ("grad_norm2", "s_ald", "sat2", "grad_norm2_M", "e_k_general", "g_over_sqrt_f2")


def _bound_checks(label: str, tr: sim.Trajectory, *, Delta_0: float, sigma2: float, L: float,
                  alpha: float, tau: float, device: sim.Device, soft_bounds: bool,
                  control: bool) -> list[Check]:
    """Every registered Analog SGD upper bound against one batch of trajectories.

    Each run's bound is the theory object evaluated at that run's own trajectory averages
    (:func:`verify.evaluate_bound`; all constants, including the 2 of 2 sigma^2 S_K, come from the
    theory expression). The control sets every S_K variant to 0.
    """
    given = dict(Delta_0=Delta_0, sigma=np.sqrt(sigma2), L=L, alpha=alpha, tau=tau)
    if control:
        given.update(S_K=0.0, Stilde_K=0.0, S_K_general=0.0)
    F_max = response_extremum(device, "F")
    W_max = float(tr.maxima["w_inf"].max())
    paper_step_ok = alpha * L * F_max <= 0.25 + 1e-12  # the step the runs used, besides theory's
    sat_ok = W_max < tau
    forms = [
        # (name, theory id, applicable by the claim's own flags)
        ("2024 Thm 2 (S_K form)", "asgd.upper.ald", paper_step_ok and sat_ok),
        ("2024 Thm 2 (1/M_min form)", "asgd.upper.ald_mmin", paper_step_ok and sat_ok),
        ("derived (M-weighted)", "asgd.upper.derived_M", alpha * L <= 1 and sat_ok),
    ] if soft_bounds else []
    forms.append(("2502.06309 Thm 2 (E_K metric)", "asgd.upper.general", paper_step_ok))
    checks: list[Check] = []
    for name, bid, ok in forms:
        full_name = f"{label}: {name}{' without its floor term' if control else ''}"
        ev = evaluate_bound(bid, tr, device=device, **given)
        if ev.applicable and not ok:
            checks.append(not_applicable(full_name, "assumption violated: step (alpha L F_max <= 1/4)"
                                         " or saturation"))
            continue
        checks.append(ev.check(full_name))
    return checks


@claim(
    "asgd.upper_bound_holds",
    title="Analog SGD upper bounds (2024 Thm 2, 2502.06309 Thm 2, derived) hold on measured"
    " trajectories",
    statement="With alpha = sqrt(Delta_0/(sigma^2 L K)), the averaged squared gradient norm of Analog"
    " SGD stays below 4/(1 - W_max^2/tau^2) sqrt(Delta_0 sigma^2 L/K) + 2 sigma^2 S_K (and its"
    " 1/M_min form), below the derived bound with floor sigma^2 Stilde_K, and the follow-up's E_K"
    " metric below 16 F^2 sqrt(.) + 8 F sigma^2 S_K, with W_max and S_K measured along the runs;"
    " over a grid of tau, sigma and K (hence alpha) on the D = 40 problem, on the 1-D lower-bound"
    " instance, and for power / exponential responses.",
    reference="arXiv 2406.12774 Thm 2 as restated in 2502.06309 Remark 1; 2502.06309 Thm 2;"
    " spec C3, C4; theory asgd.upper.*",
    control="drop the asymptotic-error term from every bound: on the floor-dominated 1-D instance"
    " the measured average exceeds the remaining rate term; and run the worst-case instance of"
    " the derived bound at alpha L = 1/2, where it is not attained",
    config=_UPPER,
)
def upper_bound_holds(mode: str, control: bool) -> tuple[list[Check], dict]:
    checks: list[Check] = []
    for label, tr, params in _upper_batches(mode):
        checks += _bound_checks(label, tr, **params, control=control)
    checks += _derived_M_attained(control)
    tight = [c.tightness for c in checks if c.tightness is not None and c.passed]
    return checks, {"max_tightness": max(tight) if tight else None}


# the worst case of asgd.upper.derived_M: sigma = 0, alpha L = 1, W_0 = 0 on a 1-D quadratic. The
# soft-bounds update from w = 0 is exact (U(0, d) = d), so W_1 = W* and the M-weighted average is
# grad_0^2 M(0) / K = L^2 W*^2 / K = 2 Delta_0/(alpha K): the bound holds with equality.
@dataclass(frozen=True, kw_only=True)
class _TightM(Config):
    """The fixed settings ``_TIGHT_M``."""

    L: float
    w_star: float
    tau: float
    Ks: tuple[int, ...]


_TIGHT_M = _TightM(L=2.0, w_star=0.3, tau=1.0, Ks=(1, 7, 50))


def _derived_M_attained(control: bool) -> list[Check]:
    L, tau = _TIGHT_M.L, _TIGHT_M.tau
    alpha = (0.5 if control else 1.0) / L
    prob = sim.scalar_quadratic(L, _TIGHT_M.w_star)
    K_max = max(_TIGHT_M.Ks)
    tr = sim.simulate(prob, sim.AnalogSGD(alpha, sim.SoftBounds(tau)), steps=K_max, seeds=2,
                      record=("grad_norm2_M",))
    Delta_0 = float(prob.loss(np.zeros((1, 1)))[0])
    W_max = float(tr.maxima["w_inf"].max())
    bound = theory.get("asgd.upper.derived_M")
    checks = []
    for K in _TIGHT_M.Ks:
        b = float(bound.evaluate(Delta_0=Delta_0, sigma=0.0, L=L, K=K, alpha=alpha, W_max=W_max,
                                 tau=tau, Stilde_K=0.0))
        ratio = float(np.max(tr.average("grad_norm2_M", 0, K))) / b
        checks.append(exact(
            f"worst case sigma=0, alpha L={alpha * L:g}, W_0=0, K={K}: derived_M measured/bound = 1",
            ratio, 1.0, atol=1e-12,
            reason="deterministic instance attaining the bound with equality (W_1 = W*); 1e-12 covers"
            " float64 rounding of a handful of operations; a bound off by any factor fails"))
    return checks


@config_cache
def _upper_batches(mode: str) -> list[tuple[str, sim.Trajectory, dict]]:
    """The simulated batches of asgd.upper_bound_holds (cached: the control reuses them)."""
    cfg = _UPPER[mode]
    out = []
    prob = sim.paper_problem("exact_fig3")
    D, L = prob.dim, prob.L
    Delta_0 = float(prob.loss(np.zeros((1, D)))[0])
    for tau in cfg.taus:
        for std in cfg.stds:
            sigma2 = D * std**2
            for K in cfg.Ks:
                alpha = float(np.sqrt(Delta_0 / (sigma2 * L * K)))
                tr = sim.simulate(prob, sim.AnalogSGD(alpha, sim.SoftBounds(tau)), steps=K,
                                  seeds=cfg.runs, noise=sim.GaussianNoise(std),
                                  record=_UB_RECORD)
                out.append((f"D=40 tau={tau:g} sigma^2={sigma2:.3g} K={K}", tr,
                            dict(Delta_0=Delta_0, sigma2=sigma2, L=L, alpha=alpha, tau=tau,
                                 device=sim.SoftBounds(tau), soft_bounds=True)))
    # the floor-dominated 1-D instance (where the bounds are nearly tight)
    p1 = sim.scalar_quadratic(INSTANCE["L"], INSTANCE["w_star"])
    Delta_0_1 = float(p1.loss(np.zeros((1, 1)))[0])
    s2 = INSTANCE["s"] ** 2
    K = cfg.inst_K
    alpha = float(np.sqrt(Delta_0_1 / (s2 * INSTANCE["L"] * K)))
    tr = sim.simulate(p1, sim.AnalogSGD(alpha, sim.SoftBounds(INSTANCE["tau"])), steps=K,
                      seeds=cfg.inst_runs, noise=sim.RademacherNoise(INSTANCE["s"]),
                      record=_UB_RECORD, record_every=max(1, K // 500))
    out.append((f"1-D instance K={K}", tr,
                dict(Delta_0=Delta_0_1, sigma2=s2, L=INSTANCE["L"], alpha=alpha,
                     tau=INSTANCE["tau"], device=sim.SoftBounds(INSTANCE["tau"]), soft_bounds=True)))
    # general responses: F_max is the sup of F over the device's whole range [-tau, tau]
    std, tau, K = 0.1, 1.0, cfg.dev_K
    for dev in (sim.Power(tau, 0.5), sim.Exponential(tau, 2.0)):
        F_max = response_extremum(dev, "F")
        alpha = float(np.sqrt(Delta_0 / (D * std**2 * L * K)) / F_max)
        tr = sim.simulate(prob, sim.AnalogSGD(alpha, dev), steps=K, seeds=cfg.runs,
                          noise=sim.GaussianNoise(std), record=_UB_RECORD)
        out.append((f"{dev.name}(gamma={dev.gamma_res:g}) K={K}", tr,
                    dict(Delta_0=Delta_0, sigma2=D * std**2, L=L, alpha=alpha, tau=tau,
                         device=dev, soft_bounds=False)))
    return out


# --- mean-field fixed point -------------------------------------------------------------------------

# relax = time constants 1/(alpha mu_eff) simulated; the first half is burn-in, so the transient
# left in the averaged half is below exp(-relax) f(W_0), negligible against every floor here
@dataclass(frozen=True, kw_only=True)
class _Mf(Config):
    """Settings of the claims reading ``_MF[mode]`` (one instance per mode)."""

    taus: tuple[float, ...]
    alphas: tuple[float, ...]
    runs: int
    relax: float


_MF = Modes(
    quick=_Mf(taus=(1.0,), alphas=(0.04, 0.02, 0.01), runs=64, relax=14.0),
    full=_Mf(taus=(1.0, 2.0, 5.0), alphas=(0.04, 0.02, 0.01, 0.005), runs=256, relax=16.0),
)
_MF_STD = 0.1


def _relaxation_steps(prob: sim.Quadratic, alpha: float, std: float, tau: float,
                      relax: float) -> int:
    """Iterations for ``relax`` time constants of the slowest mode (drift adds E|xi|/tau)."""
    mu_eff = prob.mu + std * np.sqrt(2 / np.pi) / tau
    return int(np.ceil(relax / (alpha * mu_eff)))


@functools.cache
def _stationary(problem: str, w_scale: float, tau: float, std: float, alpha: float, relax: float,
                runs: int) -> tuple[np.ndarray, np.ndarray]:
    """Analog SGD (soft bounds) run past burn-in: per-run tail loss and time-averaged weights.

    Cached, so a claim's negative control (which changes only the prediction) reuses the runs.
    """
    base = sim.paper_problem(problem)
    prob = base if w_scale == 1.0 else sim.quadratic(base.H, w_scale * base.w_star)
    K = _relaxation_steps(prob, alpha, std, tau, relax)
    tr = sim.simulate(prob, sim.AnalogSGD(alpha, sim.SoftBounds(tau)), steps=K, seeds=runs,
                      noise=sim.GaussianNoise(std), record=("loss",),
                      record_every=max(1, K // 200), average_from=K // 2)
    assert tr.mean_weights is not None  # average_from was given
    return tr.tail_average("loss", 0.5), tr.mean_weights


@claim(
    "asgd.mean_field_fixed_point",
    title="Analog SGD settles at the mean-field fixed point H(W - W*) + m(grad f) W / tau = 0",
    statement="On the D = 40 least-squares problem with Gaussian noise (std 0.1), the stationary"
    " loss of Analog SGD extrapolated to alpha -> 0 equals f(W_bar), and the stationary mean"
    " weight's displacement from W* along W_bar - W* equals |W_bar - W*|, where W_bar solves"
    " H(W_bar - W*) + m(H(W_bar - W*)) W_bar / tau = 0 with m(mu) = E|mu + xi| (sympy-derived).",
    reference="spec Sec. 2.5 and C6; theory noise.mean_abs.gaussian, theory.implicit",
    control="predict with the asymmetric term switched off (W_bar = W*, stationary loss f* + 0)",
    config=_MF,
)
def mean_field_fixed_point_claim(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _MF[mode]
    prob = sim.paper_problem("exact_fig3")
    checks: list[Check] = []
    details: dict = {}
    for tau in cfg.taus:
        w_bar = prob.w_star.copy() if control else mean_field_fixed_point(
            prob.H, prob.w_star, tau, "gaussian", _MF_STD)
        w_true = mean_field_fixed_point(prob.H, prob.w_star, tau, "gaussian", _MF_STD)
        direction = (w_true - prob.w_star) / np.linalg.norm(w_true - prob.w_star)
        f_pred = quadratic_loss(prob.H, prob.w_star, w_bar)
        shift_pred = float((w_bar - prob.w_star) @ direction)
        loss, loss_se, shift, shift_se = [], [], [], []
        for a in cfg.alphas:
            tail, w_avg = _stationary("exact_fig3", 1.0, tau, _MF_STD, a, cfg.relax, cfg.runs)
            e = mean_se(tail)
            p = mean_se((w_avg - prob.w_star) @ direction)
            loss.append(e.mean)
            loss_se.append(e.se)
            shift.append(p.mean)
            shift_se.append(p.se)
        alphas = np.array(cfg.alphas)
        fit_f = weighted_linear_fit(alphas, loss, loss_se)
        fit_w = weighted_linear_fit(alphas, shift, shift_se)
        why = f"{Z:g} s.e. of the intercept of a weighted linear fit in alpha (the O(alpha) SGD term)"
        checks.append(close(f"tau={tau:g}: stationary f - f* at alpha -> 0 = f(W_bar)",
                            Estimate(fit_f.intercept, fit_f.se_intercept, 0), f_pred, reason=why))
        checks.append(close(f"tau={tau:g}: mean weight shift along W_bar - W* at alpha -> 0",
                            Estimate(fit_w.intercept, fit_w.se_intercept, 0), shift_pred,
                            reason=why))
        details[f"tau={tau:g}"] = {"alphas": alphas.tolist(), "loss": loss, "f_wbar": f_pred}
    return checks, details


# --- floor scaling ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Fs(Config):
    """Settings of the claims reading ``_FS[mode]`` (one instance per mode)."""

    stds: tuple[float, ...]
    tau_for_sigma: float
    taus: tuple[float, ...]
    std_for_tau: float
    alpha: float
    runs: int
    relax: float


_FS = Modes(
    quick=_Fs(stds=(0.01, 0.02, 0.04, 0.08), tau_for_sigma=2.0, taus=(2.0, 4.0, 8.0, 16.0), std_for_tau=0.1,
              alpha=0.05, runs=32, relax=14.0),
    full=_Fs(stds=(0.005, 0.01, 0.02, 0.04, 0.08), tau_for_sigma=2.0, taus=(2.0, 4.0, 8.0, 16.0, 32.0),
             std_for_tau=0.1, alpha=0.02, runs=128, relax=16.0),
)


def _bias_floor(prob: sim.Quadratic, W_avg: np.ndarray) -> Estimate:
    """f(E W_inf) - f* from per-run stationary means, with the sampling bias tr(H C)/2 removed."""
    R = W_avg.shape[0]
    m = W_avg.mean(axis=0)
    C = np.cov(W_avg.T) / R
    g = prob.H @ (m - prob.w_star)
    return Estimate(quadratic_loss(prob.H, prob.w_star, m) - float(np.trace(prob.H @ C)) / 2,
                    float(np.sqrt(g @ C @ g)), R)


def _local_slope(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@claim(
    "asgd.floor_scaling",
    title="the asymptotic error scales like sigma^2 and like tau^-2",
    statement="The part of Analog SGD's floor caused by the asymmetric update, f(E W_inf) - f*"
    " (the squared bias of the stationary mean; digital SGD's is 0), grows like sigma^2 and decays"
    " like tau^-2: fitted log-log slopes over a sigma grid and a tau grid on the D = 40 problem match"
    " the mean-field prediction f(W_bar) on the same grids, and the prediction's slopes tend to"
    " exactly 1 and -2 (checked far out on the grids).",
    reference="arXiv 2406.12774 Fig. 3/4 (tau, sigma ablations); spec C7; theory.implicit",
    control="test the fitted slopes against the wrong exponents sigma^1 (slope 1/2 in sigma^2) and"
    " tau^-1",
    config=_FS,
)
def floor_scaling(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _FS[mode]
    prob = sim.paper_problem("exact_fig3")
    H, w_star, a = prob.H, prob.w_star, cfg.alpha

    def sweep(pairs: list[tuple[float, float]]) -> tuple[list[Estimate], list[float]]:
        est, pred = [], []
        for tau, std in pairs:
            _, w_avg = _stationary("exact_fig3", 1.0, tau, std, a, cfg.relax, cfg.runs)
            est.append(_bias_floor(prob, w_avg))
            pred.append(quadratic_loss(H, w_star,
                                       mean_field_fixed_point(H, w_star, tau, "gaussian", std)))
        return est, pred

    checks: list[Check] = []
    details: dict = {}
    sweeps = {
        "sigma^2": ([(cfg.tau_for_sigma, s) for s in cfg.stds],
                    np.square(cfg.stds), 1.0, 0.5),
        "tau": ([(t, cfg.std_for_tau) for t in cfg.taus], np.array(cfg.taus), -2.0, -1.0),
    }
    for name, (pairs, x, exponent, wrong) in sweeps.items():
        est, pred = sweep(pairs)
        fit = loglog_slope(x, [e.mean for e in est], [e.se for e in est])
        local = _local_slope(x, np.array(pred))
        target = local + (wrong - exponent) if control else local
        checks.append(slope(
            f"slope of the bias floor vs {name} = mean-field prediction's local slope"
            + (f" shifted to the wrong exponent {wrong:g}" if control else ""),
            fit, target,
            reason=f"{Z:g} s.e. of the weighted log-log fit; the prediction is the mean-field fixed"
            " point's slope on the same grid (pre-asymptotic, O(alpha) bias of the mean neglected)",
        ))
        details[name] = {"x": x.tolist(), "bias_floor": [e.mean for e in est],
                         "predicted": pred, "fitted_slope": fit.slope, "local_slope": local}
    # the prediction's asymptotic exponents, far out on the grids (deterministic numerics). The
    # exponents 1 (in sigma^2) and -2 (in tau) are the papers' statement itself (2406.12774 Fig. 3/4:
    # asymptotic error sigma^2 S_K with S_K ~ W^2/tau^2), checked here against the mean-field
    # fixed point of theory.implicit, an independent computation; no theory object states them.
    far = {"sigma^2": (np.square([1e-4, 2e-4, 4e-4]),
                       [quadratic_loss(H, w_star, mean_field_fixed_point(
                           H, w_star, cfg.tau_for_sigma, "gaussian", s))
                        for s in (1e-4, 2e-4, 4e-4)], 1.0),
           "tau": (np.array([1e3, 2e3, 4e3]),
                   [quadratic_loss(H, w_star, mean_field_fixed_point(
                       H, w_star, t, "gaussian", cfg.std_for_tau)) for t in (1e3, 2e3, 4e3)],
                   -2.0)}
    for name, (x, y, exponent) in far.items():
        checks.append(exact(f"mean-field prediction's slope vs {name} far out -> {exponent:g}",
                            _local_slope(x, np.array(y)), exponent, atol=0.01,
                            reason="deterministic; 0.01 covers the O(sigma/tau) curvature left at"
                            " these grid points"))
    return checks, details


# --- initialization ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Init(Config):
    """Settings of the claims reading ``_INIT[mode]`` (one instance per mode)."""

    tau: float
    alpha: float
    std: float
    K: int
    runs: int


_INIT = Modes(
    quick=_Init(tau=1.0, alpha=0.05, std=0.1, K=2500, runs=32),
    full=_Init(tau=1.0, alpha=0.05, std=0.1, K=6000, runs=128),
)


@claim(
    "asgd.floor_init_independent",
    title="Analog SGD's floor does not depend on the initialization",
    statement="On the D = 40 problem (tau = 1, alpha = 0.05, noise std 0.1), the plateau of f - f*"
    " (second-half time average) is the same from W_0 = 0, +-0.9 tau, W* (clipped), a uniform"
    " random point and a large constant clipped to the bound tau (as aihwkit clips), within the"
    " standard error of independent runs.",
    reference="arXiv 2406.12774 Fig. 4 (right); spec C8",
    control="measure the 'plateau' over the first 3% of the iterations, before the runs forget"
    " their initialization: the differences are then significant",
    config=_INIT,
)
def floor_init_independent(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _INIT[mode]
    plateaus: dict[str, np.ndarray] = {}
    for name, tr in _init_runs(mode).items():
        if control:
            stop = int(tr.k[np.searchsorted(tr.k, 0.03 * cfg.K)])
            plateaus[name] = tr.average("loss", 0, max(stop, int(tr.k[1])))
        else:
            plateaus[name] = tr.tail_average("loss", 0.5)
    ref = mean_se(plateaus["0"])
    checks = []
    for name, vals in plateaus.items():
        if name == "0":
            continue
        e = mean_se(vals)
        diff = Estimate(e.mean - ref.mean, float(np.hypot(e.se, ref.se)), e.n)
        checks.append(close(f"plateau(W0 = {name}) - plateau(W0 = 0)", diff, 0.0,
                            reason=f"{Z:g} s.e. of the difference of two independent means"))
    return checks, {k: float(np.mean(v)) for k, v in plateaus.items()}


@config_cache
def _init_runs(mode: str) -> dict[str, sim.Trajectory]:
    cfg = _INIT[mode]
    prob = sim.paper_problem("exact_fig3")
    tau, D = cfg.tau, prob.dim
    inits = {
        "0": 0.0,
        "+0.9 tau": 0.9 * tau,
        "-0.9 tau": -0.9 * tau,
        "W* (clipped)": np.clip(prob.w_star, -tau, tau),
        "uniform random": np.random.default_rng(7).uniform(-tau, tau, D),
        "1e3 clipped to tau": np.clip(1e3, -tau, tau),
    }
    algo = sim.AnalogSGD(cfg.alpha, sim.SoftBounds(tau))
    out = {}
    for i, (name, w0) in enumerate(inits.items()):
        # independent seeds per initialization (common noise would compare transients, not floors)
        out[name] = sim.simulate(prob, algo, steps=cfg.K,
                                 seeds=range(i * cfg.runs, (i + 1) * cfg.runs),
                                 noise=sim.GaussianNoise(cfg.std), w0=w0, record=("loss",),
                                 record_every=max(1, cfg.K // 400))
    return out


# --- implicit ridge penalty ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Ridge(Config):
    """Settings of the claims reading ``_RIDGE[mode]`` (one instance per mode)."""

    rhos: tuple[float, ...]
    alpha: float
    runs: int
    relax: float


_RIDGE = Modes(
    quick=_Ridge(rhos=(1.0, 0.5), alpha=0.02, runs=64, relax=14.0),
    full=_Ridge(rhos=(1.0, 0.5, 0.25), alpha=0.01, runs=256, relax=16.0),
)


@claim(
    "asgd.implicit_ridge",
    title="Analog SGD's mean = ridge minimizer (H + Diag(Sigma)/tau)^-1 H W* to first order",
    statement="For the soft-bounds device and a quadratic, Analog SGD behaves like minimizing"
    " f + (1/(2 tau)) ||W||^2_Sigma with Sigma = E|grad f(W*; xi)|: the stationary mean weights"
    " agree with the ridge minimizer up to the second-order term |W_bar - W_ridge| (computed from the"
    " exact mean-field fixed point), and that term is O(|W*|^2) or smaller (fitted slope >= 2 as W*"
    " is scaled down).",
    reference="arXiv 2502.06309 Thm 1 / Thm 5 (eq. (43) form); spec C14; theory"
    " asgd.implicit_penalty.soft_bounds, asgd.implicit_ridge.1d",
    control="switch the implicit penalty off (predict the unpenalized minimizer W*)",
    config=_RIDGE,
)
def implicit_ridge(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _RIDGE[mode]
    base = sim.paper_problem("exact_fig3")
    tau, std = 1.0, _MF_STD
    # E|xi| for N(0, std^2): m(0) of noise.mean_abs.gaussian, read from theory
    Sigma = float(theory.get("noise.mean_abs.gaussian").evaluate(mu_g=0.0, s=std))
    checks: list[Check] = []
    details: dict = {}
    for rho in cfg.rhos:
        prob = sim.quadratic(base.H, rho * base.w_star, name=f"exact_fig3 with W* x {rho:g}")
        w_ridge = prob.w_star.copy() if control else ridge_minimizer(prob.H, prob.w_star, Sigma, tau)
        w_bar = mean_field_fixed_point(prob.H, prob.w_star, tau, "gaussian", std)
        second_order = float(np.linalg.norm(w_bar - ridge_minimizer(prob.H, prob.w_star, Sigma,
                                                                      tau)))
        _, w_avg = _stationary("exact_fig3", rho, tau, std, cfg.alpha, cfg.relax, cfg.runs)
        m, se = mean_se_rows(w_avg.T)
        dist = float(np.linalg.norm(m - w_ridge))
        checks.append(close(
            f"W* x {rho:g}: |stationary mean - ridge minimizer|", Estimate(dist, float(
                np.linalg.norm(se)), cfg.runs), 0.0, model_tol=second_order,
            reason=f"{Z:g} x (norm of the per-coordinate s.e.) + the second-order term"
            f" |W_bar - W_ridge| = {second_order:.3g} that a first-order penalty neglects",
        ))
        details[f"rho={rho:g}"] = {"distance": dist, "second_order": second_order,
                                   "shift": float(np.linalg.norm(prob.w_star - w_bar))}
    rhos = np.array([0.125, 0.0625, 0.03125])
    errs = [np.linalg.norm(
        mean_field_fixed_point(base.H, r * base.w_star, tau, "gaussian", std)
        - ridge_minimizer(base.H, r * base.w_star, Sigma, tau)) for r in rhos]
    fit_slope = _local_slope(rhos, np.array(errs))
    checks.append(lower("slope of |W_bar - W_ridge| vs the scale of W* (first-order accuracy)",
                        fit_slope, 2.0, reason="deterministic numerics (root finding to 1e-9)"))
    details["ridge_error_slope"] = fit_slope
    return checks, details
