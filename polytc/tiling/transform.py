"""The tiling pass: a schedule tree in, a tiled and marked schedule tree out.

For every outermost permutable band of two or more members (a band with no
member along which an access has stride 1 is left whole when a permutable
band below has one: the ``n, m`` loops a fused conv -> relu -> pool shares
stay around each op's own tiled ``h, w`` band):

1. *Intra-tile order* (Pluto's): members parallel at the band go outside,
   then those that carry a dependence (reductions), and the parallel member
   with the most stride-1 accesses goes last, so the point loops end in a
   vectorizable loop.  Any order of a permutable band is legal.
2. *Cache tiling*, one or more levels (``tile=``), with isl's band tiling:
   partial tiles are handled by isl's loop bounds.
3. *Register tiling* (``unroll=``), when the band's statements reduce (a
   carrying member in the band or a carrying band below it): the parallel
   point loops are tiled once more by the register block (rows x vector
   width), the block loops go outside the reduction loop and the block's
   point loops are sunk to the leaves (unroll-and-jam).  Full blocks are
   isolated so their loops have constant trip counts; a ``promote`` mark above
   the reduction loop lets code generation keep the block of the accumulated
   tensor in a local array across it (register promotion).  Default cache
   tiles are rounded up to whole register blocks, so full tiles hold only
   full blocks.  Where several reduction loops run inside a block (a
   convolution's window: short image rows, much work per block), the columns
   left outside whole blocks are register-tiled apart with blocks of half
   the width, then a quarter, down to 32 bytes (56 columns: 32 + 16 + 8;
   the split is along the vector member, which is parallel, so running the
   whole blocks first is legal).  When a read moves along the vector loop
   without stride 1 and is not copied (``A(j, k)`` in syrk under
   ``pack=False``: a gather in every vector), the block's rows go *inside*
   the vector loop and isl unrolls them, so one gathered vector serves
   every row (gcc does not hoist it out of a row loop: syrk 3x -> 20x
   naive C); otherwise (gemm) the rows stay outside, as a loop the C asks
   gcc to unroll, which gcc handles best.
   Unless ``pack=False``, a ``pack:<tensors>`` mark in the outermost cache
   tile band names the tensors the vector loop loads whole vectors of, for
   code generation to copy each tile of them into a contiguous buffer, and
   those it moves along in another subscript while another member reuses
   them (``W@0`` for ``W(n, k)`` in an MLP layer): copied with that
   subscript last, they are no gather, and the rows stay outside
   (:mod:`polytc.codegen_c.pack`).
   Where the tensor is also read without moving along the vector loop
   (syrk's ``A(i, k)`` beside ``A(j, k)``), the copy serves the moving
   reads only (``A@0/S1.1``, :class:`polytc.tiling.marks.PackEntry`).
   The tile loops along which no packed read moves (the rows ``i`` of gemm
   and of an MLP layer) go innermost among the tile loops, below the mark,
   so each tile is copied once, not again for every tile of rows
   (:func:`_pack_outer_order`).
   The rows run along the outer member along which the most vector loads do
   not move (``i`` in gemm; a conv2d's output channel ``m``, so one vector of
   ``I`` serves every row).
4. *Wavefront*: when parallel code is wanted and the outermost tile band has no
   parallel member, its first member is skewed by the second, exposing one.

A time-iterated stencil's band (skewed, its outer member carrying) is tiled
across time (:meth:`_TilingPass.time_band`); where its inner loop cannot be
vectorized (in place: seidel), the tile's rows are jammed into it
(:func:`_jammed_rows`).  A one-member parallel band around loops that all
carry dependences (adi's and deriche's recurrences along each line) is
tiled and its point loop sunk below them (:meth:`_TilingPass.sinkable`, :meth:`_TilingPass.sunk_band`).
A band with no parallel member whose inner loop accumulates into one
element (trisolv's ``x[i]`` along ``j``, in order) gets its tiles' rows
jammed into that loop the same way (:meth:`_TilingPass.chained_rows`).
Where reductions may be reassociated and parallel code is wanted, an
outermost band with no parallel member whose first loop carries only
accumulations into outputs is marked ``reduce-array:`` for code generation
to run it in parallel with a private copy of them per thread
(:func:`polytc.tiling.reductions.mark_array_reductions`).

Finally every band member's coincidence is recomputed from the dependences
(loop-level: the meaning of ``omp parallel for``), and the innermost loops
that are parallel get a ``simd`` mark.
"""
from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polytc import dtypes
from polytc.program import Program
from polytc.tiling import bands, diamond, marks, reductions
from polytc.isl_util import map_list, operation_budget
from polytc.poly.bands import with_true_coincidence
from polytc.poly.legality import respects
from polytc.poly.schedule_tree import padded
from polytc.tiling.model import (OUTER, REDUCTION, VECTOR, cache_tile_sizes, register_block,
                                 stream_chunk, time_tile_sizes)
from polytc.tiling.panels import panel_fusion


# isl's operation budget for the narrower register blocks of one band (conv2d
# needs 1-2 million; past it, the band is register-tiled plainly: a random
# program's domain of many pieces took minutes)
LEVELS_MAX_OPERATIONS = 5_000_000


@dataclass(frozen=True, slots=True)
class TilingOptions:
    """``tile``/``unroll`` as :class:`polytc.Options` normalised them."""

    tile: object = "auto"
    unroll: object = "auto"
    vectorize: bool = True
    parallel: bool = True
    pack: bool = True
    time_tiling: str = "auto"
    reassociate: bool = False
    #: the code runs on one thread: time tiles need not leave a wavefront
    #: many tiles (:func:`polytc.tiling.model.time_tile_sizes`)
    one_thread: bool = False


def tile_schedule(program: Program, schedule: isl.Schedule, deps: isl.UnionMap,
                  options: TilingOptions) -> isl.Schedule:
    """``schedule`` with its permutable bands tiled, register-tiled and
    marked; with the default tiles, ops fused only in an outer parallel loop
    run panel by panel (:mod:`polytc.tiling.panels`) where that respects
    every dependence."""
    if options.tile == "auto":
        panels = panel_fusion(schedule)
        if panels is not None:
            tiled = _tiled(program, panels, deps, options)
            if respects(program, tiled, deps):
                return tiled
    return _tiled(program, schedule, deps, options)


def _tiled(program: Program, schedule: isl.Schedule, deps: isl.UnionMap,
           options: TilingOptions) -> isl.Schedule:
    pass_ = _TilingPass(program, deps, options)
    node = pass_.visit(schedule.get_root())
    node = with_true_coincidence(node.get_schedule(), deps).get_root()
    if options.parallel and options.reassociate:
        node = reductions.mark_array_reductions(node, deps, program)
    if options.vectorize:
        node = _mark_simd(node.get_schedule().get_root())
        if options.reassociate:
            node = reductions.mark_reductions(node.get_schedule().get_root(), deps, program)
    return node.get_schedule()


class _TilingPass:
    def __init__(self, program: Program, deps: isl.UnionMap, options: TilingOptions) -> None:
        self.program = program
        self.deps = deps
        self.options = options
        self.element_bytes = max((max(1, dtypes.bits(t.dtype) // 8) for t in program.tensors
                                  if t.role != "input"), default=4)

    def visit(self, node: isl.ScheduleNode) -> isl.ScheduleNode:
        if (node.get_type() == isl.schedule_node_type.band and node.band_n_member() >= 2
                and node.band_get_permutable() and not self.outer_only(node)):
            return self.band(node)
        if (node.get_type() == isl.schedule_node_type.band and node.band_n_member() == 1
                and self.options.tile is not None):
            sinkable = self.sinkable(node)
            if sinkable is not None:
                return self.sunk_band(sinkable)
        for position in range(node.n_children()):
            node = self.visit(node.child(position)).parent()
        return node

    def outer_only(self, node: isl.ScheduleNode) -> bool:
        """Whether the band at ``node`` is left as it is, its loops around the
        bands below: it has no member along which some access has stride 1
        (no vector loop to make of it) while a permutable band below has one
        (a fused conv -> relu -> pool: ``n, m`` around each op's ``h, w``)."""
        if any(bands.stride_one_counts(node, self.program)):
            return False
        found = False

        def visit(current: isl.ScheduleNode) -> bool:
            nonlocal found
            if (current.get_type() == isl.schedule_node_type.band and not current.is_equal(node)
                    and current.band_get_permutable() and current.band_n_member() >= 2
                    and any(bands.stride_one_counts(current, self.program))):
                found = True
            return not found
        node.foreach_descendant_top_down(visit)
        return found

    # -- a parallel loop around sequential ones ------------------------------
    def sinkable(self, node: isl.ScheduleNode) -> isl.ScheduleNode | None:
        """The one-member band at ``node`` without the bands below it that
        its loop fixes (:func:`_without_fixed_bands`), when it is parallel and
        every loop left below it carries a dependence (and there is one): a
        row of recurrences (adi's ``p[i][j]`` along ``j`` for each ``i``),
        latency-bound one row at a time and, where they read columns
        (``u[j][i]``), a cache line per element; else None.  Not where
        reductions may be reassociated: the loops that reduce are vectorized
        along themselves then."""
        if self.options.reassociate or not bands.parallel_at_band(node, self.deps)[0]:
            return None
        below = _without_fixed_bands(node.child(0))
        loops: list[bool] = []

        def visit(current: isl.ScheduleNode) -> bool:
            if current.get_type() == isl.schedule_node_type.band:
                loops.append(not any(bands.parallel_at_band(current, self.deps)))
            return True
        below.foreach_descendant_top_down(visit)
        return below.parent() if loops and all(loops) else None

    def sunk_band(self, node: isl.ScheduleNode) -> isl.ScheduleNode:
        """The parallel loop at ``node`` (as :meth:`sinkable` returns it)
        tiled by SUNK_ROWS (``tile=``'s first size when given), its point
        loop sunk below the sequential loops inside (legal: it carries
        nothing), where it is the innermost loop: the rows' chains overlap
        and column reads become vectors.  Returns the node at ``node``'s
        position."""
        tile = self.options.tile
        size = SUNK_ROWS if tile == "auto" else _first_size(tile)
        node = node.band_tile(_multi_val(node, [size]))
        return node.child(0).band_sink().parent()

    # -- one permutable band ------------------------------------------------
    def band(self, node: isl.ScheduleNode) -> isl.ScheduleNode:
        """Returns the node at ``node``'s position (the outermost new band).
        A band whose whole register blocks are too scattered to isolate
        (:data:`MAX_ISOLATED_PIECES`) is tiled again without register blocks."""
        try:
            return self._band(node, register_blocks=True)
        except _ScatteredBlocks:
            return self._band(node, register_blocks=False)

    def _band(self, node: isl.ScheduleNode, register_blocks: bool) -> isl.ScheduleNode:
        parallel = bands.parallel_at_band(node, self.deps)
        if not parallel[0] and bands.skewed(node):
            return self.time_band(node)
        if self.options.reassociate and self.options.vectorize:
            member = reductions.streaming_member(node, self.program, parallel, self.deps)
            if member is not None:
                return self.reduction_band(node, parallel, member)
        strides = bands.stride_one_counts(node, self.program)
        order, roles = _order_members(parallel, strides)
        if VECTOR in roles and REDUCTION in roles and self.options.tile == "auto" \
                and bands.used_once(node, self.program, order[roles.index(VECTOR)]):
            return self.streaming_band(node, order, roles)
        if VECTOR in roles:
            order = _rows_member_last(order, roles, bands.vector_reuse(
                node, self.program, order[roles.index(VECTOR)]))
        n_reductions = roles.count(REDUCTION) + _carrying_members_below(node, self.deps)
        blocked = n_reductions > 0 and self.options.unroll is not None and VECTOR in roles \
            and register_blocks
        vector = order[roles.index(VECTOR)] if VECTOR in roles else None
        streamed = bands.streamed(node, self.program, vector) if vector is not None \
            else frozenset()
        # tensors read across the vector loop: packed with that subscript last
        transposed = bands.transposable(node, self.program, vector) \
            if vector is not None and blocked and self.options.tile is not None \
            and self.options.pack else {}
        gathers = vector is not None and bands.gathers(node, self.program, vector,
                                                       frozenset(transposed))
        factors = self.block_factors(roles, n_reductions, gathers) if blocked else None
        sizes = self.cache_sizes(order, roles, factors, reduces=n_reductions > 0)
        node = bands.permute(node, order)
        node = bands.set_coincidence(node, [roles[p] != REDUCTION for p in range(len(order))])
        packed = ({t: marks.PackEntry(t) for t in sorted(streamed)}  # what the vectors load
                  | dict(sorted(transposed.items()))) \
            if factors is not None and self.options.pack else {}
        hoisted = _pack_outer_order(node, self.program, roles, packed) if packed else None
        depth = 0
        for level in sizes:  # cache tiles, outermost level first
            node = node.band_tile(_multi_val(node, list(level)))
            node = node.child(0)
            depth += 1
            if depth == 1 and packed:
                name = marks.pack_mark(list(packed.values()))
                if hoisted is not None:  # the copy made above the tile loops it does not move along
                    tiles = bands.permute(node.parent(), hoisted[0])
                    tiles = bands.set_coincidence(
                        tiles, [roles[m] != REDUCTION for m in hoisted[0]])
                    node = tiles.band_split(hoisted[1]).child(0)
                    depth += 1
                node = node.insert_mark(isl.Id(name, context=node.get_ctx())).child(0)
                depth += 1
                if hoisted is not None:
                    node = node.child(0)
        if factors is not None:
            # narrower blocks for the last columns where several reduction
            # loops (a convolution's window) run inside each block: there,
            # rows are short (image rows of 7-56) and each block does much work
            widths = _narrower_blocks(factors[roles.index(VECTOR)], self.element_bytes) \
                if n_reductions >= 2 else []
            node = self.register_tile_levels(node, roles, factors, widths, gathers)
        for _ in range(depth):
            node = node.parent()
        if self.options.parallel and sizes and not any(parallel):
            node = bands.skew_first(node)  # wavefront of the tile loops
        if sizes and not any(parallel) and depth == len(sizes):
            for _ in range(depth):
                node = node.child(0)
            node = self.chained_rows(node)
            for _ in range(depth):
                node = node.parent()
        return node

    def chained_rows(self, node: isl.ScheduleNode) -> isl.ScheduleNode:
        """The point band at ``node`` of a band with no parallel member, its
        rows (second-to-last member) run together inside its innermost loop
        where that loop is a chain of dependent operations
        (:func:`_accumulates_along`: trisolv's ``x[i] -= L[i][j] * x[j]``
        along ``j``, not reassociated), so that the chains of several rows
        overlap (:func:`_jammed_rows`).  Returns the node at ``node``'s
        position."""
        n, rows = node.band_n_member(), self.latency_rows()
        if n < 2 or rows <= 1:
            return node
        split = node.band_split(n - 1)
        if not _accumulates_along(split.child(0), self.deps, self.program):
            return node  # floyd-warshall's j: gcc vectorizes it
        return _jammed_rows(split, rows, skew=False)

    def reduction_band(self, node: isl.ScheduleNode, parallel: list[bool],
                       member: int) -> isl.ScheduleNode:
        """A band whose vector loop is the reduction ``member`` along which a
        matrix streams (:func:`reductions.streaming_member`: a matrix-vector
        product's row): the parallel members outside, then the other
        reductions, then ``member``, which code generation runs as a vector
        reduction.  Nothing is reused across the streamed rows, so the
        default is no cache tiles; a user's ``tile=`` applies in that order."""
        par = [m for m, flag in enumerate(parallel) if flag]
        carrying = [m for m, flag in enumerate(parallel) if not flag and m != member]
        order = par + carrying + [member]
        roles = [OUTER] * len(par) + [REDUCTION] * (len(carrying) + 1)
        node = bands.permute(node, order)
        node = bands.set_coincidence(node, [role != REDUCTION for role in roles])
        sizes = self.cache_sizes(order, roles) if self.options.tile != "auto" else []
        for level in sizes:
            node = node.band_tile(_multi_val(node, list(level))).child(0)
        rows = self.reduction_rows()
        if par and rows > 1:
            node = _reduction_row_blocks(node.band_split(len(par)), rows)
        for _ in sizes:
            node = node.parent()
        return node

    def streaming_band(self, node: isl.ScheduleNode, order: list[int],
                       roles: list[str]) -> isl.ScheduleNode:
        """A band whose reads move along every member (:func:`bands.used_once`:
        ``y(j) +=! A(i, j) * t(i)``): the outer members, then chunks of the
        vector member of a quarter of the L1 cache (its elements of ``y`` stay
        there while the reductions stream through ``A``, and the chunks are
        the parallel loop), then the reductions; inside, the vector loop, and
        in it STREAM_ROWS iterations of the last reduction unrolled (one load
        and store of ``y(j)`` for four rows of ``A``).  Returns the node at
        ``node``'s position."""
        outer = [m for m, role in zip(order, roles) if role == OUTER]
        carrying = [m for m, role in zip(order, roles) if role == REDUCTION]
        node = bands.permute(node, outer + [order[roles.index(VECTOR)]] + carrying)
        flags = [True] * (len(outer) + 1) + [False] * len(carrying)
        vector, last = len(outer), len(flags) - 1
        rows = STREAM_ROWS if self.options.unroll == "auto" else self.reduction_rows()
        partial = node.band_get_partial_schedule()
        ctx = node.get_ctx()
        chunk = stream_chunk(self.element_bytes)
        blocks = partial.set_at(vector, partial.get_at(vector).scale_down_val(
            isl.Val.int_from_si(ctx, chunk)).floor())
        if rows > 1:
            blocks = blocks.set_at(last, partial.get_at(last).scale_down_val(
                isl.Val.int_from_si(ctx, rows)).floor())
        node = bands.set_coincidence(bands.rebuild(node, blocks, True), flags)
        node = node.band_split(len(outer) + 1)  # the chunks outside, the reductions below
        reduction = node.child(0)
        point = reduction.child(0).insert_partial_schedule(
            isl.MultiUnionPwAff.from_union_pw_aff(partial.get_at(vector)))
        point = point.band_set_permutable(1).band_member_set_coincident(0, 1)
        reduction = point.parent()
        if rows > 1:
            row = partial.get_at(last).mod_val(isl.Val.int_from_si(ctx, rows))
            below = point.child(0).insert_partial_schedule(
                isl.MultiUnionPwAff.from_union_pw_aff(row)).band_set_permutable(1)
            below = below.band_member_set_ast_loop_type(0, isl.ast_loop_type.unroll)
            reduction = below.parent().parent()  # whole blocks of rows apart, no guard inside
            reduction = reduction.band_set_ast_build_options(
                _isolate_whole_rows(reduction, isl.UnionMap.from_union_pw_aff(row), rows))
        hoisted = reductions.hoist_invariants(reduction, self.deps, self.program)
        return (hoisted if hoisted is not None else reduction).parent()

    def reduction_rows(self) -> int:
        """Rows of a vector reduction's register block (``unroll=``'s first
        factor when given, else REDUCTION_ROWS; 1 without register tiling)."""
        return self.unrolled_rows(REDUCTION_ROWS)

    def unrolled_rows(self, auto: int) -> int:
        """``unroll=``'s first factor; ``auto`` for ``"auto"``, 1 for ``None``."""
        unroll = self.options.unroll
        if unroll is None:
            return 1
        if isinstance(unroll, tuple):
            return int(unroll[0])
        return int(unroll) if isinstance(unroll, int) else auto

    def time_band(self, node: isl.ScheduleNode) -> isl.ScheduleNode:
        """A skewed band whose outer member carries (a time loop around a
        stencil's sweeps): tiled in the band's order, time included, with
        the tile sizes of :func:`time_tile_sizes`; the tiles run along
        wavefronts (the first tile loop skewed by the second, which is then
        parallel), and the innermost point loop is generated apart for each
        combination of the statements it runs (isl's ``separate``), so that
        the full tiles' loops have no guards and vectorize: it carries
        dependences, but from a statement to a later one of the body only
        (checked: :func:`_lanes_respect`), so it gets a ``simd`` mark.  No
        register tiling: every member carries."""
        n = node.band_n_member()
        inner = bands.innermost_space_member(node, self.program)
        order = [m for m in range(n) if m != inner] + [inner]  # the band is permutable
        node = bands.permute(node, order)
        node = _in_program_order(node, self.program)
        vector_inner = n > 1 and _lanes_respect(node.band_split(n - 1).child(0), self.deps)
        mirror = diamond.mirror(node, self.deps) if n > 1 and self.options.tile is not None \
            and diamond.wanted(self.options.time_tiling, n) else None
        jammed = self.latency_rows() if n > 1 and not vector_inner else 1
        sizes = self.cache_sizes(order, [REDUCTION] * n, time=True, vector_inner=vector_inner,
                                 diamond=mirror is not None, jammed=jammed > 1)
        if not sizes:
            jammed = 1
        skew = jammed > 1 and _rows_meet(node, self.deps)
        for level, level_sizes in enumerate(sizes):
            if level == 0 and mirror is not None:  # diamonds: see polytc.tiling.diamond
                node = diamond.tile(node, mirror, list(level_sizes)).child(0)
            else:
                node = node.band_tile(_multi_val(node, list(level_sizes))).child(0)
        depth = len(sizes)
        if sizes:
            if n > 1:
                node = node.band_split(n - 1).child(0)
                depth += 1
            node = self.point_rows(node, vector_inner)
        for _ in range(depth):
            node = node.parent()
        if self.options.parallel and sizes:
            node = bands.skew_first(node, sizes[0])
        if jammed > 1:
            for _ in range(len(sizes)):
                node = node.child(0)
            node = _jammed_rows(node, jammed, skew)
            for _ in range(len(sizes)):
                node = node.parent()
        return node

    def latency_rows(self) -> int:
        """Rows of a time tile jammed into its sequential inner loop:
        ``unroll=``'s first factor, LATENCY_ROWS for ``"auto"``, 1 (none)
        for ``None``."""
        return self.unrolled_rows(LATENCY_ROWS)

    def point_rows(self, node: isl.ScheduleNode, vectorizable: bool) -> isl.ScheduleNode:
        """The innermost point loop of a time tile (a one-member band at
        ``node``): where vectorizing it is legal, it is distributed over the
        statements below it (one loop per statement and time step: a fused
        loop that writes ``B[i]`` and then reads ``B[i - 2 .. i]`` makes
        every vector load wait on the store just before it: jacobi-1d 3x
        slower than gcc's two loops), each generated apart for its full and
        partial rows (isl's ``separate``) with a ``simd`` mark.
        ``vectorizable``: :func:`_lanes_respect` holds for the loop."""
        if not vectorizable:
            return node.band_member_set_ast_loop_type(0, isl.ast_loop_type.separate)
        if node.child(0).get_type() != isl.schedule_node_type.sequence:
            node = node.band_member_set_ast_loop_type(0, isl.ast_loop_type.separate)
            return _simd_marked(node, self.options.vectorize)
        node = node.band_sink()  # now the sequence, a copy of the band at its leaves
        for position in range(node.n_children()):
            row, depth = node.child(position).child(0), 2
            while row.get_type() != isl.schedule_node_type.band and row.n_children() == 1:
                row, depth = row.child(0), depth + 1  # a nested sequence's filter...
            if row.get_type() != isl.schedule_node_type.band:
                continue  # no copy here (several branches below, or none)
            row = row.band_member_set_ast_loop_type(0, isl.ast_loop_type.separate)
            row = _simd_marked(row, self.options.vectorize)
            for _ in range(depth):
                row = row.parent()
            node = row
        return node

    def cache_sizes(self, order: list[int], roles: list[str], blocks: list[int] | None = None,
                    reduces: bool = False, time: bool = False,
                    vector_inner: bool = True, diamond: bool = False,
                    jammed: bool = False) -> list[tuple[int, ...]]:
        """Tile sizes per level, outermost level first, per member in the new
        ``order``.  A user's tuple lists the band's members as the scheduler
        printed them (outermost first); a short one repeats its last size.
        The default sizes are rounded up to multiples of ``blocks``, the
        register block's factor per member, when the band is register-tiled."""
        tile, n = self.options.tile, len(order)
        if tile is None:
            return []
        if tile == "auto" and time:
            return [time_tile_sizes(n, self.element_bytes, vector_inner=vector_inner,
                                    diamond=diamond, jammed=jammed,
                                    one_thread=self.options.one_thread)]
        if tile == "auto":
            sizes = cache_tile_sizes(roles, self.element_bytes, reduces_below=reduces)
            if blocks is not None:
                sizes = tuple(-(-size // factor) * factor for size, factor in zip(sizes, blocks))
            return [sizes]
        assert isinstance(tile, tuple), tile  # Options normalised it
        levels = []
        for level in tile:
            values = [level] * n if isinstance(level, int) else list(level)
            values = (values + [values[-1]] * n)[:n]
            levels.append(tuple(values[source] for source in order))
        return levels

    def block_factors(self, roles: list[str], reductions: int,
                      gathers: bool = False) -> list[int]:
        """The register block's factor per member (``roles`` order): the
        vector width on the vector member, the rows on the parallel member
        just outside it, 1 elsewhere (``reductions``: the reduction loops
        inside the block; ``gathers``: a read is gathered along the vector
        loop; :func:`register_block`)."""
        rows, width = register_block(self.element_bytes, reductions, gathers)
        if isinstance(self.options.unroll, tuple):
            rows, width = (tuple(self.options.unroll) + (width,))[:2]
        elif isinstance(self.options.unroll, int):
            rows = self.options.unroll
        factors = [1] * len(roles)
        parallel = [p for p, role in enumerate(roles) if role != REDUCTION]
        factors[parallel[-1]] = width
        if len(parallel) >= 2:
            factors[parallel[-2]] = rows
        return factors

    def register_tile_levels(self, node: isl.ScheduleNode, roles: list[str],
                             block: list[int], widths: list[int],
                             rows_inside: bool) -> isl.ScheduleNode:
        """Register tiling of the point band at ``node`` with blocks of the
        vector width ``block`` gives; the instances outside whole blocks of
        that width (the last columns of rows whose length it does not
        divide) are register-tiled apart with the next of ``widths``, and so
        on, so that e.g. 56 columns run as full blocks of 32, 16 and 8 instead
        of one of 32 and 24 columns updated in memory.  Returns the node at
        ``node``'s position."""
        if widths:
            try:  # isl's sets for a domain of many pieces can take minutes
                with operation_budget(node.get_ctx(), LEVELS_MAX_OPERATIONS):
                    return self._register_tile_levels(node, roles, block, widths, rows_inside)
            except isl.Error:
                pass  # plain register tiling
        return self.register_tile(node, roles, block, rows_inside)

    def _register_tile_levels(self, node: isl.ScheduleNode, roles: list[str],
                              block: list[int], widths: list[int],
                              rows_inside: bool) -> isl.ScheduleNode:
        vector = roles.index(VECTOR)
        rest = _outside_whole_vectors(node, vector, block[vector]) if widths else None
        if rest is None or rest.is_empty():
            return self.register_tile(node, roles, block, rows_inside)
        narrower = block[:vector] + [widths[0]] + block[vector + 1:]
        whole = node.get_domain().subtract(rest).coalesce()
        if whole.is_empty():
            return self._register_tile_levels(node, roles, narrower, widths[1:], rows_inside)
        filters = isl.UnionSetList.alloc(node.get_ctx(), 2).add(whole).add(rest)
        node = node.insert_sequence(filters)  # whole blocks first: the vector member is parallel
        node = self.register_tile(node.child(0).child(0), roles, block, rows_inside)
        node = node.parent().parent().child(1).child(0)
        node = self._register_tile_levels(node, roles, narrower, widths[1:], rows_inside)
        return node.parent().parent()

    def register_tile(self, node: isl.ScheduleNode, roles: list[str], block: list[int],
                      rows_inside: bool = False) -> isl.ScheduleNode:
        """Unroll-and-jam of the point band at ``node``; returns the node at
        its position (the block loops).  ``rows_inside``: the block's rows go
        inside its vector loop, unrolled by isl (see the module docstring)."""
        n_parallel = sum(role != REDUCTION for role in roles)
        carrying = [p for p, role in enumerate(roles) if role == REDUCTION]
        parallel = [p for p, role in enumerate(roles) if role != REDUCTION]
        factors = [block[p] for p in parallel]
        node = bands.permute(node, parallel + carrying)  # the block loops outside the reductions
        if n_parallel < node.band_n_member():
            node = node.band_split(n_parallel)  # reductions: a band of their own below
        node = node.band_tile(_multi_val(node, factors))
        isolated = _isolate_full_blocks(node, factors)
        pieces: list[int] = []
        isolated.foreach_set(lambda piece: pieces.append(piece.n_basic_set()))
        if max(pieces, default=0) > MAX_ISOLATED_PIECES:
            raise _ScatteredBlocks()
        node = node.band_set_ast_build_options(isolated)
        point = node.child(0)
        rows_inside = rows_inside and n_parallel >= 2
        if rows_inside:  # (..., vector, rows); the unroll type tags the band's sunk copies
            point = bands.permute(point, list(range(n_parallel - 2))
                                  + [n_parallel - 1, n_parallel - 2])
            point = point.band_member_set_ast_loop_type(n_parallel - 1,
                                                        isl.ast_loop_type.unroll)
        node = point.band_sink().parent()
        if rows_inside:
            node = _unroll_full_blocks_only(node, factors[:-2] + [factors[-1], factors[-2]])
        return _mark_promotions(node, self.deps)


#: the most convex pieces the whole register blocks of a band may make: isl
#: builds the AST of more for seconds (PolyBench's symm: 4 statements over
#: triangular domains, 10 pieces, 3.7 s of isl for the same speed as its
#: plain tiles, 0.16 s at LARGE either way; every other PolyBench kernel and
#: kernels.py program makes at most 3)
MAX_ISOLATED_PIECES = 6


class _ScatteredBlocks(Exception):
    """A band's whole register blocks make more than MAX_ISOLATED_PIECES."""


#: iterations of a streaming band's last reduction unrolled in its vector
#: loop (y(j) += A(i, j) * t(i), 4000^2, chunks of 2048: 3.0 ms one thread,
#: 1.5 two, with 4 rows; 2.4 and 1.3 with 8; numpy/OpenBLAS 2.1 and 1.2)
STREAM_ROWS = 8

#: rows of a vector reduction's register block: the reductions of 8 rows
#: share each vector of the other operand (gemv 8000^2: 13.4 ms one row at a
#: time, 9.7 with 4 rows, 9.3 with 8; numpy/OpenBLAS 12.5, 1 thread)
REDUCTION_ROWS = 8


def _pack_outer_order(node: isl.ScheduleNode, program: Program, roles: list[str],
                      packed: dict[str, marks.PackEntry]) -> tuple[list[int], int] | None:
    """The order of the band's tile loops that puts the members along which
    no read that a copy of ``packed`` serves moves innermost, and how many
    come before them (parallel members first): a tile of ``B(k, j)`` in
    gemm, or of ``W(n, k)`` copied with ``n`` last in an MLP layer, is then
    copied once per tile of the other members, not again for every tile of
    rows ``i``.
    Measured at one thread against OpenBLAS in one process: MLP layer
    256x1024x1024 0.66-0.83x -> 1.00x (its transposing copies were a sixth
    of the time), ``C(i,j) +=! A(i,k) * B(j,k)`` 1024^3 0.81x -> 1.01x, gemm
    1024^3 0.94x -> 1.03x, 2mm, 3mm and doitgen 7-8 % faster.  The parallel
    loop is then the tile loop of a member the copy moves along (gemm's
    ``j``: 4 tiles of 256 at 1024, where ``i`` had 11 of 96).  None where
    every member moves the reads, or none does, or no parallel member would
    stay outside."""
    free = bands.members_not_reading(node, program, packed)
    kept = sorted((m for m in range(len(roles)) if m not in free),
                  key=lambda m: roles[m] == REDUCTION)  # parallel tile loops outermost
    if not free or not kept or roles[kept[0]] == REDUCTION:
        return None
    return kept + free, len(kept)


def _reduction_row_blocks(node: isl.ScheduleNode, rows: int) -> isl.ScheduleNode:
    """The band at ``node`` (the parallel members of a vector reduction's
    band, its last member the rows; the reduction band below) with its rows
    in blocks of ``rows`` whose rows run inside the reduction loop, unrolled,
    one accumulator each.  Only whole blocks (every row present for every
    outer value) are blocked; the other rows run after them one at a time
    (the rows are parallel).  Returns the node at ``node``'s position."""
    last = node.band_n_member() - 1
    rest = _outside_whole_vectors(node, last, rows)
    whole = node.get_domain().subtract(rest).coalesce()
    if whole.is_empty():
        return node
    if not rest.is_empty():
        filters = isl.UnionSetList.alloc(node.get_ctx(), 2).add(whole).add(rest)
        node = node.insert_sequence(filters).child(0).child(0)
        return _blocked_rows(node, rows).parent().parent()
    return _blocked_rows(node, rows)


#: rows of a time tile run together in its sequential inner loop, so that
#: the chains of dependent operations of several rows overlap (seidel-2d at
#: LARGE, 1 thread, gcc -O3 on the original 17.2 s; jammed 4 rows 5.9 s, 6
#: rows 4.7, 8 rows 3.8, 12 rows 4.1, 16 rows 4.4; tiles 32 x 32 x 32)
LATENCY_ROWS = 8


def _rows_meet(node: isl.ScheduleNode, deps: isl.UnionMap) -> bool:
    """Whether a dependence of the band at ``node`` joins two instances on
    different rows (its second-to-last member) with the same value of its
    last member and of every member before the rows: jammed, those two would
    run in the same iteration of the inner loop, one waiting on the other."""
    n = node.band_n_member()
    partial = node.band_get_partial_schedule_union_map()
    pairs = deps.apply_domain(partial).apply_range(partial)
    if pairs.is_empty():
        return False
    src = [f"a{m}" for m in range(n)]
    dst = [f"a{m}" for m in range(n - 2)] + ["r", f"a{n - 1}"]
    meeting = isl.UnionMap(f"{{ [{', '.join(src)}] -> [{', '.join(dst)}] : r > a{n - 2} }}",
                           context=node.get_ctx())
    return not pairs.intersect(meeting.align_params(pairs.get_space())).is_empty()


def _jammed_rows(node: isl.ScheduleNode, rows: int, skew: bool) -> isl.ScheduleNode:
    """The point loops of a time tile or of a tile of chains
    (:meth:`_TilingPass.chained_rows`: the band at ``node``, its last member
    the rows; the sequential inner loop a band below) with the rows in
    blocks of ``rows`` run together inside the inner loop, unrolled
    (unroll-and-jam, legal in the tiles of a permutable band): the inner
    loop's dependence along itself (seidel's ``A[i][j-1]``) leaves each row
    a chain of dependent operations, and the chains of the jammed rows
    overlap.  ``skew``: row ``r`` of a block runs ``r`` iterations later
    (the inner member plus the row), so that a row's dependence on the row
    above (seidel's ``A[i-1][j+1]``, on the same iteration otherwise) comes
    from an earlier iteration.  Rows of partial blocks are guarded by isl.
    Where several statements share the inner loop's iterations, each row
    runs all of them before the next row (:func:`_rows_inside`).
    Returns the node at ``node``'s position."""
    inner = node.child(0)
    if skew:
        row = node.band_get_partial_schedule().get_at(node.band_n_member() - 1)
        partial = inner.band_get_partial_schedule()
        inner = bands.rebuild(inner, partial.set_at(0, partial.get_at(0).add(row)), True)
        inner = inner.band_member_set_ast_loop_type(0, isl.ast_loop_type.separate)
    if inner.child(0).get_type() == isl.schedule_node_type.leaf:
        return _blocked_rows(inner.parent(), rows)  # one statement: the same order
    return _rows_inside(inner.parent(), rows)


#: rows of a parallel loop run together inside the sequential loops it holds
#: (PolyBench's adi at LARGE, 1 thread: gcc -O3 15.2 s; 16 rows 9.4-10.3 s,
#: 32 rows 9.6-9.8 s, 64 rows 9.5-9.7 s, before the fixed bands were dropped)
SUNK_ROWS = 32


def _rows_inside(node: isl.ScheduleNode, rows: int) -> isl.ScheduleNode:
    """The band at ``node`` (its last member the rows) and the one-member
    band below it (the inner loop) as blocks of ``rows`` rows, the inner
    loop, then the row within its block, unrolled by isl: unroll-and-jam,
    legal in the tiles of a permutable band.  The rows' loop goes right
    below the inner loop, above any sequence of statements there, so that
    each row runs its statements in their order before the next row does
    (trisolv's ``x[j] /= L[j][j]`` before the rows below read ``x[j]``).
    Returns the node at ``node``'s position."""
    last = node.band_n_member() - 1
    ctx = node.get_ctx()
    row = node.band_get_partial_schedule().get_at(last).mod_val(isl.Val.int_from_si(ctx, rows))
    factors = [1] * last + [rows]
    inner = node.band_tile(_multi_val(node, factors)).child(0).delete()  # the inner loop
    below = inner.child(0).insert_partial_schedule(isl.MultiUnionPwAff.from_union_pw_aff(row))
    below = below.band_member_set_ast_loop_type(0, isl.ast_loop_type.unroll)
    return below.parent().parent()


def _first_size(tile: object) -> int:
    """The first size of a ``tile=`` value (an int, a tuple, or a list of
    tuples per level)."""
    while not isinstance(tile, int):
        tile = tile[0]  # type: ignore[index]
    return tile


def _without_fixed_bands(node: isl.ScheduleNode) -> isl.ScheduleNode:
    """The subtree at ``node`` without its bands whose every member is a
    function of the loops around it (a statement's ``[t]`` and ``[i]`` below a
    band over ``t`` and ``i``: one iteration each).  Returns the node at
    ``node``'s position."""
    if node.get_type() == isl.schedule_node_type.band:
        prefix = node.get_prefix_schedule_union_map()
        partial = node.band_get_partial_schedule_union_map()
        if prefix.reverse().apply_range(partial).is_single_valued():
            return _without_fixed_bands(node.delete())
    for position in range(node.n_children()):
        node = _without_fixed_bands(node.child(position)).parent()
    return node


def _blocked_rows(node: isl.ScheduleNode, rows: int) -> isl.ScheduleNode:
    factors = [1] * node.band_n_member()
    factors[-1] = rows
    node = node.band_tile(_multi_val(node, factors))
    point = node.child(0).band_member_set_ast_loop_type(len(factors) - 1,
                                                         isl.ast_loop_type.unroll)
    return point.band_sink().parent()


def _isolate_whole_rows(node: isl.ScheduleNode, row: isl.UnionMap, rows: int) -> isl.UnionSet:
    """isl's ``isolate`` option for the band at ``node`` whose last member
    runs blocks of ``rows`` values of ``row`` (instance -> its place in the
    block): the blocks where every place exists."""
    blocks = node.get_prefix_schedule_union_map().range_product(
        node.band_get_partial_schedule_union_map())
    present = blocks.reverse().apply_range(row)
    if present.is_empty():
        return isl.UnionSet.empty(node.get_domain().get_space().params())
    full = _whole_boxes(isl.Map.from_union_map(present), [rows])
    return isl.UnionSet.from_set(full.set_tuple_name(marks.ISOLATE))


def _in_program_order(node: isl.ScheduleNode, program: Program) -> isl.ScheduleNode:
    """The band at ``node`` with its statements, where it is the last level
    (a leaf below), in a sequence in program order: every dependence is
    carried by the band, so any order of one band point is legal, and isl
    would otherwise pick one (jacobi-2d's second sweep first, which makes
    its dependences on the first run backwards in a vector of the inner loop)."""
    if node.child(0).get_type() != isl.schedule_node_type.leaf:
        return node
    domain = node.get_domain()
    parts = [domain.extract_set(s.domain.get_space()) for s in program.statements]
    parts = [part for part in parts if not part.is_empty()]
    if len(parts) < 2:
        return node
    filters = isl.UnionSetList.alloc(node.get_ctx(), len(parts))
    for part in parts:
        filters = filters.add(isl.UnionSet.from_set(part))
    return node.child(0).insert_sequence(filters).parent()


def _simd_marked(node: isl.ScheduleNode, vectorize: bool) -> isl.ScheduleNode:
    """The band at ``node`` under a ``simd`` mark (when ``vectorize``); the
    node returned is the mark where one was inserted."""
    if not vectorize:
        return node
    return node.insert_mark(isl.Id(marks.SIMD, context=node.get_ctx()))


def _lanes_respect(node: isl.ScheduleNode, deps: isl.UnionMap) -> bool:
    """Whether vectorizing the one-member band at ``node`` respects ``deps``:
    a vector runs each statement of the body for all its lanes before the
    next statement, which is legal when the order with the member moved
    below everything under it (the loop distributed over the body) runs
    every dependence forward, and no statement depends on itself across
    iterations of the member (a vector reads all its lanes before it writes
    any: seidel-2d's ``A[i][j - 1]``)."""
    prefix = node.get_prefix_schedule_union_map()
    member = node.band_get_partial_schedule_union_map()
    outer = prefix.range_product(member)
    for dep in map_list(deps):
        if dep.get_tuple_name(isl.dim_type.in_) != dep.get_tuple_name(isl.dim_type.out):
            continue
        pairs = isl.UnionMap.from_map(dep).intersect(prefix.apply_range(prefix.reverse()))
        if not pairs.is_subset(outer.apply_range(outer.reverse())):
            return False  # a self-dependence carried by the member

    below = padded(node.child(0).get_subtree_schedule_union_map()) \
        if node.child(0).get_type() != isl.schedule_node_type.leaf else None
    order = prefix if below is None else prefix.flat_range_product(below)
    order = order.flat_range_product(member)
    if len({m.dim(isl.dim_type.out) for m in map_list(order)}) > 1:
        return False
    ahead = order.lex_lt_union_map(order)
    pending = deps.intersect_domain(order.domain()).intersect_range(order.domain())
    return pending.is_subset(ahead)


def _accumulates_along(node: isl.ScheduleNode, deps: isl.UnionMap,
                       program: Program) -> bool:
    """Whether a statement depends on itself across iterations of the
    one-member band at ``node`` (the loops around it fixed) between two
    instances that write the same element: it accumulates along the loop,
    one dependent operation per iteration (trisolv's ``x[i]`` along ``j``),
    unlike a loop that reads, on one iteration, what another wrote
    (floyd-warshall's ``path[i][k]`` along ``j``)."""
    prefix = node.get_prefix_schedule_union_map()
    outer = prefix.range_product(node.band_get_partial_schedule_union_map())
    writes = program.writes()
    candidates = prefix.apply_range(prefix.reverse()).intersect(
        writes.apply_range(writes.reverse()))
    same_iteration = outer.apply_range(outer.reverse())
    for dep in map_list(deps):
        if dep.get_tuple_name(isl.dim_type.in_) != dep.get_tuple_name(isl.dim_type.out):
            continue
        if not isl.UnionMap.from_map(dep).intersect(candidates).is_subset(same_iteration):
            return True
    return False


def _order_members(parallel: list[bool], strides: list[int]) -> tuple[list[int], list[str]]:
    """Member order (parallel members first, then reductions, then the
    parallel member with the most stride-1 accesses: the vector loop) and the
    role of each member in that order."""
    par = [m for m, flag in enumerate(parallel) if flag]
    carrying = [m for m, flag in enumerate(parallel) if not flag]
    if not par:
        return carrying, [REDUCTION] * len(carrying)
    best = max(reversed(par), key=lambda m: strides[m])  # ties: the innermost
    others = [m for m in par if m != best]
    order = others + carrying + [best]
    roles = [OUTER] * len(others) + [REDUCTION] * len(carrying) + [VECTOR]
    return order, roles


def _rows_member_last(order: list[int], roles: list[str], reuse: list[int]) -> list[int]:
    """``order`` with the outer member whose register-block rows share the
    most vector loads (:func:`bands.vector_reuse`; ties: the innermost) last
    among the outer members, where the register block takes its rows."""
    outer = [m for m, role in zip(order, roles) if role == OUTER]
    if len(outer) < 2:
        return order
    rows = max(reversed(outer), key=lambda m: reuse[m])
    others = iter([m for m in outer if m != rows] + [rows])
    return [next(others) if role == OUTER else m for m, role in zip(order, roles)]


def _carrying_members_below(node: isl.ScheduleNode, deps: isl.UnionMap) -> int:
    """The members of the bands below ``node`` that carry a dependence (the
    reduction loops of one statement: the deepest count)."""
    def deepest(current: isl.ScheduleNode) -> int:
        here = 0
        if current.get_type() == isl.schedule_node_type.band and not current.is_equal(node):
            here = sum(not flag for flag in bands.parallel_at_band(current, deps))
        below = [deepest(current.child(k)) for k in range(current.n_children())]
        return here + max(below, default=0)
    return deepest(node)


def _multi_val(node: isl.ScheduleNode, values: list[int]) -> isl.MultiVal:
    space = node.band_get_space()
    sizes = isl.MultiVal.zero(space)
    for position, value in enumerate(values):
        sizes = sizes.set_at(position, isl.Val.int_from_si(node.get_ctx(), value))
    return sizes


def _narrower_blocks(width: int, element_bytes: int) -> list[int]:
    """The vector widths of the register blocks that take the columns left
    outside whole blocks of ``width``: halves down to 32 bytes (a ymm
    register)."""
    widths = []
    while width % 2 == 0 and width // 2 * element_bytes >= 32:
        width //= 2
        widths.append(width)
    return widths


def _outside_whole_vectors(node: isl.ScheduleNode, vector: int, width: int) -> isl.UnionSet:
    """The instances of the point band at ``node`` whose block of ``width``
    consecutive values of member ``vector`` (within their tile) is not whole."""
    factors = [1] * node.band_n_member()
    factors[vector] = width
    blocks, present = _blocks_and_points(node.band_tile(_multi_val(node, factors)))
    if present.is_empty():
        return present.domain()
    whole = isl.UnionSet.from_set(_whole_boxes(isl.Map.from_union_map(present), factors))
    return node.get_domain().subtract(blocks.intersect_range(whole).domain()).coalesce()


def _blocks_and_points(node: isl.ScheduleNode) -> tuple[isl.UnionMap, isl.UnionMap]:
    """For the block band at ``node`` (a point band below it): each instance's
    ``[[outer] -> [block]]``, and from those to the points present."""
    outer = node.get_prefix_schedule_union_map()
    blocks = outer.range_product(node.band_get_partial_schedule_union_map())
    point = node.child(0).band_get_partial_schedule_union_map()
    return blocks, blocks.reverse().apply_range(point)


def _isolate_full_blocks(node: isl.ScheduleNode, factors: list[int]) -> isl.UnionSet:
    """isl's ``isolate`` option for the block band at ``node``: the blocks
    whose every point exists, generated apart with constant trip counts."""
    _, present = _blocks_and_points(node)
    if present.is_empty():
        return isl.UnionSet.empty(node.get_domain().get_space().params())
    full = _whole_boxes(isl.Map.from_union_map(present), factors)
    return isl.UnionSet.from_set(full.set_tuple_name(marks.ISOLATE))


def _unroll_full_blocks_only(node: isl.ScheduleNode, factors: list[int]) -> isl.ScheduleNode:
    """Below the block band at ``node``: each sunk point band whose last
    member is unrolled is unrolled in full blocks only (isl's ``isolate``
    option with an ``unroll`` loop type there, a plain loop elsewhere)."""
    def visit(current: isl.ScheduleNode) -> isl.ScheduleNode:
        if current.get_type() == isl.schedule_node_type.band:
            last = current.band_n_member() - 1
            if current.band_member_get_ast_loop_type(last) == isl.ast_loop_type.unroll:
                current = current.band_set_ast_build_options(
                    _isolate_full_points(current, factors))
                current = current.band_member_set_ast_loop_type(last, isl.ast_loop_type.default)
                return current.band_member_set_isolate_ast_loop_type(
                    last, isl.ast_loop_type.unroll)
        for position in range(current.n_children()):
            current = visit(current.child(position)).parent()
        return current
    return visit(node.child(0)).parent()


def _isolate_full_points(node: isl.ScheduleNode, factors: list[int]) -> isl.UnionSet:
    """isl's ``isolate`` option for the point band at ``node``: its points
    whose whole block (a box of ``factors``) exists."""
    prefix = node.get_prefix_schedule_union_map()
    point = node.band_get_partial_schedule_union_map()
    pairs = prefix.reverse().apply_range(point)  # [prefix] -> [point]
    if pairs.is_empty():
        return isl.UnionSet.empty(node.get_domain().get_space().params())
    present = isl.Map.from_union_map(pairs)
    full = present.intersect_domain(_whole_boxes(present, factors))
    return isl.UnionSet.from_set(full.wrap().set_tuple_name(marks.ISOLATE))


def _whole_boxes(present: isl.Map, factors: list[int]) -> isl.Set:
    """The domain points of ``present`` (a prefix -> the points of one
    block) whose block holds every point of the box ``0 <= x < factors``."""
    names = [f"x{d}" for d in range(len(factors))]
    bounds = " and ".join(f"0 <= {x} < {f}" for x, f in zip(names, factors))
    box = isl.Set(f"{{ [{', '.join(names)}] : {bounds} }}", context=present.get_ctx())
    box = box.align_params(present.get_space().params())
    everything = isl.Map.from_domain_and_range(present.domain(), box)
    missing = everything.subtract(present).domain()
    return present.domain().subtract(missing)


def _mark_promotions(node: isl.ScheduleNode, deps: isl.UnionMap) -> isl.ScheduleNode:
    """A ``promote`` mark above each outermost carrying band below the block
    band at ``node`` (the reduction loop the block is kept across)."""
    def visit(current: isl.ScheduleNode) -> isl.ScheduleNode:
        if (current.get_type() == isl.schedule_node_type.band
                and not all(bands.parallel_at_band(current, deps))):
            return current.insert_mark(isl.Id(marks.PROMOTE, context=current.get_ctx()))
        for position in range(current.n_children()):
            current = visit(current.child(position)).parent()
        return current
    return visit(node.child(0)).parent()


def _mark_simd(node: isl.ScheduleNode) -> isl.ScheduleNode:
    """A ``simd`` mark above the last member that stays a loop (isl does not
    unroll it) of each innermost band (a band with only leaves below) when
    that member is parallel."""
    if node.get_type() == isl.schedule_node_type.band and bands.innermost(node):
        n = node.band_n_member()
        while n > 1 and bands.unrolled(node, n - 1):
            n -= 1
        if n < node.band_n_member():
            node = node.band_split(n)  # the unrolled members: a band of their own below
        if bands.unrolled(node, n - 1):
            return node
        if node.band_member_get_coincident(n - 1):
            if n > 1:
                node = node.band_split(n - 1).child(0)
                return node.insert_mark(isl.Id(marks.SIMD, context=node.get_ctx())).parent()
            return node.insert_mark(isl.Id(marks.SIMD, context=node.get_ctx()))
        return node
    for position in range(node.n_children()):
        node = _mark_simd(node.child(position)).parent()
    return node
