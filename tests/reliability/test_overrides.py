"""Typed configs and ``--set`` overrides (issue 14 item 5).

* :mod:`verify.config`: field types are checked when a config is made; overrides are parsed to the
  field's type (comma lists for tuples, ``none``, nested dotted keys); unknown keys and values that
  do not parse are one-line ``ValueError``\\ s naming the key and what is allowed.
* ``python -m paper_figures ID --set k=v``: the override reaches the computation, goes into the
  cache key and ``meta.json``, and is written to its own directory: it is never served from, nor
  written over, the default cache of the mode.
* ``python -m verify run ID --set k=v``: the claim runs with the overridden config, recorded in the
  JSON report; errors are one line naming the claim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from paper_figures import __main__ as figures_cli
from paper_figures import _figure, all_figures
from verify.config import Config, Modes, parse_sets

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "AIMC_PROGRESS": "0"}


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=ENV, text=True,
                          capture_output=True, timeout=300)


def _one_line_error(proc: subprocess.CompletedProcess, prog: str, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --- the config base --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Inner(Config):
    lr: float
    step: int | None = None


@dataclass(frozen=True, kw_only=True)
class Outer(Config):
    runs: int
    alphas: tuple[float, ...]
    pairs: tuple[tuple[int, float], ...] = ((1, 0.5),)
    data: Literal["digits", "mnist5k"] = "digits"
    plot: bool = True
    net: Inner = Inner(lr=0.1)


def test_field_types_are_checked_when_made():
    Outer(runs=3, alphas=(0.1, 1))  # an int is a float (numeric tower)
    cases = [(lambda: Outer(runs=3.0, alphas=()), "Outer.runs must be of type int, got 3.0"),
             (lambda: Outer(runs=True, alphas=()), "Outer.runs must be of type int"),
             (lambda: Outer(runs=3, alphas=[0.1]), "Outer.alphas must be of type tuple[float, ...]"),
             (lambda: Outer(runs=3, alphas=(), data="cifar"),
              "Outer.data must be of type 'digits' | 'mnist5k'"),
             (lambda: Outer(runs=3, alphas=(), net=0.1), "Outer.net must be of type Inner"),
             (lambda: Inner(lr=0.1, step=2.5), "Inner.step must be of type int | None")]
    for make, needle in cases:
        with pytest.raises(TypeError) as err:
            make()
        assert needle in str(err.value)


def test_overrides_parse_to_the_field_types():
    base = Outer(runs=3, alphas=(0.1,))
    got = base.override({"runs": "7", "alphas": "0.01, 0.02", "pairs": "2,0.25;3,1e-3", "data": "mnist5k",
                         "plot": "false", "net.lr": "0.5", "net.step": "20"})
    assert got == Outer(runs=7, alphas=(0.01, 0.02), pairs=((2, 0.25), (3, 1e-3)), data="mnist5k",
                        plot=False, net=Inner(lr=0.5, step=20))
    assert got.override({"net.step": "none"}).net.step is None
    assert base.override({"alphas": ""}).alphas == ()
    assert base.override({}) is base


@pytest.mark.parametrize(("sets", "needle"), [
    ({"rns": "3"}, "unknown key 'rns'; allowed: runs (int), alphas (tuple[float, ...]),"),
    ({"net.momentum": "3"}, "unknown key 'net.momentum'; allowed: "),
    ({"net": "3"}, "unknown key 'net'"),
    ({"runs": "3.5"}, "runs=3.5: expected int"),
    ({"alphas": "0.1,x"}, "alphas=0.1,x: expected tuple[float, ...] (comma-separated)"),
    ({"pairs": "1,2,3"}, "pairs=1,2,3: expected tuple[tuple[int, float], ...]"),
    ({"data": "cifar"}, "data=cifar: expected 'digits' | 'mnist5k'"),
    ({"plot": "maybe"}, "plot=maybe: expected bool"),
    ({"net.step": "x"}, "net.step=x: expected int | None"),
])
def test_bad_overrides_are_one_line_value_errors(sets, needle):
    with pytest.raises(ValueError) as err:
        Outer(runs=3, alphas=(0.1,)).override(sets)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg, msg
    if "unknown" in needle:
        assert "net.lr (float)" in msg and "net.step (int | None)" in msg


def test_parse_sets_rejects_malformed_items():
    assert parse_sets(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for items, needle in [(["a"], "expected KEY=VALUE"), (["=1"], "expected KEY=VALUE"),
                          (["a=1", "a=2"], "given twice")]:
        with pytest.raises(ValueError, match=needle):
            parse_sets(items)


def test_modes_and_contextual_override():
    modes = Modes(quick=Inner(lr=0.1), full=Inner(lr=0.2))
    assert modes["quick"].lr == 0.1 and modes["full"].lr == 0.2
    with modes.overridden("quick", modes.resolve("quick", {"lr": "0.3"})):
        assert modes["quick"].lr == 0.3 and modes["full"].lr == 0.2
    assert modes["quick"].lr == 0.1
    with pytest.raises(TypeError, match="one class"):
        Modes(quick=Inner(lr=0.1), full=Outer(runs=1, alphas=()))
    with pytest.raises(ValueError, match="mode must be one of"):
        modes["medium"]


def test_every_figure_has_typed_configs_whose_key_is_their_content():
    """Each figure's configs are a Modes of Config instances; the cache key's config is exactly
    ``dataclasses.asdict`` of the mode's instance (canonical JSON)."""
    for fid, spec in all_figures().items():
        assert isinstance(spec.configs, Modes), fid
        for mode in ("quick", "full"):
            cfg = spec.config(mode)
            assert isinstance(cfg, Config), fid
            _, ing = _figure.cache_key(spec, mode)
            assert ing["config"] == json.loads(json.dumps(cfg.as_dict())), fid
            assert ing["overrides"] == {}


# --- python -m paper_figures --set ------------------------------------------------------------

FIG = "pipeline_fig1_schedule"  # computes in milliseconds


def test_figure_override_gets_its_own_cache_and_never_touches_the_default(tmp_path, capsys):
    out = tmp_path / "out"
    base = ["--quick", "--no-plot", "--out", str(out)]
    assert figures_cli.main([FIG, *base]) == 0
    default = out / FIG / "quick"
    before = {p.name: p.read_bytes() for p in default.iterdir()}
    capsys.readouterr()

    assert figures_cli.main([FIG, *base, "--set", "stages=3", "--set", "async_micro=6"]) == 0
    assert "computed" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in default.iterdir()} == before  # default pair untouched
    [over] = [p for p in (out / FIG).iterdir() if p.name != "quick"]
    assert over.name.startswith("quick-set-")
    meta = json.loads((over / "meta.json").read_text())
    assert meta["overrides"] == {"async_micro": "6", "stages": "3"}
    assert meta["config"]["stages"] == 3 and meta["config"]["async_micro"] == 6
    assert meta["cache_key"]["overrides"] == meta["overrides"]
    dflt_meta = json.loads((default / "meta.json").read_text())
    assert meta["key"] != dflt_meta["key"] and dflt_meta["overrides"] == {}
    # the override reached the computation: 3 pipeline stages instead of 4
    data, dflt = _figure.load_data(over / "data.npz"), _figure.load_data(default / "data.npz")
    assert not all(np.array_equal(data[k], dflt[k]) for k in dflt)

    # served from its own cache; the default still from the default one
    assert figures_cli.main([FIG, *base, "--set", "async_micro=6", "--set", "stages=3"]) == 0
    assert "cached data" in capsys.readouterr().out
    assert figures_cli.main([FIG, *base]) == 0
    assert "cached data" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in default.iterdir()} == before


def test_figure_override_with_build_api(tmp_path):
    spec = all_figures()[FIG]
    res = _figure.build(spec, "quick", tmp_path, render=False, overrides={"stages": "2"})
    assert not res.cached and res.files[0].parent.name == _figure.overrides_dir("quick", {"stages": "2"})
    assert not (tmp_path / FIG / "quick").exists()
    assert _figure.build(spec, "quick", tmp_path, render=False, overrides={"stages": "2"}).cached
    assert not _figure.build(spec, "quick", tmp_path, render=False).cached


def test_figure_tuple_and_nested_overrides_parse():
    figs = all_figures()
    assert figs["exact_fig3_dynamics"].config("quick", {"taus": "1,2"}).taus == (1.0, 2.0)
    cfg = figs["exact_fig4_ablation"].config("full", {"tau_panel.K": "10", "runs": "2"})
    assert (cfg.tau_panel.K, cfg.runs, cfg.sigma_panel.K) == (10, 2, 1000)
    assert figs["exact_fig5_mnist"].config("quick", {"cnn.step": "none", "fcn.step": "3"}).fcn.step == 3


@pytest.mark.parametrize(("sets", "needles"), [
    (["stagez=3"], ["--set: pipeline_fig1_schedule: unknown key 'stagez'", "allowed: stages (int),"]),
    (["stages=three"], ["--set: pipeline_fig1_schedule: stages=three: expected int"]),
    (["stages"], ["--set 'stages': expected KEY=VALUE"]),
], ids=["unknown-key", "bad-value", "no-equals"])
def test_figure_override_errors_are_one_line_exit_2_before_computing(sets, needles, tmp_path):
    out = tmp_path / "out"
    argv = ["paper_figures", FIG, "--quick", "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    proc = _run(*argv)
    _one_line_error(proc, "python -m paper_figures", *needles)
    assert proc.stdout == "" and not out.exists()


def test_figure_override_must_fit_every_selected_figure(tmp_path, capsys):
    """``tau`` is a setting of exact_fig2_response but not of pipeline_fig1_schedule: nothing runs."""
    out = tmp_path / "out"
    rc = figures_cli.main(["exact_fig2_response", FIG, "--quick", "--out", str(out), "--set", "tau=2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and f"{FIG}: unknown key 'tau'" in err[0]
    assert not out.exists()


# --- python -m verify run --set -----------------------------------------------------------------

CLAIM = "pipeline.delay_structure"  # counts in event logs: milliseconds


def test_every_claim_with_settings_records_them():
    """Every claim's settings are typed (a Modes of Config); the three claims without any are the
    deterministic path checks."""
    from verify import all_claims

    for cl in all_claims():
        if cl.config is None:
            continue
        assert isinstance(cl.config, Modes), cl.id
        for mode in ("quick", "full"):
            assert isinstance(cl.settings(mode), Config), cl.id
    assert sorted(c.id for c in all_claims() if c.config is None) == [
        "sim.exact_averages", "sim.random_streams_independent", "tt.simulate_paths"]


def test_claim_override_reaches_the_claim_and_the_json(tmp_path, capsys):
    from verify import __main__ as verify_cli

    out, base = tmp_path / "over.json", tmp_path / "base.json"
    assert verify_cli.main(["run", CLAIM, "--quick", "-q", "--json", str(base)]) == 0
    assert verify_cli.main(["run", CLAIM, "--quick", "-q", "--json", str(out), "--set", "Ms=3,5"]) == 0
    printed = capsys.readouterr().out
    assert "--set Ms=3,5" in printed
    over, dflt = json.loads(out.read_text()), json.loads(base.read_text())
    assert over["overrides"] == {"Ms": "3,5"} and dflt["overrides"] == {}
    [c], [d] = over["claims"], dflt["claims"]
    assert c["config"] == {"Ms": [3, 5]} and c["overrides"] == {"Ms": "3,5"}
    assert d["config"] == {"Ms": [2, 4, 8]} and d["overrides"] == {}
    assert c["negative_control"]["config"] == {"Ms": [3, 5]}
    # the checks are per depth M: the overridden run checked M = 3, 5 and nothing else
    depths = {n.split(":")[0] for n in (ch["name"] for ch in c["checks"]) if n.startswith("M=")}
    assert depths == {"M=3", "M=5"}, depths
    assert {n.split(":")[0] for n in (ch["name"] for ch in d["checks"]) if n.startswith("M=")} == \
        {"M=2", "M=4", "M=8"}


def test_cached_claim_helpers_key_on_the_overrides():
    """asgd.lower_bound_instance memoises its simulations per mode (config_cache): a run with
    ``--set runs=...`` computes anew and the default run afterwards is served its own result."""
    from verify import get_claim

    cl = get_claim("asgd.lower_bound_instance")
    first = cl.run("quick").as_dict()["checks"]
    over = cl.run("quick", overrides={"runs": "200"}).as_dict()
    again = cl.run("quick").as_dict()["checks"]
    assert over["config"]["runs"] == 200
    assert [c["measured"] for c in over["checks"]] != [c["measured"] for c in first]
    assert again == first


@pytest.mark.parametrize(("argv", "needles"), [
    ([CLAIM, "--set", "M=3"], [f"--set: {CLAIM}: unknown key 'M'; allowed: Ms (tuple[int, ...])"]),
    ([CLAIM, "--set", "Ms=2,x"], [f"--set: {CLAIM}: Ms=2,x: expected tuple[int, ...] (comma-separated)"]),
    (["sim.exact_averages", "--set", "K=3"], ["--set: sim.exact_averages: has no settings to override"]),
    ([CLAIM, "--set", "Ms"], ["--set 'Ms': expected KEY=VALUE"]),
    (["--set", "Ms=2"], ["--set: ", "unknown key 'Ms'"]),  # all claims: the first without Ms
], ids=["unknown-key", "bad-value", "no-settings", "no-equals", "all-claims"])
def test_claim_override_errors_are_one_line_exit_2_before_running(argv, needles, tmp_path):
    path = tmp_path / "c.json"
    proc = _run("verify", "run", "--quick", "--json", str(path), *argv)
    _one_line_error(proc, "python -m verify", *needles)
    assert proc.stdout == "" and not path.exists()
