"""Every notebook (jupytext py:percent) parses as a notebook and runs end to end in quick mode."""

from pathlib import Path

import jupytext
import matplotlib.pyplot as plt
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    nb = jupytext.read(path)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    kinds = [c.cell_type for c in nb.cells]
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3, "an appendix: prose and code"
    monkeypatch.setenv("AIMC_QUICK", "1")
    monkeypatch.setenv("AIMC_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.chdir(path.parent.parent)
    namespace: dict = {"__name__": "__main__"}
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        exec(compile(cell.source, f"{path.name}[code cell {i}]", "exec"), namespace)
    figures = list(tmp_path.rglob("*.png"))
    assert figures, "the notebook saves its figures"
    plt.close("all")
