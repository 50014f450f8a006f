"""Schedule levels and the isl schedule tree built from them.

A :class:`Level` is one dimension of a schedule for every statement: a loop
hyperplane (member of a band) or a scalar cut.  :func:`build_tree` turns a
list of levels into an isl schedule tree: consecutive loop levels of one band
become a band node (permutable, members coincident where they carry no
dependence of the statements below), and cuts become sequence nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import islpy as isl

from polytc.isl_util import map_list
from polytc.program import Program


@dataclass(frozen=True, slots=True)
class Row:
    """One schedule dimension of one statement: ``coeffs . i + const``."""

    coeffs: tuple[int, ...]
    const: int


@dataclass(frozen=True, slots=True)
class Level:
    """One dimension of the whole schedule: a loop hyperplane (member of band
    ``band``) or a scalar cut (``band == -1``)."""

    rows: dict[str, Row] = field(compare=False)
    band: int
    carriers: frozenset[str] = frozenset()  # statements of dependences it carries

    def coincident(self, statements: Sequence[str]) -> bool:
        """Parallel for these statements: it carries none of their dependences."""
        return not any(s in self.carriers for s in statements)


def build_tree(program: Program, levels: list[Level]) -> isl.Schedule:
    """Bands for consecutive loop levels of one band, sequences for cuts."""
    schedule = isl.Schedule.from_domain(program.domain())
    node = _build(schedule.get_root().child(0), program, [s.name for s in program.statements],
                  levels, 0)
    return node.get_schedule()


def _build(node: isl.ScheduleNode, program: Program, statements: list[str],
           levels: list[Level], start: int) -> isl.ScheduleNode:
    """Insert the levels from ``start`` for ``statements`` below ``node``."""
    k = start
    while k < len(levels) and levels[k].band == -1:
        groups: dict[int, list[str]] = {}
        for s in statements:
            groups.setdefault(levels[k].rows[s].const, []).append(s)
        if len(groups) > 1:
            filters = isl.UnionSetList.alloc(program.context.get_ctx(), len(groups))
            ordered = [groups[c] for c in sorted(groups)]
            for group in ordered:
                filters = filters.add(_domain_of(program, group))
            node = node.insert_sequence(filters)
            for position, group in enumerate(ordered):
                child = _build(node.child(position).child(0), program, group, levels, k + 1)
                node = child.parent().parent()
            return node
        k += 1
    if k == len(levels):
        return node
    band = levels[k].band
    members = []
    while k < len(levels) and levels[k].band == band:
        if not _degenerate(levels[k], statements):
            members.append(levels[k])
        k += 1
    running = [s for s in statements if not program.statement(s).domain.is_empty()]
    if not members or not running:  # statements that never run have no loops
        return _build(node, program, statements, levels, k)
    node = node.insert_partial_schedule(_partial(program, running, members))
    node = node.band_set_permutable(1 if len(members) > 1 else 0)
    for position, level in enumerate(members):
        node = node.band_member_set_coincident(position, level.coincident(statements))
    return _build(node.child(0), program, statements, levels, k).parent()


def _degenerate(level: Level, statements: list[str]) -> bool:
    """A loop level that is the same constant for every statement here."""
    rows = [level.rows[s] for s in statements]
    return all(not any(r.coeffs) for r in rows) and len({r.const for r in rows}) == 1


def _domain_of(program: Program, statements: list[str]) -> isl.UnionSet:
    result = isl.UnionSet.empty(program.context.get_space())
    for s in statements:
        result = result.union(isl.UnionSet.from_set(program.statement(s).domain))
    return result


def _partial(program: Program, statements: list[str],
             members: list[Level]) -> isl.MultiUnionPwAff:
    """The band's partial schedule: per statement, its rows as affine maps."""
    union: isl.UnionMap | None = None
    for s in statements:
        domain = program.statement(s).domain
        space = domain.get_space()
        result = isl.Map.from_domain(domain)
        for level in members:
            row = level.rows[s]
            aff = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
            for j, c in enumerate(row.coeffs):
                aff = aff.set_coefficient_val(isl.dim_type.in_, j, isl.Val(c))
            aff = aff.set_constant_val(isl.Val(row.const))
            result = result.flat_range_product(isl.Map.from_aff(aff).intersect_domain(domain))
        piece = isl.UnionMap.from_map(result)
        union = piece if union is None else union.union(piece)
    assert union is not None
    return isl.MultiUnionPwAff.from_union_map(union)


def distance_set(relation: isl.Map, source: Row, target: Row, n_source: int,
                 which: str) -> isl.Map:
    """``{ S[s] -> T[t] : phi_T(t) - phi_S(s) <which> }`` on the space of the
    dependence ``relation``, for rows ``phi_S = source`` and ``phi_T = target``,
    with ``which`` one of ``>= 1``, ``= 0``, ``< 0``."""
    space = relation.wrap().get_space()
    aff = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
    for j, c in enumerate(source.coeffs):
        aff = aff.add_coefficient_val(isl.dim_type.in_, j, isl.Val(-c))
    for j, c in enumerate(target.coeffs):
        aff = aff.add_coefficient_val(isl.dim_type.in_, n_source + j, isl.Val(c))
    aff = aff.add_constant_val(isl.Val(target.const - source.const))
    zero = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
    if which == ">= 1":
        pieces = aff.gt_basic_set(zero)
    elif which == "= 0":
        pieces = aff.zero_basic_set()
    else:
        pieces = aff.neg_basic_set()
    return isl.Set.from_basic_set(pieces).unwrap()


def rows_of(program: Program, schedule_map: isl.UnionMap) -> list[dict[str, Row]] | None:
    """Per dimension of ``schedule_map`` (padded with zeros to one length),
    each statement's row ``c . i + c0``; None when some dimension is not
    such a row (piecewise, with parameters or local variables)."""
    maps = {m.get_tuple_name(isl.dim_type.in_): m for m in map_list(padded(schedule_map))}
    width = max((m.dim(isl.dim_type.out) for m in maps.values()), default=0)
    rows: list[dict[str, Row]] = [{} for _ in range(width)]
    for statement in program.statements:
        if statement.name not in maps:
            return None
        found = _rows_of_map(maps[statement.name], width, len(statement.iterators))
        if found is None:
            return None
        for d, row in enumerate(found):
            rows[d][statement.name] = row
    return rows


def _rows_of_map(relation: isl.Map, width: int, n: int) -> list[Row] | None:
    """The ``width`` outputs of ``relation`` as rows; where the domain fixes
    an iterator (a copy on the last iteration only: ``t = T``), isl writes
    an output with the size, and its row comes from the map without the
    domain's constraints."""
    function = isl.PwMultiAff.from_map(relation)
    without_domain: isl.PwMultiAff | None = None  # made once, where needed
    found = []
    for d in range(width):
        row = _single_row(function, d, n)
        if row is None:
            if without_domain is None:
                without_domain = isl.PwMultiAff.from_map(
                    relation.gist_domain(relation.domain()))
            row = _single_row(without_domain, d, n)
        if row is None:
            return None
        found.append(row)
    return found


def _single_row(function: isl.PwMultiAff, d: int, n: int) -> Row | None:
    """Output ``d`` of ``function`` as a row, when it is one affine piece."""
    pieces = function.get_pw_aff(d).get_pieces()
    return _row(pieces[0][1], n) if len(pieces) == 1 else None


def _row(aff: isl.Aff, n: int) -> Row | None:
    """``aff`` (on a statement's iterators) as a row with integer coefficients."""
    values = [aff.get_coefficient_val(isl.dim_type.in_, j) for j in range(n)]
    values.append(aff.get_constant_val())
    params = [aff.get_coefficient_val(isl.dim_type.param, j)
              for j in range(aff.dim(isl.dim_type.param))]
    if not all(v.is_int() for v in values) or any(not p.is_zero() for p in params) \
            or aff.dim(isl.dim_type.div):
        return None
    coeffs = tuple(int(v.to_python()) for v in values)
    return Row(coeffs[:-1], coeffs[-1])


def padded(schedule_map: isl.UnionMap) -> isl.UnionMap:
    """``schedule_map`` with every time vector padded by zeros on the right
    to the longest output length, all in one anonymous range space."""
    maps = map_list(schedule_map)
    n = max((m.dim(isl.dim_type.out) for m in maps), default=0)
    result = isl.UnionMap.empty(schedule_map.get_space())
    for m in maps:
        result = result.union(isl.UnionMap.from_map(_pad(m, n)))
    return result


def _pad(m: isl.Map, n: int) -> isl.Map:
    k = m.dim(isl.dim_type.out)
    m = m.add_dims(isl.dim_type.out, n - k)
    for position in range(k, n):
        m = m.fix_val(isl.dim_type.out, position, isl.Val.zero(m.get_ctx()))
    return m.reset_tuple_id(isl.dim_type.out)
