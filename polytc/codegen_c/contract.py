"""Where code generation shrinks temporaries (see :mod:`polytc.graph.contraction`).

:func:`mark_contractions` runs the contraction analysis on the schedule C is
generated from and, for each temporary it contracts (a dimension fixed by the
``depth`` outer loops), inserts a ``contract:<tensor>`` mark right below the
``depth``-th loop shared by every statement that touches the tensor (splitting
a band when that loop is not its last member).  A tensor none of whose
dimensions is fixed by those loops is contracted too when one of them spans a
constant window there (the rows of a panel): the C indexes it modulo the
window.  When no mark fits below that loop (the statements do not share it,
or it runs one iteration and isl would drop it), the buffer is held a loop
further out.  The C emitter holds the tensor's buffer (kept dimensions only) inside that mark, or, when the buffer
has no constant size, in the closest enclosing scope that is private to a
thread.  Anything unexpected leaves the tensor with its full buffer.
"""
from __future__ import annotations

from typing import Iterable

import islpy as isl

from polytc.graph.contraction import Contraction, _leaves, contractions
from polytc.poly.dependences import _maps
from polytc.program import Program
from polytc.tiling.panels import DEFAULT_ROWS as PANEL_ROWS

CONTRACT_PREFIX = "contract:"


def mark_contractions(program: Program, schedule: isl.Schedule,
                      excluded: frozenset[str] = frozenset()
                      ) -> tuple[isl.Schedule, dict[str, Contraction]]:
    """``schedule`` with a ``contract:<T>`` mark for each contracted temporary
    ``T`` (none for those in ``excluded``), and those temporaries' contractions."""
    if not program.temporaries:
        return schedule, {}
    try:
        found = {name: c for name, c in contractions(program, schedule).items()
                 if name not in excluded}
    except isl.Error:  # pragma: no cover - the analysis failing means: keep full buffers
        return schedule, {}
    chosen: dict[str, Contraction] = {}
    limits: dict[str, int] = {}
    marked = schedule
    for name in sorted(found):
        c = found[name]
        while c.depth > 0 and c.statements and (c.contracted or windowed(c, program.context)):
            try:
                placed = _insert(marked, c, program.context)
            except isl.Error:
                break
            if placed is not None:
                marked, chosen[name], limits[name] = placed, c, c.depth
                break
            # no mark fits below that loop: hold the buffer a loop further out
            c = contractions(program, marked, {name: c.depth - 1})[name]
    if not chosen:
        return schedule, {}
    # marks and band splits change no loop: the analysis must agree on the
    # marked schedule, or nothing is contracted
    try:
        again = contractions(program, marked, limits)
    except isl.Error:  # pragma: no cover
        return schedule, {}
    if any(again[n].depth != c.depth or again[n].kept != c.kept for n, c in chosen.items()):
        return schedule, {}
    return marked, chosen


def buffer_extents(c: Contraction, context: isl.Set) -> tuple[tuple[int | None, bool], ...]:
    """Per kept dimension of ``c``: (a constant bound of its buffer extent,
    or None; whether it is a window indexed modulo its extent).  When the
    indices of the outermost kept dimension within one iteration of the
    loops outside the buffer span one panel of rows (:mod:`polytc.tiling.panels`),
    the buffer keeps that many rows, indexed modulo the constant panel
    height.  Other windows are not used: the register blocks' windows (12
    rows of a batch of 4) made buffers larger and the modulo, inside
    unrolled code, slower (conv->relu->pool 0.18x -> 0.06x); a modulo by
    a runtime extent cost a division per access (MLP 1.14x -> 0.76x)."""
    def most(extent: isl.PwAff) -> int | None:
        try:  # isl refuses rational pieces (fuzz seed 20240830): no constant bound then
            value = extent.intersect_params(context).max_val()
        except isl.Error:
            return None
        return int(value.to_python()) if value.is_int() else None
    dims: list[tuple[int | None, bool]] = []
    for position, (shape, window) in enumerate(zip(c.shape, c.window)):
        full, span = most(shape), most(window)
        if position == 0 and span == PANEL_ROWS and (full is None or span < full):
            dims.append((max(span, 1), True))
        else:
            dims.append((full, False))
    return tuple(dims)


def windowed(c: Contraction, context: isl.Set) -> bool:
    """Some kept dimension of ``c`` is a window smaller than its extent."""
    return any(modular for _, modular in buffer_extents(c, context))


def _insert(schedule: isl.Schedule, c: Contraction, context: isl.Set) -> isl.Schedule | None:
    """``schedule`` with the mark for ``c`` below its ``depth``-th loop, or
    None when the statements do not share that loop or it has one iteration
    under ``context`` (specialised sizes: the schedule stays parametric)."""
    leaves = _leaves(schedule)
    loops = {leaf.loops[c.depth - 1] if len(leaf.loops) >= c.depth else None
             for s in c.statements for leaf in leaves.get(s, [])}
    if len(loops) != 1 or None in loops:
        return None
    loop = loops.pop()
    assert loop is not None
    path, member = loop
    node = schedule.get_root()
    for position in path:
        node = node.child(position)
    if node.get_type() != isl.schedule_node_type.band:
        return None
    values = isl.UnionMap.from_union_pw_aff(node.band_get_partial_schedule().get_at(member))
    values = values.intersect_domain(node.get_domain()).intersect_params(context)
    if isl.Set.from_union_set(values.range()).is_singleton():
        return None  # isl drops a one-iteration loop and splits the mark: no shared block
    if member + 1 < node.band_n_member():
        node = node.band_split(member + 1)
    node = node.child(0)
    node = node.insert_mark(isl.Id(CONTRACT_PREFIX + c.tensor, context=node.get_ctx()))
    return node.get_schedule()


def split_contractions(program: Program, flow: isl.UnionMap, contracted: Iterable[str],
                       copies: dict[str, list[isl.UnionSet]]) -> frozenset[str]:
    """The contracted temporaries whose values would cross buffers.

    isl may generate the subtree below a ``contract:<T>`` mark more than once
    (one copy per piece of a split loop, even within one iteration: fuzz
    seeds 777002514, 777002755, 777002930), and each copy holds a buffer of
    its own.  ``copies[T]`` lists the statement instances each copy runs;
    ``T`` is split when some flow dependence on ``T`` (``flow``: exact
    dataflow) runs from one copy to another, or when a copy is missing."""
    split = set()
    for tensor in contracted:
        domains = copies.get(tensor, [])
        writers = {s.name for s in program.statements if s.tensor == tensor}
        carried = isl.UnionMap.empty(flow.get_space())
        for piece in _maps(flow):
            if piece.get_tuple_name(isl.dim_type.in_) in writers:
                carried = carried.union(isl.UnionMap.from_map(piece))
        inside = isl.UnionMap.empty(flow.get_space())
        for domain in domains:
            inside = inside.union(isl.UnionMap.from_domain_and_range(domain, domain))
        if not carried.intersect_params(program.context).is_subset(inside):
            split.add(tensor)
    return frozenset(split)


__all__ = ["CONTRACT_PREFIX", "mark_contractions", "split_contractions"]
