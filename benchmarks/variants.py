"""``--variant NAME:OPTION=VALUE,...``: another polytc rewrite for a benchmark.

Shared by ``polybench.py`` and ``stencils.py``: each variant is a column
``NAME@T`` built with those :func:`polytc.transform_c` options (values as
Python literals, else strings: ``diamond:time_tiling=diamond,tile=(8, 8, 64)``).
"""
from __future__ import annotations

import argparse
import ast

#: polytc's rewrites by column name: transform_c's options (the default first)
Variants = dict[str, dict[str, object]]
DEFAULT_VARIANTS: Variants = {"polytc": {}}


def variant_option(text: str) -> tuple[str, dict[str, object]]:
    """``NAME:OPTION=VALUE,...`` as (name, options)."""
    name, _, settings = text.partition(":")
    if not name or not settings or "@" in name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME:OPTION=VALUE,...")
    options: dict[str, object] = {}
    for setting in _top_level_split(settings):
        key, _, value = setting.partition("=")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return name, options


def add_variant_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", type=variant_option, action="append", default=[],
                        metavar="NAME:OPTION=VALUE,...", help="another polytc rewrite, with "
                        "these transform_c options (e.g. diamond:time_tiling=diamond)")


def _top_level_split(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    return parts + [text[start:]]
