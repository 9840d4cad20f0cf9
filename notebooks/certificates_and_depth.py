# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix B — certified rates of the linearized analog recursions and the pipeline depth trade-off
#
# PEPit cannot express the element-wise $|g|\odot W$ term of analog updates. Inside the box
# $|w_i|\le\epsilon\tau$ that term is a *gain* $q_i = 1\pm w_i/\tau\in[1-\epsilon,1+\epsilon]$, so the
# linearized recursions are linear systems whose matrix switches among $2^D$ vertices. A common
# quadratic Lyapunov function, found by an SDP (cvxpy + Clarabel) and bisection on the rate,
# certifies contraction for *every* switching sequence (`theory.certify.lyapunov_rate`). The rate is
# recomputed from the Lyapunov matrix in numpy, so it does not rest on the solver's accuracy.
#
# 1. Analog GD on a quadratic with spectrum in $[\mu, L]$: certified rate vs saturation;
# 2. Tiki-Taka's coupled $(P, W)$ recursion: where switching transfer gains cost stability;
# 3. the pipeline: a gradient $d$ steps late is stable up to the Levin–May step
#    $a^*(d) = 2\cos(d\pi/(2d+1))$ (arXiv 2410.15155 with $M = d+1$ stages), how analog gains lower
#    it, and what depth buys in wall-clock time.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import theory
from theory import certify as cert
from theory.delay import delayed_recursion, levin_may_threshold, spectral_radius

QUICK = os.environ.get("AIMC_QUICK", "0") == "1"
OUT = Path(os.environ.get("AIMC_NOTEBOOK_OUT", "notebooks/out")) / "certificates_and_depth"
OUT.mkdir(parents=True, exist_ok=True)
N_EPS = 5 if QUICK else 15
DELAYS = np.arange(0, 6 if QUICK else 13)

# %% [markdown]
# ## B.1 Analog GD: certified rate against the saturation radius
#
# For diagonal $H$ the closed form $\max(|1-\alpha(1-\epsilon)\mu|, |1-\alpha(1+\epsilon)L|)$
# (`certify.agd_linear_rate`) is attained; for a rotated $H$ it is a lower bound of the certified rate.

# %%
lam = np.array([0.2, 0.6, 1.0])
c, s_ = np.cos(0.7), np.sin(0.7)
Q = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, c, -s_], [0, s_, c]])
H_rot = Q @ np.diag(lam) @ Q.T
epss = np.linspace(0, 0.8, N_EPS)
closed = theory.get("certify.agd_linear_rate")
rows = []
for e in epss:
    d = cert.lyapunov_rate(cert.agd_vertices(np.diag(lam), 1.0, e), width=1e-5)
    r = cert.lyapunov_rate(cert.agd_vertices(H_rot, 1.0, e), width=1e-5)
    rows.append((e, float(closed.evaluate(alpha=1.0, epsilon_sat=e, mu=0.2, L=1.0)), d.rate, r.rate))
rows = np.array(rows)
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(rows[:, 0], rows[:, 1], "k-", label="closed form")
ax.plot(rows[:, 0], rows[:, 2], "o", label="SDP, diagonal H")
ax.plot(rows[:, 0], rows[:, 3], "s", mfc="none", label="SDP, rotated H")
ax.set(xlabel=r"saturation radius $\epsilon$ ($|w_i|\leq\epsilon\tau$)", ylabel=r"certified rate $\rho$",
       title=r"linearized Analog GD, $\alpha = 1/L$, spectrum $\{0.2, 0.6, 1\}$")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "agd_rate.png", dpi=120)
fig

# %% [markdown]
# Saturation slows the slowest direction: the rate is $1 - \alpha(1-\epsilon)\mu$, i.e. the
# effective strong convexity is $(1-\epsilon)\mu$ — the same factor $1 - W_{\max}/\tau$ that the
# convergence theorems carry as $1-\rho^2$ in the metric.
#
# ## B.2 Tiki-Taka: the transfer gain and the P decay
#
# Linearized at $(P, W) = (0, W^*)$: $P' = (1-\beta\kappa)P - \beta H e$ with
# $\kappa = E|\xi|/\tau$ (the asymmetric $|g|\odot P/\tau$ term) and $W' = W + \alpha Q_W P'$
# ($\alpha$: transfer rate, $\beta$: learning rate of P, as in the 2024 paper). The
# determinant is $1-\beta\kappa$ (`certify.tt_linear_det`): without the decay the linear part does
# not contract at all. With switching gains $Q_W$, the common-Lyapunov rate exceeds every vertex's
# spectral radius and crosses 1 at a finite saturation.

# %%
eps_tt = np.linspace(0, 0.3, N_EPS + 2)
fig, ax = plt.subplots(figsize=(6, 3.8))
for kap in (0.2, 0.5):
    cert_r = [cert.lyapunov_rate(cert.tt_vertices(np.array([[1.0]]), 0.5, 0.5, kap, e), width=1e-5).rate
              for e in eps_tt]
    vert = [max(cert.tt_scalar_rate(0.5, 0.5, kap, 1.0, 1 + sg * e) for sg in (-1, 1)) for e in eps_tt]
    line = ax.plot(eps_tt, cert_r, "o-", label=rf"certified, $\kappa={kap}$")[0]
    ax.plot(eps_tt, vert, "--", color=line.get_color(), label=rf"max vertex radius, $\kappa={kap}$")
ax.axhline(1, color="k", lw=0.8)
ax.set(xlabel=r"saturation of W, $\epsilon$", ylabel="rate",
       title=r"linearized Tiki-Taka, $\alpha=\beta=0.5$, $\lambda=1$")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "tt_rate.png", dpi=120)
fig

# %% [markdown]
# Each vertex alone contracts at $\sqrt{1-\beta\kappa}$ (complex eigenvalues: the modulus is the
# square root of the determinant, whatever the gain), yet switching between the gains $1\pm\epsilon$
# costs a certified rate growing with $\epsilon$: with weak P decay ($\kappa = 0.2$) no common
# quadratic Lyapunov function contracts beyond $\epsilon\approx 0.2$. This is the linear-system
# counterpart of Tiki-Taka's saturation condition on $P_{\max}$ and $W_{\max}$ (2024 Thm 4); the
# constant 33 of that condition is not reproduced by this local analysis.

# %% [markdown]
# ## B.3 Pipeline depth: the stable step, certified, and what depth buys
#
# A stage that sees weights $d$ updates old runs $x_{k+1} = x_k - a\,x_{k-d}$, $a = \alpha\lambda$.
# The SDP over the companion matrix certifies stability up to the Levin–May threshold; with the
# analog write gain $q\in[1-\epsilon, 1+\epsilon]$ the certified threshold drops below
# $a^*(d)/(1+\epsilon)$.

# %%
digital = [cert.delay_threshold_certified(int(d), 0.0, width=1e-5).a_cert for d in DELAYS]
analog = [cert.delay_threshold_certified(int(d), 0.2, width=1e-5).a_cert for d in DELAYS]
fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
ax[0].plot(DELAYS, levin_may_threshold(DELAYS), "k-", label=r"Levin–May $2\cos(d\pi/(2d+1))$")
ax[0].plot(DELAYS, digital, "o", label="SDP certified, digital")
ax[0].plot(DELAYS, analog, "s", label=r"SDP certified, analog gains $\epsilon = 0.2$")
ax[0].plot(DELAYS, levin_may_threshold(DELAYS) / 1.2, "k:", label=r"$a^*(d)/(1+\epsilon)$")
ax[0].set(xlabel="delay d (= stages - 1)", ylabel="largest stable a = alpha lambda", yscale="log")
ax[0].legend(fontsize=8)
# iterations to shrink the error 1000x at the best step for each depth, and wall-clock with M = d+1
a_grid = np.linspace(1e-3, 2, 400 if QUICK else 4000)
best_rho = np.array([spectral_radius(a_grid, int(d)).min() for d in DELAYS])
iters = np.log(1e3) / -np.log(best_rho)
ax[1].plot(DELAYS + 1, iters, "o-", label="iterations (best step)")
ax[1].plot(DELAYS + 1, iters / (DELAYS + 1), "s-", label="wall-clock, M stages in parallel")
ax[1].set(xlabel="pipeline stages M", ylabel="to shrink the error 1000x", yscale="log")
ax[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "delay_threshold.png", dpi=120)
fig

# %%
K = 200
x_in = delayed_recursion(0.97 * float(levin_may_threshold(3)), 3, K)
x_out = delayed_recursion(1.03 * float(levin_may_threshold(3)), 3, K)
plt.figure(figsize=(6, 3.2))
plt.semilogy(np.abs(x_in) + 1e-300, label=r"$a = 0.97\,a^*(3)$")
plt.semilogy(np.abs(x_out) + 1e-300, label=r"$a = 1.03\,a^*(3)$")
plt.xlabel("k")
plt.ylabel("|x_k|")
plt.title("delay 3: just inside and just outside the threshold")
plt.legend(fontsize=8)
plt.tight_layout()
plt.savefig(OUT / "delay_trajectories.png", dpi=120)
plt.gcf()

# %% [markdown]
# ## B.4 What depth buys: throughput against the stability cost
#
# `theory.pipeline` derives the speedups from the Fig. 1 timing law: the synchronous pipeline
# gains $MB/(B+M-1)$ over no pipeline (`pipeline.speedup.sync`), the asynchronous one
# $BKM/(BK+M-1)\to M$ (`pipeline.speedup.async`), but only the asynchronous one is delayed. Two
# regimes bracket the net effect for the asynchronous pipeline. Noise-dominated: the
# $\epsilon^{-2}$ term of $K(\epsilon)$ does not depend on the depth
# (`pipeline.async.eps2_coefficient`), so the full speedup remains. Curvature-limited: the step is
# capped by stability at the largest curvature, $\alpha L \le a^*(M-1)$, and the slow modes need
# $\propto 1/a^*(M-1)$ iterations, so the gain is the speedup times $a^*(M-1)/a^*(0)$.

# %%
Ms = np.arange(1, 17)
B = 8
sync = np.array([float(theory.get("pipeline.speedup.sync").evaluate(M=m, B=B)) for m in Ms])
asyn = np.array([float(theory.get("pipeline.speedup.async").evaluate(M=m, B=B, K=10_000)) for m in Ms])
curv = asyn * levin_may_threshold(Ms - 1) / levin_may_threshold(0)
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(Ms, sync, "o-", label=f"sync (B = {B}): no delay")
ax.plot(Ms, asyn, "s-", label="async, noise-dominated regime")
ax.plot(Ms, curv, "^-", label=r"async, curvature-limited: $\times a^*(M-1)/2$")
ax.set(xlabel="stages M", ylabel="wall-clock gain over no pipeline", yscale="log")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "depth_tradeoff.png", dpi=120)
fig

# %% [markdown]
# **Reading.** The stable step shrinks like $\pi/(2d)$, so the iteration count to a fixed accuracy
# grows roughly linearly with the depth; with $M = d+1$ stages working in parallel the wall-clock
# time stays nearly flat (right panel of B.3): in the curvature-limited regime depth buys
# throughput, not convergence (B.4: with $a^*(d) \approx \pi/(2d+1)$ the gain
# $M a^*(M-1)/2 \to \pi/4 \approx 0.79$, no better than no pipeline at all), while in the
# noise-dominated regime the asynchronous pipeline keeps its full $M$-fold speedup. Analog write
# gains cost a further factor at least $1/(1+\epsilon)$ of the stable step (more, for switching
# gains).
