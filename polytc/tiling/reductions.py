"""Vectorised reductions: a loop that carries only reductions into elements
it does not move runs as ``omp simd reduction``.

``t(i) +=! A(i, j) * x(j)`` along ``j``: every iteration adds into the same
``t(i)``, so the loop carries a dependence and is no ``omp simd`` loop as it
stands; gcc does not vectorise a floating-point sum on its own (it would
reassociate it).  Where the user lets polytc reassociate reductions (TC
input, whose reduction order is unspecified as in TC and numpy; C input with
``reassociate=True``), such a loop is marked ``reduce:<statements>``: code
generation keeps each accumulated element in a local scalar across the loop
and the C compiler vectorises it with one partial result per vector lane
(lane ``l`` sums the terms ``k`` with ``k mod V = l``, in order), combined at
the loop's end and then with the element's value before the loop (the
initialisation of a ``!`` reduction, or what an earlier loop accumulated).

A loop qualifies (:func:`accumulated`) when, between instances of the
statements that move along it that no outer loop separates, every dependence
it carries, and every dependence of an accumulated statement, links two updates of one element with the same
operator (``+ * max min``) whose bodies do not read that tensor; the written
element must not move along the loop.  Statements of the band that do not
move along it (the ``= 0`` of a ``+=!``) are run before or after the loop
(:func:`hoisted`), as their dependences want.

:func:`streaming_member` picks, for the tiler, the reduction member that
should be the innermost (vector) loop of a band: one along which some read
streams (stride 1, and no parallel member leaves it in place: a matrix
row of a matrix-vector product, where no register block can reuse it).
"""
from __future__ import annotations

import islpy as isl

from polytc import dtypes
from polytc.isl_util import map_list
from polytc.poly.bands import members, pending_dependences, same
from polytc.poly.schedule_tree import padded
from polytc.program import Program, Statement
from polytc.tiling import bands, marks

REDUCIBLE_OPS = frozenset(["+", "*", "max", "min"])
#: element types whose reductions the C compiler vectorises (``+=`` on the
#: element itself; narrower integers are printed with a cast)
VECTOR_REDUCTION_TYPES = frozenset([dtypes.FLOAT32, dtypes.FLOAT64, dtypes.INT32, dtypes.INT64])


def reducible_statements(program: Program) -> dict[str, Statement]:
    """The statements whose updates may be reassociated: a reduction
    operator, an element type the C compiler vectorises, and a body that does
    not read the tensor it updates."""
    found = {}
    for statement in program.statements:
        if statement.op not in REDUCIBLE_OPS:
            continue
        if program.tensor(statement.tensor).dtype not in VECTOR_REDUCTION_TYPES:
            continue
        if any(read.tensor == statement.tensor for read in statement.reads):
            continue
        found[statement.name] = statement
    return found


def accumulated(pending: isl.UnionMap, member: isl.UnionMap, program: Program,
                statements: frozenset[str]) -> frozenset[str] | None:
    """The statements to accumulate in scalars when the loop along
    ``member`` (instance -> value) runs as a vector reduction, or None when
    it may not.  ``pending``: the dependences between instances no outer
    loop separates; ``statements``: those the loop runs."""
    reducible = reducible_statements(program)
    carried = pending.subtract(same(member))
    varying = _varying(member, statements)
    accumulating = frozenset(s for s in varying if s in reducible)
    for dep in map_list(pending):
        source = dep.get_tuple_name(isl.dim_type.in_)
        sink = dep.get_tuple_name(isl.dim_type.out)
        if source not in varying or sink not in varying:
            continue  # a statement run before or after the loop (:func:`hoisted`)
        touches = source in accumulating or sink in accumulating
        moves = not isl.UnionMap.from_map(dep).intersect(carried).is_empty()
        if not (touches or moves):
            continue
        if not (source in accumulating and sink in accumulating):
            return None
        first, second = reducible[source], reducible[sink]
        if first.op != second.op or first.tensor != second.tensor:
            return None
        one_element = first.write.apply_range(second.write.reverse())
        if not dep.is_subset(one_element):
            return None
    if not accumulating:
        return None
    return accumulating


def _varying(member: isl.UnionMap, statements: frozenset[str]) -> frozenset[str]:
    """The statements with instances at more than one value of ``member``
    under one outer iteration (``member`` covers the band's statements)."""
    found = set()
    for piece in map_list(member):
        name = piece.get_tuple_name(isl.dim_type.in_)
        if name in statements and not bands.constant(piece):
            found.add(name)
    return frozenset(found)


def written_in_place(node: isl.ScheduleNode, program: Program,
                     statements: frozenset[str]) -> bool:
    """Whether each of ``statements`` writes one element per outer iteration
    of the one-member band at ``node`` and iteration of the (unrolled) bands
    below it: its element does not move along the loop."""
    prefix = node.get_prefix_schedule_union_map()
    if node.child(0).get_type() != isl.schedule_node_type.leaf:
        prefix = prefix.flat_range_product(padded(node.child(0).get_subtree_schedule_union_map()))
    by_name = {s.name: s for s in program.statements}
    for name in statements:
        statement = by_name[name]
        domain = isl.UnionSet.from_set(statement.domain).intersect(node.get_domain())
        outer = prefix.intersect_domain(domain)
        pairs = outer.apply_range(outer.reverse())
        write = isl.UnionMap.from_map(statement.write)
        if not pairs.is_subset(write.apply_range(write.reverse())):
            return False
    return True


def streaming_member(node: isl.ScheduleNode, program: Program, parallel: list[bool],
                     deps: isl.UnionMap) -> int | None:
    """The carrying member of the band at ``node`` that should be its vector
    loop as a reduction, or None: some read streams along it (stride 1, and
    it moves along every parallel member: no register block can reuse it),
    at least as many reads have stride 1 along it as along any parallel
    member, no read moves along it other than by stride 1 (a gather), and
    it may run as a vector reduction (:func:`accumulated`)."""
    reads = bands.stride_one_counts(node, program, writes=False)
    best_parallel = max((reads[m] for m, flag in enumerate(parallel) if flag), default=0)
    candidates = [m for m, flag in enumerate(parallel)
                  if not flag and reads[m] and reads[m] >= best_parallel
                  and _streams(node, program, m, parallel)
                  and not bands.gathers(node, program, m)]
    if not candidates:
        return None
    member = max(reversed(candidates), key=lambda m: reads[m])
    band_members = members(node)
    pending = pending_dependences(node, deps)
    for other in range(len(parallel)):  # the loop runs inside all the others
        if other != member:
            pending = pending.intersect(same(band_members[other]))
    statements = frozenset(piece.get_tuple_name(isl.dim_type.in_)
                           for piece in map_list(band_members[member]))
    found = accumulated(pending, band_members[member], program, statements)
    return member if found else None


def _streams(node: isl.ScheduleNode, program: Program, member: int,
             parallel: list[bool]) -> bool:
    """Whether a read with stride 1 along ``member`` moves along every
    parallel member of the band too (no member reuses it)."""
    along = {m: dict((s.name, i) for s, i in bands._member_iterators(node, program, m))
             for m, flag in enumerate(parallel) if flag}
    for statement, iterator in bands._member_iterators(node, program, member):
        for read in statement.reads:
            if not bands._stride_one(read.access, iterator):
                continue
            rows = bands._affine_rows(read.access)
            if rows is None:
                continue
            if all(statement.name in iterators
                   and any(row[iterators[statement.name]] for row in rows)
                   for iterators in along.values()):
                return True
    return False


def mark_reductions(node: isl.ScheduleNode, deps: isl.UnionMap,
                    program: Program) -> isl.ScheduleNode:
    """Below ``node``: the last member of each innermost band that carries a
    dependence, where it may run as a vector reduction and some read has
    stride 1 along it, split off as a band of its own under a
    ``reduce:<statements>`` mark, the statements that do not move along it
    hoisted before or after it (:func:`hoisted`)."""
    if node.get_type() == isl.schedule_node_type.band and bands.innermost(node):
        return _mark_band(node, deps, program)
    for position in range(node.n_children()):
        node = mark_reductions(node.child(position), deps, program).parent()
    return node


def _mark_band(node: isl.ScheduleNode, deps: isl.UnionMap,
               program: Program) -> isl.ScheduleNode:
    n = node.band_n_member()
    if any(bands.unrolled(node, m) for m in range(n)):
        return node  # a register block's rows: their own story
    if node.band_member_get_coincident(n - 1):
        return node
    depth = 0
    if n > 1:
        node = node.band_split(n - 1).child(0)
        depth = 1
    marked = _marked(node, deps, program)
    if marked is not None:
        node = marked
    for _ in range(depth):
        node = node.parent()
    return node


def _marked(node: isl.ScheduleNode, deps: isl.UnionMap,
            program: Program) -> isl.ScheduleNode | None:
    """The one-member band at ``node`` marked (and its invariant statements
    hoisted), returning the node at ``node``'s position; None where it may
    not run as a vector reduction."""
    member = members(node)[0]
    statements = frozenset(piece.get_tuple_name(isl.dim_type.in_) for piece in map_list(member))
    if not any(bands.stride_one_counts(node, program)) or bands.gathers(node, program, 0):
        return None
    pending = pending_dependences(node, deps)
    found = accumulated(pending, member, program, statements)
    if found is None or not written_in_place(node, program, found):
        return None
    varying = _varying(member, statements)
    mark = isl.Id(marks.REDUCE_PREFIX + ",".join(sorted(found)), context=node.get_ctx())
    if varying == statements:
        return node.insert_mark(mark)
    order = hoisted(pending, statements, varying)
    if order is None:
        return None
    node = _in_sequence(node, program, order)
    loop = [position for position, group in enumerate(order) if group == varying][0]
    node = node.child(loop).child(0).insert_mark(mark)
    return node.parent().parent()


def mark_array_reductions(node: isl.ScheduleNode, deps: isl.UnionMap,
                          program: Program) -> isl.ScheduleNode:
    """Above each outermost band that has no parallel member but whose first
    member carries only accumulations into output tensors (:func:`array_reductions`),
    a ``reduce-array:<tensor>=<op>,...`` mark: code generation runs that loop in
    parallel with a private copy of those tensors per thread, combined at
    its end (atax's blocks of rows, each adding into all of ``y``).  Only
    where reductions may be reassociated: the partial sums change the order
    of each element's terms."""
    if node.get_type() == isl.schedule_node_type.band:
        if any(node.band_member_get_coincident(m) for m in range(node.band_n_member())) \
                or bands.innermost(node):
            return node
        found = array_reductions(node, deps, program)
        if found is None:
            return node
        name = ",".join(f"{tensor}={op}" for tensor, op in sorted(found.items()))
        return node.insert_mark(isl.Id(marks.ARRAY_REDUCE_PREFIX + name, context=node.get_ctx()))
    for position in range(node.n_children()):
        node = mark_array_reductions(node.child(position), deps, program).parent()
    return node


def array_reductions(node: isl.ScheduleNode, deps: isl.UnionMap,
                     program: Program) -> dict[str, str] | None:
    """``{tensor: op}`` when every dependence the band's first member
    carries links two updates of one element of an output (or in-out) tensor with the
    same reduction operator (:func:`reducible_statements`), and every
    statement of the band that reads or writes such a tensor is one of those
    updates; else None."""
    pending = pending_dependences(node, deps)
    carried = pending.subtract(same(members(node)[0]))
    if carried.is_empty():
        return None
    reducible = reducible_statements(program)
    found: dict[str, str] = {}
    for dep in map_list(carried):
        source = reducible.get(dep.get_tuple_name(isl.dim_type.in_))
        sink = reducible.get(dep.get_tuple_name(isl.dim_type.out))
        if source is None or sink is None or source.op != sink.op \
                or source.tensor != sink.tensor \
                or program.tensor(source.tensor).role not in ("output", "inout") \
                or not dep.is_subset(source.write.apply_range(sink.write.reverse())):
            return None
        found[source.tensor] = source.op
    domain = node.get_domain()
    for statement in program.statements:
        if domain.intersect(isl.UnionSet.from_set(statement.domain)).is_empty():
            continue
        touched = {statement.tensor} | {read.tensor for read in statement.reads}
        for tensor in touched & set(found):
            if statement.name not in reducible or statement.tensor != tensor \
                    or statement.op != found[tensor]:
                return None
    return found


def hoist_invariants(node: isl.ScheduleNode, deps: isl.UnionMap,
                     program: Program) -> isl.ScheduleNode | None:
    """The band at ``node`` with the statements that do not move along any
    of its members run before or after it (:func:`hoisted`), as the sequence
    now at ``node``'s position; None when there are none, or they cannot."""
    band_members = members(node)
    statements = frozenset(piece.get_tuple_name(isl.dim_type.in_)
                           for piece in map_list(band_members[0]))
    varying = frozenset().union(*(_varying(member, statements)
                                  for member in band_members))
    if varying == statements or not varying:
        return None
    order = hoisted(pending_dependences(node, deps), statements, varying)
    return _in_sequence(node, program, order) if order is not None else None


def _in_sequence(node: isl.ScheduleNode, program: Program,
                 order: list[frozenset[str]]) -> isl.ScheduleNode:
    """A sequence at ``node`` of one filter per group of statements in
    ``order``, each above a copy of ``node``'s subtree."""
    domain = node.get_domain()
    filters = isl.UnionSetList.alloc(node.get_ctx(), len(order))
    for group in order:
        part = isl.UnionSet.empty(domain.get_space())
        for statement in program.statements:
            if statement.name in group:
                part = part.union(domain.intersect(isl.UnionSet.from_set(statement.domain)))
        filters = filters.add(part)
    return node.insert_sequence(filters)


def hoisted(pending: isl.UnionMap, statements: frozenset[str],
            varying: frozenset[str]) -> list[frozenset[str]] | None:
    """``[before, varying, after]`` (empty groups dropped): the statements
    that do not move along the loop, run before it (an initialisation the
    loop's statements depend on, or independent) or after it (a statement
    that depends on them); None when one must run both before and after."""
    before: set[str] = set()
    after: set[str] = set()
    for name in sorted(statements - varying):
        feeds = any(_linked(pending, name, other) for other in varying)
        fed = any(_linked(pending, other, name) for other in varying)
        if feeds and fed:
            return None
        (after if fed else before).add(name)
    for first in before:  # an invariant statement after another one it feeds
        if any(_linked(pending, second, first) for second in after):
            return None
    groups = [frozenset(before), varying, frozenset(after)]
    return [group for group in groups if group]


def _linked(pending: isl.UnionMap, source: str, sink: str) -> bool:
    return any(dep.get_tuple_name(isl.dim_type.in_) == source
               and dep.get_tuple_name(isl.dim_type.out) == sink for dep in map_list(pending))
