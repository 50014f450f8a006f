"""One op of a graph, checked on its own: its interface and its statements.

:func:`analyze` parses and lowers the op's TC text alone, so every error in
it points into that text (line, column and caret relative to the op), and
keeps what the graph layer needs: the inputs (type and declared dims, in
the op's own size symbols), the outputs (type and inferred extents), the
temporaries, and the tokens of each statement for :mod:`.rewrite`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import islpy as isl

from polytc import dtypes, frontend
from polytc.errors import SourceError
from polytc.frontend import ast
from polytc.frontend.lexer import Token, tokenize
from polytc.program import Program


@dataclass(frozen=True, slots=True)
class Port:
    """An input or output of an op.  ``dims`` holds, for an input, the size
    symbol or constant of each dimension as declared; ``shape`` holds, for
    an output, its inferred extents over the op's size symbols."""

    name: str
    dtype: str
    dims: tuple[str | int, ...] = ()
    shape: tuple[isl.PwAff, ...] = field(default=(), compare=False)

    @property
    def rank(self) -> int:
        return len(self.shape) if self.shape else len(self.dims)


@dataclass(frozen=True, slots=True)
class OpInterface:
    """An op's text, its lowered program and what the graph needs of it.

    :ivar annotated: outputs whose type the def's return list declares (the
        graph keeps their type with a cast when they become temporaries).
    :ivar statements: per statement, its tokens in the op's text.
    """

    text: str
    definition: ast.Def
    program: Program = field(compare=False)
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    temporaries: tuple[str, ...]
    annotated: dict[str, str]
    statements: tuple[tuple[Token, ...], ...]

    @property
    def sizes(self) -> tuple[str, ...]:
        return self.program.params

    def input(self, name: str) -> Port:
        return next(p for p in self.inputs if p.name == name)

    def output(self, name: str) -> Port:
        return next(p for p in self.outputs if p.name == name)


def analyze(text: str, entry: str | None, dtype: str | None, op: str) -> OpInterface:
    """Parse and lower ``text`` alone; a frontend error names ``op``."""
    try:
        definition = frontend.select(frontend.parse(text), entry, text)
        program = frontend.lower(definition, text,
                                 dtype=dtypes.canonical(dtype or dtypes.FLOAT32))
    except SourceError as error:
        raise type(error)(f"op '{op}': {error.message}", error.span, error.source) from None
    tokens = tokenize(text)
    statements = tuple(tuple(t for t in tokens if stmt.span.start <= t.span.start < stmt.span.end)
                       for stmt in definition.statements)
    inputs = tuple(Port(t.name, t.dtype, t.dims) for t in program.inputs)
    outputs = tuple(Port(t.name, t.dtype, (), t.shape) for t in program.outputs)
    annotated = {r.name.name: dtypes.canonical(r.type.scalar) for r in definition.returns
                 if r.type is not None}
    return OpInterface(text, definition, program, inputs, outputs,
                       tuple(t.name for t in program.temporaries), annotated, statements)
