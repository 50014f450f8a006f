"""The dependence graph drawn with matplotlib alone (no Graphviz).

Layout of :func:`plot_dependence_graph` (data units are inches: the axes
cover the whole figure, texts are measured before placing): one statement
per row in execution order (fused groups in their order, members together),
each a box with its text; a fused group is a dashed frame around its rows.
A statement's dependences on itself are brackets on the left of its box,
labelled on the left.  The dependences between two statements are routed on
the right: out of the source's box to a vertical lane of their own, along it
to the target's row, back into its box; one lane per statement pair, one
sub-lane per kind, one label per pair listing each kind with its tensor and
distance vector.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import islpy as isl

from polytc.plot import style
from polytc.plot.dot import DependenceGraph, Edge, dependence_graph

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROW = 0.7         # inches between rows
BOX_FONT = 9.0    # points
LABEL_FONT = 7.0
SUB_LANE = 0.1    # inches between the kinds of one pair
_ORDER = ("flow", "anti", "output")


def plot_dependence_graph(obj: Any, schedule: isl.Schedule | None = None) -> Figure:
    """Statements as boxes (with their text), dependences as labelled edges
    coloured by kind, the schedule's fused groups as dashed frames."""
    style.require()
    graph = dependence_graph(obj, schedule)
    loops = {name: [e for e in graph.edges if e.source == e.target == name]
             for name, _ in graph.nodes}
    pairs: dict[tuple[str, str], list[Edge]] = {}
    for edge in graph.edges:
        if edge.source != edge.target:
            pairs.setdefault((edge.source, edge.target), []).append(edge)
    left = 0.5 + max((_width(_label(es), LABEL_FONT) for es in loops.values() if es),
                     default=0.0) + 0.45
    right = {name: left + _width(f"{name}: {text}", BOX_FONT) + 0.15
             for name, text in graph.nodes}
    lane0 = max(right.values(), default=left) + 0.45
    lanes = sorted(pairs.items(), key=lambda item: _span(graph, *item[0]))
    lane_x, x = [], lane0
    for _, edges in lanes:
        lane_x.append(x)
        x += SUB_LANE * len(edges) + _width(_label(edges), LABEL_FONT) + 0.35
    height = ROW * len(graph.nodes) + 1.3
    fig, ax = _canvas(max(x, lane0) + 0.3, height)
    rows = {name: height - 0.85 - ROW * k for k, (name, _) in enumerate(graph.nodes)}
    for k, group in enumerate(graph.clusters):
        _cluster(ax, [rows[n] for n in group], left, max(right[n] for n in group), k)
    for name, text in graph.nodes:
        ax.text(left, rows[name], f"{name}: {text}", ha="left", va="center",
                family="monospace", fontsize=BOX_FONT, zorder=4, gid=f"node:{name}",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#f7f7f7",
                      "edgecolor": "#444444"})
        _loops(ax, loops[name], left - 0.12, rows[name])
    for (_, edges), lane in zip(lanes, lane_x):
        _route(ax, edges, rows, right, lane)
    style.legend(ax, [k for k in _ORDER if any(e.kind == k for e in graph.edges)], below=True)
    ax.text(0.1, height - 0.12, _title(graph), va="top", fontsize="medium")
    return fig


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure whose one axes covers it, in inches."""
    style.require()
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.axis("off")
    return fig, ax


def _width(text: str, size: float) -> float:
    """Inches the monospace ``text`` (widest line) takes at ``size`` points."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    renderer = RendererAgg(10, 10, 72)
    font = FontProperties(family="monospace", size=size)
    return max(renderer.get_text_width_height_descent(line, font, ismath=False)[0]
               for line in text.split("\n")) / 72.0


def _span(graph: DependenceGraph, source: str, target: str) -> int:
    order = [name for name, _ in graph.nodes]
    return abs(order.index(source) - order.index(target))


def _label(edges: list[Edge]) -> str:
    return "\n".join(f"{e.kind} {e.tensor} {e.distance}" for e in edges)


def _cluster(ax: Axes, ys: list[float], left: float, right: float, k: int) -> None:
    from matplotlib.patches import FancyBboxPatch
    top, bottom = max(ys) + 0.3, min(ys) - 0.26
    frame = FancyBboxPatch((left - 0.1, bottom), right - left + 0.2, top - bottom,
                           boxstyle="round,pad=0.02", facecolor="#eaf1fb",
                           edgecolor="#7a8ca8", linestyle="dashed", zorder=1)
    frame.set_gid(f"cluster:{k}")
    ax.add_patch(frame)
    ax.text(right + 0.05, top - 0.03, f"fused group {k}", fontsize=6.5, ha="right",
            va="top", color="#4a5a78")


def _bracket(ax: Axes, points: list[tuple[float, float]], edge: Edge) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path
    colour, line, _, _ = style.KIND_STYLES[edge.kind]
    patch = FancyArrowPatch(path=Path(points), arrowstyle="-|>", mutation_scale=8,
                            color=colour, linestyle=line, linewidth=1.0, zorder=3)
    patch.set_gid(f"edge:{edge.kind}:{edge.source}:{edge.target}")
    ax.add_patch(patch)


def _loops(ax: Axes, edges: list[Edge], x: float, y: float) -> None:
    for j, edge in enumerate(edges):
        out, rise = x - 0.15 - SUB_LANE * j, 0.05 + 0.03 * j
        _bracket(ax, [(x, y + rise), (out, y + rise), (out, y - rise), (x, y - rise)], edge)
    if edges:
        _text(ax, x - 0.25 - SUB_LANE * len(edges), y, edges, "right")


def _route(ax: Axes, edges: list[Edge], rows: dict[str, float], right: dict[str, float],
           x: float) -> None:
    """Edges of one statement pair: out right, along lane ``x``, back in."""
    for j, edge in enumerate(edges):
        lane, shift = x + SUB_LANE * j, 0.05 * (j - (len(edges) - 1) / 2)
        y0, y1 = rows[edge.source] + shift, rows[edge.target] + shift
        _bracket(ax, [(right[edge.source], y0), (lane, y0), (lane, y1),
                      (right[edge.target], y1)], edge)
    middle = (rows[edges[0].source] + rows[edges[0].target]) / 2
    _text(ax, x + SUB_LANE * len(edges) + 0.05, middle, edges, "left")


def _text(ax: Axes, x: float, y: float, edges: list[Edge], align: str) -> None:
    ax.text(x, y, _label(edges), ha=align, va="center", family="monospace",
            fontsize=LABEL_FONT, zorder=5, gid="edge-label", linespacing=1.25)


def _title(graph: DependenceGraph) -> str:
    groups = len(graph.clusters)
    return (f"dependence graph of {graph.name}: {len(graph.nodes)} statements, "
            f"{len(graph.edges)} dependences"
            + (f", {groups} fused group{'s' * (groups != 1)}" if groups else ""))
