"""A C region to a :class:`~polytc.program.Program`.

The names of the region decide what they are (research note §6.3):
integer variables neither written in the region nor its loop iterators are
the parameters (``n``, an enclosing loop's ``t``); arrays and other scalars
are tensors addressed natively (``inout`` when the region writes them,
``input`` otherwise), with the extents of their declarations.  The context
assumes the parameters non-negative (code generated under it checks that,
and runs the original code otherwise).  Statements
come from :mod:`.extract` (domains, original order) and :mod:`.values`
(bodies, accesses).  Every problem of the region is collected and raised
as one :class:`~polytc.errors.CFrontendError`.
"""
from __future__ import annotations

import islpy as isl
from pycparser import c_ast

from polytc import dtypes
from polytc import program as ir
from polytc.frontend.c.affine import NonAffine, Scope
from polytc.frontend.c.extract import Extractor, RawStatement
from polytc.frontend.c.liveness import outside_uses
from polytc.frontend.c.parse import Diagnostics, Region, Unit
from polytc.frontend.c.symbols import Symbol, TypeProblem, element_type, typedefs, visible
from polytc.frontend.c.values import Lowering, Problem, combine

_COMPOUND = {"-=": "-", "/=": "/", "%=": "%", "<<=": "<<", ">>=": ">>", "&=": "&", "|=": "|",
             "^=": "^"}


class RegionNames:
    """What each name of a region is: symbols, parameters, written names."""

    def __init__(self, unit: Unit, region: Region) -> None:
        self.typedefs = typedefs(unit.ast)
        first = region.items[0] if region.items else region.endscop
        self.symbols, self.problems = visible(unit.ast, region.function, region.path,
                                              region.scop or first, self.typedefs)
        self.used: list[str] = []
        self.written: set[str] = set()
        self.iterators: set[str] = set()
        self.declared_inside: set[str] = set()
        for item in region.items:
            self._collect(item)
        arrays = [self.symbols[n] for n in self.used if n in self.symbols
                  and self.symbols[n].rank]
        for symbol in arrays:  # VLA extents are parameters too
            for dim in symbol.dims:
                self._collect(dim)
        order = [p.name for p in (region.function.decl.type.args.params
                                  if region.function.decl.type.args else [])
                 if isinstance(p, c_ast.Decl)]
        candidates = sorted(set(self.used), key=lambda n: (order.index(n) if n in order
                                                           else len(order), self.used.index(n)))
        self.params = [n for n in candidates if self._is_param(n)]

    def _collect(self, node: c_ast.Node | None) -> None:
        if node is None:
            return
        if isinstance(node, c_ast.ID):
            if node.name not in self.used:
                self.used.append(node.name)
            return
        if isinstance(node, c_ast.FuncCall):
            self._collect(node.args)
            return
        if isinstance(node, c_ast.For):
            if isinstance(node.init, c_ast.DeclList):
                for decl in node.init.decls:
                    self._declare(decl)
                    self.iterators.add(decl.name)
            elif isinstance(node.init, c_ast.Assignment) and isinstance(node.init.lvalue, c_ast.ID):
                self.iterators.add(node.init.lvalue.name)
        if isinstance(node, c_ast.Assignment):
            self.written.add(_base(node.lvalue))
        if isinstance(node, c_ast.UnaryOp) and node.op in ("p++", "++", "p--", "--"):
            self.written.add(_base(node.expr))
        for _, child in node.children():
            self._collect(child)

    def _declare(self, decl: c_ast.Decl) -> None:
        try:
            dtype, dims, pointer = element_type(decl.type, self.typedefs)
        except TypeProblem as problem:
            self.problems[decl.name] = str(problem)
            return
        self.symbols[decl.name] = Symbol(decl.name, dtype, dims, "local", False, decl, pointer)
        self.declared_inside.add(decl.name)

    def _is_param(self, name: str) -> bool:
        symbol = self.symbols.get(name)
        return (symbol is not None and not symbol.rank and not symbol.pointer
                and dtypes.is_integral(symbol.dtype) and name not in self.written
                and name not in self.iterators)

    def explain(self, name: str) -> str:
        """Why ``name`` cannot stand in an affine expression (or be read)."""
        if name in self.problems:
            return f"has a type polytc does not take: {self.problems[name]}"
        symbol = self.symbols.get(name)
        if symbol is None:
            return "is not a declared variable"
        if name in self.iterators:
            return "is the iterator of a loop that does not enclose this point"
        if symbol.pointer:
            return "is a pointer"
        if symbol.rank:
            return "is an array"
        if name in self.written:
            return "is written in the region"
        if not dtypes.is_integral(symbol.dtype):
            return "is a floating-point variable"
        return "is not a loop iterator or parameter"


def lower_region(unit: Unit, region: Region) -> ir.Program:
    """The program of ``region``; its problems raise CFrontendError."""
    names = RegionNames(unit, region)
    diagnostics = Diagnostics(unit.source)
    ctx = isl.DEFAULT_CONTEXT
    extraction = Extractor(names.params, names.explain, diagnostics, ctx).extract(region.items)
    statements = []
    for raw in extraction.statements:
        try:
            statements.append(_statement(raw, names, diagnostics))
        except Problem as problem:
            diagnostics.add(problem.node, problem.message, problem.hint)
    for use in outside_uses(region):
        if use.name in names.iterators and use.name not in names.declared_inside \
                and use.read and use.after and not use.reset:
            diagnostics.add(use.node, f"'{use.name}' is read after the region, but polytc does "
                            "not keep the final values of the region's loop iterators",
                            f"set {use.name} before reading it, or declare the iterator in "
                            f"its loop: for (int {use.name} = ...)")
    params_space = isl.Space.create_from_names(ctx, set=[], params=names.params)
    tensors = _tensors(statements, names, params_space, diagnostics)
    diagnostics.raise_if_any()
    if not statements:
        diagnostics.add(region.scop or region.function, "the region has no statement")
        diagnostics.raise_if_any()
    context = isl.Set.universe(params_space.params())
    for position in range(len(names.params)):  # assumed, and checked by the generated code
        context = context.lower_bound_val(isl.dim_type.param, position,
                                          isl.Val.zero(context.get_ctx()))
    for tensor in tensors:
        for extent in tensor.shape:
            if not extent.is_cst():  # a VLA's extents are not negative
                context = context.intersect(extent.ge_set(extent.zero_on_domain(
                    isl.LocalSpace.from_space(context.get_space()))))
    return ir.Program(region.name, tuple(names.params), tuple(tensors), tuple(statements),
                      context, extraction.order)


def _statement(raw: RawStatement, names: RegionNames, diagnostics: Diagnostics) -> ir.Statement:
    scope = Scope(raw.domain.get_space(), names.explain)
    iterators = tuple(loop.name for loop in raw.loops)
    lowering = Lowering(scope, iterators, set(names.params), names.symbols, names.explain,
                        names.typedefs)
    tensor, indices, write, dtype = lowering.access(raw.target)
    if raw.op in ("++", "p++", "+=", "*="):
        op = "*" if raw.op == "*=" else "+"
        body = ir.Const(1, "int32", "1") if raw.value is None else lowering.value(raw.value)
    elif raw.op == "=":
        op, body = _accumulation(tensor, indices, dtype, lowering.value(raw.value))
    else:  # x -= e is x = x - (e); x-- is x = x - 1
        value = ir.Const(1, "int32", "1") if raw.value is None else lowering.value(raw.value)
        current = ir.Read(tensor, indices, write, dtype)
        op, body = "=", combine(_COMPOUND.get(raw.op, "-"), current, value, raw.node)
    plain = all(isinstance(i, ir.Var) and i.kind == "index" for i in indices)
    lhs = tuple(i.name for i in indices if isinstance(i, ir.Var)) if plain else ()
    target = None if plain else indices
    return ir.Statement(raw.name, tensor, iterators, lhs, op, body, raw.domain,
                        write.intersect_domain(raw.domain), "compute",
                        diagnostics.text(raw.node), target)


def _accumulation(tensor: str, indices: tuple[ir.Expr, ...], dtype: str,
                  value: ir.Expr) -> tuple[str, ir.Expr]:
    """``x = x + e`` (or ``e + x``, ``*``) as the update ``x += e``: the same
    operation in the same type, so the same bits, and a reduction that
    ``reassociate=True`` may vectorise (PolyBench's ``tmp[i] = tmp[i] +
    A[i][j] * x[j]``); any other value as written, ``("=", value)``."""
    if isinstance(value, ir.Binary) and value.op in ("+", "*") and value.dtype == dtype:
        for current, other in ((value.lhs, value.rhs), (value.rhs, value.lhs)):
            if isinstance(current, ir.Read) and current.tensor == tensor \
                    and current.indices == indices and other.dtype == dtype:
                return value.op, other
    return "=", value


def _tensors(statements: list[ir.Statement], names: RegionNames, params: isl.Space,
             diagnostics: Diagnostics) -> list[ir.Tensor]:
    """The arrays and scalars the statements access, in order of first use."""
    written = {s.tensor for s in statements}
    order: list[str] = []
    for statement in statements:
        for name in [r.tensor for r in statement.reads] + [statement.tensor]:
            if name not in order:
                order.append(name)
    scope = Scope(params, names.explain)
    tensors = []
    for name in order:
        symbol = names.symbols[name]
        shape = []
        for position, dim in enumerate(symbol.dims):
            try:
                if dim is None:
                    raise NonAffine(symbol.decl, f"array '{name}' has no extent in dimension "
                                    f"{position}", f"declare it with its extents, e.g. "
                                    f"{name}[n][m]")
                shape.append(scope.pw_aff(dim).project_domain_on_params())
            except NonAffine as problem:
                diagnostics.add(problem.node, problem.message if dim is None else
                                f"extent of array '{name}' is not affine: {problem.message}",
                                problem.hint)
        dims = tuple(_dim(extent) for extent in shape)
        role = "inout" if name in written else "input"
        tensors.append(ir.Tensor(name, symbol.dtype, role, tuple(shape), dims, native=True))
    return tensors


def _dim(extent: isl.PwAff) -> str | int:
    """A tensor dimension as the size symbol or constant it is, else its text."""
    if extent.is_cst() and len(extent.get_pieces()) == 1:
        return int(extent.get_pieces()[0][1].get_constant_val().to_python())
    pieces = extent.get_pieces()
    if len(pieces) == 1:
        aff = pieces[0][1]
        space = aff.get_space()
        for p in range(space.dim(isl.dim_type.param)):
            if aff.get_coefficient_val(isl.dim_type.param, p).is_one() and \
                    aff.get_constant_val().is_zero():
                return space.get_dim_name(isl.dim_type.param, p) or str(extent)
    return str(extent)


def _base(node: c_ast.Node) -> str:
    while isinstance(node, c_ast.ArrayRef):
        node = node.name
    return node.name if isinstance(node, c_ast.ID) else ""
