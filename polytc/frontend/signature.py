"""The signature of a def: size symbols, inputs, outputs and temporaries.

For a full ``def`` the signature is written out: typed inputs bind size
symbols, outputs are listed (optionally typed), and any other tensor a
statement writes is a temporary (beyond TC, which refused them).

For the bare statement form (a polytc extension) it is inferred: inputs are
the tensors only read, in order of first appearance; outputs are the tensors
written, in order of first write; ranks come from use; a dimension that some
read subscripts with a plain index ``k`` gets the size symbol ``K`` (so
``A(i,k) * B(k,j)`` shares ``K`` between ``A`` and ``B``), any other
dimension ``A_<d>``.  Inputs read inside a subscript are ``int32``; the others
have the def's default dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

from polytc import dtypes
from polytc.errors import (InputWriteError, RankMismatchError, RedefinitionError,
                           TcSemanticError, TypeMismatchError)
from polytc.frontend import ast
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.sema import TensorInfo


@dataclass(frozen=True, slots=True)
class Signature:
    params: tuple[str, ...]
    tensors: dict[str, TensorInfo]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def signature(definition: ast.Def, source: str, default_dtype: str) -> Signature:
    """Resolve or infer the signature of ``definition``."""
    if definition.bare:
        return _bare_signature(definition, source, default_dtype)
    return _def_signature(definition, source)


def _error(cls: type[TcSemanticError], message: str, span: ast.Span, source: str) -> TcSemanticError:
    return cls(message, span, source)


def _def_signature(definition: ast.Def, source: str) -> Signature:
    params: list[str] = []
    tensors: dict[str, TensorInfo] = {}
    kinds: dict[str, str] = {}  # name -> 'size' | 'tensor'

    def define(name: str, kind: str, span: ast.Span) -> None:
        if name in BUILTINS:
            raise _error(RedefinitionError, f"'{name}' is a built-in function and cannot be "
                         "redefined", span, source)
        if name in kinds and not (kind == "size" and kinds[name] == "size"):
            raise _error(RedefinitionError, f"'{name}' already defined (as a {kinds[name]})",
                         span, source)
        kinds[name] = kind

    for param in definition.params:
        dims: list[str | int] = []
        for dim in param.type.dims:
            if dim.name is not None:
                define(dim.name, "size", dim.span)
                if dim.name not in params:
                    params.append(dim.name)
                dims.append(dim.name)
            else:
                dims.append(int(dim.value or 0))
        define(param.name.name, "tensor", param.name.span)
        dtype = _scalar(param.type, source)
        tensors[param.name.name] = TensorInfo(param.name.name, dtype, "input", len(dims),
                                              tuple(dims), param.name.span)
    outputs: list[str] = []
    for ret in definition.returns:
        name = ret.name.name
        if name in tensors and tensors[name].role == "input":
            raise _error(InputWriteError, f"'{name}' is an input and cannot be returned: TC "
                         "inputs are immutable", ret.name.span, source)
        define(name, "tensor", ret.name.span)
        dtype, rank, annotated = "", -1, False
        declared: tuple[str | int, ...] = ()
        if ret.type is not None:
            declared = tuple(d.name if d.name is not None else int(d.value or 0)
                             for d in ret.type.dims)
            dtype, rank, annotated = _scalar(ret.type, source), len(ret.type.dims), True
            for dim in ret.type.dims:
                if dim.name is not None and dim.name not in params:
                    raise _error(RedefinitionError if dim.name in tensors else TcSemanticError,
                                 f"size '{dim.name}' of output '{name}' is not bound by any "
                                 "input", dim.span, source)
        tensors[name] = TensorInfo(name, dtype, "output", rank, declared, ret.name.span,
                                   annotated)
        outputs.append(name)
    for stmt in definition.statements:
        name = stmt.lhs.name
        if name not in tensors and name not in kinds and name not in BUILTINS:
            tensors[name] = TensorInfo(name, "", "temp", -1, (), stmt.lhs.span)
            kinds[name] = "tensor"
    written = {stmt.lhs.name for stmt in definition.statements}
    for name in outputs:
        if name not in written:
            raise _error(TcSemanticError, f"output '{name}' is never written",
                         tensors[name].span, source)
    inputs = tuple(p.name.name for p in definition.params)
    return Signature(tuple(params), tensors, inputs, tuple(outputs))


def _scalar(type_: ast.TensorType, source: str) -> str:
    name = dtypes.canonical(type_.scalar)
    if name not in dtypes.SUPPORTED:
        raise _error(TypeMismatchError, f"type {type_.scalar} is not supported (half precision "
                     "is not)", type_.span, source)
    return name


def _bare_signature(definition: ast.Def, source: str, default_dtype: str) -> Signature:
    written: list[str] = []
    for stmt in definition.statements:
        if stmt.lhs.name not in written:
            written.append(stmt.lhs.name)
    reads: dict[str, ast.Apply] = {}
    index_names: set[str] = set()
    gathered: set[str] = set()
    uses: dict[str, list[ast.Apply]] = {}
    for stmt in definition.statements:
        index_names.update(i.name for i in stmt.indices)
        lets = {c.name.name for c in stmt.where if isinstance(c, ast.LetClause)}
        exprs: list[ast.Expr] = [stmt.rhs]
        for clause in stmt.where:
            if isinstance(clause, ast.LetClause):
                exprs.append(clause.value)
            elif isinstance(clause, ast.ExistsClause):
                exprs.append(clause.expr)
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Ident) and node.name not in lets:
                    index_names.add(node.name)
                if not isinstance(node, ast.Apply) or node.name.name in BUILTINS \
                        or node.name.name in ("min", "max"):
                    continue
                uses.setdefault(node.name.name, []).append(node)
                if node.name.name not in written:
                    reads.setdefault(node.name.name, node)
                for arg in node.args:
                    gathered.update(n.name.name for n in ast.walk(arg)
                                    if isinstance(n, ast.Apply) and n.name.name not in BUILTINS)
    params: list[str] = []
    tensors: dict[str, TensorInfo] = {}
    taken = set(written) | set(reads) | index_names
    for name, first in reads.items():
        rank = len(first.args)
        for use in uses[name]:
            if len(use.args) != rank:
                raise _error(RankMismatchError, f"'{name}' is used with {len(use.args)} "
                             f"subscripts here but with {rank} at its first use", use.span, source)
        dims = tuple(_bare_dim(name, d, uses[name], taken) for d in range(rank))
        for dim in dims:
            if dim not in params:
                params.append(dim)
        dtype = dtypes.INT32 if name in gathered else default_dtype
        tensors[name] = TensorInfo(name, dtype, "input", rank, dims, first.name.span)
    for name in written:
        span = next(s.lhs.span for s in definition.statements if s.lhs.name == name)
        tensors[name] = TensorInfo(name, "", "output", -1, (), span)
    return Signature(tuple(params), tensors, tuple(reads), tuple(written))


def _bare_dim(tensor: str, dim: int, uses: list[ast.Apply], taken: set[str]) -> str:
    """The size symbol of dimension ``dim`` of a bare-form input: the size
    of the first plain index that subscripts it (:func:`index_size`), shared
    by every dimension that index subscripts, else ``<tensor>_<dim>``."""
    for use in uses:
        arg = use.args[dim]
        if isinstance(arg, ast.Ident):
            return index_size(arg.name, taken)
    return f"{tensor}_{dim}"


def index_size(index: str, taken: set[str]) -> str:
    """The size symbol of plain index ``index``: ``K`` for ``k``, or, when a
    tensor or index is already named so (``O(i,j) = I(i,j) + J(i,j)``),
    ``NI``, ``NI_2``, ...: one name per index whatever the tensors are named,
    so every dimension it subscripts has the same size."""
    name = index.upper()
    if name not in taken:
        return name
    fresh, count = f"N{name}", 1
    while fresh in taken:
        count += 1
        fresh = f"N{name}_{count}"
    return fresh

