"""Which temporaries a schedule lets shrink, and to what.

Input: a :class:`~polytc.program.Program` and an ``isl.Schedule`` of it
(``kernel.program``, ``kernel.schedule``).  Output: for each temporary ``T``
a :class:`Contraction`.

A loop of the schedule is a band member; the loops around a statement are
the members of the bands on its path from the root.  For ``T``, let the
*shared loops* be the longest common prefix of the loops around every
statement that reads or writes ``T``.  The contraction depth ``d`` is the
largest ``d`` (at most the number of shared loops) such that every flow
dependence on ``T`` (exact dataflow: each read instance and the write that
produced its value) relates instances with equal values of the first ``d``
shared loops, i.e. is loop-independent at depths ``1..d``.  No value of
``T`` then crosses an iteration of those loops, and ``T`` is dead outside
one iteration: a buffer that holds what one iteration touches suffices,
allocated (per thread, when one of the loops is parallel) inside loop
``d``.  Anti and output dependences do not matter there: each iteration
writes before it reads.  A read with no producing write disables
contraction (``d = 0``).

For each dimension ``k`` of ``T`` the *window* is the largest number of
distinct indices ``k`` takes within one iteration of the ``d`` loops (an
extent over the sizes).  A dimension whose window is 1 is fixed by those
loops and dropped; the contracted shape keeps the other dimensions, with
the tensor's full extents (``shape``) or, tighter, their windows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import islpy as isl

from polytc.poly.child import in_child
from polytc.isl_util import extend, extent_text, map_list, simplify
from polytc.poly.dependences import original_order
from polytc.program import Program

_NODE = isl.schedule_node_type
LoopId = tuple[tuple[int, ...], int]  # (tree path of the band, member)


@dataclass(frozen=True, slots=True)
class Contraction:
    """How temporary ``tensor`` can shrink under a schedule.

    :ivar depth: number of outer loops (band members from the root) within
        one iteration of which every value of the tensor is produced and
        consumed; 0 when none.
    :ivar kept: the dimensions the buffer keeps (not fixed by those loops).
    :ivar shape: the kept dimensions' full extents: the contracted buffer.
    :ivar window: the kept dimensions' extents within one iteration
        (``<= shape``; a buffer this size needs its indices offset).
    :ivar offsets: per kept dimension, its smallest index within one
        iteration, a PwAff of the outer loops' values ``[t_1, ..., t_depth]``
        (the prefix schedule's space): a window-sized buffer is indexed by
        ``index - offset``.
    :ivar full_shape: the tensor's extents.
    :ivar private: one of the ``depth`` loops is parallel, so each thread
        needs its own buffer.
    :ivar statements: the statements that access the tensor.
    """

    tensor: str
    depth: int
    kept: tuple[int, ...]
    shape: tuple[isl.PwAff, ...] = field(compare=False)
    window: tuple[isl.PwAff, ...] = field(compare=False)
    offsets: tuple[isl.PwAff, ...] = field(compare=False)
    full_shape: tuple[isl.PwAff, ...] = field(compare=False)
    private: bool = False
    statements: tuple[str, ...] = ()

    @property
    def contracted(self) -> bool:
        """Fewer dimensions than the tensor."""
        return len(self.kept) < len(self.full_shape)

    @property
    def scalar(self) -> bool:
        """One element suffices (every dimension is fixed)."""
        return self.depth > 0 and not self.kept

    def __str__(self) -> str:
        full = ", ".join(_text(e) for e in self.full_shape)
        if self.depth == 0:
            return f"{self.tensor}[{full}]: not contracted (its values cross every outer loop)"
        window = ", ".join(_text(e) for e in self.window)
        where = f"inside loop depth {self.depth}{', per thread' if self.private else ''}"
        if not self.contracted:
            return (f"{self.tensor}[{full}]: no dimension fixed by the {self.depth} outer "
                    f"loops; window [{window}] {where}")
        shape = ", ".join(_text(e) for e in self.shape)
        what = "a scalar" if self.scalar else f"[{shape}] (window [{window}])"
        return f"{self.tensor}[{full}] -> {what} {where}, dimensions kept: {list(self.kept)}"


def contractions(program: Program, schedule: isl.Schedule,
                 limits: dict[str, int] | None = None) -> dict[str, Contraction]:
    """A :class:`Contraction` for every temporary of ``program`` under
    ``schedule``; ``limits`` caps the depth of some (a buffer held outside
    a loop that would hold it)."""
    leaves = leaves_of(schedule)
    limits = limits or {}
    return {t.name: _contract(program, t.name, leaves, limits.get(t.name))
            for t in program.temporaries}


@dataclass(frozen=True, slots=True)
class Leaf:
    """A statement's instances at one leaf: the loops around them and the
    prefix schedule ``S[i] -> [t_1, ..., t_n]`` of those loops."""

    loops: tuple[LoopId, ...]
    coincident: tuple[bool, ...]
    prefix: isl.Map


def leaves_of(schedule: isl.Schedule) -> dict[str, list[Leaf]]:
    """Per statement, its instances at each leaf of ``schedule``: the loops
    (band members) around them and the prefix schedule of those loops."""
    found: dict[str, list[Leaf]] = {}

    def visit(node: isl.ScheduleNode, path: tuple[int, ...], loops: tuple[LoopId, ...],
              coincident: tuple[bool, ...]) -> None:
        kind = node.get_type()
        if kind == _NODE.band:
            n = node.band_n_member()
            loops = loops + tuple((path, i) for i in range(n))
            coincident = coincident + tuple(bool(node.band_member_get_coincident(i))
                                            for i in range(n))
        if kind == _NODE.leaf:
            prefix = node.get_prefix_schedule_union_map()
            for m in map_list(prefix):
                found.setdefault(m.get_tuple_name(isl.dim_type.in_), []).append(
                    Leaf(loops, coincident, m))
            return
        for position in range(node.n_children()):
            visit(node.child(position), path + (position,), loops, coincident)

    visit(schedule.get_root(), (), (), ())
    return found


def _contract(program: Program, tensor: str, leaves: dict[str, list[Leaf]],
              limit: int | None = None) -> Contraction:
    space = _tensor_space(program, tensor)
    reads = program.reads().intersect_range(space)
    writes = program.writes().intersect_range(space)
    users = sorted({m.get_tuple_name(isl.dim_type.in_) for m in map_list(reads.union(writes))})
    mine = [leaf for s in users for leaf in leaves.get(s, [])]
    shared = _common_prefix([leaf.loops for leaf in mine])
    if limit is not None:
        shared = min(shared, limit)
    flow = (isl.UnionAccessInfo.from_sink(reads).set_must_source(writes)
            .set_schedule_map(original_order(program)).compute_flow())
    depth = 0
    if flow.get_may_no_source().is_empty():
        depth = next((d for d in range(shared, 0, -1)
                      if _loop_independent(flow.get_may_dependence(), mine, d)), 0)
    full = program.tensor(tensor).shape
    if depth == 0:
        zeros = tuple(e * 0 for e in full)
        return Contraction(tensor, 0, tuple(range(len(full))), full, full, zeros, full,
                           False, tuple(users))
    accesses = _single_map(reads.union(writes).apply_domain(_prefix(mine, depth)))
    ranges = [_index_range(accesses, k, len(full)) for k in range(len(full))]
    windows = [_bounded_window(lo, hi, program.context, full[k])
               for k, (lo, hi) in enumerate(ranges)]
    kept = tuple(k for k, w in enumerate(windows) if not _at_most_one(w, program.context))
    private = any(leaf.coincident[i] for leaf in mine for i in range(depth))
    return Contraction(tensor, depth, kept, tuple(full[k] for k in kept),
                       tuple(windows[k] for k in kept), tuple(ranges[k][0] for k in kept),
                       full, private, tuple(users))


def _tensor_space(program: Program, tensor: str) -> isl.UnionSet:
    rank = program.tensor(tensor).rank
    names = ", ".join(f"e{i}" for i in range(rank))
    return isl.UnionSet(f"{{ {tensor}[{names}] }}")


def _common_prefix(paths: list[tuple[LoopId, ...]]) -> int:
    if not paths:
        return 0
    n = min(len(p) for p in paths)
    for i in range(n):
        if any(p[i] != paths[0][i] for p in paths):
            return i
    return n


def _prefix(leaves: list[Leaf], depth: int) -> isl.UnionMap:
    """``S[i] -> [t_1, ..., t_depth]`` for every leaf."""
    result: isl.UnionMap | None = None
    for leaf in leaves:
        m = leaf.prefix
        n = m.dim(isl.dim_type.out)
        m = m.project_out(isl.dim_type.out, depth, n - depth)
        piece = isl.UnionMap.from_map(m)
        result = piece if result is None else result.union(piece)
    assert result is not None
    return result


#: a tiled prefix (integer divisions) has its loop independence decided in a
#: child process limited to INDEPENDENCE_SECONDS, past which the flow counts
#: as carried (a shallower contraction): isl's deltas of a flow of 2 pairs
#: through 8 tiled loops ran for minutes, uncounted by its operation budget
#: (fuzz seed 9138027843, isl's scheduler with fuse='max')
INDEPENDENCE_SECONDS = 2.0


def _loop_independent(flow: isl.UnionMap, leaves: list[Leaf], depth: int) -> bool:
    """Whether no flow crosses iterations of the first ``depth`` loops."""
    prefix = _prefix(leaves, depth)
    if not any(word in str(prefix) for word in ("floor", "mod")):
        return _no_crossing(flow, prefix, depth)
    text = in_child(lambda: str(_no_crossing(flow, prefix, depth)), INDEPENDENCE_SECONDS,
                    "deciding a temporary's loop independence")
    return text == "True"


def _no_crossing(flow: isl.UnionMap, prefix: isl.UnionMap, depth: int) -> bool:
    steps = flow.apply_domain(prefix).apply_range(prefix).deltas()
    zero = isl.UnionSet(f"{{ [{', '.join(['0'] * depth)}] }}")
    return bool(steps.is_subset(zero))


def _single_map(union: isl.UnionMap) -> isl.Map:
    maps = map_list(union)
    result = maps[0]
    for other in maps[1:]:
        result = result.union(other)
    return result


def _index_range(accesses: isl.Map, k: int, rank: int) -> tuple[isl.PwAff, isl.PwAff]:
    """Smallest and largest index ``k`` within one iteration, as PwAffs of
    the outer loops' values."""
    m = accesses.project_out(isl.dim_type.out, k + 1, rank - k - 1)
    m = m.project_out(isl.dim_type.out, 0, k)
    return m.lexmin_pw_multi_aff().get_pw_aff(0), m.lexmax_pw_multi_aff().get_pw_aff(0)


#: an index's lowest and highest value in one iteration with more pairs of
#: pieces than this, or longer texts than SIMPLE_TEXT, have their window
#: computed in a child process limited to WINDOW_SECONDS, past which the
#: window is the whole dimension (isl's maximum over pieces with divisions of
#: a tiled time band ran for minutes on fuzz seed 9131028081)
SIMPLE_PIECE_PAIRS = 4
SIMPLE_TEXT = 2_000
WINDOW_SECONDS = 2.0


def _bounded_window(lo: isl.PwAff, hi: isl.PwAff, context: isl.Set,
                    whole: isl.PwAff) -> isl.PwAff:
    """:func:`_window`, or ``whole`` (the dimension's extent: no contraction
    along it) where isl takes longer than WINDOW_SECONDS."""
    if lo.n_piece() * hi.n_piece() <= SIMPLE_PIECE_PAIRS \
            and len(str(lo)) + len(str(hi)) <= SIMPLE_TEXT:
        return _window(lo, hi, context)
    text = in_child(lambda: str(_window(lo, hi, context)), WINDOW_SECONDS,
                    "bounding a temporary's window")
    return whole if text is None else isl.PwAff(text, context=context.get_ctx())


def _window(lo: isl.PwAff, hi: isl.PwAff, context: isl.Set) -> isl.PwAff:
    """The most distinct values an index takes within one iteration."""
    most = extend(isl.Map.from_pw_aff(hi - lo + 1).range().dim_max(0).gist_params(context))
    if not most.domain().is_equal(isl.Set.universe(most.domain().get_space())):
        zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(context.get_space()))
        most = simplify(most.union_max(zero), context)  # 0 where nothing is accessed
    return most


def _at_most_one(extent: isl.PwAff, context: isl.Set) -> bool:
    one = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(context.get_space())) + 1
    return bool(extent.gt_set(one).intersect_params(context).is_empty())


def _text(extent: isl.PwAff) -> str:
    return extent_text(extent)
