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
# # Appendix A — the constants of Analog SGD: floor, rate, and how tight the bounds are
#
# Analog SGD on the soft-bounds device, $W_{k+1} = W_k - \alpha g_k - \frac{\alpha}{\tau}|g_k|\odot W_k$
# (arXiv 2406.12774), does not converge to a stationary point: it settles on an *asymptotic error*
# that the derived bound (`asgd.upper.derived`) puts at $\sigma^2\tilde S_K/(1-\rho^2)$,
# $\rho = W_{\max}/\tau$, while the 2024 Theorem 2 (restated, `asgd.upper.ald`) has $2\sigma^2 S_K$.
# This appendix measures
#
# 1. the floor against $\tau$ and $\sigma$ on the 1-D instance, with the lower bound
#    $s^2\bar w^2/\tau^2$ and the upper bound's floor term (a grid $\times$ seeds sweep, `sim.sweep`);
# 2. the tightest empirical constants $C_2$, floor of $E_K \le C_1/\sqrt K + C_2/K + F$ (an LP);
# 3. the worst case over noise laws (an LP): which instance comes closest to the upper bound.
#
# Set `AIMC_QUICK=1` for the small CI settings; figures go to `$AIMC_NOTEBOOK_OUT` (default
# `notebooks/out`).

# %%
import concurrent.futures as cf
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import sim
import theory
from sim.stats import mean_se_rows
from sim.sweep import asgd_floor_cell, grid, run_sweep
from theory import certify as cert
from verify.claims.certify import bound_constants

QUICK = os.environ.get("AIMC_QUICK", "0") == "1"
OUT = Path(os.environ.get("AIMC_NOTEBOOK_OUT", "notebooks/out")) / "asgd_constants"
OUT.mkdir(parents=True, exist_ok=True)
S = dict(taus=(1.0, 2.0) if QUICK else (0.5, 1.0, 2.0, 4.0),
         stds=(0.1, 0.3) if QUICK else (0.05, 0.1, 0.2, 0.3, 0.5),
         K=2000 if QUICK else 20_000, runs=64 if QUICK else 512, seeds=2 if QUICK else 4, alpha=0.05)
S

# %% [markdown]
# ## A.1 Floor against $\tau$ and $\sigma$
#
# One cell = one $(\tau, s)$ configuration and one seed, each running `runs` independent chains at
# once. The sweep appends each finished cell to a CSV and skips finished cells when re-run, so the
# grid can be extended or resumed. Pass `executor=distributed.Client(...).get_executor()` to run it
# on a Dask cluster instead of local processes.

# %%
configs = grid(tau=S["taus"], s=S["stds"], alpha=[S["alpha"]], K=[S["K"]], runs=[S["runs"]])
with cf.ThreadPoolExecutor(2) as ex:
    table = run_sweep(asgd_floor_cell, configs, S["seeds"], path=OUT / "floor_sweep.csv", executor=ex)
{k: v[:4] for k, v in table.items()}

# %%
lower = theory.get("asgd.lower.floor")
fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
for tau in S["taus"]:
    sel = table["tau"] == tau
    s_vals = np.unique(table["s"][sel])
    floor = np.array([table["floor"][sel & (table["s"] == s)].mean() for s in s_vals])
    se = np.array([np.sqrt(np.sum(table["floor_se"][sel & (table["s"] == s)] ** 2))
                   / np.sum(sel & (table["s"] == s)) for s in s_vals])
    stilde = np.array([table["stilde"][sel & (table["s"] == s)].mean() for s in s_vals])
    wmax = np.array([table["w_max"][sel & (table["s"] == s)].max() for s in s_vals])
    lb = np.array([float(lower.evaluate(L=1.0, w_star=0.5, tau=tau, s=s)) for s in s_vals])
    # the non-vanishing part of asgd.upper.derived: (alpha L (1 + rho)^2 + Stilde) sigma^2 / (1 - rho^2)
    ub_floor = np.array([bound_constants("asgd.upper.derived", Delta_0=0.125, sigma=s, L=1.0,
                                         alpha=S["alpha"], W_max=wm, tau=tau, Stilde_K=st)["floor"]
                         for s, wm, st in zip(s_vals, wmax, stilde, strict=True)])
    line = ax[0].errorbar(s_vals**2, floor, 3 * se, marker="o", label=f"measured, tau={tau:g}")
    ax[0].plot(s_vals**2, lb, "--", color=line[0].get_color(), alpha=0.7)
    ax[0].plot(s_vals**2, ub_floor, ":", color=line[0].get_color(), alpha=0.7)
    ax[1].plot(s_vals**2, floor / ub_floor, marker="o", label=f"tau={tau:g}")
ax[0].set(xscale="log", yscale="log", xlabel=r"$\sigma^2 = s^2$", ylabel=r"floor of $E|\nabla f|^2$",
          title="measured (±3 s.e.), lower bound (--), upper bound's floor (:)")
ax[1].set(xscale="log", xlabel=r"$\sigma^2$", ylabel="measured / upper bound's floor",
          title="tightness of the floor term", ylim=(0, 1.1))
ax[0].legend(fontsize=8)
ax[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "floor_vs_sigma_tau.png", dpi=120)
fig

# %% [markdown]
# The floor grows like $\sigma^2$ and falls with $\tau$. On the Rademacher instance it sits just
# above the lower bound $s^2\bar w^2/\tau^2$ (the gap is the $O(\alpha)$ variance term) and at
# about half of the upper bound's non-vanishing part
# $(\alpha L(1+\rho)^2 + \tilde S_K)\sigma^2/(1-\rho^2)$, whose $\alpha$ term is loose here.
#
# ## A.2 The tightest constants of a measured curve
#
# For the running average $E_K = \frac1K\sum_{k<K}E|\nabla f(w_k)|^2$ (upper confidence limit, mean
# + 3 s.e.) an LP finds the smallest $C_2$ and floor with $E_K \le C_2/K + F$ for all $K$, each with
# the theory's other constant held at its value in `asgd.upper.derived`.

# %%
K = S["K"]
prob = sim.scalar_quadratic(1.0, 0.5)
tr = sim.simulate(prob, sim.AnalogSGD(S["alpha"], sim.SoftBounds(1.0)), steps=K, seeds=S["runs"] * 4,
                  noise=sim.RademacherNoise(0.3), record=("grad_norm2", "sat2"),
                  record_every=max(1, K // 400))
Ks = tr.k[tr.k >= 10]
per = np.array([tr.average("grad_norm2", 0, int(k)) for k in Ks])
per_mean, per_se = mean_se_rows(per)
ucl = per_mean + 3 * per_se
vals = dict(Delta_0=0.125, sigma=0.3, L=1.0, alpha=S["alpha"], W_max=float(tr.maxima["w_inf"].max()), tau=1.0,
            Stilde_K=max(float(tr.average("sat2", 0, int(k)).mean()) for k in Ks))
theo = bound_constants("asgd.upper.derived", **vals)
fit = {n: getattr(cert.empirical_constants(Ks, ucl, minimize=n, caps={m: theo[m] for m in theo if m != n}), n)
       for n in ("C2", "floor")}
env = cert.empirical_constants(Ks, ucl)
rows = {n: (fit[n], theo[n], fit[n] / theo[n]) for n in fit}
rows

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.loglog(Ks, ucl, label=r"measured $E_K$ (UCL)")
ax.loglog(Ks, theo["C2"] / Ks + theo["floor"], "--", label="asgd.upper.derived")
ax.loglog(Ks, env.C1 / np.sqrt(Ks) + env.C2 / Ks + env.floor, ":", label="tightest envelope (LP)")
ax.set(xlabel="K", ylabel=r"$\frac{1}{K}\sum E|\nabla f|^2$", title="theory vs tightest envelope")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "envelope.png", dpi=120)
fig

# %% [markdown]
# ## A.3 Which instance comes closest to the floor term?
#
# At the mean-field fixed point the gradient is $\bar g = -m\bar w/\tau$, $m = E|\bar g + \xi|$. By
# Cauchy–Schwarz $m^2 \le \bar g^2 + s^2$, so the floor $\bar g^2 \le s^2u/(1-u)$, $u = \bar w^2/\tau^2$:
# exactly the derived bound's floor term (`certify.worst_noise_floor`). An LP over discrete noise
# laws finds the law attaining it — a two-point law making $|g|$ constant — while symmetric laws
# (Rademacher, Gaussian) stay below.

# %%
us = np.linspace(0.05, 0.9, 8 if QUICK else 24)
best, sym = [], []
for u in us:
    g = -0.3 * np.sqrt(u / (1 - u))
    span = 1.5 * (abs(g) + np.hypot(g, 0.3)) / 0.3
    best.append(cert.worst_noise_law(g, 0.3, n_support=401 if QUICK else 1601, span=span))
    sym.append(cert.worst_noise_law(g, 0.3, n_support=401 if QUICK else 1601, span=span, symmetric=True))
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot([w.u for w in best], [w.ratio for w in best], "o-", label="best law (LP)")
ax.plot([w.u for w in sym], [w.ratio for w in sym], "s-", label="best symmetric law (LP)")
ax.plot(us, 1 - us, "k:", label=r"Rademacher $\pm s$: $1 - u$")
ax.set(xlabel=r"saturation at the fixed point $u = \bar w^2/\tau^2$",
       ylabel="witness floor / upper floor term", ylim=(0, 1.05),
       title="how close the worst case comes to the derived floor term")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "witness.png", dpi=120)
fig

# %% [markdown]
# **Reading.** The floor term $\sigma^2\tilde S_K/(1-\rho^2)$ of the derived bound is attained (ratio 1
# at every saturation) by a two-point noise law, so neither its constant 1 nor the factor
# $1/(1-\rho^2)$ can be improved in general; against the restated 2024 form $2\sigma^2 S_K$ the
# worst case reaches one half. The rate and $C_2$ terms, by contrast, are loose by factors 2–4 on
# these instances (see `certify.empirical_constants_within_theory` in the claims report).
