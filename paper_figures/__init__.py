"""Regenerate the papers' figures: ``python -m paper_figures [ids|all] [--quick] [--out DIR]``."""

from ._figure import DEFAULT_OUT, BuildResult, FigureSpec, all_figures, build

__all__ = ["DEFAULT_OUT", "BuildResult", "FigureSpec", "all_figures", "build"]
