"""Parallel loops that reduce into whole arrays: the blocks of rows of a
fused matrix-vector pair (atax's ``y(j) += A(i, j) * t(i)`` for every block)
carry only accumulations into an output, so they run in parallel, each
thread adding into its own copy of ``y`` (OpenMP's array reduction), where
reductions may be reassociated and the copies fit the threads' stacks."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc.codegen_c.emit import MAX_PRIVATE_COPY_BYTES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "poly"))
from test_streams import ATAX, BICG, MVT  # noqa: E402

#: a column max instead of a sum: the copies start at -inf and combine by max
ATAX_MAX = """def atax_max(float(M,N) A, float(N) x) -> (y) {
    t(i) +=! A(i, j) * x(j)
    y(j) max=! A(i, j) * t(i)
}"""

REDUCTION = re.compile(r"omp parallel for .*reduction\((\S+): (\w+)\[0:")


def _clauses(source: str) -> list[tuple[str, str]]:
    return REDUCTION.findall(source)


@pytest.mark.parametrize(("text", "expected"), [
    (ATAX, [("+", "y")]), (BICG, [("+", "s")]), (MVT, [("+", "x2")]),
    (ATAX_MAX, [("max", "y")])], ids=["atax", "bicg", "mvt", "atax-max"])
def test_the_blocks_of_rows_reduce_into_private_copies(text: str, expected: list) -> None:
    source = polytc.compile(text, cache=False).c_source
    assert _clauses(source) == expected, source
    # large copies would overflow the threads' stacks: one thread runs them
    assert f"<= {MAX_PRIVATE_COPY_BYTES})" in source, source
    assert not _clauses(polytc.compile(text, cache=False, parallel=False).c_source)


def test_only_where_reductions_may_be_reassociated() -> None:
    assert not _clauses(polytc.compile(ATAX, cache=False, reassociate=False).c_source)


def _atax_inputs(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(m * 1000 + n)
    return (rng.standard_normal((m, n)).astype(np.float32),
            rng.standard_normal(n).astype(np.float32))


@pytest.mark.parametrize(("m", "n"), [(37, 29), (1, 1), (3, 70), (250, 13)])
@pytest.mark.parametrize("threads", [1, 2])
def test_reduced_copies_add_up_to_numpy(m: int, n: int, threads: int) -> None:
    A, x = _atax_inputs(m, n)
    t = A.astype(np.float64) @ x
    for text, expected in ((ATAX, A.T @ t), (ATAX_MAX, (A * t[:, None]).max(axis=0))):
        y = polytc.compile(text)(A, x, num_threads=threads)
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.sqrt(m * n))


def test_copies_beyond_the_limit_run_on_one_thread() -> None:
    """A ``y`` of more than MAX_PRIVATE_COPY_BYTES takes the sequential loop
    (its copy on a thread's stack could overflow it) and is still right."""
    n = MAX_PRIVATE_COPY_BYTES // 4 + 3
    A, x = _atax_inputs(2, n)
    y = polytc.compile(ATAX)(A, x, num_threads=2)
    np.testing.assert_allclose(y, A.T @ (A.astype(np.float64) @ x), rtol=1e-4,
                               atol=1e-4 * np.sqrt(2 * n))  # t sums n float32 terms


def test_c_input_reduces_into_its_arrays_only_when_asked() -> None:
    """mvt's ``x2[i] += A[j][i] * y2[j]`` by blocks of rows ``j``: in private
    copies of ``x2`` (the caller's array, read and updated) under
    ``reassociate=True``; in the written order otherwise."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontend_c"))
    from c_kernels import MVT
    assert not _clauses(polytc.compile_c(MVT, cache=False).c_source)
    kernel = polytc.compile_c(MVT, cache=False, reassociate=True)
    assert _clauses(kernel.c_source) == [("+", "x2")], kernel.c_source
    rng = np.random.default_rng(17)
    A, y1, y2 = rng.uniform(-1, 1, (23, 23)), rng.uniform(-1, 1, 23), rng.uniform(-1, 1, 23)
    for threads in (1, 2):
        x1, x2 = np.ones(23), np.ones(23)
        kernel(x1, x2, y1, y2, A, num_threads=threads)
        np.testing.assert_allclose(x2, 1 + A.T @ y2, rtol=1e-12)
