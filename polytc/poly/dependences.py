"""Dependences of a program under its original (textual) order.

Flow (read-after-write) dependences are exact dataflow: each read instance
is mapped to the last write that produced its value (isl's
``UnionAccessInfo.compute_flow`` with the writes as must-sources).  Anti
(write-after-read) and output (write-after-write) dependences relate every
earlier access to a later write of the same element (may-sources: no
killing), so they over-approximate memory reuse conservatively.  Reads
through gathered dimensions are may-reads of the whole dimension.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import islpy as isl

from polytc.isl_util import coalesced, map_list, within_budget
from polytc.program import Program, Statement

if TYPE_CHECKING:
    from polytc.poly.distances import Distances


@dataclass(frozen=True, slots=True)
class Dependences:
    """``flow``, ``anti`` and ``output`` dependences as isl union maps from
    source statement instances to target statement instances.  ``exact`` is
    False when some kind is an over-approximation (:func:`dependences`):
    still safe for legality, not for contracting temporaries."""

    flow: isl.UnionMap = field(compare=False)
    anti: isl.UnionMap = field(compare=False)
    output: isl.UnionMap = field(compare=False)
    exact: bool = True
    #: the same pairs as :attr:`all` before coalescing, in the small convex
    #: pieces isl's dataflow found (one per pair of accesses, say); their
    #: Farkas cones are quick where the coalesced piece's is not (None:
    #: not known)
    pieces: isl.UnionMap | None = field(default=None, compare=False)
    _all: isl.UnionMap | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def all(self) -> isl.UnionMap:
        """Every dependence, coalesced once (a large map is coalesced in a
        child process: :func:`polytc.isl_util.coalesced`) and kept."""
        if self._all is None:
            object.__setattr__(self, "_all",
                               coalesced(self.flow.union(self.anti).union(self.output)))
        assert self._all is not None
        return self._all

    def between(self, source: str, target: str) -> isl.UnionMap:
        """All dependences from statement ``source`` to statement ``target``."""
        result = isl.UnionMap.empty(self.flow.get_space())
        for kind in (self.flow, self.anti, self.output):
            for m in map_list(kind):
                if m.get_tuple_name(isl.dim_type.in_) == source and \
                        m.get_tuple_name(isl.dim_type.out) == target:
                    result = result.union(isl.UnionMap.from_map(m))
        return result

    def distances(self, schedule: isl.Schedule | isl.UnionMap | None = None,
                  program: Program | None = None) -> "Distances":
        """Distance and direction vectors of every dependence, in iteration
        space or, given ``schedule``, in its time space (with ``program``,
        each names its tensor); see :mod:`polytc.poly.distances`."""
        from polytc.poly.distances import distances
        return distances(self, schedule, program)

    def __str__(self) -> str:
        lines = []
        for label, kind in (("flow (RAW)", self.flow), ("anti (WAR)", self.anti),
                            ("output (WAW)", self.output)):
            lines.append(f"{label}:")
            maps = map_list(kind)
            if not maps:
                lines.append("  (none)")
            lines.extend(f"  {m}" for m in maps)
        return "\n".join(lines)


def original_order(program: Program) -> isl.UnionMap:
    """The original execution order as a schedule map.  A program with an
    ``order`` tree (C input) runs as that tree says: its map, sequence
    positions as constant dimensions and a downward loop as ``-i``
    (``S1[i, j] -> [1, i, 1, -j]``).  Otherwise the order is textual:
    statement ``k`` with iterators ``(i, j, ...)`` runs at
    ``[k, i, j, ..., 0, ...]``."""
    if program.order is not None:
        return program.order.get_map().intersect_domain(program.domain())
    depth = max((len(s.iterators) for s in program.statements), default=0)
    result = isl.UnionMap.empty(program.context.get_space())
    for position, statement in enumerate(program.statements):
        n = len(statement.iterators)
        its = [f"x{k}" for k in range(n)]  # not the user's names: isl reads 'and', 'mod'...
        terms = [str(position)] + its + ["0"] * (depth - n)
        text = f"{{ {statement.name}[{', '.join(its)}] -> [{', '.join(terms)}] }}"
        result = result.union(isl.UnionMap.from_map(_named(isl.Map(text), statement)))
    return result


def _named(relation: isl.Map, statement: Statement) -> isl.Map:
    """``relation`` with the statement's iterator names on its input (set
    through the API: isl's parser would read names like ``and``)."""
    for position, name in enumerate(statement.iterators):
        relation = relation.set_dim_name(isl.dim_type.in_, position, name)
    return relation


#: isl operations allowed for each kind of dependence (about 1.5 s; the
#: kernel corpus needs under 300,000 for its exact dataflow, fuzz seed
#: 777002415 needed 74 s)
OPERATIONS = 2_000_000


def dependences(program: Program) -> Dependences:
    """Flow, anti and output dependences of ``program`` in textual order.

    Each is computed within :data:`OPERATIONS` isl operations; past that,
    an over-approximation is used instead (flow: every earlier write of the
    element, not only the last one; anti/output: the accesses without their
    local variables) and ``exact`` is False."""
    order = original_order(program)
    reads, writes = program.reads(), program.writes()
    ctx = program.context.get_ctx()
    flow = within_budget(ctx, OPERATIONS,
                         lambda: _compute(reads, writes, None, order).get_may_dependence())
    exact = flow is not None
    if flow is None:
        flow = _approximate(reads, writes, order, ctx)
    kinds = [flow]
    for sink, source in ((writes, reads), (writes, writes)):
        found = within_budget(ctx, OPERATIONS, lambda: _compute(
            sink, None, source, order).get_may_dependence())
        if found is None:
            exact = False
            found = _approximate(sink, source, order, ctx)
        kinds.append(found)
    pieces = kinds[0].union(kinds[1]).union(kinds[2])
    flow, anti, output = (coalesced(kind) for kind in kinds)
    return Dependences(flow, anti, output, exact, pieces)


def _approximate(sink: isl.UnionMap, source: isl.UnionMap, order: isl.UnionMap,
                 ctx: isl.Context) -> isl.UnionMap:
    """Every pair (source access, later sink access) of one element, the
    accesses over-approximated without their local variables when even
    that exceeds the budget."""
    def pairs(sink: isl.UnionMap, source: isl.UnionMap) -> isl.UnionMap:
        same = source.apply_range(sink.reverse())
        return same.intersect(order.lex_lt_union_map(order))
    found = within_budget(ctx, OPERATIONS, lambda: pairs(sink, source))
    if found is None:
        found = pairs(_without_locals(sink), _without_locals(source))
    return found


def _without_locals(union: isl.UnionMap) -> isl.UnionMap:
    result = isl.UnionMap.empty(union.get_space())
    for piece in map_list(union):
        result = result.union(isl.UnionMap.from_map(coalesced(piece.remove_divs())))
    return result


def _compute(sink: isl.UnionMap, must: isl.UnionMap | None, may: isl.UnionMap | None,
             order: isl.UnionMap) -> isl.UnionFlow:
    info = isl.UnionAccessInfo.from_sink(sink)
    if must is not None:
        info = info.set_must_source(must)
    if may is not None:
        info = info.set_may_source(may)
    return info.set_schedule_map(order).compute_flow()
