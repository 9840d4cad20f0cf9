"""Verdict stamps on every figure, the paper's values as reference marks, the pipeline ablations."""

import matplotlib.pyplot as plt
import pytest

from paper_figures import _figure, all_figures, status
from paper_figures._style import stamp_verdict

FIGS = all_figures()
RECORDS = status.records()


@pytest.mark.parametrize("fid", list(FIGS))
def test_every_figure_gets_its_verdict_stamp(fid):
    fig, _ = plt.subplots()
    txt = stamp_verdict(fig, fid)
    rec = RECORDS[fid][1]
    assert txt is not None and txt in fig.texts
    assert txt.get_text().startswith(f"{fid}: {rec.verdict} ({rec.regime})")
    plt.close(fig)


def test_unknown_figure_is_not_stamped():
    fig, _ = plt.subplots()
    assert stamp_verdict(fig, "no_such_figure") is None
    assert fig.texts == []
    plt.close(fig)


def test_save_figure_stamps(monkeypatch, tmp_path):
    """The save path of every figure (``_figure.save_figure``) applies the stamp."""
    seen: list[list[str]] = []
    close = plt.close

    def spy(fig):
        seen.append([t.get_text() for t in fig.texts])
        close(fig)

    monkeypatch.setattr(plt, "close", spy)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = _figure.save_figure(fig, tmp_path, "pipeline_speedup")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in paths)
    rec = RECORDS["pipeline_speedup"][1]
    assert seen == [[f"pipeline_speedup: {rec.verdict} ({rec.regime}); `python -m paper_figures status`"]]
