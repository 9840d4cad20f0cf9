"""Certificate claims: SDP rates vs closed forms, tightest empirical constants, worst-case witnesses.

Solver results count only when the solver reports ``optimal``; tolerances come from the solver's
feasibility tolerance, the bisection width and the LP grid, each named in the check's reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import sim
import theory
from theory import certify as cert

from .._claim import Check, claim, close, exact, holds, lower, not_applicable, upper
from ..config import Config, Modes, config_cache
from ..stats import Estimate, Z, mean_se, mean_se_rows, weighted_linear_fit

# --- certify.linearized_rate_matches_closed_form ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Rate(Config):
    """Settings of the claims reading ``_RATE[mode]`` (one instance per mode)."""

    spectrum: tuple[float, ...]
    alphas: tuple[float, ...]
    eps: tuple[float, ...]
    angle: float
    tt: tuple[tuple[float, float, float, float], ...]
    tt_eps: tuple[float, ...]
    sim_runs: int
    sim_K: int


_RATE = Modes(
    quick=_Rate(spectrum=(0.2, 1.0), alphas=(1.0, 0.5), eps=(0.0, 0.3, 0.6), angle=0.6,
                tt=((0.5, 0.5, 0.2, 1.0), (0.3, 1.0, 0.5, 2.0)), tt_eps=(0.0, 0.02, 0.1), sim_runs=16,
                sim_K=60),
    full=_Rate(spectrum=(0.1, 0.4, 0.7, 1.0), alphas=(1.0, 0.8, 0.5, 0.25), eps=(0.0, 0.1, 0.3, 0.6, 0.9),
               angle=0.6, tt=((0.5, 0.5, 0.2, 1.0), (0.3, 1.0, 0.5, 2.0), (0.1, 2.0, 1.0, 0.5)),
               tt_eps=(0.0, 0.02, 0.05, 0.1, 0.2), sim_runs=64, sim_K=200),
)
_WIDTH = 1e-5
_COND = 1e4
_FEAS = 1e-9
_ROUND = 1e-12


def _rotation(D: int, angle: float) -> np.ndarray:
    """A fixed orthogonal matrix: product of Givens rotations by ``angle`` in planes (i, i+1)."""
    Qm = np.eye(D)
    for i in range(D - 1):
        G = np.eye(D)
        c, s_ = np.cos(angle * (i + 1)), np.sin(angle * (i + 1))
        G[[i, i, i + 1, i + 1], [i, i + 1, i, i + 1]] = c, -s_, s_, c
        Qm = Qm @ G
    return Qm


def _sdp_tol(closed: float) -> tuple[float, str]:
    # LMI slack delta <= feas_tol * cond_max in spectral norm; with P >= I it moves rho^2 by <= delta
    slack = np.sqrt(closed**2 + _FEAS * _COND) - closed
    return _WIDTH + slack, (f"bisection width {_WIDTH:g} + solver slack sqrt(rho^2 + tol_feas cond_max)"
                            f" - rho (tol_feas {_FEAS:g}, cond(P) <= {_COND:g}); rate recomputed from P")


@config_cache
def _rate_certificates(mode: str) -> dict:
    cfg = _RATE[mode]
    lam = np.array(cfg.spectrum)
    D = lam.size
    H_diag = np.diag(lam)
    H_rot = _rotation(D, cfg.angle) @ H_diag @ _rotation(D, cfg.angle).T
    out: dict[str, list] = {"agd": [], "tt": []}
    for a in cfg.alphas:
        for e in cfg.eps:
            a_ = a / lam.max()
            out["agd"].append(dict(alpha=a_, eps=e,
                                   diag=cert.lyapunov_rate(cert.agd_vertices(H_diag, a_, e), width=_WIDTH,
                                                           cond_max=_COND, feas_tol=_FEAS),
                                   rot=cert.lyapunov_rate(cert.agd_vertices(H_rot, a_, e), width=_WIDTH,
                                                          cond_max=_COND, feas_tol=_FEAS)))
    for a, b, k, lm in cfg.tt:
        for e in cfg.tt_eps:
            c = cert.lyapunov_rate(cert.tt_vertices(np.array([[lm]]), a, b, k, e), width=_WIDTH,
                                   cond_max=_COND, feas_tol=_FEAS)
            out["tt"].append(dict(alpha=a, beta=b, kappa=k, lam=lm, eps=e, cert=c))
    return dict(out, H_rot=H_rot, lam=lam)


def _lyapunov_along_simulation(H: np.ndarray, alpha: float, eps: float, P: np.ndarray, runs: int,
                               steps: int) -> tuple[float, float]:
    """Max over runs and steps of V(e_{k+1})/V(e_k), V = e^T P e, for noiseless Analog GD on
    ``H`` started and centred inside the box |w| <= eps tau (tau = 1); and the max |w| reached.

    Measured along :func:`sim.simulate` by the recorder ``sim.MaxRatio(sim.quadratic_form(P, w*))``
    (pairs with V(e_k) <= 1e-200, converged runs, are skipped)."""
    D = int(H.shape[0])
    rng = np.random.default_rng(7)
    w_star = rng.uniform(-0.5 * eps, 0.5 * eps, D)
    w0 = rng.uniform(-0.5 * eps, 0.5 * eps, (runs, D))
    traj = sim.simulate(sim.quadratic(H, w_star), sim.AnalogSGD(alpha, sim.SoftBounds(1.0)), steps=steps,
                        seeds=runs, w0=w0, record=(), progress=False,
                        recorders={"ratio": sim.MaxRatio(sim.quadratic_form(P, w_star), floor=1e-200)})
    return float(traj.recorded["ratio"].max()), float(traj.maxima["w_inf"].max())


@claim(
    "certify.linearized_rate_matches_closed_form",
    title="SDP-certified contraction rates of linearized Analog GD and Tiki-Taka match the closed forms",
    statement="For noiseless Analog GD on a quadratic with spectrum in [mu, L] and saturation"
    " |w_i| <= eps tau, the smallest common-Lyapunov rate over the 2^D gain vertices (bisection on"
    " an SDP, Clarabel) equals max(|1 - alpha(1-eps)mu|, |1 - alpha(1+eps)L|) for diagonal H and is"
    " at least that for a rotated H; the Lyapunov function decreases by rho^2 per step along"
    " simulated Analog GD runs. For the linearized Tiki-Taka (P, W) recursion without saturation the"
    " certified rate equals the spectral radius from det = 1 - beta kappa, trace = 2 - beta kappa -"
    " alpha beta lambda (alpha transfer rate, beta P rate); with saturation it is at least the largest"
    " vertex radius.",
    reference="arXiv 2406.12774 eq. (3), Sec. 4 (Tiki-Taka); 2502.06309 Thm 6 setting; spec anchors.md"
    " Sec. 3; theory certify.agd_linear_rate, certify.tt_linear_det",
    control="predict with the saturation gain and the P decay switched off (eps = 0, kappa = 0):"
    " the certified rates no longer match",
    config=_RATE,
)
def linearized_rate(mode: str, control: bool) -> tuple[list[Check], dict]:
    res = _rate_certificates(mode)
    lam = res["lam"]
    mu_, L_ = float(lam.min()), float(lam.max())
    rate = theory.get("certify.agd_linear_rate")
    checks: list[Check] = []
    details: dict = {"agd": [], "tt": []}
    for row in res["agd"]:
        a, e = row["alpha"], row["eps"]
        closed = float(rate.evaluate(alpha=a, epsilon_sat=0.0 if control else e, mu=mu_, L=L_))
        d, r = row["diag"], row["rot"]
        tol, why = _sdp_tol(closed)
        checks.append(exact(f"AGD diag H, alpha L={a * L_:g}, eps={e:g}: certified rate = closed form",
                            d.rate, closed, atol=tol, reason=why))
        checks.append(lower(f"AGD rotated H, alpha L={a * L_:g}, eps={e:g}: certified >= closed form",
                            r.rate, closed * (1 - _ROUND), "exact inequality (uniform gains (1 -+ eps) I"
                            f" are in the family); relative {_ROUND:g} for float rounding (eigvalsh, sqrt)"))
        details["agd"].append(dict(alpha_L=a * L_, eps=e, closed=closed, diag=d.rate, rotated=r.rate,
                                   solves=d.solves + r.solves))
    for row in res["tt"]:
        c = row["cert"]
        kap = 0.0 if control else row["kappa"]
        closed = cert.tt_scalar_rate(row["alpha"], row["beta"], kap, row["lam"], 1.0)
        label = (f"TT alpha={row['alpha']:g} beta={row['beta']:g} kappa={row['kappa']:g}"
                 f" lambda={row['lam']:g}, eps={row['eps']:g}")
        if row["eps"] == 0:
            tol, why = _sdp_tol(closed)
            checks.append(exact(f"{label}: certified rate = spectral radius (det/trace form)", c.rate,
                                closed, atol=tol, reason=why))
        else:
            vmax = max(cert.tt_scalar_rate(row["alpha"], row["beta"], kap, row["lam"], 1 + sg * row["eps"])
                       for sg in (-1, 1))
            checks.append(lower(f"{label}: certified >= largest vertex spectral radius", c.rate,
                                vmax * (1 - _ROUND), "exact inequality (a common Lyapunov rate bounds every"
                                f" vertex's spectral radius); relative {_ROUND:g} for float rounding"))
        details["tt"].append(dict(alpha=row["alpha"], beta=row["beta"], kappa=row["kappa"],
                                  lam=row["lam"], eps=row["eps"], closed=closed, certified=c.rate,
                                  statuses=sorted(set(c.statuses))))
    # the certificate governs the simulator's own recursion: V decreases by rho^2 every step
    cfg = _RATE[mode]
    sel = next(r for r in res["agd"] if r["eps"] == max(cfg.eps) and r["alpha"] * L_ == 1.0)
    worst, w_max = _lyapunov_along_simulation(res["H_rot"], sel["alpha"], sel["eps"], sel["rot"].P,
                                              cfg.sim_runs, cfg.sim_K)
    name = f"simulated Analog GD (rotated H, eps={sel['eps']:g}): max V(e_k+1)/V(e_k) <= rho^2"
    if w_max > sel["eps"]:
        checks.append(not_applicable(name, f"the runs left the box: max|w| = {w_max:.3g} > eps tau"))
    else:
        checks.append(upper(name, worst, sel["rot"].rate ** 2 * (1 + 1e-9),
                            "deterministic runs; factor 1 + 1e-9 for float rounding of V"))
    details["simulation"] = dict(max_ratio=worst, rho2=sel["rot"].rate ** 2, max_abs_w=w_max)
    return checks, details


# --- certify.empirical_constants_within_theory -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Const(Config):
    """Settings of the claims reading ``_CONST[mode]`` (one instance per mode)."""

    alpha: float
    K: int
    runs: int
    agd_K: int
    agd_runs: int


_CONST = Modes(
    quick=_Const(alpha=0.05, K=4000, runs=256, agd_K=400, agd_runs=16),
    full=_Const(alpha=0.02, K=40_000, runs=1024, agd_K=2000, agd_runs=64),
)


@dataclass(frozen=True, kw_only=True)
class _Inst(Config):
    """The fixed settings ``_INST``."""

    L: float
    w_star: float
    tau: float
    s: float


_INST = _Inst(L=1.0, w_star=0.5, tau=1.0, s=0.3)
_LP_ACC = 1e-9


def bound_constants(bound_id: str, **values: float) -> dict[str, float]:
    """Constants (C1, C2, floor) of a bound of the form C1/sqrt(K) + C2/K + floor.

    Read off the bound object by evaluating it at K = 1, 4, 16 and solving the 3 x 3 system; the
    form is confirmed at K = 64 and K = 10^6 (raises ``ValueError`` if the bound is not of it).
    """
    b = theory.get(bound_id)
    Ks = np.array([1.0, 4.0, 16.0])
    vals = np.array([float(b.evaluate(K=k, **values)) for k in Ks])
    coef = np.linalg.solve(np.column_stack([1 / np.sqrt(Ks), 1 / Ks, np.ones(3)]), vals)
    for k in (64.0, 1e6):
        pred = coef @ np.array([1 / np.sqrt(k), 1 / k, 1.0])
        got = float(b.evaluate(K=k, **values))
        if not np.isclose(pred, got, rtol=1e-9, atol=1e-12 * max(1.0, abs(got))):
            raise ValueError(f"bound {bound_id!r} is not of the form C1/sqrt(K) + C2/K + floor")
    return dict(zip(("C1", "C2", "floor"), (float(x) for x in coef), strict=True))


@dataclass(frozen=True)
class _Curve:
    K: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    values: dict
    #: for a worst-case instance: the known ratio fitted C2 / theory C2 (the bound is attained up
    #: to this factor), checked from both sides
    attained: float | None = None


@config_cache
def _curves(mode: str) -> dict[str, _Curve]:
    cfg = _CONST[mode]
    prob = sim.scalar_quadratic(_INST.L, _INST.w_star)
    a, K = cfg.alpha, cfg.K
    tr = sim.simulate(prob, sim.AnalogSGD(a, sim.SoftBounds(_INST.tau)), steps=K, seeds=cfg.runs,
                      noise=sim.RademacherNoise(_INST.s), record=("grad_norm2", "grad_norm2_M", "sat2"),
                      record_every=max(1, K // 400))
    Ks = tr.k[tr.k >= 10]
    W_max = float(tr.maxima["w_inf"].max())
    # Stilde_K is a trajectory average: the bound needs it for every K, so take its largest mean
    stilde = max(float(np.mean(tr.average("sat2", 0, int(k)))) for k in Ks)
    Delta0 = float(prob.loss(np.zeros((1, 1)))[0])
    vals = dict(Delta_0=Delta0, sigma=_INST.s, L=_INST.L, alpha=a, W_max=W_max, tau=_INST.tau,
                Stilde_K=stilde)
    out = {}
    for key, metric in (("asgd.upper.derived", "grad_norm2"), ("asgd.upper.derived_M", "grad_norm2_M")):
        per = np.array([tr.average(metric, 0, int(k)) for k in Ks])  # (nK, R)
        m, se = mean_se_rows(per)
        out[key] = _Curve(Ks.astype(float), m, se, vals)
    # noiseless Analog GD at alpha = 1/L on the D = 40 problem (deterministic runs: se = 0)
    p40 = sim.paper_problem("exact_fig3")
    rng = np.random.default_rng(3)
    tau = 1.5
    w0 = rng.uniform(-0.5 * tau, 0.5 * tau, (cfg.agd_runs, p40.dim))
    tr = sim.simulate(p40, sim.AnalogSGD(1 / p40.L, sim.SoftBounds(tau)), steps=cfg.agd_K,
                      seeds=cfg.agd_runs, w0=w0, record=("grad_norm2",))
    Ks = tr.k[tr.k >= 1]
    per = np.array([tr.average("grad_norm2", 0, int(k)) for k in Ks])
    # deterministic bound per run: normalize by Delta_0 so that runs share one envelope
    d0 = p40.loss(w0)
    norm = per / d0[None, :]
    out["agd.noiseless.ald"] = _Curve(Ks.astype(float), norm.max(axis=1), np.zeros(Ks.size),
                                      dict(Delta_0=1.0, L=p40.L, W_max=float(tr.maxima["w_inf"].max()),
                                           tau=tau))
    # the worst case of agd.noiseless.ald: 1-D, alpha L = 1, W_0 = 0, so W_1 = W* (U(0, d) = d) and
    # E_K = grad_0^2/K = 2 L Delta_0/K: the tightest C2 is 2 L Delta_0, the theory's times
    # 1 - (W*/tau)^2 (W_max = |W*|)
    Lw, ws, tw = 4.0, 1e-2, 1.0  # band (W*/tau)^2 = 1e-4 relative, far above the LP accuracy
    p1 = sim.scalar_quadratic(Lw, ws)
    tr = sim.simulate(p1, sim.AnalogSGD(1 / Lw, sim.SoftBounds(tw)), steps=cfg.agd_K, seeds=2,
                      record=("grad_norm2",))
    Ks = tr.k[tr.k >= 1]
    per = np.array([tr.average("grad_norm2", 0, int(k)) for k in Ks]).max(axis=1)
    out["agd.noiseless.ald worst case"] = _Curve(
        Ks.astype(float), per, np.zeros(Ks.size),
        dict(Delta_0=float(p1.loss(np.zeros((1, 1)))[0]), L=Lw,
             W_max=float(tr.maxima["w_inf"].max()), tau=tw), attained=1 - (ws / tw) ** 2)
    return out


@claim(
    "certify.empirical_constants_within_theory",
    title="tightest empirical constants C1, C2, floor of E_K <= C1/sqrt(K) + C2/K + floor are at or"
    " below the theory's",
    statement="For measured mean curves E_K (upper confidence limit mean + 3 s.e.) of Analog SGD on"
    " the 1-D instance (plain and M-weighted metrics) and of noiseless Analog GD on the D = 40"
    " problem, the smallest constant of each term compatible with the theory's other terms (an LP,"
    " Clarabel) is at most the theory's constant of asgd.upper.derived, asgd.upper.derived_M and"
    " agd.noiseless.ald; the ratio fitted/theory is the tightness of that term.",
    reference="arXiv 2406.12774 Thm 2 (derived form here), 2502.06309 Thm 6; theory asgd.upper.derived,"
    " asgd.upper.derived_M, agd.noiseless.ald",
    control="the theory without its asymptotic-error term (floor = 0): the fitted floor exceeds it",
    config=_CONST,
)
def empirical_constants(mode: str, control: bool) -> tuple[list[Check], dict]:
    checks: list[Check] = []
    details: dict = {}
    for key, curve in _curves(mode).items():
        bid = key.split()[0]
        theo = bound_constants(bid, **curve.values)
        if control and bid.startswith("asgd"):
            theo["floor"] = 0.0
        ucl = curve.mean + Z * curve.se
        free = cert.empirical_constants(curve.K, ucl, minimize="area", accuracy=_LP_ACC)
        row = {"theory": theo, "tightest_envelope": dict(C1=free.C1, C2=free.C2, floor=free.floor)}
        stat = (f"LP (Clarabel, accuracy {_LP_ACC:g}) on the upper confidence limit mean + {Z:g} s.e."
                if curve.se.any() else f"LP (Clarabel, accuracy {_LP_ACC:g}); deterministic runs")
        for name in ("floor", "C2", "C1"):
            caps = {k: v for k, v in theo.items() if k != name}
            env = cert.empirical_constants(curve.K, ucl, minimize=name, caps=caps, accuracy=_LP_ACC)
            label = f"{key}: smallest {name} with the theory's other constants"
            if env.status != "optimal":
                checks.append(holds(label + " (LP feasible)", False,
                                    f"LP status {env.status}: the theory's other constants cannot"
                                    " cover the curve at any value of this one"))
                continue
            fitted = getattr(env, name)
            row[name] = fitted
            scale = max(1.0, float(np.max(np.abs(ucl))))
            if curve.attained is not None and name == "C2":
                # two-sided: the instance attains the bound, so a theory constant off by a factor
                # outside [attained, 1] either way fails
                lo = curve.attained * theo[name]
                checks.append(exact(label + f" in [{curve.attained:.6g}, 1] x theory's", fitted,
                                    (lo + theo[name]) / 2, atol=(theo[name] - lo) / 2 + _LP_ACC * scale,
                                    reason=stat + "; worst-case instance: E_K = 2 L Delta_0/K exactly,"
                                    " theory's C2 larger by 1/(1 - (W*/tau)^2)"))
            elif theo[name] > 0:
                checks.append(upper(label, fitted, theo[name] + _LP_ACC * scale, stat))
            else:
                checks.append(exact(label + " = 0 (theory has no such term)", fitted, 0.0,
                                    atol=10 * _LP_ACC * scale, reason=stat + "; 10x LP accuracy"))
        details[key] = row
    return checks, details


# --- certify.lower_bound_gap --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Gap(Config):
    """Settings of the claims reading ``_GAP[mode]`` (one instance per mode)."""

    u: tuple[float, ...]
    s: float
    n_support: int
    span_factor: float
    sim_u: float
    alphas: tuple[float, ...]
    runs: int
    horizon: float


_GAP = Modes(
    quick=_Gap(u=(0.1, 0.25, 0.5), s=0.3, n_support=401, span_factor=1.5, sim_u=0.25,
               alphas=(0.1, 0.05, 0.025), runs=2000, horizon=40.0),
    full=_Gap(u=(0.02, 0.1, 0.25, 0.5, 0.75, 0.9), s=0.3, n_support=1601, span_factor=1.5, sim_u=0.5,
              alphas=(0.1, 0.03, 0.01), runs=8000, horizon=60.0),
)


@dataclass(frozen=True)
class DiscreteNoise:
    """Gradient noise drawn from a discrete law (``values``, ``probs``), independently per
    coordinate and run (a noise model for :func:`sim.simulate`, through ``sim.BatchRNG``)."""

    values: np.ndarray
    probs: np.ndarray
    kind = "discrete"

    def __post_init__(self) -> None:
        p = np.asarray(self.probs, dtype=float)
        if p.ndim != 1 or p.shape != np.shape(self.values) or np.any(p < 0) or not np.isclose(p.sum(), 1):
            raise ValueError("probs must be a nonnegative 1-D array summing to 1, one per value")

    def sample(self, rng: sim.BatchRNG, dim: int) -> np.ndarray:
        cdf = np.cumsum(self.probs)
        idx = np.minimum(np.searchsorted(cdf, rng.uniform(dim) * cdf[-1], side="right"), cdf.size - 1)
        return np.asarray(self.values)[idx]

    def sigma2(self, dim: int) -> float:
        return float(dim * (np.asarray(self.probs) @ np.asarray(self.values) ** 2))


def _witness(u: float, s: float, cfg: _Gap, symmetric: bool) -> tuple[cert.NoiseWitness, float]:
    """The LP witness at saturation ``u`` and its grid spacing h. The grid spans ``span_factor``
    times the support of the exact two-point optimum, -grad +- sqrt(grad^2 + s^2)."""
    grad = -s * np.sqrt(u / (1 - u))  # the stationary gradient of the exact two-point optimum at u
    span = cfg.span_factor * (abs(grad) + np.hypot(grad, s)) / s
    w = cert.worst_noise_law(grad, s, n_support=cfg.n_support, span=span, symmetric=symmetric)
    return w, 2 * span * s / (cfg.n_support - 1)


@config_cache
def _witness_floors(mode: str, symmetric: bool) -> dict:
    cfg = _GAP[mode]
    w, _ = _witness(cfg.sim_u, cfg.s, cfg, symmetric)
    tau, Lq = 1.0, 1.0
    w_bar = -w.grad * tau / w.mean_abs
    w_star = w_bar - w.grad / Lq
    keep = w.probs > 1e-12
    noise = DiscreteNoise(w.support[keep], w.probs[keep] / w.probs[keep].sum())
    prob = sim.scalar_quadratic(Lq, float(w_star))
    means, ses = [], []
    for a in cfg.alphas:
        K = round(cfg.horizon / a)
        tr = sim.simulate(prob, sim.AnalogSGD(a, sim.SoftBounds(tau)), steps=K, seeds=cfg.runs,
                          noise=noise, w0=float(w_bar), record=("grad_norm2",), record_every=max(1, K // 400))
        e = mean_se(tr.tail_average("grad_norm2", 0.5))
        means.append(e.mean)
        ses.append(e.se)
    return dict(witness=w, w_star=float(w_star), alphas=np.array(cfg.alphas), mean=np.array(means),
                se=np.array(ses), sigma2=noise.sigma2(1))


@claim(
    "certify.lower_bound_gap",
    title="worst-case witness (LP over noise laws) attains the derived upper bound's floor term:"
    " ratio -> 1",
    statement="Over 1-D quadratics and discrete zero-mean noise laws of variance s^2 on a grid, the"
    " LP maximizing E|g| at the mean-field fixed point gives, at each saturation u, a stationary"
    " E|grad f|^2 whose ratio to the derived upper bound's floor term sigma^2 Stilde/(1 - rho^2) ="
    " s^2 u/(1-u) is 1 up to the grid resolution (never above 1); Analog SGD simulated on the best"
    " witness reaches that floor as alpha -> 0. So the floor term of asgd.upper.derived cannot be"
    " lowered, and the symmetric Rademacher law (ratio 1 - u at its own saturation u) is not the"
    " worst case.",
    reference="arXiv 2406.12774 Thm 3 / Table 1, 2502.06309 Thm 2; theory certify.worst_noise_floor,"
    " asgd.upper.derived, asgd.lower.floor",
    control="restrict the class to symmetric noise laws (Rademacher-like): the best ratio stays"
    " clearly below 1",
    config=_GAP,
)
def lower_bound_gap(mode: str, control: bool) -> tuple[list[Check], dict]:
    cfg = _GAP[mode]
    s = cfg.s
    acc_tol = 1e-6  # LP accuracy 1e-10 on O(1) data, propagated through m^2 / s^2 with margin
    checks: list[Check] = []
    rows = []
    for u in cfg.u:
        w, h = _witness(u, s, cfg, symmetric=control)
        grid_loss = h**2 / (4 * s**2)
        if w.status != "optimal":
            checks.append(holds(f"u={u:g}: LP solved", False, f"LP status {w.status}"))
            continue
        rad = 1 - w.grad**2 / s**2 if abs(w.grad) <= s else 0.0  # Rademacher +-s: E|g| = s
        checks.append(lower(f"u={u:g}: best witness floor / derived floor term s^2 u/(1-u) >= 1 - h^2/(4s^2)",
                            w.ratio, 1 - grid_loss - acc_tol,
                            f"grid spacing h = {h:.3g}: the exact two-point law is off-grid by <= h/2,"
                            f" costing <= h^2/4 of variance; LP accuracy {acc_tol:g}"))
        checks.append(upper(f"u={u:g}: witness ratio <= 1 (Cauchy-Schwarz: the upper bound holds)",
                            w.ratio, 1 + acc_tol, f"exact inequality; LP accuracy {acc_tol:g}"))
        rows.append(dict(u_target=u, u=w.u, floor=w.floor, ratio=w.ratio, rademacher_ratio=rad,
                         mean_abs=w.mean_abs, support=w.support[w.probs > 1e-6].tolist()))
    sims = _witness_floors(mode, control)
    fit = weighted_linear_fit(sims["alphas"], sims["mean"], sims["se"])
    w = sims["witness"]
    checks.append(close(f"simulated floor on the u={cfg.sim_u:g} witness, alpha -> 0 = witness floor",
                        Estimate(fit.intercept, fit.se_intercept, 0), w.floor,
                        reason=f"{Z:g} s.e. of the weighted fit's intercept (the floor is linear in"
                        " alpha to first order)"))
    return checks, {"witnesses": rows, "simulation": dict(alphas=sims["alphas"].tolist(),
                                                          floor=sims["mean"].tolist(),
                                                          extrapolated=fit.intercept, predicted=w.floor,
                                                          w_star=sims["w_star"])}


# --- certify.delay_threshold_matches_exact ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Delay(Config):
    """Settings of the claims reading ``_DELAY[mode]`` (one instance per mode)."""

    delays: tuple[int, ...]
    eps: tuple[float, ...]
    width: float
    cond_max: float


_DELAY = Modes(
    quick=_Delay(delays=(0, 1, 2, 3, 5), eps=(0.2,), width=1e-6, cond_max=1e6),
    # cond_max stays 1e6 in full mode: at 1e7 Clarabel (tol 1e-9) reports inaccurate solutions or
    # fails near the threshold, so a larger cond_max would not bring the certificate closer. Delays
    # stop at 5: beyond, Clarabel's failures near the threshold leave gaps (1e-5 at d = 6, 3e-5 at
    # d = 10) above this claim's tolerance model (README, "Certificates": known limitation).
    full=_Delay(delays=tuple(range(0, 6)), eps=(0.1, 0.2, 0.4), width=1e-7, cond_max=1e6),
)


def _spectral_threshold(d: int) -> float:
    """The step a at which the numpy spectral radius of x_{k+1} = x_k - a x_{k-d} crosses 1,
    by bisection on [1e-3, 2.5] (rho < 1 at the left end, > 1 at the right, for every d >= 0).
    Independent of the predicted threshold, so a prediction off either way is seen."""
    from theory.delay import spectral_radius

    lo, hi = 1e-3, 2.5
    if not (spectral_radius(lo, d) < 1 < spectral_radius(hi, d)):  # pragma: no cover - sanity
        raise RuntimeError(f"no stability crossing in [{lo}, {hi}] for d={d}")
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(spectral_radius(mid, d)) < 1:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _cond_gap(d: int, cond_max: float) -> float:
    """a_num - a_L, where a_num is :func:`_spectral_threshold` and 1/(1 - rho(a_L)^2) = cond_max
    (numpy spectral radius, bisection): how far below the threshold a Lyapunov matrix of condition
    number cond_max must stay."""
    from theory.delay import spectral_radius

    a_num = _spectral_threshold(d)
    lo, hi = 0.0, a_num
    for _ in range(80):
        mid = (lo + hi) / 2
        if 1 - float(spectral_radius(mid, d)) ** 2 > 1 / cond_max:
            lo = mid
        else:
            hi = mid
    return a_num - lo


@config_cache
def _delay_certs(mode: str) -> list:
    cfg = _DELAY[mode]
    return [cert.delay_threshold_certified(d, e, width=cfg.width, cond_max=cfg.cond_max)
            for d in cfg.delays for e in (0.0, *cfg.eps)]


@claim(
    "certify.delay_threshold_matches_exact",
    title="SDP-certified stability threshold of x_{k+1} = x_k - a x_{k-d} = Levin-May 2 cos(d pi/(2d+1));"
    " analog gains lower it",
    statement="Bisection on a Lyapunov SDP over the companion matrix of the delayed recursion"
    " x_{k+1} = x_k - a x_{k-d} certifies stability up to the exact Levin-May threshold"
    " a*(d) = 2 cos(d pi/(2d+1)) (to the bisection width plus the gap forced by cond(P) <= cond_max),"
    " never above it; numpy spectral radii agree on both sides. With the soft-bounds write gain"
    " q in [1 - eps, 1 + eps] the certified threshold stays at or below a*(d)/(1 + eps).",
    reference="arXiv 2410.15155 (pipeline delay, spec pipeline_training.md 3.4); Levin & May (1976);"
    " theory delay.stability_threshold, delay.charpoly",
    control="the delay removed from the prediction (a*(0) = 2): the certified thresholds for d >= 1"
    " do not match",
    config=_DELAY,
)
def delay_threshold(mode: str, control: bool) -> tuple[list[Check], dict]:
    from theory.delay import levin_may_threshold, spectral_radius

    cfg = _DELAY[mode]
    checks: list[Check] = []
    rows = []
    for c in _delay_certs(mode):
        a_star = float(levin_may_threshold(0 if control else c.delay))
        label = f"d={c.delay}, eps={c.epsilon_sat:g}"
        if c.epsilon_sat == 0:
            gap = _cond_gap(c.delay, cfg.cond_max)
            tol = c.width + 10 * gap
            checks.append(exact(f"{label}: certified threshold = 2 cos(d pi/(2d+1))", c.a_cert, a_star,
                                atol=tol, reason=f"bisection width {c.width:.1g} + 10 x the gap"
                                f" {gap:.2g} below a* at which a Lyapunov matrix needs"
                                f" cond > {cfg.cond_max:g}"
                                " (numpy spectral radius; 10 for the eigenvector conditioning)"))
            checks.append(upper(f"{label}: numpy spectral radius at the certified a < 1",
                                float(spectral_radius(c.a_cert, c.delay)), 1.0,
                                "exact inequality (a Lyapunov certificate implies rho < 1)"))
            checks.append(lower(f"{label}: numpy spectral radius just above a* (x(1 + 1e-4)) > 1",
                                float(spectral_radius(a_star * (1 + 1e-4), c.delay)), 1.0,
                                "exact inequality at the exact threshold (numpy eigvals, rounding ~1e-15)"))
            # the other side: a prediction that is too low must fail too
            checks.append(upper(f"{label}: numpy spectral radius just below a* (x(1 - 1e-4)) < 1",
                                float(spectral_radius(a_star * (1 - 1e-4), c.delay)), 1.0,
                                "exact inequality at the exact threshold (numpy eigvals, rounding ~1e-15)"))
            checks.append(exact(f"{label}: spectral-radius crossing (bisection on [1e-3, 2.5]) = a*",
                                _spectral_threshold(c.delay), a_star, atol=1e-8,
                                reason="bisection to 2.5 x 2^-60, independent of the prediction;"
                                " 1e-8 for the eigenvalues' sensitivity near the double root"))
        else:
            checks.append(upper(f"{label}: certified threshold <= a*(d)/(1 + eps)", c.a_cert,
                                a_star / (1 + c.epsilon_sat), "exact inequality: the uniform gain 1 + eps is"
                                " one of the switching sequences"))
        rows.append(dict(delay=c.delay, eps=c.epsilon_sat, a_cert=c.a_cert, levin_may=a_star,
                         ratio=c.a_cert * (1 + c.epsilon_sat) / a_star, solves=len(c.statuses),
                         statuses=sorted({s.split(":")[0] for s in c.statuses})))
    return checks, {"thresholds": rows}
