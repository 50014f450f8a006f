"""Statement bodies: C expressions to :mod:`polytc.program` trees.

The tree says what C computes, operation by operation, with C's types (the
usual arithmetic conversions, integer promotions), so that printing it gives
the same C expression and the same bits: literals keep their spelling
(``1.0f``, ``0.33333``), integer ``/`` and ``%`` are C's truncating ones
(``/t``, ``%t``), math calls keep their name (``sqrtf`` is ``sqrt`` on
``float32``), casts stay.  Reads of arrays carry their access relation
(subscripts must be affine); a scalar variable is a 0-d tensor.  Anything
with side effects or pointers is refused.
"""
from __future__ import annotations

from typing import Callable

import islpy as isl
from pycparser import c_ast

from polytc import dtypes
from polytc import program as ir
from polytc.frontend.c.affine import NonAffine, Scope, integer_constant
from polytc.frontend.c.symbols import Symbol, TypeProblem, arithmetic, element_type, promoted

#: C's pure math functions polytc lets a statement call (each also with an
#: ``f`` suffix, on float); every one prints as written
PURE_FUNCTIONS = frozenset("""acos acosh asin asinh atan atanh cbrt ceil cos cosh erf erfc exp
exp2 expm1 fabs floor log log10 log1p log2 round sin sinh sqrt tan tanh trunc atan2 copysign
fdim fmax fmin fmod hypot pow fma""".split())
_ARITHMETIC = frozenset("+ - * / %".split())
_COMPARISONS = frozenset("< <= > >= == != && ||".split())
_BITWISE = frozenset("& | ^".split())


class Problem(Exception):
    """A construct of a statement polytc does not take."""

    def __init__(self, node: c_ast.Node, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.node, self.message, self.hint = node, message, hint


def pure_function(name: str) -> tuple[str, str] | None:
    """(libm name, result dtype) of an allowed math function: C's libm
    functions on double, and their ``f`` variants on float."""
    if name in PURE_FUNCTIONS:
        return name, dtypes.FLOAT64
    if name.endswith("f") and name[:-1] in PURE_FUNCTIONS:
        return name[:-1], dtypes.FLOAT32
    return None


class Lowering:
    """Lowers the expressions of one statement, whose domain space is
    ``scope.space``; ``iterators`` are its enclosing loops' iterators."""

    def __init__(self, scope: Scope, iterators: tuple[str, ...], params: set[str],
                 symbols: dict[str, Symbol], explain: Callable[[str], str],
                 typedefs: dict[str, c_ast.Node]) -> None:
        self.scope = scope
        self.iterators = iterators
        self.params = params
        self.symbols = symbols
        self.explain = explain
        self.typedefs = typedefs

    # -- accesses -------------------------------------------------------------
    def access(self, node: c_ast.Node) -> tuple[str, tuple[ir.Expr, ...], isl.Map, str]:
        """(tensor, subscripts, access relation, dtype) of an lvalue or read."""
        subscripts: list[c_ast.Node] = []
        base = node
        while isinstance(base, c_ast.ArrayRef):
            subscripts.insert(0, base.subscript)
            base = base.name
        if isinstance(base, c_ast.UnaryOp) and base.op == "*":
            raise Problem(node, "pointer dereference is not supported",
                          "index an array parameter instead: A[i]")
        if not isinstance(base, c_ast.ID):
            raise Problem(node, "only arrays and scalar variables can be accessed",
                          "pointer arithmetic and struct members are not supported")
        symbol = self.symbol(base)
        if symbol.pointer:
            raise Problem(node, f"'{symbol.name}' is a pointer; polytc needs arrays",
                          f"declare it as an array parameter, e.g. {symbol.name}[n]")
        if len(subscripts) != symbol.rank:
            raise Problem(node, f"array '{symbol.name}' used with {len(subscripts)} "
                          f"subscript{'s' if len(subscripts) != 1 else ''} but declared with "
                          f"{symbol.rank}")
        affine = []
        for subscript in subscripts:
            try:
                affine.append(self.scope.pw_aff(subscript))
            except NonAffine as problem:
                text = problem.message
                raise Problem(problem.node, f"non-affine subscript: {text}",
                              "subscripts must be affine in loop iterators and integer "
                              "parameters") from None
        indices = tuple(self.index(s) for s in subscripts)
        return symbol.name, indices, self.relation(symbol.name, affine), symbol.dtype

    def relation(self, tensor: str, subscripts: list[isl.PwAff]) -> isl.Map:
        space = self.scope.space
        if not subscripts:
            target = isl.Set.universe(space.params()).set_tuple_name(tensor)
            return isl.Map.from_domain_and_range(isl.Set.universe(space), target)
        result = isl.Map.from_pw_aff(subscripts[0])
        for subscript in subscripts[1:]:
            result = result.flat_range_product(isl.Map.from_pw_aff(subscript))
        return result.set_tuple_name(isl.dim_type.out, tensor)

    def symbol(self, node: c_ast.ID) -> Symbol:
        symbol = self.symbols.get(node.name)
        if symbol is None:
            raise Problem(node, f"'{node.name}' {self.explain(node.name)}")
        return symbol

    def index(self, node: c_ast.Node) -> ir.Expr:
        """A subscript (known affine) as an integer expression."""
        return self.value(node)

    # -- values -----------------------------------------------------------------
    def value(self, node: c_ast.Node) -> ir.Expr:
        if isinstance(node, c_ast.Constant):
            return constant(node)
        if isinstance(node, c_ast.ID):
            return self.name(node)
        if isinstance(node, c_ast.ArrayRef):
            tensor, indices, access, dtype = self.access(node)
            return ir.Read(tensor, indices, access, dtype)
        if isinstance(node, c_ast.BinaryOp):
            return self.binary(node)
        if isinstance(node, c_ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, c_ast.TernaryOp):
            cond, then, other = (self.value(n) for n in (node.cond, node.iftrue, node.iffalse))
            return ir.Select(cond, then, other, arithmetic(then.dtype, other.dtype))
        if isinstance(node, c_ast.Cast):
            return ir.Cast(self.value(node.expr), self.cast_type(node))
        if isinstance(node, c_ast.FuncCall):
            return self.call(node)
        if isinstance(node, c_ast.Assignment):
            raise Problem(node, "assignment inside an expression is not supported",
                          "write it as a statement of its own")
        if isinstance(node, c_ast.ExprList):
            raise Problem(node, "comma operator not supported")
        if isinstance(node, c_ast.StructRef):
            raise Problem(node, "struct member not supported")
        raise Problem(node, f"unsupported expression ({type(node).__name__})")

    def name(self, node: c_ast.ID) -> ir.Expr:
        symbol = self.symbol(node)
        if node.name in self.iterators:
            return ir.Var(node.name, "index", symbol.dtype)
        if node.name in self.params:
            return ir.Var(node.name, "size", symbol.dtype)
        if symbol.rank or symbol.pointer:
            raise Problem(node, f"'{node.name}' {self.explain(node.name)}; it must be "
                          "subscripted with one index per dimension")
        tensor, indices, access, dtype = self.access(node)
        return ir.Read(tensor, indices, access, dtype)

    def binary(self, node: c_ast.BinaryOp) -> ir.Expr:
        return combine(node.op, self.value(node.left), self.value(node.right), node)

    def unary(self, node: c_ast.UnaryOp) -> ir.Expr:
        op = node.op
        if op in ("p++", "++", "p--", "--"):
            raise Problem(node, "increment inside an expression is not supported",
                          "write it as a statement of its own")
        if op in ("*", "&"):
            raise Problem(node, "pointer dereference and address-of are not supported")
        if op == "sizeof":
            raise Problem(node, "sizeof is not supported inside #pragma scop")
        arg = self.value(node.expr)
        if op == "+":
            return arg
        if op == "-":
            return ir.Unary("-", arg, promoted(arg.dtype))
        if op == "!":
            return ir.Unary("!", arg, "int32")
        if op == "~" and not dtypes.is_float(arg.dtype):
            return ir.Unary("~", arg, promoted(arg.dtype))
        raise Problem(node, f"operator '{op}' not supported here")

    def call(self, node: c_ast.FuncCall) -> ir.Expr:
        name = node.name.name if isinstance(node.name, c_ast.ID) else ""
        known = pure_function(name)
        if known is None:
            raise Problem(node, f"call to '{name or '?'}' is not in the pure-function "
                          "allow-list",
                          "polytc allows C's math functions (sqrt, exp, pow, fabs, ... "
                          "and their f variants) inside expressions")
        args = tuple(self.value(a) for a in (node.args.exprs if node.args else []))
        return ir.Call(known[0], args, known[1])

    def cast_type(self, node: c_ast.Cast) -> str:
        try:
            dtype, dims, pointer = element_type(node.to_type, self.typedefs)
        except TypeProblem as problem:
            raise Problem(node, f"cast: {problem}") from None
        if dims or pointer:
            raise Problem(node, "cast to a pointer or array type is not supported")
        return dtype


def combine(op: str, left: ir.Expr, right: ir.Expr, node: c_ast.Node) -> ir.Expr:
    """``left op right`` with C's result type (``node``: for diagnostics)."""
    if op in _COMPARISONS:
        return ir.Binary(op, left, right, "int32")
    integral = not (dtypes.is_float(left.dtype) or dtypes.is_float(right.dtype))
    if op in _ARITHMETIC:
        if op in "/%" and integral:
            op += "t"  # C truncates
        elif op == "%":
            raise Problem(node, "'%' on floating-point operands is not C")
        return ir.Binary(op, left, right, arithmetic(left.dtype, right.dtype))
    if op in _BITWISE and integral:
        return ir.Binary(op, left, right, arithmetic(left.dtype, right.dtype))
    if op in ("<<", ">>") and integral:
        return ir.Binary(op, left, right, promoted(left.dtype))
    raise Problem(node, f"operator '{op}' not supported here")


def constant(node: c_ast.Constant) -> ir.Const:
    """A literal with its C type and spelling."""
    text = node.value
    if node.type in ("float", "double"):
        body = text.rstrip("fFlL")
        value = float.fromhex(body) if body.lower().startswith(("0x", "-0x")) else float(body)
        return ir.Const(value, dtypes.FLOAT32 if node.type == "float" else dtypes.FLOAT64, text)
    if node.type == "char":
        inner = text[1:-1]
        value = ord(inner.encode().decode("unicode_escape")) if inner else 0
        return ir.Const(value, "int32", text)
    number = integer_constant(node)
    if number is None:
        raise Problem(node, f"literal {text} not supported")
    return ir.Const(number, _integer_type(text, number), text)


def _integer_type(text: str, value: int) -> str:
    """The C type of an integer literal (LP64; C99's rules)."""
    suffix = text[len(text.rstrip("uUlL")):].lower()
    decimal = not text.lower().startswith("0x") and not (len(text) > 1 and text[0] == "0")
    if "u" in suffix:
        return "uint32" if "l" not in suffix and value < 2**32 else "uint64"
    if "l" in suffix:
        return "int64" if value < 2**63 or decimal else "uint64"
    if value < 2**31:
        return "int32"
    if not decimal and value < 2**32:
        return "uint32"
    return "int64" if value < 2**63 or decimal else "uint64"
