"""Figure 4 of arXiv 2502.06309: MNIST FCN and CNN on a power-response device, digital SGD vs Analog
SGD vs Tiki-Taka / residual learning (TT/RL) at three tau.

Every layer is a pulse-level power-step tile (aihwkit ``PowStepDevice``: :class:`sim.PulsedPowStep`,
one pulse moves w by :math:`\\Delta w_{\\min}\\,\\omega^{\\gamma_{res}}` up and
:math:`\\Delta w_{\\min}(1-\\omega)^{\\gamma_{res}}` down, :math:`\\omega = (\\tau - w)/(2\\tau)`, i.e. the
paper's power response :math:`q_\\pm = (1 \\mp w/\\tau)^{\\gamma_{res}}` up to the factor
:math:`2^{-\\gamma_{res}}`), trained with ``mode="pulsed"``; digital SGD is the same network with ideal
weights. Settings (spec ``exact_training.md`` Sec. 8 item 8): gamma_res = 0.5, dw_min = 1e-3, BL 32 with
update and BL management, aihwkit's default IO (output noise 0.06, 7-bit DAC, 9-bit ADC, bounds 1
and 12); alpha = 0.05 (SGD rate of every algorithm and the transfer rate), beta = 0.01 (rate of P,
absolute as aihwkit's ``fast_lr``), one column per transfer every step; FCN 784-256-128-10 sigmoid
(batch 10), CNN LeNet-like (batch 8); FCN tau in {0.5, 0.6, 0.7}, CNN tau in {0.6, 0.7, 0.8}. The
paper's statement: TT/RL ends within 1 % of digital SGD, Analog SGD is slow, and on the CNN it
settles around 80 %.

Settings the spec does not pin down, as assumed here: the TT/RL mixing gamma = 0.4 (the follow-up's
ResNet setting; the MNIST scripts take ``--res-gamma`` on the command line); cycle-to-cycle noise
0.3 (aihwkit's default ``dw_min_std``); the paper's authors ran a customized aihwkit fork whose power
response may lack the :math:`2^{-\\gamma_{res}}` factor of ``PowStepDevice``.

Deviations (stated reduced grid, 2 shared CPU cores): (i) the full mode trains on scikit-learn's 8x8
digits (1,438 train / 359 test; FCN 64-32-10, CNN conv3(4) - conv2(8) - fc32) with the paper's device,
IO and rates, 40 epochs (FCN) and 10 epochs (CNN), 2 seeds: about 5,800 optimizer steps per FCN run
against the paper's 80 epochs x 6,000 steps of full MNIST. MNIST-5k at the same rates costs ~10x more
per epoch and, at beta = 0.01 with one column per transfer out of 785, leaves TT/RL near chance for
the first ~10 epochs (measured: 10.3 % after one epoch, digital 18.7 %), far from converged within a
~10-minute run; (ii) no device-to-device variation (:func:`sim.nets.train` steps every tile with one
optimizer), no learnable output scaling; (iii) quick mode is a smoke test on the digits with batch 32,
alpha = 0.2, beta = 0.1 and dw_min = 1e-2 for a few epochs (not the paper's settings).

Measured (full mode, run piece by piece in one session; final accuracy %, mean +- std over 2 seeds):
FCN (40 epochs) digital 95.68 +- 0.59; Analog SGD 79.06 / 83.98 / 86.49 at tau = 0.5 / 0.6 / 0.7;
TT/RL 76.28 / 77.44 / 79.34. CNN (10 epochs) digital 76.46 +- 0.72; Analog SGD 35 +- 13 / 28 +- 20 /
42 +- 13 at tau = 0.6 / 0.7 / 0.8; TT/RL 19.5 +- 9.9 / 20 +- 12 / 19.9 +- 10.0. TT/RL stays below 16 %
for the first 10 FCN epochs (P must build up at beta = 0.01 before W + gamma P moves), then rises
faster than Analog SGD (FCN, last 10 epochs: +9 to +11 points against Analog SGD's +4 to +5) without
catching up within the budget. Compute: 1,900 s of training on the loaded machine (FCN 1,185 s, CNN 714 s;
88 s in the 4th session's build with the compiled pulse kernels).

Larger grid (``--set fcn.epochs=160 --set cnn.epochs=60``, ~8 min; the training-length factor): TT/RL
overtakes Analog SGD at every tau, from epoch ~80 (FCN) and ~40 (CNN); at the end FCN digital 97.5,
Analog SGD 86.4 / 91.5 / 94.4, TT/RL 94.3 / 95.8 / 96.2; CNN digital 89.3, Analog SGD 73.0 / 67.5 / 78.1,
TT/RL 84.5 / 81.8 / 85.0 (last-epoch accuracy, 2 seeds).

Table: as the paper's insets, mean +- std over seeds of the mean test accuracy of the last epochs (%).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from sim.config import Config, Modes

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure, write_text
from ._rl_mnist import (
    ALGORITHMS,
    CNN,
    DEVICE,
    FCN,
    LABELS,
    PAPER_RATES,
    QUICK,
    train,
)
from ._style import legend_under, mean_pm, subplots


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of 2502.06309 Fig. 4: seed, epochs averaged for the table, the two networks."""

    seed: int
    last: int
    fcn: FCN
    cnn: CNN


CONFIGS = Modes(
    quick=Settings(
        seed=2502, last=2,
        fcn=FCN(**QUICK, data="digits", sizes=(64, 32, 10), batch=32, taus=(0.5, 0.6, 0.7), epochs=5,
                seeds=2),
        cnn=CNN(**QUICK, data="digits", side=8, channels=(4, 8), kernels=(3, 2), hidden=32, batch=32,
                taus=(0.6, 0.7, 0.8), epochs=2, seeds=2),
    ),
    # stated reduced grid: the paper's device, IO and rates on the 8x8 digits (MNIST-5k at these rates
    # needs ~10x the compute per epoch and far more epochs than 2 shared cores allow; see the docstring)
    full=Settings(
        seed=2502, last=3,
        fcn=FCN(**DEVICE, **PAPER_RATES, data="digits", sizes=(64, 32, 10), batch=10,
                taus=(0.5, 0.6, 0.7), epochs=40, seeds=2),
        cnn=CNN(**DEVICE, **PAPER_RATES, data="digits", side=8, channels=(4, 8), kernels=(3, 2),
                hidden=32, batch=8, taus=(0.6, 0.7, 0.8), epochs=10, seeds=2),
    ),
)


def compute(cfg: Settings) -> dict:
    out: dict = {}
    for kind in ("fcn", "cnn"):
        c = getattr(cfg, kind)
        for alg in ALGORITHMS:
            taus = [c.taus[0]] if alg == "digital" else c.taus  # digital does not see tau
            res = [train(kind, c, alg, tau, cfg.seed) for tau in taus]
            acc = 100 * np.stack([r.test_acc for r in res])  # (taus or 1, seeds, epochs + 1)
            out[f"{kind}_{alg}_acc"] = acc
            # rounded: seeds stuck at the same accuracy must not print a float-noise spread
            out[f"{kind}_{alg}_final"] = np.round(acc[..., -cfg.last:].mean(axis=-1), 10)
            out[f"{kind}_{alg}_seconds"] = float(sum(r.elapsed for r in res))
        out[f"{kind}_taus"] = np.asarray(c.taus, dtype=float)
        out[f"{kind}_epoch"] = np.arange(c.epochs + 1)
    out["table"] = accuracy_table(out, cfg)
    return out


def accuracy_table(data: dict, cfg: Settings) -> str:
    """Markdown: mean +- std over seeds of the last-epochs mean test accuracy (%)."""
    lines = ["| algorithm | tau (FCN / CNN) | FCN | CNN |", "|---|---|---|---|"]
    nets = {"fcn": cfg.fcn.taus, "cnn": cfg.cnn.taus}  # --set may give the two different tau counts
    for alg in ALGORITHMS:
        for i in range(1 if alg == "digital" else max(map(len, nets.values()))):
            taus = "—" if alg == "digital" else " / ".join(
                f"{t[i]:g}" if i < len(t) else "—" for t in nets.values())
            cells = [mean_pm(data[f"{k}_{alg}_final"][i]) if alg == "digital" or i < len(nets[k])
                     else "—" for k in nets]
            lines.append(f"| {LABELS[alg]} | {taus} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.8, height=2.9)
    styles = ["-", "--", ":"]
    color = {"digital": "k", "analog": "C3", "rl": "C0"}
    for ax, kind in zip(axes[0], ("fcn", "cnn"), strict=True):
        ep = data[f"{kind}_epoch"]
        for alg in ALGORITHMS:
            acc = data[f"{kind}_{alg}_acc"]
            for i in range(acc.shape[0]):
                m, s = acc[i].mean(axis=0), acc[i].std(axis=0, ddof=1)
                lab = LABELS[alg] if alg == "digital" else f"{LABELS[alg]} τ={data[f'{kind}_taus'][i]:g}"
                ax.plot(ep, m, color=color[alg], ls=styles[i % 3], lw=1.1, label=lab)
                ax.fill_between(ep, m - s, m + s, color=color[alg], alpha=0.12, lw=0)
        ax.set_ylim(0, 100)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("test accuracy (%)")
        c = getattr(cfg, kind)
        ax.set_title(f"{kind.upper()} ({c.data}, power γ_res={c.gamma_res:g};"
                     f" ± std, {c.seeds} seeds)")
        legend_under(ax, ncol=3)
    paths = save_figure(fig, out_dir, "response_fig4_mnist")
    md = out_dir / "response_fig4_mnist_table.md"
    note = (f"\n\nMean ± std over seeds of the mean test accuracy (%) of the last {cfg.last} epochs;"
            " pulse-level power-step tiles.\n")
    write_text(md, "# 2502.06309 Figure 4: final test accuracy\n\n" + str(data["table"]) + note)
    return [*paths, md]


FIGURE = FigureSpec(
    id="response_fig4_mnist",
    title="MNIST FCN and CNN on a power-response device: digital SGD, Analog SGD and TT/RL at three tau",
    reference="arXiv 2502.06309 Fig. 4 (NeurIPS-2025/S2-mnist-FCN.py, S2-mnist-CNN.py)",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement="On MNIST with a power response (gamma_res = 0.5), TT/RL ends within 1 % of digital SGD"
    " while Analog SGD is slow (CNN: about 80 %).",
    verdict="deviates",
    evidence=("figure:response_fig4_mnist", "figure:exact_fig5_ablation"),
    regime="pulse level",
    factor="training length: TT/RL with beta = 0.01 and a one-column transfer starts late; in the"
    " reduced grid (FCN 40, CNN 10 epochs) it trails Analog SGD, run 4x / 6x longer (the larger grid)"
    " it leads Analog SGD at every tau on both networks and approaches digital SGD (FCN 1.3-3.2"
    " points, CNN 4.3-7.5 points behind, still rising; the paper's ~480,000 steps are not reached)",
    notes="Stated reduced grid: 8x8 digits, paper's device, IO and rates, 2 seeds. FCN (40 epochs):"
    " digital 95.7, Analog SGD 79.1 / 84.0 / 86.5 (tau 0.5 / 0.6 / 0.7), TT/RL 76.3 / 77.4 / 79.3 and still"
    " rising faster; CNN (10 epochs): digital 76.5, Analog SGD 28-42, TT/RL ~20. Larger grid (4th session,"
    " test accuracy at the last epoch, mean +- std over 2 seeds): FCN 160 epochs digital 97.5 +- 0.3,"
    " Analog SGD 86.4 / 91.5 / 94.4, TT/RL 94.3 / 95.8 / 96.2 (TT/RL ahead from epoch ~80: 89.1 / 90.4 /"
    " 91.2 vs 83.7 / 87.2 / 90.5); CNN 60 epochs (tau 0.6 / 0.7 / 0.8) digital 89.3 +- 0.1, Analog SGD"
    " 73.0 / 67.5 / 78.1, TT/RL 84.5 / 81.8 / 85.0 (ahead from epoch ~40). No device-to-device variation;"
    " MNIST-5k at these rates not run (the same step count costs ~15 min of TT/RL training alone on an"
    " idle machine).",
    larger=("fcn.epochs=160", "cnn.epochs=60"),
)
