"""The picture of a fusion-legality verdict.

:func:`plot_fusion` asks :func:`polytc.poly.fusion_legality` whether
``statements`` can share their outer ``depth`` loops and draws the answer in
the space of those shared loops at concrete sizes: each statement's
instances projected onto them (depth 1: one row per statement along the
shared loop; depth 2 or more: the first two shared loops, the others fixed
at their smallest value, each statement offset in the cell), and the
dependences between the statements as arrows.  The fused loops run left to
right (and bottom to top); within one iteration the statements run in
textual order.  When the fusion is illegal, the violated dependence's pairs
are red and one witness pair (the lexicographically smallest at these sizes)
is drawn thickest and named.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import islpy as isl

from polytc.errors import PlotError
from polytc.plot import geometry, style
from polytc.poly.legality import FusionVerdict, fusion_legality

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_MARKERS = "os^Dv<>p"
Pair = tuple[tuple[int, ...], tuple[int, ...]]


def plot_fusion(obj: Any, statements: Sequence[str] | None = None, depth: int = 1,
                sizes: Mapping[str, int] | None = None, *,
                max_points: int = geometry.MAX_POINTS,
                max_arrows: int = geometry.MAX_ARROWS) -> Figure:
    """The instances of ``statements`` (default: all) in the order fusing
    their outer ``depth`` loops gives, with the dependences between them;
    when illegal, the violating pairs in red and a witness pair named."""
    style.require()
    found = geometry.sources(obj)
    program, deps = found.program, found.deps
    assert program is not None and deps is not None
    geometry.check_sizes(program, sizes)
    names = list(statements) if statements is not None else [s.name for s in program.statements]
    verdict = fusion_legality(program, names, depth, deps)
    planes = _planes(obj, verdict, sizes)
    instances = {name: geometry.points(view, plane, geometry.fixed(view.domain, sizes),
                                       max_points)
                 for name, (view, plane) in planes.items()}
    fig, ax = _canvas(depth, instances)
    at = {name: _layout(depth, rank, len(planes)) for rank, name in enumerate(planes)}
    for rank, (name, points) in enumerate(instances.items()):
        if points:
            xs, ys = zip(*(at[name](p) for p in points))
            ax.scatter(xs, ys, s=30, marker=_MARKERS[rank % len(_MARKERS)], zorder=4,
                       label=name, gid=f"instances:{name}")
    kinds = _dependences(ax, deps, planes, at, sizes, max_arrows)
    witness = _violations(ax, program, verdict, planes, at, sizes, max_arrows)
    _axes(ax, depth, planes)
    style.legend(ax, kinds, [("violated", style.VIOLATION, "solid")] if verdict.violations
                 else [], markers=True)
    ax.set_title(_title(verdict, sizes, witness), fontsize="medium", loc="left")
    return fig


def _planes(obj: Any, verdict: FusionVerdict,
            sizes: Mapping[str, int] | None) -> dict[str, tuple[Any, geometry.Plane]]:
    """Per statement, its view and the plane of the shared loops."""
    depth = verdict.depth
    views = {name: geometry.statement_view(obj, name) for name in verdict.statements}
    first = views[verdict.statements[0]]
    reference = geometry.fixed(first.domain, sizes)
    slices: dict[int, int] = {}
    for position in range(2, depth):
        narrowed = reference
        for k, value in slices.items():
            narrowed = narrowed.fix_val(isl.dim_type.set, k,
                                        isl.Val.int_from_si(narrowed.get_ctx(), value))
        if narrowed.is_empty():
            raise PlotError(f"{first.name} has no instance at these sizes")
        slices[position] = int(narrowed.dim_min_val(position).to_python())
    result = {}
    for name, view in views.items():
        axes = view.iterators[:min(depth, 2)]
        at = {view.iterators[k]: value for k, value in slices.items()}
        domain = geometry.fixed(view.domain, sizes)
        result[name] = (view, geometry.plane(view, domain, axes, at, slice_rest=False))
    return result


def _canvas(depth: int, instances: dict[str, list[tuple[int, ...]]]) -> tuple[Any, Any]:
    every = [p for points in instances.values() for p in points if p]
    xs = [p[0] for p in every] or [0]
    width = style.extent_inches(max(xs) - min(xs) + 1, per=0.55) + 3.0
    if depth <= 1:
        return style.figure(max(width, 7.0), 2.4 + 0.9 * len(instances))
    ys = [p[1] for p in every] or [0]
    return style.figure(max(width, 7.0), style.extent_inches(max(ys) - min(ys) + 1, per=0.55)
                        + 1.2)


def _layout(depth: int, rank: int, count: int) -> Any:
    """Where statement number ``rank`` draws a point of the shared loops."""
    if depth <= 1:
        return lambda p: (float(p[0]) if p else 0.0, -float(rank))
    offset = (rank - (count - 1) / 2) * 0.2
    return lambda p: (p[0] + offset, p[1] + offset)


def _dependences(ax: Axes, deps: Any, planes: dict[str, tuple[Any, geometry.Plane]],
                 at: dict[str, Any], sizes: Mapping[str, int] | None,
                 max_arrows: int) -> list[str]:
    """Arrows for the dependences between two different fused statements."""
    drawn = []
    for kind in geometry.KINDS:
        maps = getattr(deps, kind).get_map_list()
        for i in range(maps.n_map()):
            relation = maps.get_at(i)
            source = str(relation.get_tuple_name(isl.dim_type.in_))
            target = str(relation.get_tuple_name(isl.dim_type.out))
            if source == target or source not in planes or target not in planes:
                continue
            for s, t in _pairs(relation, planes, sizes, f"{kind} {source}->{target}",
                               max_arrows):
                style.arrow(ax, at[source](s), at[target](t), kind, f"dependence:{kind}",
                            width=0.8, rad=0.15)
                if kind not in drawn:
                    drawn.append(kind)
    return drawn


def _pairs(relation: isl.Map, planes: dict[str, tuple[Any, geometry.Plane]],
           sizes: Mapping[str, int] | None, what: str, max_arrows: int) -> list[Pair]:
    source = planes[str(relation.get_tuple_name(isl.dim_type.in_))][1]
    target = planes[str(relation.get_tuple_name(isl.dim_type.out))][1]
    return geometry.pairs(geometry.fixed(relation, sizes), source, target, what, max_arrows,
                          keep_equal=True)


def _violations(ax: Axes, program: Any, verdict: FusionVerdict,
                planes: dict[str, tuple[Any, geometry.Plane]], at: dict[str, Any],
                sizes: Mapping[str, int] | None, max_arrows: int) -> str | None:
    """Red arrows for the violated pairs; the witness pair at these sizes,
    drawn thickest; returns its text (``None`` when there is none here)."""
    witness_text = None
    for violation in verdict.violations:
        source, target = violation.source, violation.target
        if source not in planes or target not in planes:
            continue
        here = geometry.fixed(violation.dependence, sizes)
        for s, t in _pairs(violation.dependence, planes, sizes, f"violated {violation.kind}",
                           max_arrows):
            style.arrow(ax, at[source](s), at[target](t), violation.kind, "violation",
                        width=1.6, colour=style.VIOLATION, rad=0.15)
        if witness_text is None and not here.is_empty():
            pair = here.wrap().lexmin().sample_point()
            witness = isl.Set.from_point(pair).unwrap()
            (s, t), = geometry.pairs(witness, planes[source][1], planes[target][1], "witness",
                                     keep_equal=True)
            style.arrow(ax, at[source](s), at[target](t), violation.kind, "witness",
                        width=3.2, colour=style.VIOLATION, rad=0.15)
            witness_text = _instances(program, pair, source, target)
            ax.annotate(f"witness: {witness_text}", at[target](t), xytext=(12, -14),
                        textcoords="offset points", color=style.VIOLATION, fontsize="small",
                        gid="witness-label")
    return witness_text


def _instances(program: Any, point: isl.Point, source: str, target: str) -> str:
    values = [int(point.get_coordinate_val(isl.dim_type.set, k).to_python())
              for k in range(point.get_space().dim(isl.dim_type.set))]
    s, t = program.statement(source), program.statement(target)
    split = len(s.iterators)
    left = ", ".join(f"{n}={v}" for n, v in zip(s.iterators, values[:split]))
    right = ", ".join(f"{n}={v}" for n, v in zip(t.iterators, values[split:]))
    return f"{source}[{left}] -> {target}[{right}]"


def _axes(ax: Axes, depth: int, planes: dict[str, tuple[Any, geometry.Plane]]) -> None:
    first = next(iter(planes.values()))[1]
    ax.grid(True, color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"shared loop 0 ({_names(planes, 0)})" if first.axes else "")
    if depth <= 1:
        ax.set_yticks([-float(r) for r in range(len(planes))], list(planes))
        ax.set_ylim(-len(planes) + 0.4, 0.6)
    else:
        ax.set_ylabel(f"shared loop 1 ({_names(planes, 1)})")
        ax.set_aspect("equal")
    ax.margins(0.08)


def _names(planes: dict[str, tuple[Any, geometry.Plane]], axis: int) -> str:
    """``i`` when every statement calls the shared loop ``i``, else ``i of S0, h of S1``."""
    names = {name: plane.axes[axis] for name, (_, plane) in planes.items()}
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return ", ".join(f"{loop} of {name}" for name, loop in names.items())


def _title(verdict: FusionVerdict, sizes: Mapping[str, int] | None,
           witness: str | None) -> str:
    head = "legal fusion" if verdict.fusable else "illegal fusion"
    lines = [f"{head} at {style.sizes_text(dict(sizes or {}))}: "]
    lines[0] += verdict.reason
    if verdict.violations and witness is None:
        lines.append("(no violating pair at these sizes: the witness is for other sizes)")
    return "\n".join(textwrap.fill(line, 110) for line in lines)
