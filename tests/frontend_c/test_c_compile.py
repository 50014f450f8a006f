"""polytc.compile_c: a C function called with numpy arrays, updated in place,
bit for bit as the same function compiled unchanged; argument checks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polytc
from polytc import dtypes
from polytc.codegen_c import build as builder
from polytc.codegen_c.ckernel import entry_point
from polytc.codegen_c.kernel import load
from polytc.errors import ArgumentError
from polytc.frontend.c import read_unit
from polytc.frontend.c.signature import function_named, signature

GEMM = """
void gemm(int ni, int nj, int nk, double alpha, double beta,
          double C[ni][nj], double A[ni][nk], double B[nk][nj])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < ni; i++) {
    for (j = 0; j < nj; j++)
      C[i][j] *= beta;
    for (k = 0; k < nk; k++)
      for (j = 0; j < nj; j++)
        C[i][j] += alpha * A[i][k] * B[k][j];
  }
#pragma endscop
}
"""

ROWS = """
#include <math.h>
#define W 21
/* no pragmas: the body after its declarations is the region (function=) */
void rows(int h, float img[h][W], float out[h][W], float k)
{
  int i, j;
  float ym1, xm1;
  for (i = 0; i < h; i++) {
    ym1 = 0.0f;
    xm1 = 0.0f;
    for (j = 0; j < W; j++) {
      out[i][j] = k * img[i][j] + 0.5f * xm1 - expf(-ym1);
      xm1 = img[i][j];
      ym1 = out[i][j];
    }
  }
}
"""

TABLE = """
void table(int n, int seq[n], int t[n][n])
{
  int i, j, k;
#pragma scop
  for (i = n - 1; i >= 0; i--)
    for (j = i + 1; j < n; j++) {
      t[i][j] = t[i][j] > t[i + 1 < n ? i + 1 : i][j] ? t[i][j] : t[i + 1 < n ? i + 1 : i][j];
      for (k = i + 1; k < j; k++)
        t[i][j] = t[i][j] > t[i][k] + t[k + 1][j] + seq[k] / 3 ? t[i][j]
            : t[i][k] + t[k + 1][j] + seq[k] / 3;
    }
#pragma endscop
}
"""


def reference(source: str, function: str) -> Any:
    """``function`` of ``source`` compiled unchanged, behind the same entry point."""
    unit = read_unit(source)
    entry = entry_point(function, signature(unit, function_named(unit, function)))
    chain = builder.toolchain(("-ffp-contract=off",))
    library = builder.build(source + entry.source, chain)
    return getattr(load(str(library), entry)[1], entry.function), entry


def call_reference(source: str, function: str, values: list[Any]) -> None:
    import cffi
    run, _ = reference(source, function)
    ffi = cffi.FFI()
    args = [ffi.from_buffer(dtypes.C_TYPES[v.dtype.name] + "[]", v)
            if isinstance(v, np.ndarray) else v for v in values]
    run(1, *args)


def test_gemm_matches_the_original_bits_in_place() -> None:
    kernel = polytc.compile_c(GEMM)
    rng = np.random.default_rng(1)
    ni, nj, nk = 37, 45, 29
    C, A, B = rng.random((ni, nj)), rng.random((ni, nk)), rng.random((nk, nj))
    expected = C.copy()
    call_reference(GEMM, "gemm", [ni, nj, nk, 1.5, 1.2, expected, A, B])
    for threads in (1, 2):
        got = C.copy()
        assert kernel(1.5, 1.2, got, A, B, num_threads=threads) is None
        assert got.tobytes() == expected.tobytes()
    named = C.copy()
    kernel(C=named, A=A, B=B, alpha=1.5, beta=1.2, nj=nj)
    assert named.tobytes() == expected.tobytes()


def test_function_without_pragmas_float_and_constant_extents() -> None:
    kernel = polytc.compile_c(ROWS, "rows", tile=8)
    assert {t.name for t in kernel.program.temporaries} == {"ym1", "xm1"}
    img = np.random.default_rng(2).random((19, 21)).astype(np.float32)
    out, expected = np.zeros_like(img), np.zeros_like(img)
    call_reference(ROWS, "rows", [19, img, expected, np.float32(0.7).item()])
    kernel(img, out, 0.7, num_threads=2)
    assert out.tobytes() == expected.tobytes()


def test_int_kernel_with_downward_loop() -> None:
    kernel = polytc.compile_c(TABLE)
    n = 23
    seq = (np.arange(n, dtype=np.int32) * 7) % 11
    t = ((np.arange(n * n, dtype=np.int32) * 13) % 17).reshape(n, n)
    expected = t.copy()
    call_reference(TABLE, "table", [n, seq, expected])
    kernel(seq, t, num_threads=2)
    assert np.array_equal(t, expected)


def test_inspection_and_save(tmp_path: Path) -> None:
    kernel = polytc.compile_c(GEMM, tile=None)
    assert [s.name for s in kernel.program.statements] == ["S0", "S1"]
    assert "flow" in str(kernel.dependences)
    assert "S1" in str(kernel.schedule) and kernel.schedule_summary is not None
    assert "polytc_entry_gemm" in kernel.c_source and "#pragma scop" not in kernel.c_source
    paths = kernel.save(tmp_path)
    assert [p.name for p in paths] == ["gemm.c", "gemm.h"]
    assert paths[0].read_text() == kernel.c_source
    assert "void polytc_entry_gemm(int, int32_t, int32_t, int32_t, double, double, double *, " \
        "double *, double *);" in paths[1].read_text()


@pytest.mark.parametrize("call, message", [
    (lambda k, C, A, B: k(1.5, 1.2, C, A, B[:-1]), "size 'nk'"),
    (lambda k, C, A, B: k(1.5, 1.2, C.astype(np.float32), A, B), "dtype float32"),
    (lambda k, C, A, B: k(1.5, 1.2, C, A), "missing argument 'B'"),
    (lambda k, C, A, B: k(1.5, 1.2, C, A, B, ni=3), "shape (5, 7)"),
    (lambda k, C, A, B: k(1.5, 1.2, C.ravel(), A, B), "has 1 dimensions"),
    (lambda k, C, A, B: k(1.5, 1.2, np.asfortranarray(C), A, B), "C-contiguous"),
    (lambda k, C, A, B: k(1.5, 1.2, C, A, B, gamma=1), "unexpected argument 'gamma'"),
    (lambda k, C, A, B: k(1.5, 1.2, C, A, B, alpha=1), "given twice"),
    (lambda k, C, A, B: k(1.5, "x", C, A, B), "must be a number"),
    (lambda k, C, A, B: k(1.5, 1.2, C, A, [[1.0]]), "numpy array"),
])
def test_argument_errors(call: Any, message: str) -> None:
    kernel = polytc.compile_c(GEMM, tile=None, unroll=None)
    C, A, B = np.zeros((5, 7)), np.zeros((5, 3)), np.zeros((3, 7))
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(kernel, C, A, B)


def test_read_only_array_that_the_kernel_writes() -> None:
    kernel = polytc.compile_c(GEMM, tile=None, unroll=None)
    C = np.zeros((5, 7))
    C.flags.writeable = False
    with pytest.raises(ArgumentError, match="read-only"):
        kernel(1.5, 1.2, C, np.zeros((5, 3)), np.zeros((3, 7)))
