"""Tiling, register tiling, wavefronts, SIMD marks and size specialisation.

The whole kernel corpus runs under option sets that force partial tiles and
partial register blocks at its small sizes (tiles of 3 to 5, blocks of 3 x 4),
packed tiles of 8, two tiling levels, no tiling at all, and specialised sizes; gemm, conv2d and
an MLP layer also run at sizes 1, 7, 33 and 100 under the default tiles.
"""
from __future__ import annotations

import os
import re
import sys

import islpy as isl
import numpy as np
import pytest

import polytc
from polytc.errors import ArgumentError, OptionError
from polytc.frontend import to_program
from polytc.poly import check as check_legality
from polytc.poly import dependences, pluto_schedule
from polytc.tiling import TilingOptions, tile_schedule
from polytc.tiling.model import Caches, cache_tile_sizes, machine_caches, register_block

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import test_kernels as corpus  # noqa: E402
from tc_programs import SOFTMAX  # noqa: E402

OPTION_SETS = {
    "small-tiles": dict(tile=(5, 3, 4), unroll=(3, 4)),
    "two-levels": dict(tile=[(8, 16, 8), (4, 4, 2)], unroll=(2, 8), parallel=False),
    "untiled": dict(tile=None, unroll=None, vectorize=False),
    "specialised": dict(specialize=True, tile=(4, 8, 4), unroll=(2, 4)),
    # tiles of 8 are the smallest whose streamed tiles are packed (8 reads
    # per element): the copies' clipping at the corpus's odd sizes
    "packed": dict(tile=8, unroll=(2, 4)),
}
MATMUL = "C(i,j) +=! A(i,k) * B(k,j)"
SYRK = "C(i,j) +=! A(i,k) * A(j,k)"
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}"""
CONV = """def conv(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {
    O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * W1(m,c,kh,kw)
}"""
WAVE = """def wave(float(N,M) A) -> (T) {
    T(i,j) = A(i,j)
    T(i,j) = T(i,j) + 0.5 * T(i-1,j) + 0.25 * T(i,j-1) where i in 1:N, j in 1:M
}"""


@pytest.mark.parametrize("options", list(OPTION_SETS), ids=list(OPTION_SETS))
@pytest.mark.parametrize("c", corpus.CASES, ids=[c.id for c in corpus.CASES])
def test_corpus_under_tiling_options(c: corpus.Case, options: str) -> None:
    kw = dict(OPTION_SETS[options])
    if c.dtype is not None:
        kw["dtype"] = c.dtype
    kernel = polytc.compile(c.tc, entry=c.entry, **kw)
    for which in (0, 1):
        x = corpus.inputs_for(c, which)
        corpus.check(c, kernel(*x.values()), corpus.expected(c, x), f" [{options}, sizes {which}]")


@pytest.mark.parametrize("n", [1, 7, 33, 100])
def test_matmul_sizes_not_multiples_of_tiles(n: int) -> None:
    rng = np.random.default_rng(n)
    A = rng.standard_normal((n, n + 3)).astype(np.float32)
    B = rng.standard_normal((n + 3, 2 * n + 1)).astype(np.float32)
    for kernel in (polytc.compile(MATMUL), polytc.compile(MATMUL, tile=[(64, 64, 64), (8, 16, 8)])):
        np.testing.assert_allclose(kernel(A, B), A @ B, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 7, 33, 100])
def test_mlp_and_conv_sizes_not_multiples_of_tiles(n: int) -> None:
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 37)).astype(np.float32)
    W = rng.standard_normal((n + 2, 37)).astype(np.float32)
    b = rng.standard_normal(n + 2).astype(np.float32)
    got = polytc.compile(MLP)(X, W, b)
    np.testing.assert_allclose(got, np.maximum(X @ W.T + b, 0), rtol=1e-4, atol=1e-4)
    side = min(n, 33) + 2
    image = rng.standard_normal((2, 3, side, side + 1)).astype(np.float32)
    weights = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    want = corpus.conv2d_ref(image, weights)
    np.testing.assert_allclose(polytc.compile(CONV)(image, weights), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 7, 33, 100])
def test_gathered_operand_sizes_not_multiples_of_tiles(n: int) -> None:
    """syrk's ``A(j, k)`` moves along the vector loop ``j`` with stride M:
    the block's rows are unrolled inside the vector loop (full blocks only)."""
    rng = np.random.default_rng(n)
    A = rng.standard_normal((n + 1, 2 * n + 3)).astype(np.float32)
    for kernel in (polytc.compile(SYRK), polytc.compile(SYRK, tile=(5, 3, 4), unroll=(3, 4))):
        np.testing.assert_allclose(kernel(A), A @ A.T, rtol=1e-4, atol=1e-4)


def test_rows_go_inside_the_vector_loop_only_for_gathers() -> None:
    """Without copies (``pack=False``) syrk's ``A(j, k)`` is gathered along
    ``j``: the rows go inside the vector loop, one gathered vector serving
    every row."""
    syrk, gemm = polytc.compile(SYRK, pack=False), polytc.compile(MATMUL)
    assert "unroll" in str(syrk.tiled_schedule) and "unroll" not in str(gemm.tiled_schedule)
    rows, width = register_block(4, gathers=True)
    # a full block: one simd loop over j whose body updates every row, one
    # statement each (unrolled by isl), the gathered A[(j) * K + k] shared
    loop = re.search(rf"#pragma omp simd\n\s*for \(int64_t (c\d+) = 0; \1 <= {width - 1}; "
                     r"[^)]*\)\n((?:\s*\{\n(?:.*\n)*?\s*\}\n){2,})", syrk.c_source)
    assert loop is not None
    assert loop.group(2).count("polytc_C_block[") == rows


def test_syrk_copies_the_read_across_its_vector_loop_and_reads_the_other_in_place() -> None:
    """syrk reads ``A`` twice: ``A(j, k)`` moves along the vector loop ``j``
    in its first subscript, ``A(i, k)`` not at all.  A tile copied with
    ``j`` last serves the first read in whole vectors; the second reads
    ``A`` itself (a broadcast per row), so the rows stay outside the vector
    loop as in gemm.  Results match numpy on sizes no tile divides."""
    kernel = polytc.compile(SYRK)
    source = kernel.c_source
    assert "pack:A@0/S1.1" in str(kernel.tiled_schedule)
    assert re.search(r"polytc_A_pack\[\(polytc_A_pack_x1\) \* \d+ \+ polytc_A_pack_x0\] = A\[",
                     source), source
    assert re.search(r"\+= \(A\[\(i\) \* K \+ k\] \* polytc_A_pack\[", source)
    assert "unroll" not in str(kernel.tiled_schedule)  # no gather: rows outside
    rng = np.random.default_rng(9)
    for n, k in ((1, 1), (7, 300), (197, 259), (300, 5), (65, 64)):
        A = rng.standard_normal((n, k)).astype(np.float32)
        for threads in (1, 2):
            np.testing.assert_allclose(kernel(A, num_threads=threads),
                                       A.astype(np.float64) @ A.T, rtol=1e-4, atol=1e-3)


def test_pack_mark_entries_round_trip() -> None:
    from polytc.tiling.marks import PackEntry, pack_entries, pack_mark
    entries = [PackEntry("B"), PackEntry("W", 0), PackEntry("A", 0, frozenset({("S1", 1)})),
               PackEntry("X", 1, frozenset({("S2", 0), ("S10", 3)}))]
    name = pack_mark(entries)
    assert name == "pack:B,W@0,A@0/S1.1,X@1/S10.3/S2.0"
    assert pack_entries(name) == entries
    assert entries[2].serves("S1", 1) and not entries[2].serves("S1", 0)
    assert entries[0].serves("S7", 4)


def test_default_tiles_hold_whole_register_blocks() -> None:
    """The MLP's band (i, n) reduces below it: its default cache tile along
    ``i`` is a multiple of the register block's rows, so full tiles have
    full blocks only."""
    program = to_program(MLP)
    deps = dependences(program)
    tiled = tile_schedule(program, pluto_schedule(program, deps), deps.all, TilingOptions())
    sizes = {int(size) for size in re.findall(r"\(i\) mod (\d+)", str(tiled))}
    rows = register_block(4)[0]
    assert rows in sizes and all(size % rows == 0 for size in sizes), sizes


def test_gemm_gets_cache_tiles_register_blocks_and_promotion() -> None:
    source = polytc.compile(MATMUL).c_source
    assert re.search(r"#pragma omp (parallel )?for\b", source) and "#pragma omp simd" in source
    assert "polytc_C_block[" in source  # C's register block held in a local array
    # the isolated full blocks have constant trip counts
    width = register_block(4)[1]
    assert re.search(rf"for \(int64_t c\d+ = 0; c\d+ <= {width - 1}; c\d+ \+= 1\)", source)


def test_gemm_packs_the_tile_of_b_it_streams() -> None:
    """Each cache tile's box of B (vector loads along j, one row per k) is
    copied into a contiguous buffer; A (broadcast along j) is not.  Results
    match numpy over several tiles, partial ones and threads."""
    kernel = polytc.compile(MATMUL)
    assert "polytc_B_pack[" in kernel.c_source and "polytc_A_pack" not in kernel.c_source
    rng = np.random.default_rng(5)
    for m, k, n in ((97, 300, 259), (1, 513, 7), (200, 3, 600)):
        A = rng.standard_normal((m, k)).astype(np.float32)
        B = rng.standard_normal((k, n)).astype(np.float32)
        want = A.astype(np.float64) @ B
        for threads in (1, 2):
            np.testing.assert_allclose(kernel(A, B, num_threads=threads), want,
                                       rtol=1e-4, atol=1e-3)


def test_mlp_packs_w_with_the_vector_dimension_last() -> None:
    """``W(n, k)`` moves along the vector loop ``n`` in its first subscript:
    each tile of W is copied with ``n`` last (read in whole vectors, no
    gather), the block's rows stay outside the vector loop.  Results match
    numpy over partial tiles, partial blocks of the copy and threads."""
    kernel = polytc.compile(MLP)
    source = kernel.c_source
    assert "polytc_W_pack[" in source and "#pragma GCC unroll" in source
    copy = re.search(r"polytc_W_pack\[(.*)\] = W\[", source)
    assert copy is not None and copy.group(1).endswith("+ polytc_W_pack_x0"), copy
    # the transposing copy takes W's rows 16 elements at a time, outermost
    assert re.search(r"for \(int64_t polytc_W_pack_b = 0; polytc_W_pack_b < polytc_W_pack_n1; "
                     r"polytc_W_pack_b \+= 16\)\s*\{\s*for \(int64_t polytc_W_pack_x0 = 0;",
                     source), source
    rng = np.random.default_rng(6)
    for b, k, n in ((37, 300, 70), (5, 3, 33), (1, 1, 1), (9, 17, 65), (103, 40, 127)):
        X = rng.standard_normal((b, k)).astype(np.float32)
        W = rng.standard_normal((n, k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        want = np.maximum(X.astype(np.float64) @ W.T + bias, 0)
        for threads in (1, 2):
            np.testing.assert_allclose(kernel(X, W, bias, num_threads=threads), want,
                                       rtol=1e-4, atol=1e-3)


NT_MATMUL = "C(i,j) +=! A(i,k) * B(j,k)"


@pytest.mark.parametrize("text, tensor", [(MATMUL, "B"), (MLP, "W"), (NT_MATMUL, "B")],
                         ids=["gemm", "mlp", "nt-gemm"])
def test_a_packed_tile_is_copied_once_for_every_tile_of_rows(text: str, tensor: str) -> None:
    """No packed read moves along the rows ``i``: their tile loop (96 rows)
    runs below the copy, which is made once per tile of the other loops
    instead of again for every tile of rows; the outer tile loop stays
    parallel.  Results match numpy on sizes no tile divides, at 1 and 2
    threads."""
    source = polytc.compile(text).c_source
    copy = source.index(f"polytc_{tensor}_pack[")
    assert not re.search(r"\+= 96\)", source[:copy]), source[:copy]
    assert re.search(r"for \(int64_t (c\d+) = 0; \1 < \w+; \1 \+= 96\)", source[copy:])
    assert re.search(r"#pragma omp (parallel )?for\b", source[:copy])
    kernel = polytc.compile(text)
    rng = np.random.default_rng(11)
    for m, n, k in ((197, 300, 259), (1, 70, 513), (101, 1, 3)):
        A = rng.standard_normal((m, k)).astype(np.float32)
        if text == MATMUL:
            B = rng.standard_normal((k, n)).astype(np.float32)
            inputs, want = (A, B), A.astype(np.float64) @ B
        else:
            B = rng.standard_normal((n, k)).astype(np.float32)
            want = A.astype(np.float64) @ B.T
            inputs = (A, B)
            if text == MLP:
                bias = rng.standard_normal(n).astype(np.float32)
                inputs, want = (A, B, bias), np.maximum(want + bias, 0)
        for threads in (1, 2):
            np.testing.assert_allclose(kernel(*inputs, num_threads=threads), want,
                                       rtol=1e-4, atol=1e-3)


def test_packing_needs_reuse() -> None:
    """A matrix-vector product reads each element of A once: nothing packed
    (nor transposed).  Each row below the copy reads each element of B's
    box once: 4 rows read it 4 times, not packed; 8 rows 8 times, packed; a
    row count unknown at compile time is taken to be enough."""
    for text in ("def mv(float(M,N) A, float(N) x) -> (y) { y(i) +=! A(i,j) * x(j) }",
                 "def mtv(float(M,N) A, float(M) x) -> (y) { y(j) +=! A(i,j) * x(i) }"):
        assert "_pack" not in polytc.compile(text).c_source, text
    few = polytc.compile(MATMUL, tile=4, sizes=dict(I=4, J=40, K=40))
    assert "_pack" not in few.c_source
    enough = polytc.compile(MATMUL, tile=4, sizes=dict(I=8, J=40, K=40))
    assert "polytc_B_pack[" in enough.c_source
    assert "polytc_B_pack[" in polytc.compile(MATMUL, tile=4).c_source
    rng = np.random.default_rng(2)
    for kernel, m in ((few, 4), (enough, 8)):
        A, B = rng.random((m, 40), dtype=np.float32), rng.random((40, 40), dtype=np.float32)
        np.testing.assert_allclose(kernel(A, B), A.astype(np.float64) @ B, rtol=1e-5)


def test_pack_buffers_of_one_tensor_share_only_compatible_layouts() -> None:
    """Packs of one tensor in one allocation scope share a buffer grown to
    the largest constant count; a pack sized by the tensor's extents that
    differs takes a second buffer instead of failing."""
    from polytc.codegen_c.emit import Emitter

    emitter = Emitter(to_program(MATMUL), {})
    assert emitter._pack_buffer("polytc_B_pack", "1024") == ("polytc_B_pack", "1024")
    emitter.scopes[-1]["polytc_B_pack"] = ("float", "1024")
    assert emitter._pack_buffer("polytc_B_pack", "4096") == ("polytc_B_pack", "4096")
    sized = "32 * (size_t)K"
    assert emitter._pack_buffer("polytc_B_pack", sized) == ("polytc_B_pack2", sized)
    emitter.scopes[-1]["polytc_B_pack2"] = ("float", sized)
    assert emitter._pack_buffer("polytc_B_pack", sized) == ("polytc_B_pack2", sized)
    assert emitter._pack_buffer("polytc_B_pack", "64 * (size_t)K") == \
        ("polytc_B_pack3", "64 * (size_t)K")


def test_every_loop_declares_its_iterator() -> None:
    """No generated code reads a loop variable after its loop (Pluto's gemm
    remainder bug): each ``for`` declares its own iterator."""
    for options in OPTION_SETS.values():
        kw = {k: v for k, v in options.items() if k != "specialize"}
        source = polytc.compile(MATMUL, **kw).c_source
        loops = re.findall(r"for \(([^;]*);", source)
        assert loops and all(init.startswith("int64_t ") for init in loops), loops


def test_wavefront_exposes_parallel_tile_loop() -> None:
    program = to_program(WAVE)
    deps = dependences(program)
    schedule = pluto_schedule(program, deps)
    tiled = tile_schedule(program, schedule, deps.all, TilingOptions(tile=((8, 8),)))
    assert check_legality(program, tiled, deps).legal
    kernel = polytc.compile(WAVE, tile=(8, 8))
    assert re.search(r"#pragma omp (parallel )?for\b", kernel.c_source)
    untiled = polytc.compile(WAVE, tile=None, parallel=False)
    assert "#pragma omp parallel" not in untiled.c_source
    rng = np.random.default_rng(3)
    A = rng.standard_normal((37, 29)).astype(np.float32)
    want = A.astype(np.float64).copy()
    for i in range(1, 37):
        for j in range(1, 29):
            want[i, j] += 0.5 * want[i - 1, j] + 0.25 * want[i, j - 1]
    for threads in (1, 3):
        np.testing.assert_allclose(kernel(A, num_threads=threads), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(untiled(A), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tile", [None, "auto", 4, (4, 8, 2), [(16, 16, 16), (4, 4, 4)]])
def test_tiled_schedules_are_legal(tile: object) -> None:
    for text in (MATMUL, MLP, CONV, WAVE):
        program = to_program(text)
        deps = dependences(program)
        schedule = pluto_schedule(program, deps)
        options = polytc.Options(tile=tile)
        tiled = tile_schedule(program, schedule, deps.all, TilingOptions(options.tile))
        assert check_legality(program, tiled, deps).legal, (text, tile)


def test_specialised_kernels_per_shape() -> None:
    kernel = polytc.compile(MATMUL, specialize=True)
    rng = np.random.default_rng(0)
    for m, k, n in ((5, 7, 9), (33, 17, 2), (5, 7, 9)):
        A = rng.standard_normal((m, k)).astype(np.float32)
        B = rng.standard_normal((k, n)).astype(np.float32)
        np.testing.assert_allclose(kernel(A, B), A @ B, rtol=1e-4, atol=1e-4)
    fixed = polytc.compile(MATMUL, sizes={"I": 5, "K": 7, "J": 9})
    assert "if (polytc_size0 != 5) return 3;" in fixed.c_source  # I, checked
    # strides stay opaque to gcc: known strides made it permute (MLP 13x slower)
    assert "POLYTC_OPAQUE(K);" in fixed.c_source and "* K + k]" in fixed.c_source
    assert re.search(r"for \(int64_t c\d+ = 0; c\d+ <= 4; ", fixed.c_source)  # a constant bound
    with pytest.raises(ArgumentError, match="specialised"):
        fixed(np.ones((6, 7), np.float32), np.ones((7, 9), np.float32))
    with pytest.raises(OptionError, match="not a size"):
        polytc.compile(MATMUL, sizes={"Q": 3})


def test_specialised_kernels_keep_the_parametric_schedule() -> None:
    """Sizes are constants for code generation only: scheduled with constant
    sizes, Pluto's bounding function took a row's length for a constant and
    fused softmax into a skewed band, 13x slower than the parametric one."""
    parametric = polytc.compile(SOFTMAX)
    fixed = polytc.compile(SOFTMAX, sizes={"N": 4096, "D": 2048})
    assert fixed.schedule.plain_is_equal(parametric.schedule)
    assert "if (polytc_size1 != 2048) return 3;" in fixed.c_source
    assert re.search(r"#pragma omp (parallel )?for[^\n]*\n\s*for \(int64_t c0 = 0; c0 <= 4095; "
                     r"c0 \+= 1\)", fixed.c_source), fixed.c_source[:3000]
    x = np.random.default_rng(4).standard_normal((4096, 2048), dtype=np.float32)
    np.testing.assert_allclose(fixed(x), parametric(x), rtol=1e-5, atol=1e-7)


def test_threads_option_is_the_default_thread_count() -> None:
    kernel = polytc.compile(MATMUL, threads=2)
    assert kernel._default_threads() == 2
    A = np.ones((40, 30), np.float32)
    np.testing.assert_allclose(kernel(A, A.T.copy()), A @ A.T)


@pytest.mark.parametrize("bad", [dict(tile=0), dict(tile="big"), dict(tile=[(4, -1)]),
                                 dict(unroll=0), dict(unroll="x"), dict(threads=0),
                                 dict(sizes={"N": -1})])
def test_bad_tiling_options_raise(bad: dict) -> None:
    with pytest.raises(OptionError):
        polytc.compile(MATMUL, **bad)


def test_cache_model() -> None:
    caches = machine_caches()
    assert caches.l1 > 0 and caches.l2 > caches.l1
    small = cache_tile_sizes(["outer", "reduction", "vector"], 4, Caches(32 * 1024, 256 * 1024))
    large = cache_tile_sizes(["outer", "reduction", "vector"], 4, Caches(48 * 1024, 4 << 20))
    assert small[1] < large[1] and small[2] < large[2]
    assert cache_tile_sizes(["outer", "vector"], 4, Caches()) == (32, 32)
    # reducing below (an MLP layer's i, n above k): 96 rows share a tile of W
    assert cache_tile_sizes(["outer", "vector"], 4, Caches(), reduces_below=True) == (96, 32)


def test_only_the_last_outer_member_is_cache_tiled() -> None:
    """Outer members before the last stay whole loops (tile 1), so the
    outermost parallel loop has as many iterations as its extent."""
    sizes = cache_tile_sizes(["outer", "outer", "outer", "reduction", "vector"], 4, Caches())
    assert sizes[:3] == (1, 1, 96) and sizes[3] == sizes[4] >= 32


def test_register_block_narrows_with_several_reductions(monkeypatch) -> None:
    from polytc.tiling import model
    monkeypatch.setattr(model, "vector_registers", lambda: (32, 64))
    assert model.register_block(4) == (6, 64) and model.register_block(8) == (6, 32)
    assert model.register_block(4, gathers=True) == (12, 32)
    assert model.register_block(4, 3) == (8, 32) and model.register_block(8, 3) == (8, 16)
    monkeypatch.setattr(model, "vector_registers", lambda: (16, 32))
    assert model.register_block(4) == model.register_block(4, 3) == (6, 16)


def test_conv_register_block_rows_run_along_output_channels() -> None:
    """The block's rows take the member along which the vector loads of
    I(n, c, h+kh, w+kw) do not move: m, not h; the batch loop is the whole
    outer parallel loop; the block is the several-reductions one."""
    source = polytc.compile(CONV).c_source
    rows, width = register_block(4, 3)
    assert re.search(r"#pragma omp (parallel )?for[^\n]*\n\s*for \(int64_t c0 = 0; c0 < N; "
                     r"c0 \+= 1\)", source)
    assert f"float polytc_O_block[{rows * width}];" in source
    assert f"polytc_O_block_x1 < {rows};" in source and "polytc_O_block_x2 < 1;" in source
    # the statements address the block by loop iterators: row c.. along m, h fixed
    assert re.search(rf"polytc_O_block\[\(\(\(0\) \* {rows} \+ c\d+\) \* 1 \+ 0\) \* {width} "
                     rf"\+ c\d+\] \+= ", source)


def test_conv_last_columns_run_in_narrower_register_blocks() -> None:
    """Output rows whose width the block's vector width does not divide end
    in full blocks of half and a quarter of it (56 = 32 + 16 + 8), each kept
    in registers: the statements address every block by loop iterators, not
    by ``w - offset`` (gcc keeps such a block in memory).  Results match
    numpy at widths that exercise each combination of block widths."""
    kernel = polytc.compile(CONV)
    source = kernel.c_source
    rows, width = register_block(4, 3)
    from polytc.tiling.transform import _narrower_blocks

    for narrower in [width] + _narrower_blocks(width, 4):
        assert f"float polytc_O_block[{rows * narrower}];" in source, narrower
    updates = re.findall(r"(polytc_O_block\[[^\n]*\]) \+= ", source)
    assert updates and not any("polytc_O_block_o" in u for u in updates), updates
    rng = np.random.default_rng(11)
    weights = rng.standard_normal((9, 4, 3, 3)).astype(np.float32)
    for out_width in (1, 8, 9, 16, 24, 31, 40, 56, 71):
        image = rng.standard_normal((1, 4, 4, out_width + 2)).astype(np.float32)
        np.testing.assert_allclose(kernel(image, weights), corpus.conv2d_ref(image, weights),
                                   rtol=1e-4, atol=1e-4, err_msg=f"width {out_width}")
    image = rng.standard_normal((2, 4, 5, 58)).astype(np.float32)  # 56 = 32 + 16 + 8
    sized = polytc.compile(CONV, specialize=True)
    np.testing.assert_allclose(sized(image, weights), corpus.conv2d_ref(image, weights),
                               rtol=1e-4, atol=1e-4)


def test_narrower_register_blocks_halve_down_to_32_bytes() -> None:
    from polytc.tiling.transform import _narrower_blocks

    assert _narrower_blocks(32, 4) == [16, 8]
    assert _narrower_blocks(16, 8) == [8, 4]
    assert _narrower_blocks(24, 4) == [12] and _narrower_blocks(8, 4) == []
    assert _narrower_blocks(4, 4) == [] and _narrower_blocks(3, 4) == []


def test_register_block_rows_loop_is_unrolled_by_gcc() -> None:
    """A register block's rows loop (constant trip count, a simd loop inside)
    carries ``#pragma GCC unroll``, parametric or specialised: with constant
    sizes gcc otherwise kept it a loop and the block in memory."""
    rows, _ = register_block(4)
    kernel = polytc.compile(MATMUL)
    sized = polytc.compile(MATMUL, specialize=True)
    rng = np.random.default_rng(3)
    A, B = (rng.standard_normal((n, m), dtype=np.float32) for n, m in ((37, 50), (50, 70)))
    np.testing.assert_allclose(sized(A, B), A @ B, rtol=1e-4, atol=1e-4)
    for source in (kernel.c_source, sized._sized((37, 50, 70)).c_source):
        pattern = rf"#pragma GCC unroll {rows}\n\s*for \(int64_t (c\d+) = 0; \1 <= {rows - 1}; "
        assert re.search(pattern, source), source[:2000]


def test_tiled_schedule_is_exposed() -> None:
    kernel = polytc.compile(MATMUL)
    assert isinstance(kernel.tiled_schedule, isl.Schedule)
    assert "promote" in str(kernel.tiled_schedule) and "promote" not in str(kernel.schedule)


# -- fusion at panel granularity ------------------------------------------------------
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "graph"))
import graph_cases  # noqa: E402


def test_ops_fused_in_the_batch_loop_run_panel_by_panel():
    """Smart fusion shares only the batch loop between the MLP's two
    matmuls; the default tiling splits it into panels, each matmul tiled inside."""
    from polytc.poly.legality import respects
    from polytc.tiling.panels import DEFAULT_ROWS, panel_fusion
    program = graph_cases.mlp_graph().compile(tile=None).program
    deps = dependences(program)
    schedule = pluto_schedule(program, deps, fuse="smart")
    panels = panel_fusion(schedule)
    assert panels is not None and respects(program, panels, deps.all)
    outer = panels.get_root().child(0)
    assert outer.get_type() == isl.schedule_node_type.band and outer.band_n_member() == 1
    assert f"mod {DEFAULT_ROWS}" in str(outer.band_get_partial_schedule())
    tiled = tile_schedule(program, schedule, deps.all, TilingOptions())
    assert check_legality(program, tiled).legal
    assert panel_fusion(pluto_schedule(program, deps, fuse="none")) is None


@pytest.mark.parametrize("batch", [1, 7, 47, 49, 100])
def test_panel_fused_kernel_matches_numpy_and_the_untiled_kernel(batch: int):
    arrays = graph_cases.mlp_inputs(np.random.default_rng(batch), B=batch, K=33, N=70, M=9)
    fused = graph_cases.mlp_graph().compile()(*arrays)
    plain = graph_cases.mlp_graph().compile(tile=None, unroll=None)(*arrays)
    np.testing.assert_allclose(fused, graph_cases.mlp_ref(*arrays), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4)


def test_scattered_register_blocks_fall_back_to_plain_tiles(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A band whose whole register blocks make more convex pieces than
    MAX_ISOLATED_PIECES (PolyBench's symm: 10) is tiled without register
    blocks: isl would take seconds over their AST for no speed."""
    from polytc.tiling import transform
    blocked = polytc.compile(MATMUL, cache=False)
    assert "promote" in str(blocked.tiled_summary)
    monkeypatch.setattr(transform, "MAX_ISOLATED_PIECES", 0)
    plain = polytc.compile(MATMUL, cache=False)
    summary = str(plain.tiled_summary)
    assert "promote" not in summary and "mod 12" not in summary
    rng = np.random.default_rng(0)
    A, B = rng.random((37, 29), dtype=np.float32), rng.random((29, 41), dtype=np.float32)
    np.testing.assert_allclose(plain(A, B), A @ B, rtol=1e-5)


def test_a_parallel_loops_buffers_are_allocated_once_per_thread() -> None:
    """gemm's packed tile of B: allocated in the parallel region before the
    work-shared loop, not in every iteration; freed once; results at two
    threads on sizes no tile divides."""
    kernel = polytc.compile(MATMUL)
    source = kernel.c_source
    region = re.search(r"#pragma omp parallel num_threads[^\n]*\n\s*\{\n\s*float \*restrict (\w+) "
                       r"= \(float \*\)aligned_alloc[^\n]*\n\s*#pragma omp for schedule\([^)]*\)"
                       r"\n\s*for ", source)
    assert region is not None, source[:3000]
    assert source.count(f"free({region.group(1)});") == 1
    assert f"if ({region.group(1)})" in source  # a failed allocation skips the work: status 2
    rng = np.random.default_rng(5)
    A, B = (rng.standard_normal(shape, dtype=np.float32) for shape in ((203, 301), (301, 157)))
    np.testing.assert_allclose(kernel(A, B, num_threads=2), A @ B, rtol=1e-4, atol=1e-3)
