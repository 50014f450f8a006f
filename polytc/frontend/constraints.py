"""Domains beyond boxes: ``where`` ranges that depend on other indices
(``j in 0:i+1``, ``k in i:N``) and conditions (``j <= i``, ``i + j < N``).

Range inference (:mod:`polytc.frontend.ranges`) solves an interval for each
*free* index, TC's way.  An index whose range names other indices is not
free: its range is part of the domain.  Before the rounds, every in-bounds
constraint that mentions such an index ``j`` is required to hold for *all*
``j`` in its range (as TC does for ranges fixed by ``where``): the read
``A(j)`` with ``j in 2*i:2*i+3`` becomes a constraint on ``i`` alone, which
bounds ``i`` so that the whole window stays inside ``A``.  Indices are
eliminated innermost first (``k in j:i`` before ``j in 0:i``); ranges that
name each other are refused.

After the rounds the domain is the box of the free indices intersected with
every dependent range and condition; a dependent index's interval is the
hull of the domain along it (what the written tensor's extent needs).
"""
from __future__ import annotations

import islpy as isl

from polytc.errors import RangeInferenceError
from polytc.frontend.sema import CheckedStatement
from polytc.frontend.where import Constraint
from polytc.isl_util import extend, lift

Interval = tuple[isl.PwAff, isl.PwAff]  # [lo, hi) on the parameters


def elimination_order(stmt: CheckedStatement, source: str) -> tuple[Constraint, ...]:
    """The dependent ranges of ``stmt``, each before the ranges it names."""
    pending = {c.var: c for c in stmt.constraints if c.var is not None}
    order: list[Constraint] = []
    while pending:
        for var, constraint in pending.items():
            position = stmt.iterators.index(var)
            if not any(other.points.involves_dims(isl.dim_type.set, position, 1)
                       for name, other in pending.items() if name != var):
                order.append(constraint)
                del pending[var]
                break
        else:
            first = next(iter(pending.values()))
            raise RangeInferenceError(
                f"the ranges of {', '.join(repr(v) for v in pending)} depend on each other; "
                "give one of them bounds in sizes and constants", first.span, source)
    return tuple(order)


def for_all(constraints: list[isl.Set], order: tuple[Constraint, ...],
            iterators: tuple[str, ...]) -> list[isl.Set]:
    """Each constraint required for every value of the dependent indices in
    their ranges (the dependent indices no longer appear)."""
    for dependent in order:
        assert dependent.var is not None
        position = iterators.index(dependent.var)
        quantified = []
        for constraint in constraints:
            if constraint.involves_dims(isl.dim_type.set, position, 1):
                bad = (dependent.points & constraint.complement()).eliminate(
                    isl.dim_type.set, position, 1)
                constraint = bad.complement().coalesce()
            quantified.append(constraint)
        constraints = quantified
    return constraints


def restrict(box: isl.Set, stmt: CheckedStatement, context: isl.Set, source: str) -> isl.Set:
    """The box of the free indices cut by every dependent range and condition."""
    domain = box
    for constraint in stmt.constraints:
        domain = domain & constraint.points
    domain = domain.coalesce()
    if stmt.constraints and domain.intersect_params(context).is_empty():
        raise RangeInferenceError("the where clauses of this statement leave it no "
                                  "iteration for any size", stmt.constraints[0].span, source)
    return domain


def hulls(domain: isl.Set, stmt: CheckedStatement) -> dict[str, Interval]:
    """The interval ``[min, max + 1)`` of the domain along each dependent index."""
    intervals = {}
    for constraint in stmt.constraints:
        if constraint.var is None:
            continue
        position = stmt.iterators.index(constraint.var)
        intervals[constraint.var] = (extend(domain.dim_min(position).coalesce()),
                                     extend((domain.dim_max(position) + 1).coalesce()))
    return intervals


def lhs_domain(stmt: CheckedStatement, intervals: dict[str, Interval], names: dict,
               context: isl.Set) -> isl.Set:
    """The elements the statement's left-hand side ranges over: the box of its
    indices' intervals cut by the constraints that name only them (a ``!``
    reduction's identity goes there, even where the reduction is empty)."""
    space = names[0].get_domain_space()
    box = isl.Set.universe(space).intersect_params(context.align_params(space))
    for var in stmt.lhs:
        lo, hi = intervals[var]
        box = box & names[var].ge_set(lift(lo, space)) & names[var].lt_set(lift(hi, space))
    others = range(len(stmt.lhs), len(stmt.iterators))
    for constraint in stmt.constraints:
        if not any(constraint.points.involves_dims(isl.dim_type.set, p, 1) for p in others):
            box = box & constraint.points
    return box.project_out(isl.dim_type.set, len(stmt.lhs),
                           len(stmt.iterators) - len(stmt.lhs)).coalesce()
