"""Partial register blocks (the last columns or rows that the block width
does not divide) are promoted like whole ones, and their vector loop runs
the block's whole width where that is safe (``promote.padded_trips``)."""
from __future__ import annotations

import re

import islpy as isl
import numpy as np
import pytest

import polytc
from polytc.codegen_c.promote import exact_box
from polytc.tiling.model import register_block

GEMM_C0 = """
def gemm(float(M,K) A, float(K,N) B, float(M,N) C0) -> (C) {
    C(i,j) = C0(i,j) where i in 0:M, j in 0:N
    C(i,j) += A(i,k) * B(k,j)
}
"""
SCALED = """
def scaled(float(M,K) A, float(K,N) B, float(N) s) -> (C) {
    C(i,j) +=! A(i,k) * B(k,j) * s(j)
}
"""
INT_MATMUL = "def mm(int32(M,K) A, int32(K,N) B) -> (C) { C(i,j) +=! A(i,k) * B(k,j) }"

WIDTH = register_block(4)[1]
#: a padded vector loop: run only where the partial block has lanes, then whole
PADDED = re.compile(r"if \(\(0 <=? [^\n]*\)\)\s*\{\s*#pragma omp simd\s*"
                    rf"for \(int64_t (c\d+) = 0; \1 < {WIDTH}; \1 \+= 1\)")


def test_a_partial_blocks_vector_loop_runs_the_whole_width() -> None:
    source = polytc.compile(GEMM_C0).c_source
    assert PADDED.search(source), source
    # C0 is read in memory along the lanes: its copy into the block keeps its trip count
    assert re.search(rf"c\d+ < \(N % {WIDTH}\);[^\n]*\n(?:[^\n]*\n){{3}}"
                     r"[^\n]*polytc_C_block\[[^\n]*\] = u_C0\[", source), source
    # the padded lanes read the packed tile of B up to a block past its end
    count = re.search(r"polytc_B_pack = \(float \*\)aligned_alloc\(64, \(sizeof\(float\) \* "
                      r"\((\d+)\)", source)
    assert count is not None and int(count.group(1)) % 1024 >= WIDTH, source[:2000]


@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (5, 15, 3), (7, WIDTH - 1, 300),
                                     (13, WIDTH + 1, 33), (100, 4 * WIDTH + 17, 257),
                                     (97, 257 + WIDTH - 1, 255)])
def test_padded_blocks_match_numpy(m: int, n: int, k: int) -> None:
    rng = np.random.default_rng(m * n + k)
    A = rng.standard_normal((m, k)).astype(np.float32)
    B = rng.standard_normal((k, n)).astype(np.float32)
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    kernel = polytc.compile(GEMM_C0)
    want = C0 + A.astype(np.float64) @ B
    for threads in (1, 2):
        np.testing.assert_allclose(kernel(A, B, C0, num_threads=threads), want,
                                   rtol=1e-4, atol=1e-3)


LOWER = """
def lower(float(N,K) A, float(K,N) B) -> (C) {
    C(i,j) +=! A(i,k) * B(k,j) where j in 0:i+1
}
"""
LOWER_SYRK = """
def syrk(float(N,K) A) -> (C) {
    C(i,j) +=! A(i,k) * A(j,k) where j in 0:i+1
}
"""


@pytest.mark.parametrize("n, k", [(13, 7), (70, 9), (200, 33), (301, 260)])
def test_a_triangles_lanes_are_not_padded(n: int, k: int) -> None:
    """Under a triangle (``j <= i``) the lanes a row runs move with the row:
    the block's box holds lanes of the later rows that an earlier row does
    not run, and its store copies the whole box back, so padded lanes
    would store what they computed there (every diagonal block was wrong at
    N = 200, and at N = 13 once the tile of ``A(j, k)`` was packed).  The
    triangle's partial blocks keep their exact lanes."""
    rng = np.random.default_rng(n + k)
    A = rng.standard_normal((n, k)).astype(np.float32)
    B = rng.standard_normal((k, n)).astype(np.float32)
    for text, inputs, other in ((LOWER, (A, B), B), (LOWER_SYRK, (A,), A.T)):
        kernel = polytc.compile(text)
        want = np.tril(A.astype(np.float64) @ other)
        for threads in (1, 2):
            np.testing.assert_allclose(kernel(*inputs, num_threads=threads), want,
                                       rtol=1e-4, atol=1e-3)


def test_a_read_in_memory_along_the_lanes_keeps_the_loop_exact() -> None:
    """``s(j)`` is read along the vector loop from the tensor itself (a
    padded lane would read past its end): the partial block's accumulation
    keeps its trip count, and so the block stays in memory (its copies would
    buy nothing)."""
    kernel = polytc.compile(SCALED)
    source = kernel.c_source
    assert not PADDED.search(source)
    assert re.search(rf"c\d+ < \(N % {WIDTH}\);[^\n]*\n(?:[^\n]*\n){{4}}"
                     r"[^\n]*C\[[^\n]*\* s\[j\]\);", source), source
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((37, 300)), rng.standard_normal((300, 2 * WIDTH + 5))
    s = rng.standard_normal(2 * WIDTH + 5)
    A, B, s = (x.astype(np.float32) for x in (A, B, s))
    np.testing.assert_allclose(kernel(A, B, s), (A.astype(np.float64) @ B) * s,
                               rtol=1e-4, atol=1e-3)


def test_integer_blocks_are_not_padded() -> None:
    """A padded lane computes on whatever the buffers hold: only floating
    point, where nothing traps."""
    kernel = polytc.compile(INT_MATMUL)
    assert not PADDED.search(kernel.c_source)
    rng = np.random.default_rng(4)
    A = rng.integers(-9, 9, (21, 40), dtype=np.int32)
    B = rng.integers(-9, 9, (40, WIDTH + 3), dtype=np.int32)
    np.testing.assert_array_equal(kernel(A, B), A @ B)


def test_exact_box_bounds_a_size_that_moves_with_the_loops() -> None:
    ctx = isl.Context()
    partial = isl.UnionMap("[N] -> { [c] -> C[x] : c >= 0 and c <= x < N and x < c + 60 "
                           "and c % 60 = 0 }", context=ctx)
    box = exact_box(partial)
    assert box is not None
    assert box.sizes == (64,)  # a bound of 60, padded to whole vectors of 8
    assert box.extents[0] is not None  # min(60, N - c): moves with c
    whole = isl.UnionMap("{ [c] -> C[x, y] : 0 <= c < 10 and c <= x < c + 6 and 0 <= y < 16 }",
                         context=ctx)
    box = exact_box(whole)
    assert box is not None and box.sizes == (6, 16) and box.extents == (None, None)
    triangle = isl.UnionMap("{ [c] -> C[x, y] : 0 <= c < 10 and 0 <= y <= x < 6 }",
                            context=ctx)
    assert exact_box(triangle) is None


def test_exact_box_without_padding_takes_whole_boxes_only() -> None:
    """Where a partial block cannot run padded, only a box of constant
    sizes is a block: the same box as with padding allowed, or none."""
    ctx = isl.Context()
    no_padding = lambda: False  # noqa: E731
    whole = isl.UnionMap("[N] -> { [c] -> C[x, y] : 0 <= c < N and c <= x < c + 6 and "
                         "2c <= y < 2c + 16 }", context=ctx)
    found, padded = exact_box(whole, no_padding), exact_box(whole)
    assert found is not None and padded is not None
    assert found.sizes == padded.sizes == (6, 16) and found.extents == (None, None)
    assert found.corner.is_equal(padded.corner)
    partial = isl.UnionMap("[N] -> { [c] -> C[x] : c >= 0 and c <= x < N and x < c + 60 "
                           "and c % 60 = 0 }", context=ctx)
    assert exact_box(partial, no_padding) is None and exact_box(partial) is not None
    holed = isl.UnionMap("{ [c] -> C[x, y] : 0 <= c < 10 and 0 <= x < 6 and 0 <= y < 8 and "
                         "(x < 5 or y < 7) }", context=ctx)
    assert exact_box(holed, no_padding) is None and exact_box(holed) is None
    unbounded = isl.UnionMap("[N] -> { [c] -> C[x] : 0 <= c and c <= x < N }", context=ctx)
    assert exact_box(unbounded, no_padding) is None


MLP = """
def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i, n) +=! X(i, k) * W(n, k)
    Y(i, n) = fmax(Y(i, n) + b(n), 0)
}
"""


def test_a_partial_block_reads_a_transposed_pack_along_its_rows() -> None:
    """An MLP layer's ``W(n, k)`` is packed with ``n`` last: its partial
    blocks read that pack along its rows, padded; the last rows of a block
    keep their loop (results: tests/tiling's MLP test, at widths that leave
    partial blocks)."""
    kernel = polytc.compile(MLP)
    source = kernel.c_source
    assert PADDED.search(source), source
    assert not re.search(r"GCC unroll \d+\s*for \(int64_t (c\d+) = 0; \1 < \d+;", source)
