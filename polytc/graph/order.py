"""Resolving a graph's references and ordering its ops.

A reference (a :class:`~.builder.Value` or its string) becomes a
:data:`Key`: ``(None, input)`` for a graph input, ``(op, output)`` for an
op's output.  The ops are then ordered producers first (Kahn's algorithm,
ties in the order they were added); a cycle, an input nothing reads and an
op that feeds no graph output are errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

from polytc.errors import GraphError

if TYPE_CHECKING:
    from polytc.graph.builder import Graph, Ref

Key = Tuple[Optional[str], str]


@dataclass(frozen=True, slots=True)
class Resolved:
    """Every op input's value and every graph output's value, as keys."""

    bindings: dict[str, dict[str, Key]]
    outputs: dict[str, Key]


def describe(key: Key) -> str:
    """``graph input 'X'`` or ``output 'Y' of op 'fc'``."""
    op, tensor = key
    return f"graph input '{tensor}'" if op is None else f"output '{tensor}' of op '{op}'"


def resolve(graph: "Graph") -> Resolved:
    """Keys of all references; unknown names are errors."""
    bindings = {name: {port: _key(graph, ref, f"input '{port}' of op '{name}'")
                       for port, ref in op.bindings.items()}
                for name, op in graph.ops.items()}
    outputs = {name: _key(graph, ref, f"graph output '{name}'")
               for name, ref in graph.outputs.items()}
    if not outputs:
        raise GraphError(f"graph '{graph.name}' has no outputs; declare them with g.output(...)")
    seen: dict[Key, str] = {}
    for name, key in outputs.items():
        if key[0] is None:
            raise GraphError(f"graph output '{name}' is graph input '{key[1]}'; an output must "
                             "be computed by an op")
        if key in seen:
            raise GraphError(f"{describe(key)} is returned twice, as '{seen[key]}' and "
                             f"'{name}'", (key[0],))
        seen[key] = name
    return Resolved(bindings, outputs)


def _key(graph: "Graph", ref: "Ref", what: str) -> Key:
    text = str(ref)
    if "." in text:
        op, _, tensor = text.partition(".")
        if op not in graph.ops:
            raise GraphError(f"{what} refers to '{text}', but there is no op '{op}' "
                             f"(ops: {', '.join(graph.ops) or 'none'})")
        return op, graph.ops[op].output(tensor).tensor
    if text in graph.inputs:
        return None, text
    if text in graph.ops:
        return text, graph.ops[text].output().tensor
    raise GraphError(f"{what} refers to '{text}', which is neither a graph input "
                     f"({', '.join(graph.inputs) or 'none'}) nor an op "
                     f"({', '.join(graph.ops) or 'none'})")


def topological(graph: "Graph", resolved: Resolved) -> list[str]:
    """Op names, every producer before its consumers."""
    producers = {op: sorted({k[0] for k in ports.values() if k[0] is not None},
                            key=list(graph.ops).index)
                 for op, ports in resolved.bindings.items()}
    _check_acyclic(producers)
    needed: set[str] = set()
    stack = [k[0] for k in resolved.outputs.values() if k[0] is not None]
    while stack:
        op = stack.pop()
        if op not in needed:
            needed.add(op)
            stack.extend(producers[op])
    for op in graph.ops:
        if op not in needed:
            raise GraphError(f"op '{op}' feeds no graph output; return one of its outputs "
                             "with g.output(...) or remove it", (op,))
    read = {k[1] for ports in resolved.bindings.values() for k in ports.values()
            if k[0] is None}
    for name in graph.inputs:
        if name not in read:
            raise GraphError(f"graph input '{name}' is read by no op")
    order: list[str] = []
    while len(order) < len(graph.ops):
        ready = next(op for op in graph.ops if op not in order and
                     all(p in order for p in producers[op]))
        order.append(ready)
    return order


def _check_acyclic(producers: dict[str, list[str]]) -> None:
    """Depth-first search; a back edge is reported as the cycle it closes."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    path: list[str] = []

    def visit(op: str) -> None:
        state[op] = 1
        path.append(op)
        for producer in producers[op]:
            if state.get(producer) == 1:
                cycle = path[path.index(producer):] + [producer]
                raise GraphError("the graph has a cycle: " + " -> ".join(reversed(cycle)) +
                                 " (each op feeds the next)", tuple(cycle[:-1]))
            if producer not in state:
                visit(producer)
        path.pop()
        state[op] = 2

    for op in producers:
        if op not in state:
            visit(op)
