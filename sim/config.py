"""Typed settings of claims and figures (re-exported as :mod:`verify.config`): frozen dataclasses
with one instance per mode.

A claim or figure declares its constants as a subclass of :class:`Config` (a frozen dataclass
whose fields carry type hints) and gives one instance per mode in :class:`Modes`::

    @dataclass(frozen=True)
    class Floor(Config):
        alphas: tuple[float, ...]
        runs: int
        horizon: float = 40.0

    FLOOR = Modes(quick=Floor(alphas=(0.1, 0.05), runs=200),
                  full=Floor(alphas=(0.1, 0.03, 0.01), runs=8000, horizon=60.0))

Field values are checked against the hints when an instance is made (``int`` for ``int``; ``int``
or ``float`` for ``float``; ``tuple[T, ...]``, fixed tuples, ``X | None``, ``Literal``, ``str``,
``bool`` and nested :class:`Config` subclasses). :meth:`Config.override` applies command-line
overrides ``key=value`` (``--set tau=2 --set alphas=0.01,0.02``), parsing each value to its
field's type (a comma list for a tuple, ``;`` between the inner tuples of a tuple of tuples,
``none`` for ``None``; a dotted key ``fcn.lr=0.2`` reaches into a nested config). An unknown key
or a value that does not parse is a one-line :class:`ValueError` naming the key and the allowed
keys or the expected type.

While a claim runs with overrides, ``modes[mode]`` returns the overridden instance (see
:meth:`Modes.overridden`), so the claim's code reads its settings the same way in both cases. A
function memoised on ``mode`` must then use :func:`config_cache` (not ``functools.cache``), whose
key includes the overrides in effect.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Toy(Config):
...     tau: float
...     alphas: tuple[float, ...] = (0.1,)
>>> Toy(tau=1.0).override({"tau": "2", "alphas": "0.01,0.02"})
Toy(tau=2.0, alphas=(0.01, 0.02))
>>> Toy(tau="1")
Traceback (most recent call last):
...
TypeError: Toy.tau must be of type float, got '1' (str)
>>> Toy(tau=1.0).override({"rate": "2"})
Traceback (most recent call last):
...
ValueError: unknown key 'rate'; allowed: tau (float), alphas (tuple[float, ...])
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import numbers
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Generic, Literal, TypeVar, Union

MODES: tuple[str, ...] = ("quick", "full")
_NONE_WORDS = ("none", "null")
_TRUE = ("1", "true", "yes", "on")
_C = TypeVar("_C", bound="Config")
_FALSE = ("0", "false", "no", "off")


def type_name(hint: object) -> str:
    """Readable name of a type hint (``float``, ``tuple[int, ...]``, ``float | None``).

    >>> type_name(tuple[float, ...]), type_name(typing.Optional[int])
    ('tuple[float, ...]', 'int | None')
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{type_name(args[0])}, ...]"
        return f"tuple[{', '.join(type_name(a) for a in args)}]"
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if hint is type(None):
        return "None"
    return getattr(hint, "__name__", str(hint))


def _is_config(hint: object) -> bool:
    return isinstance(hint, type) and issubclass(hint, Config)


def _conforms(value: object, hint: object) -> bool:
    """Whether ``value`` is of the type ``hint`` (the subset of hints configs use)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if _is_config(hint):
        return isinstance(value, hint)  # type: ignore[arg-type]
    if origin in (Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args, strict=True))
    raise TypeError(f"config fields may not have type {type_name(hint)} (use numbers, strings,"
                    " tuples, Literal, X | None and nested Config classes)")


def _parse(text: str, hint: object) -> object:
    """``text`` (a command-line value) as a value of type ``hint``; ValueError if it is not one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    s = text.strip()
    if origin in (Union, types.UnionType):
        if type(None) in args and s.lower() in _NONE_WORDS:
            return None
        for a in args:
            if a is type(None):
                continue
            with contextlib.suppress(ValueError):
                return _parse(text, a)
        raise ValueError
    if origin is Literal:
        for a in args:
            with contextlib.suppress(ValueError):
                v = _parse(text, type(a))
                if v == a:
                    return a
        raise ValueError
    if hint is bool:
        if s.lower() in _TRUE:
            return True
        if s.lower() in _FALSE:
            return False
        raise ValueError
    if hint is int:
        return int(s)
    if hint is float:
        return float(s)
    if hint is str:
        return text
    if origin is tuple:
        inner_tuple = any(typing.get_origin(a) is tuple for a in args)
        sep = ";" if inner_tuple else ","
        parts = s.split(sep) if s else []
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse(p, args[0]) for p in parts)
        if len(parts) != len(args):
            raise ValueError
        return tuple(_parse(p, a) for p, a in zip(parts, args, strict=True))
    raise ValueError


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class of the typed settings of a claim or figure (see the module docstring).

    Subclasses are ``@dataclass(frozen=True)``; every field needs a type hint of the kinds listed
    in the module docstring. Instances are validated when made (:class:`TypeError` naming the
    class, the field, the expected type and the value).
    """

    def __post_init__(self) -> None:
        hints = self.field_types()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not _conforms(value, hints[f.name]):
                raise TypeError(f"{type(self).__name__}.{f.name} must be of type {type_name(hints[f.name])},"
                                f" got {value!r} ({type(value).__name__})")

    @classmethod
    def field_types(cls) -> dict[str, object]:
        """Field name -> resolved type hint, in declaration order."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @classmethod
    def allowed(cls, prefix: str = "") -> list[str]:
        """The keys :meth:`override` accepts, each with its type (``"tau (float)"``); nested
        configs contribute dotted keys."""
        out = []
        for name, hint in cls.field_types().items():
            if _is_config(hint):
                out += hint.allowed(f"{prefix}{name}.")  # type: ignore[attr-defined]
            else:
                out.append(f"{prefix}{name} ({type_name(hint)})")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (nested configs as dicts; :func:`dataclasses.asdict`)."""
        return dataclasses.asdict(self)

    def override(self: _C, overrides: Mapping[str, str]) -> _C:
        """A copy with the command-line ``overrides`` (key -> text) applied.

        Parameters
        ----------
        overrides
            ``{"tau": "2", "alphas": "0.01,0.02", "fcn.lr": "0.2"}``: each text is parsed to the
            field's type.

        Returns
        -------
        Config
            A new instance of the same class (validated); ``self`` if ``overrides`` is empty.

        Raises
        ------
        ValueError
            One line: an unknown key (with the allowed keys and their types) or a value that does
            not parse as the field's type.
        """
        return _override(self, dict(overrides), "", type(self)) if overrides else self


def _override(cfg: _C, overrides: dict[str, str], prefix: str, root: type[Config]) -> _C:
    hints = cfg.field_types()
    direct: dict[str, object] = {}
    nested: dict[str, dict[str, str]] = {}
    for key, text in overrides.items():
        head, dot, rest = key.partition(".")
        hint = hints.get(head)
        if hint is None or (dot and not _is_config(hint)) or (not dot and _is_config(hint)):
            raise ValueError(f"unknown key {prefix + key!r}; allowed: {', '.join(root.allowed())}")
        if dot:
            nested.setdefault(head, {})[rest] = text
            continue
        try:
            direct[head] = _parse(str(text), hint)
        except ValueError:
            raise ValueError(f"{prefix}{key}={text}: expected {type_name(hint)}"
                             + (" (comma-separated)" if typing.get_origin(hint) is tuple else "")
                             ) from None
    for head, sub in nested.items():
        direct[head] = _override(getattr(cfg, head), sub, f"{prefix}{head}.", root)
    try:
        return dataclasses.replace(cfg, **direct)
    except TypeError as err:  # a parsed value the field's type still rejects
        raise ValueError(str(err)) from None


C = TypeVar("C", bound=Config)

# the instances in effect while a claim runs with overrides: id(Modes) -> {mode: Config}
_ACTIVE: ContextVar[dict[int, dict[str, Config]] | None] = ContextVar("aimc_config_overrides", default=None)


@dataclasses.dataclass(frozen=True)
class Modes(Generic[C]):
    """One :class:`Config` instance per mode (``quick``: CI-sized, ``full``: paper scale).

    ``modes[mode]`` is the instance of that mode, or, inside :meth:`overridden`, the overridden
    one.
    """

    quick: C
    full: C

    def __post_init__(self) -> None:
        for mode in MODES:
            if not isinstance(getattr(self, mode), Config):
                raise TypeError(f"Modes.{mode} must be a Config instance, got {getattr(self, mode)!r}")
        if type(self.quick) is not type(self.full):
            raise TypeError(f"Modes: quick and full must be of one class, got {type(self.quick).__name__}"
                            f" and {type(self.full).__name__}")

    @property
    def type(self) -> type[C]:
        """The :class:`Config` subclass of the instances."""
        return type(self.quick)

    def __getitem__(self, mode: str) -> C:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        active = (_ACTIVE.get() or {}).get(id(self))
        if active is not None and mode in active:
            return active[mode]  # type: ignore[return-value]
        base: C = getattr(self, mode)
        return base

    def resolve(self, mode: str, overrides: Mapping[str, str] | None = None) -> C:
        """The instance of ``mode`` with ``overrides`` applied (see :meth:`Config.override`)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        base: C = getattr(self, mode)
        return base.override(overrides or {})

    @contextlib.contextmanager
    def overridden(self, mode: str, config: C) -> Iterator[C]:
        """Within the block (and in the current thread / task), ``self[mode]`` is ``config``."""
        if not isinstance(config, self.type):
            raise TypeError(f"expected a {self.type.__name__}, got {type(config).__name__}")
        token = _ACTIVE.set({**(_ACTIVE.get() or {}), id(self): {mode: config}})
        try:
            yield config
        finally:
            _ACTIVE.reset(token)


def _active_key() -> tuple:
    active = _ACTIVE.get() or {}
    return tuple(sorted(((k, m, c) for k, d in active.items() for m, c in d.items()),
                        key=lambda t: (t[0], t[1])))


_F = TypeVar("_F", bound=Callable[..., Any])


def config_cache(fn: _F) -> _F:
    """``functools.cache`` for functions that read settings through :class:`Modes`: the key is the
    arguments *and* the overrides in effect (:meth:`Modes.overridden`), so a run with ``--set`` is
    never served a result computed with other settings. ``cache_clear`` is kept.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class N(Config):
    ...     n: int
    >>> NS = Modes(quick=N(1), full=N(2))
    >>> @config_cache
    ... def total(mode):
    ...     return NS[mode].n * 10
    >>> total("quick")
    10
    >>> with NS.overridden("quick", N(5)):
    ...     total("quick")
    50
    >>> total("quick")
    10
    """

    @functools.cache
    def cached(_active: tuple, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return cached(_active_key(), *args, **kwargs)

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["tau=2", "alphas=0.01,0.02"]`` (repeated ``--set``) -> ``{"tau": "2", ...}``.

    Raises
    ------
    ValueError
        One line, for an item without ``=``, with an empty key, or a key given twice.

    Examples
    --------
    >>> parse_sets(["tau=2", "alphas=0.01,0.02"])
    {'tau': '2', 'alphas': '0.01,0.02'}
    """
    out: dict[str, str] = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        if key in out:
            raise ValueError(f"--set {key}: given twice")
        out[key] = value
    return out
