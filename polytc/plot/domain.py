"""The picture of an iteration domain with its dependences.

:func:`plot_domain` draws the integer points of one statement's domain
``D_S`` at concrete sizes in a plane (see :mod:`polytc.plot.geometry`) and
the dependences from ``S`` to itself as arrows, one style per kind.  Flow
dependences are exact dataflow and drawn pair by pair; anti and output
dependences relate every earlier access to every later one, so they are
drawn between nearest instances only: a pair ``s -> t`` of kind ``K`` is left
out when ``s -> u`` is in ``K`` and ``u -> t`` in any kind for some ``u``
(it follows from those two).  ``all_pairs=True`` draws every pair.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import islpy as isl

from polytc.errors import PlotError
from polytc.plot import geometry, style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_domain(obj: Any, statement: str | None = None, sizes: Mapping[str, int] | None = None,
                dims: Sequence[str] | None = None, at: Mapping[str, int] | None = None, *,
                dependences: geometry.DepsArg = None, all_pairs: bool = False,
                max_points: int = geometry.MAX_POINTS,
                max_arrows: int = geometry.MAX_ARROWS) -> Figure:
    """The points of ``statement``'s iteration domain (default: the first
    statement with the most loops) at ``sizes``, in the plane of ``dims``
    (default its first two loops; the others fixed by ``at`` or projected),
    with its dependences as arrows: flow solid blue, anti dashed orange,
    output dotted green.

    :arg obj: a :class:`polytc.Kernel`, a :class:`~polytc.program.Program`
        or an isl set (then ``dependences`` may be an isl map to draw).
    :arg dependences: overrides the kernel's or program's dependences.
    """
    style.require()
    view = geometry.statement_view(obj, statement, dependences)
    _check(obj, sizes)
    domain = geometry.fixed(view.domain, sizes)
    plane = geometry.plane(view, domain, dims, at, slice_rest=False)
    points = geometry.points(view, plane, domain, max_points)
    if not points:
        raise PlotError(f"{view.name} has no instance at sizes {style.sizes_text(dict(sizes or {}))}"
                        f"{' with ' + plane.caption() if plane.fixed else ''}")
    arrows = drawn_pairs(view, plane, sizes, all_pairs, max_arrows)
    fig, ax = _canvas(points)
    xs, ys = zip(*(style.xy(p) for p in points))
    ax.scatter(xs, ys, s=28, color="#333333", zorder=4, gid="points")
    for kind, pairs in arrows:
        for source, target in pairs:
            style.arrow(ax, style.xy(source), style.xy(target), kind, f"dependence:{kind}",
                        rad=_rad(kind, plane))
    style.grid_axes(ax, plane.axes, points)
    style.legend(ax, [kind for kind, pairs in arrows if pairs])
    ax.set_title(_title(view, plane, sizes, len(points), arrows), fontsize="medium",
                 loc="left")
    return fig


def drawn_pairs(view: geometry.StatementView, plane: geometry.Plane,
                sizes: Mapping[str, int] | None, all_pairs: bool,
                max_arrows: int) -> list[tuple[str, list[Any]]]:
    """Per kind, the projected pairs :func:`plot_domain` draws (see the
    module docstring)."""
    domain = geometry.fixed(view.domain, sizes)
    concrete = [(kind, geometry.fixed(relation, sizes).intersect_domain(domain)
                 .intersect_range(domain)) for kind, relation in view.relations]
    every: isl.Map | None = None
    for _, relation in concrete:
        every = relation if every is None else every.union(relation)
    result = []
    for kind, relation in concrete:
        if not all_pairs and kind in ("anti", "output") and every is not None:
            relation = relation.subtract(relation.apply_range(every))
        result.append((kind, geometry.pairs(relation, plane, plane, f"{kind} ({view.name})",
                                            max_arrows)))
    return result


def _check(obj: Any, sizes: Mapping[str, int] | None) -> None:
    if not isinstance(obj, (isl.Set, isl.BasicSet, isl.UnionSet)):
        geometry.check_sizes(geometry.sources(obj).program, sizes)


def _canvas(points: list[tuple[int, ...]]) -> tuple[Any, Any]:
    xs = [p[0] for p in points] if points and points[0] else [0]
    ys = [p[1] for p in points] if points and len(points[0]) > 1 else [0]
    width = style.extent_inches(max(xs) - min(xs) + 1) + 2.2  # room for the legend
    height = style.extent_inches(max(ys) - min(ys) + 1, low=2.5)
    return style.figure(width, height)


def _rad(kind: str, plane: geometry.Plane) -> float | None:
    """Arcs on a line: collinear arrows would hide one another."""
    if len(plane.axes) < 2:
        return {"flow": 0.35, "anti": 0.5, "output": -0.4}.get(kind, 0.35)
    return None


def _title(view: geometry.StatementView, plane: geometry.Plane,
           sizes: Mapping[str, int] | None, n_points: int,
           arrows: list[tuple[str, list[Any]]]) -> str:
    where = plane.caption()
    counts = ", ".join(f"{len(pairs)} {kind}" for kind, pairs in arrows) or "no dependences"
    return (f"{view.name}: {view.text}\n{style.sizes_text(dict(sizes or {}))}"
            f"{'; ' + where if where else ''} — {n_points} points, arrows: {counts}")
