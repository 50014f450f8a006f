"""Copies that hand a privatised array's final values back to the caller.

An array the caller passes (doitgen's ``sum``) can be privatised like a
written scalar (:mod:`.scalars`), but the caller may read it afterwards:
each of its elements must end up holding the value of its last write in
the original order.  For each statement that makes such a last write, a
copy statement runs right after it, on those instances only (``sum[p] =
sum'[r][q][p]`` for the last ``r`` and ``q``).  It reads the private copy in
the same iteration as its writer, so the private copy still shrinks to one
iteration's buffer, and the loops around become parallel.
"""
from __future__ import annotations

import dataclasses

import islpy as isl

from polytc import program as ir
from polytc.poly.dependences import original_order

COPY_SUFFIX = "_out"


def last_writes(program: ir.Program, name: str) -> dict[str, isl.Set]:
    """Per statement writing tensor ``name``, its instances whose write is
    the last one of that element in the original order (only those that
    make some element's last write)."""
    order = original_order(program)
    writes = isl.UnionMap.empty(program.context.get_space())
    for statement in program.statements:
        if statement.tensor == name:
            writes = writes.union(isl.UnionMap.from_map(
                statement.write.intersect_domain(statement.domain)))
    last_time = writes.reverse().apply_range(order).lexmax()
    instances = last_time.apply_range(order.reverse()).range()
    found: dict[str, isl.Set] = {}
    sets = instances.get_set_list()
    for k in range(sets.n_set()):
        piece = sets.get_at(k).coalesce()
        found[piece.get_tuple_name()] = piece
    return found


def copy_statement(writer: ir.Statement, instances: isl.Set, private: ir.Read) -> ir.Statement:
    """``writer``'s write target ``= private`` on ``instances`` (of ``writer``,
    the original statement, before privatisation)."""
    name = writer.name + COPY_SUFFIX
    domain = instances.set_tuple_name(name)
    write = writer.write.intersect_domain(instances).set_tuple_name(isl.dim_type.in_, name)
    access = private.access.intersect_domain(instances).set_tuple_name(isl.dim_type.in_, name)
    return dataclasses.replace(
        writer, name=name, op="=", kind="compute", body=dataclasses.replace(private, access=access),
        domain=domain, write=write, text=f"{writer.text} (its final value copied out)")


def with_copies(order: isl.Schedule, copies: dict[str, isl.Set]) -> isl.Schedule | None:
    """``order`` with each copy (its domain, named ``<writer>_out``, keyed by
    the writer's name) running right after its writer in the same
    iteration; None when the tree holds a node this does not know."""
    return _rebuilt(order.get_root().child(0), copies)


def _rebuilt(node: isl.ScheduleNode, copies: dict[str, isl.Set]) -> isl.Schedule | None:
    kind = node.get_type()
    if kind == isl.schedule_node_type.leaf:
        return _leaf(node.get_domain(), copies)
    if kind == isl.schedule_node_type.filter:
        return _rebuilt(node.child(0), copies)
    if kind in (isl.schedule_node_type.sequence, isl.schedule_node_type.set):
        parts = [_rebuilt(node.child(k), copies) for k in range(node.n_children())]
        if any(part is None for part in parts):
            return None
        result = parts[0]
        combine = isl.Schedule.sequence if kind == isl.schedule_node_type.sequence \
            else isl.Schedule.set
        for part in parts[1:]:
            result = combine(result, part)
        return result
    if kind == isl.schedule_node_type.band:
        below = _rebuilt(node.child(0), copies)
        if below is None:
            return None
        return below.insert_partial_schedule(
            _extended(node.band_get_partial_schedule(), copies))
    return None


def _leaf(domain: isl.UnionSet, copies: dict[str, isl.Set]) -> isl.Schedule:
    """The statements at a leaf, each followed by its copy."""
    tree = isl.Schedule.from_domain(domain)
    sets = domain.get_set_list()
    for k in range(sets.n_set()):
        copy = copies.get(sets.get_at(k).get_tuple_name())
        if copy is not None:
            tree = isl.Schedule.sequence(tree, isl.Schedule.from_domain(
                isl.UnionSet.from_set(copy)))
    return tree


def _extended(partial: isl.MultiUnionPwAff,
              copies: dict[str, isl.Set]) -> isl.MultiUnionPwAff:
    """``partial`` defined on each copy as on its writer."""
    for member in range(partial.dim(isl.dim_type.set)):
        values = partial.get_union_pw_aff(member)
        pieces = values.get_pw_aff_list()
        for k in range(pieces.n_pw_aff()):
            piece = pieces.get_at(k)
            writer = piece.get_domain_space().get_tuple_name(isl.dim_type.set)
            if writer in copies:
                copy = copies[writer]
                moved = piece.set_tuple_id(isl.dim_type.in_, copy.get_tuple_id())
                values = values.union_add(isl.UnionPwAff.from_pw_aff(moved).intersect_domain(
                    isl.UnionSet.from_set(copy)))
        partial = partial.set_union_pw_aff(member, values)
    return partial
