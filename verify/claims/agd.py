"""Noiseless Analog GD converges exactly (arXiv 2502.06309 Thm 6; soft-bounds case)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import sim
import theory

from .._claim import Check, claim, exact, not_applicable, upper, violated_assumptions
from ..config import Config, Modes


@dataclass(frozen=True, kw_only=True)
class _Agd(Config):
    """Settings of the claims reading ``_AGD[mode]`` (one instance per mode)."""

    taus: tuple[float, ...]
    runs: int
    K: int
    Ks: tuple[int, ...]


_AGD = Modes(
    quick=_Agd(taus=(1.0, 2.0), runs=8, K=1500, Ks=(10, 30, 100, 300, 1000)),
    # tau must exceed max|W*| = 0.67 of the D = 40 problem, or W* is out of the device's reach
    full=_Agd(taus=(1.0, 1.5, 2.0, 4.0), runs=32, K=5000, Ks=(10, 30, 100, 300, 1000, 3000)),
)
_EPS = float(np.finfo(float).eps)


@claim(
    "agd.noiseless_exact",
    title="noiseless Analog GD converges exactly at O(1/K): avg ||grad f||^2 <= 2 L Delta_0"
    " / (K (1 - W_max^2/tau^2))",
    statement="Without gradient noise, Analog GD on the soft-bounds device with alpha = 1/L drives"
    " ||grad f(W_K)||^2 to rounding level (no asymptotic error), and for every K the averaged"
    " squared gradient norm obeys the derived bound 2 L Delta_0 / (K (1 - W_max^2/tau^2)), run by run.",
    reference="arXiv 2502.06309 Thm 6; spec C9; theory agd.noiseless.ald, agd.descent_identity",
    control="add gradient noise (std 0.01): the gradient no longer reaches rounding level, and the"
    " worst-case instance's average exceeds the bound",
    config=_AGD,
)
def noiseless_exact(mode: str, control: bool) -> list[Check]:
    cfg = _AGD[mode]
    prob = sim.paper_problem("exact_fig3")
    D, L = prob.dim, prob.L
    bound = theory.get("agd.noiseless.ald")
    noise = sim.GaussianNoise(0.01) if control else None
    checks: list[Check] = []
    for tau in cfg.taus:
        rng = np.random.default_rng(int(100 * tau))
        w0 = rng.uniform(-0.5 * tau, 0.5 * tau, (cfg.runs, D))
        w0[0] = 0.0
        tr = sim.simulate(prob, sim.AnalogSGD(1 / L, sim.SoftBounds(tau)), steps=cfg.K,
                          seeds=cfg.runs, w0=w0, noise=noise, record=("grad_norm2",))
        W_max = tr.maxima["w_inf"]
        # the theorem assumes max_k ||W_k||_inf < tau (W* reachable): read from the bound itself
        bad = violated_assumptions(bound, W_max=W_max, tau=tau)
        if bad:
            checks.append(not_applicable(f"tau={tau:g}: exact convergence and the bound",
                                         f"assumption violated: {', '.join(bad)} (W_max >= tau)"))
            continue
        # rounding floor of the gradient: each coordinate of W carries ~eps |W| error, which H
        # maps to ~ L eps max|W| per gradient coordinate; 16 sqrt(D) is a safety margin
        floor = (16 * np.sqrt(D) * _EPS * L * (np.abs(prob.w_star).max() + tau)) ** 2
        checks.append(exact(f"tau={tau:g}: final ||grad f||^2 (worst run) at rounding level",
                            float(tr["grad_norm2"][:, -1].max()), 0.0, atol=floor,
                            reason="float64 rounding of the gradient (16 sqrt(D) eps L max|W|)^2"))
        Delta0 = prob.loss(w0)
        for K in cfg.Ks:
            b = bound.evaluate(Delta_0=Delta0, L=L, K=K, W_max=W_max, tau=tau)
            ratio = float(np.max(tr.average("grad_norm2", 0, K) / b))
            checks.append(upper(f"tau={tau:g} K={K}: max over runs of avg / bound", ratio, 1.0,
                                "deterministic runs: exact inequality, float rounding only"))
    checks += _worst_case(noise)
    return checks


# The bound's worst case: a 1-D quadratic, alpha L = 1, W_0 = 0. The soft-bounds update from 0 is
# exact (U(0, d) = d), so W_1 = W* and the average over K steps is grad_0^2/K = 2 L Delta_0/K, i.e.
# measured/bound = 1 - W_max^2/tau^2 = 1 - (W*/tau)^2 exactly (W_max = |W*|). With W*/tau = 3e-3
# the ratio is 1 - 9e-6: a bound too small by any factor > 1 + 9e-6 fails, one too large by more
# than that factor fails the lower side.
@dataclass(frozen=True, kw_only=True)
class _Worst(Config):
    """The fixed settings ``_WORST``."""

    L: float
    w_star: float
    tau: float
    Ks: tuple[int, ...]


_WORST = _Worst(L=4.0, w_star=3e-3, tau=1.0, Ks=(1, 10, 100))


def _worst_case(noise: sim.GaussianNoise | None) -> list[Check]:
    L, tau = _WORST.L, _WORST.tau
    prob = sim.scalar_quadratic(L, _WORST.w_star)
    tr = sim.simulate(prob, sim.AnalogSGD(1 / L, sim.SoftBounds(tau)), steps=max(_WORST.Ks),
                      seeds=2, noise=noise, record=("grad_norm2",))
    W_max = float(tr.maxima["w_inf"].max())
    Delta0 = float(prob.loss(np.zeros((1, 1)))[0])
    bound = theory.get("agd.noiseless.ald")
    slack = (_WORST.w_star / tau) ** 2
    checks = []
    for K in _WORST.Ks:
        b = float(bound.evaluate(Delta_0=Delta0, L=L, K=K, W_max=W_max, tau=tau))
        ratio = float(np.max(tr.average("grad_norm2", 0, K))) / b
        checks.append(exact(
            f"worst case (1-D, alpha L = 1, W_0 = 0) K={K}: measured/bound in [1 - (W*/tau)^2, 1]",
            ratio, 1 - slack / 2, atol=slack / 2 + 1e-12,
            reason=f"the instance attains the bound up to the factor 1 - (W*/tau)^2 = 1 - {slack:.1g}"
            " (W_1 = W* exactly); 1e-12 for float64 rounding"))
    return checks
