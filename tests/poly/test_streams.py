"""Matrix-vector sweeps over one matrix fused by blocks of rows
(polytc/poly/streams.py): atax, bicg and mvt read their matrix once, the
results match numpy at sizes that are not multiples of the block, and
nests that no block of rows may fuse keep their schedule."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import polytc
from polytc import poly
from polytc.poly.streams import ROWS

def _benchmark_kernels() -> ModuleType:
    """benchmarks/kernels.py, whose atax, bicg and mvt these tests compile."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "kernels.py"
    spec = importlib.util.spec_from_file_location("polytc_bench_kernels", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_KERNELS = _benchmark_kernels()
ATAX, BICG, MVT = _KERNELS.ATAX, _KERNELS.BICG, _KERNELS.MVT

#: u's rows read all of t: no block of rows of A can run both sweeps
TWICE = """def twice(float(N,N) A, float(N) x) -> (u) {
    t(i) +=! A(i, j) * x(j)
    u(i) +=! A(i, j) * t(j)
}"""


def _fused_group(kernel: polytc.Kernel) -> set[str] | None:
    """The statements of the band of blocks of ROWS rows, if there is one."""
    summary = str(kernel.schedule_summary)
    match = re.search(r"band 0: ([S0-9, ]+) \| 1 member \| sequential\n((?:\s+S\d+\[.*\n)+)",
                      summary)
    if match is None or f"mod {ROWS}" not in summary:
        return None
    return set(match.group(1).split(", "))


def test_the_sweeps_over_one_matrix_run_by_blocks_of_rows() -> None:
    assert _fused_group(polytc.compile(ATAX)) == {"S0", "S1", "S3"}  # t's init joins
    assert _fused_group(polytc.compile(BICG)) == {"S1", "S3"}
    assert _fused_group(polytc.compile(MVT)) == {"S0", "S1", "S3"}
    assert _fused_group(polytc.compile(ATAX, fuse="none")) is None  # smart fusion only
    assert _fused_group(polytc.compile(TWICE)) is None


def test_nests_that_cannot_be_fused_keep_their_schedule() -> None:
    kernel = polytc.compile(TWICE, fuse="smart")
    unfused = poly.pluto_schedule(kernel.program, kernel.dependences, fuse="smart",
                                  streams_apart=True)
    assert poly.fuse_streams(kernel.program, unfused, kernel.dependences.all) is unfused
    gemm = polytc.compile("C(i,j) +=! A(i,k) * B(k,j)")
    assert poly.fuse_streams(gemm.program, gemm.schedule, gemm.dependences.all) is gemm.schedule


def test_no_fork_per_block_of_rows() -> None:
    """The blocks' loop is sequential (it carries y's sums) and each block
    is little work: nothing inside it runs as a parallel region."""
    source = polytc.compile(ATAX).c_source
    assert "omp parallel" in source  # y's initialisation
    body = source[source.index("c0 += 8"):]
    assert "omp parallel" not in body, source


@pytest.mark.parametrize("m, n", [(37, 29), (1, 1), (9, 20), (16, 8)])
def test_fused_sweeps_match_numpy(m: int, n: int) -> None:
    rng = np.random.default_rng(m * 100 + n)
    A = rng.standard_normal((m, n)).astype(np.float32)
    x, r = rng.standard_normal(n).astype(np.float32), rng.standard_normal(m).astype(np.float32)
    for threads in (1, 2):
        np.testing.assert_allclose(polytc.compile(ATAX)(A, x, num_threads=threads),
                                   A.T @ (A @ x), rtol=1e-4, atol=1e-4)
        s, q = polytc.compile(BICG)(A, r, x, num_threads=threads)
        np.testing.assert_allclose(s, r @ A, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(q, A @ x, rtol=1e-4, atol=1e-4)
    S = rng.standard_normal((m, m)).astype(np.float32)
    v = [rng.standard_normal(m).astype(np.float32) for _ in range(4)]
    for threads in (1, 2):
        x1, x2 = polytc.compile(MVT)(S, *v, num_threads=threads)
        np.testing.assert_allclose(x1, v[0] + S @ v[2], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(x2, v[1] + S.T @ v[3], rtol=1e-4, atol=1e-4)
