"""The ``where`` ranges and conditions of one statement, as isl sets.

``where i in lo:hi`` with bounds in sizes and constants is a box range (a
pair of parameter ``PwAff``), as in TC.  A range whose bounds name other
indices of the statement (``j in 0:i+1``, ``k in i:N``) and a condition
(``j <= i``, ``i + j < N``, ``i != j``, joined with ``&&`` or ``||``) are a
:class:`Constraint`: a set of iterations on the statement's space, which
range inference (:mod:`polytc.frontend.constraints`) cuts the domain with.
Bounds and conditions may use lets; a tensor read, an unknown name or a
range naming its own index is an error at its span.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import islpy as isl

from polytc.errors import (NonAffineIndexError, RedefinitionError, Span, TcSemanticError,
                           UnknownNameError)
from polytc.frontend import ast
from polytc.frontend.affine import AffineBuilder, param_vars

Range = tuple[isl.PwAff, isl.PwAff, Span]  # [lo, hi) on the sizes, and the clause


@dataclass(frozen=True, slots=True)
class Constraint:
    """A ``where`` clause that shapes the domain beyond a box: a range whose
    bounds name other indices (``var`` is its index: ``j in 0:i+1``) or a
    condition (``var`` is None: ``j <= i``).  ``points`` is the set of
    iterations it allows, on the statement's iteration space."""

    var: str | None
    points: isl.Set
    span: Span


class Statement(Protocol):
    """What this module needs from the statement being checked."""

    parent: Any  # the def's checker: .params, .tensors
    lets: dict[str, ast.Expr]
    expanding: set[str]
    iterators: tuple[str, ...]
    vars: dict

    def error(self, cls: type[TcSemanticError], message: str, span: Span
              ) -> TcSemanticError: ...

    def extent_symbol(self, node: ast.Extent) -> str | int: ...


def where_clauses(stmt: Statement, ranges: list[ast.RangeClause],
                  conditions: list[ast.ConditionClause]
                  ) -> tuple[dict[str, Range], list[Constraint]]:
    """The box ranges by index, and the constraints (dependent ranges, then
    conditions)."""
    boxes: dict[str, Range] = {}
    constraints: list[Constraint] = []
    for clause in ranges:
        bounds = _range(stmt, clause)
        if isinstance(bounds, Constraint):
            constraints.append(bounds)
        else:
            boxes[clause.var.name] = bounds
    constraints += [_condition(stmt, clause) for clause in conditions]
    return boxes, constraints


def _range(stmt: Statement, clause: ast.RangeClause) -> Range | Constraint:
    """A box range (bounds in sizes and constants), or a :class:`Constraint`
    when a bound names another index of the statement."""
    var = clause.var.name
    used = _indices(stmt, clause.lo, var) | _indices(stmt, clause.hi, var)
    if not used:
        names = param_vars(stmt.parent.params)
        return _affine(stmt, clause.lo, names), _affine(stmt, clause.hi, names), clause.span
    lo, hi = _affine(stmt, clause.lo, stmt.vars), _affine(stmt, clause.hi, stmt.vars)
    index = stmt.vars[var]
    return Constraint(var, index.ge_set(lo) & index.lt_set(hi), clause.span)


def _condition(stmt: Statement, clause: ast.ConditionClause) -> Constraint:
    """``where j <= i``: the iterations where an affine condition holds."""
    _indices(stmt, clause.expr, None)
    points = AffineBuilder(stmt, stmt.vars).condition(clause.expr)
    if points is None:
        raise stmt.error(NonAffineIndexError, "a where condition must compare affine "
                         "expressions of indices and sizes (such as 'j <= i' or "
                         "'i + j < N', joined with && or ||)", clause.expr.span)
    return Constraint(None, points, clause.span)


def _indices(stmt: Statement, expr: ast.Expr, own: str | None) -> set[str]:
    """The statement's indices that a range bound or condition names
    (through lets); tensors, unknown names and ``own`` are errors."""
    used: set[str] = set()
    tensors, params = stmt.parent.tensors, stmt.parent.params
    for node in ast.walk(expr):
        if isinstance(node, ast.Apply) and node.name.name in tensors:
            raise stmt.error(NonAffineIndexError, f"a read of tensor '{node.name.name}' "
                             "cannot bound a range; ranges are affine in sizes, constants "
                             "and other indices", node.span)
        if not isinstance(node, ast.Ident) or node.name in params:
            continue
        if node.name in stmt.lets and node.name not in stmt.expanding:
            stmt.expanding.add(node.name)
            try:
                used |= _indices(stmt, stmt.lets[node.name], own)
            finally:
                stmt.expanding.discard(node.name)
        elif node.name == own:
            raise stmt.error(RedefinitionError, f"the range of '{own}' cannot depend on "
                             f"'{own}' itself", node.span)
        elif node.name in tensors:
            raise stmt.error(NonAffineIndexError, f"'{node.name}' is a tensor; ranges are "
                             "affine in sizes, constants and other indices", node.span)
        elif node.name in stmt.iterators:
            used.add(node.name)
        elif node.name not in stmt.lets:
            raise stmt.error(UnknownNameError, f"undefined name '{node.name}' in a where "
                             "clause: neither a size of the signature nor an index of "
                             "this statement", node.span)
    return used


def _affine(stmt: Statement, expr: ast.Expr, names: dict) -> isl.PwAff:
    """An affine range bound."""
    result = AffineBuilder(stmt, names).build(expr)
    if result is None:
        raise stmt.error(NonAffineIndexError, "range bounds must be affine expressions of "
                         "sizes, constants and other indices", expr.span)
    return result
