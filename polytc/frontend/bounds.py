"""The out-of-bounds proof of a statement's reads, and the size conditions
it leaves.

Input: a checked statement, its iteration domain (after range inference and
its ``where`` constraints), the extents of the tensors it reads and the
parameter context.  For every executed read and every affine subscript
``s`` of dimension ``d`` of ``T``, isl computes the sizes for which some
iteration reads outside ``[0, extent(T, d))`` (under the read's ternary
guard):

* none: the read is safe;
* every size on which the read executes at all: the program is refused
  with :class:`~polytc.errors.OutOfBoundsError` and a witness;
* some sizes only (``A(i) where i in 0:5`` with ``A`` of size ``N``; the
  boundary column ``A(i, 0)``, which needs ``D >= 1``): the statement is
  kept and a :class:`~polytc.program.SizeCondition` records the sizes it
  needs; the kernel checks them at every call.
"""
from __future__ import annotations

import islpy as isl

from polytc.errors import OutOfBoundsError
from polytc.frontend.sema import Access, CheckedStatement
from polytc.isl_util import extent_text, lift, param_names
from polytc.program import SizeCondition


def check_reads(stmt: CheckedStatement, domain: isl.Set,
                extents: dict[str, tuple[isl.PwAff, ...]], names: dict, context: isl.Set,
                source: str) -> tuple[SizeCondition, ...]:
    """The size conditions of the reads of ``stmt`` on ``domain``; a read
    outside its tensor whenever it executes raises :class:`OutOfBoundsError`."""
    space = names[0].get_domain_space()
    conditions = []
    for access in stmt.accesses:
        if not access.executed:
            continue
        where = domain if access.guard is None else domain & access.guard
        for dim, sub in enumerate(access.subscripts):
            if sub is None:
                continue
            extent = lift(extents[access.tensor][dim], space)
            bad = where & (sub.lt_set(names[0]) | sub.ge_set(extent))
            if bad.is_empty():
                continue
            runs = where.params().intersect(context).coalesce()
            holds = context.subtract(bad.params()).coalesce()
            if (runs & holds).is_empty():
                raise OutOfBoundsError(_refusal(stmt, access, dim, extents, bad), access.span,
                                       source)
            outside = isl.Map.from_pw_aff(sub).intersect_domain(bad).range().coalesce()
            conditions.append(SizeCondition(access.tensor, dim, holds.gist(context), runs,
                                            outside))
    return tuple(conditions)


def _refusal(stmt: CheckedStatement, access: Access, dim: int,
             extents: dict[str, tuple[isl.PwAff, ...]], bad: isl.Set) -> str:
    extent = extent_text(extents[access.tensor][dim])
    return (f"this read of '{access.tensor}' falls outside the tensor whenever it executes: "
            f"its subscript {dim} leaves [0, {extent}), for example at "
            f"{_witness(bad, stmt.iterators)}; restrict the indices with a where clause "
            "(e.g. 'where i in 0:N - 1') or guard the read with a ternary")


def _witness(bad: isl.Set, iterators: tuple[str, ...]) -> str:
    point = bad.sample_point()
    params = param_names(bad.get_space())
    values = [f"{p}={point.get_coordinate_val(isl.dim_type.param, i).to_python()}"
              for i, p in enumerate(params)]
    values += [f"{v}={point.get_coordinate_val(isl.dim_type.set, i).to_python()}"
               for i, v in enumerate(iterators)]
    return ", ".join(values)
