"""Lexer: TC text to a list of tokens, each with its :class:`Span`.

Whitespace and ``#`` comments are skipped.  Longest match wins, so ``max=!``
is one token.  A literal with ``.`` or an exponent is a float literal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from polytc.errors import Span, TcSyntaxError

SCALAR_TYPES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
                "int32", "int64", "float16", "float32", "float64", "float", "double")
KEYWORDS = frozenset(("def", "where", "in", "exists", "min", "max") + SCALAR_TYPES)

# Ordered so that longer operators come first.
_OPERATORS = ("<=>", "max=!", "min=!", "max=", "min=", "+=!", "*=!", "+=", "*=",
              "->", "==", "!=", "<=", ">=", "&&", "||",
              "<", ">", "=", "+", "-", "*", "/", "%", "!", "?", ":", ",",
              "(", ")", "{", "}", ".")

_TOKEN_RE = re.compile(
    r"(?P<ws>[ \t\r\n]+|#[^\n]*)"
    r"|(?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<op_kw>(?:max|min)=!?)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>" + "|".join(re.escape(op) for op in _OPERATORS) + ")"
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token.  ``kind`` is ``ident``, ``number``, ``keyword``, ``op`` or ``eof``."""

    kind: str
    text: str
    span: Span


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens, ending with one ``eof`` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            char = source[pos]
            raise TcSyntaxError(f"unexpected character {char!r}", Span(pos, pos + 1), source)
        kind = match.lastgroup or ""
        text = match.group()
        span = Span(pos, match.end())
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "op_kw":
            kind = "op"
        if kind == "ident" and text in KEYWORDS:
            kind = "keyword"
        if kind == "number" and pos < len(source) and (source[pos].isalpha() or source[pos] == "_"):
            raise TcSyntaxError(f"malformed number {text + source[pos]!r}",
                                Span(span.start, pos + 1), source)
        if kind == "number" and text.startswith(".") and tokens and \
                tokens[-1].kind == "ident" and tokens[-1].span.end == span.start:
            # T.1 is the extent of dimension 1 of T, not T followed by 0.1
            tokens.append(Token("op", ".", Span(span.start, span.start + 1)))
            text, span = text[1:], Span(span.start + 1, span.end)
        tokens.append(Token(kind, text, span))
    tokens.append(Token("eof", "", Span(len(source), len(source))))
    return tokens
