"""Figure specs, the registry, and the build step (cache, sidecar, atomic writes).

A figure module defines ``FIGURE = FigureSpec(...)`` with

* ``configs``: one configuration dict per mode (``"quick"``, ``"full"``);
* ``compute(config) -> data``: simulation and theory, returning a flat dict of numpy arrays /
  scalars / strings (saved as ``data.npz``);
* ``render(data, config, out_dir) -> [paths]``: plots (PNG + PDF) or tables (Markdown + LaTeX) from
  the data alone, so re-plotting never re-simulates.

:func:`build` writes ``<out>/<id>/<mode>/data.npz`` and ``meta.json`` (config, seeds, git revision,
package versions, elapsed time, a hash of the config and of the code) and reuses them when the hash
matches: an interrupted ``python -m paper_figures all`` resumes without recomputing finished figures.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
MODES = ("quick", "full")
_PACKAGES = ("numpy", "scipy", "sympy", "matplotlib", "cvxpy", "aimc-verify")


@dataclass(frozen=True)
class FigureSpec:
    """One paper figure (or table): how to compute its data and how to draw it."""

    id: str
    title: str
    reference: str
    configs: dict[str, dict]
    compute: Callable[[dict], dict]
    render: Callable[[dict, dict, Path], list[Path]]

    def config(self, mode: str) -> dict:
        if mode not in self.configs:
            raise ValueError(f"{self.id}: no configuration for mode {mode!r}")
        return self.configs[mode]


@dataclass
class BuildResult:
    id: str
    mode: str
    cached: bool
    elapsed: float
    files: list[Path]


def all_figures() -> dict[str, FigureSpec]:
    """Every ``FIGURE`` defined by a public module of this package, by id."""
    import paper_figures

    figs = {}
    for mod in pkgutil.iter_modules(paper_figures.__path__):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"paper_figures.{mod.name}")
        spec = getattr(module, "FIGURE", None)
        if isinstance(spec, FigureSpec):
            if spec.id in figs:
                raise ValueError(f"figure id {spec.id!r} defined twice")
            figs[spec.id] = spec
    return dict(sorted(figs.items()))


# --- provenance -----------------------------------------------------------------------------------


def _git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _code_hash(spec: FigureSpec) -> str:
    """Hash of the figure module and of the theory/sim/verify sources it builds on."""
    root = Path(__file__).resolve().parent.parent
    module_file = Path(sys.modules[spec.compute.__module__].__file__ or "")
    files = [module_file, Path(__file__)]
    for pkg in ("theory", "sim", "verify"):
        files += sorted((root / pkg).rglob("*.py"))
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _config_hash(config: dict, code: str) -> str:
    blob = json.dumps(config, sort_keys=True, default=str) + code
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- atomic IO ----------------------------------------------------------------------------------


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write via ``writer(tmp_path)`` to a temporary file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_data(path: Path, data: dict) -> None:
    arrays = {k: np.asarray(v) for k, v in data.items()}
    atomic_write(path, lambda p: np.savez_compressed(p, **arrays))


def load_data(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return {k: (npz[k].item() if npz[k].ndim == 0 else npz[k]) for k in npz.files}


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def save_figure(fig, out_dir: Path, stem: str) -> list[Path]:
    """Save a matplotlib figure as PNG and PDF (atomically) and close it."""
    import matplotlib.pyplot as plt

    paths = []
    for ext, kw in (("png", {"dpi": 150}), ("pdf", {})):
        path = out_dir / f"{stem}.{ext}"
        atomic_write(path, lambda p, ext=ext, kw=kw: fig.savefig(p, format=ext,
                                                                  bbox_inches="tight", **kw))
        paths.append(path)
    plt.close(fig)
    return paths


# --- build ----------------------------------------------------------------------------------------


def build(spec: FigureSpec, mode: str = "full", out: Path = DEFAULT_OUT, *, force: bool = False,
          render: bool = True) -> BuildResult:
    """Compute (or load from the cache) the data of ``spec`` and render it."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    config = spec.config(mode)
    out_dir = Path(out) / spec.id / mode
    data_path, meta_path = out_dir / "data.npz", out_dir / "meta.json"
    code = _code_hash(spec)
    key = _config_hash(config, code)
    t0 = time.perf_counter()
    cached = False
    if not force and data_path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            cached = meta.get("hash") == key
        except (OSError, json.JSONDecodeError):
            cached = False
    if cached:
        data = load_data(data_path)
    else:
        data = spec.compute(config)
        save_data(data_path, data)
        meta = {
            "id": spec.id,
            "title": spec.title,
            "reference": spec.reference,
            "mode": mode,
            "config": config,
            "hash": key,
            "code_hash": code,
            "git_revision": _git_revision(),
            "versions": _versions(),
            "elapsed_s": round(time.perf_counter() - t0, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data_keys": sorted(data),
        }
        write_text(meta_path, json.dumps(meta, indent=2, default=str) + "\n")
        data = load_data(data_path)  # render from exactly what was saved
    files = [data_path, meta_path]
    if render:
        import matplotlib

        matplotlib.use("Agg")
        files += spec.render(data, config, out_dir)
    return BuildResult(spec.id, mode, cached, time.perf_counter() - t0, files)
