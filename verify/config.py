"""Typed settings of claims and figures: re-exported from :mod:`sim.config` (a stdlib-only module,
so that figure modules importing it keep ``verify`` out of their cache keys)."""

from sim.config import MODES, Config, Modes, config_cache, parse_sets, type_name

__all__ = ["MODES", "Config", "Modes", "config_cache", "parse_sets", "type_name"]
