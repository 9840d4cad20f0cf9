r"""Ablation of the analog plateau of arXiv 2406.12774 Fig. 1: one factor at a time.

The paper's analog curves (aihwkit, spec ``exact_training.md`` Sec. 6, Fig. 1) plateau near
:math:`10^{-5}` (loss/D) for every alpha; :mod:`paper_figures.exact_fig1_lr` (mean-field device,
Gaussian noise added to the gradient) plateaus at :math:`10^{-7}`..:math:`3\cdot 10^{-8}`. This
figure changes one factor at a time from that configuration, on the same problem (``exact_fig1``:
D = 40, N = 100, un-halved MSE, W_0 = 0) and rates:

(a) ``mf_grad``: mean-field :class:`sim.SoftBounds` (tau = 3), gradient noise std
    :math:`10^{-2}/\sqrt{40}` per coordinate (exact_fig1_lr's configuration);
(b) ``pulse_grad``: the preset's pulse-level device (:func:`sim.presets.fig1`: tau = 3,
    dw_min = 1e-4, BL 800 with BL management, stochastic pulse trains), same gradient noise;
(c) ``mf_io``: mean-field device, the preset's noise injection instead (IO weight noise
    ``w_noise`` = :math:`10^{-2}/\sqrt{40}` on the forward and backward products of the tile,
    :func:`sim.presets.run_least_squares`);
(b+c) ``preset``: both, i.e. the paper's configuration as recorded by the preset;
(d) ``preset_read``: the preset, with the loss *read through the tile's noisy forward pass* (as a
    training script records the loss of its forward pass) instead of the noiseless
    :math:`f(W_k)`. For additive weight noise drawn afresh per product, the read adds, in
    expectation, :math:`\sigma_w^2 \frac1N \sum_n \|a_n\|^2` to the MSE independently of W, so
    the curve is (b+c) plus that offset; the offset is measured by Monte Carlo reads through
    :class:`sim.nets.layers.Linear` at :math:`W = x^*` (``read_offset``), next to its closed form
    (``read_offset_theory``). The script records exactly this read (``get_loss`` through the
    ``AnalogLinear``, divided by D);
(e) ``ps_mf``: (c) with the batch written **one update per sample**, as aihwkit writes a
    mini-batch (:mod:`sim.minibatch`): the soft-bounds drift then acts on
    :math:`\sum_n|\alpha g_n|` instead of :math:`|\alpha\sum_n g_n|`;
(f) ``ps_pulse``: the preset with one BL-800 pulse train per sample: aihwkit's update;
(g) ``ps_read``: (f) with the loss read through the noisy forward pass, i.e. the script's setting
    as far as the spec records it (the recorded read of each training step,
    :func:`sim.presets.run_least_squares` ``read="forward"``).

The prediction for (e) is the stationary point of the per-sample drift
(:func:`theory.implicit.per_sample_fixed_point`, the alpha -> 0 limit; claim
``pulse.per_sample_drift``), and for (g) that plus the read offset. That level depends on the data
draw (A, x*) far more than on alpha, so the third panel shows it over ``data_draws`` independent
draws of the paper's problem (numpy streams; the paper's torch draw cannot be regenerated here).

Digital SGD with gradient noise (noiseless loss) is the reference. The plateau of a run is its
mean (f(W_k) - f*)/D over the last ``tail`` fraction of the iterations; reported: mean and standard
error over the runs. Quick mode: K = 1500 iterations (the paper: 2500), 8 runs, alpha in
{0.2, 0.03}; full: K = 2500, 16 runs, the paper's four rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sim
import sim.presets as presets
from sim import BatchRNG
from sim.config import Config, Modes
from sim.nets.layers import Linear
from sim.stats import mean_se, mean_se_rows
from theory.implicit import per_sample_limit, read_offset

from ._fidelity import Fidelity
from ._figure import FigureSpec, save_figure
from ._style import colors, legend_under, plain_log_ticks, subplots


@dataclass(frozen=True, kw_only=True)
class Settings(Config):
    """Settings of the Fig. 1 plateau ablation."""

    K: int
    runs: int
    alphas: tuple[float, ...]
    tau: float = 3.0
    std: float = 1e-2 / np.sqrt(40)
    seed: int = 618
    tail: float = 0.2
    record_every: int = 5
    read_draws: int = 2000
    data_draws: int
    paper_plateau: float = 1e-5


CONFIGS = Modes(quick=Settings(K=1500, runs=8, alphas=(0.2, 0.03), data_draws=100),
                full=Settings(K=2500, runs=16, alphas=(0.2, 0.1, 0.05, 0.03), data_draws=400))
VARIANTS = ("mf_grad", "pulse_grad", "mf_io", "preset", "preset_read", "ps_mf", "ps_pulse", "ps_read",
            "digital")
#: the variants writing the batch one update per sample (aihwkit's mini-batch update)
PER_SAMPLE = ("ps_mf", "ps_pulse", "ps_read")
LABELS = {
    "mf_grad": "(a) mean-field, gradient noise",
    "pulse_grad": "(b) pulse level, gradient noise",
    "mf_io": "(c) mean-field, IO weight noise",
    "preset": "(b+c) pulse level, IO weight noise (preset)",
    "preset_read": "(d) preset, loss read through noisy forward",
    "ps_mf": "(e) (c), one update per sample",
    "ps_pulse": "(f) preset, one pulse train per sample (aihwkit)",
    "ps_read": "(g) (f) + noisy read: the script's setting",
    "digital": "digital SGD, gradient noise",
}


def _curves(variant: str, alpha: float, cfg: Settings) -> np.ndarray:
    """(f(W_k) - f*)/D of every run, shape ``(runs, n_recorded)``, every ``record_every`` steps;
    for ``ps_pulse`` shape ``(2, runs, n_recorded)``: (f) and its forward read, (g)."""
    prob = sim.paper_problem("exact_fig1")
    preset = presets.fig1(alpha)
    K, R, every = cfg.K, cfg.runs, cfg.record_every
    if variant in ("mf_grad", "pulse_grad", "digital"):
        opts: dict[str, sim.Algorithm] = {"mf_grad": sim.AnalogSGD(alpha, sim.SoftBounds(cfg.tau)),
                                          "pulse_grad": preset.analog_sgd(alpha),
                                          "digital": sim.DigitalSGD(alpha)}
        opt = opts[variant]
        tr = sim.simulate(prob, opt, steps=K, seeds=R, seed=cfg.seed,
                          noise=sim.GaussianNoise(cfg.std), record=("loss",), record_every=every,
                          label=f"fig1 ablation {variant} alpha={alpha}")
        return tr["loss"] / prob.dim
    mean_field = variant in ("mf_io", "ps_mf")
    opt = sim.AnalogSGD(alpha, sim.SoftBounds(cfg.tau)) if mean_field else preset.analog_sgd(alpha)
    # (f) and (g) are the same runs read two ways: one simulation gives both (read="both")
    both = presets.run_least_squares(preset, opt, steps=K, runs=R, seed=cfg.seed,
                                     batch_update="per_sample" if variant in PER_SAMPLE else "summed",
                                     read="both" if variant == "ps_pulse" else "weights")
    return both[..., ::every]


def _data_draw_plateaus(cfg: Settings) -> np.ndarray:
    r"""The predicted alpha -> 0 plateau of (g) -- the per-sample fixed point's loss plus the read
    offset, :math:`\sigma_w^2 \frac1N\sum_n\|a_n\|^2/D` -- for ``data_draws`` independent draws of
    the paper's problem (A ~ N(0, 1)^{100 x 40}, x* = 0.45 N(0, I), y = A x*)."""
    out = np.empty(cfg.data_draws)
    for i in range(cfg.data_draws):
        g = BatchRNG(cfg.seed, [i], "exact_fig1_ablation.data")
        x_star = 0.45 * g.normal((40,))[0]
        A = g.normal((100, 40))[0]
        out[i] = per_sample_limit(A, A @ x_star, cfg.tau, cfg.std, read=True)
    return out


def _read_offset(cfg: Settings) -> tuple[float, float, float]:
    """Mean extra MSE/D of a forward read through the preset's IO at the optimum (Monte Carlo mean,
    its s.e.) and the closed form :math:`\\sigma_w^2 \\frac1N\\sum_n\\|a_n\\|^2 / D`."""
    preset = presets.fig1()
    prob = sim.paper_problem("exact_fig1")
    A, y = prob.meta["A"], prob.meta["y"]
    N, D = A.shape
    n = cfg.read_draws
    x_star = np.linalg.lstsq(A, y, rcond=None)[0]
    assert preset.io is not None  # the Fig. 1 preset has an IO model
    layer = Linear(D, 1, bias=False, io=preset.io)
    rng = BatchRNG(cfg.seed, range(n), "exact_fig1_ablation.read")
    yhat, _ = layer.forward(np.broadcast_to(x_star, (n, 1, D)), np.broadcast_to(A, (n, N, D)), rng)
    mse = ((yhat[..., 0] - y) ** 2).mean(axis=1) / D - (prob.loss(x_star[None])[0] - prob.f_star) / D
    e = mean_se(mse)
    return e.mean, e.se, read_offset(A, preset.io.w_noise)


def compute(cfg: Settings) -> dict:
    alphas = cfg.alphas
    out: dict = {"alphas": np.array(alphas, float)}
    offset, offset_se, offset_theory = _read_offset(cfg)
    out.update(read_offset=offset, read_offset_se=offset_se, read_offset_theory=offset_theory)
    prob = sim.paper_problem("exact_fig1")
    out["ps_limit"] = per_sample_limit(prob.meta["A"], prob.meta["y"], cfg.tau, cfg.std)
    out["ps_limit_read"] = out["ps_limit"] + offset_theory
    out["data_draw_plateaus"] = _data_draw_plateaus(cfg)
    derived = ("preset_read", "ps_read")  # from other variants' runs
    curves = {v: [_curves(v, a, cfg) for a in alphas] for v in VARIANTS if v not in derived}
    curves["preset_read"] = [c + offset for c in curves["preset"]]
    both = curves["ps_pulse"]
    curves["ps_pulse"], curves["ps_read"] = [c[0] for c in both], [c[1] for c in both]
    for v in VARIANTS:
        c = np.array(curves[v])  # (alphas, runs, n)
        n_tail = max(1, round(cfg.tail * c.shape[-1]))
        per_run = c[..., -n_tail:].mean(axis=-1)  # (alphas, runs)
        out[f"{v}_plateau"], se = mean_se_rows(per_run)
        if v == "preset_read":  # the offset's own Monte Carlo error, in quadrature
            se = np.hypot(se, offset_se)
        out[f"{v}_plateau_se"] = se
        out[f"{v}_curve"] = c.mean(axis=1)
    out["k"] = np.arange(out["mf_grad_curve"].shape[-1]) * cfg.record_every
    lines = [f"{LABELS[v]}: " + ", ".join(f"α={a:g}: {m:.3g} ± {s:.2g}" for a, m, s in
                                          zip(alphas, out[f"{v}_plateau"], out[f"{v}_plateau_se"],
                                              strict=True)) for v in VARIANTS]
    lines.append(f"read offset: {offset:.3g} ± {offset_se:.2g} (closed form {offset_theory:.3g})")
    q = np.percentile(out["data_draw_plateaus"], [5, 50, 95])
    lines.append(f"per-sample fixed point (alpha -> 0 limit of (e)): {out['ps_limit']:.3g}; + read offset:"
                 f" {out['ps_limit_read']:.3g}; over {cfg.data_draws} data draws: 5/50/95 % ="
                 f" {q[0]:.3g} / {q[1]:.3g} / {q[2]:.3g}, below the paper's {cfg.paper_plateau:g} in"
                 f" {np.mean(out['data_draw_plateaus'] < cfg.paper_plateau):.0%}; this draw's rank"
                 f" {np.mean(out['data_draw_plateaus'] < out['ps_limit_read']):.0%}")
    out["summary"] = "\n".join(lines)
    return out


def render(data: dict, cfg: Settings, out_dir: Path) -> list[Path]:
    print(f"exact_fig1_ablation plateaus (loss/D, mean ± s.e. over {cfg.runs} runs):\n{data['summary']}")
    fig, axes = subplots(1, 3, width=3.8, height=5.0)
    cs = dict(zip(VARIANTS, [*colors(len(VARIANTS) - 1, "plasma"), "0.3"], strict=True))
    markers = dict(zip(VARIANTS, "osD^v<>px", strict=True))
    ax = axes[0, 0]
    a = data["alphas"]
    for v in VARIANTS:
        ax.errorbar(a, data[f"{v}_plateau"], 3 * data[f"{v}_plateau_se"], fmt=markers[v],
                    color=cs[v], ms=4, capsize=2, lw=0.9, ls="--" if v == "digital" else "-",
                    label=LABELS[v])
    ax.axhline(cfg.paper_plateau, color="k", ls=":", lw=1, label="paper: analog plateau ≈ 1e-5")
    ax.axhline(data["ps_limit"], color=cs["ps_mf"], ls=(0, (1, 2)), lw=1,
               label="(e) predicted α→0: per-sample fixed point")
    ax.axhline(data["ps_limit_read"], color=cs["ps_read"], ls=(0, (1, 2)), lw=1,
               label="(g) predicted α→0: fixed point + read offset")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("learning rate α")
    ax.set_ylabel(f"plateau: mean (f − f*)/D, last {cfg.tail:.0%}")
    ax.set_title(f"plateau vs α (bars: ±3 s.e., {cfg.runs} runs)")
    legend_under(ax, ncol=1)
    ax = axes[0, 1]
    i = int(np.argmin(a))
    for v in VARIANTS:
        ax.plot(data["k"], data[f"{v}_curve"][i], color=cs[v], lw=0.9, ls="--" if v == "digital" else "-")
    ax.axhline(cfg.paper_plateau, color="k", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("(f(W_k) − f*)/D, mean over runs")
    ax.set_title(f"loss curves at α = {a[i]:g} (colours as left)")
    ax = axes[0, 2]
    draws = data["data_draw_plateaus"]
    bins = np.geomspace(draws.min() / 1.1, draws.max() * 1.1, 30)
    ax.hist(draws, bins=bins, color=cs["ps_read"], alpha=0.6,
            label=f"(g) predicted α→0 plateau, {draws.size} data draws")
    ax.axvline(data["ps_limit_read"], color=cs["ps_read"], lw=1.2, label="this figure's draw (numpy)")
    ax.axvline(cfg.paper_plateau, color="k", ls=":", lw=1, label="paper: ≈ 1e-5 (torch draw)")
    ax.set_xscale("log")
    ax.set_xlabel("plateau (f − f*)/D incl. read offset")
    ax.set_ylabel("number of data draws")
    ax.set_title("the level depends on the data draw (A, x*)")
    legend_under(ax, ncol=1)
    return save_figure(fig, out_dir, "exact_fig1_ablation")


FIGURE = FigureSpec(
    id="exact_fig1_ablation",
    title="Fig. 1 analog plateau: mean-field vs pulse level, gradient vs IO weight noise, loss read",
    reference="arXiv 2406.12774 Fig. 1 (ablation of the analog plateau; S1-SGD-diff-lr.py)",
    configs=CONFIGS,
    compute=compute,
    render=render,
)


FIDELITY = Fidelity(
    statement=(
        "Analog SGD on the paper's tile (aihwkit, tau = 3, dw_min = 1e-4, IO weight noise) plateaus"
        " near 1e-5 (loss/D) for every alpha in {0.2, 0.1, 0.05, 0.03}."
    ),
    verdict="reproduces",
    evidence=("pulse.per_sample_drift", "figure:exact_fig1_ablation"),
    regime="pulse level",
    notes=(
        "The plateau comes from aihwkit\'s per-sample update plus the noisy loss read: writing the batch "
        "one pulse train per sample makes the soft-bounds drift act on sum_n |alpha g_n| (derived "
        "stationary point 1.73e-6, ~100x the summed update\'s), and the script\'s read through the noisy "
        "forward adds 2.5e-6; together 4.9e-6..5.3e-6 for every alpha. The rest of the way to 1e-5 is the"
        " data draw: the predicted level over 400 draws of the paper\'s problem spans 4.0e-6 / 6.0e-6 / "
        "3.0e-5 (5 / 50 / 95 %), this figure\'s numpy draw sits at 11 %, 1e-5 at 79 %. Full (K = 2500, 16 "
        "runs, alpha 0.2 / 0.1 / 0.05 / 0.03; plateau = mean of the last 20 %, +- s.e.): (a) mean-field, "
        "gradient noise 1.74e-7 / 8.16e-8 / 4.43e-8 / 3.06e-8; (b) pulse level 1.99e-7 .. 5.34e-8; (c) IO"
        " weight noise 3.14e-7 .. 5.08e-8; (b+c) preset 3.46e-7 .. 7.7e-8; (d) preset + read 2.85e-6 .. "
        "2.58e-6; (e) mean-field, one update per sample 2.22e-6 / 1.93e-6 / 1.82e-6 / 1.79e-6 (predicted "
        "alpha -> 0: 1.73e-6); (f) pulse level, one train per sample 2.84e-6 / 2.51e-6 / 2.45e-6 / "
        "2.44e-6; (g) (f) + read, the script\'s setting, 5.33e-6 / 5.00e-6 / 4.93e-6 / 4.93e-6 (+- "
        "2e-8..5e-8); digital 1.61e-7 .. 1.93e-8; read offset 2.50e-6 (closed form 2.50e-6). Which loss "
        "the paper plots is the script\'s (get_loss through the AnalogLinear); the paper\'s torch draw of "
        "(A, x*) cannot be regenerated here (numpy streams), hence the data-draw panel; aihwkit\'s "
        "row/column correlation of coincidences and its digital bias are not modelled."
    ),
)
