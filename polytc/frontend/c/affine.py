"""Affine C expressions (loop bounds, conditions, subscripts) to isl.

Pet's rules: ``+ -``, ``*`` by a constant, unary ``-``, ``/`` and ``%`` by a
positive constant with C's truncation (``isl_pw_aff_tdiv_q``/``tdiv_r``:
``-7 / 2`` is ``-3``), ``min``/``max``/``floord``/``ceild`` calls, and ``?:``
with an affine condition (a piecewise expression).  Conditions are
comparisons joined by ``&& || !``.  Names are the enclosing loops'
iterators (the set dimensions of the scope's space) and the region's integer
parameters; anything else raises :class:`NonAffine` with the node and why.
"""
from __future__ import annotations

from typing import Callable

import islpy as isl
from pycparser import c_ast

_COMPARE = {"<": "lt_set", "<=": "le_set", ">": "gt_set", ">=": "ge_set", "==": "eq_set",
            "!=": "ne_set"}


class NonAffine(Exception):
    """A construct that must be affine and is not."""

    def __init__(self, node: c_ast.Node, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.hint = hint


def integer_constant(node: c_ast.Node) -> int | None:
    """The value of an integer literal (decimal, hex, octal; any suffix), else None."""
    if not isinstance(node, c_ast.Constant) or node.type not in (
            "int", "long int", "long long int", "unsigned int", "unsigned long int",
            "unsigned long long int", "long", "unsigned", "long long", "unsigned long",
            "unsigned long long"):
        return None
    text = node.value.rstrip("uUlL")
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text, 8)
        return int(text)
    except ValueError:
        return None


class Scope:
    """Affine expressions over ``space``: a set space whose dimensions are
    the enclosing loops' iterators and whose parameters are the region's.
    ``explain(name)`` says why a name is not affine (a double, an array...)."""

    def __init__(self, space: isl.Space, explain: Callable[[str], str]) -> None:
        self.space = space
        self.local = isl.LocalSpace.from_space(space)
        self.explain = explain
        self.iterators = [space.get_dim_name(isl.dim_type.set, d) or ""
                          for d in range(space.dim(isl.dim_type.set))]
        self.params = [space.get_dim_name(isl.dim_type.param, d) or ""
                       for d in range(space.dim(isl.dim_type.param))]

    def zero(self) -> isl.PwAff:
        return isl.PwAff.zero_on_domain(self.local)

    def variable(self, name: str) -> isl.PwAff | None:
        if name in self.iterators:
            position = len(self.iterators) - 1 - self.iterators[::-1].index(name)
            return isl.PwAff.var_on_domain(self.local, isl.dim_type.set, position)
        if name in self.params:
            return isl.PwAff.var_on_domain(self.local, isl.dim_type.param,
                                           self.params.index(name))
        return None

    def pw_aff(self, node: c_ast.Node) -> isl.PwAff:
        """``node`` as a piecewise affine function of the scope."""
        value = integer_constant(node)
        if value is not None:
            return self.zero() + value
        if isinstance(node, c_ast.ID):
            found = self.variable(node.name)
            if found is None:
                raise NonAffine(node, f"'{node.name}' {self.explain(node.name)}",
                                "affine expressions use loop iterators, integer variables "
                                "not written in the region and integer constants")
            return found
        if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-", "*", "/", "%"):
            return self._binary(node)
        if isinstance(node, c_ast.UnaryOp) and node.op in ("-", "+"):
            inner = self.pw_aff(node.expr)
            return inner.neg() if node.op == "-" else inner
        if isinstance(node, c_ast.TernaryOp):
            cond = self.condition(node.cond)
            return self.pw_aff(node.iftrue).intersect_domain(cond).union_add(
                self.pw_aff(node.iffalse).subtract_domain(cond))
        if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID):
            return self._call(node)
        if isinstance(node, c_ast.Cast) and _integral_cast(node):
            return self.pw_aff(node.expr)
        if isinstance(node, c_ast.ArrayRef):
            raise NonAffine(node, "an array element is data, not an affine expression",
                            "subscripts, loop bounds and conditions may not depend on "
                            "values the region computes or reads")
        raise NonAffine(node, "not an affine expression",
                        "use + and - of loop iterators and integer variables, * and / by "
                        "constants, min, max, floord, ceild or ?:")

    def _binary(self, node: c_ast.BinaryOp) -> isl.PwAff:
        left, right = self.pw_aff(node.left), self.pw_aff(node.right)
        if node.op == "+":
            return left.add(right)
        if node.op == "-":
            return left.sub(right)
        if node.op == "*":
            if left.is_cst() or right.is_cst():
                return left.mul(right)
            raise NonAffine(node, "product of two non-constant expressions is not affine")
        divisor = _constant_of(right)
        if divisor is None or divisor <= 0:
            raise NonAffine(node, f"'{node.op}' by a non-constant or non-positive divisor is "
                            "not affine", "divide by a positive integer constant")
        return left.tdiv_q(right) if node.op == "/" else left.tdiv_r(right)

    def _call(self, node: c_ast.FuncCall) -> isl.PwAff:
        name = node.name.name
        args = list(node.args.exprs) if node.args is not None else []
        if name in ("min", "max") and len(args) >= 2:
            values = [self.pw_aff(a) for a in args]
            result = values[0]
            for value in values[1:]:
                result = result.min(value) if name == "min" else result.max(value)
            return result
        if name in ("floord", "ceild") and len(args) == 2:
            divisor = _constant_of(self.pw_aff(args[1]))
            if divisor is None or divisor <= 0:
                raise NonAffine(node, f"{name} by a non-constant or non-positive divisor",
                                "divide by a positive integer constant")
            quotient = self.pw_aff(args[0]).scale_down_val(isl.Val.int_from_si(
                self.space.get_ctx(), divisor))
            return quotient.floor() if name == "floord" else quotient.ceil()
        raise NonAffine(node, f"call to '{name}' is not affine",
                        "affine expressions may call min, max, floord and ceild")

    def condition(self, node: c_ast.Node) -> isl.Set:
        """``node`` as the set of points of the scope where it holds."""
        if isinstance(node, c_ast.BinaryOp) and node.op in _COMPARE:
            left, right = self.pw_aff(node.left), self.pw_aff(node.right)
            return getattr(left, _COMPARE[node.op])(right)
        if isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            first, second = self.condition(node.left), self.condition(node.right)
            return first.intersect(second) if node.op == "&&" else first.union(second)
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            return self.condition(node.expr).complement()
        try:
            return self.pw_aff(node).ne_set(self.zero())
        except NonAffine as problem:
            raise NonAffine(node, f"non-affine condition: {problem.message}",
                            "conditions compare affine expressions of loop iterators and "
                            "integer parameters") from None


def _constant_of(value: isl.PwAff) -> int | None:
    if not value.is_cst():
        return None
    pieces = value.get_pieces()
    if len(pieces) != 1:
        return None
    constant = pieces[0][1].get_constant_val()
    return int(constant.to_python()) if constant.is_int() else None


def _integral_cast(node: c_ast.Cast) -> bool:
    type_node = node.to_type.type
    if not isinstance(type_node, c_ast.TypeDecl) or not isinstance(type_node.type,
                                                                   c_ast.IdentifierType):
        return False
    return not any(n in ("float", "double") for n in type_node.type.names)
