"""Default tile and register-block sizes from the machine's own caches.

The model, in one paragraph: a band member is a *vector* loop (parallel and
stride-1 for most accesses: it becomes the innermost ``omp simd`` loop), a
*reduction* loop (it carries a dependence), or an *outer* loop.  Cache tiles
keep the panel touched by the vector and reduction loops (``B(k, j)`` in
gemm) within a quarter of the L2 cache, so it stays there while the outer
loop streams through its rows: the side ``s = 2**floor(log2(sqrt(L2 / 4 /
element size)))``, clipped to [32, 512]; the last outer loop gets 96 (a
multiple of the register block's rows) and outer loops before it 1: they stay
whole loops, so the outermost (parallel) loop has as many iterations as its
extent (a conv2d's batch of 4 in one tile of 96 left a second thread idle).
A band whose statements reduce in a band below it (an MLP layer's ``i, n``
above ``k``) keeps 96 for its last outer loop, and its vector tile fits a
quarter of the L1 cache (its panel spans the whole reduction): a tile of
``W(n, k)`` copied for 96 rows of ``i`` instead of 36 (MLP layer 1.9x
faster).  Other bands without a reduction (maps, transposes) get square
tiles that fit half the L1 cache in each of two arrays.  Register blocks hold
24 of AVX-512's 32 registers as accumulators: 6 rows of four vectors (gemm),
12 rows of two where a read is gathered along the vector loop, 8 rows of two
with several reduction loops inside the block; with AVX2, 6 rows of two
vectors (:func:`register_block`).  Cache
sizes come from ``/sys/devices/system/cpu/cpu0/cache``; 48 KiB / 2 MiB when
unreadable.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

VECTOR, REDUCTION, OUTER = "vector", "reduction", "outer"
_SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass(frozen=True, slots=True)
class Caches:
    """Per-core data cache sizes in bytes."""

    l1: int = 48 * 1024
    l2: int = 2 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def machine_caches() -> Caches:
    """The L1 data and L2 sizes of CPU 0, from sysfs (Linux), else defaults."""
    sizes = data_cache_sizes()
    default = Caches()
    return Caches(sizes.get(1, default.l1), sizes.get(2, default.l2))


@functools.lru_cache(maxsize=1)
def data_cache_sizes() -> dict[int, int]:
    """Bytes of each data (or unified) cache level of CPU 0 from sysfs
    (Linux); empty when unreadable."""
    sizes: dict[int, int] = {}
    try:
        for index in sorted(_SYSFS.glob("index*")):
            kind = (index / "type").read_text().strip()
            if kind not in ("Data", "Unified"):
                continue
            level = int((index / "level").read_text())
            sizes[level] = _bytes((index / "size").read_text().strip())
    except (OSError, ValueError):
        return {}
    return sizes


def _bytes(text: str) -> int:
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    if text and text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def _power_of_two_side(budget_bytes: float, element_bytes: int, lo: int, hi: int) -> int:
    side = math.sqrt(max(1.0, budget_bytes / element_bytes))
    return max(lo, min(hi, 2 ** int(math.log2(side))))


def cache_tile_sizes(roles: list[str], element_bytes: int,
                     caches: Caches | None = None, reduces_below: bool = False) -> tuple[int, ...]:
    """One tile size per band member, by role (see the module docstring);
    ``reduces_below``: the band's statements reduce in a band below it."""
    caches = caches or machine_caches()
    if REDUCTION in roles or reduces_below:
        side = _power_of_two_side(caches.l2 / 4, element_bytes, 32, 512)
        if REDUCTION not in roles:  # the vector tile's panel spans the whole reduction
            side = _power_of_two_side(caches.l1 / 4, element_bytes, 16, 256)
        table = {VECTOR: side, REDUCTION: side, OUTER: 96}
        last_outer = max((p for p, role in enumerate(roles) if role == OUTER), default=-1)
        return tuple(1 if role == OUTER and p < last_outer else table[role]
                     for p, role in enumerate(roles))
    side = _power_of_two_side(caches.l1 / 4, element_bytes, 16, 256)
    return tuple(side for _ in roles)


def time_tile_sizes(n_members: int, element_bytes: int, caches: Caches | None = None,
                    vector_inner: bool = True, diamond: bool = False,
                    jammed: bool = False, one_thread: bool = False) -> tuple[int, ...]:
    """Tile sizes of a skewed time band (time first, then space, the last
    member stride-1): TIME_HEIGHT steps, SPACE_SIDE along the outer space
    members, and along the inner one the elements of a quarter of the L1
    cache (a power of two in [64, 1024]), a row the vector loop streams.
    Small sides leave each wavefront many tiles to run in parallel: a heat-3d
    of 120^3 with sides of 32 had three tiles per wavefront and ran no
    faster on two threads; with 16 it ran 1.2x faster (jacobi-2d 1300^2:
    1.8x); one thread lost nothing (both 1.5-2x gcc).  Where the inner loop
    cannot be vectorized (a statement that depends on itself along it:
    seidel-2d), a long row buys nothing and cubes of SEQUENTIAL_SIDE keep
    the tile's planes in cache (seidel-2d 1000^2 x 40: 1.3x gcc with 32^3,
    1.0x with 16 x 16 x 1024); ``jammed`` (rows run together in that loop,
    see :func:`polytc.tiling.transform._jammed_rows`), rows of JAMMED_ROW
    (seidel-2d at LARGE, 8 rows jammed: 3.39 s with 32^3, 3.25 s with
    32 x 32 x 128, 3.22 s with 32 x 32 x 256; 1.71 and 1.68 s on 2 threads;
    gcc 17.2 s).  ``diamond``: the time member's tiles run
    along the mirror of the first space member (:mod:`polytc.tiling.diamond`)
    and get that member's size, so that the tiles of a time step all start
    together.  ``one_thread``: the tiles of code that runs on one thread,
    where no wavefront needs many tiles: for two space dimensions
    ONE_THREAD_SIDE steps and rows and ONE_THREAD_ROW columns (PolyBench
    LARGE, 1 thread, seconds: jacobi-2d 0.71 with 16 x 16 x 1024, 0.60
    with 64 x 64 x 256, 0.63 with 64 x 64 x 1024; fdtd-2d 0.61, 0.48,
    0.59; seidel-2d, whose row is not vectorized, keeps its cubes); the
    other shapes keep their sizes (unmeasured)."""
    if one_thread and vector_inner and n_members == 3 and not diamond:
        return (ONE_THREAD_SIDE, ONE_THREAD_SIDE, ONE_THREAD_ROW)
    if not vector_inner:
        sizes = (SEQUENTIAL_SIDE,) * (n_members - 1) \
            + (JAMMED_ROW if jammed else SEQUENTIAL_SIDE,)
    else:
        caches = caches or machine_caches()
        inner = 2 ** int(math.log2(max(1, caches.l1 // (4 * element_bytes))))
        inner = max(64, min(1024, inner))
        sizes = (TIME_HEIGHT,) + (SPACE_SIDE,) * (n_members - 2) + (inner,)
    return sizes[1:2] + sizes[1:] if diamond and n_members > 1 else sizes


def stream_chunk(element_bytes: int, caches: Caches | None = None) -> int:
    """The elements of a streaming band's vector chunk: a quarter of the L1
    cache (a power of two, at least 256)."""
    caches = caches or machine_caches()
    return max(256, 2 ** int(math.log2(max(1, caches.l1 // (4 * element_bytes)))))


TIME_HEIGHT = 16
SPACE_SIDE = 16
SEQUENTIAL_SIDE = 32
ONE_THREAD_SIDE = 64
ONE_THREAD_ROW = 256
JAMMED_ROW = 128


@functools.lru_cache(maxsize=1)
def vector_registers() -> tuple[int, int]:
    """(count, bytes) of the machine's vector registers: AVX-512's 32 x 64
    bytes when ``/proc/cpuinfo`` lists avx512f, else AVX2's 16 x 32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 16, 32
    return (32, 64) if " avx512f" in flags else (16, 32)


def register_block(element_bytes: int, reductions: int = 1,
                   gathers: bool = False) -> tuple[int, int]:
    """(rows unrolled, vector-loop width) of a register block.  With
    AVX-512's 32 registers and one reduction loop inside the block (gemm),
    6 rows of four vectors: 24 accumulators fed by 4 vector loads and 6
    broadcasts per step, where 12 rows of two vectors needed 2 loads and 12
    broadcasts and spilled a row address (gemm 1024^3, one thread, in one
    process: 0.72x -> 0.91x OpenBLAS; 2mm 0.76x -> 0.83x, MLP layer 0.68x ->
    0.73x).  When a read is gathered along the vector loop (``A(j, k)`` in
    syrk when it is not copied, ``pack=False``), every vector gathered
    serves every row: 12 rows of two vectors (syrk 0.17x numpy; 0.11x with
    6 x 4; copied with ``j`` last and 6 x 4, 0.54x, where OpenBLAS computes
    half the products).  When several reduction loops run
    inside the block (a conv2d's ``c, kh, kw``), the rows' operand addresses
    are set up again at every iteration of the outer ones and 12 of them do
    not fit in the general-purpose registers: 8 rows of two vectors (fused
    conv -> relu -> pool 13 -> 6 ms; conv2d 64->64 0.82x numpy, 0.57x with 6
    x 4: 56-wide images leave a 64-wide block empty).  With AVX2's 16
    registers, 6 rows of two vectors."""
    count, width = vector_registers()
    if count < 32:
        return 6, max(4, 2 * width // element_bytes)
    if reductions > 1:
        return 8, max(4, 2 * width // element_bytes)
    if gathers:
        return 12, max(4, 2 * width // element_bytes)
    return 6, max(4, 4 * width // element_bytes)
