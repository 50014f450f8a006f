"""Band-node helpers: how a band's members stride through memory, and
rebuilding a band with its members permuted or skewed.  What a band's
members carry (parallel at the band, loop-level coincidence) is judged from
the dependences in :mod:`polytc.poly.bands`.
"""
from __future__ import annotations

import islpy as isl

from polytc.isl_util import affine_rows as _affine_rows, map_list
from polytc.poly.bands import loop_coincidence, members, parallel_at_band
from polytc.program import Program, Statement
from polytc.tiling.marks import PackEntry


def stride_one_counts(node: isl.ScheduleNode, program: Program,
                      writes: bool = True) -> list[int]:
    """Per member: how many accesses of the band's statements (reads only
    without ``writes``) have their last subscript move by +-1 (and no other
    subscript move) when the member's iterator does, where the member is a
    single iterator of a statement."""
    counts = [0] * node.band_n_member()
    for m in range(node.band_n_member()):
        for statement, iterator in _member_iterators(node, program, m):
            accesses = [read.access for read in statement.reads] \
                + ([statement.write] if writes else [])
            counts[m] += sum(_stride_one(access, iterator) for access in accesses)
    return counts


def vector_reuse(node: isl.ScheduleNode, program: Program, vector: int) -> list[int]:
    """Per member: how many reads that are stride-1 along the ``vector``
    member do not move when the member's iterator does: the vectors a
    register block whose rows run along that member loads once for all its
    rows (``B(k, j)`` along ``i`` in gemm, ``I(n, c, h+kh, w+kw)`` along the
    output channel ``m`` of a conv2d, not along its ``h``)."""
    along = {s.name: i for s, i in _member_iterators(node, program, vector)}
    counts = [0] * node.band_n_member()
    for m in range(node.band_n_member()):
        for statement, iterator in _member_iterators(node, program, m):
            if statement.name not in along or m == vector:
                continue
            for read in statement.reads:
                rows = _affine_rows(read.access)
                if rows and _stride_one(read.access, along[statement.name]) \
                        and all(row[iterator] == 0 for row in rows):
                    counts[m] += 1
    return counts


def streamed(node: isl.ScheduleNode, program: Program, vector: int) -> frozenset[str]:
    """The tensors read with stride 1 along the ``vector`` member and left
    in place by another member: whole vectors of them are loaded (``B(k, j)``
    in gemm, reused along ``i``), where the other reads are broadcast
    (``A(i, k)``).  A read that moves along every member (``A(i, j)`` of
    ``y(j) +=! A(i, j) * t(i)``) is used once: a copy would only add a pass."""
    iterators = [dict((s.name, i) for s, i in _member_iterators(node, program, m))
                 for m in range(node.band_n_member())]
    found = set()
    for statement, iterator in _member_iterators(node, program, vector):
        for read in statement.reads:
            rows = _affine_rows(read.access)
            if rows and _stride_one(read.access, iterator) and any(
                    statement.name in along and all(row[along[statement.name]] == 0
                                                    for row in rows)
                    for along in iterators):
                found.add(read.tensor)
    return frozenset(found)


def used_once(node: isl.ScheduleNode, program: Program, vector: int) -> bool:
    """Whether every read that moves along the ``vector`` member moves along
    every member of the band (no loop reuses it: ``A(i, j)`` of ``y(j) +=!
    A(i, j) * t(i)``), and one of them has stride 1 there: a band that
    streams its reads once, where register blocks buy nothing.  False where
    a member is no single iterator of a statement."""
    iterators = [dict((s.name, i) for s, i in _member_iterators(node, program, m))
                 for m in range(node.band_n_member())]
    still = [{piece.get_tuple_name(isl.dim_type.in_) for piece in map_list(member)
              if constant(piece)} for member in members(node)]  # statements a member does not move
    stride_one = False
    for statement in program.statements:
        if statement.name not in iterators[vector]:
            continue
        moving = iterators[vector][statement.name]
        for read in statement.reads:
            rows = _affine_rows(read.access)
            if rows is None:
                return False
            if not any(row[moving] for row in rows):
                continue
            if not all(statement.name in still[m] or (
                    statement.name in along and any(row[along[statement.name]] for row in rows))
                    for m, along in enumerate(iterators)):
                return False
            stride_one = stride_one or _stride_one(read.access, moving)
    return stride_one


def transposable(node: isl.ScheduleNode, program: Program,
                 vector: int) -> dict[str, PackEntry]:
    """The tensors read across the ``vector`` member: each read of them in
    the band's statements either moves along it by stride 1 in one
    subscript that is not the last and does not move along another member
    (``W(n, k)`` along ``n``, not along ``i``, in an MLP layer), the same
    subscript for all, or does not move along it at all (``A(i, k)`` of
    syrk, whose ``A(j, k)`` moves): a tile copied with that subscript last
    serves the moving reads in whole vectors, by every row; the others read
    the tensor in place.  (A matrix-vector product reads each element once:
    copying it ran 4x slower.)"""
    found: dict[str, int] = {}
    served: dict[str, set[tuple[str, int]]] = {}
    in_place: set[str] = set()  # tensors some read of which does not move along the vector
    refused: set[str] = set()
    pairs = _member_iterators(node, program, vector)
    iterators = {m: dict((s.name, i) for s, i in _member_iterators(node, program, m))
                 for m in range(node.band_n_member())}
    for statement, iterator in pairs:
        for read, place in statement.placed_reads():
            rows = _affine_rows(read.access)
            moving = [d for d, row in enumerate(rows or []) if row[iterator]]
            if rows and not moving:
                in_place.add(read.tensor)
                continue
            reused = rows and any(  # the same tile serves every iteration of a member
                statement.name in along and all(row[along[statement.name]] == 0 for row in rows)
                for along in iterators.values())
            if (rows and reused and len(moving) == 1 and moving[0] < len(rows) - 1
                    and rows[moving[0]][iterator] == 1
                    and found.setdefault(read.tensor, moving[0]) == moving[0]):
                served.setdefault(read.tensor, set()).add((statement.name, place))
                continue
            refused.add(read.tensor)
    domain = node.get_domain()
    single = {s.name for s, _ in pairs}
    for statement in program.statements:  # read where the vector loop is no single iterator
        if (statement.name not in single
                and not domain.extract_set(statement.domain.get_space()).is_empty()):
            refused.update(read.tensor for read in statement.reads)
    return {tensor: PackEntry(tensor, d, frozenset(served[tensor]) if tensor in in_place else None)
            for tensor, d in found.items() if tensor not in refused}


def members_not_reading(node: isl.ScheduleNode, program: Program,
                        packed: dict[str, PackEntry]) -> list[int]:
    """The band's members along which no read that a copy of ``packed``
    serves moves (a single iterator of every statement of the band, absent
    from every subscript of those reads: ``i`` for ``W(n, k)`` in an MLP
    layer)."""
    found = []
    for member in range(node.band_n_member()):
        pairs = _member_iterators(node, program, member)
        if len(pairs) != len(map_list(members(node)[member])):
            continue
        still = True
        for statement, iterator in pairs:
            for read, place in statement.placed_reads():
                entry = packed.get(read.tensor)
                if entry is None or not entry.serves(statement.name, place):
                    continue
                rows = _affine_rows(read.access)
                if rows is None or any(row[iterator] for row in rows):
                    still = False
        if still:
            found.append(member)
    return found


def gathers(node: isl.ScheduleNode, program: Program, member: int,
            transposed: frozenset[str] = frozenset()) -> bool:
    """Whether a read of the band's statements moves along ``member`` (a
    single iterator of the statement) other than by stride 1 in its last
    subscript: a gather in every vector when the member is the vector loop
    (reads of ``transposed`` tensors excepted: their tiles are packed with
    that subscript last)."""
    for statement, iterator in _member_iterators(node, program, member):
        for read in statement.reads:
            rows = _affine_rows(read.access)
            if rows and any(row[iterator] for row in rows) \
                    and not _stride_one(read.access, iterator) and read.tensor not in transposed:
                return True
    return False


def skewed(node: isl.ScheduleNode) -> bool:
    """Whether some member of the band is, for some statement, a combination
    of two iterators or more (a skew: ``2t + i`` in a time-iterated stencil)."""
    for member in members(node):
        for piece in map_list(member):
            rows = _affine_rows(piece)
            if rows is not None and any(sum(1 for c in row if c) > 1 for row in rows):
                return True
    return False


def innermost_space_member(node: isl.ScheduleNode, program: Program) -> int:
    """For a skewed time band (member 0 the time loop): the member after the
    first that most accesses' last subscript moves along, counting only the
    iterators the time member does not use (``t + j`` rather than ``t + i``
    for ``E[i][j]`` in fdtd-2d; ties: the later member)."""
    rows = {m: {piece.get_tuple_name(isl.dim_type.in_): _affine_rows(piece)
                for piece in map_list(member)} for m, member in enumerate(members(node))}
    scores = [0] * node.band_n_member()
    for statement in program.statements:
        time = rows[0].get(statement.name)
        if not time:
            continue
        for access in [read.access for read in statement.reads] + [statement.write]:
            subscripts = _affine_rows(access)
            if not subscripts:
                continue
            moving = {d for d, c in enumerate(subscripts[-1]) if c and not time[0][d]}
            for m in range(1, node.band_n_member()):
                row = rows[m].get(statement.name)
                if row and any(row[0][d] for d in moving):
                    scores[m] += 1
    return max(reversed(range(1, node.band_n_member())), key=lambda m: scores[m])


def _member_iterators(node: isl.ScheduleNode, program: Program,
                      member: int) -> list[tuple[Statement, int]]:
    """The band's statements whose schedule along ``member`` is a single
    iterator, with that iterator's position."""
    by_statement = {piece.get_tuple_name(isl.dim_type.in_): piece
                    for piece in map_list(members(node)[member])}
    found = []
    for statement in program.statements:
        if statement.name in by_statement:
            iterator = _single_iterator(by_statement[statement.name])
            if iterator is not None:
                found.append((statement, iterator))
    return found


def constant(piece: isl.Map) -> bool:
    """Whether the member's value does not depend on the statement's
    iterators (it may on the sizes), directly or through an integer division."""
    if not piece.is_single_valued():
        return False
    function = isl.PwMultiAff.from_map(piece)
    n_in = piece.dim(isl.dim_type.in_)
    moving: list[bool] = []
    for d in range(piece.dim(isl.dim_type.out)):  # each piece's expression, not its domain
        function.get_pw_aff(d).foreach_piece(
            lambda _domain, aff: moving.append(aff.involves_dims(isl.dim_type.in_, 0, n_in)))
    return not any(moving)


def _single_iterator(member: isl.Map) -> int | None:
    rows = _affine_rows(member)
    if rows is None or len(rows) != 1:
        return None
    nonzero = [d for d, c in enumerate(rows[0]) if c != 0]
    return nonzero[0] if len(nonzero) == 1 and rows[0][nonzero[0]] == 1 else None


def _stride_one(access: isl.Map, iterator: int) -> bool:
    rows = _affine_rows(access)
    if not rows:
        return False
    *outer, last = rows
    return abs(last[iterator]) == 1 and all(row[iterator] == 0 for row in outer)


def rebuild(node: isl.ScheduleNode, partial: isl.MultiUnionPwAff,
            permutable: bool) -> isl.ScheduleNode:
    """Replace the band at ``node`` by ``partial`` (coincidence flags cleared)."""
    node = node.delete()
    node = node.insert_partial_schedule(partial)
    return node.band_set_permutable(int(permutable))


def permute(node: isl.ScheduleNode, order: list[int]) -> isl.ScheduleNode:
    """The band with member ``order[p]`` at position ``p``."""
    if order == list(range(len(order))):
        return node
    partial = node.band_get_partial_schedule()
    permuted = partial
    for position, source in enumerate(order):
        permuted = permuted.set_at(position, partial.get_at(source))
    return rebuild(node, permuted, bool(node.band_get_permutable()))


def set_coincidence(node: isl.ScheduleNode, flags: list[bool]) -> isl.ScheduleNode:
    for member, flag in enumerate(flags):
        node = node.band_member_set_coincident(member, int(flag))
    return node


def skew_first(node: isl.ScheduleNode, sizes: tuple[int, ...] | None = None) -> isl.ScheduleNode:
    """Wavefront: member 0 becomes the sum of members 0 and 1; with the tile
    ``sizes`` of a tile band, the sum of their tile numbers (a wavefront of
    tiles 16 steps by 1,024 points stepped by 16 through 25,000 mostly empty
    wavefronts otherwise)."""
    partial = node.band_get_partial_schedule()
    first, second = partial.get_at(0), partial.get_at(1)
    if sizes is not None:
        ctx = node.get_ctx()
        first = first.scale_down_val(isl.Val.int_from_si(ctx, sizes[0]))
        second = second.scale_down_val(isl.Val.int_from_si(ctx, sizes[1]))
    skewed = partial.set_at(0, first.add(second))
    return rebuild(node, skewed, bool(node.band_get_permutable()))


def innermost(node: isl.ScheduleNode) -> bool:
    """No band below ``node`` but unrolled ones (a register block's rows)."""
    found = False

    def visit(current: isl.ScheduleNode) -> bool:
        nonlocal found
        if current.get_type() == isl.schedule_node_type.band and not current.is_equal(node) \
                and not all(unrolled(current, m) for m in range(current.band_n_member())):
            found = True
        return not found
    node.foreach_descendant_top_down(visit)
    return not found


def unrolled(node: isl.ScheduleNode, member: int) -> bool:
    """Whether isl unrolls the band member (everywhere or in its isolated part)."""
    unroll = isl.ast_loop_type.unroll
    return (node.band_member_get_ast_loop_type(member) == unroll
            or node.band_member_get_isolate_ast_loop_type(member) == unroll)


def across_time(schedule: isl.Schedule, deps: isl.UnionMap) -> bool:
    """Whether ``schedule`` has a band that tiling takes across time: a
    permutable, skewed band whose outer member carries a dependence (a time
    loop around a stencil's sweeps, see ``_TilingPass.time_band``)."""
    return time_band_members(schedule, deps) > 0


def time_band_members(schedule: isl.Schedule, deps: isl.UnionMap) -> int:
    """The members of the widest band of ``schedule`` that tiling takes
    across time (see :func:`across_time`); 0 where there is none."""
    widest = 0

    def visit(node: isl.ScheduleNode) -> bool:
        nonlocal widest
        if node.get_type() == isl.schedule_node_type.band and node.band_get_permutable() \
                and skewed(node) and not parallel_at_band(node, deps)[0]:
            widest = max(widest, node.band_n_member())
        return True
    schedule.get_root().foreach_descendant_top_down(visit)
    return widest
