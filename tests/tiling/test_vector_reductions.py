"""Vectorised reductions (``omp simd reduction``, polytc.tiling.reductions):
matrix-vector products and row reductions of TC input (its reduction order is
unspecified), at sizes that are no multiple of the register block's 8 rows
nor of any vector width, against numpy under a tolerance that grows with
the reduction's length; ``reassociate=False`` and C input keep the written
order."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import polytc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontend_c"))
from c_kernels import MVT  # noqa: E402

GEMV = "def gemv(float(M,N) A, float(N) x) -> (y) { y(i) +=! A(i, j) * x(j) }"
BATCHED = """def bgemv(float(B,M,N) A, float(B,N) x) -> (y) {
    y(b, i) +=! A(b, i, j) * x(b, j)
}"""
SIZES = [(1, 1), (2, 4), (7, 3), (8, 5), (13, 37), (17, 100), (40, 257)]


def _rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def _close(got: np.ndarray, want: np.ndarray, terms: int) -> None:
    """Within float32 rounding of a sum of ``terms`` terms of size <= 1."""
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-7 * terms + 1e-6)


@pytest.mark.parametrize("m, n", SIZES)
def test_gemv_is_a_vector_reduction_over_rows(m: int, n: int) -> None:
    kernel = polytc.compile(GEMV)
    rng = np.random.default_rng(m * 1000 + n)
    A, x = _rand(rng, m, n), _rand(rng, n)
    _close(kernel(A, x), A.astype(np.float64) @ x, n)
    assert "omp simd reduction(+:polytc_y_acc" in kernel.c_source
    assert "mark: reduce:S1" in str(kernel.tiled_summary)


def test_whole_blocks_of_rows_share_the_loop() -> None:
    """8 rows per block, each its own accumulator; the 5 rows left over run
    one at a time after the blocks."""
    kernel = polytc.compile(GEMV)
    source = kernel.c_source
    assert "polytc_y_acc7" in source  # a block's eighth row
    assert source.count("omp simd reduction") == 2  # the blocks, the rows left over
    rng = np.random.default_rng(3)
    A, x = _rand(rng, 21, 300), _rand(rng, 300)
    _close(kernel(A, x), A.astype(np.float64) @ x, 300)


def test_rows_per_block_follow_unroll() -> None:
    blocked = polytc.compile(GEMV, unroll=3).c_source
    assert "reduction(+:polytc_y_acc0, polytc_y_acc1, polytc_y_acc2)" in blocked
    plain = polytc.compile(GEMV, unroll=None)
    assert "polytc_y_acc0" in plain.c_source and "polytc_y_acc1" not in plain.c_source
    rng = np.random.default_rng(4)
    A, x = _rand(rng, 10, 33), _rand(rng, 33)
    _close(plain(A, x), A.astype(np.float64) @ x, 33)


@pytest.mark.parametrize("op, reference", [("max", np.max), ("min", np.min)])
def test_max_and_min_reductions_are_exact(op: str, reference) -> None:
    kernel = polytc.compile(f"def f(float(M,N) X) -> (m) {{ m(i) {op}=! X(i, j) }}")
    assert f"reduction({op}:" in kernel.c_source
    rng = np.random.default_rng(5)
    X = _rand(rng, 19, 131)
    np.testing.assert_array_equal(kernel(X), reference(X, axis=1))


def test_product_reduction() -> None:
    kernel = polytc.compile("def f(float(M,N) X) -> (p) { p(i) *=! X(i, j) }")
    assert "reduction(*:" in kernel.c_source
    rng = np.random.default_rng(6)
    X = rng.uniform(0.9, 1.1, size=(11, 77)).astype(np.float32)
    np.testing.assert_allclose(kernel(X), np.prod(X.astype(np.float64), axis=1), rtol=1e-5)


def test_integer_sums_are_exact() -> None:
    kernel = polytc.compile("def f(int32(M,N) X) -> (s) { s(i) +=! X(i, j) }")
    assert "reduction(+:" in kernel.c_source
    X = np.random.default_rng(7).integers(-1000, 1000, size=(9, 300)).astype(np.int32)
    np.testing.assert_array_equal(kernel(X), X.sum(axis=1))


def test_batched_matrix_vector_products() -> None:
    kernel = polytc.compile(BATCHED)
    assert "omp simd reduction(+:" in kernel.c_source
    rng = np.random.default_rng(8)
    A, x = _rand(rng, 3, 11, 45), _rand(rng, 3, 45)
    _close(kernel(A, x), np.einsum("bij,bj->bi", A.astype(np.float64), x), 45)


def test_reassociate_false_keeps_the_written_order() -> None:
    """No reduction clause; the sum in the written order (in float32, up to
    the multiply-adds gcc contracts)."""
    kernel = polytc.compile(GEMV, reassociate=False)
    assert "reduction(" not in kernel.c_source
    rng = np.random.default_rng(9)
    A, x = _rand(rng, 13, 50), _rand(rng, 50)
    want = np.zeros(13, dtype=np.float32)
    for j in range(50):
        want += A[:, j] * x[j]
    np.testing.assert_allclose(kernel(A, x), want, rtol=0, atol=1e-5)


def test_a_column_sum_stays_a_parallel_vector_loop() -> None:
    """``s(j) +=! A(i, j)``: the stride-1 loop is parallel; no reduction clause."""
    kernel = polytc.compile("def f(float(M,N) A) -> (s) { s(j) +=! A(i, j) }")
    assert "reduction(" not in kernel.c_source
    rng = np.random.default_rng(10)
    A = _rand(rng, 37, 29)
    _close(kernel(A), A.astype(np.float64).sum(axis=0), 37)


def test_a_body_that_reads_its_own_tensor_is_no_reduction() -> None:
    """``y(i) += y(i) * A(i, j)`` is a recurrence, not a sum: written order."""
    kernel = polytc.compile("""def f(float(M,N) A, float(M) start) -> (y) {
        y(i) = start(i)
        y(i) += y(i) * A(i, j)
    }""")
    assert "reduction(" not in kernel.c_source
    rng = np.random.default_rng(11)
    A, start = rng.uniform(-0.1, 0.1, size=(9, 40)).astype(np.float32), _rand(rng, 9)
    want = start.copy()
    for j in range(40):
        want = want + want * A[:, j]
    np.testing.assert_allclose(kernel(A, start), want, rtol=1e-5)


def test_rows_chained_through_reductions() -> None:
    """softmax: each row's max and sum are vector reductions; 2 threads."""
    kernel = polytc.compile("""def softmax(float(N,D) I) -> (O) {
        mx(n) max=! I(n, d)
        e(n, d) = exp(I(n, d) - mx(n))
        s(n) +=! e(n, d)
        O(n, d) = e(n, d) / s(n)
    }""")
    assert "reduction(max:" in kernel.c_source and "reduction(+:" in kernel.c_source
    x = _rand(np.random.default_rng(12), 23, 301) * 4
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(kernel(x, num_threads=2), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


C_GEMV = """
void mv(int n, int m, float A[n][m], float x[m], float y[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    y[i] = 0.0f;
    for (j = 0; j < m; j++)
      y[i] += A[i][j] * x[j];
  }
#pragma endscop
}
"""
C_LOWER = """
void lower(int n, double L[n][n], double x[n], double y[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    y[i] = 0.0;
    for (j = 0; j <= i; j++)
      y[i] += L[i][j] * x[j];
  }
#pragma endscop
}
"""


def test_c_input_keeps_its_order_unless_asked() -> None:
    rng = np.random.default_rng(13)
    A, x = _rand(rng, 19, 70), _rand(rng, 70)
    exact = polytc.compile_c(C_GEMV)
    assert "reduction(" not in exact.c_source
    y = np.zeros(19, dtype=np.float32)
    exact(A, x, y)
    want = np.zeros(19, dtype=np.float32)
    for j in range(70):
        want += A[:, j] * x[j]
    np.testing.assert_array_equal(y, want)
    fast = polytc.compile_c(C_GEMV, reassociate=True)
    assert "omp simd reduction(+:" in fast.c_source
    y2 = np.zeros(19, dtype=np.float32)
    fast(A, x, y2)
    _close(y2, A.astype(np.float64) @ x, 70)


@pytest.mark.parametrize("n", [1, 5, 8, 17, 64])
def test_triangular_rows_reassociated(n: int) -> None:
    """Rows of different lengths: a block of 8 rows is not whole at every
    column; the code stays correct."""
    kernel = polytc.compile_c(C_LOWER, reassociate=True)
    rng = np.random.default_rng(n)
    L, x = np.tril(rng.uniform(-1, 1, size=(n, n))), rng.uniform(-1, 1, size=n)
    y = np.zeros(n)
    kernel(L, x, y)
    np.testing.assert_allclose(y, L @ x, rtol=1e-12, atol=1e-12)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "polytc", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_command_line_flags(tmp_path: Path) -> None:
    (tmp_path / "gemv.tc").write_text(GEMV)
    (tmp_path / "mv.c").write_text(C_GEMV)
    assert "reduction(+:" in _cli("compile", "gemv.tc", cwd=tmp_path).stdout
    kept = _cli("compile", "gemv.tc", "--no-reassociate", cwd=tmp_path)
    assert kept.returncode == 0 and "reduction(" not in kept.stdout
    assert "reduction(" not in _cli("opt", "mv.c", cwd=tmp_path).stdout
    asked = _cli("opt", "mv.c", "--reassociate", cwd=tmp_path)
    assert asked.returncode == 0 and "reduction(+:" in asked.stdout
    assert "reassociate=True" in asked.stdout


COLUMN = "def col(float(M,N) A, float(M) x) -> (y) { y(j) +=! A(i, j) * x(i) }"


@pytest.mark.parametrize("m, n", [(1, 1), (3, 5), (8, 16), (13, 37), (17, 2100)])
def test_a_streamed_matrix_runs_in_chunks_of_columns(m: int, n: int) -> None:
    """``y(j) +=! A(i, j) * x(i)`` reads each element of A once: chunks of
    2048 columns (the parallel loop), 8 rows of A per sweep of the chunk."""
    kernel = polytc.compile(COLUMN)
    summary = str(kernel.tiled_summary)
    assert "floor((j)/2048)" in summary and "(i) mod 8" in summary
    assert "pack" not in summary and "promote" not in summary
    rng = np.random.default_rng(m + 7 * n)
    A, x = _rand(rng, m, n), _rand(rng, m)
    _close(kernel(A, x, num_threads=2), x.astype(np.float64) @ A, m)


def test_batched_streamed_matrices() -> None:
    kernel = polytc.compile("""def f(float(B,M,N) A, float(B,M) x) -> (y) {
        y(b, j) +=! A(b, i, j) * x(b, i)
    }""")
    rng = np.random.default_rng(14)
    A, x = _rand(rng, 3, 19, 41), _rand(rng, 3, 19)
    _close(kernel(A, x), np.einsum("bij,bi->bj", A.astype(np.float64), x), 19)


def test_independent_sweeps_reading_a_matrix_crosswise_are_not_fused() -> None:
    """bicg and mvt: smart fusion does not fuse the sweeps so that one reads
    A along columns; they run by blocks of rows of A instead, each along
    its rows (polytc/poly/streams.py).  Two sums over the rows of the same
    matrix fuse whole."""
    bicg = polytc.compile("""def bicg(float(N,M) A, float(N) r, float(M) p) -> (s, q) {
        s(j) +=! r(i) * A(i, j)
        q(i) +=! A(i, j) * p(j)
    }""")
    tiled = str(bicg.tiled_summary)
    assert "fused groups: {S0}, {S2}, {S1, S3}" in tiled
    assert "S1[j, i] -> [i - (i) mod 8]" in tiled and "S3[i, j] -> [i - (i) mod 8]" in tiled
    rng = np.random.default_rng(15)
    A, r, p = _rand(rng, 21, 30), _rand(rng, 21), _rand(rng, 30)
    s, q = bicg(A, r, p)
    _close(s, r.astype(np.float64) @ A, 21)
    _close(q, A.astype(np.float64) @ p, 30)
    mvt = polytc.compile("""def mvt(float(N,N) A, float(N) a, float(N) b, float(N) u, float(N) v)
            -> (x1, x2) {
        x1(i) = a(i)
        x1(i) += A(i, j) * u(j)
        x2(i) = b(i)
        x2(i) += A(j, i) * v(j)
    }""")
    assert "fused groups: {S2}, {S0, S1, S3}" in str(mvt.tiled_summary)
    A, a, b, u, v = _rand(rng, 23, 23), *(_rand(rng, 23) for _ in range(4))
    x1, x2 = mvt(A, a, b, u, v)
    _close(x1, a + A.astype(np.float64) @ u, 23)
    _close(x2, b + A.T.astype(np.float64) @ v, 23)
    aligned = polytc.compile("""def sums(float(M,N) A) -> (s, t) {
        s(i) +=! A(i, j)
        t(i) +=! A(i, j) * A(i, j)
    }""")
    assert "fused groups: {S0, S1, S2, S3}" in str(aligned.tiled_summary)
    A = _rand(rng, 11, 50)
    s, t = aligned(A)
    _close(s, A.astype(np.float64).sum(axis=1), 50)
    _close(t, (A.astype(np.float64) ** 2).sum(axis=1), 50)


def test_c_input_runs_mvts_sweeps_by_blocks_of_rows() -> None:
    """Both sweeps read A along its rows, 8 rows at a time (polytc/poly/streams.py),
    in written order (8 rows' sums at once) or reassociated."""
    exact = polytc.compile_c(MVT)
    reassociated = polytc.compile_c(MVT, reassociate=True)
    for kernel in (exact, reassociated):
        summary = str(kernel.schedule_summary)
        assert "fused groups: {S0, S1}" in summary
        assert "S0[i, j] -> [i - (i) mod 8]" in summary
        assert "S1[i, j] -> [j - (j) mod 8]" in summary  # x2 += A[j][i]: j is A's row
    rng = np.random.default_rng(16)
    A, y1, y2 = rng.uniform(-1, 1, (19, 19)), rng.uniform(-1, 1, 19), rng.uniform(-1, 1, 19)
    for kernel in (exact, reassociated):
        x1, x2 = np.ones(19), np.ones(19)
        kernel(x1, x2, y1, y2, A)
        np.testing.assert_allclose(x1, 1 + A @ y1, rtol=1e-12)
        np.testing.assert_allclose(x2, 1 + A.T @ y2, rtol=1e-12)


C_ATAX_ROW = """
void rows(int n, int m, float A[n][m], float x[m], float t[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    t[i] = 0.0f;
    for (j = 0; j < m; j++)
      t[i] = t[i] + A[i][j] * x[j];
  }
#pragma endscop
}
"""


def test_c_written_as_x_equals_x_plus_e_is_an_accumulation() -> None:
    """``t[i] = t[i] + e`` lowers as ``t[i] += e`` (the same operation, the
    same bits), so ``reassociate=True`` vectorises it too."""
    exact = polytc.compile_c(C_ATAX_ROW)
    assert "+=" in str(exact.program) and "reduction(" not in exact.c_source
    fast = polytc.compile_c(C_ATAX_ROW, reassociate=True)
    assert "omp simd reduction(+:" in fast.c_source
    rng = np.random.default_rng(17)
    A, x = _rand(rng, 13, 70), _rand(rng, 70)
    want = np.zeros(13, dtype=np.float32)
    for j in range(70):
        want = want + A[:, j] * x[j]
    got = np.zeros(13, dtype=np.float32)
    exact(A, x, got)
    np.testing.assert_array_equal(got, want)
    fast(A, x, got)
    _close(got, A.astype(np.float64) @ x, 70)
