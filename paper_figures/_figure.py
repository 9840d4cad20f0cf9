"""Figure specs, the registry, and the build step (cache, sidecar, atomic writes).

A figure module defines ``FIGURE = FigureSpec(...)`` with

* ``configs``: the figure's settings, a :class:`sim.config.Modes` of one frozen
  :class:`sim.config.Config` dataclass instance per mode (``"quick"``, ``"full"``);
* ``compute(config) -> data``: simulation and theory, returning a flat dict of numpy arrays /
  scalars / strings (saved as ``data.npz``);
* ``render(data, config, out_dir) -> [paths]``: plots (PNG + PDF) or tables (Markdown + LaTeX) from
  the data alone, so re-plotting never re-simulates.

Cache contract
--------------
:func:`build` keeps ``<out>/<id>/<mode>/data.npz`` and its sidecar ``meta.json`` and serves them
instead of recomputing iff all of the following hold:

* the **cache key** recorded in ``meta.json`` equals the current one. The key is the SHA-256 of
  the figure id and mode, the configuration of that mode (canonical JSON of
  :func:`dataclasses.asdict`, command-line overrides applied) and the overrides themselves, the bytes of every
  project source file in the figure module's *import closure* (the module, the project modules it
  imports, transitively, found by reading their ``import`` statements; see :func:`import_closure`),
  and the versions of python, numpy, scipy and sympy. ``meta.json`` records these ingredients
  (``cache_key.files``: path -> SHA-256, ``cache_key.versions``), so a recompute can say what
  changed. Editing a module the figure does not import (a claim, another figure) keeps the cache;
* ``meta.json`` is a JSON object of this format, and the SHA-256 of ``data.npz`` equals the
  ``data_sha256`` it records (a truncated, bit-flipped or swapped data file is detected);
* ``data.npz`` loads and holds exactly the recorded keys.

A damaged pair (unreadable, not the expected object, checksum mismatch, one of the two files
missing) is reported in one warning line on the ``paper_figures`` logger and recomputed. A pair is
written as one unit: both files go into a fresh temporary directory beside ``<mode>/``, which then
replaces ``<mode>/`` by renames (:func:`replace_dir`), so an interrupted or failed write leaves
the previous pair, or no pair, never a mixed one. Files are created with mode ``0o666`` and
directories with ``0o777``, both minus the umask (0644 / 0755 under the usual umask 022).

Cells
-----
A figure whose grid is a set of independent computations may declare them as *cells*:

* ``cells(config) -> [cell, ...]``: JSON-able dicts naming the pieces, e.g.
  ``{"net": "fcn", "algorithm": "tt", "seed": 1}``;
* ``compute_cell(config, cell) -> data``: one piece, a flat dict of arrays, a pure function of its
  arguments (it draws from random streams keyed by its own seed and run indices, ``sim/_rng.py``,
  so it gives the same bits alone, in another process, or on another machine);
* ``assemble(config, [data, ...]) -> data``: the figure's data from the pieces, in the order of
  ``cells(config)``; ``compute(config)`` must equal ``assemble(config, [compute_cell(config, c)
  for c in cells(config)])``.

A figure without cells is one cell, ``compute(config)``. Each cell is cached on its own in
``<out>/<id>/<mode>.cells/<name>/`` (:func:`cell_name`; with overrides
``<mode>-set-<hash>.cells/``) as a ``data.npz`` / ``meta.json`` pair under
the same rules as the figure's pair: its key is the SHA-256 of the figure's cache key and the cell's
canonical JSON (:func:`cell_key`), the data's SHA-256 is checked, a damaged cell is one warning line
and recomputed, and a cell is written atomically as soon as it finishes; once the figure's pair is
written, cell directories the grid no longer has are removed. So an interrupted build
resumes from its finished cells, and :func:`build_all` can run the cells of many figures at once on
a Dask cluster (``python -m paper_figures --workers N``) with the same bits as a serial build.

Overrides
---------
``build(..., overrides={"tau": "2"})`` (``python -m paper_figures ID --set tau=2``) computes with
the mode's configuration overridden (:meth:`sim.config.Config.override`) into its own
directory ``<out>/<id>/<mode>-set-<hash>/`` (hash of the overrides), never into the default
``<mode>/``; its ``meta.json`` records the overrides and they are part of the cache key.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import functools
import hashlib
import importlib
import json
import logging
import os
import pkgutil
import platform
import re
import secrets
import shutil
import subprocess
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import Config, Modes

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
MODES = ("quick", "full")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: versions recorded in the sidecar (provenance)
_PACKAGES = ("numpy", "scipy", "sympy", "matplotlib", "cvxpy", "aimc-verify")
#: versions that are part of the cache key: the packages the data is computed with
KEY_PACKAGES = ("numpy", "scipy", "sympy")
#: bump when the sidecar's layout changes; older sidecars are treated as stale
CACHE_FORMAT = 2
#: leftovers of a killed writer (``.<mode>.tmp-*`` / ``.<mode>.old-*``) older than this are removed
_STALE_TMP_S = 600.0

_log = logging.getLogger("paper_figures")


@dataclass(frozen=True)
class FigureSpec:
    """One paper figure (or table): how to compute its data and how to draw it."""

    id: str
    title: str
    reference: str
    configs: Modes[Any]
    compute: Callable[[Any], dict]
    render: Callable[[dict, Any, Path], list[Path]]
    #: optional split of ``compute`` into independent cells (module docstring, "Cells")
    cells: Callable[[Any], list[dict]] | None = None
    compute_cell: Callable[[Any, dict], dict] | None = None
    assemble: Callable[[Any, list[dict]], dict] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.configs, Modes):
            raise TypeError(f"{self.id}: configs must be a sim.config.Modes of Config instances,"
                            f" got {type(self.configs).__name__}")

    def config(self, mode: str, overrides: dict[str, str] | None = None) -> Any:
        """The settings of ``mode`` with the command-line ``overrides`` applied.

        Raises
        ------
        ValueError
            Unknown mode, or an override with an unknown key or a value that does not parse
            (one line, starting with the figure id).
        """
        if mode not in MODES:
            raise ValueError(f"{self.id}: no configuration for mode {mode!r}")
        try:
            return self.configs.resolve(mode, overrides)
        except ValueError as err:
            raise ValueError(f"{self.id}: {err}") from None


@dataclass
class BuildResult:
    """What :func:`build` did: ``cached`` is True iff the data came from the cache; ``reason``
    says why it was (re)computed otherwise (``"no cache"``, ``"forced"``, ``"stale: ..."``,
    ``"damaged: ..."``)."""

    id: str
    mode: str
    cached: bool
    elapsed: float
    files: list[Path]
    reason: str = field(default="")
    #: number of cells of a figure with cells (0 for one without), and how many came from the cache
    cells: int = 0
    cells_cached: int = 0


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


# --- provenance and the cache key -----------------------------------------------------------------


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions(packages: Iterable[str] = _PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _module_file(name: str, roots: Iterable[Path]) -> Path | None:
    """Source file of module ``name`` under one of ``roots`` (package ``__init__.py`` or
    ``.py`` file), or None if it is not a module of these source trees."""
    parts = name.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        for f in (base / "__init__.py", base.with_suffix(".py")):
            if f.is_file():
                return f
    return None


_ImportStmt = tuple[int, str | None, tuple[str, ...]]  # (level, module, names)
_PARSED: dict[tuple[str, str], tuple[_ImportStmt, ...]] = {}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk_executed(tree: ast.AST) -> Iterable[ast.AST]:
    """:func:`ast.walk` without the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` kept)."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def _import_statements(source: bytes, digest: str, filename: str) -> tuple[_ImportStmt, ...]:
    """``(level, module, names)`` of every ``import`` statement in ``source`` (memoised by content
    hash: parsing is the slow part of computing a cache key). Imports under ``if TYPE_CHECKING:``
    are skipped: they never run, so they cannot change computed data."""
    memo = (digest, filename)
    if memo not in _PARSED:
        stmts: list[_ImportStmt] = []
        for node in _walk_executed(ast.parse(source, filename=filename)):
            if isinstance(node, ast.Import):
                stmts.append((0, None, tuple(a.name for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                stmts.append((node.level, node.module, tuple(a.name for a in node.names)))
        _PARSED[memo] = tuple(stmts)
    return _PARSED[memo]


def _imported_names(stmts: Iterable[_ImportStmt], name: str, is_package: bool) -> set[str]:
    """Dotted names that the module ``name`` may import (every ``import`` statement, at any depth;
    ``from a import b`` yields ``a`` and ``a.b``, since ``b`` may be a submodule)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for level, module, names in stmts:
        if module is None and level == 0:
            found.update(names)
            continue
        if level:
            anchor = package.split(".") if package else []
            anchor = anchor[:len(anchor) - (level - 1)] if level > 1 else anchor
            base = ".".join([*anchor, *([module] if module else [])])
        else:
            base = module or ""
        if base:
            found.add(base)
        found.update(f"{base}.{a}" if base else a for a in names if a != "*")
    return found


def import_closure(module: str, module_file: Path | str,
                   roots: Iterable[Path] | None = None) -> dict[str, tuple[Path, str]]:
    """The project modules that importing ``module`` executes: its own file, the parent packages'
    ``__init__.py``, and, transitively, every module of the source trees ``roots`` named by an
    ``import`` statement (top level or inside functions), by dotted name.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"paper_figures.exact_fig7_weights"``.
    module_file : path
        Its source file.
    roots : iterable of Path, optional
        Directories that hold top-level packages. Default: the directory holding ``module``'s
        top-level package, and the project root (``theory``, ``sim``, ``verify``,
        ``paper_figures``). Modules outside them (stdlib, numpy, ...) are not followed; their
        versions enter the cache key separately.

    Returns
    -------
    dict
        Module name -> (source file, SHA-256 of its bytes), sorted by name.

    Notes
    -----
    A static over-approximation: an import that is never executed (inside an unused function)
    is still followed, which can only make the cache more conservative; an import by a computed
    string (``importlib.import_module(name)``) is not seen. Figure modules import statically.
    """
    module_file = Path(module_file).resolve()
    if roots is None:
        depth = module.count(".") + (1 if module_file.name == "__init__.py" else 0)
        roots = [module_file.parents[depth], PROJECT_ROOT]
    roots = list(dict.fromkeys(Path(r).resolve() for r in roots))
    found: dict[str, tuple[Path, str]] = {}
    todo: list[tuple[str, Path]] = [(module, module_file)]
    while todo:
        name, path = todo.pop()
        if name in found:
            continue
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        found[name] = (path, digest)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        stmts = _import_statements(source, digest, str(path))
        candidates = set(parents) | _imported_names(stmts, name, path.name == "__init__.py")
        for cand in sorted(candidates):
            if cand in found:
                continue
            f = _module_file(cand, roots)
            if f is not None:
                todo.append((cand, f))
    return dict(sorted(found.items()))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def overrides_dir(mode: str, overrides: dict[str, str] | None) -> str:
    """Name of the output directory of ``mode`` with ``overrides``: ``mode`` itself without
    overrides, else ``<mode>-set-<first 12 hex of the SHA-256 of the sorted overrides>``."""
    if not overrides:
        return mode
    blob = json.dumps(dict(sorted(overrides.items())), separators=(",", ":"))
    return f"{mode}-set-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _canonical_config(config: dict | Config) -> str:
    """The configuration as canonical JSON (sorted keys; tuples as lists; numpy scalars and arrays
    as numbers and lists). Anything else is an error: a ``repr`` with an address would make the key
    change on every run. A :class:`~sim.config.Config` enters as :func:`dataclasses.asdict`."""
    if isinstance(config, Config):
        config = config.as_dict()

    def default(obj):
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"config value of type {type(obj).__name__} is not JSON-serialisable: "
                        f"{obj!r}; use numbers, strings, lists and dicts")

    return json.dumps(config, sort_keys=True, default=default, allow_nan=True, separators=(",", ":"))


def cache_key(spec: FigureSpec, mode: str, overrides: dict[str, str] | None = None) -> tuple[str, dict]:
    """The cache key of ``spec`` in ``mode`` (with ``overrides``) and its ingredients (see the
    module docstring).

    Returns
    -------
    key : str
        Hex SHA-256 of the canonical JSON of ``ingredients``.
    ingredients : dict
        ``{"id", "mode", "config", "overrides", "files": {path: sha256}, "versions": {package:
        version}}``;
        paths are relative to the source tree that holds them.
    """
    module = spec.compute.__module__
    mod = importlib.import_module(module)
    module_file = getattr(mod, "__file__", None)
    if not module_file:
        raise ValueError(f"{spec.id}: compute's module {module!r} has no source file")
    closure = import_closure(module, module_file)
    files = {}
    for name, (path, digest) in closure.items():
        rel = Path(*name.split("."), path.name) if path.name == "__init__.py" else \
            Path(*name.split(".")).with_suffix(".py")
        files[rel.as_posix()] = digest
    ingredients = {
        "id": spec.id,
        "mode": mode,
        "config": json.loads(_canonical_config(spec.config(mode, overrides))),
        "overrides": dict(sorted((overrides or {}).items())),
        "files": dict(sorted(files.items())),
        "versions": _versions(KEY_PACKAGES),
    }
    blob = json.dumps(ingredients, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest(), ingredients


def _what_changed(old: object, new: dict) -> str:
    """Short description of how the recorded key ingredients ``old`` differ from ``new``."""
    if not isinstance(old, dict):
        return "written by an older version"
    changes = []
    if old.get("config") != new["config"] or old.get("overrides", {}) != new["overrides"]:
        changes.append("config")
    old_files: dict = old["files"] if isinstance(old.get("files"), dict) else {}
    diff = sorted(f for f in set(old_files) | set(new["files"])
                  if old_files.get(f) != new["files"].get(f))
    if diff:
        changes.append("code " + ", ".join(diff[:3]) + (f" (+{len(diff) - 3})" if len(diff) > 3 else ""))
    old_v: dict = old["versions"] if isinstance(old.get("versions"), dict) else {}
    vdiff = [f"{p} {old_v.get(p)} -> {v}" for p, v in new["versions"].items() if old_v.get(p) != v]
    if vdiff:
        changes.append("versions " + ", ".join(vdiff))
    return "; ".join(changes) or "key differs"


# --- atomic IO ----------------------------------------------------------------------------------


def _new_name(parent: Path, prefix: str, suffix: str = "") -> Path:
    return parent / f"{prefix}{secrets.token_hex(6)}{suffix}"


def _create_file(parent: Path, prefix: str, suffix: str) -> Path:
    """Create an empty new file in ``parent`` with mode 0o666 & ~umask (unlike ``mkstemp``'s
    0o600) and return its path."""
    while True:
        path = _new_name(parent, prefix, suffix)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def _make_dir(parent: Path, prefix: str) -> Path:
    """Create a new directory in ``parent`` with mode 0o777 & ~umask (unlike ``mkdtemp``'s 0o700)."""
    while True:
        path = _new_name(parent, prefix)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_write(path: Path, writer: Callable[[Path], object]) -> None:
    """Write via ``writer(tmp_path)`` to a temporary file beside ``path``, then rename it over
    ``path``: readers see the old file or the new one, never a partial one. The file gets mode
    0o666 & ~umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_file(path.parent, f".{path.stem}.", path.suffix)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory ``src`` to ``dst`` (same parent), replacing whatever ``dst`` is.

    An existing ``dst`` is first renamed aside (``.<name>.old-*``), then ``src`` is renamed into
    place and the old one removed: at every instant ``dst`` is the complete old directory, the
    complete new one, or absent -- never a mixture. If the second rename fails, the old one is
    put back.
    """
    if src.parent != dst.parent:
        raise ValueError(f"replace_dir: {src} and {dst} must share a parent directory")
    try:
        os.rename(src, dst)  # dst absent (or an empty directory): one atomic step
        return
    except OSError:
        if not (dst.exists() or dst.is_symlink()):
            raise
    old = _new_name(dst.parent, f".{dst.name}.old-")
    os.rename(dst, old)
    try:
        os.rename(src, dst)
    except BaseException:
        os.rename(old, dst)
        raise
    _remove(old)


def save_data(path: Path, data: dict) -> None:
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in data.items()}
    atomic_write(path, lambda p: np.savez_compressed(p, **arrays))


def load_data(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return {k: (npz[k].item() if npz[k].ndim == 0 else npz[k]) for k in npz.files}


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def _savefig(fig: Any, path: Path, opts: dict[str, Any]) -> None:
    fig.savefig(path, bbox_inches="tight", **opts)


def save_figure(fig, out_dir: Path, stem: str) -> list[Path]:
    """Stamp a matplotlib figure with the fidelity verdict of figure ``stem`` (if it has a record),
    save it as PNG and PDF (atomically) and close it."""
    import matplotlib.pyplot as plt

    from ._style import stamp_verdict

    stamp_verdict(fig, stem)  # every figure carries its fidelity verdict
    paths = []
    for ext, kw in (("png", {"dpi": 150}), ("pdf", {})):
        path = out_dir / f"{stem}.{ext}"
        atomic_write(path, functools.partial(_savefig, fig, opts={"format": ext, **kw}))
        paths.append(path)
    plt.close(fig)
    return paths


def _write_meta(path: Path, meta: dict) -> None:
    with open(path, "x") as fh:
        fh.write(json.dumps(meta, indent=2) + "\n")


def write_pair(out_dir: Path, data: dict, meta: dict) -> None:
    """Write ``data.npz`` and ``meta.json`` (with ``data_sha256`` added) as one unit into
    ``out_dir``, which is replaced as a whole (see :func:`replace_dir`)."""
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in data.items()}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_dir(out_dir.parent, f".{out_dir.name}.tmp-")
    try:
        with open(tmp / "data.npz", "xb") as fh:
            np.savez_compressed(fh, **arrays)
        _fsync(tmp / "data.npz")
        _write_meta(tmp / "meta.json", {**meta, "data_sha256": _sha256_file(tmp / "data.npz")})
        _fsync(tmp / "meta.json")
        replace_dir(tmp, out_dir)
    except BaseException:
        _remove(tmp)
        raise


class _Damaged(Exception):
    """The cached pair exists but cannot be trusted."""


class _Stale(Exception):
    """The cached pair is intact but was computed for another key."""


def load_pair(out_dir: Path, key: str, ingredients: dict) -> tuple[dict, dict] | None:
    """The cached ``(data, meta)`` in ``out_dir`` if it is intact and has cache key ``key``.

    Returns None if there is no pair; raises ``_Stale`` (intact, other key) or ``_Damaged``.
    """
    data_path, meta_path = out_dir / "data.npz", out_dir / "meta.json"
    have = [p.exists() for p in (data_path, meta_path)]
    if not any(have):
        return None
    if not all(have):
        raise _Damaged(f"{(meta_path if have[0] else data_path).name} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise _Damaged(f"meta.json is not readable JSON ({type(err).__name__})") from None
    if not isinstance(meta, dict):
        raise _Damaged(f"meta.json holds a {type(meta).__name__}, not an object")
    fmt = meta.get("cache_format")
    if fmt is None and "hash" in meta:
        raise _Stale("written by an older version of paper_figures")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise _Damaged("meta.json lacks cache_format")
    if fmt != CACHE_FORMAT:
        raise _Stale(f"cache format {fmt} (current: {CACHE_FORMAT})")
    recorded = {k: meta.get(k) for k in ("key", "data_sha256", "data_keys")}
    if not (isinstance(recorded["key"], str) and isinstance(recorded["data_sha256"], str)
            and isinstance(recorded["data_keys"], list)):
        raise _Damaged("meta.json lacks key / data_sha256 / data_keys")
    if recorded["key"] != key:
        raise _Stale(_what_changed(meta.get("cache_key"), ingredients))
    try:
        digest = _sha256_file(data_path)
    except OSError as err:
        raise _Damaged(f"data.npz is not readable ({err.strerror})") from None
    if digest != recorded["data_sha256"]:
        raise _Damaged("data.npz checksum mismatch")
    try:
        data = load_data(data_path)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise _Damaged(f"data.npz does not load ({type(err).__name__})") from None
    if sorted(data) != sorted(recorded["data_keys"]):
        raise _Damaged("data.npz keys differ from meta.json's data_keys")
    return data, meta


def _clean_leftovers(parent: Path, name: str) -> None:
    """Remove ``.<name>.tmp-*`` / ``.<name>.old-*`` left in ``parent`` by a killed writer."""
    if not parent.is_dir():
        return
    now = time.time()
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for p in parent.glob(pattern):
            try:
                if now - p.lstat().st_mtime > _STALE_TMP_S:
                    _remove(p)
            except OSError:
                pass


# --- cells: a figure's grid as independent, separately cached pieces ------------------------------


def _prune_cells(p: _Plan) -> None:
    """After the figure's pair is written, remove the cell directories of its ``.cells`` folder that
    the current configuration no longer has (e.g. a seed block of an earlier grid): a cell of the
    current grid is never touched, nor a writer's ``.tmp``/``.old`` leftover (see
    :func:`_clean_leftovers`)."""
    assert p.cells is not None
    root = p.cell_path(0).parent
    keep = {cell_name(c) for c in p.cells}
    for child in root.iterdir() if root.is_dir() else ():
        if child.is_dir() and not child.name.startswith(".") and child.name not in keep:
            _remove(child)


def has_cells(spec: FigureSpec) -> bool:
    """True iff ``spec`` splits its computation into cells (``cells``, ``compute_cell`` and
    ``assemble`` all given); ValueError if only some of the three are."""
    given = [f is not None for f in (spec.cells, spec.compute_cell, spec.assemble)]
    if any(given) and not all(given):
        raise ValueError(f"{spec.id}: cells, compute_cell and assemble go together; got "
                         + ", ".join(n for n, g in zip(("cells", "compute_cell", "assemble"), given,
                                                       strict=True) if g) + " only")
    return all(given)


def cell_name(cell: dict) -> str:
    """Directory name of a cell: its values, readable, and 8 hex of the SHA-256 of its canonical
    JSON (so two cells never share a directory)."""
    canon = _canonical_config(cell)

    def text(v: object) -> str:
        return "-".join(map(text, v)) if isinstance(v, list) else str(v)

    slug = "_".join(f"{k}-{text(v)}" for k, v in sorted(json.loads(canon).items()))
    slug = re.sub(r"[^A-Za-z0-9.+_-]+", "", slug)[:60]
    return f"{slug or 'cell'}-{hashlib.sha256(canon.encode()).hexdigest()[:8]}"


def cells_dir(out: Path, spec: FigureSpec, mode: str, overrides: dict[str, str] | None = None) -> Path:
    """Where the cells of ``spec`` in ``mode`` (with ``overrides``) are cached:
    ``<out>/<id>/<dir>.cells/`` beside the figure's ``<dir>/`` (:func:`overrides_dir`), which
    :func:`write_pair` replaces as a whole."""
    return Path(out) / spec.id / f"{overrides_dir(mode, overrides)}.cells"


def cell_key(key: str, ingredients: dict, cell: dict) -> tuple[str, dict]:
    """The cache key of one cell: SHA-256 of the figure's key and the cell's canonical JSON; the
    ingredients are the figure's plus ``"cell"``."""
    cell_json = json.loads(_canonical_config(cell))
    blob = json.dumps({"figure_key": key, "cell": cell_json}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest(), {**ingredients, "cell": cell_json}


def _apply(fn: Callable[..., dict], *args: Any) -> dict:
    """``fn(*args)``: the job a worker runs (module level, so Dask can pickle it by reference)."""
    return fn(*args)


@dataclass
class _Plan:
    """What :func:`build_all` still has to do for one figure."""

    spec: FigureSpec
    mode: str
    overrides: dict[str, str]
    config: Any
    out_dir: Path
    key: str
    ingredients: dict
    reason: str
    data: dict | None = None  # the cached figure data, if served
    cells: list[dict] | None = None  # None: a figure without cells (one job: compute(config))
    results: list[dict | None] = field(default_factory=list)
    cached_cells: int = 0
    seconds: float = 0.0  # wall time of this figure's own work (cells computed, writing, drawing)

    def job(self, j: int) -> tuple:
        if self.cells is None:
            return (self.spec.compute, self.config)
        return (self.spec.compute_cell, self.config, self.cells[j])

    def cell_path(self, j: int) -> Path:
        assert self.cells is not None
        return self.out_dir.parent / f"{self.out_dir.name}.cells" / cell_name(self.cells[j])


def _plan(spec: FigureSpec, mode: str, out: Path, force: bool, overrides: dict[str, str]) -> _Plan:
    t0 = time.perf_counter()
    config = spec.config(mode, overrides)
    out_dir = Path(out) / spec.id / overrides_dir(mode, overrides)
    key, ingredients = cache_key(spec, mode, overrides)
    _clean_leftovers(out_dir.parent, out_dir.name)
    p = _Plan(spec, mode, overrides, config, out_dir, key, ingredients, "forced")
    if not force:
        try:
            loaded = load_pair(out_dir, key, ingredients)
            p.reason = "no cache"
        except _Stale as err:
            loaded, p.reason = None, f"stale: {err}"
        except _Damaged as err:
            loaded, p.reason = None, f"damaged: {err}"
            _log.warning("%s (%s): cached data in %s is damaged (%s); recomputing",
                         spec.id, mode, out_dir, err)
        if loaded is not None:
            p.data, p.reason = loaded[0], "cached"
    if p.data is None and has_cells(spec):
        assert spec.cells is not None
        p.cells = [dict(c) for c in spec.cells(config)]
        names = [cell_name(c) for c in p.cells]
        if not p.cells or len(set(names)) != len(names):
            raise ValueError(f"{spec.id}: cells({mode} config) must return distinct cells, at least"
                             f" one; got {len(p.cells)} ({len(set(names))} distinct)")
        p.results = [None] * len(p.cells)
        for j, cell in enumerate(p.cells):
            path = p.cell_path(j)
            _clean_leftovers(path.parent, path.name)
            if force:
                continue
            ckey, cingr = cell_key(key, ingredients, cell)
            try:
                got = load_pair(path, ckey, cingr)
            except _Stale:
                got = None
            except _Damaged as err:
                got = None
                _log.warning("%s (%s): cached cell %s is damaged (%s); recomputing",
                             spec.id, mode, path, err)
            if got is not None:
                p.results[j] = got[0]
                p.cached_cells += 1
    elif p.data is None:
        p.results = [None]
    p.seconds = time.perf_counter() - t0
    return p


def _write_cell(p: _Plan, j: int, data: dict, seconds: float) -> dict:
    """Write cell ``j`` of ``p`` as a data/meta pair and return the data as saved."""
    assert p.cells is not None
    ckey, cingr = cell_key(p.key, p.ingredients, p.cells[j])
    meta = {
        "cache_format": CACHE_FORMAT,
        "id": p.spec.id,
        "mode": p.mode,
        "cell": p.cells[j],
        "key": ckey,
        "cache_key": cingr,
        "elapsed_s": round(seconds, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_keys": sorted(data),
    }
    path = p.cell_path(j)
    write_pair(path, data, json.loads(json.dumps(meta, default=str)))
    return load_data(path / "data.npz")


def _finish(p: _Plan, render: bool) -> BuildResult:
    """Assemble (if needed), write the figure pair and render: the last step of one figure."""
    t0 = time.perf_counter()
    cached = p.data is not None
    if p.data is None:
        if p.cells is None:
            data = p.results[0]
        else:
            assert p.spec.assemble is not None
            data = p.spec.assemble(p.config, [r for r in p.results if r is not None])
        assert data is not None
        meta = {
            "cache_format": CACHE_FORMAT,
            "id": p.spec.id,
            "title": p.spec.title,
            "reference": p.spec.reference,
            "mode": p.mode,
            "config": p.config.as_dict(),
            "overrides": dict(sorted(p.overrides.items())),
            "key": p.key,
            "cache_key": p.ingredients,
            "git_revision": _git_revision(),
            "versions": _versions(),
            "elapsed_s": round(p.seconds + time.perf_counter() - t0, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data_keys": sorted(data),
        }
        if p.cells is not None:
            meta["cells"] = {"total": len(p.cells), "cached": p.cached_cells}
        write_pair(p.out_dir, data, json.loads(json.dumps(meta, default=str)))
        p.data = load_data(p.out_dir / "data.npz")  # render from exactly what was saved
        if p.cells is not None:
            _prune_cells(p)
    files = [p.out_dir / "data.npz", p.out_dir / "meta.json"]
    if render:
        import matplotlib

        matplotlib.use("Agg")
        files += p.spec.render(p.data, p.config, p.out_dir)
    p.seconds += time.perf_counter() - t0
    n = 0 if p.cells is None else len(p.cells)
    return BuildResult(p.spec.id, p.mode, cached, p.seconds, files, p.reason if not cached else "cached",
                       cells=n, cells_cached=0 if cached else p.cached_cells)


def build_all(specs: Iterable[FigureSpec], mode: str = "full", out: Path = DEFAULT_OUT, *,
              force: bool = False, render: bool = True, executor: cf.Executor | None = None,
              slots: int = 1, progress: bool | None = None,
              overrides: dict[str, str] | None = None,
              on_start: Callable[[FigureSpec], None] | None = None,
              on_result: Callable[[BuildResult], None] | None = None) -> list[BuildResult]:
    """Build several figures, running every cell still to compute (of all of them) as one pool of
    independent jobs, serially or on an executor.

    Parameters
    ----------
    specs : iterable of FigureSpec
    mode : {"quick", "full"}
    out : Path
        Output root (see :func:`build`).
    force : bool
        Recompute every figure and every cell even if cached.
    render : bool
        Draw the plots / tables.
    executor : concurrent.futures.Executor, optional
        Where the cells run (:class:`sim.sweep.Engine`: a Dask ``LocalCluster`` or an existing
        scheduler); ``None``: in this process, one after the other, in the order of ``specs``.
    slots : int
        Cells that can run at once (for the progress bar's ``running``).
    progress : bool or None
        One bar over the cells (:class:`sim.sweep.CellBar`); ``None``: when stderr is a terminal.
    overrides : dict, optional
        ``{key: text}`` applied to every figure's configuration (see :func:`build`).
    on_start : callable, optional
        Called with a figure's spec when work on it starts (serially: before its first cell; on an
        executor: just before it is finished, since all cells start together).
    on_result : callable, optional
        Called with each figure's :class:`BuildResult` as soon as that figure is written.

    Returns
    -------
    list of BuildResult
        In the order of ``specs``.

    Notes
    -----
    Each computed cell is written at once (its own data/meta pair under ``<id>/<mode>.cells/``),
    so a run that is interrupted or fails resumes from the finished cells; a figure is assembled,
    written and drawn (in this process) as soon as its last cell is in. Results are the same bits
    whatever the executor: ``assemble`` receives the cells in the order of ``cells(config)``, each
    as loaded back from its file. A failing cell cancels the cells not started and is raised after
    the finished ones are written.
    """
    from sim.sweep import CellBar, run_cells

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    plans = [_plan(spec, mode, Path(out), force, dict(overrides or {})) for spec in specs]
    results: list[BuildResult | None] = [None] * len(plans)
    started: set[int] = set()

    def start(i: int) -> None:
        if i not in started:
            started.add(i)
            if on_start is not None:
                on_start(plans[i].spec)

    def finish(i: int) -> None:
        start(i)
        res = results[i] = _finish(plans[i], render)
        if on_result is not None:
            on_result(res)

    jobs = [(i, j) for i, p in enumerate(plans) if p.data is None
            for j, r in enumerate(p.results) if r is None]
    total = sum(len(p.results) for p in plans if p.data is None)
    pending = {i for i, _ in jobs}

    def catch_up(upto: int) -> None:
        """Finish the figures before ``upto`` that need no job (cached, or every cell was)."""
        for i in range(upto):
            if i not in pending and results[i] is None:
                finish(i)

    def on_done(k: int, data: dict, seconds: float) -> None:
        i, j = jobs[k]
        p = plans[i]
        p.seconds += seconds
        p.results[j] = data if p.cells is None else _write_cell(p, j, data, seconds)
        if all(r is not None for r in p.results):
            finish(i)

    with CellBar(total, cached=total - len(jobs), slots=slots, progress=progress,
                 desc=f"cells ({mode})") as bar:
        if executor is None:  # in order: figure by figure, as the ids were given

            def run_in_order(k: int, fn: Callable[..., dict], *args: object) -> dict:
                catch_up(jobs[k][0])
                start(jobs[k][0])
                return fn(*args)

            run_cells(run_in_order, [(k, *plans[i].job(j)) for k, (i, j) in enumerate(jobs)],
                      on_done, bar=bar)
            catch_up(len(plans))
        else:
            catch_up(len(plans))
            run_cells(_apply, [plans[i].job(j) for i, j in jobs], on_done, executor=executor,
                      bar=bar)
    return [r for r in results if r is not None]


def build(spec: FigureSpec, mode: str = "full", out: Path = DEFAULT_OUT, *, force: bool = False,
          render: bool = True, overrides: dict[str, str] | None = None,
          executor: cf.Executor | None = None) -> BuildResult:
    """Compute (or load from the cache) the data of ``spec`` and render it.

    Parameters
    ----------
    spec : FigureSpec
    mode : {"quick", "full"}
    out : Path
        Output root; the figure goes to ``out / spec.id / mode``.
    force : bool
        Recompute even if the cache is valid.
    render : bool
        Draw the plots / tables after computing or loading the data.
    overrides : dict, optional
        ``{key: text}`` applied to the mode's configuration (:meth:`FigureSpec.config`); the
        figure then goes to ``out / spec.id / overrides_dir(mode, overrides)``, never to the
        default directory of the mode.
    executor : concurrent.futures.Executor, optional
        Where the figure's cells run (see :func:`build_all`); default: in this process.

    Notes
    -----
    See the module docstring for when the cache is served. A damaged pair logs one warning
    line and is recomputed; a stale one is recomputed silently (``BuildResult.reason`` says why).
    """
    return build_all([spec], mode, out, force=force, render=render, overrides=overrides,
                     executor=executor, progress=False)[0]
