"""Size conditions at run time: the check the C function makes at entry and
the message a failed call gets.

A program whose reads stay in bounds only for some sizes
(:attr:`polytc.program.Program.conditions`) compiles to a C function that
returns :data:`STATUS` before touching any memory when the sizes break the
condition.  :class:`SizeCheck` is what a caller needs to explain it, as
plain data (the compile cache stores it as JSON): the condition's text and
its Python form over the sizes ``p[k]``, and the subscripts read outside the
tensor as isl text, to name an index that would have been read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import islpy as isl

from polytc import program as ir
from polytc.codegen_c.expr import ast_expr
from polytc.isl_util import extent_text, param_names

#: the C function's return value when the sizes break its condition
STATUS = 4


@dataclass(frozen=True, slots=True)
class SizeCheck:
    """One read's condition on the sizes, ready to check and explain.

    :ivar text: the condition as the user reads it (``N >= 5``).
    :ivar holds_py: the same in Python over the sizes ``p[k]``.
    :ivar outside: isl text of the subscripts read outside the tensor, a
        one-dimensional set on the sizes.
    :ivar extent: the text of the dimension's extent (``N``).
    :ivar sizes: the sizes the condition names.
    """

    tensor: str
    rank: int
    dim: int
    text: str
    holds_py: str
    outside: str
    extent: str
    sizes: tuple[str, ...]


def size_checks(program: ir.Program) -> tuple[SizeCheck, ...]:
    """A :class:`SizeCheck` per condition of ``program``."""
    build = isl.AstBuild.from_context(program.context)
    index = {p: k for k, p in enumerate(program.params)}
    checks = []
    for condition in program.conditions:
        holds = condition.holds.align_params(program.context.get_space())
        expr = build.expr_from_set(holds)
        named = tuple(p for k, p in enumerate(param_names(holds.get_space()))
                      if holds.involves_dims(isl.dim_type.param, k, 1))
        extent = program.tensor(condition.tensor).shape[condition.dim]
        checks.append(SizeCheck(condition.tensor, len(program.tensor(condition.tensor).shape),
                                condition.dim,
                                condition.text(program.context),
                                ast_expr(expr, lambda n: f"p[{index[n]}]", "py"),
                                str(condition.outside), extent_text(extent), named))
    return tuple(checks)


def c_check(program: ir.Program, name_of: Callable[[str], str], used: set[str]) -> str | None:
    """``if (!(<condition>)) return 4;`` when ``program`` has conditions its
    context does not imply; ``name_of`` gives the C name of a size."""
    if not program.conditions:
        return None
    build = isl.AstBuild.from_context(program.context)
    expr = build.expr_from_set(program.precondition)
    if expr.get_type() == isl.ast_expr_type.int and expr.get_val().to_python() != 0:
        return None
    return f"if (!{ast_expr(expr, name_of, 'c', used)}) return {STATUS};"


def broken(checks: tuple[SizeCheck, ...], params: tuple[str, ...],
           sizes: tuple[int, ...]) -> list[SizeCheck]:
    """The checks that ``sizes`` break."""
    scope = {"min": min, "max": max}
    return [c for c in checks if not eval(c.holds_py, scope, {"p": sizes})]  # noqa: S307


def explain(checks: tuple[SizeCheck, ...], params: tuple[str, ...],
            sizes: tuple[int, ...]) -> str:
    """Why ``sizes`` cannot run the kernel: ``this kernel needs N >= 5 (A is
    read at index 4 of dimension 0, whose extent is N); the call has N = 3``."""
    failed = broken(checks, params, sizes) or list(checks)
    values = dict(zip(params, sizes))
    parts = []
    for check in failed:
        where = f" of dimension {check.dim}" if check.rank > 1 else ""
        index = _an_index(check, values)
        read = f"{check.tensor} is read at index {index}" if index is not None \
            else f"{check.tensor} is read outside its extent"
        given = ", ".join(f"{p} = {values[p]}" for p in check.sizes) or \
            ", ".join(f"{p} = {v}" for p, v in values.items())
        parts.append(f"this kernel needs {check.text} ({read}{where}, whose extent is "
                     f"{check.extent}); the call has {given}")
    return "; ".join(parts)


def _an_index(check: SizeCheck, values: dict[str, int]) -> int | None:
    """The largest subscript read past the end at these sizes (else the
    smallest below 0), or None when isl cannot say."""
    try:
        outside = isl.Set(check.outside)
        for position, name in enumerate(param_names(outside.get_space())):
            outside = outside.fix_val(isl.dim_type.param, position,
                                      isl.Val.int_from_si(outside.get_ctx(), values[name]))
        if outside.is_empty():
            return None
        high = outside.dim_max_val(0).to_python()
        if isinstance(high, int) and high >= 0:
            return high
        low = outside.dim_min_val(0).to_python()
        return low if isinstance(low, int) else None
    except (isl.Error, KeyError, ValueError):
        return None
