"""Dependence distance and direction vectors.

Input: :class:`~polytc.poly.dependences.Dependences` ``δ`` (source instance
→ target instance), optionally a schedule ``θ`` (a tree or a union map) and
the :class:`~polytc.program.Program` (to name each dependence's tensor).

Output: a :class:`Distances` table, one :class:`Distance` per dependence
map ``δ_{S→T}`` of each kind.

* In the iteration space (no schedule): the distances are
  ``{ t' - s' : (s → t) ∈ δ_{S→T} }`` where ``s'`` and ``t'`` keep the first
  ``n = min(dim S, dim T)`` coordinates (the loops the two statements would
  share in a common nest; a statement's own dependences compare all of them).
* In schedule space (``schedule=θ``): ``{ θ_T(t) - θ_S(s) }``, every time
  vector padded with zeros to one length: the distances a tiling or
  parallelisation of the scheduled loops must respect.

Per dimension ``k`` the *direction* is the sign pattern of ``d_k`` over the
set: ``<`` (always positive: the source runs first along it), ``=`` (always
0), ``>`` (always negative), ``<=``, ``>=``, or ``*`` (any sign).  A
dimension whose distance is one constant is *uniform*; ``Distance.vector``
is the constant vector when every dimension is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Union

import islpy as isl

from polytc.poly.dependences import _maps

if TYPE_CHECKING:
    from polytc.poly.dependences import Dependences
    from polytc.program import Program

KINDS = ("flow", "anti", "output")
ScheduleArg = Union[isl.Schedule, isl.UnionMap, None]


@dataclass(frozen=True, slots=True)
class Distance:
    """The distance and direction vectors of one dependence ``source → target``.

    :ivar kind: ``flow``, ``anti`` or ``output``.
    :ivar tensor: the tensor (empty when the program was not given).
    :ivar dims: what each coordinate is: iterator names (``i`` or ``i/i2``
        when source and target name it differently), or ``c0, c1, …`` for
        schedule dimensions.
    :ivar vectors: the exact set of distance vectors (parametric in the sizes).
    :ivar ranges: per dimension its readable range: ``1``, ``0..3``, ``1..``.
    :ivar direction: per dimension ``<``, ``=``, ``>``, ``<=``, ``>=`` or ``*``.
    :ivar vector: the constant distance vector, or ``None`` when not uniform.
    """

    kind: str
    source: str
    target: str
    tensor: str
    dims: tuple[str, ...]
    vectors: isl.Set = field(compare=False)
    ranges: tuple[str, ...]
    direction: tuple[str, ...]
    vector: tuple[int, ...] | None

    @property
    def loop_carried(self) -> int | None:
        """The first dimension with a non-zero distance for some pair (the
        loop that carries the dependence), ``None`` when all are ``=``."""
        for k, sign in enumerate(self.direction):
            if sign != "=":
                return k
        return None

    def __str__(self) -> str:
        on = f" on {self.tensor}" if self.tensor else ""
        return (f"{self.kind} {self.source} -> {self.target}{on} ({', '.join(self.dims)}): "
                f"distance ({', '.join(self.ranges)}), direction ({', '.join(self.direction)})")


@dataclass(frozen=True, slots=True)
class Distances:
    """Every dependence's :class:`Distance`, flow first, then anti, then output."""

    entries: tuple[Distance, ...]
    space: str  # "iteration" or "schedule"

    def __iter__(self) -> Iterator[Distance]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def of(self, kind: str, source: str, target: str) -> Distance:
        """The entry of one dependence (``KeyError`` when there is none)."""
        for entry in self.entries:
            if (entry.kind, entry.source, entry.target) == (kind, source, target):
                return entry
        raise KeyError((kind, source, target))

    def __str__(self) -> str:
        head = f"dependence distances ({self.space} space; direction < = source first)"
        if not self.entries:
            return head + "\n  (no dependences)"
        return "\n".join([head] + [f"  {entry}" for entry in self.entries])


def distances(deps: Dependences, schedule: ScheduleArg = None,
              program: Program | None = None) -> Distances:
    """The distance and direction vectors of ``deps`` (see the module docstring)."""
    times = _times(schedule) if schedule is not None else None
    entries = []
    for kind in KINDS:
        for dep in _maps(getattr(deps, kind)):
            if dep.is_empty():
                continue
            entries.append(_entry(kind, dep, times, program))
    return Distances(tuple(entries), "schedule" if times is not None else "iteration")


def tensor_of(program: Program, kind: str, source: str, target: str) -> str:
    """The tensor a dependence is on: the one its writer writes (the target
    of an anti dependence, else the source)."""
    return program.statement(target if kind == "anti" else source).tensor


def _entry(kind: str, dep: isl.Map, times: dict[str, isl.Map] | None,
           program: Program | None) -> Distance:
    source = str(dep.get_tuple_name(isl.dim_type.in_))
    target = str(dep.get_tuple_name(isl.dim_type.out))
    if times is None:
        pairs, dims = _common(dep)
    else:
        pairs = times[source].reverse().apply_range(dep).apply_range(times[target])
        dims = tuple(f"c{k}" for k in range(pairs.dim(isl.dim_type.out)))
    vectors = pairs.deltas().coalesce()
    ranges = tuple(_range(vectors, k) for k in range(len(dims)))
    direction = tuple(_direction(vectors, k) for k in range(len(dims)))
    vector = tuple(int(r) for r in ranges) if all(_is_int(r) for r in ranges) else None
    tensor = tensor_of(program, kind, source, target) if program is not None else ""
    return Distance(kind, source, target, tensor, dims, vectors, ranges, direction, vector)


def _common(dep: isl.Map) -> tuple[isl.Map, tuple[str, ...]]:
    """``dep`` on the first ``min(dim S, dim T)`` coordinates of each side."""
    n_in, n_out = dep.dim(isl.dim_type.in_), dep.dim(isl.dim_type.out)
    n = min(n_in, n_out)
    names = []
    for k in range(n):
        a = dep.get_dim_name(isl.dim_type.in_, k) or f"d{k}"
        b = dep.get_dim_name(isl.dim_type.out, k) or a
        b = b.rstrip("'")  # isl primes the target's names when they clash
        names.append(a if a == b else f"{a}/{b}")
    common = dep.project_out(isl.dim_type.in_, n, n_in - n)
    common = common.project_out(isl.dim_type.out, n, n_out - n)
    common = common.reset_tuple_id(isl.dim_type.in_).reset_tuple_id(isl.dim_type.out)
    return common, tuple(names)


def _times(schedule: isl.Schedule | isl.UnionMap) -> dict[str, isl.Map]:
    from polytc.poly.user_schedule import padded
    union = schedule.get_map() if isinstance(schedule, isl.Schedule) else schedule
    return {str(m.get_tuple_name(isl.dim_type.in_)): m for m in _maps(padded(union))}


def _range(vectors: isl.Set, k: int) -> str:
    low = _constant(vectors, k, minimum=True)
    high = _constant(vectors, k, minimum=False)
    if low is not None and low == high:
        return str(low)
    if low is None and high is None:
        return "*"
    return f"{'' if low is None else low}..{'' if high is None else high}"


def _constant(vectors: isl.Set, k: int, minimum: bool) -> int | None:
    """The smallest (largest) value of coordinate ``k`` when it is one
    constant for all parameter values, else ``None``."""
    try:
        bound = (vectors.dim_min(k) if minimum else vectors.dim_max(k)).coalesce()
    except isl.Error:
        return None
    pieces: list[isl.Aff] = []
    bound.foreach_piece(lambda _domain, aff: pieces.append(aff))
    values = {aff.get_constant_val().to_python() for aff in pieces if aff.is_cst()}
    if len(pieces) != 1 or len(values) != 1:
        return None
    value = values.pop()
    return int(value) if float(value).is_integer() else None


def _direction(vectors: isl.Set, k: int) -> str:
    ctx, coordinate = vectors.get_ctx(), isl.dim_type.set
    signs = (not vectors.lower_bound_val(coordinate, k, isl.Val.int_from_si(ctx, 1)).is_empty(),
             not vectors.fix_val(coordinate, k, isl.Val.zero(ctx)).is_empty(),
             not vectors.upper_bound_val(coordinate, k, isl.Val.int_from_si(ctx, -1)).is_empty())
    return {(True, False, False): "<", (False, True, False): "=", (False, False, True): ">",
            (True, True, False): "<=", (False, True, True): ">="}.get(signs, "*")


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
