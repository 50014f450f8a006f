"""The picture of a schedule: tiles, their execution order, parallelism.

:func:`plot_schedule` draws one statement's instances in a plane at
concrete sizes (dimensions not drawn are fixed: ``at``, else their smallest
value) under a schedule tree, by default the tree the kernel's C follows
(``kernel.tiled_schedule``).  With a tile band (see
:mod:`polytc.plot.order`) each tile is a block of cells in its own colour,
labelled with its time step; tiles with equal steps may run at the same time
(the parallel loop's iterations, a wavefront's diagonal) and a line runs
through the tiles each parallel iteration executes, in order.  Without
tiles the cells are coloured by time step, so parallel loops and
wavefronts show as stripes.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

import islpy as isl

from polytc.errors import PlotError
from polytc.plot import geometry, order, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ScheduleArg = Union[isl.Schedule, isl.UnionMap, str, None]
LABEL_LIMIT = 300  # units labelled with their step up to this many


def plot_schedule(obj: Any, sizes: Mapping[str, int] | None = None,
                  statement: str | None = None, dims: Sequence[str] | None = None,
                  at: Mapping[str, int] | None = None, *, schedule: ScheduleArg = None,
                  max_points: int = geometry.MAX_POINTS) -> Figure:
    """``statement``'s instances (default: the first with the most loops) at
    ``sizes``, coloured by the tile that holds them under ``schedule``
    (default: a kernel's ``tiled_schedule``; a tree, a union map or their
    text), numbered by time step, with the order of the tiles each parallel
    iteration runs."""
    style.require()
    view = geometry.statement_view(obj, statement)
    tree = _tree(obj, schedule)
    if not isinstance(obj, (isl.Set, isl.BasicSet, isl.UnionSet)):
        geometry.check_sizes(geometry.sources(obj).program, sizes)
    domain = geometry.fixed(view.domain, sizes)
    plane = geometry.plane(view, domain, dims, at, slice_rest=True)
    instances = geometry.in_plane(view, plane, domain)
    run = order.execution(tree, view, plane, instances, dict(sizes or {}), max_points)
    if not run.units:
        raise PlotError(f"{view.name} has no instance at sizes "
                        f"{style.sizes_text(dict(sizes or {}))}")
    points = [p for unit in run.units for p in unit.points]
    width = style.extent_inches(_span(points, 0)) + 0.5
    title = _title(view, plane, sizes, run, int(width * 12))
    fig, ax = style.figure(width, style.extent_inches(_span(points, 1), low=2.5) + 0.4
                           + 0.22 * (title.count("\n") + 1))
    if run.tiled:
        _draw_tiles(ax, run)
    else:
        _draw_steps(ax, run)
    xs, ys = zip(*(style.xy(p) for p in points))
    ax.scatter(xs, ys, s=10, color="#222222", zorder=4, gid="points")
    _draw_lanes(ax, run)
    style.grid_axes(ax, plane.axes, points)
    ax.set_title(title, fontsize="medium", loc="left")
    return fig


def _tree(obj: Any, schedule: ScheduleArg) -> isl.Schedule:
    is_set = isinstance(obj, (isl.Set, isl.BasicSet, isl.UnionSet))
    if schedule is None:
        tiled = None if is_set else geometry.sources(obj).tiled
        if tiled is None:
            raise PlotError("give the schedule to draw (schedule=: a tree, a union map or "
                            "their text), or draw a compiled kernel")
        return tiled
    if isinstance(schedule, isl.Schedule):
        return schedule
    if not is_set:
        from polytc.poly.user_schedule import to_schedule
        program = geometry.sources(obj).program
        assert program is not None
        return to_schedule(program, schedule)
    if isinstance(schedule, isl.UnionMap):
        from polytc.poly.user_schedule import padded
        band = isl.MultiUnionPwAff.from_union_map(padded(schedule))
        return isl.Schedule.from_domain(schedule.domain()).insert_partial_schedule(band)
    raise PlotError(f"schedule= takes an isl.Schedule or isl.UnionMap with an isl set, not "
                    f"{type(schedule).__name__}")


def _span(points: list[tuple[int, ...]], axis: int) -> int:
    values = [p[axis] for p in points if len(p) > axis] or [0]
    return max(values) - min(values) + 1


def _cells(ax: Axes, points: list[tuple[int, ...]], colours: list[Any], gid: str) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    cells = [Rectangle((x - 0.5, y - 0.5), 1.0, 1.0) for x, y in (style.xy(p) for p in points)]
    collection = PatchCollection(cells, facecolors=colours, edgecolors="white",
                                 linewidths=0.5, alpha=0.55, zorder=1)
    collection.set_gid(gid)
    ax.add_collection(collection)


def _centre(unit: order.Unit) -> tuple[float, float]:
    """The unit's point nearest its centroid (a skewed tile's centroid may
    lie in another tile)."""
    points = [style.xy(p) for p in unit.points]
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    return min(points, key=lambda p: ((p[0] - mx) ** 2 + (p[1] - my) ** 2, p))


def _draw_tiles(ax: Axes, run: order.Execution) -> None:
    colours = style.distinct_colours(len(run.units))
    points = [p for unit in run.units for p in unit.points]
    _cells(ax, points, [colours[run.unit_of[p]] for p in points], "tiles")
    for unit in run.units:
        x, y = _centre(unit)
        ax.text(x, y, str(unit.step + 1), ha="center", va="center", fontsize="small",
                fontweight="bold", zorder=6, gid="tile-label",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8,
                      "linewidth": 0})


def _draw_steps(ax: Axes, run: order.Execution) -> None:
    from matplotlib import colormaps
    steps = max(unit.step for unit in run.units) + 1
    palette = colormaps["viridis"]
    points = [p for unit in run.units for p in unit.points]
    colours = [palette(run.units[run.unit_of[p]].step / max(1, steps - 1)) for p in points]
    _cells(ax, points, colours, "steps")
    if len(run.units) <= LABEL_LIMIT:
        for unit in run.units:
            x, y = _centre(unit)
            ax.text(x + 0.22, y + 0.22, str(unit.step + 1), fontsize="x-small", zorder=6,
                    gid="step-label")


def _lanes(run: order.Execution) -> dict[tuple[int, ...], list[order.Unit]]:
    """The units of each parallel iteration, in order (none past the label limit)."""
    lanes: dict[tuple[int, ...], list[order.Unit]] = {}
    if len(run.units) <= LABEL_LIMIT:
        for unit in run.units:
            lanes.setdefault(unit.lane, []).append(unit)
    return lanes


def _draw_lanes(ax: Axes, run: order.Execution) -> None:
    """Arrows from each unit to the next one its parallel iteration runs."""
    for units in _lanes(run).values():
        for first, second in zip(units, units[1:]):
            style.arrow(ax, _centre(first), _centre(second), "dependence", "order",
                        width=0.8, colour="#444444", rad=0.0)


def _title(view: geometry.StatementView, plane: geometry.Plane,
           sizes: Mapping[str, int] | None, run: order.Execution, width: int) -> str:
    where = plane.caption()
    head = f"{view.name}: {view.text}\n{style.sizes_text(dict(sizes or {}))}" \
        f"{'; ' + where if where else ''}"
    what = f"{len(run.units)} tiles" if run.tiled else "untiled, cells coloured by time step"
    if run.parallel is None:
        parallel = "no parallel loop: one sequential order"
    else:
        parallel = f"equal numbers may run at the same time (parallel {run.parallel})"
    if _lanes(run) and any(len(units) > 1 for units in _lanes(run).values()):
        parallel += "; arrows: the order each parallel iteration runs its tiles in" \
            if run.parallel is not None else "; arrows: the order"
    return "\n".join(textwrap.fill(line, width) for line in
                     f"{head} — {what}\nnumbers: time step; {parallel}".split("\n"))
