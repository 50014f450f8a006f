"""Semantic analysis: names, ranks, types and affine subscripts of one def.

:class:`DefChecker` resolves the def's symbols (size symbols, tensors,
builtins) and, statement by statement, turns the syntax tree into a typed
:mod:`polytc.program` expression whose reads carry isl access maps.  What
range inference needs is collected as :class:`Access` records: the affine
subscripts of every read (as ``isl.PwAff`` over the statement's iteration
space) and the ternary guard under which the read executes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.errors import (ArityError, InputWriteError, MissingReductionError,
                           NonAffineIndexError, RankMismatchError, ReadBeforeWriteError,
                           RedefinitionError, Span, TcSemanticError, TypeMismatchError,
                           UninitializedReductionError, UnknownNameError)
from polytc.frontend import ast
from polytc.frontend.affine import COMPARISONS as _COMPARISONS
from polytc.frontend.affine import AffineBuilder, access_map
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.where import Constraint, where_clauses

_REDUCTION = {"=": "=", "+=": "+", "*=": "*", "max=": "max", "min=": "min"}


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """What the def says about a tensor before range inference."""

    name: str
    dtype: str
    role: str  # input | output | temp
    rank: int
    dims: tuple[str | int, ...]  # inputs: size symbol or constant per dimension
    span: Span
    annotated: bool = False


@dataclass(frozen=True, slots=True)
class Access:
    """One read for range inference and bounds checking.

    ``subscripts[d]`` is ``None`` for a gathered (data-dependent) dimension.
    ``guard`` is the set of iterations where the read executes (``None``:
    everywhere); ``executed`` is False for ``exists`` hints.
    """

    tensor: str
    subscripts: tuple[isl.PwAff | None, ...]
    span: Span
    guard: isl.Set | None
    executed: bool


@dataclass(frozen=True, slots=True)
class CheckedStatement:
    """A statement after sema: typed body, iterators, where ranges, accesses."""

    source: ast.Statement
    name: str
    tensor: str
    lhs: tuple[str, ...]
    iterators: tuple[str, ...]
    op: str  # '=', '+', '*', 'max', 'min'
    init: bool
    body: ir.Expr
    ranges: dict[str, tuple[isl.PwAff, isl.PwAff, Span]] = field(compare=False)
    accesses: tuple[Access, ...] = ()
    spans: dict[str, Span] = field(default_factory=dict, compare=False)
    constraints: tuple[Constraint, ...] = field(default=(), compare=False)


class DefChecker:
    """Checks one def; call :meth:`check_statement` on each statement in order."""

    def __init__(self, definition: ast.Def, source: str, params: tuple[str, ...],
                 tensors: dict[str, TensorInfo]) -> None:
        self.definition = definition
        self.source = source
        self.params = params
        self.tensors = dict(tensors)
        self.written: set[str] = set()

    def error(self, cls: type[TcSemanticError], message: str, span: Span) -> TcSemanticError:
        return cls(message, span, self.source)

    # -- statements -------------------------------------------------------
    def check_statement(self, stmt: ast.Statement, name: str) -> CheckedStatement:
        info = self.tensors.get(stmt.lhs.name)
        if stmt.lhs.name in self.params or stmt.lhs.name in BUILTINS:
            raise self.error(RedefinitionError, f"'{stmt.lhs.name}' is already defined as a "
                             f"{'size' if stmt.lhs.name in self.params else 'builtin'}",
                             stmt.lhs.span)
        if info is None:
            raise self.error(UnknownNameError, f"'{stmt.lhs.name}' is neither an input nor an output",
                             stmt.lhs.span)
        if info.role == "input":
            raise self.error(InputWriteError, f"'{stmt.lhs.name}' is an input: TC inputs are immutable",
                             stmt.lhs.span)
        if info.rank >= 0 and info.rank != len(stmt.indices):
            what = "declared as an output" if info.annotated else "written before"
            raise self.error(RankMismatchError,
                             f"'{stmt.lhs.name}' has {len(stmt.indices)} dimensions here but was "
                             f"{what} with {info.rank} dimensions", stmt.lhs.span)
        return _StatementChecker(self, stmt, name).check()

    def record_write(self, tensor: str, dtype: str, rank: int) -> None:
        info = self.tensors[tensor]
        self.tensors[tensor] = TensorInfo(info.name, dtype, info.role, rank, info.dims,
                                          info.span, info.annotated)
        self.written.add(tensor)


class _StatementChecker:
    """Type-checks one statement; owns its iteration space."""

    def __init__(self, parent: DefChecker, stmt: ast.Statement, name: str) -> None:
        self.parent = parent
        self.stmt = stmt
        self.name = name
        self.lets: dict[str, ast.Expr] = {}
        self.accesses: list[Access] = []
        self.expanding: set[str] = set()

    def error(self, cls: type[TcSemanticError], message: str, span: Span) -> TcSemanticError:
        return self.parent.error(cls, message, span)

    def check(self) -> CheckedStatement:
        stmt, parent = self.stmt, self.parent
        ranges_ast: dict[str, ast.RangeClause] = {}
        exists: list[ast.Expr] = []
        conditions: list[ast.ConditionClause] = []
        for clause in stmt.where:
            if isinstance(clause, ast.LetClause):
                self.define_let(clause)
            elif isinstance(clause, ast.RangeClause):
                if clause.var.name in ranges_ast:
                    raise self.error(RedefinitionError, f"'{clause.var.name}' already has a range",
                                     clause.var.span)
                self.check_local_name(clause.var)
                ranges_ast[clause.var.name] = clause
            elif isinstance(clause, ast.ConditionClause):
                conditions.append(clause)
            else:
                exists.append(clause.expr)
        for index in stmt.indices:
            self.check_local_name(index)
            if index.name in self.lets:
                raise self.error(RedefinitionError, f"'{index.name}' already defined", index.span)
        lhs = tuple(i.name for i in stmt.indices)
        self.spans: dict[str, Span] = {i.name: i.span for i in stmt.indices}
        found: list[str] = list(lhs)
        for name in ranges_ast:
            if name not in found:
                found.append(name)
        for expr in (stmt.rhs, *exists):
            self.collect_indices(expr, found)
        self.iterators = tuple(found)
        self.vars = isl.make_zero_and_vars(list(self.iterators), list(parent.params))
        ranges, constraints = where_clauses(self, list(ranges_ast.values()), conditions)

        body = self.expr(stmt.rhs, None)
        for expr in exists:
            saved = len(self.accesses)
            self.expr(expr, None)
            self.accesses[saved:] = [Access(a.tensor, a.subscripts, a.span, a.guard, False)
                                     for a in self.accesses[saved:]]
        op = _REDUCTION[stmt.op]
        reductions = [i for i in self.iterators if i not in lhs]
        if op == "=" and reductions:
            raise self.error(MissingReductionError,
                             f"this statement includes reduction index '{reductions[0]}' but "
                             "assigns with '='; use a reduction such as '+=!'", stmt.op_span)
        if op != "=" and not stmt.init and stmt.lhs.name not in parent.written:
            raise self.error(UninitializedReductionError,
                             f"'{stmt.lhs.name}' is reduced with '{stmt.op}' but no earlier "
                             f"statement writes it; use '{stmt.op}!' to start from the identity",
                             stmt.op_span)
        info = parent.tensors[stmt.lhs.name]
        dtype = info.dtype if (info.annotated or stmt.lhs.name in parent.written) else body.dtype
        if dtypes.narrows(body.dtype, dtype) and not (body.dtype == dtypes.INT32 and
                                                      isinstance(body, ir.Const)):
            raise self.error(TypeMismatchError,
                             f"attempting to assign type {body.dtype} to narrower type {dtype} "
                             f"of '{stmt.lhs.name}' without an explicit cast", stmt.rhs.span)
        if body.dtype != dtype:
            body = ir.Cast(body, dtype)
        parent.record_write(stmt.lhs.name, dtype, len(lhs))
        return CheckedStatement(stmt, self.name, stmt.lhs.name, lhs, self.iterators, op,
                                stmt.init, body, ranges, tuple(self.accesses), self.spans,
                                tuple(constraints))

    # -- names ------------------------------------------------------------
    def check_local_name(self, ident: ast.Ident) -> None:
        parent = self.parent
        if ident.name in parent.params or ident.name in parent.tensors or ident.name in BUILTINS:
            raise self.error(RedefinitionError, f"'{ident.name}' already defined; an index "
                             "needs a name of its own", ident.span)

    def define_let(self, clause: ast.LetClause) -> None:
        name = clause.name
        self.check_local_name(name)
        if name.name in self.lets:
            raise self.error(RedefinitionError, f"'{name.name}' already defined", name.span)
        self.lets[name.name] = clause.value

    def collect_indices(self, expr: ast.Expr, found: list[str]) -> None:
        """Append index variables of ``expr`` in order of first appearance."""
        if isinstance(expr, ast.Ident):
            name = expr.name
            if name in self.lets:
                if name in self.expanding:
                    raise self.error(RedefinitionError, f"let '{name}' refers to itself", expr.span)
                self.expanding.add(name)
                self.collect_indices(self.lets[name], found)
                self.expanding.discard(name)
            elif (name not in self.parent.params and name not in self.parent.tensors
                  and name not in found):
                found.append(name)
                self.spans.setdefault(name, expr.span)
            return
        for child in ast.children(expr):
            self.collect_indices(child, found)

    # -- expressions ----------------------------------------------------------
    def expr(self, node: ast.Expr, guard: isl.Set | None) -> ir.Expr:
        if isinstance(node, ast.Number):
            return ir.Const(node.value, dtypes.FLOAT32 if node.is_float else dtypes.INT32)
        if isinstance(node, ast.Ident):
            return self.ident(node, guard)
        if isinstance(node, ast.Extent):
            symbol = self.extent_symbol(node)
            if isinstance(symbol, str):
                return ir.Var(symbol, "size")
            return ir.Const(symbol, dtypes.INT32)
        if isinstance(node, ast.Cast):
            target = dtypes.canonical(node.scalar)
            self.check_type_supported(target, node.span)
            return ir.Cast(self.expr(node.arg, guard), target)
        if isinstance(node, ast.Unary):
            arg = self.expr(node.arg, guard)
            if node.op == "!":
                self.expect_bool(arg, node.arg.span)
                return ir.Unary("!", arg, dtypes.BOOL)
            return ir.Unary("-", arg, dtypes.promote(arg.dtype, arg.dtype))
        if isinstance(node, ast.Binary):
            return self.binary(node, guard)
        if isinstance(node, ast.Ternary):
            cond = self.expr(node.cond, guard)
            self.expect_bool(cond, node.cond.span)
            condition = AffineBuilder(self, self.vars).condition(node.cond)
            then_guard = other_guard = guard
            if condition is not None:
                then_guard = condition if guard is None else guard & condition
                rest = condition.complement()
                other_guard = rest if guard is None else guard & rest
            then = self.expr(node.then, then_guard)
            other = self.expr(node.other, other_guard)
            dtype = dtypes.promote(then.dtype, other.dtype) if then.dtype != other.dtype \
                else then.dtype
            return ir.Select(cond, _cast(then, dtype), _cast(other, dtype), dtype)
        return self.apply(node, guard)

    def ident(self, node: ast.Ident, guard: isl.Set | None) -> ir.Expr:
        name = node.name
        if name in self.lets:
            if name in self.expanding:
                raise self.error(RedefinitionError, f"let '{name}' refers to itself", node.span)
            self.expanding.add(name)
            try:
                return self.expr(self.lets[name], guard)
            finally:
                self.expanding.discard(name)
        if name in self.parent.params:
            return ir.Var(name, "size")
        if name in self.parent.tensors:
            return self.read(ast.Apply(node, (), node.span), guard)
        return ir.Var(name, "index")

    def extent_symbol(self, node: ast.Extent) -> str | int:
        info = self.parent.tensors.get(node.tensor.name)
        if info is None:
            raise self.error(UnknownNameError, f"undefined tensor '{node.tensor.name}'",
                             node.tensor.span)
        if info.role != "input" or not 0 <= node.dim < info.rank:
            raise self.error(RankMismatchError, f"'{node.tensor.name}.{node.dim}' is not a "
                             "dimension of an input", node.span)
        return info.dims[node.dim]

    def binary(self, node: ast.Binary, guard: isl.Set | None) -> ir.Expr:
        lhs = self.expr(node.lhs, guard)
        rhs = self.expr(node.rhs, guard)
        if node.op in ("&&", "||"):
            self.expect_bool(lhs, node.lhs.span)
            self.expect_bool(rhs, node.rhs.span)
            return ir.Binary(node.op, lhs, rhs, dtypes.BOOL)
        dtype = dtypes.promote(lhs.dtype, rhs.dtype)
        if node.op in _COMPARISONS:
            common = lhs.dtype if lhs.dtype == rhs.dtype else dtype
            return ir.Binary(node.op, _cast(lhs, common), _cast(rhs, common), dtypes.BOOL)
        return ir.Binary(node.op, _cast(lhs, dtype), _cast(rhs, dtype), dtype)

    def apply(self, node: ast.Apply, guard: isl.Set | None) -> ir.Expr:
        name = node.name.name
        if name in ("min", "max"):
            if len(node.args) != 2:
                raise self.error(ArityError, f"{name} expects 2 arguments but found "
                                 f"{len(node.args)}", node.span)
            a, b = (self.expr(arg, guard) for arg in node.args)
            dtype = dtypes.promote(a.dtype, b.dtype) if a.dtype != b.dtype else a.dtype
            return ir.Binary(name, _cast(a, dtype), _cast(b, dtype), dtype)
        if name in BUILTINS:
            if len(node.args) != BUILTINS[name]:
                raise self.error(ArityError, f"builtin '{name}' expects {BUILTINS[name]} "
                                 f"argument{'s' if BUILTINS[name] > 1 else ''} but found "
                                 f"{len(node.args)}", node.span)
            args = [self.expr(arg, guard) for arg in node.args]
            dtype = dtypes.FLOAT64 if any(a.dtype == dtypes.FLOAT64 for a in args) \
                else dtypes.FLOAT32
            return ir.Call(name, tuple(_cast(a, dtype) for a in args), dtype)
        if name in self.parent.tensors:
            return self.read(node, guard)
        if name in self.lets or name in self.parent.params:
            raise self.error(TcSemanticError, f"'{name}' is not a tensor or a function",
                             node.name.span)
        raise self.error(UnknownNameError, f"undefined tensor or function '{name}' used here",
                         node.name.span)

    def read(self, node: ast.Apply, guard: isl.Set | None) -> ir.Expr:
        parent, name = self.parent, node.name.name
        info = parent.tensors[name]
        if info.role != "input" and name not in parent.written:
            raise self.error(ReadBeforeWriteError, f"'{name}' is read before any statement "
                             "writes it", node.name.span)
        if info.rank != len(node.args):
            raise self.error(RankMismatchError, f"'{name}' has {info.rank} dimensions but is "
                             f"used with {len(node.args)} subscripts", node.span)
        indices: list[ir.Expr] = []
        subscripts: list[isl.PwAff | None] = []
        builder = AffineBuilder(self, self.vars)
        for arg in node.args:
            index = self.expr(arg, guard)
            if not dtypes.is_integral(index.dtype):
                raise self.error(TypeMismatchError, f"subscripts must be integral but this one "
                                 f"has type {index.dtype}", arg.span)
            affine = builder.build(arg)
            if affine is None:
                if not any(isinstance(n, ir.Read) for n in ir.walk(index)):
                    raise self.error(NonAffineIndexError, "subscript is not affine in the "
                                     "indices and sizes (only +, -, multiplication by a constant, "
                                     "and / or % by a constant are)", arg.span)
            indices.append(index)
            subscripts.append(affine)
        access = access_map(self.name, self.iterators, name, subscripts, self.vars)
        self.accesses.append(Access(name, tuple(subscripts), node.span, guard, True))
        return ir.Read(name, tuple(indices), access, info.dtype)

    def expect_bool(self, expr: ir.Expr, span: Span) -> None:
        if expr.dtype != dtypes.BOOL:
            raise self.error(TypeMismatchError, f"expected a boolean but found {expr.dtype}", span)

    def check_type_supported(self, dtype: str, span: Span) -> None:
        if dtype not in dtypes.SUPPORTED:
            raise self.error(TypeMismatchError, f"type {dtype} is not supported "
                             "(half precision is not)", span)


def _cast(expr: ir.Expr, dtype: str) -> ir.Expr:
    return expr if expr.dtype == dtype else ir.Cast(expr, dtype)
