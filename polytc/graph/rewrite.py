"""Rewriting one op's statements into the graph's combined def.

Token by token, so names are classified exactly as TC does (one namespace
per def): a tensor becomes its graph-wide name, a size symbol the text of
its binding, ``T.d`` the text of input ``T``'s extent ``d``, a clashing
index or let name a renamed one; builtins, numbers and operators are kept,
and so is the text between tokens (spacing, line breaks, comments).  Each
emitted token keeps the span it came from, to map errors back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from polytc.errors import Span
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.lexer import Token

ASSIGN_OPS = frozenset(("=", "+=", "*=", "max=", "min=", "+=!", "*=!", "max=!", "min=!"))


@dataclass(frozen=True, slots=True)
class Piece:
    """Emitted text; ``span`` is where it came from in the op's text
    (``None`` for text the graph layer added)."""

    text: str
    span: Span | None


@dataclass(frozen=True, slots=True)
class Renaming:
    """How an op's names read in the combined def.

    :ivar tensors: op tensor -> graph tensor name.
    :ivar sizes: op size symbol -> TC text of its binding.
    :ivar extents: ``(input, d)`` -> TC text of that input's extent ``d``.
    :ivar locals: index or let name -> its new name, where it clashed.
    :ivar casts: statement position -> type to cast its right-hand side to.
    """

    tensors: Mapping[str, str]
    sizes: Mapping[str, str]
    extents: Mapping[tuple[str, int], str]
    locals: Mapping[str, str]
    casts: Mapping[int, str]


def rewrite_statement(source: str, tokens: tuple[Token, ...], position: int,
                      renaming: Renaming) -> list[Piece]:
    """The pieces of statement number ``position`` (its ``tokens`` in ``source``)."""
    pieces: list[Piece] = []
    cast = renaming.casts.get(position)
    rhs_start, rhs_end = _rhs_range(tokens) if cast else (-1, -1)
    i, previous = 0, None
    while i < len(tokens):
        token = tokens[i]
        if previous is not None and previous.span.end < token.span.start:
            pieces.append(Piece(source[previous.span.end:token.span.start], None))
        if i == rhs_start:
            pieces.append(Piece(f"{cast}(", None))
        text, used = _translate(tokens, i, renaming)
        span = Span(token.span.start, tokens[i + used - 1].span.end)
        pieces.append(Piece(text, span))
        if i <= rhs_end < i + used:
            pieces.append(Piece(")", None))
        i += used
        previous = tokens[i - 1]
    return pieces


def _translate(tokens: tuple[Token, ...], i: int, renaming: Renaming) -> tuple[str, int]:
    """Text replacing ``tokens[i]`` and how many tokens it consumes."""
    token = tokens[i]
    if token.kind != "ident":
        return token.text, 1
    name = token.text
    if (i + 2 < len(tokens) and tokens[i + 1].text == "." and tokens[i + 2].kind == "number"
            and tokens[i + 2].text.isdigit()
            and (name, int(tokens[i + 2].text)) in renaming.extents):
        return f"({renaming.extents[(name, int(tokens[i + 2].text))]})", 3
    if name in renaming.tensors:
        return renaming.tensors[name], 1
    if name in renaming.sizes:
        text = renaming.sizes[name]
        return (text if text.isidentifier() or text.isdigit() else f"({text})"), 1
    if name in BUILTINS:
        return name, 1
    return renaming.locals.get(name, name), 1


def _rhs_range(tokens: tuple[Token, ...]) -> tuple[int, int]:
    """First and last token of the right-hand side (before ``<=>``/``where``)."""
    depth, start = 0, -1
    for i, token in enumerate(tokens):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.kind == "op" and token.text in ASSIGN_OPS:
            start = i + 1
            break
    end = len(tokens) - 1
    depth = 0
    for i in range(start, len(tokens)):
        token = tokens[i]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and (token.text == "<=>" or
                             (token.kind == "keyword" and token.text == "where")):
            end = i - 1
            break
    return start, end
