"""Schedule marks and AST nodes that become pragmas.

``parallel`` marks go above the outermost band with a coincident member,
and above a band under a ``reduce-array:`` mark (:func:`mark_parallel`); a
mark's annotation names the loop its pragma belongs to (:func:`annotation`,
:func:`pragma_mark`); a small constant loop
around a ``simd`` loop is a register block's rows, which gcc is asked to
unroll (:func:`register_rows`).
"""
from __future__ import annotations

from typing import Callable

import islpy as isl

from polytc.codegen_c.balance import little_work_per_iteration, uneven_blocks
from polytc.tiling import marks

PARALLEL_MARK = marks.PARALLEL
MAX_UNROLLED_ROWS = 16


def mark_parallel(schedule: isl.Schedule, context: isl.Set | None = None) -> isl.Schedule:
    """Insert a ``parallel`` mark above each band with a coincident member
    that is not already inside a parallel loop, unless it sits in one loop
    whose iterations each run little work (:func:`little_work_per_iteration`:
    then neither it nor any band below it is marked); a mark for the band's member
    ``k > 0`` is named ``parallel+k``, and ``parallel-uneven`` when static
    blocks of its iterations would give threads uneven work (:mod:`.balance`,
    under the sizes of ``context``).  Bands are not split: isl's AST generation of the
    inner part of a split tiled band can take hours where the whole band
    takes a second (fuzz seed 20240826)."""
    root = schedule.get_root()
    return _mark_subtree(root, context).get_schedule()


def _mark_subtree(node: isl.ScheduleNode, context: isl.Set | None) -> isl.ScheduleNode:
    if node.get_type() == isl.schedule_node_type.mark \
            and node.mark_get_id().get_name().startswith(marks.ARRAY_REDUCE_PREFIX):
        band = node.child(0)  # its first loop runs in parallel, reducing into private copies
        return band.insert_mark(isl.Id(PARALLEL_MARK, context=node.get_ctx())).parent()
    if node.get_type() == isl.schedule_node_type.band:
        flags = [node.band_member_get_coincident(i) for i in range(node.band_n_member())]
        if any(flags) and little_work_per_iteration(node, context):
            return node  # nothing below it is worth a fork per iteration of its loop
        if any(flags):
            first = flags.index(True)
            name = f"{PARALLEL_MARK}-{marks.UNEVEN}" if uneven_blocks(node, first, context) \
                else PARALLEL_MARK
            name = name if first == 0 else f"{name}+{first}"
            return node.insert_mark(isl.Id(name, context=node.get_ctx()))
    for position in range(node.n_children()):
        node = _mark_subtree(node.child(position), context).parent()
    return node


def pragma_mark(name: str) -> tuple[tuple[str, ...], int] | None:
    """(pragmas, band member) of a ``parallel``/``parallel-uneven``/``simd``
    mark name, else None."""
    base, _, member = name.partition("+")
    if not (member or "0").isdigit():
        return None
    if base == f"{marks.PARALLEL}-{marks.UNEVEN}":
        return (marks.PARALLEL, marks.UNEVEN), int(member or 0)
    if base not in (marks.PARALLEL, marks.SIMD):
        return None
    return (base,), int(member or 0)


def register_rows(node: isl.AstNode) -> int | None:
    """The trip count of a loop from 0 to a small constant whose body is a
    ``simd`` loop: the rows of a register block, which gcc must unroll to
    keep the block in registers (with the sizes specialised it kept the loop
    and gemm ran 3x slower), else None."""
    body = node.for_get_body()
    if body.get_type() != isl.ast_node_type.mark or body.mark_get_id().get_name() != marks.SIMD:
        return None
    init, cond, inc = node.for_get_init(), node.for_get_cond(), node.for_get_inc()
    if init.get_type() != isl.ast_expr_type.int or inc.get_type() != isl.ast_expr_type.int \
            or init.get_val().to_python() != 0 or inc.get_val().to_python() != 1 \
            or cond.get_type() != isl.ast_expr_type.op or cond.get_op_n_arg() != 2:
        return None
    bound = cond.get_op_arg(1)
    if bound.get_type() != isl.ast_expr_type.int:
        return None
    last = int(bound.get_val().to_python())
    kind = cond.get_op_type()
    if kind == isl.ast_expr_op_type.le:
        trips = last + 1
    elif kind == isl.ast_expr_op_type.lt:
        trips = last
    else:
        return None
    return trips if 1 < trips <= MAX_UNROLLED_ROWS else None


def trip_count(node: isl.AstNode, text: Callable[[isl.AstExpr], str]) -> str | None:
    """The C expression of the trip count of the loop at ``node`` when its
    body holds no loop (a loop of statements), else None."""
    if _holds_loop(node.for_get_body()):
        return None
    cond = node.for_get_cond()
    if cond.get_type() != isl.ast_expr_type.op or cond.get_op_n_arg() != 2:
        return None
    kind = cond.get_op_type()
    if kind not in (isl.ast_expr_op_type.le, isl.ast_expr_op_type.lt):
        return None
    extra = " + 1" if kind == isl.ast_expr_op_type.le else ""
    return f"({text(cond.get_op_arg(1))}) - ({text(node.for_get_init())}){extra}"


def _holds_loop(node: isl.AstNode) -> bool:
    kind = node.get_type()
    if kind == getattr(isl.ast_node_type, "for_"):
        return True
    if kind == isl.ast_node_type.block:
        children = node.block_get_children()
        return any(_holds_loop(children.get_at(k)) for k in range(children.n_ast_node()))
    if kind == getattr(isl.ast_node_type, "if_"):
        return _holds_loop(node.if_get_then_node()) or (
            node.if_has_else_node() and _holds_loop(node.if_get_else_node()))
    if kind == isl.ast_node_type.mark:
        return _holds_loop(node.mark_get_node())
    return False


def annotation(node: isl.AstNode) -> str | None:
    try:
        return node.get_annotation().get_name()
    except isl.Error:  # no annotation
        return None
