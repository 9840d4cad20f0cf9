"""Readability of the rendered figures: legends outside the data, labelled panels, honest marks."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from paper_figures import all_figures, exact_fig4_ablation, pipeline_complexity
from paper_figures._style import mean_pm

FIGS = all_figures()


def _capture(monkeypatch, module) -> list:
    """Make ``module.save_figure`` keep the figure (open) instead of writing it."""
    figs: list = []

    def keep(fig, out_dir, stem):
        figs.append(fig)
        return []

    monkeypatch.setattr(module, "save_figure", keep)
    return figs


def _legend_texts(fig) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    return [t.get_text() for leg in legends if leg is not None for t in leg.get_texts()]


def test_mean_pm_prints_a_spread_only_where_one_exists():
    assert mean_pm([0.5]) == "0.5"
    assert mean_pm([3.0, 3.0, 3.0]) == "3"
    # std 0.00046 of values near 0.14: the spread's digit is shown, never "± 0.00"
    assert mean_pm([0.14039212, 0.13984295, 0.13948743], 1) == "0.1399 ± 0.0005"
    assert mean_pm([88.0, 85.8, 90.25], 2) == "88.0 ± 2.2"


def test_complexity_draws_negative_increments_where_they_are(monkeypatch, tmp_path):
    """The increment panels have a linear y axis: increments below zero (the depth's term may be
    negative, e.g. w0 > c sigma) are drawn at their values, none dropped."""
    cfg = pipeline_complexity.FIGURE.config("quick")
    data = pipeline_complexity.compute(cfg)
    data["increment"] = data["increment"].copy()
    data["increment"][1, :3] = -1.0  # three increments below zero
    figs = _capture(monkeypatch, pipeline_complexity)
    pipeline_complexity.render(data, cfg, tmp_path)
    ax = figs[0].axes[2]
    assert ax.get_yscale() == "linear"
    ys = np.concatenate([ln.get_ydata() for ln in ax.get_lines() if ln.get_marker() == "s"])
    assert np.sum(ys == -1.0) == 3 and ys.size == data["increment"][1:].size
    assert ax.get_ylim()[0] < -1.0
    plt.close(figs[0])


def test_fig4_init_panel_labels_clipping_honestly(monkeypatch, tmp_path):
    cfg = exact_fig4_ablation.FIGURE.config("quick")
    data = exact_fig4_ablation.compute(cfg)
    figs = _capture(monkeypatch, exact_fig4_ablation)
    exact_fig4_ablation.render(data, cfg, tmp_path)
    p = cfg.init_panel
    labels = figs[0].axes[3].get_legend_handles_labels()[1]
    distinct = {float(np.clip(c, -p.tau, p.tau)) for c in p.constants}
    assert len(labels) == len(distinct) + len(p.warm_steps)  # no duplicate curves
    for c in p.constants:
        named_clipped = any(re.search(rf"\b{c:g}\b[^(]*clipped", lab) or
                            re.search(rf"and [^)]*\b{c:g}\b[^)]*clipped", lab) for lab in labels)
        assert named_clipped == (abs(c) > p.tau), c
    plt.close(figs[0])


@pytest.mark.slow
@pytest.mark.parametrize("fid", [f for f in FIGS if f != "exact_table1_rates"])
def test_quick_figure_is_readable(fid, monkeypatch, tmp_path):
    """Every panel has a title and a y-label (or y tick labels naming the rows), every legend lies
    outside all panels, and no legend prints a zero spread ("± 0.00")."""
    import importlib

    spec = FIGS[fid]
    module = importlib.import_module(spec.compute.__module__)
    cfg = spec.config("quick")
    data = spec.compute(cfg)
    figs = _capture(monkeypatch, module)
    spec.render(data, cfg, tmp_path)
    fig = figs[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.has_data()]
    for ax in panels:
        assert ax.get_title() or ax.get_title("left"), f"{fid}: untitled panel"
        assert ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels()), f"{fid}: no y-label"
    for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if leg is None:
            continue
        box = leg.get_window_extent(renderer)
        for ax in panels:
            assert not box.overlaps(ax.get_window_extent(renderer)), f"{fid}: legend over a panel"
    assert not any(re.search(r"± 0(\.0+)?(?![\d.])", t) for t in _legend_texts(fig))
    for f in figs:
        plt.close(f)
