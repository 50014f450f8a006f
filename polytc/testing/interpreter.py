"""A reference interpreter for TC: the oracle of polytc's differential tests.

:func:`interpret` evaluates a TC def with numpy, straight from the parsed
syntax tree (:mod:`polytc.frontend.ast`), without polytc's typed bodies,
schedules or C code.  What it takes from the frontend is language
semantics only: the signature (inputs, size symbols) and, per statement,
the iteration box that TC's range inference gives and each tensor's extent,
both read off :func:`polytc.frontend.to_program` and evaluated at the call's
sizes.

Meaning, as polytc documents it: statements run in order; a statement's
points run in lexicographic order of its indices (left-hand side, then
reduction indices); ``op=!`` first sets the left-hand side box to the
identity; elements no statement writes are 0; types follow TC's promotion
rules (float32 arithmetic stays float32); integer ``/`` and ``%`` floor and
give 0 on a zero divisor; a gathered index out of range raises
:class:`~polytc.errors.KernelRuntimeError`, as a kernel does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import islpy as isl
import numpy as np

from polytc.errors import ArgumentError
from polytc.frontend import ast, parse, select, to_program
from polytc.program import Program
from polytc.program import Statement as IrStatement
from polytc.testing import semantics as sem
from polytc.testing.evaluate import Evaluator, InterpreterError, Scope


@dataclass
class _Tensors:
    """The interpreter's memory: arrays, their TC types, final extents."""

    arrays: dict[str, np.ndarray]
    types: dict[str, str]
    shapes: dict[str, tuple[int, ...]]


def interpret(text: str, *arrays: Any, entry: str | None = None, dtype: Any = None,
              **named: Any) -> Any:
    """Evaluate the TC def ``entry`` of ``text`` on ``arrays`` (positional in
    declared order, or by name); returns the output or a tuple of outputs."""
    definition = select(parse(text), entry, text)
    kind = None if dtype is None else \
        sem.canonical(dtype if isinstance(dtype, str) else np.dtype(dtype).name)
    program = to_program(text, entry, dtype=kind)
    if dtype is None and definition.bare:  # follow the arrays' type, as a kernel does
        kind = _bare_dtype(program, arrays, named)
        if kind is not None:
            program = to_program(text, entry, dtype=kind)
    inputs = _arrange(program, arrays, named)
    sizes = _bind_sizes(program, inputs)
    memory = _Tensors(dict(inputs), {t.name: t.dtype for t in program.inputs},
                      {t.name: _extents(t.shape, program, sizes) for t in program.tensors})
    annotated = {r.name.name: sem.canonical(r.type.scalar) for r in definition.returns
                 if r.type is not None}
    inputs_of = {t.name: t for t in program.inputs}
    statements = [s for s in program.statements if s.kind == "compute"]
    inits = {s.name: s for s in program.statements if s.kind == "init"}
    previous = {after.name: before.name
                for before, after in zip(program.statements, program.statements[1:])}
    assert len(statements) == len(definition.statements), "one compute statement per TC one"
    for node, lowered in zip(definition.statements, statements):
        init = inits.get(previous.get(lowered.name, "")) if node.init else None
        _Statement(node, lowered, init, program, sizes, memory, annotated, inputs_of).run()
    outputs = tuple(memory.arrays[t.name].copy() for t in program.outputs)
    return outputs[0] if len(outputs) == 1 else outputs


def _bare_dtype(program: Program, arrays: tuple[Any, ...],
                named: dict[str, Any]) -> str | None:
    """The one type of the arrays given for the bare form's float32 inputs,
    when it is another supported type."""
    given = dict(zip([t.name for t in program.inputs], arrays), **named)
    kinds = {given[t.name].dtype.name for t in program.inputs
             if t.dtype == sem.F32 and isinstance(given.get(t.name), np.ndarray)}
    kind = kinds.pop() if len(kinds) == 1 else None
    return kind if kind in sem.TYPES and kind != sem.F32 else None


def _arrange(program: Program, arrays: tuple[Any, ...],
             named: dict[str, Any]) -> dict[str, np.ndarray]:
    names = [t.name for t in program.inputs]
    if len(arrays) > len(names):
        raise ArgumentError(f"expected {len(names)} inputs but got {len(arrays)}")
    given = dict(zip(names, arrays))
    given.update(named)
    result = {}
    for tensor in program.inputs:
        if tensor.name not in given:
            raise ArgumentError(f"missing input '{tensor.name}'")
        value = given[tensor.name]
        array = np.asarray(value, dtype=tensor.dtype) if not isinstance(value, np.ndarray) \
            else value
        if array.dtype != np.dtype(tensor.dtype) or array.ndim != tensor.rank:
            raise ArgumentError(f"input '{tensor.name}' must be {tensor.dtype} of rank "
                                f"{tensor.rank}, not {array.dtype} of rank {array.ndim}")
        result[tensor.name] = array
    return result


def _bind_sizes(program: Program, inputs: dict[str, np.ndarray]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for tensor in program.inputs:
        for d, dim in enumerate(tensor.dims):
            extent = inputs[tensor.name].shape[d]
            if isinstance(dim, int):
                if extent != dim:
                    raise ArgumentError(f"dimension {d} of '{tensor.name}' must be {dim}")
            elif sizes.setdefault(dim, extent) != extent:
                raise ArgumentError(f"size {dim} is {sizes[dim]} and {extent}")
    return sizes


def _fix(set_: isl.Set, program: Program, sizes: dict[str, int]) -> isl.Set:
    for position in range(set_.dim(isl.dim_type.param)):
        name = str(set_.get_dim_name(isl.dim_type.param, position))
        set_ = set_.fix_val(isl.dim_type.param, position,
                            isl.Val.int_from_si(set_.get_ctx(), sizes[name]))
    return set_


def _extents(shape: tuple[isl.PwAff, ...], program: Program,
             sizes: dict[str, int]) -> tuple[int, ...]:
    point = _fix(program.context, program, sizes)
    return tuple(max(0, int(extent.intersect_params(point).max_val().to_python()))
                 for extent in shape)


def bounding_box(domain: isl.Set, program: Program,
                 sizes: dict[str, int]) -> tuple[list[int], list[int], bool] | None:
    """The bounds of a statement's domain at ``sizes`` (lowest and highest
    value per index) and whether the domain is that whole box (not a
    triangle, a band...); None when it is empty."""
    fixed = _fix(domain, program, sizes)
    if fixed.is_empty():
        return None
    rank = fixed.dim(isl.dim_type.set)
    low = [int(fixed.dim_min_val(d).to_python()) for d in range(rank)]
    high = [int(fixed.dim_max_val(d).to_python()) for d in range(rank)]
    box = isl.Set.universe(fixed.get_space())
    for position in range(rank):
        box = box.lower_bound_val(isl.dim_type.set, position,
                                  isl.Val.int_from_si(box.get_ctx(), low[position]))
        box = box.upper_bound_val(isl.dim_type.set, position,
                                  isl.Val.int_from_si(box.get_ctx(), high[position]))
    return low, high, box.intersect_params(fixed.params()).is_equal(fixed)


def box_points(domain: isl.Set, program: Program,
               sizes: dict[str, int]) -> tuple[list[np.ndarray], int]:
    """The points of a statement's domain at ``sizes``: one int64 array per
    index, in lexicographic order, and their number (a domain that is not a
    box, such as a triangle, is its bounding box filtered point by point)."""
    bounds = bounding_box(domain, program, sizes)
    if bounds is None:
        return [np.zeros(0, dtype=np.int64) for _ in range(domain.dim(isl.dim_type.set))], 0
    low, high, whole = bounds
    grids = np.meshgrid(*(np.arange(lo, hi + 1, dtype=np.int64) for lo, hi in zip(low, high)),
                        indexing="ij")
    flat = [g.ravel() for g in grids]
    if not whole:
        fixed = _fix(domain, program, sizes)
        inside = [not _point_set(fixed, xs).intersect(fixed).is_empty() for xs in zip(*flat)]
        flat = [f[np.array(inside, dtype=bool)] for f in flat]
    return flat, len(flat[0]) if flat else 1


def _point_set(domain: isl.Set, coordinates: tuple[int, ...]) -> isl.Set:
    point = isl.Set.universe(domain.get_space()).intersect_params(domain.params())
    for position, value in enumerate(coordinates):
        point = point.fix_val(isl.dim_type.set, position,
                              isl.Val.int_from_si(point.get_ctx(), int(value)))
    return point


class _Statement:
    """One TC statement, evaluated on its box."""

    def __init__(self, node: ast.Statement, lowered: IrStatement, init: IrStatement | None,
                 program: Program, sizes: dict[str, int], memory: _Tensors,
                 annotated: dict[str, str], inputs: dict[str, Any]) -> None:
        self.node, self.lowered, self.init = node, lowered, init
        self.program, self.sizes, self.memory = program, sizes, memory
        self.annotated = annotated
        lets = {c.name.name: c.value for c in node.where if isinstance(c, ast.LetClause)}
        self.scope = Scope(lets, sizes, memory.arrays, memory.types,
                           {name: t.dims for name, t in inputs.items()})

    def run(self) -> None:
        node, lowered, memory = self.node, self.lowered, self.memory
        points, count = box_points(lowered.domain, self.program, self.sizes)
        iterators = dict(zip(lowered.iterators, points))
        evaluator = Evaluator(self.scope)
        tensor = node.lhs.name
        body_type = evaluator.static_type(node.rhs)
        target_type = memory.types.get(tensor) or self.annotated.get(tensor) or body_type
        if tensor not in memory.arrays:
            memory.arrays[tensor] = np.zeros(memory.shapes[tensor], dtype=target_type)
            memory.types[tensor] = target_type
        target = memory.arrays[tensor]
        op = {"=": "=", "+=": "+", "*=": "*", "max=": "max", "min=": "min"}[node.op]
        if self.init is not None:
            box, _ = box_points(self.init.domain, self.program, self.sizes)
            target[tuple(box)] = sem.identity(op, target_type)
        if count == 0:
            return
        lhs = tuple(iterators[i.name] for i in node.indices)
        if self._sequential(op):
            for k in range(count):
                at = {name: values[k:k + 1] for name, values in iterators.items()}
                value = sem.convert(evaluator.evaluate(node.rhs, at, 1), target_type)
                _update(target, tuple(i[k:k + 1] for i in lhs), value, op)
            return
        value = sem.convert(evaluator.evaluate(node.rhs, iterators, count), target_type)
        _update(target, lhs, value, op)

    def _sequential(self, op: str) -> bool:
        """Must points run one by one?  When the body reads the written
        tensor anywhere but at the written element of an ``=`` statement."""
        own = [r for r in Evaluator(self.scope).reads(self.node.rhs)
               if r.name.name == self.node.lhs.name]
        if not own:
            return False
        if op != "=":
            return True
        lhs = [i.name for i in self.node.indices]
        return any([a.name if isinstance(a, ast.Ident) else None for a in r.args] != lhs
                   for r in own)


def _update(target: np.ndarray, lhs: tuple[np.ndarray, ...], value: np.ndarray,
            op: str) -> None:
    """Write or reduce ``value`` into ``target`` at ``lhs``, in point order."""
    if op == "=":
        if lhs:
            target[lhs] = value
        elif len(value):
            target[()] = value[-1]
        return
    flat = np.ravel_multi_index(lhs, target.shape) if lhs else np.zeros(len(value), np.intp)
    view = target.reshape(-1)
    kind = target.dtype.kind
    if op in ("max", "min") and kind == "f" and (np.isnan(value).any()
                                                 or np.isnan(view[flat]).any()):
        for k, v in zip(flat, value):  # C: if (v > target) target = v
            if (v > view[k]) if op == "max" else (v < view[k]):
                view[k] = v
        return
    ufunc = {"+": np.add, "*": np.multiply, "max": np.maximum, "min": np.minimum}[op]
    if kind == "b":
        ufunc = {"+": np.logical_or, "*": np.logical_and, "max": np.logical_or,
                 "min": np.logical_and}[op]
    with np.errstate(all="ignore"):
        ufunc.at(view, flat, value)


__all__ = ["interpret", "InterpreterError", "bounding_box", "box_points"]
