"""Random well-formed TC programs, for differential testing.

:func:`generate` builds one :class:`TcCase` (a ``def``, its input
specifications and sizes) from any source of choices: a seeded
:class:`random.Random` (:class:`RandomChoices`, for the fuzz driver) or a
hypothesis ``draw`` (:class:`DrawChoices`, for shrinking);
:func:`tc_programs` is the hypothesis strategy.

A program has 1 to 6 statements over 1 to 3 inputs of rank 0 to 4 (sizes
``N M K L``, sometimes a constant extent) and, sometimes, an ``int32``
index tensor.  Statements: elementwise maps and stencils, reductions
``+= *= max= min=`` with ``!`` and (onto an earlier tensor) without,
in-place updates (some reading a neighbour, hence sequential), padding and
shifts guarded by ternaries under ``where`` ranges, boolean masks, gathers,
``float64`` intermediates.  Subscripts are affine: ``i``, ``i - 1``,
``i + 2``, ``2*i + 1``, ``i / 2``, ``N - 1 - i``, ``i + k``; values use
``+ - * /``, unary minus, ``fmax``/``fmin``/``tanh``/``fabs``/``exp``,
``where`` lets and ``exists``, triangles (``j in 0:i + 1``), index and
size values (with integer ``/`` and ``%``, by zero too), casts, padded windows (a guarded read times the taps
``W(k)`` of a small constant-extent input, the window's range given or
inferred).  One program in ten is bare statements over tensors sometimes
named like their indices (``O(i, j) = I(i, j) + J(i, j)``).  Float inputs are multiples of 1/16 so that
comparisons and integer casts of them are exact.  Written tensors not
returned are temporaries.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
SYMBOLS = ("N", "M", "K", "L")
INDEX_NAMES = ("i", "j", "k", "l", "p", "q")


# -- sources of choices ---------------------------------------------------------------
class Choices:
    """Where random decisions come from."""

    def integer(self, low: int, high: int) -> int:
        """An int in ``[low, high]``."""
        raise NotImplementedError

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        return self.integer(0, 99) < percent


class RandomChoices(Choices):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class DrawChoices(Choices):
    """Decisions drawn by hypothesis (so failures shrink)."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        from hypothesis import strategies as st
        return int(self.draw(st.integers(low, high)))


# -- the generated case ---------------------------------------------------------------
@dataclass(frozen=True)
class InputSpec:
    """An input: ``values`` is ``float`` (multiples of 1/16 in [-2, 2]),
    ``index:S`` (ints in ``[0, S)``) or ``int`` (small ints)."""

    name: str
    dtype: str
    dims: tuple[str | int, ...]
    values: str = "float"


@dataclass(frozen=True)
class TcCase:
    """A generated TC def with what it takes to run it."""

    text: str
    inputs: tuple[InputSpec, ...]
    sizes: dict[str, int] = field(compare=False)

    def shape(self, spec: InputSpec, sizes: dict[str, int] | None = None) -> tuple[int, ...]:
        sizes = self.sizes if sizes is None else sizes
        return tuple(d if isinstance(d, int) else sizes[d] for d in spec.dims)

    def make_inputs(self, rng: np.random.Generator,
                    sizes: dict[str, int] | None = None) -> list[np.ndarray]:
        sizes = self.sizes if sizes is None else sizes
        arrays = []
        for spec in self.inputs:
            shape = self.shape(spec, sizes)
            if spec.values.startswith("index:"):
                bound = max(1, sizes[spec.values[6:]])
                arrays.append(rng.integers(0, bound, shape).astype(spec.dtype))
            elif spec.values == "int":
                arrays.append(rng.integers(-7, 8, shape).astype(spec.dtype))
            else:
                arrays.append((rng.integers(-32, 33, shape) / 16).astype(spec.dtype))
        return arrays

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "sizes": self.sizes,
                "inputs": [[s.name, s.dtype, list(s.dims), s.values] for s in self.inputs]}

    @staticmethod
    def from_json(data: dict[str, Any]) -> "TcCase":
        inputs = tuple(InputSpec(n, t, tuple(d), v) for n, t, d, v in data["inputs"])
        return TcCase(data["text"], inputs, dict(data["sizes"]))

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"TcCase(sizes={self.sizes}):\n{self.text}"


# -- the generator ------------------------------------------------------------------------
@dataclass
class _Tensor:
    name: str
    rank: int
    dtype: str = "float32"
    symbols: tuple[str | int | None, ...] = ()  # an input's extent per dimension


@dataclass
class _Stmt:
    """A statement under construction: its indices and where clauses."""

    lhs: list[str]
    reduction: list[str]
    where: list[str] = field(default_factory=list)
    ranged: set[str] = field(default_factory=set)
    bounded: set[str] = field(default_factory=set)
    pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def indices(self) -> list[str]:
        return self.lhs + self.reduction


class _Generator:
    def __init__(self, c: Choices, max_statements: int = 6, max_rank: int = 4) -> None:
        self.c = c
        self.max_statements = max_statements
        self.max_rank = max_rank
        self.inputs: list[_Tensor] = []
        self.specs: list[InputSpec] = []
        self.written: list[_Tensor] = []
        self.lines: list[str] = []
        self.index_tensor: tuple[_Tensor, _Tensor, int] | None = None  # (I, X, dim)
        self.window: _Tensor | None = None

    # -- signature
    def signature(self) -> None:
        c = self.c
        symbols = SYMBOLS[:c.integer(1, 4)]
        for name in ("A", "B", "C")[:c.integer(1, 3)]:
            rank = min(self.max_rank, c.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)))
            dims: list[str | int] = [c.choice(symbols) for _ in range(rank)]
            if rank and c.chance(10):
                dims[c.integer(0, rank - 1)] = c.integer(1, 3)
            self.inputs.append(_Tensor(name, rank, "float32", tuple(dims)))
            self.specs.append(InputSpec(name, "float32", tuple(dims)))
        if c.chance(30):  # a small window (a filter's taps), read by window statements
            taps = c.integer(2, 3)
            self.window = _Tensor("W", 1, "float32", (taps,))
            self.inputs.append(self.window)
            self.specs.append(InputSpec("W", "float32", (taps,)))
        gatherable = [(t, d) for t in self.inputs for d, s in enumerate(t.symbols)
                      if isinstance(s, str)]
        if gatherable and c.chance(30):
            target, dim = c.choice(gatherable)
            rank = c.integer(1, 2)
            index_dims: tuple[str | int, ...] = tuple(c.choice(symbols) for _ in range(rank))
            index = _Tensor("X", rank, "int32", index_dims)
            self.inputs.append(index)
            self.specs.append(InputSpec("X", "int32", index_dims,
                                        f"index:{target.symbols[dim]}"))
            self.index_tensor = (index, target, dim)

    def readable(self) -> list[_Tensor]:
        pool = [t for t in self.inputs if t.dtype != "int32"] + self.written
        if self.written and self.c.chance(60):
            return self.written[-2:]
        return pool

    # -- subscripts and reads
    def subscript(self, stmt: _Stmt, tensor: _Tensor, dim: int, var: str) -> str:
        """A subscript of ``tensor`` along ``dim`` built around ``var``."""
        c, lhs = self.c, var in stmt.lhs
        symbol = tensor.symbols[dim] if dim < len(tensor.symbols) else None
        form = c.choice(("plain", "plain", "plain", "plain", "shift", "shift", "stride",
                         "half", "reverse", "pair"))
        if form != "pair":
            stmt.bounded.add(var)
        if form == "shift":
            offset = c.integer(1, 2)
            return f"{var} - {offset}" if lhs or c.chance(50) else f"{var} + {offset}"
        if form == "stride":
            return f"2*{var}" + ("" if lhs or c.chance(50) else " + 1")
        if form == "half":
            return f"{var} / 2"
        if form == "reverse" and isinstance(symbol, str):
            return f"{symbol} - 1 - {var}"
        if form == "pair" and len(stmt.indices) > 1:
            partner = c.choice([v for v in stmt.indices if v != var])
            stmt.pairs.append((var, partner))
            return f"{var} + {partner}"
        stmt.bounded.add(var)
        return var

    def read(self, stmt: _Stmt, tensor: _Tensor, prefer: list[str],
             cover: bool = False) -> str:
        """A read of ``tensor`` (rank at most the statement's); its indices
        come from ``prefer`` first (always with ``cover``), and leave it."""
        if tensor.rank == 0:
            return tensor.name if self.c.chance(50) else f"{tensor.name}()"
        chosen: list[str] = []
        for _ in range(tensor.rank):
            options = [v for v in prefer if v not in chosen] or \
                [v for v in stmt.indices if v not in chosen]
            chosen.append(options[0] if cover or self.c.chance(70) else self.c.choice(options))
        subs = [self.subscript(stmt, tensor, d, v) for d, v in enumerate(chosen)]
        for v in chosen:
            if v in prefer:
                prefer.remove(v)
        return f"{tensor.name}({', '.join(subs)})"

    def operand(self, stmt: _Stmt, prefer: list[str]) -> str:
        """A read of a tensor that fits the statement's indices, or a constant."""
        c = self.c
        fits = [t for t in self.readable() if t.rank <= len(stmt.indices)]
        if not fits:
            return c.choice(("0.5", "2.0", "1.0"))
        tensor = c.choice(fits)
        if tensor.dtype == "bool":
            return f"({self.read(stmt, tensor, prefer)} ? 1.0 : -1.0)"
        text = self.read(stmt, tensor, prefer)
        if self.index_tensor is not None and c.chance(20):
            text = self.gather(stmt) or text
        return text

    def gather(self, stmt: _Stmt) -> str | None:
        assert self.index_tensor is not None
        index, target, dim = self.index_tensor
        if index.rank + target.rank - 1 > len(stmt.indices):
            return None
        inner = self.read(stmt, index, list(stmt.indices))
        subs = []
        rest = [v for v in stmt.indices]
        for d in range(target.rank):
            if d == dim:
                subs.append(inner)
            else:
                var = rest.pop(0) if rest else None
                if var is None:
                    return None
                stmt.bounded.add(var)
                subs.append(var)
        return f"{target.name}({', '.join(subs)})"

    # -- expressions
    def expression(self, stmt: _Stmt, reads: int) -> str:
        c = self.c
        prefer = list(stmt.indices)
        terms = [self.operand(stmt, prefer) for _ in range(reads)]
        while prefer:  # cover every index with some read
            fits = [t for t in self.inputs + self.written
                    if 0 < t.rank <= len(stmt.indices) and t.dtype in ("float32", "float64")]
            if not fits:
                break
            before = len(prefer)
            terms.append(self.read(stmt, c.choice(fits), prefer, cover=True))
            if len(prefer) == before:
                break
        text = terms[0]
        for term in terms[1:]:
            text = f"{text} {c.choice(('+', '-', '*', '+'))} {term}"
        return self.wrap(stmt, text)

    def wrap(self, stmt: _Stmt, text: str) -> str:
        c = self.c
        kind = c.choice(("none", "none", "none", "tanh", "relu", "scale", "fabs", "exp",
                         "neg", "div", "index", "size", "intops", "cast", "select", "min"))
        if kind == "tanh":
            return f"tanh({text})"
        if kind == "relu":
            return f"fmax({text}, 0.0)"
        if kind == "scale":
            return f"{c.choice(('0.5', '2.0', '3.0'))} * ({text})"
        if kind == "fabs":
            return f"fabs({text})"
        if kind == "exp":
            return f"exp(-fabs({text}))"
        if kind == "neg":
            return f"-({text})"
        if kind == "div":
            return f"({text}) / (1.0 + fabs({text}))"
        if kind == "min":
            return f"fmin({text}, {c.choice(('0.25', '1.0', '-0.5'))})"
        if kind == "index" and stmt.indices:
            return f"{text} + float({c.choice(stmt.indices)}) * 0.25"
        symbols = [s for t in self.inputs for s in t.symbols if isinstance(s, str)]
        if kind == "size" and symbols:
            return f"{text} * float({c.choice(symbols)} + 1)"
        if kind == "intops" and stmt.indices:
            a, b = c.choice(stmt.indices), c.choice(stmt.indices)
            op = c.choice(("/", "%"))
            divisor = c.choice((f"({b} - 1)", "2", "3", f"({b} + 1)", "-2"))
            return f"{text} + float(({a} - {b} * 2) {op} {divisor})"
        if kind == "cast":
            inputs = [t for t in self.inputs if t.dtype == "float32" and t.rank <= len(
                stmt.indices)]
            if inputs:
                tensor = c.choice(inputs)
                read = self.read(stmt, tensor, list(stmt.indices))
                return f"{text} + float(int32({read} * 4.0) % 3)"
        if kind == "select":
            inputs = [t for t in self.inputs if t.dtype == "float32" and t.rank <= len(
                stmt.indices)]
            if inputs:
                read = self.read(stmt, c.choice(inputs), list(stmt.indices))
                return f"({read} > 0.0 ? {text} : 0.5 * ({text}))"
        return text

    # -- statements
    def new_name(self) -> str:
        return f"T{len(self.written)}"

    def where_clauses(self, stmt: _Stmt) -> list[str]:
        """Ranges for indices nothing bounds on its own, lets sometimes."""
        bounded = set(stmt.bounded) | stmt.ranged
        changed = True
        while changed:
            changed = False
            for a, b in stmt.pairs:
                if b in bounded and a not in bounded:
                    bounded.add(a)
                    changed = True
        for var in stmt.indices:
            if var not in bounded:
                stmt.where.append(f"{var} in 0:{self.c.integer(1, 3)}")
        return stmt.where

    def finish(self, name: str, stmt: _Stmt, op: str, body: str, dtype: str = "float32",
               extra_where: Sequence[str] = ()) -> None:
        lhs = f"{name}({', '.join(stmt.lhs)})" if stmt.lhs or self.c.chance(50) else name
        clauses = list(extra_where) + self.where_clauses(stmt)
        line = f"{lhs} {op} {body}"
        if clauses:
            line += " where " + ", ".join(clauses)
        self.lines.append(line)
        if name not in [t.name for t in self.written]:
            self.written.append(_Tensor(name, len(stmt.lhs), dtype))
        else:  # the most recent tensors are read most
            tensor = next(t for t in self.written if t.name == name)
            self.written.remove(tensor)
            self.written.append(tensor)

    def map_statement(self) -> None:
        c = self.c
        rank = c.integer(1 if not self.written else 0, min(3, self.max_rank))
        stmt = _Stmt(list(INDEX_NAMES[:rank]), [])
        body = self.expression(stmt, c.integer(1, 3))
        dtype = "float32"
        if c.chance(10):
            body, dtype = f"double({body}) * 1.5", "float64"
        self.finish(self.new_name(), stmt, "=", body, dtype)

    def reduce_statement(self, onto: _Tensor | None = None) -> None:
        c = self.c
        rank = onto.rank if onto is not None else c.integer(0, min(3, self.max_rank))
        red = c.integer(1, 2)
        stmt = _Stmt(list(INDEX_NAMES[:rank]), list(INDEX_NAMES[rank:rank + red]))
        op = c.choice(("+=", "+=", "*=", "max=", "min="))
        body = self.expression(stmt, c.integer(1, 2))
        if op == "*=":  # keep products of many terms finite
            body = f"1.0 + 0.125 * fmax(fmin({body}, 1.0), -1.0)"
        if c.chance(10) and stmt.reduction:
            stmt.where.append(f"exists {self.exists_read(stmt)}")
        if len(stmt.lhs) >= 2 and c.chance(15):  # a triangle: the second index up to the first
            first, second = stmt.lhs[:2]
            if first in stmt.bounded | stmt.ranged and second not in stmt.ranged:
                stmt.where.append(f"{second} in 0:{first} + 1")
                stmt.ranged.add(second)
        name = onto.name if onto is not None else self.new_name()
        self.finish(name, stmt, op if onto is not None else op + "!", body)

    def exists_read(self, stmt: _Stmt) -> str:
        fits = [t for t in self.inputs if t.dtype == "float32" and 0 < t.rank <= len(
            stmt.indices)]
        if not fits:
            return "1"
        tensor = self.c.choice(fits)
        return self.read(stmt, tensor, list(stmt.indices))

    def update_statement(self) -> None:
        c = self.c
        targets = [t for t in self.written if t.dtype != "bool"]
        if not targets:
            return self.map_statement()
        target = c.choice(targets)
        if c.chance(40):
            return self.reduce_statement(onto=target)
        stmt = _Stmt(list(INDEX_NAMES[:target.rank]), [])
        own = f"{target.name}({', '.join(stmt.lhs)})" if target.rank else target.name
        stmt.bounded.update(stmt.lhs)
        body = f"{own} * {c.choice(('0.5', '2.0', '-1.0'))}"
        if target.rank and target.rank <= 2 and c.chance(40):  # a neighbour: sequential
            shifted = list(stmt.lhs)
            d = c.integer(0, len(shifted) - 1)
            shifted[d] = f"{shifted[d]} - 1" if c.chance(70) else f"{shifted[d]} + 1"
            body += f" + {target.name}({', '.join(shifted)})"
        if c.chance(60):
            body += f" {c.choice(('+', '-'))} {self.operand(stmt, [])}"
        self.finish(target.name, stmt, "=", self.wrap(stmt, body), target.dtype)

    def guarded_statement(self) -> None:
        """Padding or a shift: a read guarded by a ternary under a where range."""
        c = self.c
        fits = [t for t in self.inputs if t.dtype == "float32" and t.rank
                and all(isinstance(s, str) for s in t.symbols)]
        if not fits:
            return self.map_statement()
        tensor = c.choice(fits)
        stmt = _Stmt(list(INDEX_NAMES[:tensor.rank]), [])
        d = c.integer(0, tensor.rank - 1)
        var, symbol, pad = stmt.lhs[d], tensor.symbols[d], c.integer(1, 2)
        subs = list(stmt.lhs)
        if c.chance(50):
            subs[d] = f"{var} - {pad}"
            guard = f"{var} >= {pad}"
        else:
            guard = f"{var} < {symbol}"
        stmt.ranged.add(var)
        stmt.bounded.update(stmt.lhs)
        read = f"{tensor.name}({', '.join(subs)})"
        body = f"({guard}) ? {read} : {c.choice(('0.0', '-1.0'))}"
        self.finish(self.new_name(), stmt, "=", body,
                    extra_where=[f"{var} in 0:{symbol} + {pad}"])

    def window_statement(self) -> None:
        """A padded window (a 1-D convolution along one dimension): the read
        guarded by a ternary, the window index ``k`` reading the taps
        ``W(k)`` directly, its range given or left to inference (which then
        narrows it: TC's rules, and polytc's NarrowedRangeWarning)."""
        c = self.c
        fits = [t for t in self.inputs if t.dtype == "float32" and t.rank and t is not self.window
                and all(isinstance(s, str) for s in t.symbols)]
        if self.window is None or not fits:
            return self.map_statement()
        tensor = c.choice(fits)
        stmt = _Stmt(list(INDEX_NAMES[:tensor.rank]), [INDEX_NAMES[tensor.rank]])
        d = c.integer(0, tensor.rank - 1)
        var, symbol, k = stmt.lhs[d], tensor.symbols[d], stmt.reduction[0]
        pad = c.integer(0, 2)
        shifted = f"{var} + {k} - {pad}" if pad else f"{var} + {k}"
        subs = list(stmt.lhs)
        subs[d] = shifted
        guard = f"{shifted} >= 0 && {shifted} < {symbol}"
        body = f"({guard}) ? {tensor.name}({', '.join(subs)}) * W({k}) : 0.0"
        stmt.ranged.add(var)
        stmt.bounded.update(stmt.indices)
        where = [f"{var} in 0:{symbol}"]
        if c.chance(70):
            where.append(f"{k} in 0:{self.window.symbols[0]}")
        self.finish(self.new_name(), stmt, "+=!", body, extra_where=where)

    def mask_statement(self) -> None:
        fits = [t for t in self.inputs if t.dtype == "float32" and t.rank]
        if not fits:
            return self.map_statement()
        tensor = self.c.choice(fits)
        stmt = _Stmt(list(INDEX_NAMES[:tensor.rank]), [])
        read = self.read(stmt, tensor, list(stmt.lhs))
        self.finish(self.new_name(), stmt, "=", f"{read} > {self.c.choice(('0.0', '0.5'))}",
                    "bool")

    def let_statement(self) -> None:
        c = self.c
        rank = c.integer(1, 2)
        stmt = _Stmt(list(INDEX_NAMES[:rank]), [])
        value = self.expression(stmt, 1)
        self.finish(self.new_name(), stmt, "=", f"v * v - {c.choice(('v', '0.5'))}",
                    extra_where=[f"v = {value}"])

    def program(self) -> TcCase:
        c = self.c
        self.signature()
        kinds = (self.map_statement, self.map_statement, self.reduce_statement,
                 self.reduce_statement, self.update_statement, self.guarded_statement,
                 self.mask_statement, self.let_statement, self.window_statement)
        for _ in range(c.integer(1, self.max_statements)):
            c.choice(kinds)()
        last = self.written[-1]
        if last.dtype == "bool":
            self.map_statement()
            last = self.written[-1]
        others = [t.name for t in self.written if t is not last and c.chance(25)]
        outputs = others + [last.name]
        params = ", ".join(_param(t) for t in self.inputs)
        body = "\n".join(f"    {line}" for line in self.lines)
        text = f"def g({params}) -> ({', '.join(outputs)}) {{\n{body}\n}}"
        used = sorted({s for t in self.inputs for s in t.symbols if isinstance(s, str)},
                      key=SYMBOLS.index)
        sizes = {s: c.choice((0, 1, 2, 3, 4, 5, 5, 6, 7, 7)) if c.chance(10)
                 else c.integer(2, 7) for s in used}
        return TcCase(text, tuple(self.specs), sizes)


def _param(tensor: _Tensor) -> str:
    dtype = "float" if tensor.dtype == "float32" else tensor.dtype
    if not tensor.rank:
        return f"{dtype} {tensor.name}"
    return f"{dtype}({', '.join(str(s) for s in tensor.symbols)}) {tensor.name}"


def generate(choices: Choices, max_statements: int = 6, max_rank: int = 4) -> TcCase:
    """One random TC def (not yet checked by the frontend) of 1 to
    ``max_statements`` statements over inputs of rank at most ``max_rank``,
    or, one time in ten, bare statements whose tensors may be named like
    their indices (:func:`bare_program`)."""
    if choices.chance(10):
        bare = bare_program(choices)
        if bare is not None:
            return bare
    return _Generator(choices, max_statements, max_rank).program()


#: bare statements over tensors ``X0, X1``: maps, reductions, a matmul,
#: transposes and a chain through an output
_BARE = ("O(i, j) = X0(i, j) {op} X1(i, j)",
         "O(i) +=! X0(i, k) * X1(k)",
         "O(i, j) +=! X0(i, k) * X1(k, j)",
         "O(i, j) = X0(j, i) {op} X1(i, j)",
         "O(i, j) = X0(i, j) * 2.0\nP(i) max=! O(i, j) {op} X1(i, j)")


def bare_program(c: Choices) -> TcCase | None:
    """Bare statements (no ``def``: the signature is inferred) whose input
    tensors are named like indices or not (``I``, ``J``, ``K``...): every
    dimension one plain index subscripts must get one size whatever the
    tensors are called.  The inputs' specifications come from the inferred
    signature; None if the frontend refuses the text."""
    import warnings

    from polytc.errors import PolytcError, PolytcWarning
    from polytc.frontend import to_program
    names = c.choice((("I", "J"), ("K", "I"), ("J", "K"), ("A", "B"), ("I", "X"), ("P", "Q")))
    if "P" in names:
        names = ("Q", "R")  # P is the chain's output
    text = c.choice(_BARE).format(op=c.choice(("+", "-", "*")))
    text = text.replace("X0", names[0]).replace("X1", names[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolytcWarning)
            program = to_program(text)
    except PolytcError:
        return None
    specs = tuple(InputSpec(t.name, t.dtype, t.dims) for t in program.inputs)
    return TcCase(text, specs, {p: c.integer(1, 6) for p in program.params})


def valid(case: TcCase, max_points: int = 40_000) -> TcCase | None:
    """``case`` if polytc's frontend accepts it, with sizes shrunk until no
    statement has more than ``max_points`` points; else None."""
    import warnings

    from polytc.errors import PolytcError, PolytcWarning
    from polytc.frontend import to_program
    from polytc.testing.interpreter import box_points
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolytcWarning)  # random programs earn them
            program = to_program(case.text)
    except PolytcError:
        return None
    sizes = dict(case.sizes)
    while True:
        biggest = max((box_points(s.domain, program, sizes)[1] for s in program.statements),
                      default=0)
        if biggest <= max_points or max(sizes.values(), default=0) <= 1:
            break
        sizes = {s: max(1, v - 1) for s, v in sizes.items()}
    if program.conditions and not _satisfies(program, sizes):
        return None  # its reads stay in bounds only for other sizes
    return TcCase(case.text, case.inputs, sizes)


def _satisfies(program: Any, sizes: dict[str, int]) -> bool:
    """Whether ``sizes`` meet the program's size conditions."""
    import islpy as isl
    point = program.precondition
    for position in range(point.dim(isl.dim_type.param)):
        name = str(point.get_dim_name(isl.dim_type.param, position))
        point = point.fix_val(isl.dim_type.param, position,
                              isl.Val.int_from_si(point.get_ctx(), sizes[name]))
    return not point.is_empty()


def random_case(seed: int, attempts: int = 20, max_statements: int = 6,
                max_rank: int = 4) -> tuple[TcCase | None, int]:
    """The first valid program from the seed's generator, and the number of
    generated programs the frontend rejected before it."""
    rng = random.Random(seed)
    for rejected in range(attempts):
        case = valid(generate(RandomChoices(rng), max_statements, max_rank))
        if case is not None:
            return case, rejected
    return None, attempts


#: the most points of a statement's box in a large case (the interpreter's
#: work and memory), and of a box it filters or runs point by point (a
#: triangle: one isl call per point; a statement that reads what it writes)
LARGE_BOX = 2_000_000
LARGE_SCATTERED = 40_000


def with_large_sizes(case: TcCase, seed: int, box: int = LARGE_BOX,
                     scattered: int = LARGE_SCATTERED) -> TcCase:
    """``case`` at sizes of 33-150, the largest lowered until every
    statement's box has at most ``box`` points (``scattered`` where the
    domain is not a whole box or the statement reads its own tensor): rows
    long enough for the default tiles, register blocks and packed tiles,
    whole and partial, which the generator's sizes of 2-7 never reach.
    ``case`` itself where its size conditions refuse the sizes found."""
    import warnings

    from polytc.errors import PolytcWarning
    from polytc.frontend import to_program
    from polytc.testing.interpreter import bounding_box
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolytcWarning)
        program = to_program(case.text)
    rng = random.Random(seed)
    sizes = {s: rng.randint(33, 150) for s in case.sizes}

    def too_big() -> bool:
        for statement in program.statements:
            bounds = bounding_box(statement.domain, program, sizes)
            one_by_one = any(read.tensor == statement.tensor for read in statement.reads)
            if bounds is not None and math.prod(
                    h - lo + 1 for lo, h in zip(bounds[0], bounds[1])) > \
                    (box if bounds[2] and not one_by_one else scattered):
                return True
        return False
    while too_big():
        largest = max(sizes, key=lambda s: (sizes[s], s))
        if sizes[largest] <= 2:
            return case
        sizes[largest] = max(2, sizes[largest] // 2 + rng.randint(-3, 3))
    if program.conditions and not _satisfies(program, sizes):
        return case
    return TcCase(case.text, case.inputs, sizes)


def tc_programs(max_statements: int = 6, max_rank: int = 4) -> Any:
    """Hypothesis strategy of valid :class:`TcCase` s."""
    from hypothesis import reject
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw: Callable[[Any], Any]) -> TcCase:
        case = valid(generate(DrawChoices(draw), max_statements, max_rank))
        if case is None:
            reject()
        assert case is not None
        return case
    return strategy()
