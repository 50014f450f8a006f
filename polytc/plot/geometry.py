"""What the pictures draw, as plain data computed by isl at concrete sizes.

No matplotlib here: every function returns integer points, pairs of points
or names, so the drawing modules only place them and the tests can compare
them with isl.

A picture shows one statement's iteration domain ``D_S`` at concrete
``sizes`` (every size parameter fixed), in a *plane* of at most two of its
dimensions (the *axes*).  Every other dimension is either fixed (``at``) or
projected out (existentially: a drawn point stands for every instance that
projects onto it).  A relation ``R ⊆ D_S × D_S`` is drawn as the distinct
projected pairs ``(p(s), p(t))`` with ``p(s) ≠ p(t)``.

Size guards: a plane with more than ``max_points`` points, or a relation
with more than ``max_arrows`` pairs, raises :class:`~polytc.errors.PlotError`
saying how many there are; nothing is enumerated before it is counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

import islpy as isl

from polytc.errors import PlotError
from polytc.poly.dependences import Dependences, _maps, dependences
from polytc.poly.summary import statement_text
from polytc.program import Program

MAX_POINTS = 2500
MAX_ARROWS = 4000
KINDS = ("flow", "anti", "output")
IslSet = Union[isl.Set, isl.BasicSet, isl.UnionSet]
DepsArg = Union[Dependences, isl.UnionMap, isl.Map, None]


@dataclass(frozen=True, slots=True)
class Sources:
    """The values a picture is drawn from (``None`` where not known)."""

    program: Program | None
    deps: Dependences | None
    schedule: isl.Schedule | None = field(default=None, compare=False)
    tiled: isl.Schedule | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StatementView:
    """One statement: its name, text, iterators, domain (parametric) and the
    dependences from it to itself, by kind (``dependence`` for relations
    given without a kind)."""

    name: str
    text: str
    iterators: tuple[str, ...]
    domain: isl.Set = field(compare=False)
    relations: tuple[tuple[str, isl.Map], ...] = field(compare=False, default=())


@dataclass(frozen=True, slots=True)
class Plane:
    """Of a statement's ``iterators``: the drawn dimensions (``axes``, at
    ``positions``), those fixed (``fixed``: name -> value) and those
    projected out."""

    iterators: tuple[str, ...]
    axes: tuple[str, ...]
    positions: tuple[int, ...]
    fixed: tuple[tuple[str, int], ...]
    projected: tuple[str, ...]

    def caption(self) -> str:
        parts = [f"{name} = {value}" for name, value in self.fixed]
        if self.projected:
            parts.append(f"{', '.join(self.projected)} projected")
        return "; ".join(parts)


# -- inputs ---------------------------------------------------------------------
def sources(obj: Any) -> Sources:
    """The program, dependences and schedules of a ``Kernel`` or ``Program``."""
    from polytc.codegen_c.kernel import Kernel
    if isinstance(obj, Kernel):
        return Sources(obj.program, obj.dependences, obj.schedule, obj.tiled_schedule)
    if isinstance(obj, Program):
        return Sources(obj, dependences(obj))
    raise PlotError(f"cannot draw a {type(obj).__name__}: give a polytc.Kernel, a "
                    "polytc Program (kernel.program) or an isl set")


def main_statement(program: Program) -> str:
    """The default statement of a picture: the first with the most iterators."""
    if not program.statements:
        raise PlotError(f"program {program.name} has no statement to draw")
    deepest = max(len(s.iterators) for s in program.statements)
    return next(s.name for s in program.statements if len(s.iterators) == deepest)


def statement_view(obj: Any, statement: str | None = None,
                   deps: DepsArg = None) -> StatementView:
    """The :class:`StatementView` of ``statement`` in a Kernel or Program, or
    of an isl set (with ``deps`` as its relations)."""
    if isinstance(obj, (isl.Set, isl.BasicSet, isl.UnionSet)):
        return _set_view(obj, statement, deps)
    found = sources(obj)
    program = found.program
    assert program is not None
    name = statement or main_statement(program)
    try:
        s = program.statement(name)
    except KeyError:
        raise PlotError(f"program {program.name} has no statement {name!r} (its "
                        f"statements: {', '.join(x.name for x in program.statements)})") \
            from None
    given = found.deps if deps is None else deps
    domain = s.domain.intersect_params(program.context)
    return StatementView(s.name, statement_text(s), s.iterators, domain,
                         _self_relations(given, s.name))


def _set_view(obj: IslSet, statement: str | None, deps: DepsArg) -> StatementView:
    sets = [obj] if isinstance(obj, isl.Set) else \
        [isl.Set.from_basic_set(obj)] if isinstance(obj, isl.BasicSet) else \
        [obj.get_set_list().get_at(i) for i in range(obj.get_set_list().n_set())]
    names = [str(s.get_tuple_name() or "") for s in sets]
    if statement is None and len(sets) != 1:
        raise PlotError(f"the set has {len(sets)} statements ({', '.join(names)}): "
                        "choose one with statement=")
    chosen = sets[0] if statement is None else \
        next((s for s, n in zip(sets, names) if n == statement), None)
    if chosen is None:
        raise PlotError(f"the set has no statement {statement!r} (it has {', '.join(names)})")
    name = str(chosen.get_tuple_name() or "S")
    n = chosen.dim(isl.dim_type.set)
    iterators = tuple(chosen.get_dim_name(isl.dim_type.set, k) or f"i{k}" for k in range(n))
    return StatementView(name, str(chosen), iterators, chosen,
                         _self_relations(deps, name if chosen.has_tuple_name() else None))


def _self_relations(deps: DepsArg, name: str | None) -> tuple[tuple[str, isl.Map], ...]:
    if deps is None:
        return ()
    if isinstance(deps, Dependences):
        kinds = [(kind, getattr(deps, kind)) for kind in KINDS]
    elif isinstance(deps, isl.Map):
        kinds = [("dependence", isl.UnionMap.from_map(deps))]
    elif isinstance(deps, isl.UnionMap):
        kinds = [("dependence", deps)]
    else:
        raise PlotError(f"dependences must be polytc Dependences or an isl map, not "
                        f"{type(deps).__name__}")
    found = []
    for kind, union in kinds:
        for m in _maps(union):
            source = m.get_tuple_name(isl.dim_type.in_)
            target = m.get_tuple_name(isl.dim_type.out)
            if source == target and (name is None or source == name):
                found.append((kind, m))
    return tuple(found)


# -- sizes ------------------------------------------------------------------------
def fixed(obj: Any, sizes: Mapping[str, int] | None) -> Any:
    """``obj`` (an isl set or map) with every parameter fixed by ``sizes``
    and then dropped; an error names the sizes without a value."""
    space = obj.get_space()
    n = space.dim(isl.dim_type.param)
    names = [str(space.get_dim_name(isl.dim_type.param, i)) for i in range(n)]
    given = dict(sizes or {})
    missing = [name for name in names if name not in given]
    if missing:
        example = ", ".join(f"{name!r}: 8" for name in names)
        raise PlotError(f"a picture needs a value for every size: {', '.join(missing)} "
                        f"{'has' if len(missing) == 1 else 'have'} none (e.g. "
                        f"sizes={{{example}}})")
    for position, name in enumerate(names):
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise PlotError(f"size {name}={value!r} is not an int")
        obj = obj.fix_val(isl.dim_type.param, position,
                          isl.Val.int_from_si(obj.get_ctx(), value))
    return obj.project_out(isl.dim_type.param, 0, n)


def check_sizes(program: Program | None, sizes: Mapping[str, int] | None) -> None:
    """Refuse sizes that are not sizes of ``program``."""
    if program is None or sizes is None:
        return
    unknown = sorted(set(sizes) - set(program.params))
    if unknown:
        raise PlotError(f"{', '.join(unknown)}: not a size of {program.name} (its sizes: "
                        f"{', '.join(program.params) or 'none'})")


# -- planes -----------------------------------------------------------------------
def plane(view: StatementView, domain: isl.Set, dims: Sequence[str] | None,
          at: Mapping[str, int] | None, slice_rest: bool) -> Plane:
    """The plane of ``view`` to draw: ``dims`` (default its first two
    iterators), ``at`` fixed, the rest projected, or (``slice_rest``) fixed
    at their smallest value in ``domain`` (a set without parameters)."""
    iterators = view.iterators
    axes = tuple(dims) if dims is not None else iterators[:2]
    at = dict(at or {})
    for name in list(axes) + list(at):
        if name not in iterators:
            raise PlotError(f"{view.name} has no dimension {name!r} (its dimensions: "
                            f"{', '.join(iterators) or 'none'})")
    if len(axes) > 2 or len(set(axes)) != len(axes) or (not axes and iterators):
        raise PlotError(f"dims={list(axes)}: choose one or two distinct dimensions of "
                        f"{view.name} ({', '.join(iterators)})")
    clash = sorted(set(axes) & set(at))
    if clash:
        raise PlotError(f"{', '.join(clash)} cannot be both drawn (dims) and fixed (at)")
    fixes: dict[str, int] = {}
    for k, name in enumerate(iterators):
        if name in at:
            fixes[name] = int(at[name])
        elif name not in axes and slice_rest:
            narrowed = _fix_all(domain, iterators, fixes)
            if narrowed.is_empty():
                break
            fixes[name] = int(narrowed.dim_min_val(k).to_python())
    projected = tuple(n for n in iterators if n not in axes and n not in fixes)
    return Plane(tuple(iterators), axes, tuple(iterators.index(a) for a in axes),
                 tuple((n, fixes[n]) for n in iterators if n in fixes), projected)


def _fix_all(domain: isl.Set, iterators: Sequence[str], fixes: Mapping[str, int]) -> isl.Set:
    for name, value in fixes.items():
        domain = domain.fix_val(isl.dim_type.set, iterators.index(name),
                                isl.Val.int_from_si(domain.get_ctx(), value))
    return domain


def in_plane(view: StatementView, plane_: Plane, domain: isl.Set) -> isl.Set:
    """``domain`` (no parameters) restricted to the plane's fixed values,
    before projection."""
    return _fix_all(domain, view.iterators, dict(plane_.fixed))


def points(view: StatementView, plane_: Plane, domain: isl.Set,
           max_points: int = MAX_POINTS) -> list[tuple[int, ...]]:
    """The distinct points of ``domain`` (no parameters) in the plane, in
    axis order, sorted."""
    flat = _project(in_plane(view, plane_, domain), plane_)
    guard(flat, max_points, f"statement {view.name} has", "points", "max_points")
    coordinates = [_reorder(p, plane_) for p in enumerate_points(flat)]
    return sorted(set(coordinates))


def pairs(relation: isl.Map, source: Plane, target: Plane, what: str,
          max_arrows: int = MAX_ARROWS,
          keep_equal: bool = False) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The distinct projected pairs ``(p(s), p(t))`` of ``relation`` (no
    parameters) with ``s`` in the ``source`` plane and ``t`` in the
    ``target`` plane; pairs with ``p(s) = p(t)`` only with ``keep_equal``."""
    n = relation.dim(isl.dim_type.in_)
    ctx = relation.get_ctx()
    for kind, plane_ in ((isl.dim_type.in_, source), (isl.dim_type.out, target)):
        for name, value in plane_.fixed:
            relation = relation.fix_val(kind, plane_.iterators.index(name),
                                        isl.Val.int_from_si(ctx, value))
    flat = relation.wrap().flatten()
    keep = set(source.positions) | {n + p for p in target.positions}
    for k in reversed(range(flat.dim(isl.dim_type.set))):
        if k not in keep:
            flat = flat.project_out(isl.dim_type.set, k, 1)
    guard(flat, max_arrows, f"the {what} pairs number", "arrows", "max_arrows")
    a = len(source.axes)
    result = set()
    for point in enumerate_points(flat):
        pair = (_reorder(point[:a], source), _reorder(point[a:], target))
        if keep_equal or pair[0] != pair[1]:
            result.add(pair)
    return sorted(result)


def _project(domain: isl.Set, plane_: Plane) -> isl.Set:
    """``domain`` with every dimension but the axes projected out."""
    for k in reversed(range(domain.dim(isl.dim_type.set))):
        if k not in plane_.positions:
            domain = domain.project_out(isl.dim_type.set, k, 1)
    return domain


def _reorder(point: Sequence[int], plane_: Plane) -> tuple[int, ...]:
    """Coordinates in axis order (the projection keeps domain order)."""
    ordered = sorted(plane_.positions)
    return tuple(point[ordered.index(p)] for p in plane_.positions)


def guard(flat: isl.Set, limit: int, what: str, unit: str, option: str) -> None:
    """Refuse an unbounded ``flat`` or one with more than ``limit`` points."""
    if not flat.is_bounded():
        raise PlotError(f"{what} infinitely many {unit} at these sizes: is every size given "
                        "and is the set bounded?")
    count = int(flat.count_val().to_python())
    if count > limit:
        raise PlotError(f"{what} {count} {unit} at these sizes, more than {option}={limit} "
                        f"a readable picture holds: give smaller sizes (the structure is "
                        f"the same) or raise {option}")


def enumerate_points(flat: isl.Set) -> list[tuple[int, ...]]:
    found: list[tuple[int, ...]] = []
    n = flat.dim(isl.dim_type.set)

    def take(point: isl.Point) -> None:
        found.append(tuple(int(point.get_coordinate_val(isl.dim_type.set, k).to_python())
                           for k in range(n)))
    flat.foreach_point(take)
    return found
