"""Fusion at panel granularity.

Smart fusion often fuses a chain of ops only in one outer loop: the MLP's
matmul, bias, relu and second matmul share the batch loop ``i`` and nothing
else.  Run as is, every matmul becomes one matrix-vector product per row and
its weights are streamed once per row (the fused MLP ran 5x slower than the
separate ops).  This pass strip-mines such an outer loop into panels of
``rows`` iterations and pushes the panel's point loop into every op below
it: each op then runs on a ``rows x ...`` block, which the tiling pass tiles
and register-blocks like a standalone kernel, while the ops still follow
each other panel by panel (the producer's panel is in cache when its
consumer reads it).

It applies to a one-member parallel band whose child is a sequence with at
least one op that has a band of two or more members of its own (a nest
worth tiling).  The result is checked against the dependences after tiling
by the caller (:func:`polytc.tiling.transform.tile_schedule`).
"""
from __future__ import annotations

import islpy as isl

#: panel height when the caller gives none: a multiple of the register
#: blocks' row counts (6 with AVX2, 12 with AVX-512)
DEFAULT_ROWS = 48


def panel_fusion(schedule: isl.Schedule, rows: int = DEFAULT_ROWS) -> isl.Schedule | None:
    """``schedule`` with every eligible outer band split into panels (see
    the module docstring), or None when no band is eligible."""
    changed = [False]

    def visit(node: isl.ScheduleNode) -> isl.ScheduleNode:
        if _eligible(node):
            changed[0] = True
            return _split_into_panels(node, rows)
        for position in range(node.n_children()):
            node = visit(node.child(position)).parent()
        return node

    root = visit(schedule.get_root())
    return root.get_schedule() if changed[0] else None


def _eligible(node: isl.ScheduleNode) -> bool:
    if node.get_type() != isl.schedule_node_type.band or node.band_n_member() != 1 \
            or not node.band_member_get_coincident(0) or node.n_children() != 1:
        return False
    below = node.child(0)
    if below.get_type() != isl.schedule_node_type.sequence:
        return False
    return any(_nest_below(below.child(k)) for k in range(below.n_children()))


def _nest_below(filter_node: isl.ScheduleNode) -> bool:
    """The op under this filter starts with a permutable band of >= 2 members."""
    if filter_node.n_children() != 1:
        return False
    top = filter_node.child(0)
    return top.get_type() == isl.schedule_node_type.band and top.band_n_member() >= 2 \
        and top.band_get_permutable()


def _split_into_panels(node: isl.ScheduleNode, rows: int) -> isl.ScheduleNode:
    """Tile the band by ``rows``, then prepend its point member to the top
    band of each op of the sequence below (or give the op a band of it)."""
    ctx = node.get_ctx()
    sizes = isl.MultiVal.zero(node.band_get_space()).set_val(0, isl.Val.int_from_si(ctx, rows))
    node = node.band_tile(sizes)  # node: panel loop; its child: the point loop
    point = node.child(0).band_get_partial_schedule()
    sequence = node.child(0).delete()
    for k in range(sequence.n_children()):
        op = sequence.child(k)
        instances = op.filter_get_filter()
        mine = point.intersect_domain(instances)
        top = op.child(0)
        if top.get_type() == isl.schedule_node_type.band:
            flags = [top.band_member_get_coincident(m) for m in range(top.band_n_member())]
            permutable = top.band_get_permutable()
            combined = mine.flat_range_product(top.band_get_partial_schedule())
            top = top.delete()
            flags = [True, *flags]
        else:
            combined, flags, permutable = mine, [True], True
        top = top.insert_partial_schedule(combined).band_set_permutable(permutable)
        for member, flag in enumerate(flags):
            top = top.band_member_set_coincident(member, flag)
        sequence = top.parent().parent()
    return sequence.parent()
