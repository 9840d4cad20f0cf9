"""Shared plotting helpers: one look for every figure, mean + band over seeds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

plt.rcParams.update({
    "figure.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

#: band shown around the mean: the 10%-90% range of the runs (run-to-run spread, not an error bar)
BAND = (10, 90)


def summarize(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and the 10-90 % quantile band over runs (axis 0) of an ``(R, n)`` array."""
    lo, hi = np.percentile(values, BAND, axis=0)
    return {"mean": values.mean(axis=0), "lo": lo, "hi": hi}


def band(ax, x, mean, lo, hi, *, color, label=None, ls="-", lw=1.2):
    ax.plot(x, mean, color=color, ls=ls, lw=lw, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)


def colors(n: int, cmap: str = "viridis") -> list:
    return [plt.get_cmap(cmap)(v) for v in np.linspace(0.05, 0.85, max(n, 1))]


def subplots(nrows: int = 1, ncols: int = 1, *, width: float = 3.3, height: float = 2.6):
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                        constrained_layout=True)


def legend_below(fig, *axes, ncol: int | None = None) -> None:
    """One legend for the whole figure, outside the axes below them (never over data): the
    handles of ``axes`` (default: all of the figure's axes), each label once."""
    seen: dict[str, object] = {}
    for ax in axes or fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if not lab.startswith("_"):
                seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center",
                   ncol=ncol or min(len(seen), 4), frameon=False)


def legend_under(ax, *, ncol: int = 2, offset: float = -0.3, **kw) -> None:
    """The legend of one panel, outside it below its x-label (never over data); constrained
    layout makes room for it."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, offset), ncol=ncol, frameon=False, **kw)


def mean_pm(values, digits: int = 2) -> str:
    """``"mean ± std"`` of ``values`` (std over the entries, ddof = 1) with the std rounded to
    ``digits`` significant digits and the mean to the same decimal; just ``"mean"`` (``digits``
    significant digits) when there is no spread (one value, or all equal), so a ``±`` is printed
    only where a spread exists."""
    v = np.asarray(values, dtype=float).ravel()
    m = float(v.mean())
    s = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if s == 0.0 or not np.isfinite(s):
        return f"{m:.{digits}g}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(s))))
    return f"{m:.{decimals}f} ± {s:.{decimals}f}"


def plain_log_ticks(ax, axis: str = "x") -> None:
    """Log-axis ticks as plain numbers at m x 10^k inside the current limits, without minor
    labels (no crowded, overlapping ``3x10^-2 4x10^-2`` labels): mantissas m in {1, 2, 3, 5},
    thinned to {1, 3} then {1} while that gives more than six ticks, or every integer m when it
    gives fewer than three. Call after the data are drawn."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    which = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    decades = range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)

    def ticks_for(mantissas) -> list[float]:
        return [m * 10.0**k for k in decades for m in mantissas if lo <= m * 10.0**k <= hi]

    ticks = ticks_for((1, 2, 3, 5))
    if len(ticks) < 3:
        ticks = ticks_for(range(1, 10))
    for thinner in ((1, 3), (1,)):
        if len(ticks) > 6:
            ticks = ticks_for(thinner)
    which.set_major_locator(FixedLocator(ticks))
    which.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    which.set_minor_formatter(NullFormatter())


def fidelity_of(figure_id: str):
    """The ``FIDELITY`` record of the loaded figure module whose ``FIGURE.id`` is ``figure_id``,
    or None (looked up among the already imported ``paper_figures.*`` modules, so this module
    imports no figure module and the figures' cache keys do not grow)."""
    import sys

    for name, mod in list(sys.modules.items()):
        spec = getattr(mod, "FIGURE", None)
        if name.startswith("paper_figures.") and getattr(spec, "id", None) == figure_id:
            return getattr(mod, "FIDELITY", None)
    return None


def stamp_verdict(fig, figure_id: str):
    """Stamp ``fig`` with the verdict of figure ``figure_id``'s fidelity record
    (:class:`paper_figures._fidelity.Fidelity`), in small grey type above the top-right corner of
    the figure, outside every axes, title and legend (legends go below the axes;
    ``bbox_inches="tight"`` keeps the stamp in the file).

    Called from :func:`paper_figures._figure.save_figure`, so every saved figure carries it.

    Returns
    -------
    matplotlib.text.Text or None
        The stamp, or None if no loaded figure module has id ``figure_id`` with a record.
    """
    rec = fidelity_of(figure_id)
    if rec is None:
        return None
    text = f"{figure_id}: {rec.verdict} ({rec.regime}); `python -m paper_figures status`"
    return fig.text(0.995, 1.0, text, ha="right", va="bottom", fontsize=6, color="0.35",
                    style="italic" if rec.verdict == "deviates" else "normal")


def reference_marks(ax, x, y, *, label: str, color: str = "k", marker: str = "_",
                    size: float = 14.0, **kw) -> None:
    """The paper's values drawn as reference marks (short horizontal ticks by default, no line)
    at ``(x, y)`` on ``ax``; NaN entries (values the paper does not give) are skipped."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    ax.plot(x[keep], y[keep], ls="none", marker=marker, ms=size, mew=1.8, color=color, label=label, **kw)
