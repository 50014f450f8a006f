"""The polyhedral program every stage after the frontend works on.

A :class:`Program` is immutable: tensors, statements, and the isl context on
the size parameters.  Each :class:`Statement` has an isl iteration domain
(``[N, M] -> { S0[i, j] : ... }``), one write access, its read accesses, and a
body: a small expression tree of frozen dataclasses whose :class:`Read` nodes
carry their access relation as an ``isl.Map``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

import islpy as isl

from polytc.isl_util import condition_text, extent_text


# -- expression tree --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Const:
    """A literal; ``text``, when given, is its spelling in the source (C
    input: ``1.0f``, ``0.33333``), which C code prints as written."""

    value: int | float | bool
    dtype: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Var:
    """An index variable (``kind='index'``) or a size symbol (``kind='size'``)."""

    name: str
    kind: str
    dtype: str = "int32"


@dataclass(frozen=True, slots=True)
class Read:
    """``tensor(indices)``.  ``access`` maps the statement's domain to the
    tensor's elements; a gathered dimension maps to its whole extent."""

    tensor: str
    indices: tuple["Expr", ...]
    access: isl.Map = field(compare=False)
    dtype: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # '-', '!'
    arg: "Expr"
    dtype: str


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic (``+ - * / %``, integer ``/`` floors), comparisons, ``&& ||``,
    and ``min``/``max``; from C input also C's truncating integer division
    and remainder (``/t``, ``%t``) and the bitwise ``& | ^ << >>``."""

    op: str
    lhs: "Expr"
    rhs: "Expr"
    dtype: str


@dataclass(frozen=True, slots=True)
class Call:
    """A C-math builtin such as ``exp`` or ``fmax``."""

    fn: str
    args: tuple["Expr", ...]
    dtype: str


@dataclass(frozen=True, slots=True)
class Select:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    dtype: str


@dataclass(frozen=True, slots=True)
class Cast:
    arg: "Expr"
    dtype: str


Expr = Union[Const, Var, Read, Unary, Binary, Call, Select, Cast]


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``."""
    if isinstance(expr, Read):
        return expr.indices
    if isinstance(expr, (Unary, Cast)):
        return (expr.arg,)
    if isinstance(expr, Binary):
        return (expr.lhs, expr.rhs)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Select):
        return (expr.cond, expr.then, expr.other)
    return ()


def map_children(expr: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``expr`` with ``fn`` applied to each direct sub-expression."""
    if isinstance(expr, Read):
        return Read(expr.tensor, tuple(fn(i) for i in expr.indices), expr.access, expr.dtype)
    if isinstance(expr, Unary):
        return Unary(expr.op, fn(expr.arg), expr.dtype)
    if isinstance(expr, Cast):
        return Cast(fn(expr.arg), expr.dtype)
    if isinstance(expr, Binary):
        return Binary(expr.op, fn(expr.lhs), fn(expr.rhs), expr.dtype)
    if isinstance(expr, Call):
        return Call(expr.fn, tuple(fn(a) for a in expr.args), expr.dtype)
    if isinstance(expr, Select):
        return Select(fn(expr.cond), fn(expr.then), fn(expr.other), expr.dtype)
    return expr


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents before children."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def to_text(expr: Expr) -> str:
    """TC-like text of an expression, for printing programs."""
    if isinstance(expr, Const):
        if expr.text:
            return expr.text
        return repr(expr.value) if not isinstance(expr.value, bool) else str(expr.value).lower()
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, Read):
        return f"{expr.tensor}({', '.join(to_text(i) for i in expr.indices)})"
    if isinstance(expr, Unary):
        return f"{expr.op}{to_text(expr.arg)}"
    if isinstance(expr, Binary):
        if expr.op in ("min", "max"):
            return f"{expr.op}({to_text(expr.lhs)}, {to_text(expr.rhs)})"
        return f"({to_text(expr.lhs)} {expr.op} {to_text(expr.rhs)})"
    if isinstance(expr, Call):
        return f"{expr.fn}({', '.join(to_text(a) for a in expr.args)})"
    if isinstance(expr, Select):
        return f"({to_text(expr.cond)} ? {to_text(expr.then)} : {to_text(expr.other)})"
    return f"{expr.dtype}({to_text(expr.arg)})"


def statement_target_text(statement: "Statement") -> str:
    """``C(i, j)``: the element a statement writes, as text."""
    indices = ", ".join(to_text(index) for index in statement.write_indices)
    return f"{statement.tensor}({indices})"


# -- program ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor of the program.

    :ivar role: ``input``, ``output`` or ``temp`` (internal buffer); from C
        input also ``inout``: the caller's storage, read and updated in place.
    :ivar shape: one extent per dimension, an ``isl.PwAff`` on the size
        parameters (a constant extent is a constant PwAff).
    :ivar dims: for inputs, the size symbol or constant each dimension binds.
    :ivar native: addressed as C declares it (``A[i][j]``, a scalar by its
        name) rather than as a flat row-major buffer (``A[i * N + j]``):
        arrays and scalars of C input, which polytc neither allocates nor
        passes.
    """

    name: str
    dtype: str
    role: str
    shape: tuple[isl.PwAff, ...] = field(compare=False)
    dims: tuple[str | int, ...] = ()
    native: bool = False

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement ``tensor(indices) op= body`` over ``domain``.

    :ivar op: ``=`` or the reduction operator ``+ * max min``.
    :ivar kind: ``compute``; ``init`` for the identity fill of a ``!``
        reduction; ``fill`` for zero-filling elements no statement writes.
    :ivar iterators: the domain's dimensions: left-hand side indices, then
        reduction indices (C input: the enclosing loops, outermost first).
    :ivar lhs: the written element's indices when each is an iterator
        (``C(i, j)``); empty for a write through ``target``.
    :ivar target: the written element's subscripts when they are not all
        iterators (C input: ``x[k - i - 1]``, ``A[0][j]``); ``write`` is their
        access relation.
    """

    name: str
    tensor: str
    iterators: tuple[str, ...]
    lhs: tuple[str, ...]
    op: str
    body: Expr
    domain: isl.Set = field(compare=False)
    write: isl.Map = field(compare=False)
    kind: str = "compute"
    text: str = ""
    target: tuple[Expr, ...] | None = None

    @property
    def write_indices(self) -> tuple[Expr, ...]:
        """The written element's subscripts as expressions."""
        if self.target is not None:
            return self.target
        return tuple(Var(i, "index") for i in self.lhs)

    @property
    def reads(self) -> tuple[Read, ...]:
        return tuple(node for node in walk(self.body) if isinstance(node, Read))

    def placed_reads(self) -> tuple[tuple[Read, int], ...]:
        """Each read with its place among this statement's reads of its
        tensor (``A(i, k)`` 0 and ``A(j, k)`` 1 in syrk)."""
        seen: dict[str, int] = {}
        placed = []
        for read in self.reads:
            placed.append((read, seen.get(read.tensor, 0)))
            seen[read.tensor] = placed[-1][1] + 1
        return tuple(placed)

    @property
    def reduction_indices(self) -> tuple[str, ...]:
        return tuple(i for i in self.iterators if i not in self.lhs)

    def read_relation(self) -> isl.UnionMap:
        """All reads as one union map from this statement's domain."""
        result = isl.UnionMap.empty(self.domain.get_space().params())
        for read in self.reads:
            result = result.union(isl.UnionMap.from_map(read.access))
        if self.op != "=":  # a reduction reads what it updates
            result = result.union(isl.UnionMap.from_map(self.write))
        return result.intersect_domain(isl.UnionSet.from_set(self.domain))


@dataclass(frozen=True, slots=True)
class SizeCondition:
    """A read that stays inside its tensor only for some sizes: the kernel
    needs ``holds`` (a set of size values) and checks it at every call.

    :ivar tensor, dim: the tensor read and the dimension that can overflow.
    :ivar holds: the sizes where every execution of the read is in bounds.
    :ivar runs: the sizes where the read executes at all (``holds`` is
        printed relative to it: the read of ``A(i, 0)`` needs ``D >= 1``
        when ``N >= 1``).
    :ivar outside: the subscripts read outside the tensor, a set of one
        dimension on the sizes (for the message of a failed call).
    """

    tensor: str
    dim: int
    holds: isl.Set = field(compare=False)
    runs: isl.Set = field(compare=False)
    outside: isl.Set = field(compare=False)

    def text(self, context: isl.Set) -> str:
        """``N >= 5``, or ``D > 0 when N > 0`` where the read runs for some
        sizes only."""
        needs = self.holds.gist(self.runs)
        when = self.runs.gist(context)
        if when.is_equal(isl.Set.universe(when.get_space())) or \
                (needs & context).is_equal(self.holds & context):
            return condition_text(needs)
        return f"{condition_text(needs)} when {condition_text(when)}"


@dataclass(frozen=True, slots=True)
class Program:
    """A lowered TC def or C region.  ``params`` are the size symbols in
    signature order; ``context`` constrains them (sizes are non-negative,
    constants fixed).  ``conditions`` are what the sizes must satisfy for
    every read to stay in bounds (:attr:`precondition`); the generated C
    checks them at entry.  ``order``, when given, is the original execution
    order of the statements as a schedule tree (C input: the loop nest as
    written, ``-i`` for a downward loop); without it the order is textual,
    each statement in its own nest (:func:`polytc.poly.original_order`)."""

    name: str
    params: tuple[str, ...]
    tensors: tuple[Tensor, ...]
    statements: tuple[Statement, ...]
    context: isl.Set = field(compare=False)
    order: isl.Schedule | None = field(default=None, compare=False)
    conditions: tuple[SizeCondition, ...] = field(default=(), compare=False)

    @property
    def precondition(self) -> isl.Set:
        """The sizes (within :attr:`context`) on which the kernel may run."""
        result = self.context
        for condition in self.conditions:
            result = result & condition.holds.align_params(result.get_space())
        return result.coalesce()

    def tensor(self, name: str) -> Tensor:
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(name)

    def statement(self, name: str) -> Statement:
        for statement in self.statements:
            if statement.name == name:
                return statement
        raise KeyError(name)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role == "input")

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role == "output")

    @property
    def temporaries(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role == "temp")

    def domain(self) -> isl.UnionSet:
        """The union of all statement domains."""
        result = isl.UnionSet.empty(self.context.get_space())
        for statement in self.statements:
            result = result.union(isl.UnionSet.from_set(statement.domain))
        return result

    def writes(self) -> isl.UnionMap:
        result = isl.UnionMap.empty(self.context.get_space())
        for statement in self.statements:
            result = result.union(isl.UnionMap.from_map(statement.write))
        return result.intersect_domain(self.domain())

    def reads(self) -> isl.UnionMap:
        result = isl.UnionMap.empty(self.context.get_space())
        for statement in self.statements:
            result = result.union(statement.read_relation())
        return result

    def __str__(self) -> str:
        lines = [f"program {self.name}({', '.join(self.params)})",
                 f"  context: {self.context}"]
        if self.conditions:
            lines.append(f"  requires: {self.precondition}")
        for tensor in self.tensors:
            shape = ", ".join(extent_text(extent) for extent in tensor.shape)
            lines.append(f"  {tensor.role} {tensor.dtype} {tensor.name}[{shape}]")
        for s in self.statements:
            lhs = statement_target_text(s)
            op = "=" if s.op == "=" else f"{s.op}="
            lines.append(f"  {s.name}: {lhs} {op} {to_text(s.body)}")
            lines.append(f"      domain: {s.domain}")
            lines.append(f"      write:  {s.write}")
            for read in s.reads:
                lines.append(f"      read:   {read.access}")
        return "\n".join(lines)
