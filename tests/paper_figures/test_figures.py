import dataclasses
import json
from dataclasses import replace

import pytest

import paper_figures
from paper_figures import _figure, all_figures, build

FIGS = all_figures()


@pytest.mark.parametrize("fid", list(FIGS))
def test_quick_figure_builds_with_sidecar_and_cache(fid, tmp_path):
    spec = FIGS[fid]
    res = build(spec, "quick", tmp_path)
    assert not res.cached
    meta = json.loads((tmp_path / fid / "quick" / "meta.json").read_text())
    for key in ("config", "git_revision", "versions", "elapsed_s", "key", "cache_key", "data_sha256",
                "data_keys"):
        assert key in meta
    assert (tmp_path / fid / "quick" / "data.npz").stat().st_size > 0
    outputs = [f for f in res.files if f.suffix in (".png", ".pdf", ".md", ".tex")]
    assert outputs and all(f.stat().st_size > 0 for f in outputs)
    # re-plotting reads the cache and never re-simulates
    def boom(cfg):
        raise AssertionError("recomputed despite a valid cache")

    boom.__module__ = spec.compute.__module__  # same code hash, so only the cache can answer
    assert build(dataclasses.replace(spec, compute=boom), "quick", tmp_path).cached


@pytest.mark.slow
@pytest.mark.parametrize("fid", list(FIGS))
def test_full_figure_builds(fid, tmp_path):
    assert build(FIGS[fid], "full", tmp_path).files


def test_cache_invalidated_by_config_change(tmp_path):
    spec = FIGS["exact_table1_rates"]
    build(spec, "quick", tmp_path)
    fewer = replace(spec.configs.quick, rows=spec.configs.quick.rows[:2])
    changed = _figure.FigureSpec(spec.id, spec.title, spec.reference,
                                 replace(spec.configs, quick=fewer), spec.compute, spec.render)
    assert not build(changed, "quick", tmp_path).cached


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "x.txt"

    def failing(p):
        p.write_text("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        _figure.atomic_write(target, failing)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_cli_list_and_unknown(capsys):
    from paper_figures.__main__ import main

    assert main(["list"]) == 0
    assert "exact_fig1_lr" in capsys.readouterr().out
    assert main(["nope", "--quick"]) == 2
    assert paper_figures.DEFAULT_OUT.name == "out"
