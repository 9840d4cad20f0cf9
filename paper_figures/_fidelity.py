"""The fidelity record of a figure: which statement of a paper it supports, and how faithfully.

Every figure module defines, next to its ``FIGURE``, a ``FIDELITY = Fidelity(...)`` record, read by
``python -m paper_figures status`` (:mod:`paper_figures.status`) and rendered into the README's
figure table. The record is a claim about the figure, so it must be backed by something that runs:
``evidence`` holds ids of registered claims (``python -m verify list``) whose statements cover the
verdict, or ``"figure:<id>"`` for the figure's own quick data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["reproduces", "deviates"]
Regime = Literal["mean-field", "pulse level", "exact", "n/a"]

VERDICTS: tuple[str, ...] = ("reproduces", "deviates")
REGIMES: tuple[str, ...] = ("mean-field", "pulse level", "exact", "n/a")
#: evidence entries that are not claim ids point at a figure's own data: ``figure:<figure id>``
FIGURE_EVIDENCE_PREFIX = "figure:"


@dataclass(frozen=True)
class Fidelity:
    """How a figure stands against the paper's statement it illustrates.

    Parameters
    ----------
    statement : str
        The paper's statement the figure supports (one sentence).
    verdict : {"reproduces", "deviates"}
        ``"reproduces"`` iff the figure's conclusion matches the paper's under the figure's
        settings and ``evidence`` runs that shows it; otherwise ``"deviates"``.
    evidence : tuple of str
        Non-empty: ids of registered claims, or ``"figure:<id>"`` (the figure's own quick data).
    regime : {"mean-field", "pulse level", "exact", "n/a"}
        The simulation model behind the figure (``"exact"``: event simulation or symbolic algebra;
        ``"n/a"``: no dynamics).
    factor : str or None
        For a deviation, the suspected factor that flips the conclusion (None if unknown or if the
        figure reproduces).
    notes : str
        What is off (settings, missing ablation); one or two sentences.
    larger : tuple of str
        ``--set KEY=VALUE`` overrides of the figure's full configuration that run the larger grid
        (paper scale, or the grid before full mode was reduced to fit the 45-minute build) whose
        numbers the module's docstring reports; empty when full mode already runs it. ``python -m
        paper_figures ID --set ...`` runs it in its own cache directory, resumable cell by cell.
    """

    statement: str
    verdict: Verdict
    evidence: tuple[str, ...]
    regime: Regime
    factor: str | None = None
    notes: str = ""
    larger: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"Fidelity.verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.regime not in REGIMES:
            raise ValueError(f"Fidelity.regime must be one of {REGIMES}, got {self.regime!r}")
        if not isinstance(self.evidence, tuple) or not self.evidence \
                or not all(isinstance(e, str) and e for e in self.evidence):
            raise ValueError("Fidelity.evidence must be a non-empty tuple of non-empty strings, "
                             f"got {self.evidence!r}")
        if not self.statement.strip():
            raise ValueError("Fidelity.statement must be a non-empty string, got ''")
        if not isinstance(self.larger, tuple) or not all(isinstance(o, str) and "=" in o
                                                         for o in self.larger):
            raise ValueError("Fidelity.larger must be a tuple of 'KEY=VALUE' strings, got "
                             f"{self.larger!r}")
