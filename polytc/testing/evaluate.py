"""Evaluating TC expressions (syntax trees) on many points at once.

An :class:`Evaluator` maps a TC expression and the values of its indices at
``n`` points (one array per index) to an array of ``n`` values of the
expression's TC type.  Ternaries, ``&&`` and ``||`` evaluate their branches
only where taken, as C does, so a guarded read never runs where its guard
is false.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from polytc.errors import KernelRuntimeError
from polytc.frontend import ast
from polytc.frontend.builtins import BUILTINS
from polytc.testing import semantics as sem

Points = dict[str, np.ndarray]


class InterpreterError(AssertionError):
    """The frontend's promises do not hold (a proved read fell outside its
    tensor, or a domain is not a box): a polytc bug the interpreter found."""


@dataclass
class Scope:
    """What names mean in one statement."""

    lets: dict[str, ast.Expr]
    sizes: dict[str, int]
    arrays: dict[str, np.ndarray]
    types: dict[str, str]
    input_dims: dict[str, tuple[str | int, ...]]


class Evaluator:
    """Evaluates expressions of one statement."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- static types -----------------------------------------------------
    def static_type(self, node: ast.Expr) -> str:
        """The TC type of ``node`` (from its syntax alone, as TC types it)."""
        return self.evaluate(node, {}, 0, typing_only=True).dtype.name

    def reads(self, node: ast.Expr) -> Iterator[ast.Apply]:
        """Every tensor read in ``node``, lets expanded."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Ident):
                if sub.name in self.scope.lets:
                    yield from self.reads(self.scope.lets[sub.name])
                elif sub.name in self.scope.types:
                    yield ast.Apply(sub, (), sub.span)
            elif isinstance(sub, ast.Apply) and sub.name.name in self.scope.types:
                yield sub

    # -- values ---------------------------------------------------------------
    def evaluate(self, node: ast.Expr, points: Points, n: int,
                 typing_only: bool = False) -> np.ndarray:
        """``node`` at ``n`` points; with ``typing_only`` (and ``n == 0``) only
        the type of the (empty) result matters, and reads touch no memory."""
        self.typing_only = typing_only
        return self.value(node, points, n)

    def value(self, node: ast.Expr, points: Points, n: int) -> np.ndarray:
        if isinstance(node, ast.Number):
            if node.is_float:
                with np.errstate(all="ignore"):
                    return np.full(n, np.float64(node.value).astype(np.float32))
            wrapped = (int(node.value) + 2 ** 31) % 2 ** 32 - 2 ** 31
            return np.full(n, wrapped, dtype=np.int32)
        if isinstance(node, ast.Ident):
            return self.ident(node, points, n)
        if isinstance(node, ast.Extent):
            dim = self.scope.input_dims[node.tensor.name][node.dim]
            value = dim if isinstance(dim, int) else self.scope.sizes[dim]
            return np.full(n, value, dtype=np.int32)
        if isinstance(node, ast.Cast):
            return sem.convert(self.value(node.arg, points, n), sem.canonical(node.scalar))
        if isinstance(node, ast.Unary):
            arg = self.value(node.arg, points, n)
            if node.op == "!":
                return np.logical_not(arg)
            t = sem.promote(arg.dtype.name, arg.dtype.name)
            with np.errstate(all="ignore"):
                return (-sem.convert(arg, t)).astype(t)
        if isinstance(node, ast.Binary):
            return self.binary(node, points, n)
        if isinstance(node, ast.Ternary):
            return self.ternary(node, points, n)
        return self.apply(node, points, n)

    def ident(self, node: ast.Ident, points: Points, n: int) -> np.ndarray:
        scope, name = self.scope, node.name
        if name in scope.lets:
            return self.value(scope.lets[name], points, n)
        if name in scope.types:
            return self.read(ast.Apply(node, (), node.span), points, n)
        if name in scope.sizes and name not in points:
            return np.full(n, scope.sizes[name], dtype=np.int32)
        if self.typing_only and name not in points:
            return np.zeros(0, dtype=np.int32)
        return points[name].astype(np.int32)

    def binary(self, node: ast.Binary, points: Points, n: int) -> np.ndarray:
        op = node.op
        lhs = self.value(node.lhs, points, n)
        if op in ("&&", "||"):
            # C evaluates the right operand only where it decides the result
            needed = lhs if op == "&&" else np.logical_not(lhs)
            rhs = self.masked(node.rhs, points, needed, n)
            return (lhs & rhs) if op == "&&" else (lhs | rhs)
        rhs = self.value(node.rhs, points, n)
        t = sem.promote(lhs.dtype.name, rhs.dtype.name)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            common = lhs.dtype.name if lhs.dtype == rhs.dtype else t
            return sem.compare(op, sem.convert(lhs, common), sem.convert(rhs, common))
        return sem.arith(op, sem.convert(lhs, t), sem.convert(rhs, t), t)

    def ternary(self, node: ast.Ternary, points: Points, n: int) -> np.ndarray:
        cond = self.value(node.cond, points, n)
        then = self.masked(node.then, points, cond, n)
        other = self.masked(node.other, points, np.logical_not(cond), n)
        t = then.dtype.name if then.dtype == other.dtype else \
            sem.promote(then.dtype.name, other.dtype.name)
        return np.where(cond, sem.convert(then, t), sem.convert(other, t)).astype(t)

    def masked(self, node: ast.Expr, points: Points, mask: np.ndarray, n: int) -> np.ndarray:
        """``node`` where ``mask`` holds (zeros of its type elsewhere)."""
        chosen = {name: values[mask] for name, values in points.items()} if n else points
        count = int(np.count_nonzero(mask)) if n else 0
        inner = self.value(node, chosen, count)
        full = np.zeros(n, dtype=inner.dtype)
        if n:
            full[mask] = inner
        return full

    def apply(self, node: ast.Apply, points: Points, n: int) -> np.ndarray:
        name = node.name.name
        if name in ("min", "max"):
            a, b = (self.value(arg, points, n) for arg in node.args)
            t = a.dtype.name if a.dtype == b.dtype else sem.promote(a.dtype.name, b.dtype.name)
            return sem.min_max(name, sem.convert(a, t), sem.convert(b, t), t)
        if name in BUILTINS:
            args = [self.value(arg, points, n) for arg in node.args]
            t = sem.F64 if any(a.dtype == np.float64 for a in args) else sem.F32
            return sem.builtin(name, [sem.convert(a, t) for a in args], t)
        return self.read(node, points, n)

    def read(self, node: ast.Apply, points: Points, n: int) -> np.ndarray:
        name = node.name.name
        t = self.scope.types[name]
        if self.typing_only or n == 0:
            for arg in node.args:
                self.value(arg, points, n)
            return np.zeros(0, dtype=t)
        array = self.scope.arrays[name]
        indices = []
        for dim, arg in enumerate(node.args):
            index = self.value(arg, points, n).astype(np.int64)
            outside = (index < 0) | (index >= array.shape[dim])
            if outside.any():
                if self.gathered(arg):
                    raise KernelRuntimeError(f"gathered index {int(index[outside][0])} out of "
                                             f"range of dimension {dim} of '{name}'")
                raise InterpreterError(f"read {name}(...) at index {int(index[outside][0])} "
                                       f"outside dimension {dim} (extent {array.shape[dim]}); "
                                       "range inference promised it stays inside")
            indices.append(index)
        return array[tuple(indices)] if indices else np.full(n, array[()], dtype=t)

    def gathered(self, arg: ast.Expr) -> bool:
        """Does the subscript read a tensor (through a let)?"""
        return any(True for _ in self.reads(arg))
