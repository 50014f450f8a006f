"""The identity schedule: statements in textual order, each in its own loop
nest over its iterators (left-hand side indices, then reduction indices);
for a program with an original ``order`` tree (C input), that tree: the
loop nest as written.

Band members are marked coincident where no dependence is carried: that is
what code generation turns into ``omp parallel for``.
"""
from __future__ import annotations

import islpy as isl

from polytc.poly.dependences import Dependences
from polytc.program import Program, Statement
from polytc.isl_util import map_list


def identity_schedule(program: Program, deps: Dependences) -> isl.Schedule:
    """A schedule tree: a sequence of one filter per statement, each with a
    band ``S[i, j, ...] -> [i, j, ...]`` whose members carry their
    parallelism."""
    if program.order is not None:
        return _marked_order(program.order, deps)
    domain = program.domain()
    schedule = isl.Schedule.from_domain(domain)
    if len(program.statements) == 0:
        return schedule
    filters = isl.UnionSetList.alloc(program.context.get_ctx(), len(program.statements))
    for statement in program.statements:
        filters = filters.add(isl.UnionSet.from_set(statement.domain))
    node = schedule.get_root().child(0).insert_sequence(filters)
    for position, statement in enumerate(program.statements):
        if not statement.iterators or statement.domain.is_empty():  # nothing to schedule
            continue
        node = node.child(position).child(0)
        node = node.insert_partial_schedule(_band(statement))
        for member, flag in enumerate(coincident_members(statement, deps)):
            node = node.band_member_set_coincident(member, flag)
        node = node.parent().parent()
    return node.get_schedule()


def _marked_order(order: isl.Schedule, deps: Dependences) -> isl.Schedule:
    """``order`` with each band member marked coincident when no dependence
    between instances below the band is carried by it."""
    def mark(node: isl.ScheduleNode) -> isl.ScheduleNode:
        if node.get_type() != isl.schedule_node_type.band:
            return node
        inside = node.get_domain()
        related = deps.all.intersect_domain(inside).intersect_range(inside)
        prefix = node.get_prefix_schedule_union_map()
        related = related.intersect(prefix.apply_range(prefix.reverse()))
        partial = node.band_get_partial_schedule()
        for member in range(node.band_n_member()):
            values = isl.UnionMap.from_union_pw_aff(partial.get_at(member))
            same = values.apply_range(values.reverse())
            node = node.band_member_set_coincident(member, related.is_subset(same))
            related = related.intersect(same)
        return node
    return order.map_schedule_node_bottom_up(mark)


def _band(statement: Statement) -> isl.MultiUnionPwAff:
    identity = isl.Map.identity(isl.Space.map_from_set(statement.domain.get_space()))
    identity = identity.intersect_domain(statement.domain).reset_tuple_id(isl.dim_type.out)
    return isl.MultiUnionPwAff.from_union_map(isl.UnionMap.from_map(identity))


def coincident_members(statement: Statement, deps: Dependences) -> list[bool]:
    """For each loop of the statement's own nest: True when no dependence
    from the statement to itself is carried by that loop."""
    self_deps = deps.between(statement.name, statement.name)
    n = len(statement.iterators)
    flags = []
    for depth in range(n):
        carried = False
        for dep in map_list(self_deps):
            same_outer = dep
            for d in range(depth):
                same_outer = same_outer.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
            differs = same_outer.subtract(same_outer.equate(isl.dim_type.in_, depth,
                                                            isl.dim_type.out, depth))
            if not differs.is_empty():
                carried = True
                break
        flags.append(not carried)
    return flags
