"""Parallel loops whose static blocks would be uneven get ``schedule(dynamic, 1)``; others
stay ``static`` (polytc/codegen_c/balance.py)."""
from __future__ import annotations

import re

import islpy as isl
import numpy as np

import polytc
from polytc.codegen_c.balance import little_work_per_iteration, uneven_blocks

SYRK = """
def syrk(float(N,K) A) -> (C) {
    C(i,j) +=! A(i,k) * A(j,k) where j in 0:i+1
}
"""
MATMUL = "C(i,j) +=! A(i,k) * B(k,j)"


def _splits(source: str) -> list[str]:
    return re.findall(r"#pragma omp (?:parallel for|for).*(schedule\([^)]*\))", source)


def test_a_triangular_loop_is_handed_out_one_iteration_at_a_time():
    kernel = polytc.compile(SYRK)
    assert _splits(kernel.c_source) == ["schedule(dynamic, 1)"]
    rng = np.random.default_rng(7)
    for n, k in ((77, 45), (130, 9)):  # not multiples of any tile
        A = rng.standard_normal((n, k)).astype(np.float32)
        expected = np.tril(A.astype(np.float64) @ A.T.astype(np.float64))
        for threads in (1, 2):
            got = np.tril(kernel(A, num_threads=threads))
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_few_row_tiles_are_handed_out_one_at_a_time_many_rows_in_blocks():
    """A matmul's 96-row tiles are few (11 at 1000 rows): one at a time.
    Untiled, its 1000 rows of even work keep static blocks."""
    tiled = polytc.compile(MATMUL)
    assert set(_splits(tiled.c_source)) == {"schedule(dynamic, 1)"}
    assert set(_splits(polytc.compile(MATMUL, tile=None).c_source)) == {"schedule(static)"}
    rng = np.random.default_rng(9)
    A = rng.standard_normal((203, 37)).astype(np.float32)
    B = rng.standard_normal((37, 71)).astype(np.float32)
    np.testing.assert_allclose(tiled(A, B, num_threads=2), A @ B, rtol=1e-4, atol=1e-4)


def test_fixed_sizes_are_the_ones_measured():
    """With the sizes fixed, the test uses them: a triangle of several rows of tiles
    is still uneven, and the kernel stays correct."""
    kernel = polytc.compile(SYRK, sizes={"N": 500, "K": 20})
    assert _splits(kernel.c_source) == ["schedule(dynamic, 1)"]
    A = np.random.default_rng(8).standard_normal((500, 20)).astype(np.float32)
    np.testing.assert_allclose(np.tril(kernel(A, num_threads=2)), np.tril(A @ A.T),
                               rtol=1e-4, atol=1e-4)


def _band(schedule: str, domain: str) -> isl.ScheduleNode:
    ctx = isl.Context()
    tree = isl.Schedule.from_domain(isl.UnionSet(domain, context=ctx))
    node = tree.get_root().child(0).insert_partial_schedule(
        isl.MultiUnionPwAff(schedule, context=ctx))
    return node


def test_uneven_blocks_measures_the_iterations():
    triangle = "[n] -> { S[i, j] : 0 <= j <= i < n }"
    square = "[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n }"
    assert uneven_blocks(_band("[{ S[i, j] -> [(i)] }]", triangle), 0, None)
    assert uneven_blocks(_band("[{ S[i, j] -> [(j)] }]", triangle), 0, None)
    assert not uneven_blocks(_band("[{ S[i, j] -> [(i)] }]", square), 0, None)
    # tiles of a square: the last, partial tile is not counted; 32 tiles of
    # 32 rows at n = 1000 are many, 11 tiles of 96 few
    assert not uneven_blocks(_band("[{ S[i, j] -> [(32 * floor(i / 32))] }]", square), 0, None)
    assert uneven_blocks(_band("[{ S[i, j] -> [(96 * floor(i / 96))] }]", square), 0, None)
    # one tile of 1024 columns at n = 1000 (three at n = 2100: atax's columns)
    assert uneven_blocks(_band("[{ S[i, j] -> [(1024 * floor(j / 1024))] }]", square), 0, None)
    # a band member inside another loop keeps static blocks
    two = _band("[{ S[i, j] -> [(j)] }, { S[i, j] -> [(i)] }]", triangle)
    assert not uneven_blocks(two, 1, None)


def test_little_work_per_iteration_of_the_loop_around() -> None:
    """A band inside one loop whose iterations each run fewer than
    MIN_FORKED_WORK instances (at sizes of 1000) is no place for a fork;
    a plane of a cube per iteration is; a band at the top is never judged."""
    def inner(domain: str, outer: str, band: str) -> isl.ScheduleNode:
        node = _band(outer, domain).child(0)
        return node.insert_partial_schedule(isl.MultiUnionPwAff(band, context=node.get_ctx()))
    square = "[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n }"
    cube = "[n] -> { S[i, j, k] : 0 <= i < n and 0 <= j < n and 0 <= k < n }"
    assert little_work_per_iteration(
        inner(square, "[{ S[i, j] -> [(i)] }]", "[{ S[i, j] -> [(j)] }]"), None)
    assert not little_work_per_iteration(
        inner(cube, "[{ S[i, j, k] -> [(i)] }]", "[{ S[i, j, k] -> [(j)] }]"), None)
    assert not little_work_per_iteration(_band("[{ S[i, j] -> [(i)] }]", square), None)
    # a remainder block of rows (n mod 8 of them): empty at n = 1000, judged at 1007
    tail = "[n] -> { S[i, j] : 8 * floor(n / 8) <= i < n and 0 <= j < n }"
    assert little_work_per_iteration(
        inner(tail, "[{ S[i, j] -> [(i - (i) mod 8)] }]", "[{ S[i, j] -> [(i)] }]"), None)
