"""Hypothesis strategies: random well-formed multi-statement TC defs.

:func:`programs` draws a :class:`GenProgram`: one ``def`` of 2 to 5 TC
statements over 1 to 3 inputs of rank 1 to 3 (``float(N, M) A``), built
correct by construction:

* every subscript is ``index + c`` (``c`` in -1..2, mostly 0), or
  ``S - 1 - index`` on an input dimension of size ``S`` (a reversal); a
  left-hand side is plain distinct indices (transposes come from the order);
* every index appears in some read, so TC's range inference bounds it in its
  first round: its interval is the intersection over reads of
  ``[-c, extent - c)``; a ``where`` clause sometimes narrows an interval to
  a sub-range whose upper bound is one size term, which keeps every read
  provably in bounds;
* statement kinds: elementwise maps and stencils (``T(i) = A(i) + A(i+1)``),
  reductions ``+=!`` / ``max=!`` (matmul-like contractions, row maxima, 0-d
  totals), in-place ``=`` updates of an earlier tensor (``T(i,j) = T(i,j) *
  2.0 + B(j)``, sometimes reading ``T`` at a shifted index too, which makes
  the update sequential), and ``+=`` accumulations without ``!`` onto an
  earlier tensor; reads prefer the most recent tensors (producer/consumer
  chains) but may use only inputs (independent statements);
* the last written tensor is an output, other written tensors are outputs
  sometimes, the rest temporaries.

Each :class:`GenProgram` also knows its meaning: :meth:`GenProgram.reference`
evaluates it with numpy (float64) in TC's semantics as polytc defines them
(absolute indices, extent = largest written index + 1, unwritten elements 0,
statements in order, a statement's points in lexicographic order), so tests
can check a kernel without trusting any polytc stage.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from hypothesis import strategies as st

SYMBOLS = ("N", "M", "K", "L")
INPUT_NAMES = ("A", "B", "C")
INDEX_NAMES = ("i", "j", "k", "l", "r", "s")
LOWEST_F32 = float(np.finfo(np.float32).min)

# an upper bound: the minimum of terms ``S + c`` (``S`` None for a constant)
Bound = tuple[tuple[str | None, int], ...]


def _bound_text(term: tuple[str | None, int]) -> str:
    sym, c = term
    if sym is None:
        return str(c)
    return sym if c == 0 else f"{sym} {'+' if c > 0 else '-'} {abs(c)}"


def _bound_value(bound: Bound, sizes: dict[str, int]) -> int:
    return min((sizes[s] if s is not None else 0) + c for s, c in bound)


def _shift(bound: Bound, c: int) -> Bound:
    return tuple(sorted({(s, k + c) for s, k in bound}, key=repr))


def _meet(a: Bound, b: Bound) -> Bound:
    """min(a, b), dropping terms of one symbol dominated by another."""
    best: dict[str | None, int] = {}
    for s, c in a + b:
        best[s] = min(best.get(s, c), c)
    return tuple(sorted(best.items(), key=repr))


# -- expressions ---------------------------------------------------------------
@dataclass(frozen=True)
class Sub:
    """One subscript: ``var + offset``, or ``rev - 1 - var`` when ``rev``."""

    var: str
    offset: int = 0
    rev: str | None = None

    def text(self) -> str:
        if self.rev is not None:
            return f"{self.rev} - 1 - {self.var}"
        if self.offset == 0:
            return self.var
        return f"{self.var} {'+' if self.offset > 0 else '-'} {abs(self.offset)}"


@dataclass(frozen=True)
class Read:
    tensor: str
    subs: tuple[Sub, ...]

    def text(self) -> str:
        return f"{self.tensor}({', '.join(s.text() for s in self.subs)})"


@dataclass(frozen=True)
class Node:
    """``op`` is ``read`` (``args[0]`` a :class:`Read`), ``const`` (a float),
    ``+ - *``, ``tanh``, ``relu`` (``fmax(x, 0.0)``) or ``fabs``."""

    op: str
    args: tuple[Any, ...]

    def text(self) -> str:
        if self.op == "read":
            return self.args[0].text()
        if self.op == "const":
            return repr(float(self.args[0]))
        if self.op in "+-*":
            return f"({self.args[0].text()} {self.op} {self.args[1].text()})"
        if self.op == "relu":
            return f"fmax({self.args[0].text()}, 0.0)"
        return f"{self.op}({self.args[0].text()})"

    def reads(self) -> list[Read]:
        if self.op == "read":
            return [self.args[0]]
        if self.op == "const":
            return []
        return [r for a in self.args for r in a.reads()]

    def evaluate(self, load: Any) -> Any:
        """The value, with ``load(read)`` giving each read's value."""
        if self.op == "read":
            return load(self.args[0])
        if self.op == "const":
            return self.args[0]
        values = [a.evaluate(load) for a in self.args]
        if self.op == "+":
            return values[0] + values[1]
        if self.op == "-":
            return values[0] - values[1]
        if self.op == "*":
            return values[0] * values[1]
        if self.op == "tanh":
            return np.tanh(values[0])
        if self.op == "relu":
            return np.maximum(values[0], 0.0)
        if self.op == "fabs":
            return np.abs(values[0])
        raise AssertionError(self.op)


def _strip(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


# -- statements and programs ---------------------------------------------------------
@dataclass(frozen=True)
class Stmt:
    """``tensor(lhs) op body where ...``; ``iterators`` = lhs then reduction
    indices; ``where`` maps an index to ``(lo, hi term)``."""

    tensor: str
    lhs: tuple[str, ...]
    op: str  # '=', '+=!', 'max=!', '+='
    body: Node
    iterators: tuple[str, ...]
    where: tuple[tuple[str, int, tuple[str | None, int]], ...] = ()
    kind: str = "map"

    def text(self) -> str:
        lhs = f"{self.tensor}({', '.join(self.lhs)})" if self.lhs else self.tensor
        text = f"{lhs} {self.op} {_strip(self.body.text())}"
        if self.where:
            text += " where " + ", ".join(f"{v} in {lo}:{_bound_text(hi)}"
                                          for v, lo, hi in self.where)
        return text

    @property
    def sequential(self) -> bool:
        """Reads its own tensor at another point: the order of points matters."""
        return any(r.tensor == self.tensor and any(s.offset or s.rev for s in r.subs)
                   for r in self.body.reads())


@dataclass(frozen=True)
class GenProgram:
    """A generated def: its text, inputs and the :meth:`reference` meaning."""

    name: str
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    outputs: tuple[str, ...]
    statements: tuple[Stmt, ...]
    sizes: dict[str, int] = field(compare=False)
    kinds: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        params = ", ".join(f"float({', '.join(dims)}) {name}" for name, dims in self.inputs)
        body = "\n".join("    " + s.text() for s in self.statements)
        return f"def {self.name}({params}) -> ({', '.join(self.outputs)}) {{\n{body}\n}}"

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"GenProgram(sizes={self.sizes}):\n{self.text}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def make_inputs(self, rng: np.random.Generator,
                    sizes: dict[str, int] | None = None) -> list[np.ndarray]:
        sizes = sizes or self.sizes
        return [rng.uniform(-1, 1, [sizes[d] for d in dims]).astype(np.float32)
                for _, dims in self.inputs]

    def reference(self, arrays: Sequence[np.ndarray],
                  sizes: dict[str, int] | None = None) -> tuple[np.ndarray, ...]:
        """The outputs, in return order, evaluated in float64."""
        sizes = sizes or self.sizes
        env = {name: np.asarray(a, dtype=np.float64) for (name, _), a in zip(self.inputs, arrays)}
        for stmt in self.statements:
            _run(stmt, env, sizes)
        return tuple(env[o] for o in self.outputs)

    def extents(self, sizes: dict[str, int] | None = None) -> dict[str, tuple[int, ...]]:
        """Every tensor's shape at the given sizes (evaluating the program on zeros)."""
        sizes = sizes or self.sizes
        zeros = [np.zeros([sizes[d] for d in dims]) for _, dims in self.inputs]
        env = {name: a for (name, _), a in zip(self.inputs, zeros)}
        for stmt in self.statements:
            _run(stmt, env, sizes)
        return {k: v.shape for k, v in env.items()}

    def intervals_nonempty(self, sizes: dict[str, int]) -> bool:
        env = {name: np.zeros([sizes[d] for d in dims]) for name, dims in self.inputs}
        for stmt in self.statements:
            boxes = _intervals(stmt, env, sizes)
            if any(hi <= lo for lo, hi in boxes.values()):
                return False
            _run(stmt, env, sizes)
        return True


def _intervals(stmt: Stmt, env: dict[str, np.ndarray],
               sizes: dict[str, int]) -> dict[str, tuple[int, int]]:
    """TC's round-one range inference on single-index subscripts."""
    lo = {v: -10**9 for v in stmt.iterators}
    hi = {v: 10**9 for v in stmt.iterators}
    for read in stmt.body.reads():
        shape = env[read.tensor].shape
        for sub, extent in zip(read.subs, shape):
            if sub.rev is not None:  # 0 <= S-1-v < extent
                lo[sub.var] = max(lo[sub.var], sizes[sub.rev] - extent)
                hi[sub.var] = min(hi[sub.var], sizes[sub.rev])
            else:
                lo[sub.var] = max(lo[sub.var], -sub.offset)
                hi[sub.var] = min(hi[sub.var], extent - sub.offset)
    for var, low, term in stmt.where:
        lo[var], hi[var] = low, _bound_value((term,), sizes)
    return {v: (lo[v], hi[v]) for v in stmt.iterators}


def _run(stmt: Stmt, env: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
    boxes = _intervals(stmt, env, sizes)
    his = [max(0, boxes[v][1]) for v in stmt.lhs]
    if stmt.tensor not in env:
        env[stmt.tensor] = np.zeros(his)
    else:  # writes never leave an earlier tensor's extent in generated programs
        current = env[stmt.tensor]
        grown = [max(a, b) for a, b in zip(current.shape, his)]
        if list(current.shape) != grown:
            bigger = np.zeros(grown)
            bigger[tuple(slice(0, n) for n in current.shape)] = current
            env[stmt.tensor] = bigger
    target = env[stmt.tensor]
    if any(hi <= lo for lo, hi in boxes.values()):
        if stmt.op in ("+=!", "max=!") and all(boxes[v][1] > boxes[v][0] for v in stmt.lhs):
            region = tuple(slice(*boxes[v]) for v in stmt.lhs)
            target[region] = 0.0 if stmt.op == "+=!" else LOWEST_F32
        return
    if stmt.sequential:
        _run_sequential(stmt, boxes, target, env, sizes)
        return
    n = len(stmt.iterators)
    grids = {v: np.arange(*boxes[v]).reshape([-1 if a == p else 1 for a in range(n)])
             for p, v in enumerate(stmt.iterators)}
    shape = tuple(boxes[v][1] - boxes[v][0] for v in stmt.iterators)

    def load(read: Read) -> np.ndarray:
        index = tuple(_subscript(s, grids[s.var], sizes) for s in read.subs)
        return np.broadcast_to(env[read.tensor][index] if index else env[read.tensor], shape)

    value = np.broadcast_to(stmt.body.evaluate(load), shape)
    reduce_axes = tuple(range(len(stmt.lhs), n))
    region = tuple(slice(*boxes[v]) for v in stmt.lhs)
    if stmt.op == "=":
        target[region] = value
    elif stmt.op == "+=!":
        target[region] = value.sum(axis=reduce_axes)
    elif stmt.op == "max=!":
        target[region] = np.maximum(value.max(axis=reduce_axes), LOWEST_F32)
    elif stmt.op == "+=":
        target[region] = target[region] + value.sum(axis=reduce_axes)
    else:
        raise AssertionError(stmt.op)


def _subscript(sub: Sub, value: Any, sizes: dict[str, int]) -> Any:
    return sizes[sub.rev] - 1 - value if sub.rev is not None else value + sub.offset


def _run_sequential(stmt: Stmt, boxes: dict[str, tuple[int, int]], target: np.ndarray,
                    env: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
    """An ``=`` update that reads its own tensor elsewhere: point by point."""
    assert stmt.op == "=" and stmt.iterators == stmt.lhs
    for point in itertools.product(*(range(*boxes[v]) for v in stmt.iterators)):
        at = dict(zip(stmt.iterators, point))

        def load(read: Read) -> float:
            index = tuple(_subscript(s, at[s.var], sizes) for s in read.subs)
            return env[read.tensor][index]

        target[point] = stmt.body.evaluate(load)


# -- the strategy -----------------------------------------------------------------
@dataclass
class _Tensor:
    name: str
    dims: list[Bound]          # upper bound (extent) of each dimension
    syms: list[str | None]     # the size symbol of an input dimension


class _Builder:
    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.tensors: list[_Tensor] = []   # inputs, then written tensors in order
        self.inputs: list[_Tensor] = []
        self.written: list[str] = []
        self.statements: list[Stmt] = []
        self.kinds: list[str] = []

    # -- helpers
    def fresh_indices(self, used: set[str], n: int) -> list[str]:
        return [v for v in INDEX_NAMES if v not in used][:n]

    def pick_tensor(self, rank_max: int = 3, exclude: tuple[str, ...] = (),
                    recent: bool = True) -> _Tensor | None:
        choices = [t for t in self.tensors if len(t.dims) <= rank_max and t.name not in exclude
                   and len(t.dims) > 0]
        if not choices:
            return None
        if recent and self.written and self.draw(st.integers(0, 2)) > 0:
            recents = [t for t in choices if t.name in self.written[-2:]]
            if recents:
                choices = recents
        return self.draw(st.sampled_from(choices))

    def offset(self) -> int:
        return self.draw(st.sampled_from((0, 0, 0, 0, 0, 1, 1, 2, -1)))

    def sub(self, tensor: _Tensor, dim: int, var: str) -> Sub:
        sym = tensor.syms[dim]
        if sym is not None and self.draw(st.integers(0, 15)) == 15:
            return Sub(var, 0, sym)
        return Sub(var, self.offset())

    def secondary_read(self, iterators: list[str], allow_new: bool,
                       exclude: tuple[str, ...] = ()) -> tuple[Read, list[str]] | None:
        """A read whose dimensions use the iterators (or fresh ones)."""
        tensor = self.pick_tensor(exclude=exclude)
        if tensor is None:
            return None
        subs, new = [], []
        available = list(iterators)
        for dim in range(len(tensor.dims)):
            fresh = allow_new and len(iterators) + len(new) < 4 and \
                (not available or self.draw(st.integers(0, 3)) == 3)
            if fresh:
                var = self.fresh_indices(set(iterators) | set(new), 1)[0]
                new.append(var)
            elif available:
                var = self.draw(st.sampled_from(available))
                available.remove(var)
            else:
                return None
            subs.append(self.sub(tensor, dim, var))
        return Read(tensor.name, tuple(subs)), new

    def combine(self, reads: list[Read], product: bool) -> Node:
        nodes = [Node("read", (r,)) for r in reads]
        body = nodes[0]
        for node in nodes[1:]:
            op = "*" if product else self.draw(st.sampled_from("+-*"))
            body = Node(op, (body, node))
        wrap = self.draw(st.sampled_from(("", "", "", "tanh", "relu", "scale", "shift", "fabs")))
        if wrap == "scale":
            body = Node("*", (Node("const", (self.draw(st.sampled_from((0.5, 2.0, 3.0))),)),
                              body))
        elif wrap == "shift":
            body = Node("+", (body, Node("const", (0.25,))))
        elif wrap:
            body = Node(wrap, (body,))
        return body

    def bounds(self, reads: list[Read], iterators: list[str]) -> dict[str, Bound]:
        """Symbolic upper bound of each index (min over reads)."""
        by_name = {t.name: t for t in self.tensors}
        result: dict[str, Bound] = {}
        for read in reads:
            tensor = by_name[read.tensor]
            for sub, extent in zip(read.subs, tensor.dims):
                hi = ((sub.rev, 0),) if sub.rev is not None else _shift(extent, -sub.offset)
                result[sub.var] = _meet(result[sub.var], hi) if sub.var in result else hi
        return result

    def lower_bounds(self, reads: list[Read]) -> dict[str, int]:
        result: dict[str, int] = {}
        for read in reads:
            for sub in read.subs:
                low = 0 if sub.rev is not None else -sub.offset
                result[sub.var] = max(result.get(sub.var, low), low)
        return result

    def maybe_where(self, reads: list[Read], iterators: list[str]) -> tuple:
        if self.draw(st.integers(0, 4)) != 4:
            return ()
        highs = self.bounds(reads, iterators)
        lows = self.lower_bounds(reads)
        candidates = [v for v in iterators if len(highs[v]) == 1 and highs[v][0][0] is not None]
        if not candidates:
            return ()
        var = self.draw(st.sampled_from(candidates))
        sym, c = highs[var][0]
        lo = max(0, lows[var]) + self.draw(st.integers(0, 1))
        hi = (sym, c - self.draw(st.integers(0, 1)))
        return ((var, lo, hi),)

    @staticmethod
    def nonnegative(reads: list[Read], lhs: Sequence[str]) -> list[Read]:
        """Reads with the smallest positive offset of a written index set to 0
        where every read of it has a positive offset (``T(i) = A(i + 1)``
        alone would write ``T(-1)``)."""
        reads = list(reads)
        for var in lhs:
            offsets = [s.offset for r in reads for s in r.subs if s.var == var and not s.rev]
            if any(s.var == var and s.rev for r in reads for s in r.subs):
                continue
            if offsets and min(offsets) > 0:
                smallest = min(offsets)
                for n, read in enumerate(reads):
                    subs = [Sub(s.var, 0) if s.var == var and s.offset == smallest and not s.rev
                            else s for s in read.subs]
                    reads[n] = Read(read.tensor, tuple(subs))
        return reads

    # -- statement kinds
    def new_name(self) -> str:
        return f"T{len(self.written)}"

    def record(self, stmt: Stmt, kind: str, new_tensor: bool, reads: list[Read]) -> None:
        if new_tensor:
            highs = self.bounds(reads, list(stmt.iterators))
            for var, _, hi in stmt.where:
                highs[var] = (hi,)
            self.tensors.append(_Tensor(stmt.tensor, [highs[v] for v in stmt.lhs],
                                        [None] * len(stmt.lhs)))
        if stmt.tensor in self.written:
            self.written.remove(stmt.tensor)
        self.written.append(stmt.tensor)
        self.statements.append(stmt)
        self.kinds.append(kind)

    def map_or_reduce(self, reduce: bool, stencil: bool = False) -> bool:
        primary = self.pick_tensor()
        assert primary is not None
        iterators = self.fresh_indices(set(), len(primary.dims))
        reads = [Read(primary.name, tuple(self.sub(primary, d, v)
                                          for d, v in enumerate(iterators)))]
        if stencil:  # the same tensor at a neighbouring point: A(i) + A(i+1)
            subs = [Sub(v) for v in iterators]
            d = self.draw(st.integers(0, len(subs) - 1))
            subs[d] = Sub(iterators[d], self.draw(st.sampled_from((1, 1, 2, -1))))
            reads.append(Read(primary.name, tuple(subs)))
        for _ in range(self.draw(st.integers(0, 1 if stencil else 2))):
            extra = self.secondary_read(iterators, allow_new=reduce)
            if extra is not None:
                reads.append(extra[0])
                iterators += extra[1]
        order = list(self.draw(st.permutations(iterators)))
        if reduce:
            n_lhs = self.draw(st.integers(0 if len(order) == 1 else 1,
                                          min(3, len(order) - 1)))
            lhs = order[:n_lhs]
        else:
            if len(order) > 3:
                return False
            lhs = order
        reads = self.nonnegative(reads, lhs)
        body = self.combine(reads, product=reduce and self.draw(st.booleans()))
        op = "=" if not reduce else self.draw(st.sampled_from(("+=!", "+=!", "max=!")))
        reduction = [v for v in iterators if v not in lhs]
        stmt = Stmt(self.new_name(), tuple(lhs), op, body, tuple(lhs) + tuple(reduction),
                    self.maybe_where(reads, iterators),
                    kind="reduce" if reduce else "map")
        self.record(stmt, stmt.kind, True, reads)
        return True

    def update(self) -> bool:
        """An in-place ``=`` update or a ``+=`` accumulation of a written tensor."""
        targets = [t for t in self.tensors if t.name in self.written and t.dims]
        if not targets:
            return False
        target = self.draw(st.sampled_from(targets))
        iterators = self.fresh_indices(set(), len(target.dims))
        own = Read(target.name, tuple(Sub(v) for v in iterators))
        accumulate = self.draw(st.integers(0, 3)) == 3
        reads: list[Read] = []
        new: list[str] = []
        for _ in range(self.draw(st.integers(1 if accumulate else 0, 2))):
            extra = self.secondary_read(iterators + new, allow_new=accumulate,
                                        exclude=(target.name,))
            if extra is not None:
                reads.append(extra[0])
                new += extra[1]
        if accumulate:
            covered = {sub.var for read in reads for sub in read.subs}
            if not reads or not set(iterators) <= covered:
                return False
            reads = self.nonnegative(reads, iterators)
            body = self.combine(reads, product=self.draw(st.booleans()))
            stmt = Stmt(target.name, tuple(iterators), "+=", body,
                        tuple(iterators) + tuple(new), (), kind="accumulate")
            # the target's read bounds the lhs indices; reads bound the others
            self.record(stmt, "accumulate", False, reads)
            return True
        own_reads = [own]
        if len(target.dims) <= 2 and self.draw(st.integers(0, 1)) == 1:
            shifted = list(own.subs)
            d = self.draw(st.integers(0, len(shifted) - 1))
            shifted[d] = Sub(shifted[d].var, self.draw(st.sampled_from((1, -1))))
            own_reads.append(Read(target.name, tuple(shifted)))
        nodes = [Node("read", (r,)) for r in own_reads]
        body = nodes[0] if len(nodes) == 1 else Node("+", tuple(nodes))
        body = Node("*", (body, Node("const", (self.draw(st.sampled_from((0.5, 2.0))),))))
        for read in reads:
            body = Node(self.draw(st.sampled_from("+-")), (body, Node("read", (read,))))
        if self.draw(st.integers(0, 2)) == 2:
            body = Node("relu", (body,))
        stmt = Stmt(target.name, tuple(iterators), "=", body, tuple(iterators), (),
                    kind="update")
        self.record(stmt, "update", False, own_reads + reads)
        return True


@st.composite
def programs(draw: Any, min_statements: int = 2, max_statements: int = 5) -> GenProgram:
    """A random well-formed TC def; see the module docstring."""
    b = _Builder(draw)
    n_symbols = draw(st.integers(1, 3))
    symbols = SYMBOLS[:n_symbols]
    for name in INPUT_NAMES[:draw(st.integers(1, 3))]:
        rank = draw(st.integers(1, 3))
        dims = [draw(st.sampled_from(symbols)) for _ in range(rank)]
        tensor = _Tensor(name, [((d, 0),) for d in dims], list(dims))
        b.tensors.append(tensor)
        b.inputs.append(tensor)
    target = draw(st.integers(min_statements, max_statements))
    attempts = 0
    while len(b.statements) < target and attempts < 20:
        attempts += 1
        kind = draw(st.sampled_from(("map", "map", "stencil", "reduce", "reduce", "update")))
        if kind == "update" and b.update():
            continue
        b.map_or_reduce(kind == "reduce", kind == "stencil")
    last = b.statements[-1].tensor
    others = [t for t in b.written if t != last]
    extra = [t for t in others if draw(st.integers(0, 3)) == 3]
    outputs = tuple(t for t in b.written if t in extra) + (last,)
    used = sorted({d for t in b.inputs for d in t.syms if d is not None}, key=SYMBOLS.index)
    # sizes: odd-ish, not multiples of anything, every domain non-empty
    sizes = {s: draw(st.sampled_from((5, 6, 7, 9))) for s in used}
    program = GenProgram("g", tuple((t.name, tuple(t.syms)) for t in b.inputs),  # type: ignore
                         outputs, tuple(b.statements), sizes, tuple(b.kinds))
    bump = 0
    while not program.intervals_nonempty({s: v + bump for s, v in sizes.items()}):
        bump += 2
        assert bump < 40, program.text
    if bump:
        program = GenProgram(program.name, program.inputs, program.outputs,
                             program.statements, {s: v + bump for s, v in sizes.items()},
                             program.kinds)
    return program
