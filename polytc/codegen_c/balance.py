"""Whether static blocks of a parallel loop's iterations would give threads uneven work.

``schedule(static)`` hands each thread one contiguous block of iterations.
Over a triangular loop (syrk's ``j <= i``, the tiles of a symmetric or
triangular matrix) the last block holds most of the work: two threads ran
syrk, syr2k, symm and trmm only 1.3-1.5x faster than one.  Such loops are
given ``schedule(dynamic, 1)``.  So are loops of few iterations (at most
:data:`COARSE_TRIPS` at the sizes below): static blocks of gemm's 11 row
tiles give one thread 6 full tiles and the other 5 with the partial one;
handed out one at a time, the partial tile goes to the busier thread and a
thread slowed by the machine takes fewer (PolyBench at LARGE, 2 threads:
2mm 1.14x, 3mm and gemm 1.09x, symm 1.05x faster than static blocks).
Loops of many iterations of even work keep ``static``, which keeps each
thread on the same data from one parallel loop to the next.

The test is a measurement on the polyhedra, with the sizes fixed to large
values: the statement instances of a few iterations of the loop (the last
one, often a partial tile, left out), each statement's instances counted
by the box around them.
"""
from __future__ import annotations

import islpy as isl

LARGE_SIZE = 1000   # every size at least this when the sizes are not fixed
SAMPLES = 6         # iterations of the loop whose work is compared
UNEVEN_RATIO = 1.25  # most over least work of the sampled iterations
COARSE_TRIPS = 24   # a loop of at most this many iterations is split dynamically
MIN_FORKED_WORK = 1 << 15  # statement instances a parallel region inside a loop should run


def uneven_blocks(node: isl.ScheduleNode, member: int, context: isl.Set | None) -> bool:
    """Whether static blocks of the iterations of band ``node``'s member
    ``member``, an outermost loop, would give threads noticeably different
    work: the iterations' work differs, or they are few."""
    if node.get_schedule_depth() + member:
        return False  # inside a loop, each thread keeps its block of data
    sizes = _fixed_sizes(node.get_domain().params() if context is None else context)
    if sizes is None:
        return False
    member_schedule = isl.UnionMap.from_union_pw_aff(
        node.band_get_partial_schedule().get_at(member))
    loop = _loop(member_schedule, node.get_domain(), sizes)
    if loop is None:
        return False
    instances, line = loop
    trips = _trips(line)
    if trips is None:
        return False
    if trips <= COARSE_TRIPS:  # atax's 1024-column tiles: one at n = 1000, three at 2100
        return True
    picked = _sampled_values(line)
    if picked is None:
        return False
    work = [_work(instances, line, value) for value in picked]
    known = [w for w in work if w is not None]
    if len(known) < len(work):
        return False
    return max(known) > UNEVEN_RATIO * max(min(known), 1)


def little_work_per_iteration(node: isl.ScheduleNode, context: isl.Set | None) -> bool:
    """Whether the band at ``node``, inside exactly one loop, runs fewer than
    MIN_FORKED_WORK statement instances in every sampled iteration of that
    loop (at the sizes of :func:`_fixed_sizes`): then a parallel region per
    iteration costs about what its work does (matrix-vector sweeps fused by
    blocks of 8 rows: a fork per block of 2 x 8 rows ran them 1.2x slower
    on two threads than on one).  False where it cannot tell."""
    prefix = node.get_prefix_schedule_union_map()
    if node.get_schedule_depth() != 1 or prefix.is_empty():
        return False
    params = node.get_domain().params() if context is None else context
    for least in (LARGE_SIZE, LARGE_SIZE + 7):  # + 7: a remainder block runs at that size
        sizes = _fixed_sizes(params, least)
        if sizes is None:
            return False
        loop = _loop(prefix, node.get_domain(), sizes)
        if loop is not None:
            break
    else:
        return False
    instances, line = loop
    trips = _trips(line)
    picked = _sampled_values(line) if trips is None or trips > 2 else \
        sorted({int(line.dim_min_val(0).to_python()), int(line.dim_max_val(0).to_python())})
    if picked is None:  # (one or two iterations: a remainder block's, both counted)
        return False
    work = [_work(instances, line, value) for value in picked]
    return all(w is not None and w < MIN_FORKED_WORK for w in work)


def _loop(schedule: isl.UnionMap, domain: isl.UnionSet,
          sizes: isl.Set) -> tuple[isl.UnionMap, isl.Set] | None:
    """The instances of ``domain`` at ``sizes``, mapped to the values of the
    one loop ``schedule`` gives them, and those values; None where they do
    form one non-empty set."""
    instances = schedule.intersect_domain(domain).intersect_params(sizes)
    lines = instances.range().get_set_list()
    return (instances, lines.get_at(0)) if lines.n_set() == 1 else None


def _fixed_sizes(context: isl.Set, at_least: int = LARGE_SIZE) -> isl.Set | None:
    """One point of ``context``: the sizes it fixes, the others at least
    ``at_least`` (the least such values), else None."""
    large = context
    for d in range(context.dim(isl.dim_type.param)):
        large = large.lower_bound_val(isl.dim_type.param, d, at_least) \
            if not _fixed(context, d) else large
    n = context.dim(isl.dim_type.param)
    for candidate in (large, context):
        if candidate.is_empty():
            continue
        least = candidate.move_dims(isl.dim_type.set, 0, isl.dim_type.param, 0, n).lexmin()
        if not least.is_singleton():
            return None
        point = least.sample_point()
        sizes = context
        for d in range(n):
            sizes = sizes.fix_val(isl.dim_type.param, d,
                                  point.get_coordinate_val(isl.dim_type.set, d))
        return sizes
    return None


def _fixed(context: isl.Set, d: int) -> bool:
    return bool(context.plain_get_val_if_fixed(isl.dim_type.param, d).is_int())


def _sampled_values(line: isl.Set) -> list[int] | None:
    """Up to :data:`SAMPLES` of the loop's values ``line``, spread over its
    range, the last one left out (None when it has fewer than three values)."""
    if not line.is_bounded():
        return None
    low, high = line.dim_min_val(0), line.dim_max_val(0)
    if not (low.is_int() and high.is_int()):
        return None
    first, last = int(low.to_python()), int(high.to_python())
    picked: list[int] = []
    for k in range(SAMPLES):
        target = first + k * (last - first) // SAMPLES
        above = line.lower_bound_val(isl.dim_type.set, 0, target)
        value = int(above.dim_min_val(0).to_python())
        if value < last and value not in picked:
            picked.append(value)
    return picked if len(picked) >= 2 else None


def _trips(line: isl.Set) -> int | None:
    """The iteration count of a loop of values ``line``, from its first two
    values and its last (None when it is empty or unbounded)."""
    if line.is_empty() or not line.is_bounded():
        return None
    low, high = line.dim_min_val(0), line.dim_max_val(0)
    if not (low.is_int() and high.is_int()):
        return None
    first, last = int(low.to_python()), int(high.to_python())
    if first == last:
        return 1
    second = int(line.lower_bound_val(isl.dim_type.set, 0, first + 1).dim_min_val(0).to_python())
    return (last - first) // max(second - first, 1) + 1


def _work(instances: isl.UnionMap, line: isl.Set, value: int) -> int | None:
    """The statement instances run at value ``value`` of the loop of values
    ``line``, each statement's counted by the box around them (None when
    unbounded)."""
    point = isl.Set.universe(line.get_space()).fix_val(isl.dim_type.set, 0, value)
    fibres = instances.intersect_range(isl.UnionSet.from_set(point)).domain().get_set_list()
    total = 0
    for k in range(fibres.n_set()):
        fibre = fibres.get_at(k)
        volume = 1
        for d in range(fibre.dim(isl.dim_type.set)):
            low, high = fibre.dim_min_val(d), fibre.dim_max_val(d)
            if not (low.is_int() and high.is_int()):
                return None
            volume *= int(high.to_python()) - int(low.to_python()) + 1
        total += volume
    return total
