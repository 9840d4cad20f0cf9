"""Fidelity status of every figure: ``python -m paper_figures status [--json]`` and the README table.

Each figure module's ``FIDELITY`` record (:class:`paper_figures._fidelity.Fidelity`) says which of a
paper's statements the figure supports, whether it reproduces it, under which model, and what runs
as evidence. :func:`records` collects them by figure id, :func:`text_table` / :func:`as_json` print
them, and :func:`markdown_table` generates the README's "Figures" table (a test compares the two, so
the README cannot drift from the records).
"""

from __future__ import annotations

import dataclasses
import importlib
import json

from ._fidelity import Fidelity
from ._figure import FigureSpec, all_figures


def records() -> dict[str, tuple[FigureSpec, Fidelity]]:
    """``{figure id: (spec, fidelity record)}`` for every registered figure, sorted by id.

    Raises
    ------
    ValueError
        If a figure module defines no ``FIDELITY`` record of type :class:`Fidelity`.
    """
    out = {}
    for fid, spec in all_figures().items():
        module = importlib.import_module(spec.compute.__module__)
        rec = getattr(module, "FIDELITY", None)
        if not isinstance(rec, Fidelity):
            raise ValueError(f"figure {fid!r}: module {module.__name__} defines no FIDELITY = Fidelity(...) "
                             f"record (got {type(rec).__name__})")
        out[fid] = (spec, rec)
    return out


def as_dicts() -> list[dict]:
    """One JSON-ready dict per figure: ``id``, ``title``, ``reference`` and the record's fields."""
    return [{"id": fid, "title": spec.title, "reference": spec.reference, **dataclasses.asdict(rec)}
            | {"evidence": list(rec.evidence), "larger": list(rec.larger),
               "larger_command": larger_command(fid, rec)}
            for fid, (spec, rec) in records().items()]


def as_json() -> str:
    """:func:`as_dicts` as indented JSON."""
    return json.dumps(as_dicts(), indent=2)


def text_table() -> str:
    """Plain-text table: id, paper item, regime, verdict, evidence (one line per figure)."""
    rows = [("id", "paper item", "regime", "verdict", "evidence")]
    for fid, (spec, rec) in records().items():
        rows.append((fid, _paper_item(spec.reference), rec.regime, rec.verdict, ", ".join(rec.evidence)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
                     for r in rows)


def larger_command(fid: str, rec: Fidelity) -> str | None:
    """The command that runs a figure's larger grid (:attr:`Fidelity.larger`), or None."""
    if not rec.larger:
        return None
    return f"python -m paper_figures {fid} " + " ".join(f"--set {o}" for o in rec.larger)


def _paper_item(reference: str) -> str:
    """Short paper item of a figure's reference: ``"arXiv 2406.12774 Fig. 1 (S1...)"`` ->
    ``"2406.12774 Fig. 1"`` (the part before the first parenthesis or semicolon)."""
    ref = reference.removeprefix("arXiv ")
    for sep in (" (", ";"):
        ref = ref.split(sep)[0]
    return ref.strip()


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The README's figure table, generated from the records (ends without a newline)."""
    lines = ["| figure id | paper | statement | model | verdict | evidence | notes |",
             "|---|---|---|---|---|---|---|"]
    for fid, (spec, rec) in records().items():
        verdict = f"**{rec.verdict}**" + (f" -- factor: {rec.factor}" if rec.factor else "")
        evidence = ", ".join(f"`{e}`" for e in rec.evidence)
        notes = _md(rec.notes)
        if rec.larger:
            notes += f" Larger grid: `{larger_command(fid, rec)}`."
        lines.append(f"| `{fid}` | {_md(_paper_item(spec.reference))} | {_md(rec.statement)} | {rec.regime} "
                     f"| {_md(verdict)} | {evidence} | {notes.strip()} |")
    return "\n".join(lines)
