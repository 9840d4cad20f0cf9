"""One name per quantity: a symbol's Python name in theory.symbols is its sympy name."""

import sympy as sp

import theory.symbols as ts

EXCEPTIONS = {"c_lin": "c"}  # documented in the module docstring


def test_python_names_are_sympy_names():
    symbols = {k: v for k, v in vars(ts).items() if isinstance(v, sp.Symbol)}
    assert {"Delta_0", "epsilon", "Stilde_K", "S_K", "S_K_general", "W_max"} <= symbols.keys()
    wrong = {k: str(v) for k, v in symbols.items() if str(v) != EXCEPTIONS.get(k, k)}
    assert not wrong, f"Python name != sympy name: {wrong}"


def test_every_symbol_has_a_meaning_and_a_domain():
    for name in (str(v) for v in vars(ts).values() if isinstance(v, sp.Symbol)):
        assert name in ts.MEANINGS and name in ts.DOMAINS, name
