"""The statement-level dependence graph, as data and as Graphviz DOT text.

Nodes are the program's statements (with their text), edges its dependence
maps ``δ_{S→T}`` of each kind (labelled with the tensor and the distance
vector in iteration space, :mod:`polytc.poly.distances`), and clusters the
fused groups of the schedule (statements sharing a loop,
:attr:`~polytc.poly.summary.ScheduleSummary.fused_groups`).  The DOT text
needs no Graphviz to produce: render it with ``dot -Tsvg`` where installed.
No matplotlib here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import islpy as isl

from polytc.plot import geometry
from polytc.poly.summary import statement_text, summarize

_COLOURS = {"flow": "#1f77b4", "anti": "#ff7f0e", "output": "#2ca02c"}
_STYLES = {"flow": "solid", "anti": "dashed", "output": "dotted"}


@dataclass(frozen=True, slots=True)
class Edge:
    """A dependence ``source -> target`` of one kind on one tensor."""

    kind: str
    source: str
    target: str
    tensor: str
    distance: str  # "(0, 0, 1)": per dimension a value or a range

    @property
    def label(self) -> str:
        return f"{self.kind} {self.tensor}\n{self.distance}"


@dataclass(frozen=True, slots=True)
class DependenceGraph:
    """Statements ``(name, text)`` in execution order, dependence edges, and
    the fused groups of the schedule (empty without a schedule)."""

    name: str
    nodes: tuple[tuple[str, str], ...]
    edges: tuple[Edge, ...]
    clusters: tuple[tuple[str, ...], ...]


def dependence_graph(obj: Any, schedule: isl.Schedule | None = None) -> DependenceGraph:
    """The :class:`DependenceGraph` of a Kernel or Program (``schedule``
    overrides the kernel's for the clusters)."""
    found = geometry.sources(obj)
    program, deps = found.program, found.deps
    assert program is not None and deps is not None
    tree = schedule if schedule is not None else found.schedule
    clusters = summarize(tree, program).fused_groups if tree is not None else ()
    ordered = [name for group in clusters for name in group]
    ordered += [s.name for s in program.statements if s.name not in ordered]
    nodes = tuple((name, statement_text(program.statement(name))) for name in ordered)
    edges = tuple(Edge(d.kind, d.source, d.target, d.tensor, f"({', '.join(d.ranges)})")
                  for d in deps.distances(program=program))
    return DependenceGraph(program.name, nodes, edges, tuple(clusters))


def dependence_graph_dot(obj: Any, schedule: isl.Schedule | None = None) -> str:
    """The dependence graph as Graphviz DOT text: statements as boxes, edges
    coloured by kind (flow solid, anti dashed, output dotted) and labelled
    with the tensor and distance vector, fused groups as clusters."""
    graph = dependence_graph(obj, schedule)
    lines = [f"digraph {_quote(graph.name)} {{",
             '  node [shape=box, style=rounded, fontname="monospace"];',
             '  edge [fontname="monospace", fontsize=10];']
    clustered = set()
    for k, group in enumerate(graph.clusters):
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(f'    label="fused group {k}"; style=dashed; color="#888888";')
        for name in group:
            lines.append(f"    {_quote(name)};")
            clustered.add(name)
        lines.append("  }")
    for name, text in graph.nodes:
        lines.append(f"  {_quote(name)} [label={_quote(f'{name}: {text}')}];")
    for edge in graph.edges:
        colour = _COLOURS.get(edge.kind, "#555555")
        line = _STYLES.get(edge.kind, "solid")
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} "
                     f"[label={_quote(edge.label)}, color={_quote(colour)}, "
                     f"fontcolor={_quote(colour)}, style={line}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
