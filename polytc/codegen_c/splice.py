"""Putting generated blocks into the user's C file, keeping the rest.

Each region (the lines from ``#pragma scop`` through ``#pragma endscop``) is
replaced by a comment saying what made it and the block, indented as the
pragma was; the helpers the blocks use go once, just before the first
function with a region (before its declaration specifiers, which may start
on an earlier line: ``static`` above ``void kernel(...)``).  Every other byte
of the file is kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SPECIFIERS = re.compile(r"\s*((static|inline|extern|__inline__|__inline|_Noreturn|"
                         r"void|int|double|float|char|long|short|unsigned|signed|const)\s*)+\Z")


@dataclass(frozen=True, slots=True)
class Replacement:
    """Lines ``first`` through ``last`` (1-based, inclusive) become ``comment``
    and ``block``."""

    first: int
    last: int
    comment: str
    block: str


def splice(text: str, replacements: list[Replacement], helpers: str, helpers_line: int) -> str:
    """``text`` with each replacement made and ``helpers`` inserted before
    line ``helpers_line`` (1-based; none when ``helpers`` is empty)."""
    lines = text.splitlines(keepends=True)
    for replacement in sorted(replacements, key=lambda r: -r.first):
        pragma = lines[replacement.first - 1]
        indent = pragma[:len(pragma) - len(pragma.lstrip())]
        newline = "\r\n" if pragma.endswith("\r\n") else "\n"
        body = [indent + replacement.comment] + [indent + line if line else line
                                                 for line in replacement.block.split("\n")]
        lines[replacement.first - 1:replacement.last] = [line + newline for line in body]
    if helpers:
        position = helpers_line - 1
        lines[position:position] = [helpers if helpers.endswith("\n") else helpers + "\n"]
    return "".join(lines)


def declaration_start(text: str, line: int) -> int:
    """The first line of the declaration whose declarator is on ``line``: the
    lines right above it that hold only declaration specifiers belong to it."""
    lines = text.splitlines()
    start = line
    while start > 1 and lines[start - 2].strip() and _SPECIFIERS.match(lines[start - 2]):
        start -= 1
    return start


def comment(text: str) -> str:
    """``text`` as one C comment (``*/`` inside it defused)."""
    return "/* " + text.replace("*/", "* /") + " */"
