"""Lowering: a checked def to a :class:`~polytc.program.Program`.

Statement by statement, in program order: sema types the body and builds its
accesses, range inference gives its domain, and the written tensor's extent
grows to cover what it writes (extent = largest index + 1).  A ``!``
reduction becomes an ``init`` statement (the identity over the left-hand
side's box) followed by the update.  A tensor whose box is not entirely
written by assignments or inits gets a ``fill`` statement first, so elements
no statement writes read as zero (TC left them undefined: its issue #12).
"""
from __future__ import annotations

import dataclasses

import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.errors import PolytcError, PolytcInternalError, RangeInferenceError
from polytc.frontend import ast
from polytc.frontend.ranges import infer_domain
from polytc.frontend.sema import CheckedStatement, DefChecker, TensorInfo
from polytc.frontend.signature import Signature, signature
from polytc.isl_util import extent_text, lift, simplify


def lower(definition: ast.Def, source: str, *, dtype: str = dtypes.FLOAT32) -> ir.Program:
    """Lower one parsed def; ``dtype`` is the bare form's default input type."""
    try:
        return _lower(definition, source, dtype)
    except PolytcError:
        raise
    except isl.Error as error:  # pragma: no cover - an isl failure is our bug
        raise PolytcInternalError("lowering TC to isl", str(error)) from error


def _lower(definition: ast.Def, source: str, default_dtype: str) -> ir.Program:
    sig = signature(definition, source, default_dtype)
    params = sig.params
    context = _context(params)
    zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(context.get_space()))
    extents: dict[str, tuple[isl.PwAff, ...]] = {}
    for name in sig.inputs:
        info = sig.tensors[name]
        extents[name] = tuple(_param(d, context) if isinstance(d, str) else zero + d
                              for d in info.dims)
    checker = DefChecker(definition, source, params, sig.tensors)
    statements: list[ir.Statement] = []
    conditions: tuple[ir.SizeCondition, ...] = ()
    for stmt in definition.statements:
        checked = checker.check_statement(stmt, f"S{len(statements)}")
        if checked.init:
            checked = _renamed(checked, f"S{len(statements) + 1}")
        inferred = infer_domain(checked, params, extents, context, source)
        conditions += inferred.conditions
        extents[checked.tensor] = _grow(extents.get(checked.tensor),
                                        [inferred.intervals[v][1] for v in checked.lhs], zero,
                                        context)
        text = source[stmt.span.start:stmt.span.end]
        dtype = checker.tensors[checked.tensor].dtype
        if checked.init:
            statements.append(_statement(f"S{len(statements)}", checked, inferred.lhs_domain, "=",
                                         ir.Const(dtypes.identity(checked.op, dtype), dtype),
                                         "init", text, context))
        statements.append(_statement(checked.name, checked, inferred.domain, checked.op,
                                     checked.body, "compute", text, context))
    for name in sig.outputs:
        _check_declared_extents(checker.tensors[name], extents[name], context, source)
    tensors = []
    for name, info in checker.tensors.items():
        if name not in extents:
            continue
        tensors.append(ir.Tensor(name, info.dtype, info.role, extents[name],
                                 info.dims if info.role == "input" else ()))
    touched = {s.name: {s.tensor, *(r.tensor for r in s.reads)} for s in statements}
    fills = [_fill(t, statements, context, touched) for t in tensors if t.role != "input"]
    statements = [s for s in fills if s is not None] + statements
    ordered = _ordered_tensors(tensors, sig)
    return ir.Program(definition.name.name, params, ordered, tuple(statements), context,
                      conditions=conditions)


def _check_declared_extents(info: TensorInfo, extents: tuple[isl.PwAff, ...],
                            context: isl.Set, source: str) -> None:
    """An output annotated ``float(M, N) C`` must be inferred with extents M, N."""
    if not info.annotated:
        return
    for dim, (declared, extent) in enumerate(zip(info.dims, extents)):
        expected = _param(declared, context) if isinstance(declared, str) else \
            isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(context.get_space())) + declared
        if not context.is_subset(expected.eq_set(extent)):
            raise RangeInferenceError(
                f"output '{info.name}' is declared with extent {declared} in dimension {dim} "
                f"but its statements write an extent of {extent_text(extent)}",
                info.span, source)


def _context(params: tuple[str, ...]) -> isl.Set:
    """Sizes are non-negative."""
    names = isl.make_zero_and_vars([], list(params))
    context = isl.Set.universe(names[0].get_domain_space())
    for p in params:
        context = context & names[p].ge_set(names[0])
    return context.params()


def _param(name: str, context: isl.Set) -> isl.PwAff:
    position = context.get_space().find_dim_by_name(isl.dim_type.param, name)
    return isl.PwAff.var_on_domain(isl.LocalSpace.from_space(context.get_space()),
                                   isl.dim_type.param, position)


def _renamed(checked: CheckedStatement, name: str) -> CheckedStatement:
    """The same statement under another name (its accesses renamed too)."""
    def rename(expr: ir.Expr) -> ir.Expr:
        expr = ir.map_children(expr, rename)
        if isinstance(expr, ir.Read):
            return ir.Read(expr.tensor, expr.indices,
                           expr.access.set_tuple_name(isl.dim_type.in_, name), expr.dtype)
        return expr
    return dataclasses.replace(checked, name=name, body=rename(checked.body))


def _grow(current: tuple[isl.PwAff, ...] | None, upper: list[isl.PwAff],
          zero: isl.PwAff, context: isl.Set) -> tuple[isl.PwAff, ...]:
    """Extents covering ``current`` and indices below ``upper`` (exclusive)."""
    extents = []
    for dim, hi in enumerate(upper):
        total_zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(hi.get_domain_space()))
        extent = hi.union_max(total_zero)
        if current is not None:
            extent = extent.max(current[dim])
        extents.append(simplify(extent, context))
    return tuple(extents)


def _statement(name: str, checked: CheckedStatement, domain: isl.Set, op: str,
               body: ir.Expr, kind: str, text: str, context: isl.Set) -> ir.Statement:
    iterators = checked.lhs if kind == "init" else checked.iterators
    # simplified against the sizes' context only: gisting against the sizes
    # where the domain is non-empty would drop the very constraints that make
    # it empty for other sizes (the statement then ran for all of them)
    domain = domain.set_tuple_name(name).gist_params(context.align_params(domain.get_space()))
    for position, var in enumerate(iterators):
        domain = domain.set_dim_name(isl.dim_type.set, position, var)
    write = isl.Map.from_domain_and_range(domain, isl.Set.universe(
        domain.get_space().params().add_dims(isl.dim_type.set, len(checked.lhs))))
    for position, var in enumerate(checked.lhs):
        write = write.equate(isl.dim_type.in_, iterators.index(var), isl.dim_type.out, position)
    write = write.set_tuple_name(isl.dim_type.out, checked.tensor)
    return ir.Statement(name, checked.tensor, iterators, checked.lhs, op, body,
                        domain, write, kind, text)


def _fill(tensor: ir.Tensor, statements: list[ir.Statement], context: isl.Set,
          touched: dict[str, set[str]]) -> ir.Statement | None:
    """A zero-fill of ``tensor`` unless, in program order, every element a
    statement reads was written by an earlier statement and the statements
    write its whole box."""
    box = _tensor_box(tensor, context)
    relevant = [s for s in statements if tensor.name in touched[s.name]]
    if not _needs_fill(tensor, relevant, box):
        return None
    iterators = tuple(f"d{i}" for i in range(tensor.rank))
    name = f"fill_{tensor.name}"
    domain = box.set_tuple_name(name)
    for i, it in enumerate(iterators):
        domain = domain.set_dim_name(isl.dim_type.set, i, it)
    write = isl.Map.identity(isl.Space.map_from_set(box.get_space())).intersect_domain(box)
    write = write.set_tuple_name(isl.dim_type.in_, name)
    for i, it in enumerate(iterators):
        write = write.set_dim_name(isl.dim_type.in_, i, it)
    return ir.Statement(name, tensor.name, iterators, iterators, "=",
                        ir.Const(dtypes.identity("+", tensor.dtype), tensor.dtype),
                        domain, write, "fill", f"{tensor.name} = 0")


def _needs_fill(tensor: ir.Tensor, statements: list[ir.Statement], box: isl.Set) -> bool:
    written = isl.UnionSet.empty(box.get_space().params())
    box_set = isl.UnionSet.from_set(box)
    for s in statements:
        read = s.read_relation().intersect_params(box.params()).range().intersect(box_set)
        if not read.is_subset(written):  # e.g. an in-place update past the assignment
            return True
        if s.tensor == tensor.name:
            written = written.union(isl.UnionSet.from_set(s.domain.apply(s.write)))
    return not box_set.is_subset(written)


def _tensor_box(tensor: ir.Tensor, context: isl.Set) -> isl.Set:
    """``{ T[x] : 0 <= x_d < extent_d }`` on the context."""
    space = context.get_space().add_dims(isl.dim_type.set, tensor.rank).set_tuple_name(
        isl.dim_type.set, tensor.name)
    box = isl.Set.universe(space).intersect_params(context)
    for d, extent in enumerate(tensor.shape):
        var = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(space), isl.dim_type.set, d)
        box = box & var.ge_set(var * 0) & var.lt_set(lift(extent, space))
    return box


def _ordered_tensors(tensors: list[ir.Tensor], sig: Signature) -> tuple[ir.Tensor, ...]:
    """Inputs in signature order, then outputs in return order, then temporaries."""
    by_name = {t.name: t for t in tensors}
    order = list(sig.inputs) + list(sig.outputs)
    rest = [t.name for t in tensors if t.name not in order]
    return tuple(by_name[n] for n in order + rest if n in by_name)
