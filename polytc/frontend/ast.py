"""The TC syntax tree: frozen dataclasses, every node with its source :class:`Span`.

This is the parser's output, before any name is resolved.  Calls are not yet
known to be tensor reads or builtins; :mod:`polytc.frontend.sema` decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Union

from polytc.errors import Span


@dataclass(frozen=True, slots=True)
class Ident:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Number:
    """A literal; ``is_float`` when it has a ``.`` or an exponent (TC: float32)."""

    value: int | float
    is_float: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Apply:
    """``name(args)``: a tensor read or a builtin call, decided by sema."""

    name: Ident
    args: tuple["Expr", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Cast:
    """``float(x)``, ``int32(x)``: a conversion to ``scalar``."""

    scalar: str
    arg: "Expr"
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # '-' or '!'
    arg: "Expr"
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    lhs: "Expr"
    rhs: "Expr"
    span: Span


@dataclass(frozen=True, slots=True)
class Ternary:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Span


@dataclass(frozen=True, slots=True)
class Extent:
    """``T.d``: the extent of dimension ``d`` of tensor ``T``."""

    tensor: Ident
    dim: int
    span: Span


Expr = Union[Ident, Number, Apply, Cast, Unary, Binary, Ternary, Extent]


@dataclass(frozen=True, slots=True)
class Dim:
    """One extent in a tensor type: a size symbol (``name``) or a constant."""

    name: str | None
    value: int | None
    span: Span


@dataclass(frozen=True, slots=True)
class TensorType:
    """``float(M, 4)``; ``dims`` is ``()`` for a 0-d scalar."""

    scalar: str
    dims: tuple[Dim, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Param:
    type: TensorType
    name: Ident


@dataclass(frozen=True, slots=True)
class Return:
    name: Ident
    type: TensorType | None


@dataclass(frozen=True, slots=True)
class RangeClause:
    """``where var in lo:hi`` (half-open); ``lo`` and ``hi`` are affine in the
    sizes and may name other indices of the statement (``j in 0:i+1``)."""

    var: Ident
    lo: Expr
    hi: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class LetClause:
    """``where name = expr``."""

    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ExistsClause:
    """``where exists expr``: used by range inference only."""

    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """``where j <= i``, ``where i + j < N``: an affine condition on the
    indices and sizes that restricts the statement's domain."""

    expr: Expr
    span: Span


WhereClause = Union[RangeClause, LetClause, ExistsClause, ConditionClause]


@dataclass(frozen=True, slots=True)
class Statement:
    """``lhs(indices) op rhs [<=> ...] [where ...]``.

    ``op`` is one of ``=``, ``+=``, ``*=``, ``max=``, ``min=`` and ``init`` is
    True for the ``!`` forms.
    """

    lhs: Ident
    indices: tuple[Ident, ...]
    op: str
    init: bool
    rhs: Expr
    where: tuple[WhereClause, ...]
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Def:
    """A TC function; ``bare`` when it came from the statement-only form."""

    name: Ident
    params: tuple[Param, ...]
    returns: tuple[Return, ...]
    statements: tuple[Statement, ...]
    span: Span
    bare: bool = False
    returns_span: Span | None = None  # the parenthesised return list


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``."""
    if isinstance(expr, Apply):
        return expr.args
    if isinstance(expr, (Cast, Unary)):
        return (expr.arg,)
    if isinstance(expr, Binary):
        return (expr.lhs, expr.rhs)
    if isinstance(expr, Ternary):
        return (expr.cond, expr.then, expr.other)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents first."""
    yield expr
    for child in children(expr):
        yield from walk(child)
