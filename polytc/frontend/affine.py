"""Affine TC expressions as isl values: subscripts, range bounds, guards.

:class:`AffineBuilder` turns a TC expression into an ``isl.PwAff`` over a
statement's iteration space (or the parameters alone), or ``None`` when it is
not (quasi-)affine: sums, differences, products with a constant, ``/`` and
``%`` by a positive constant, ``min``/``max``, integer casts, lets and tensor
extents.  :func:`access_map` builds ``{ S[iterators] -> T[subscripts] }``.
"""
from __future__ import annotations

from typing import Protocol

import islpy as isl

from polytc import dtypes
from polytc.frontend import ast

COMPARISONS = ("==", "!=", "<", ">", "<=", ">=")


class Scope(Protocol):
    """What the builder needs from the statement being checked."""

    lets: dict[str, ast.Expr]
    expanding: set[str]

    def extent_symbol(self, node: ast.Extent) -> str | int: ...


class AffineBuilder:
    """Builds ``isl.PwAff`` for affine TC expressions; ``None`` when not affine."""

    def __init__(self, checker: Scope, names: dict) -> None:
        self.checker = checker
        self.names = names

    def build(self, node: ast.Expr) -> isl.PwAff | None:
        names, checker = self.names, self.checker
        if isinstance(node, ast.Number):
            return None if node.is_float else names[0] + int(node.value)
        if isinstance(node, ast.Ident):
            if node.name in checker.lets and node.name not in checker.expanding:
                checker.expanding.add(node.name)
                try:
                    return self.build(checker.lets[node.name])
                finally:
                    checker.expanding.discard(node.name)
            return names.get(node.name)
        if isinstance(node, ast.Extent):
            symbol = checker.extent_symbol(node)
            return names.get(symbol) if isinstance(symbol, str) else names[0] + symbol
        if isinstance(node, ast.Cast) and dtypes.is_integral(dtypes.canonical(node.scalar)):
            return self.build(node.arg)
        if isinstance(node, ast.Apply) and node.name.name in ("min", "max") \
                and len(node.args) == 2:
            a, b = self.build(node.args[0]), self.build(node.args[1])
            if a is None or b is None:
                return None
            return a.min(b) if node.name.name == "min" else a.max(b)
        if isinstance(node, ast.Unary) and node.op == "-":
            arg = self.build(node.arg)
            return None if arg is None else -arg
        if not isinstance(node, ast.Binary):
            return None
        lhs, rhs = self.build(node.lhs), self.build(node.rhs)
        if lhs is None or rhs is None:
            return None
        if node.op == "+":
            return lhs + rhs
        if node.op == "-":
            return lhs - rhs
        if node.op == "*":
            if lhs.is_cst():
                return rhs * lhs
            return lhs * rhs if rhs.is_cst() else None
        if node.op in ("/", "%") and rhs.is_cst():
            divisor = constant_value(rhs)
            if divisor is None or divisor <= 0:
                return None
            if node.op == "/":
                return lhs.div(names[0] + divisor).floor()
            return lhs.mod_val(isl.Val(divisor))
        return None

    def condition(self, node: ast.Expr) -> isl.Set | None:
        """The iterations where a boolean TC expression holds, if affine."""
        if isinstance(node, ast.Unary) and node.op == "!":
            inner = self.condition(node.arg)
            return None if inner is None else inner.complement()
        if isinstance(node, ast.Binary) and node.op in ("&&", "||"):
            left, right = self.condition(node.lhs), self.condition(node.rhs)
            if left is None or right is None:
                return None
            return left & right if node.op == "&&" else left | right
        if isinstance(node, ast.Binary) and node.op in COMPARISONS:
            a, b = self.build(node.lhs), self.build(node.rhs)
            if a is None or b is None:
                return None
            return {"==": a.eq_set, "!=": a.ne_set, "<": a.lt_set, ">": a.gt_set,
                    "<=": a.le_set, ">=": a.ge_set}[node.op](b)
        return None


def param_vars(params: tuple[str, ...]) -> dict:
    """Like ``isl.make_zero_and_vars`` but on the parameter space itself:
    ``{0: zero, "N": N, ...}`` as PwAffs with a parameter domain."""
    space = isl.make_zero_and_vars([], list(params))[0].get_domain_space().params()
    local = isl.LocalSpace.from_space(space)
    names: dict = {0: isl.PwAff.zero_on_domain(local)}
    for position, name in enumerate(params):
        names[name] = isl.PwAff.var_on_domain(local, isl.dim_type.param, position)
    return names


def constant_value(pa: isl.PwAff) -> int | None:
    values: list[int] = []
    pa.foreach_piece(lambda _set, aff: values.append(aff.get_constant_val().to_python()))
    if len(set(values)) != 1:
        return None
    return int(values[0])


def access_map(statement: str, iterators: tuple[str, ...], tensor: str,
                subscripts: list[isl.PwAff | None], names: dict) -> isl.Map:
    """``{ S[iterators] -> T[subscripts] }``; a ``None`` subscript is unconstrained."""
    domain = isl.Set.universe(names[0].get_domain_space())
    result = isl.Map.from_domain(domain)
    for sub in subscripts:
        if sub is None:
            piece = isl.Map.from_domain(domain).add_dims(isl.dim_type.out, 1)
        else:
            piece = isl.Map.from_pw_aff(sub)
        result = result.flat_range_product(piece)
    result = result.set_tuple_name(isl.dim_type.in_, statement)
    return result.set_tuple_name(isl.dim_type.out, tensor)
