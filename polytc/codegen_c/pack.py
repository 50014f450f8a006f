"""Packing: the tile of a streamed tensor copied into a contiguous buffer.

The tiling pass leaves a ``pack:<tensors>`` mark below the outermost cache
tile band of a register-tiled band, naming the tensors that the vector loop
loads whole vectors of (``B(k, j)`` in gemm; ``A(i, k)`` is broadcast).  For
each of them that the statements under the mark only read, with reuse (at
least :data:`MIN_REUSE` reads per element of the tile), code generation
copies the tile's box of the tensor into a buffer once per tile, row by row,
rows a constant length apart, and the statements read the buffer: the tile's
rows become consecutive, where a tile of ``B`` in a 1024-wide gemm had one
row per 4 KB page (a TLB miss and a stopped prefetcher at every iteration of
``k``).  BLAS packs the same way, in a blocked layout; a plain row-major one
measured the same here.  Gemm 1024^3, one thread, against OpenBLAS in one
process: 0.71x -> 0.79x (``B`` packed), 0.74x with ``A`` packed too (its
copy bought nothing), 0.64x with ``A`` alone.

A mark entry ``W@0`` asks for the tile of ``W`` with dimension 0 last: the
vector loop moves along that subscript (``W(n, k)`` in an MLP layer, the
vector loop on ``n``), so the tile is read in whole vectors from the copy
instead of gathered, and every row of a register block reads the same
vectors.  Such a copy is made whenever its box is known (the tiling pass has
laid the block out for it); its first dimension may run to the tensor's
extent (``k`` when the band holds no ``k`` loop).  MLP layer 256x1024x1024,
one thread, in one process: 1.6x faster than the gathering kernel.

Where the tensor is also read without moving along the vector loop (syrk's
``A(i, k)``, a broadcast per row, beside ``A(j, k)``), the mark names the
reads the copy serves (``A@0/S1.1``); the box is theirs, and only they read
the buffer.  syrk 768^2, one thread: 0.17x -> 0.54x numpy, whose OpenBLAS
computes half the products of ``A @ A.T``.

The box of a tensor is, per dimension, the smallest index the tile reads
(a function of the outer loops) and a constant bound on the count of indices
it reads; partial tiles copy the part of the box inside the tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import islpy as isl

from polytc import dtypes
from polytc.program import Program, Statement
from polytc.tiling.marks import PackEntry

MIN_REUSE = 8  # reads per element of the tile, below which a copy does not pay
MAX_PACKED_BYTES = 512 * 1024  # per tensor and tile: about a quarter of an L2 cache


@dataclass(frozen=True)
class Packing:
    """The box of ``tensor`` one tile reads: ``offsets`` (functions of the
    loops outside the mark) and constant ``sizes``."""

    tensor: str
    offsets: tuple[isl.PwAff, ...]
    sizes: tuple[int | None, ...]  # None: up to the tensor's extent (first in order only)
    order: tuple[int, ...]  # the tensor's dimensions in the buffer's row-major order
    reads: frozenset[tuple[str, int]] | None = None  # the reads served (PackEntry's); None: all


def plan_packings(program: Program, schedule: isl.UnionMap,
                  candidates: dict[str, PackEntry]) -> list[Packing]:
    """The packings of ``candidates`` worth making below a ``pack`` mark;
    ``schedule`` maps the statement instances under it to the loops outside
    it (isl's AST build schedule).  A candidate with a dimension to move
    last is packed whenever the box of the reads it serves has a constant
    size (the tiling pass relies on it: no vector gathers them)."""
    domain = schedule.domain()
    present = [s for s in program.statements
               if not domain.extract_set(s.domain.get_space()).is_empty()]
    written = {s.tensor for s in present}
    tile_counts: dict[str, int] = {}  # statement -> instances in one tile, as needed

    def tile_count(statement: Statement) -> int:
        """Instances of ``statement`` in one tile; a loop below the mark that
        runs a size-long range (the tile loop of gemm's rows ``i``, which
        the tiling pass puts below the copy) counts MIN_REUSE."""
        if statement.name not in tile_counts:
            mine = isl.UnionSet.from_set(domain.extract_set(statement.domain.get_space()))
            box = _box(schedule.reverse().intersect_range(mine),
                       unbounded=tuple(range(len(statement.iterators))))
            tile_counts[statement.name] = 0 if box is None else \
                math.prod(MIN_REUSE if size is None else size for size in box[1])
        return tile_counts[statement.name]

    packings = []
    for tensor in sorted(({read.tensor for s in present for read in s.reads} - written)
                         & set(candidates)):
        t = program.tensor(tensor)
        if t.rank < 2:
            continue
        reads = isl.UnionMap.empty(schedule.get_space().params())
        readers: list[tuple[Statement, int]] = []  # statement, its reads of the tensor
        entry = candidates[tensor]
        for statement in present:
            accesses = [read.access for read, place in statement.placed_reads()
                        if read.tensor == tensor and entry.serves(statement.name, place)]
            for access in accesses:
                reads = reads.union(isl.UnionMap.from_map(access))
            if accesses:
                readers.append((statement, len(accesses)))
        footprint = schedule.reverse().apply_range(reads.intersect_domain(domain))
        last = entry.last
        order = tuple(d for d in range(t.rank) if d != last) + (() if last is None else (last,))
        box = _box(footprint, unbounded=order[:1] if last is not None else ())
        if box is None or not _inside(footprint, t.shape):
            continue
        offsets, sizes = box
        if last is None:
            count = element_count(sizes)
            # reads of the tensor by the statement reading it most often in one tile
            instances = max(tile_count(statement) * n for statement, n in readers)
            if (sum(size != 1 for size in sizes) < 2 or sizes[-1] == 1
                    or count * max(1, dtypes.bits(t.dtype) // 8) > MAX_PACKED_BYTES
                    or instances < MIN_REUSE * count):
                continue
        packings.append(Packing(tensor, offsets, sizes, order, entry.reads))
    return packings


def _box(footprint: isl.UnionMap, unbounded: tuple[int, ...] = ()
         ) -> tuple[tuple[isl.PwAff, ...], tuple[int | None, ...]] | None:
    """Per dimension of the one tensor ``footprint`` reaches: its smallest
    index (a function of the outer loops) and a constant bound on the count
    of indices (None where there is none and the dimension is in
    ``unbounded``), else None."""
    if footprint.is_empty():
        return None
    try:
        relation = isl.Map.from_union_map(footprint)
    except isl.Error:  # several tensors
        return None
    n = relation.dim(isl.dim_type.out)
    offsets: list[isl.PwAff] = []
    sizes: list[int | None] = []
    for d in range(n):
        along = relation.project_out(isl.dim_type.out, d + 1, n - d - 1) \
            .project_out(isl.dim_type.out, 0, d)
        low, high = along.lexmin_pw_multi_aff(), along.lexmax_pw_multi_aff()
        span = isl.Map.from_pw_aff(high.get_pw_aff(0).sub(low.get_pw_aff(0))).range()
        if span.is_empty():
            return None
        largest = span.dim_max_val(0)
        offsets.append(low.get_pw_aff(0))
        if largest.is_int():
            sizes.append(largest.to_python() + 1)
        elif d in unbounded:
            sizes.append(None)
        else:
            return None  # the tile reaches a size-long range
    return tuple(offsets), tuple(sizes)


def element_count(sizes: tuple[int | None, ...]) -> int:
    """The element count of a box (0 when a size is unbounded)."""
    return math.prod(size or 0 for size in sizes)


def _inside(footprint: isl.UnionMap, shape: tuple[isl.PwAff, ...]) -> bool:
    """Whether every element ``footprint`` reads lies inside a tensor of
    ``shape`` (then the box clipped to the tensor covers the footprint)."""
    elements = isl.Map.from_union_map(footprint).range()
    for d, extent in enumerate(shape):
        low, high = elements.dim_min(d), elements.dim_max(d)
        extent = extent.align_params(high.get_space())
        zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(low.get_domain_space()))
        if not (low.domain().is_subset(low.ge_set(zero))
                and high.domain().is_subset(high.lt_set(extent))):
            return False
    return True
