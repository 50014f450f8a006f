"""Schedules written by a user, read into schedule trees of a program.

Input: a :class:`~polytc.program.Program` with domain ``D = ∪_S D_S`` and a
schedule ``given`` in one of three forms:

* an ``isl.Schedule`` (a schedule tree);
* an ``isl.UnionMap`` ``θ``, statement instance → time vector
  (``[M, K, N] -> { S0[m, n] -> [0, m, n]; S1[m, n, k] -> [1, m, n, k] }``);
* the text of either, as ``str(schedule)`` / ``str(union_map)`` print it.

Output: an ``isl.Schedule`` whose domain is exactly ``D``.  A union map is
first padded: every time vector gets zeros on the right up to the longest
length ``n`` (isl compares only vectors of one space):
``θ'(s) = (θ(s), 0, …, 0) ∈ Z^n``, restricted to ``D``.  Given the
dependences, a legal ``θ'`` whose dimensions are integer rows of each
statement's iterators becomes the tree the scheduler would build
(:func:`banded`: sequences at constant dimensions, permutable bands where the
rows allow, members coincident where they carry nothing), so it is tiled
like the scheduler's own; otherwise ``θ'`` is one band.

Invariants checked (each failure is a :class:`~polytc.errors.ScheduleError`
saying what is wrong, never a bare ``isl.Error``):

* the schedule uses only the program's size parameters;
* it names only the program's statements;
* it covers ``D``: ``D_S ⊆ dom θ_S`` for every statement ``S`` (points
  outside ``D`` are dropped);
* a union map is a function on ``D`` (one time per instance).

Legality against the dependences is not checked here: that is
:func:`polytc.poly.legality.check`.
"""
from __future__ import annotations

import re
from typing import Callable, TypeVar, Union

import islpy as isl

from polytc.errors import ScheduleError
from polytc.isl_util import map_list
from polytc.poly.schedule_tree import Level, Row, build_tree, distance_set, padded, rows_of
from polytc.program import Program

_T = TypeVar("_T")

UserSchedule = Union[isl.Schedule, isl.UnionMap, str]

_TREE_TEXT = re.compile(r'\s*\{\s*"?domain"?\s*:')


def to_schedule(program: Program, given: UserSchedule,
                deps: isl.UnionMap | None = None) -> isl.Schedule:
    """The schedule tree of ``program`` that ``given`` describes (see the
    module docstring for the accepted forms and the checks).  With the
    program's dependences ``deps``, a union map becomes bands the way the
    scheduler builds them (:func:`banded`); without, one band."""
    if isinstance(given, str):
        given = _parse(program, given)
    if isinstance(given, isl.Schedule):
        return _from_tree(program, given)
    if isinstance(given, isl.UnionMap):
        return _from_map(program, given, deps)
    raise ScheduleError(f"cannot read a schedule from a {type(given).__name__}: give an "
                        "isl.Schedule, an isl.UnionMap or the text of either")


def _parse(program: Program, text: str) -> isl.Schedule | isl.UnionMap:
    ctx = program.context.get_ctx()
    is_tree = _TREE_TEXT.match(text) is not None
    what = "an isl schedule tree" if is_tree else "an isl union map"
    try:
        if is_tree:
            return isl.Schedule.read_from_str(ctx, text)
        return isl.UnionMap.read_from_str(ctx, text)
    except isl.Error as error:
        excerpt = text if len(text) <= 200 else text[:197] + "..."
        reason = re.sub(r" in \S+:\d+$", "", str(error))
        raise ScheduleError(f"cannot read the schedule text as {what} ({reason}); "
                            f"the text was: {excerpt}") from None


def _from_tree(program: Program, tree: isl.Schedule) -> isl.Schedule:
    domain = _isl("reading the schedule tree's domain", tree.get_domain)
    _check_names(program, domain.get_space(), _set_names(domain))
    _check_covers(program, domain)
    return _isl("restricting the schedule tree to the program's domain",
                lambda: tree.intersect_domain(program.domain()))


def _from_map(program: Program, schedule_map: isl.UnionMap,
              deps: isl.UnionMap | None) -> isl.Schedule:
    _check_names(program, schedule_map.get_space(),
                 [m.get_tuple_name(isl.dim_type.in_) for m in _map_list(schedule_map)])
    schedule_map = padded(schedule_map).intersect_domain(program.domain())
    _check_covers(program, schedule_map.domain())
    _check_function(program, schedule_map)
    rows = rows_of(program, schedule_map) if deps is not None else None
    if rows is not None and deps is not None and \
            deps.is_subset(schedule_map.lex_lt_union_map(schedule_map)):
        return build_tree(program, banded(program, rows, deps))
    tree = isl.Schedule.from_domain(program.domain())
    if not _map_list(schedule_map) or _map_list(schedule_map)[0].dim(isl.dim_type.out) == 0:
        return tree
    band = _isl("turning the schedule map into a band",
                lambda: isl.MultiUnionPwAff.from_union_map(schedule_map))
    return _isl("inserting the schedule band", lambda: tree.insert_partial_schedule(band))


def banded(program: Program, rows: list[dict[str, Row]], deps: isl.UnionMap) -> list[Level]:
    """The schedule of ``rows`` (one row per statement and dimension, a legal
    order) as levels: a dimension constant for every statement is a cut
    (a sequence where the constants differ); consecutive loop dimensions
    form one permutable band while every dependence left at the band's
    start has a non-negative distance along each, and a new band starts at
    the first that would make one negative.  A level's carriers are the
    statements of the dependences it carries."""
    iterators = {s.name: len(s.iterators) for s in program.statements}

    def part(relations: list[isl.Map], level: dict[str, Row], which: str) -> list[isl.Map]:
        found = []
        for m in relations:
            source, target = m.get_tuple_name(isl.dim_type.in_), m.get_tuple_name(isl.dim_type.out)
            piece = m & distance_set(m, level[source], level[target], iterators[source], which)
            if not piece.is_empty():
                found.append(piece)
        return found
    remaining = [m for m in map_list(deps) if not m.is_empty()]
    at_start: list[isl.Map] | None = None  # what the current band must keep forward
    levels: list[Level] = []
    band = 0
    for level in rows:
        carriers = frozenset(n for m in part(remaining, level, ">= 1")
                             for n in (m.get_tuple_name(isl.dim_type.in_),
                                       m.get_tuple_name(isl.dim_type.out)))
        if all(not any(r.coeffs) for r in level.values()):
            levels.append(Level(level, -1, carriers))
            at_start = None
        else:
            if at_start is None or part(at_start, level, "< 0"):
                band += 1
                at_start = remaining
            levels.append(Level(level, band, carriers))
        remaining = part(remaining, level, "= 0")
    return levels


def _check_names(program: Program, space: isl.Space, statements: list[str]) -> None:
    params = [space.get_dim_name(isl.dim_type.param, i)
              for i in range(space.dim(isl.dim_type.param))]
    unknown_params = sorted(str(p) for p in params if p not in program.params)
    if unknown_params:
        raise ScheduleError(f"the schedule uses size parameter(s) {', '.join(unknown_params)} "
                            f"that program {program.name} does not have "
                            f"(its sizes are {', '.join(program.params) or 'none'})")
    known = {s.name for s in program.statements}
    unknown = sorted({name for name in statements if name not in known})
    if unknown:
        raise ScheduleError(f"the schedule names statement(s) {', '.join(unknown)} that "
                            f"program {program.name} does not have (its statements are "
                            f"{', '.join(sorted(known)) or 'none'})")


def _check_covers(program: Program, scheduled: isl.UnionSet) -> None:
    for statement in program.statements:
        domain = isl.UnionSet.from_set(statement.domain).intersect_params(program.context)
        missing = domain.subtract(scheduled)
        if not missing.is_empty():
            example = missing.sample_point()
            raise ScheduleError(f"the schedule does not cover statement {statement.name} "
                                f"({statement.text or statement.tensor}): instance "
                                f"{example} is never scheduled")


def _check_function(program: Program, schedule_map: isl.UnionMap) -> None:
    for m in _map_list(schedule_map):
        if not m.intersect_params(program.context).is_single_valued():
            name = m.get_tuple_name(isl.dim_type.in_)
            raise ScheduleError(f"the schedule gives some instance of statement {name} "
                                f"more than one time: {m}")


def _set_names(union: isl.UnionSet) -> list[str]:
    sets = union.get_set_list()
    return [sets.get_at(i).get_tuple_name() for i in range(sets.n_set())]


def _map_list(union: isl.UnionMap) -> list[isl.Map]:
    maps = union.get_map_list()
    return [maps.get_at(i) for i in range(maps.n_map())]


def _isl(doing: str, action: Callable[[], _T]) -> _T:
    """``action()``, with an isl failure turned into a ScheduleError that says
    what polytc was doing."""
    try:
        return action()
    except isl.Error as error:
        raise ScheduleError(f"isl failed while {doing}: {error}") from None
