"""The parameters of a C function, as a kernel called from numpy sees them.

Each parameter is an integer scalar (a size: passed by name or inferred from
an array's shape), a floating-point scalar (passed by value), or an array
with its declared extents (``double A[n][m]``, ``double B[20][30]``) as
affine functions of the integer parameters.  Pointers and other types are
refused: cffi and numpy need to know an array's shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import islpy as isl
from pycparser import c_ast

from polytc import dtypes
from polytc.errors import CFrontendError
from polytc.frontend.c.affine import NonAffine, Scope
from polytc.frontend.c.parse import Diagnostics, Unit
from polytc.frontend.c.symbols import TypeProblem, element_type, typedefs


@dataclass(frozen=True)
class CParam:
    """A parameter: ``extents`` (arrays) are PwAffs on the function's integer
    parameters, ``dims`` their C text as declared (macros expanded)."""

    name: str
    dtype: str
    extents: tuple[isl.PwAff, ...]
    dims: tuple[str, ...]

    @property
    def rank(self) -> int:
        return len(self.extents)

    @property
    def integer(self) -> bool:
        return not self.extents and dtypes.is_integral(self.dtype)


def signature(unit: Unit, function: c_ast.FuncDef) -> tuple[CParam, ...]:
    """The parameters of ``function``; unusable ones raise CFrontendError."""
    diagnostics = Diagnostics(unit.source)
    types = typedefs(unit.ast)
    decls = [p for p in (function.decl.type.args.params if function.decl.type.args else [])
             if isinstance(p, c_ast.Decl)]
    described = []
    for decl in decls:
        try:
            described.append((decl, *element_type(decl.type, types)))
        except TypeProblem as problem:
            diagnostics.add(decl, f"parameter '{decl.name}': {problem}")
    integers = [d.name for d, dtype, dims, pointer in described
                if not dims and not pointer and dtypes.is_integral(dtype)]
    space = isl.Space.create_from_names(isl.DEFAULT_CONTEXT, set=[], params=integers)
    scope = Scope(space, lambda name: "is not an integer parameter of the function")
    params = []
    for decl, dtype, dims, pointer in described:
        if pointer:
            diagnostics.add(decl, f"parameter '{decl.name}' is a pointer; a kernel needs "
                            "arrays with their extents",
                            f"declare it as an array, e.g. {decl.name}[n]")
            continue
        extents = []
        for position, dim in enumerate(dims):
            if dim is None:
                diagnostics.add(decl, f"array parameter '{decl.name}' has no extent in "
                                f"dimension {position}",
                                f"declare it with every extent, e.g. {decl.name}[n][m]")
                continue
            try:
                extents.append(scope.pw_aff(dim).project_domain_on_params())
            except NonAffine as problem:
                diagnostics.add(problem.node, f"extent of '{decl.name}': {problem.message}",
                                problem.hint)
        params.append(CParam(decl.name, dtype, tuple(extents),
                             tuple(diagnostics.text(d) for d in dims if d is not None)))
    diagnostics.raise_if_any()
    return tuple(params)


def function_named(unit: Unit, name: str) -> c_ast.FuncDef:
    for ext in unit.ast.ext:
        if isinstance(ext, c_ast.FuncDef) and ext.decl.name == name:
            return ext
    diagnostics = Diagnostics(unit.source)
    diagnostics.add(None, f"no function named '{name}' with a body")
    raise CFrontendError(diagnostics.found)
