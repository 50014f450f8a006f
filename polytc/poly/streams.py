"""Matrix-vector sweeps over the same matrix, fused so that it streams once.

atax (``t = A x``, then ``y = A^T t``), bicg (``s = A^T r`` beside
``q = A p``) and mvt (``x1 += A y1`` beside ``x2 += A^T y2``) read one
matrix in two loop nests.  Each nest does two flops per element it loads:
both are bound by memory, and the matrix crosses it twice.  Pluto's smart
fusion keeps the nests apart (fused, the row loop carries ``y``'s sum and is
no longer parallel).

:func:`fuse_streams` runs such nests together, ROWS rows of the matrix at a
time: an outer loop over blocks of ROWS rows, and in it each statement in
turn over its block (``[(row mod ROWS), column]``, a permutable band), so
that the block's rows (ROWS x 16 KB for 4,000 floats) are read from memory
by the first nest and from cache by the others, and the tiler gives every
nest its ROWS rows at once (ROWS dot products' accumulators, or ROWS rows
per load and store of a column vector).  A statement joins the group where
it reads the matrix once, with one iterator per subscript, and writes a
vector; a one-dimensional statement that initialises a row result of the
group (``t(i) = 0``) joins it too.  Everything else keeps its schedule,
before the group where a dependence asks for it, else after.  The fused
schedule is kept only where it runs every dependence forward (so C input's
order of each sum is kept, and TC's reductions stay reductions).
"""
from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polytc.isl_util import affine_rows, map_list, param_names, set_list
from polytc.poly.bands import flag_violations, with_true_coincidence
from polytc.poly.legality import respects
from polytc.program import Program, Statement

#: rows of the matrix each statement of the group runs per block
ROWS = 8


@dataclass(frozen=True)
class _Member:
    """A statement of the group: its row and column iterators (positions in
    its domain), or only a row for a one-dimensional initialisation."""

    statement: Statement
    row: int
    column: int | None


def fuse_streams(program: Program, schedule: isl.Schedule, deps: isl.UnionMap) -> isl.Schedule:
    """``schedule`` with the matrix-vector nests that read one matrix fused
    block of rows by block of rows (see the module docstring), or unchanged
    where no matrix is read by two such nests or the fused order would
    break a dependence."""
    for matrix in _read_only_matrices(program):
        members = _sweeps(program, matrix)
        if len(members) < 2:
            continue
        members = _initialisations(program, members) + members
        fused = _fused(program, schedule, deps, members)
        if fused is not None:
            return fused
    return schedule


def _read_only_matrices(program: Program) -> list[str]:
    written = {s.tensor for s in program.statements}
    return [t.name for t in program.tensors if t.rank == 2 and t.name not in written]


def _sweeps(program: Program, matrix: str) -> list[_Member]:
    """The statements that read ``matrix`` once, ``A(i, j)`` or ``A(j, i)``
    over their two iterators, read no other matrix and write a vector."""
    found = []
    for statement in program.statements:
        if statement.domain.dim(isl.dim_type.set) != 2 or len(statement.write_indices) != 1:
            continue
        reads = [r for r in statement.reads if r.tensor == matrix]
        others = [r for r in statement.reads if r.tensor != matrix and len(r.indices) > 1]
        if len(reads) != 1 or others:
            continue
        rows = affine_rows(reads[0].access)
        if rows is None or sorted(map(tuple, rows)) != [(0, 1), (1, 0)]:
            continue
        found.append(_Member(statement, rows[0].index(1), rows[1].index(1)))
    return found


def _initialisations(program: Program, sweeps: list[_Member]) -> list[_Member]:
    """One-dimensional statements before the sweeps that write a vector a
    sweep accumulates along its rows (``t(i) = 0`` before ``t(i) += ...``)."""
    row_results = {m.statement.tensor for m in sweeps
                   if _written_along(m.statement, m.row)}
    first = min(program.statements.index(m.statement) for m in sweeps)
    return [_Member(s, 0, None) for s in program.statements[:first]
            if s.domain.dim(isl.dim_type.set) == 1 and s.tensor in row_results
            and _written_along(s, 0)]


def _written_along(statement: Statement, iterator: int) -> bool:
    rows = affine_rows(statement.write)
    return rows is not None and len(rows) == 1 and rows[0] == [
        int(d == iterator) for d in range(len(rows[0]))]


def _fused(program: Program, schedule: isl.Schedule, deps: isl.UnionMap,
           members: list[_Member]) -> isl.Schedule | None:
    """The schedule with ``members`` fused (None where that is illegal):
    the statements a dependence runs into the group first, in their
    schedule, then the group, then the rest."""
    ctx = schedule.get_ctx()
    names = {m.statement.name for m in members}
    group = _named(schedule.get_domain(), names)
    rest = schedule.get_domain().subtract(group)
    into = isl.UnionSet.empty(rest.get_space())
    for dep in map_list(deps):  # statements the group depends on, directly or not
        source = dep.domain()
        if dep.get_tuple_name(isl.dim_type.out) in names and \
                source.get_tuple_name() not in names:
            into = into.union(isl.UnionSet.from_set(source))
    before = rest.intersect(_closure_before(rest, into, deps))
    after = rest.subtract(before)
    parts = [schedule.intersect_domain(before)] if not before.is_empty() else []
    parts.append(with_true_coincidence(_group_schedule(ctx, group, members), deps))
    if not after.is_empty():
        parts.append(schedule.intersect_domain(after))
    fused = parts[0]
    for part in parts[1:]:
        fused = fused.sequence(part)
    if not respects(program, fused, deps) or flag_violations(fused, deps):
        return None  # a dependence runs backward, or a block's band is not permutable
    return fused


def _closure_before(rest: isl.UnionSet, seeds: isl.UnionSet, deps: isl.UnionMap) -> isl.UnionSet:
    """``seeds`` and the statements of ``rest`` they depend on, transitively
    (whole statements: a statement runs before the group or after it)."""
    found = _whole(rest, seeds)
    while True:
        grown = found.union(_whole(rest, deps.intersect_range(found).domain()))
        if grown.is_subset(found):
            return found
        found = grown


def _whole(within: isl.UnionSet, instances: isl.UnionSet) -> isl.UnionSet:
    """Every instance in ``within`` of the statements some of ``instances`` belong to."""
    return _named(within, {s.get_tuple_name() for s in set_list(instances)})


def _named(within: isl.UnionSet, names: set[str]) -> isl.UnionSet:
    """The pieces of ``within`` whose statements are ``names``."""
    kept = isl.UnionSet.empty(within.get_space())
    for piece in set_list(within):
        if piece.get_tuple_name() in names:
            kept = kept.union(isl.UnionSet.from_set(piece))
    return kept


def _group_schedule(ctx: isl.Context, group: isl.UnionSet,
                    members: list[_Member]) -> isl.Schedule:
    """Blocks of ROWS rows outermost; in each, the members in program
    order, each over ``[(row mod ROWS), column]``."""
    params = param_names(group.get_space())
    head = f"[{', '.join(params)}] -> " if params else ""

    def iterators(member: _Member) -> tuple[str, ...]:
        own = member.statement.iterators  # shown by summaries, unless a size is so named
        return own if not set(own) & set(params) else tuple(
            f"polytc_d{k}" for k in range(len(own)))

    def piece(member: _Member, value: str) -> str:
        return f"{member.statement.name}[{', '.join(iterators(member))}] -> [{value}]"

    def row(member: _Member) -> str:
        return iterators(member)[member.row]
    blocks = "; ".join(piece(m, f"{ROWS} * floor(({row(m)}) / {ROWS})") for m in members)
    tree = isl.Schedule.from_domain(group)
    node = tree.get_root().child(0).insert_partial_schedule(
        isl.MultiUnionPwAff(f"{head}[{{ {blocks} }}]", context=ctx))
    filters = isl.UnionSetList.alloc(ctx, len(members))
    for member in members:
        filters = filters.add(_named(group, {member.statement.name}))
    node = node.child(0).insert_sequence(filters)
    for position, member in enumerate(members):
        values = [f"({row(member)}) mod {ROWS}"]
        if member.column is not None:
            values.append(iterators(member)[member.column])
        band = ", ".join(f"{{ {piece(member, value)} }}" for value in values)
        leaf = node.child(position).child(0).insert_partial_schedule(
            isl.MultiUnionPwAff(f"{head}[{band}]", context=ctx))
        node = leaf.band_set_permutable(1).parent().parent()
    return node.get_schedule()
