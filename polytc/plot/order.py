"""Execution order of one statement's instances under a schedule tree, as
data for :func:`polytc.plot.plot_schedule`.

Input: a schedule tree ``T``, a statement ``S`` and a finite set ``X`` of its
instances (a plane slice at concrete sizes).  ``θ = T.get_map()`` restricted
to ``S`` gives each instance its time vector; isl flattens a tree into time
dimensions in order: ``n`` for a band of ``n`` members, one for each
sequence or set node.

* The *tile band* is the outermost band on ``S``'s path from the root whose
  expression for ``S`` has an integer division (``s·⌊x/s⌋``, ``x mod s``):
  what tiling produces.  The *unit* of an instance is its time vector up to
  and including the tile band (its tile), or the whole vector when there is
  no tile band (each instance alone).
* The *parallel dimension* ``p`` is the outermost band member on the path
  above the units' end that is marked coincident and depends on ``S``'s
  iterators: units differing in it may run at the same time (one
  ``omp parallel for`` iteration each; a wavefront's parallel member).
* ``order`` is the rank of a unit in lexicographic order (a sequential run);
  ``step`` the rank of the unit with dimension ``p`` left out: units with
  equal steps may run at the same time; ``lane`` is the unit's prefix up to
  ``p`` inclusive: one parallel iteration runs its lane's units in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import islpy as isl

from polytc.errors import PlotError
from polytc.plot import geometry

_NODE = isl.schedule_node_type


@dataclass(frozen=True, slots=True)
class Unit:
    """A tile (or one instance, untiled) and the plane points it holds."""

    key: tuple[int, ...]
    order: int
    step: int
    lane: tuple[int, ...]
    points: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class Execution:
    """The units of the drawn instances, in execution order, and how the
    parallel dimension was found (``parallel`` is ``None`` when no loop above
    the units is parallel)."""

    units: tuple[Unit, ...]
    tiled: bool
    parallel: str | None
    unit_of: dict[tuple[int, ...], int] = field(compare=False)


@dataclass(frozen=True, slots=True)
class _Path:
    unit_length: int | None      # None: the whole time vector
    tiled: bool
    parallel: int | None
    parallel_text: str | None


def execution(tree: isl.Schedule, view: geometry.StatementView, plane: geometry.Plane,
              instances: isl.Set, sizes: dict[str, int] | None, max_points: int) -> Execution:
    """The :class:`Execution` of ``instances`` (no parameters) under ``tree``."""
    path = _walk(tree, view)
    theta = _statement_map(tree, view.name)
    timed = geometry.fixed(theta, sizes).intersect_domain(instances)
    flat = timed.wrap().flatten()
    geometry.guard(flat, max_points, f"statement {view.name} has", "points", "max_points")
    n = len(view.iterators)
    times: dict[tuple[int, ...], tuple[int, ...]] = {}
    for point in geometry.enumerate_points(flat):
        times[tuple(point[k] for k in plane.positions)] = point[n:]
    return _units(times, path)


def _units(times: dict[tuple[int, ...], tuple[int, ...]], path: _Path) -> Execution:
    length = path.unit_length
    keys = sorted({time[:length] if length is not None else time for time in times.values()})
    p = path.parallel
    if p is not None and keys and p >= len(keys[0]):
        p = None
    reduced = sorted({_without(key, p) for key in keys})
    step_of = {r: k for k, r in enumerate(reduced)}
    members: dict[tuple[int, ...], list[tuple[int, ...]]] = {key: [] for key in keys}
    for point, time in sorted(times.items()):
        members[time[:length] if length is not None else time].append(point)
    units = tuple(Unit(key, order, step_of[_without(key, p)],
                       key[:p + 1] if p is not None else (), tuple(members[key]))
                  for order, key in enumerate(keys))
    unit_of = {point: unit.order for unit in units for point in unit.points}
    return Execution(units, path.tiled, path.parallel_text if p is not None else None, unit_of)


def _without(key: tuple[int, ...], p: int | None) -> tuple[int, ...]:
    return key if p is None else key[:p] + key[p + 1:]


def _statement_map(tree: isl.Schedule, name: str) -> isl.Map:
    maps = tree.get_map().get_map_list()
    for i in range(maps.n_map()):
        if maps.get_at(i).get_tuple_name(isl.dim_type.in_) == name:
            return maps.get_at(i)
    raise PlotError(f"the schedule does not run statement {name}")


def _walk(tree: isl.Schedule, view: geometry.StatementView) -> _Path:
    """Follow ``S``'s path from the root while it is one path."""
    node = tree.get_root()
    position = 0
    parallel: tuple[int, str] | None = None
    while True:
        kind = node.get_type()
        if kind == _NODE.band:
            n = node.band_n_member()
            expressions = _expressions(node, view.name)
            for member, expression in enumerate(expressions):
                if parallel is None and node.band_member_get_coincident(member) and \
                        _moves(expression):
                    parallel = (position + member, _describe(expression, view, position + member))
            if any(_has_division(e) for e in expressions):
                return _Path(position + n + _more_tile_loops(node, view.name), True,
                             *(parallel or (None, None)))
            position += n
        elif kind in (_NODE.sequence, _NODE.set):
            runs = [c for c in range(node.n_children()) if _runs(node.child(c), view.name)]
            if len(runs) != 1:
                break
            node, position = node.child(runs[0]), position + 1
            continue
        if node.n_children() == 0:
            break
        node = node.child(0)
    return _Path(None, False, *(parallel or (None, None)))


def _more_tile_loops(tile_band: isl.ScheduleNode, name: str) -> int:
    """The members of a band of tile loops right below ``tile_band``, past
    marks (a packed tile copied between the tile loops of gemm's columns and
    of its rows; see :func:`polytc.tiling.transform._pack_outer_order`):
    the same tiles, numbered by both bands.  Each member is ``s * floor(x /
    s)`` of the iterators, where a register block's is of a point loop."""
    node = tile_band
    while node.n_children() == 1 and node.child(0).get_type() == _NODE.mark:
        node = node.child(0)
    if node is tile_band or node.n_children() != 1 or node.child(0).get_type() != _NODE.band:
        return 0
    band = node.child(0)
    tiles = all(aff.dim(isl.dim_type.div) == 1 and not any(
        aff.get_coefficient_val(isl.dim_type.in_, k).to_python()
        for k in range(aff.dim(isl.dim_type.in_)))
        for expression in _expressions(band, name) for aff in _pieces(expression))
    return band.band_n_member() if tiles else 0


def _expressions(node: isl.ScheduleNode, name: str) -> list[isl.PwAff]:
    partial = node.band_get_partial_schedule()
    domain = _statement_set(node.get_domain(), name)
    space = domain.get_space().from_domain().add_dims(isl.dim_type.out, 1)
    return [partial.get_at(m).extract_pw_aff(space).gist(domain)
            for m in range(node.band_n_member())]


def _statement_set(domain: isl.UnionSet, name: str) -> isl.Set:
    sets = domain.get_set_list()
    for i in range(sets.n_set()):
        if sets.get_at(i).get_tuple_name() == name:
            return sets.get_at(i)
    raise PlotError(f"the schedule does not run statement {name}")


def _runs(filter_node: isl.ScheduleNode, name: str) -> bool:
    domain = filter_node.get_domain()
    if filter_node.get_type() == _NODE.filter:
        domain = domain.intersect(filter_node.filter_get_filter())
    sets = domain.get_set_list()
    return any(sets.get_at(i).get_tuple_name() == name and not sets.get_at(i).is_empty()
               for i in range(sets.n_set()))


def _pieces(expression: isl.PwAff) -> list[isl.Aff]:
    pieces: list[isl.Aff] = []
    expression.foreach_piece(lambda _domain, aff: pieces.append(aff))
    return pieces


def _has_division(expression: isl.PwAff) -> bool:
    return any(aff.dim(isl.dim_type.div) > 0 for aff in _pieces(expression))


def _moves(expression: isl.PwAff) -> bool:
    """The expression depends on the statement's iterators."""
    n = expression.dim(isl.dim_type.in_)
    return any(expression.involves_dims(isl.dim_type.in_, k, 1) for k in range(n))


def _describe(expression: isl.PwAff, view: geometry.StatementView, dimension: int) -> str:
    """``loop 2: i + j - (i + j) mod 3``: the time dimension and its expression."""
    text = str(expression)
    body = text[text.find("{") + 1:text.rfind("}")]
    match = re.search(r"->\s*\[\((.*)\)\]\s*(:|$)", body)
    return f"loop {dimension}: {match.group(1) if match else body.strip()}"
