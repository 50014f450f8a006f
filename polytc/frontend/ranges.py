"""Range inference: the iteration domain of one statement, TC's way.

Input: a :class:`~polytc.frontend.sema.CheckedStatement`, the extents of the
tensors it reads (``isl.PwAff`` on the size parameters) and the parameter
context.  Output: a box-shaped ``isl.Set`` named after the statement.

TC's rounds (tc2halide's forward bounds inference): ``where i in lo:hi`` fixes
``i``.  Every affine subscript ``s`` of a read of ``T`` along dimension ``d``
gives the constraint ``0 <= s < extent(T, d)``.  Each round, for every
unresolved index ``v``, the constraints whose only unresolved index is ``v``
are required to hold for *all* values of the resolved indices in their ranges,
and ``v`` gets the largest interval that satisfies them all (their
intersection).  Rounds repeat until nothing changes.

Unlike TC, polytc then proves that every executed read stays inside its
tensor on the whole domain (under the read's ternary guard), and refuses the
program with a witness when it cannot: TC only warned ("unchecked
precondition") and read out of bounds at run time.
"""
from __future__ import annotations

import warnings
from typing import Callable

import islpy as isl

from polytc.errors import (NarrowedRangeWarning, OutOfBoundsError, RangeInferenceError, Span,
                           UnboundIndexError, caret_excerpt, line_and_column)
from polytc.frontend.sema import Access, CheckedStatement
from polytc.isl_util import extend, extent_text, lift, lift_set, param_names, simplify

Interval = tuple[isl.PwAff, isl.PwAff]  # [lo, hi) on the parameters


def infer_domain(stmt: CheckedStatement, params: tuple[str, ...],
                 extents: dict[str, tuple[isl.PwAff, ...]], context: isl.Set,
                 source: str) -> tuple[isl.Set, dict[str, Interval]]:
    """The statement's iteration domain and the interval of each index."""
    names = isl.make_zero_and_vars(list(stmt.iterators), list(params))
    space = names[0].get_domain_space()
    lifted_context = lift_set(context, space)
    constraints = _in_bounds_constraints(stmt.accesses, extents, names)
    intervals: dict[str, Interval] = {v: (lo, hi) for v, (lo, hi, _) in stmt.ranges.items()}
    progress = True
    while progress:
        progress = False
        for position, var in enumerate(stmt.iterators):
            if var in intervals:
                continue
            mine = [c for c in constraints if _unresolved_involved(c, stmt.iterators,
                                                                   intervals) == {var}]
            if not mine:
                continue
            interval = _solve(var, position, mine, stmt.iterators, intervals, names,
                              lifted_context)
            if interval is not None:
                intervals[var] = interval
                progress = True
    _warn_narrowed(stmt, intervals, extents, names, context, source)
    for var in stmt.iterators:
        if var not in intervals:
            reduction = var not in stmt.lhs
            message = (f"reduction index '{var}' is unconstrained" if reduction else
                       f"could not infer the range of index '{var}'")
            raise UnboundIndexError(message + "; no read bounds it on its own. Use a where "
                                    f"clause: 'where {var} in 0:N'", stmt.spans.get(
                                        var, stmt.source.span), source)
    box = isl.Set.universe(space) & lifted_context
    for var in stmt.iterators:
        lo, hi = intervals[var]
        points = names[var].ge_set(lift(lo, space)) & names[var].lt_set(lift(hi, space))
        if (points & lifted_context).is_empty():
            span = stmt.ranges[var][2] if var in stmt.ranges else stmt.spans.get(var,
                                                                                 stmt.source.span)
            raise RangeInferenceError(f"inferred an empty range for index '{var}': "
                                      f"[{lo}, {hi})", span, source)
        box = box & points
    _check_reads(stmt, box, extents, names, source)
    _check_writes(stmt, box, names, source)
    return box.set_tuple_name(stmt.name), intervals


def _warn_narrowed(stmt: CheckedStatement, intervals: dict[str, Interval],
                   extents: dict[str, tuple[isl.PwAff, ...]], names: dict,
                   context: isl.Set, source: str) -> None:
    """Warn (:class:`NarrowedRangeWarning`) where a reduction index without a
    ``where`` range got fewer values than a tensor dimension it indexes
    directly: TC's rules allow it, but in a padded convolution whose guarded
    input read narrows ``kh`` to the centre tap, nobody means it.  (A
    narrowed output index shows in the output's shape: ``O(i) = A(i) +
    A(i + 1)`` is a stencil with one element less, not a silent change.)
    One warning per statement, naming every such index."""
    space = names[0].get_domain_space()
    lifted = lift_set(context, space)

    def text(pa: isl.PwAff) -> str:
        return extent_text(simplify(pa, context))
    what: dict[str, str] = {}  # index -> why it is narrow
    widen: dict[str, str] = {}  # index -> the where clause's range
    spans: list[Span] = []
    for access in stmt.accesses:
        for dim, sub in enumerate(access.subscripts):
            var = next((v for v in stmt.iterators if v not in stmt.ranges and v in intervals
                        and v not in stmt.lhs and sub is not None and sub.is_equal(names[v])),
                       None)
            if var is None or var in what or not access.executed:
                continue
            lo, hi = intervals[var]
            extent = extents[access.tensor][dim]
            v = names[var]  # an element of the dimension the index never takes:
            unused = (v.ge_set(names[0]) & v.lt_set(lift(extent, space)) & lifted) - \
                (v.ge_set(lift(lo, space)) & v.lt_set(lift(hi, space)))
            if not unused.is_empty():
                what[var] = (f"'{var}' the range {text(lo)}:{text(hi)}, but it indexes "
                             f"dimension {dim} of '{access.tensor}' (extent {text(extent)}) "
                             "directly")
                widen[var] = f"{var} in 0:{text(extent)}"
                spans.append(access.span)
    if not what:
        return
    first = min(spans, key=lambda span: span.start)
    line, column = line_and_column(source, first.start)
    warnings.warn(NarrowedRangeWarning(
        f"[{NarrowedRangeWarning.id}] line {line}, column {column}: range inference gives "
        f"{'; and '.join(what.values())}, so part of it is never used; write "
        f"'where {', '.join(widen.values())}' to run over all of it (silence this with "
        "warnings.filterwarnings('ignore', category=polytc.errors.NarrowedRangeWarning))"
        f"\n{caret_excerpt(source, first)}"), stacklevel=2)


def _in_bounds_constraints(accesses: tuple[Access, ...],
                           extents: dict[str, tuple[isl.PwAff, ...]],
                           names: dict) -> list[isl.Set]:
    space = names[0].get_domain_space()
    constraints = []
    for access in accesses:
        for dim, sub in enumerate(access.subscripts):
            if sub is None:
                continue
            extent = lift(extents[access.tensor][dim], space)
            constraints.append(sub.ge_set(names[0]) & sub.lt_set(extent))
    return constraints


def _unresolved_involved(constraint: isl.Set, iterators: tuple[str, ...],
                         intervals: dict[str, Interval]) -> set[str]:
    return {v for position, v in enumerate(iterators)
            if v not in intervals and constraint.involves_dims(isl.dim_type.set, position, 1)}


def _solve(var: str, position: int, constraints: list[isl.Set], iterators: tuple[str, ...],
           intervals: dict[str, Interval], names: dict,
           context: isl.Set) -> Interval | None:
    """The largest interval of ``var`` satisfying ``constraints`` for all
    values of the resolved indices; ``None`` if it is unbounded."""
    space = names[0].get_domain_space()
    resolved_box = isl.Set.universe(space) & context
    for other_position, other in enumerate(iterators):
        if other in intervals and any(c.involves_dims(isl.dim_type.set, other_position, 1)
                                      for c in constraints):
            lo, hi = intervals[other]
            v = names[other]
            resolved_box = resolved_box & v.ge_set(lift(lo, space)) & v.lt_set(lift(hi, space))
    # each constraint's own interval, then their intersection as max/min of
    # the bounds: intersecting the sets first grows exponentially with the
    # number of distinct sizes (a read of 6 tensors took 3 s, 7 minutes)
    lows: list[isl.PwAff] = []
    highs: list[isl.PwAff] = []
    for constraint in constraints:
        resolved = [p for p, other in enumerate(iterators) if other in intervals
                    and constraint.involves_dims(isl.dim_type.set, p, 1)]
        if resolved:  # for all values of the resolved indices
            bad = resolved_box & constraint.complement()
            for other_position in resolved:
                bad = bad.eliminate(isl.dim_type.set, other_position, 1)
            allowed = resolved_box & bad.complement()
        else:
            allowed = resolved_box & constraint
        allowed = allowed.coalesce()
        for bounds, bound in ((lows, allowed.dim_min), (highs, allowed.dim_max)):
            value = _bounded(bound, position)  # a side a constraint leaves open: skipped
            if value is not None:
                bounds.append(extend(value))  # total where one expression is the bound
    if not lows or not highs:
        return None
    low, high = lows[0], highs[0]
    for other_low in lows[1:]:
        low = low.max(other_low)
    for other_high in highs[1:]:
        high = high.min(other_high)
    return extend(low.coalesce()), extend((high + 1).coalesce())


def _bounded(bound: Callable[[int], isl.PwAff], position: int) -> isl.PwAff | None:
    try:
        value = bound(position)
    except isl.Error:
        return None
    return None if value.involves_nan() else value


def _witness(bad: isl.Set, iterators: tuple[str, ...], params: list[str]) -> str:
    point = bad.sample_point()
    values = [f"{p}={point.get_coordinate_val(isl.dim_type.param, i).to_python()}"
              for i, p in enumerate(params)]
    values += [f"{v}={point.get_coordinate_val(isl.dim_type.set, i).to_python()}"
               for i, v in enumerate(iterators)]
    return ", ".join(values)


def _check_reads(stmt: CheckedStatement, box: isl.Set,
                 extents: dict[str, tuple[isl.PwAff, ...]], names: dict,
                 source: str) -> None:
    """Refuse a read that can leave its tensor somewhere it executes."""
    space = names[0].get_domain_space()
    params = param_names(space)
    for access in stmt.accesses:
        if not access.executed:
            continue
        where = box if access.guard is None else box & access.guard
        for dim, sub in enumerate(access.subscripts):
            if sub is None:
                continue
            extent = lift(extents[access.tensor][dim], space)
            bad = where & (sub.lt_set(names[0]) | sub.ge_set(extent))
            if not bad.is_empty():
                raise OutOfBoundsError(
                    f"this read of '{access.tensor}' can fall outside the tensor: its "
                    f"subscript {dim} leaves [0, {extents[access.tensor][dim]}) for example at "
                    f"{_witness(bad, stmt.iterators, params)}; restrict the indices with a "
                    "where clause or guard the read with a ternary", access.span, source)


def _check_writes(stmt: CheckedStatement, box: isl.Set, names: dict,
                  source: str) -> None:
    for var in stmt.lhs:
        bad = box & names[var].lt_set(names[0])
        if not bad.is_empty():
            span: Span = stmt.spans.get(var, stmt.source.span)
            raise RangeInferenceError(
                f"index '{var}' of the written tensor '{stmt.tensor}' can be negative; a "
                f"write needs indices >= 0 (use 'where {var} in 0:...')", span, source)
