"""Figure 7 of arXiv 2406.12774 (appendix): distribution of the learned weights and of their saturation.

The FCN of Figure 5 is trained at tau = 0.7 with digital SGD, Analog SGD and Tiki-Taka (settings of
:mod:`paper_figures.exact_fig5_mnist`, whose full grid is reduced to 30 epochs and 2 seeds to fit the
45-minute build and writes mini-batches per sample; ``FIDELITY.larger`` runs its 80-epoch, 3-seed
grid). Left: histogram of the final
model weights of every layer (all tiles pooled; for Tiki-Taka the model array W). Right: histogram
of the saturation |w|/tau of Analog SGD's W, Tiki-Taka's W and Tiki-Taka's gradient array P.
Histograms are densities per seed; the curve is their mean over seeds and the band +- one std. The
panel titles give mean |w|/tau (mean +- std over seeds).

Finding (mean-field soft-bounds model): Analog SGD's asymmetric drift -|Delta| W / tau pulls its
weights towards the symmetric point 0, so its W is *less* saturated than Tiki-Taka's W, which holds
the solution, often at the bounds; what stays far from the bounds under Tiki-Taka is P, the array that
receives the gradients (the saturation P_max/tau of the 2024 Table 1). The paper's caption says
Tiki-Taka's weights are less saturated; its histograms come from aihwkit tiles with device-to-device
bound variation and the released scripts' weight-scaling mapping, which this model does not have
(see claim ``nets.saturation_lower_for_tt``). Quick mode: digits, FCN 64-32-10.

:mod:`paper_figures.exact_fig7_ablation` changes one factor at a time (quick-size FCN on digits):
device-to-device variation, a weight-scaling mapping, pulse level and Tiki-Taka's beta or transfer
rate alone leave Tiki-Taka's W the more saturated; the TT-v1 preset's rates (beta = 0.01, one column
per transfer) flip the order, at an accuracy matched to Analog SGD's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim.config import Config, Modes

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import legend_under, mean_pm, subplots
from .exact_fig5_mnist import CONFIGS as FIG5
from .exact_fig5_mnist import FCN, LABELS, seed_blocks, train_seeds


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of Fig. 7: Fig. 5's FCN at one tau, histogram bins."""

    net: FCN
    seed: int = 7
    tau: float = 0.7
    bins: int = 60


CONFIGS = Modes(quick=Settings(net=replace(FIG5.quick.fcn, taus=(0.7,))),
                full=Settings(net=replace(FIG5.full.fcn, taus=(0.7,))))
#: ``--set`` overrides that run Fig. 5's larger FCN grid (80 epochs, StepLR(35), 3 seeds), where the
#: numbers of FIDELITY.notes come from; full mode uses Fig. 5's reduced grid (30 epochs, 2 seeds)
LARGER = ("net.epochs=80", "net.step=35", "net.seeds=3")


def run_histograms(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per-run density histograms of ``values`` ``(R, n)`` on ``edges``, shape ``(R, bins)``
    (one ``bincount`` for all runs; values outside the edges go to the end bins)."""
    R, _ = values.shape
    nb = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, nb - 1)
    counts = np.bincount((idx + nb * np.arange(R)[:, None]).ravel(), minlength=R * nb).reshape(R, nb)
    return counts / (values.shape[1] * np.diff(edges))


def _flat(arrays: list) -> np.ndarray:
    return np.concatenate([a.reshape(a.shape[0], -1) for a in arrays if a is not None], axis=1)


def cells(cfg: Settings) -> list[dict]:
    """One cell per (algorithm, block of seeds) (blocks as in Figure 5)."""
    return [{"algorithm": alg, "seeds": block} for alg in ("digital", "analog", "tt")
            for block in seed_blocks(cfg.net.seeds)]


def compute_cell(cfg: Settings, cell: dict) -> dict:
    """The final weights of one cell's runs, flattened ``(runs, n)``, their final test accuracy,
    and (Tiki-Taka) their final P."""
    res = train_seeds("fcn", cfg.net, cell["algorithm"], cfg.seed, cell["seeds"])
    out = {"w": _flat(res.weights), "acc": res.test_acc[:, -1]}
    if cell["algorithm"] == "tt":
        out["P"] = _flat([s.P if s is not None else None for s in res.states])
    return out


def assemble(cfg: Settings, results: list[dict]) -> dict:
    def joined(alg: str, key: str) -> np.ndarray:
        return np.concatenate([r[key] for c, r in zip(cells(cfg), results, strict=True)
                               if c["algorithm"] == alg])

    weights = {alg: joined(alg, "w") for alg in ("digital", "analog", "tt")}
    return _histograms(cfg, weights, {alg: joined(alg, "acc") for alg in weights}, joined("tt", "P"))


def compute(cfg: Settings) -> dict:
    return assemble(cfg, [compute_cell(cfg, cell) for cell in cells(cfg)])


def _histograms(cfg: Settings, weights: dict, acc: dict, p_tt: np.ndarray) -> dict:
    tau = cfg.tau
    lim = float(max(np.max(np.abs(w)) for w in weights.values()))
    w_edges = np.linspace(-lim, lim, cfg.bins + 1)
    s_edges = np.linspace(0.0, 1.0, cfg.bins + 1)
    out: dict = {"w_edges": w_edges, "s_edges": s_edges, "tau": tau}
    for alg, w in weights.items():
        out[f"w_hist_{alg}"] = run_histograms(w, w_edges)
        out[f"acc_{alg}"] = acc[alg]
    for name, arr in (("analog", weights["analog"]), ("tt", weights["tt"]), ("tt_P", p_tt)):
        sat = np.abs(arr) / tau
        out[f"s_hist_{name}"] = run_histograms(sat, s_edges)
        out[f"s_mean_{name}"] = sat.mean(axis=1)
        out[f"s_frac90_{name}"] = (sat > 0.9).mean(axis=1)
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.8, height=2.8)
    color = {"digital": "k", "analog": "C3", "tt": "C0", "tt_P": "C2"}

    def curve(ax, edges, hist, c, label):
        x = 0.5 * (edges[1:] + edges[:-1])
        m, s = hist.mean(axis=0), hist.std(axis=0, ddof=1) if hist.shape[0] > 1 else 0 * hist[0]
        ax.plot(x, m, color=c, lw=1.1, label=label)
        ax.fill_between(x, np.maximum(m - s, 1e-3), m + s, color=c, alpha=0.15, lw=0)

    ax = axes[0, 0]
    for alg in ("digital", "analog", "tt"):
        acc = 100 * data[f"acc_{alg}"]
        curve(ax, data["w_edges"], data[f"w_hist_{alg}"], color[alg],
              f"{LABELS[alg]} (test acc. {mean_pm(acc, 2)} %)")
    for sgn in (-1, 1):
        ax.axvline(sgn * data["tau"], color="0.5", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-3)
    ax.set_xlabel("weight w (dotted: ±τ)")
    ax.set_ylabel("density")
    ax.set_title(f"learned weights, τ = {data['tau']:g}")
    legend_under(ax, ncol=1)
    ax = axes[0, 1]
    names = {"analog": "A SGD: W", "tt": "TT: W", "tt_P": "TT: P"}
    for name, lab in names.items():
        sm = data[f"s_mean_{name}"]
        curve(ax, data["s_edges"], data[f"s_hist_{name}"], color[name],
              f"{lab} (mean |w|/τ {mean_pm(sm, 1)})")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-3)
    ax.set_xlabel("saturation |w| / τ")
    ax.set_ylabel("density")
    ax.set_title("saturation (band: ± std over seeds)")
    legend_under(ax, ncol=1)
    return save_figure(fig, out_dir, "exact_fig7_weights")


FIGURE = FigureSpec(
    id="exact_fig7_weights",
    title="FCN weights and saturation |w|/tau after training: digital SGD, Analog SGD, Tiki-Taka",
    reference="arXiv 2406.12774 Fig. 7 (S6-plot-distribution.py)",
    configs=CONFIGS,
    compute=compute,
    render=render,
    cells=cells,
    compute_cell=compute_cell,
    assemble=assemble,
)


FIDELITY = Fidelity(
    statement=(
        "Tiki-Taka's learned weights are less saturated (|w|/tau further from 1) than Analog "
        "SGD's."
    ),
    verdict="deviates",
    evidence=(
        "nets.saturation_lower_for_tt",
        "figure:exact_fig7_weights",
        "figure:exact_fig7_ablation",
    ),
    regime="mean-field",
    factor=(
        "Tiki-Taka's rates and the training length (exact_fig7_ablation): with the TT-v1 preset's"
        " rates (beta 0.01, one column per transfer) Tiki-Taka's W is less saturated than Analog"
        " SGD's at matched accuracy, not at the end of training; device-to-device variation, the"
        " weight-scaling mapping and pulse level do not flip it"
    ),
    larger=LARGER,
    notes=(
        "Full mode: Fig. 5's reduced FCN grid (30 epochs, 2 seeds), now with Fig. 5's per-sample"
        " writes: mean |w|/tau of Tiki-Taka's W 0.286 / 0.279 (test accuracy 93.8 / 94.5 %), P 0.010,"
        " Analog SGD's W 0.027 (21.5 / 8.8 %: with per-sample writes Analog SGD barely trains on this"
        " FCN, so its W stays near the symmetric point); digital 90.7 / 90.4 %. Summed writes, larger"
        " grid (80 epochs, 3 seeds): "
        "Tiki-Taka's W piles up near +-tau (mean |w|/tau 0.65 against Analog SGD's 0.14), "
        "opposite to the caption; the claim holds for Tiki-Taka's gradient array P instead. "
        "Ablation (full, 48 epochs): TT-v1 0.180 vs 0.229 after 24 epochs (accuracy 77.5 / 78.0 %),"
        " 0.385 vs 0.247 after 48 (89.9 / 81.8 %); other factors 0.74-0.80 vs 0.17-0.25."
    ),
)
