"""How many bytes a program's accesses touch, as a C expression over its sizes.

Each tensor counts the box around the elements its statements read or
write (from the access relations over the iteration domains), times its
element size; the footprint is their sum.  C input uses it to run a
time-tiled region in the original order where its data fit in the L1 cache
on one thread (:func:`polytc.codegen_c.block.to_c_block`).
"""
from __future__ import annotations

from typing import Callable

import islpy as isl

from polytc import program as ir
from polytc.dtypes import bits


def footprint_boxes(program: ir.Program) -> dict[str, tuple[int, list[isl.PwAff]]] | None:
    """Per tensor touched: its element's bytes and the extents of the box
    around the elements touched, as functions of the sizes (0 where nothing
    is); None where a box is unbounded."""
    touched: dict[str, isl.Set] = {}
    for statement in program.statements:
        for access in [statement.write] + [read.access for read in statement.reads]:
            elements = access.intersect_domain(statement.domain).range()
            name = access.get_tuple_name(isl.dim_type.out)
            touched[name] = touched[name].union(elements) if name in touched else elements
    zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(program.context.get_space()))
    boxes = {}
    for name in sorted(touched):
        box = touched[name].intersect_params(program.context).coalesce()
        if not box.is_bounded():
            return None
        extents = [(box.dim_max(d) - box.dim_min(d) + 1).union_max(zero).coalesce()
                   for d in range(box.dim(isl.dim_type.set))]
        boxes[name] = (bits(program.tensor(name).dtype) // 8, extents)
    return boxes


def footprint_c(program: ir.Program, text: Callable[[isl.AstExpr], str]) -> str | None:
    """:func:`footprint_boxes` summed as C (``text`` prints isl's
    expressions) in 64-bit arithmetic; None where a box is unbounded or
    nothing is touched."""
    boxes = footprint_boxes(program)
    if not boxes:
        return None
    build = isl.AstBuild.from_context(isl.Set.universe(program.context.get_space()))
    terms = []
    for element_bytes, extents in boxes.values():
        factors = [f"(int64_t){element_bytes}"]  # the products stay in int64_t
        factors += [f"({text(build.expr_from_pw_aff(extent))})" for extent in extents]
        terms.append(" * ".join(factors))
    return " + ".join(terms)
