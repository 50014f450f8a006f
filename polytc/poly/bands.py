"""What a schedule tree's bands carry, judged from the dependences.

Input: a band node ``B`` of a schedule tree and the dependences ``δ``.  The
*pending* dependences of ``B`` are those between instances below ``B`` that
no outer loop separates (equal prefix schedule).  Along a member ``m`` with
partial schedule ``θ_m``, a pending pair ``s -> t`` has distance
``θ_m(t) - θ_m(s)``.

* ``B`` is **permutable** iff every pending pair has distance ``>= 0`` along
  every member (any order of the members, and any tiling, is then legal).
* Member ``m`` is **coincident** (loop-level: what ``omp parallel for``
  needs) iff every pending pair equal along the members before ``m`` has
  distance 0 along ``m``; it is *parallel at its band* when every pending
  pair has distance 0 along it, whatever the other members do (it stays
  parallel under any permutation or tiling of the band).

:func:`flag_violations` checks the ``permutable`` and ``coincident`` flags a
tree claims (a user's schedule: the tiler trusts ``permutable``, the
summary shows ``coincident``) and :func:`with_true_coincidence` sets every
member's flag to the truth, so the summary, the tiler and the C agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import islpy as isl


def pending_dependences(node: isl.ScheduleNode, deps: isl.UnionMap) -> isl.UnionMap:
    """The dependences between instances below ``node`` that no outer loop
    separates (equal prefix schedule)."""
    domain = node.get_domain()
    pending = deps.intersect_domain(domain).intersect_range(domain)
    prefix = node.get_prefix_schedule_union_map()
    return pending.intersect(prefix.apply_range(prefix.reverse()))


def same(member: isl.UnionMap) -> isl.UnionMap:
    """Instance pairs with equal values of ``member``."""
    return member.apply_range(member.reverse())


def members(node: isl.ScheduleNode) -> list[isl.UnionMap]:
    """The band's members as union maps (instance -> value)."""
    partial = node.band_get_partial_schedule()
    return [isl.UnionMap.from_union_pw_aff(partial.get_at(m))
            for m in range(node.band_n_member())]


def parallel_at_band(node: isl.ScheduleNode, deps: isl.UnionMap) -> list[bool]:
    """Per member: True when no pending dependence has a non-zero distance along it."""
    pending = pending_dependences(node, deps)
    return [pending.is_subset(same(member)) for member in members(node)]


def loop_coincidence(node: isl.ScheduleNode, deps: isl.UnionMap) -> list[bool]:
    """Per member, loop-level parallelism: no dependence between instances
    with equal outer loops (earlier members included) and different values of
    this member: what ``omp parallel for`` and ``omp simd`` need."""
    pending = pending_dependences(node, deps)
    flags = []
    for member in members(node):
        equal = same(member)
        flags.append(pending.is_subset(equal))
        pending = pending.intersect(equal)
    return flags


@dataclass(frozen=True, slots=True)
class FlagViolation:
    """A band flag the dependences contradict.

    :ivar path: the band's position in the tree (child indices from the root).
    :ivar member: the member whose claim is false.
    :ivar claim: ``permutable`` or ``coincident``.
    :ivar pairs: the pending instance pairs that contradict it (a union map).
    :ivar values: the member's schedule (instance -> value).
    """

    path: tuple[int, ...]
    member: int
    claim: str
    pairs: isl.UnionMap = field(compare=False)
    values: isl.UnionMap = field(compare=False)


def flag_violations(schedule: isl.Schedule, deps: isl.UnionMap) -> list[FlagViolation]:
    """Every false ``permutable`` (per member) and ``coincident`` claim of the
    tree's bands, outermost first."""
    found = []
    for path, node in _bands(schedule.get_root(), ()):
        pending = pending_dependences(node, deps)
        parts = members(node)
        if node.band_get_permutable() and len(parts) > 1:
            for m, member in enumerate(parts):
                backward = pending.intersect(member.lex_gt_union_map(member))
                if not backward.is_empty():
                    found.append(FlagViolation(path, m, "permutable", backward, member))
        equal_before = pending
        for m, member in enumerate(parts):
            equal = same(member)
            if node.band_member_get_coincident(m):
                carried = equal_before.subtract(equal)
                if not carried.is_empty():
                    found.append(FlagViolation(path, m, "coincident", carried, member))
            equal_before = equal_before.intersect(equal)
    return found


def with_true_coincidence(schedule: isl.Schedule, deps: isl.UnionMap) -> isl.Schedule:
    """``schedule`` with every band member's coincident flag set to whether
    it carries no dependence (loop level)."""
    def visit(node: isl.ScheduleNode) -> isl.ScheduleNode:
        if node.get_type() == isl.schedule_node_type.band:
            for m, flag in enumerate(loop_coincidence(node, deps)):
                node = node.band_member_set_coincident(m, int(flag))
        for position in range(node.n_children()):
            node = visit(node.child(position)).parent()
        return node
    return visit(schedule.get_root()).get_schedule()


def _bands(node: isl.ScheduleNode,
           path: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], isl.ScheduleNode]]:
    if node.get_type() == isl.schedule_node_type.band:
        yield path, node
    for position in range(node.n_children()):
        yield from _bands(node.child(position), path + (position,))


__all__ = ["pending_dependences", "same", "members", "parallel_at_band", "loop_coincidence",
           "FlagViolation", "flag_violations", "with_true_coincidence"]
