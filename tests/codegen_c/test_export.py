"""Standalone C export (``kernel.save``): the files, the header's ABI, the
harness built with the system compiler alone, its results against numpy."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc.codegen_c.export import py_to_c
from polytc.errors import OptionError

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")

MATMUL = "def mm(float(M,K) A, float(K,N) B) -> (C) { C(m,n) +=! A(m,k) * B(k,n) }"
# a scalar input, a constant extent, two outputs, a floor-divided extent and
# elements no statement writes (O[0] when N is odd... and O beyond N/2)
MIXED = """def mixed(float(N) A, float(4,M) B, float s) -> (O, P) {
    O(i) = A(2*i) + s where i in 1:(N/2)
    P(j, m) = B(j, m) * s + 1.0
}"""
GATHER = "def take(float(V,D) T, int32(B) I) -> (O) { O(b, d) = T(I(b), d) }"


def build(directory: Path, name: str, *flags: str) -> Path:
    """Compile the harness and the kernel with ``cc`` alone."""
    binary = directory / name
    subprocess.run([CC, *flags, "-o", str(binary), str(directory / f"{name}_main.c"),
                    str(directory / f"{name}.c"), "-lm"], check=True, cwd=directory)
    return binary


def run(binary: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=check,
                          cwd=binary.parent, timeout=60)


def checksums(stdout: str) -> dict[str, tuple[float, float]]:
    return {m[1]: (float(m[2]), float(m[3]))
            for m in re.finditer(r"^checksum (\w+): sum=(\S+) abs_sum=(\S+)$", stdout, re.M)}


def test_save_writes_the_files(tmp_path):
    kernel = polytc.compile(MATMUL)
    paths = kernel.save(tmp_path)
    assert sorted(p.name for p in paths) == ["Makefile", "mm.c", "mm.h", "mm_main.c"]
    assert (tmp_path / "mm.c").read_text() == kernel.c_source
    header = (tmp_path / "mm.h").read_text()
    assert "int polytc_mm(int64_t M, int64_t K, int64_t N, const float *A, const float *B, " \
           "float *C, int polytc_nthreads);" in header
    assert "A: float32[M][K]" in header and "C: float32[M][N]" in header
    assert "POLYTC_GATHER_OUT_OF_RANGE 1" in header
    only = kernel.save(tmp_path / "lib", name="gemm", harness=False)
    assert sorted(p.name for p in only) == ["Makefile", "gemm.c", "gemm.h"]
    assert "all: libgemm.so" in (tmp_path / "lib" / "Makefile").read_text()
    with pytest.raises(OptionError, match="C identifier"):
        kernel.save(tmp_path, name="not a name")


@needs_cc
def test_harness_reads_inputs_and_matches_numpy(tmp_path):
    polytc.compile(MATMUL).save(tmp_path)
    binary = build(tmp_path, "mm", "-O3", "-fopenmp")
    rng = np.random.default_rng(1)
    A = rng.standard_normal((13, 7), dtype=np.float32)
    B = rng.standard_normal((7, 5), dtype=np.float32)
    (tmp_path / "in").mkdir()
    A.tofile(tmp_path / "in" / "A.bin")
    B.tofile(tmp_path / "in" / "B.bin")
    (tmp_path / "out").mkdir()
    result = run(binary, "M=13", "N=5", "K=7", "-i", "in", "-o", "out", "-t", "2", "-r", "3")
    assert "polytc_mm: M=13 K=7 N=5 (2 threads)" in result.stdout
    assert re.search(r"time: median \S+ ms, min \S+ ms over 3 runs", result.stdout)
    C = np.fromfile(tmp_path / "out" / "C.bin", np.float32).reshape(13, 5)
    np.testing.assert_allclose(C, A @ B, rtol=1e-4, atol=1e-4)
    total, absolute = checksums(result.stdout)["C"]
    assert total == pytest.approx(float(C.astype(np.float64).sum()), rel=1e-6, abs=1e-6)
    assert absolute == pytest.approx(float(np.abs(C.astype(np.float64)).sum()), rel=1e-6)


@needs_cc
def test_make_without_openmp_deterministic_fill_matches_polytc(tmp_path):
    kernel = polytc.compile(MIXED)
    kernel.save(tmp_path)
    if shutil.which("make"):
        subprocess.run(["make", "-s", f"CC={CC}", "CFLAGS=-O2"], cwd=tmp_path, check=True,
                       capture_output=True)
        binary = tmp_path / "mixed"
    else:
        binary = build(tmp_path, "mixed", "-O2")
    (tmp_path / "out").mkdir()
    first = run(binary, "9", "3", "-o", "out", "-q")
    assert run(binary, "M=3", "N=9", "-q").stdout == first.stdout  # deterministic
    assert run(binary, "9", "3", "-s", "2", "-q").stdout != first.stdout
    out = tmp_path / "out"
    A = np.fromfile(out / "A.bin", np.float32)
    B = np.fromfile(out / "B.bin", np.float32).reshape(4, 3)
    s = np.fromfile(out / "s.bin", np.float32).reshape(())
    assert A.shape == (9,) and np.all((A >= -1) & (A < 1)) and len(np.unique(A)) == 9
    O = np.fromfile(out / "O.bin", np.float32)
    P = np.fromfile(out / "P.bin", np.float32).reshape(4, 3)
    expected_O = np.zeros(4, np.float32)
    expected_O[1:] = A[2:8:2] + s
    np.testing.assert_allclose(O, expected_O, rtol=1e-6)
    np.testing.assert_allclose(P, B * s + 1, rtol=1e-6)
    reference = kernel(A, B, s)
    np.testing.assert_array_equal(O, reference[0])
    assert set(checksums(first.stdout)) == {"O", "P"}


@needs_cc
def test_header_alone_is_enough_to_call_the_kernel(tmp_path):
    polytc.compile(MIXED).save(tmp_path, harness=False)
    (tmp_path / "user.c").write_text("""
#include <stdio.h>
#include <stdlib.h>
#include "mixed.h"
int main(void) {
  int64_t sizes[2] = {7, 2}, shape[2];
  float A[7] = {0, 1, 2, 3, 4, 5, 6}, B[8] = {1, 2, 3, 4, 5, 6, 7, 8}, s = 10;
  if (polytc_mixed_output_shape(0, sizes, shape) != 1 || shape[0] != 3) return 3;
  if (polytc_mixed_input_shape(1, sizes, shape) != 2 || shape[0] != 4 || shape[1] != 2) return 4;
  float O[3], P[8];
  int status = polytc_mixed(7, 2, A, B, &s, O, P, 1);
  printf("%d %g %g %g %g\\n", status, O[0], O[1], O[2], P[7]);
  return status == POLYTC_OK ? 0 : 1;
}
""")
    subprocess.run([CC, "-O2", "-Wall", "-Werror", "-o", "user", "user.c", "-x", "c", "mixed.c",
                    "-Wno-unknown-pragmas", "-Wno-unused-variable", "-lm"],
                   cwd=tmp_path, check=True)
    assert run(tmp_path / "user").stdout.split() == ["0", "0", "12", "14", "81"]


@needs_cc
def test_harness_reports_kernel_status_and_bad_input_files(tmp_path):
    polytc.compile(GATHER).save(tmp_path)
    binary = build(tmp_path, "take", "-O2")
    assert run(binary, "V=8", "D=3", "B=4").returncode == 0  # indices are filled in [0, 8)
    (tmp_path / "in").mkdir()
    np.zeros((5, 3), np.float32).tofile(tmp_path / "in" / "T.bin")
    np.array([0, 1, 9, 2], np.int32).tofile(tmp_path / "in" / "I.bin")
    failed = run(binary, "5", "3", "4", "-i", "in", check=False)
    assert failed.returncode == 2 and "returned 1" in failed.stderr
    short = run(binary, "5", "3", "5", "-i", "in", check=False)
    assert short.returncode == 1 and "must hold exactly 5 int32 elements" in short.stderr
    usage = run(binary, "5", "3", check=False)
    assert usage.returncode == 1 and "missing size B" in usage.stderr


@needs_cc
def test_user_names_cannot_clash_with_the_export(tmp_path):
    text = """def clash(float(nthreads, k) main, float(k) sizes) -> (data, shape) {
        data(i, j) = main(i, j) * sizes(j)
        shape(j) +=! main(i, j)
    }"""
    kernel = polytc.compile(text)
    kernel.save(tmp_path)
    header = (tmp_path / "clash.h").read_text()
    assert "int polytc_clash(int64_t nthreads, int64_t k, const float *u_main, " \
           "const float *sizes, float *data, float *shape, int polytc_nthreads);" in header
    binary = build(tmp_path, "clash", "-O2", "-Wall", "-Werror", "-Wno-unknown-pragmas",
                   "-Wno-unused-variable")
    (tmp_path / "out").mkdir()
    run(binary, "nthreads=3", "k=4", "-o", "out")
    main = np.fromfile(tmp_path / "out" / "main.bin", np.float32).reshape(3, 4)
    sizes = np.fromfile(tmp_path / "out" / "sizes.bin", np.float32)
    data = np.fromfile(tmp_path / "out" / "data.bin", np.float32).reshape(3, 4)
    shape = np.fromfile(tmp_path / "out" / "shape.bin", np.float32)
    np.testing.assert_allclose(data, main * sizes, rtol=1e-6)
    np.testing.assert_allclose(shape, main.sum(axis=0), rtol=1e-5)


def test_extent_expressions_translate_to_c():
    def size(k: int) -> str:
        return "MNK"[k]
    assert py_to_c("(p[0] // 2)", size, "f") == "f_floordiv(M, 2)"
    assert py_to_c("max(p[0] - 1, p[1] % 3)", size, "f") == "f_max((M - 1), f_floormod(N, 3))"
    assert py_to_c("(p[2] if (p[0] >= 1 and p[1] < 2) else 0)", size, "f") == \
        "(((M >= 1) && (N < 2)) ? K : 0)"


@needs_cc
def test_harness_runs_tiny_calls_on_one_thread_unless_asked(tmp_path):
    polytc.compile(MATMUL).save(tmp_path)
    binary = build(tmp_path, "mm", "-O1", "-fopenmp")
    assert "(1 thread)" in run(binary, "M=5", "N=5", "K=5", "-r", "1").stdout
    assert "(2 threads)" in run(binary, "M=5", "N=5", "K=5", "-r", "1", "-t", "2").stdout
    helped = run(binary, "--help")
    assert helped.returncode == 0 and "1 when the call's work is tiny" in helped.stdout
