"""Parsing preprocessed C with pycparser, locating problems, finding regions.

:func:`parse` turns the preprocessor's output into pycparser's tree (a parse
error becomes a :class:`~polytc.errors.CFrontendError` at its position).
:class:`Diagnostics` collects the problems of a region with their position in
the *original* file (pycparser's coordinates come from the line markers;
columns are re-anchored on the original line where a macro expansion moved
them), the source line and a hint.  :func:`regions` finds every ``#pragma
scop`` ... ``#pragma endscop`` pair: both pragmas in one block, the
statements strictly between them form the region.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pycparser import c_ast, c_generator, c_parser

from polytc.errors import CDiagnostic, CFrontendError
from polytc.frontend.c.preprocess import Preprocessed, Source

_POSITION = re.compile(r"(.*?):(\d+):(\d+): (.*)\Z", re.DOTALL)
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|\S")


@dataclass(frozen=True)
class Unit:
    """A parsed translation unit."""

    ast: c_ast.FileAST
    source: Source
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    """A region of a function: the statements between ``scop`` and
    ``endscop`` (or a whole function body after its declarations, when the
    pragmas are None), the blocks and loops enclosing it, and its index in
    the file."""

    function: c_ast.FuncDef
    items: tuple[c_ast.Node, ...]
    scop: c_ast.Pragma | None
    endscop: c_ast.Pragma | None
    path: tuple[c_ast.Node, ...]
    index: int

    @property
    def name(self) -> str:
        base = self.function.decl.name
        return base if self.index == 0 else f"{base}_{self.index}"


def parse(pre: Preprocessed) -> Unit:
    """pycparser's tree of ``pre``; a syntax error raises CFrontendError."""
    try:
        ast = c_parser.CParser().parse(pre.text, pre.source.cpp_name)
    except c_parser.ParseError as error:
        raise CFrontendError([_parse_diagnostic(str(error), pre.source)]) from None
    return Unit(ast, pre.source, pre.flags)


def _parse_diagnostic(message: str, source: Source) -> CDiagnostic:
    match = _POSITION.match(message)
    if match is None:
        return CDiagnostic(f"cannot parse the C input: {message}", source.name, 0, 0,
                           hint="polytc reads C99 without GNU extensions")
    file, line, column, text = match.group(1), int(match.group(2)), int(match.group(3)), \
        match.group(4)
    mine = file == source.cpp_name
    return CDiagnostic(f"syntax error {text}", source.name if mine else file, line, column,
                       source.line(line) if mine else "",
                       hint="polytc reads C99 without GNU extensions")


class Diagnostics:
    """The problems found in one region, located in the original source."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.found: list[CDiagnostic] = []
        self._generator = c_generator.CGenerator()

    def add(self, node: c_ast.Node | None, message: str, hint: str = "") -> None:
        self.found.append(self.locate(node, message, hint))

    def locate(self, node: c_ast.Node | None, message: str, hint: str = "") -> CDiagnostic:
        coord = getattr(node, "coord", None)
        if coord is None or coord.line is None:
            return CDiagnostic(message, self.source.name, 0, 0, hint=hint)
        mine = coord.file == self.source.cpp_name
        line_text = self.source.line(coord.line) if mine else ""
        column = coord.column or 1
        text = self.text(node) if node is not None else ""
        column = _anchor(line_text, column, text)
        width = max(1, len(text.split("\n")[0].rstrip()))
        return CDiagnostic(message, self.source.name if mine else coord.file, coord.line,
                           column, line_text, width, hint)

    def text(self, node: c_ast.Node) -> str:
        """The C text of ``node`` (macros expanded), for messages."""
        try:
            return str(self._generator.visit(node))
        except Exception:  # noqa: BLE001 - a message without the text is still a message
            return ""

    def raise_if_any(self) -> None:
        if self.found:
            unique = list(dict.fromkeys(self.found))
            unique.sort(key=lambda d: (d.line, d.column))
            raise CFrontendError(unique)


def _anchor(line: str, column: int, text: str) -> int:
    """``column`` moved to where ``text``'s first token starts on the
    original ``line`` when a macro expansion shifted it, else unchanged."""
    match = _TOKEN.match(text.lstrip())
    if not line or match is None:
        return column
    token = match.group(0)
    if line[column - 1:column - 1 + len(token)] == token:
        return column
    starts = [m.start() + 1 for m in re.finditer(re.escape(token), line)]
    return min(starts, key=lambda s: abs(s - column)) if starts else column


def regions(unit: Unit, function: str | None = None) -> list[Region]:
    """Every pragma region of the file (of ``function`` only, when named), in
    source order; unbalanced or misplaced pragmas raise CFrontendError."""
    diagnostics = Diagnostics(unit.source)
    found: list[Region] = []
    for ext in unit.ast.ext:
        if not isinstance(ext, c_ast.FuncDef):
            continue
        if function is not None and ext.decl.name != function:
            continue
        index = len([r for r in found if r.function.decl.name == ext.decl.name])
        for items, scop, end, path in _scan(ext.body, (ext.body,), diagnostics):
            found.append(Region(ext, items, scop, end, path, index))
            index += 1
    diagnostics.raise_if_any()
    return found


def whole_body(function: c_ast.FuncDef) -> Region:
    """A function without pragmas as one region: its body after the leading
    declarations."""
    items = tuple(function.body.block_items or ())
    start = 0
    while start < len(items) and isinstance(items[start], c_ast.Decl):
        start += 1
    return Region(function, items[start:], None, None, (function.body,), 0)


def _scan(node: c_ast.Node, path: tuple[c_ast.Node, ...], diagnostics: Diagnostics
          ) -> list[tuple[tuple[c_ast.Node, ...], c_ast.Pragma, c_ast.Pragma,
                          tuple[c_ast.Node, ...]]]:
    """The regions in the statement ``node`` (``path``: it and its enclosing
    statements, outermost first)."""
    found = []
    if isinstance(node, c_ast.Compound):
        items = list(node.block_items or ())
        open_at: int | None = None
        for position, item in enumerate(items):
            kind = _pragma_kind(item)
            if kind == "scop":
                if open_at is not None:
                    diagnostics.add(item, "#pragma scop inside another scop region",
                                    "close the first region with #pragma endscop")
                open_at = position
            elif kind == "endscop":
                if open_at is None:
                    diagnostics.add(item, "#pragma endscop without matching #pragma scop",
                                    "scop pragmas must be in the same block")
                else:
                    found.append((tuple(items[open_at + 1:position]), items[open_at], item,
                                  path))
                    open_at = None
            elif open_at is None:
                found += _scan(item, path + (item,), diagnostics)
        if open_at is not None:
            diagnostics.add(items[open_at], "#pragma scop without matching #pragma endscop "
                            "in the same block", "scop pragmas must be in the same block")
        return found
    for child in _statements(node):
        found += _scan(child, path + (child,), diagnostics)
    return found


def _statements(node: c_ast.Node) -> list[c_ast.Node]:
    """The sub-statements of a compound-statement-holding node."""
    if isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile)):
        return [node.stmt] if node.stmt is not None else []
    if isinstance(node, c_ast.If):
        return [n for n in (node.iftrue, node.iffalse) if n is not None]
    if isinstance(node, (c_ast.Switch, c_ast.Label, c_ast.Case, c_ast.Default)):
        inner = getattr(node, "stmt", None) or getattr(node, "stmts", None)
        if isinstance(inner, list):
            return inner
        return [inner] if inner is not None else []
    return []


def _pragma_kind(node: c_ast.Node) -> str | None:
    if isinstance(node, c_ast.Pragma):
        words = node.string.split()
        if words and words[0] in ("scop", "endscop"):
            return words[0]
    return None
