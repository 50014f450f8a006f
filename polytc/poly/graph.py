"""Strongly connected components of the statement dependence graph."""
from __future__ import annotations

from typing import Iterable


def strongly_connected_components(nodes: list[str],
                                  edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Components in a topological order of the condensed graph (a component
    comes before every component it has an edge to); ties keep ``nodes``
    order, and so does the order inside a component (Tarjan's algorithm)."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        if target not in successors[source]:
            successors[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(sorted(component, key=nodes.index))

    for node in nodes:
        if node not in index:
            visit(node)
    # Tarjan yields reverse topological order; order ties by first statement.
    return _topological(found[::-1], successors, nodes)


def _topological(components: list[list[str]], successors: dict[str, list[str]],
                 nodes: list[str]) -> list[list[str]]:
    """A topological order of the components, smallest first statement first."""
    owner = {n: k for k, comp in enumerate(components) for n in comp}
    preds: dict[int, set[int]] = {k: set() for k in range(len(components))}
    for source, targets in successors.items():
        for target in targets:
            if owner[source] != owner[target]:
                preds[owner[target]].add(owner[source])
    done: list[int] = []
    while len(done) < len(components):
        ready = [k for k in preds if k not in done and preds[k] <= set(done)]
        best = min(ready, key=lambda k: nodes.index(components[k][0]))
        done.append(best)
    return [components[k] for k in done]
