"""A graph lowered to one TC def: the text, and how to read results back.

:func:`lower` resolves every reference, orders the ops (rejecting cycles,
unused inputs and ops that feed no output), binds each op's size symbols
(:mod:`.bind`: producers and consumers must agree on ranks, extents and
types), and writes one def: the graph inputs as its parameters, the graph
outputs as its return list, and every op's statements in dependence order
with the op's tensors renamed apart (``<op>_<tensor>``), each input replaced
by the tensor bound to it, and its size symbols by their bindings.  An
intermediate is written and not returned: a temporary, which the frontend
sizes from its producer's statements.  An error the frontend finds in the
combined def is reported in the op's own text (:meth:`LoweredGraph.map_error`).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polytc.errors import GraphError, PolytcError, SourceError, Span
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.lexer import KEYWORDS, Token
from polytc.graph.bind import Binder
from polytc.graph.order import Resolved, resolve, topological
from polytc.graph.rewrite import Piece, Renaming, rewrite_statement
from polytc.program import Program

if TYPE_CHECKING:
    from polytc.codegen_c.kernel import Kernel
    from polytc.graph.builder import Graph


@dataclass(frozen=True, slots=True)
class Segment:
    """Text ``[start, end)`` of the combined def came from ``span`` of op ``op``."""

    start: int
    end: int
    op: str
    span: Span


@dataclass(frozen=True, slots=True)
class LoweredGraph:
    """The combined def of a graph.

    :ivar text: the TC def (``print(lowered.text)`` to read it).
    :ivar inputs, outputs: the kernel's inputs and outputs, in order.
    :ivar ops: op names in the order their statements appear.
    :ivar tensors: each tensor an op writes, by its name in ``text``:
        ``(op, the op's name for it)``.
    :ivar sources: each op's own text.
    """

    name: str
    text: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    ops: tuple[str, ...]
    tensors: dict[str, tuple[str, str]] = field(compare=False)
    sources: dict[str, str] = field(compare=False)
    segments: tuple[Segment, ...] = field(default=(), compare=False)

    @property
    def intermediates(self) -> tuple[str, ...]:
        """Tensors written by ops that the kernel does not return."""
        return tuple(t for t in self.tensors if t not in self.outputs)

    def compile(self, **options: Any) -> "Kernel":
        """:func:`polytc.compile` of :attr:`text`, errors mapped to the ops."""
        from polytc.pipeline import compile as compile_text
        try:
            return compile_text(self.text, **options)
        except SourceError as error:
            raise self.map_error(error) from None

    def program(self, dtype: str | None = None) -> Program:
        """The combined def lowered (no scheduling, no C)."""
        from polytc import frontend
        try:
            return frontend.to_program(self.text, dtype=dtype)
        except SourceError as error:
            raise self.map_error(error) from None

    def op_of(self, program: Program, statement: str) -> str:
        """The op a statement of the combined program comes from."""
        return self.tensors[program.statement(statement).tensor][0]

    def statements_by_op(self, program: Program) -> dict[str, tuple[str, ...]]:
        """Each op's statements in the combined program (fills and inits included)."""
        result: dict[str, list[str]] = {op: [] for op in self.ops}
        for s in program.statements:
            result[self.tensors[s.tensor][0]].append(s.name)
        return {op: tuple(names) for op, names in result.items()}

    def map_error(self, error: SourceError) -> PolytcError:
        """``error`` (about :attr:`text`) as the same error about the op's text."""
        if error.span is None or error.source != self.text:
            return error
        first = self._segment(error.span.start)
        if first is None:
            return GraphError(f"in the combined def of graph '{self.name}': {error}")
        last = self._segment(max(error.span.start, error.span.end - 1))
        start = _inside(first, error.span.start)
        end = first.span.end
        if last is not None and last.op == first.op:
            end = max(start + 1, _inside(last, error.span.end - 1) + 1)
        return type(error)(f"op '{first.op}': {error.message}", Span(start, end),
                           self.sources[first.op])

    def _segment(self, offset: int) -> Segment | None:
        """The segment holding ``offset``, or the next one on the same line."""
        starts = [s.start for s in self.segments]
        index = bisect.bisect_right(starts, offset) - 1
        if index >= 0 and offset < self.segments[index].end:
            return self.segments[index]
        following = self.segments[index + 1] if index + 1 < len(self.segments) else None
        if following is not None and "\n" not in self.text[offset:following.start]:
            return following
        return None


def _inside(segment: Segment, offset: int) -> int:
    """``offset`` of the combined text as an offset of the op's text."""
    shift = min(max(offset - segment.start, 0), segment.span.end - segment.span.start - 1)
    return segment.span.start + max(shift, 0)


def lower(graph: "Graph") -> LoweredGraph:
    """See the module docstring."""
    resolved = resolve(graph)
    order = topological(graph, resolved)
    binder = Binder(graph, resolved)
    for op in order:
        binder.bind(graph.ops[op])
    names = _tensor_names(graph, order, binder, resolved)
    pieces: list[tuple[str, Piece]] = []
    for op in order:
        pieces.extend((op, p) for p in _op_pieces(graph, op, binder, names))
    header = _header(graph, binder)
    text, segments = _assemble(header, pieces)
    tensors = {name: key for key, name in names.items()}
    return LoweredGraph(graph.name, text, tuple(graph.inputs), tuple(graph.outputs),
                        tuple(order), {n: (k[0], k[1]) for n, k in tensors.items()},
                        {op: graph.ops[op].text for op in order}, tuple(segments))


def _tensor_names(graph: "Graph", order: list[str], binder: Binder,
                  resolved: Resolved) -> dict[tuple[str, str], str]:
    """Graph-wide names of the tensors ops write: a graph output's name, else
    ``<op>_<tensor>`` (numbered if taken)."""
    outputs = {key: name for name, key in resolved.outputs.items()}
    taken = set(graph.inputs) | set(graph.outputs) | binder.size_names
    names: dict[tuple[str, str], str] = {}
    for op in order:
        interface = graph.ops[op].interface
        for tensor in [p.name for p in interface.outputs] + list(interface.temporaries):
            key = (op, tensor)
            if key in outputs:
                names[key] = outputs[key]
                continue
            name = _fresh(f"{op}_{tensor}", taken)
            taken.add(name)
            names[key] = name
    return names


def _fresh(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken or candidate in KEYWORDS or candidate in BUILTINS:
        count += 1
        candidate = f"{name}_{count}"
    return candidate


def _op_pieces(graph: "Graph", op: str, binder: Binder,
               names: dict[tuple[str, str], str]) -> list[Piece]:
    node = graph.ops[op]
    interface = node.interface
    tensors = {t: n for (o, t), n in names.items() if o == op}
    for port in interface.inputs:
        producer, tensor = binder.resolved[op][port.name]
        tensors[port.name] = tensor if producer is None else names[(producer, tensor)]
    sizes = binder.size_texts(op)
    _check_sizes_expressible(op, interface.statements, interface.sizes, sizes, binder)
    extents = {(p.name, d): sizes[dim] if isinstance(dim, str) else str(dim)
               for p in interface.inputs for d, dim in enumerate(p.dims)
               if not isinstance(dim, str) or dim in sizes}
    taken = set(names.values()) | set(graph.inputs) | binder.size_names
    local_names = {t.text for stmt in interface.statements for t in stmt
                   if t.kind == "ident" and t.text not in tensors
                   and t.text not in interface.sizes and t.text not in BUILTINS}
    locals_ = {n: _fresh(f"{op}_{n}", taken | local_names) for n in sorted(local_names)
               if n in taken}
    casts: dict[int, str] = {}
    for position, stmt in enumerate(interface.definition.statements):
        dtype = interface.annotated.get(stmt.lhs.name)
        if dtype is not None and not any(s.lhs.name == stmt.lhs.name for s in
                                         interface.definition.statements[:position]):
            casts[position] = dtype
    renaming = Renaming(tensors, sizes, extents, locals_, casts)
    pieces = [Piece(f"  # op {op}\n", None)]
    for position, tokens in enumerate(interface.statements):
        pieces.append(Piece("  ", None))
        pieces.extend(rewrite_statement(interface.text, tokens, position, renaming))
        pieces.append(Piece("\n", None))
    return pieces


def _check_sizes_expressible(op: str, statements: tuple[tuple[Token, ...], ...],
                             sizes: tuple[str, ...], texts: dict[str, str],
                             binder: Binder) -> None:
    """A size an op uses as a value must be writable as TC text."""
    for stmt in statements:
        for token in stmt:
            name = token.text
            if token.kind == "ident" and name in sizes and name not in texts:
                raise GraphError(f"op '{op}' uses size '{name}' in a statement, but it is bound "
                                 f"to the extent {binder.sizes[op][name]}, which TC text "
                                 "cannot express", (op,))


def _header(graph: "Graph", binder: Binder) -> str:
    params = []
    for name in graph.inputs:
        dtype, dims = binder.input_type(name)
        shape = f"({', '.join(str(d) for d in dims)})" if dims else ""
        params.append(f"{dtype}{shape} {name}")
    return f"def {graph.name}({', '.join(params)}) -> ({', '.join(graph.outputs)}) {{\n"


def _assemble(header: str, pieces: list[tuple[str, Piece]]) -> tuple[str, list[Segment]]:
    parts = [header]
    offset = len(header)
    segments: list[Segment] = []
    for op, piece in pieces:
        if piece.span is not None:
            segments.append(Segment(offset, offset + len(piece.text), op, piece.span))
        parts.append(piece.text)
        offset += len(piece.text)
    parts.append("}\n")
    return "".join(parts), segments
