"""Figure cache contract (issue 11, "Figure cache"): the key is the figure's import closure inside
the project + its resolved config + numpy/scipy/sympy/python versions; data.npz and meta.json are
written as one unit with a checksum; a damaged pair warns in one line and is recomputed; outputs
respect the umask.

Each test builds a tiny fake figure package in ``tmp_path`` (never the real figures), so editing
"project" modules is safe and the builds take milliseconds.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import stat
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from paper_figures import _figure, all_figures, build

PKG = "fakefigs"

FILES = {
    "__init__.py": "",
    "helper.py": """
        from .deep import OFFSET

        def train(scale):
            import numpy as np
            return np.arange(4.0) * scale + OFFSET
    """,
    "deep.py": "OFFSET = 0.0\n",
    "lazy.py": "EXTRA = 1\n",
    "unrelated.py": "NOT_IMPORTED = True\n",
    "fig_a.py": """
        from dataclasses import dataclass

        from paper_figures._figure import FigureSpec
        from sim.config import Config, Modes
        from .helper import train


        @dataclass(frozen=True)
        class Settings(Config):
            scale: float

        CALLS = []

        def compute(cfg):
            from . import lazy  # imported inside a function: still part of the closure
            CALLS.append(cfg.as_dict())
            return {"x": train(cfg.scale), "label": "a", "n": lazy.EXTRA}

        def render(data, cfg, out_dir):
            path = out_dir / "table.md"
            from paper_figures._figure import write_text
            write_text(path, str(data["x"]))
            return [path]

        FIGURE = FigureSpec("fig_a", "fake", "none", Modes(quick=Settings(1.0), full=Settings(2.0)),
                            compute, render)
    """,
}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake figure package ``fakefigs`` on sys.path; yields (module fig_a, package dir)."""
    src = tmp_path / "src"
    pkg = src / PKG
    pkg.mkdir(parents=True)
    for name, text in FILES.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(src))
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]
    mod = importlib.import_module(f"{PKG}.fig_a")
    yield mod, pkg
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]


def _spec(mod, scale: float):
    """fig_a with ``scale`` as its quick setting."""
    return _figure.FigureSpec("fig_a", "fake", "none", mod.Modes(quick=mod.Settings(scale),
                                                                 full=mod.Settings(2.0)),
                              mod.compute, mod.render)


def _edit(path: Path, extra: str = "\n# edited\n") -> None:
    path.write_text(path.read_text() + extra)


# --- the key ----------------------------------------------------------------------------------


def test_real_fig7_closure_contains_fig5_and_no_claims():
    """The motivating case: fig 7 imports train_grid from fig 5, so fig 5's source is in its key;
    no figure's key contains a claim file, another figure (except the one an ablation varies) or the CLI."""
    figs = all_figures()
    _, ing = _figure.cache_key(figs["exact_fig7_weights"], "quick")
    assert "paper_figures/exact_fig5_mnist.py" in ing["files"]
    assert "paper_figures/exact_fig7_weights.py" in ing["files"]
    assert {"sim/nets/__init__.py", "sim/nets/train.py"} <= set(ing["files"])
    for fid, spec in figs.items():
        _, ing = _figure.cache_key(spec, "quick")
        files = set(ing["files"])
        assert not [f for f in files if f.startswith("verify/")], fid
        assert "paper_figures/__main__.py" not in files
        others = {f"paper_figures/{o}.py" for o in figs if o != fid}
        # fig 7 reuses fig 5's training; an ablation (<base>_ablation) may reuse the figure it ablates
        base = fid.removesuffix("_ablation")
        allowed = {f"paper_figures/{o}.py" for o in figs
                   if (fid == "exact_fig7_weights" and o == "exact_fig5_mnist")
                   or (fid != base and o != fid and o.startswith(base))}
        assert files & others <= allowed, fid
        assert set(ing["versions"]) == {"python", "numpy", "scipy", "sympy"}


def test_closure_of_fake_figure(fake):
    _, pkg = fake
    closure = _figure.import_closure(f"{PKG}.fig_a", pkg / "fig_a.py")
    names = set(closure)
    assert {f"{PKG}", f"{PKG}.fig_a", f"{PKG}.helper", f"{PKG}.deep", f"{PKG}.lazy",
            "paper_figures", "paper_figures._figure"} <= names
    assert f"{PKG}.unrelated" not in names
    assert not [n for n in names if n.startswith(("numpy", "verify"))]


@pytest.mark.parametrize("edited", ["fig_a.py", "helper.py", "deep.py", "lazy.py", "__init__.py"],
                         ids=["module", "imported", "transitive", "imported-in-function", "package"])
def test_edit_in_import_closure_invalidates(fake, tmp_path, edited):
    mod, pkg = fake
    out = tmp_path / "out"
    assert not build(mod.FIGURE, "quick", out, render=False).cached
    assert build(mod.FIGURE, "quick", out, render=False).cached
    _edit(pkg / edited)
    res = build(mod.FIGURE, "quick", out, render=False)
    assert not res.cached
    assert res.reason.startswith("stale:") and f"{PKG}/{edited}" in res.reason
    assert len(mod.CALLS) == 2


def test_unrelated_edit_keeps_cache(fake, tmp_path):
    mod, pkg = fake
    out = tmp_path / "out"
    build(mod.FIGURE, "quick", out, render=False)
    _edit(pkg / "unrelated.py")
    (pkg / "brand_new.py").write_text("X = 1\n")
    assert build(mod.FIGURE, "quick", out, render=False).cached
    assert len(mod.CALLS) == 1


@pytest.mark.parametrize("package", ["python", "numpy", "scipy", "sympy"])
def test_version_change_invalidates(fake, tmp_path, monkeypatch, package):
    mod, _ = fake
    out = tmp_path / "out"
    build(mod.FIGURE, "quick", out, render=False)
    real = _figure._versions

    def bumped(packages=_figure._PACKAGES):
        v = real(packages)
        v[package] = v[package] + ".post999"
        return v

    monkeypatch.setattr(_figure, "_versions", bumped)
    res = build(mod.FIGURE, "quick", out, render=False)
    assert not res.cached and f"versions {package}" in res.reason


def test_config_change_invalidates_and_meta_records_ingredients(fake, tmp_path):
    mod, pkg = fake
    out = tmp_path / "out"
    build(_spec(mod, 1.0), "quick", out, render=False)
    res = build(_spec(mod, 3.0), "quick", out, render=False)
    assert not res.cached and res.reason == "stale: config"
    np.testing.assert_array_equal(_figure.load_data(out / "fig_a" / "quick" / "data.npz")["x"],
                                  np.arange(4.0) * 3.0)
    meta = json.loads((out / "fig_a" / "quick" / "meta.json").read_text())
    files = meta["cache_key"]["files"]
    assert files[f"{PKG}/helper.py"] == _figure._sha256_file(pkg / "helper.py")
    assert f"{PKG}/unrelated.py" not in files
    assert meta["cache_key"]["config"] == {"scale": 3.0}
    assert meta["data_sha256"] == _figure._sha256_file(out / "fig_a" / "quick" / "data.npz")


def test_config_must_be_typed_and_plain(fake, tmp_path):
    """A config field of a type the key cannot serialise is refused when the config is made; a
    FigureSpec refuses a plain dict of configs."""
    mod, _ = fake
    from dataclasses import dataclass

    from sim.config import Config

    @dataclass(frozen=True)
    class Bad(Config):
        obj: object

    with pytest.raises(TypeError, match="config fields may not have type object"):
        Bad(object())
    with pytest.raises(TypeError, match=r"configs must be a sim\.config\.Modes"):
        _figure.FigureSpec("fig_a", "fake", "none", {"quick": {"scale": 1.0}}, mod.compute, mod.render)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        _figure._canonical_config({"obj": object()})


# --- atomic pair ------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["meta-write-fails", "ctrl-c-during-meta-write"])
def test_torn_write_serves_old_pair_only_for_its_config(fake, tmp_path, monkeypatch, failure):
    """meta.json's write fails after data.npz was written: the old pair stays whole and is served
    only for its own config; the new config is recomputed; no temporary directory is left."""
    mod, _ = fake
    out = tmp_path / "out"
    spec_a, spec_b = _spec(mod, 1.0), _spec(mod, 5.0)
    build(spec_a, "quick", out, render=False)
    real = _figure._write_meta

    def failing(path, meta):
        assert (path.parent / "data.npz").stat().st_size > 0  # data already written
        raise failure

    monkeypatch.setattr(_figure, "_write_meta", failing)
    with pytest.raises(type(failure)):
        build(spec_b, "quick", out, render=False)
    monkeypatch.setattr(_figure, "_write_meta", real)
    assert sorted(p.name for p in (out / "fig_a").iterdir()) == ["quick"]
    res_a = build(spec_a, "quick", out, render=False)
    assert res_a.cached
    np.testing.assert_array_equal(_figure.load_data(res_a.files[0])["x"], np.arange(4.0))
    res_b = build(spec_b, "quick", out, render=False)
    assert not res_b.cached
    np.testing.assert_array_equal(_figure.load_data(res_b.files[0])["x"], np.arange(4.0) * 5.0)


def test_other_configs_data_under_this_meta_is_never_served(fake, tmp_path, caplog):
    """The failure the old non-atomic writer allowed: data.npz of config B next to meta.json of
    config A. The checksum catches it; A is recomputed."""
    mod, _ = fake
    spec_a, spec_b = _spec(mod, 1.0), _spec(mod, 5.0)
    build(spec_a, "quick", tmp_path / "a", render=False)
    build(spec_b, "quick", tmp_path / "b", render=False)
    a_dir, b_dir = tmp_path / "a" / "fig_a" / "quick", tmp_path / "b" / "fig_a" / "quick"
    (a_dir / "data.npz").write_bytes((b_dir / "data.npz").read_bytes())
    with caplog.at_level(logging.WARNING, logger="paper_figures"):
        res = build(spec_a, "quick", tmp_path / "a", render=False)
    assert not res.cached and "checksum" in res.reason
    np.testing.assert_array_equal(_figure.load_data(a_dir / "data.npz")["x"], np.arange(4.0))


def test_replace_dir_restores_old_when_second_rename_fails(tmp_path, monkeypatch):
    dst, src = tmp_path / "quick", tmp_path / ".quick.tmp-x"
    dst.mkdir()
    (dst / "data.npz").write_text("old")
    src.mkdir()
    (src / "data.npz").write_text("new")
    real, calls = os.rename, []

    def rename(a, b):
        calls.append((Path(a).name, Path(b).name))
        if len(calls) == 3:  # 1: src->dst fails (not empty), 2: dst->old, 3: src->dst
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(_figure.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        _figure.replace_dir(src, dst)
    monkeypatch.setattr(_figure.os, "rename", real)
    assert (dst / "data.npz").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".quick.tmp-x", "quick"]


@pytest.mark.parametrize("existing", ["absent", "empty-dir", "full-dir", "file"])
def test_replace_dir_handles_existing_destination(tmp_path, existing):
    dst, src = tmp_path / "quick", tmp_path / ".quick.tmp-x"
    src.mkdir()
    (src / "data.npz").write_text("new")
    if existing == "empty-dir":
        dst.mkdir()
    elif existing == "full-dir":
        dst.mkdir()
        (dst / "stale.png").write_text("old")
    elif existing == "file":
        dst.write_text("a file where the directory goes")
    _figure.replace_dir(src, dst)
    assert [p.name for p in tmp_path.iterdir()] == ["quick"]
    assert [p.name for p in dst.iterdir()] == ["data.npz"]


def test_leftovers_of_a_killed_writer_are_removed(fake, tmp_path):
    mod, _ = fake
    out = tmp_path / "out"
    parent = out / "fig_a"
    old_tmp, old_old = parent / ".quick.tmp-dead", parent / ".quick.old-dead"
    fresh = parent / ".quick.tmp-live"
    for d in (old_tmp, old_old, fresh):
        d.mkdir(parents=True)
        (d / "data.npz").write_text("partial")
    past = time.time() - 2 * _figure._STALE_TMP_S
    for d in (old_tmp, old_old):
        os.utime(d, (past, past))
    build(mod.FIGURE, "quick", out, render=False)
    assert sorted(p.name for p in parent.iterdir()) == [".quick.tmp-live", "quick"]


# --- damaged caches ---------------------------------------------------------------------------


def _flip(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x10
    p.write_bytes(bytes(b))


DAMAGE = {
    "data-truncated": lambda d: (d / "data.npz").write_bytes((d / "data.npz").read_bytes()[:40]),
    "data-bit-flipped": lambda d: _flip(d / "data.npz"),
    "data-empty": lambda d: (d / "data.npz").write_bytes(b""),
    "data-missing": lambda d: (d / "data.npz").unlink(),
    "data-other-valid-npz": lambda d: np.savez(d / "data.npz", x=np.zeros(4)),
    "meta-missing": lambda d: (d / "meta.json").unlink(),
    "meta-empty": lambda d: (d / "meta.json").write_text(""),
    "meta-not-json": lambda d: (d / "meta.json").write_text("{not json"),
    "meta-truncated": lambda d: (d / "meta.json").write_text((d / "meta.json").read_text()[:50]),
    "meta-binary": lambda d: (d / "meta.json").write_bytes(b"\xff\xfe\x00garbage"),
    "meta-list": lambda d: (d / "meta.json").write_text("[1, 2]"),
    "meta-string": lambda d: (d / "meta.json").write_text('"meta"'),
    "meta-null": lambda d: (d / "meta.json").write_text("null"),
    "meta-empty-object": lambda d: (d / "meta.json").write_text("{}"),
    "meta-wrong-types": lambda d: (d / "meta.json").write_text(json.dumps(
        {**json.loads((d / "meta.json").read_text()), "data_sha256": 5})),
    "meta-wrong-checksum": lambda d: (d / "meta.json").write_text(json.dumps(
        {**json.loads((d / "meta.json").read_text()), "data_sha256": "0" * 64})),
    "meta-is-a-directory": lambda d: ((d / "meta.json").unlink(), (d / "meta.json").mkdir()),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_cache_warns_one_line_and_recomputes(fake, tmp_path, caplog, damage):
    mod, _ = fake
    out = tmp_path / "out"
    build(mod.FIGURE, "quick", out, render=False)
    DAMAGE[damage](out / "fig_a" / "quick")
    with caplog.at_level(logging.WARNING, logger="paper_figures"):
        res = build(mod.FIGURE, "quick", out)
    warnings = [r for r in caplog.records if r.name == "paper_figures"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    msg = warnings[0].getMessage()
    assert "\n" not in msg and "damaged" in msg and "recomputing" in msg
    assert not res.cached and res.reason.startswith("damaged:") and len(mod.CALLS) == 2
    np.testing.assert_array_equal(_figure.load_data(res.files[0])["x"], np.arange(4.0))
    assert build(mod.FIGURE, "quick", out, render=False).cached  # repaired


def test_older_sidecar_is_stale_not_damaged(fake, tmp_path, caplog):
    """A sidecar of the previous format (a "hash" field, no cache_format) is recomputed quietly."""
    mod, _ = fake
    out = tmp_path / "out"
    build(mod.FIGURE, "quick", out, render=False)
    (out / "fig_a" / "quick" / "meta.json").write_text(json.dumps({"hash": "0123", "config": {}}))
    with caplog.at_level(logging.WARNING, logger="paper_figures"):
        res = build(mod.FIGURE, "quick", out, render=False)
    assert not res.cached and res.reason.startswith("stale:") and not caplog.records


# --- file modes -------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_respect_umask(fake, tmp_path, umask):
    mod, _ = fake
    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        build(mod.FIGURE, "quick", out)
    finally:
        os.umask(old)
    mode_dir = out / "fig_a" / "quick"
    for f in ("data.npz", "meta.json", "table.md"):
        assert stat.S_IMODE((mode_dir / f).stat().st_mode) == 0o666 & ~umask, f
    for d in (out, out / "fig_a", mode_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~umask, d


def test_type_checking_imports_are_not_followed():
    """``if TYPE_CHECKING:`` imports never run, so they stay out of the key; their ``else`` runs."""
    src = (b"from typing import TYPE_CHECKING\nimport typing\nif TYPE_CHECKING:\n    import sim.a\n"
           b"if typing.TYPE_CHECKING:\n    import sim.b\nelse:\n    import sim.c\nimport sim.d\n")
    stmts = _figure._import_statements(src, "probe-digest", "probe.py")
    names = {n for _, _, ns in stmts for n in ns}
    assert {"sim.c", "sim.d", "TYPE_CHECKING"} <= names
    assert not {"sim.a", "sim.b"} & names
