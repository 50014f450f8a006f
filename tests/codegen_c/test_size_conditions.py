"""Size conditions at run time: a kernel whose reads are in bounds only for
some sizes compiles, and every call (Python, specialised, exported C)
checks the condition and names it when the sizes break it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc.errors import ArgumentError, OptionError

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
HEAD = "def head(float(N) A) -> (O) { O(i) = A(i) * 2.0 where i in 0:5 }"
COLUMN = "def col(float(N,D) A) -> (O) { O(i) = A(i, 0) }"


def f32(*shape: int) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def test_the_call_names_the_condition_and_the_sizes() -> None:
    kernel = polytc.compile(HEAD)
    np.testing.assert_array_equal(kernel(f32(7)), f32(7)[:5] * 2)
    np.testing.assert_array_equal(kernel(f32(5)), f32(5) * 2)
    message = "this kernel needs N >= 5 (A is read at index 4, whose extent is N); " \
              "the call has N = 3"
    for call in (lambda: kernel(f32(3)), lambda: kernel(A=f32(3)),
                 lambda: kernel(f32(3), unchecked=True),
                 lambda: kernel(f32(3), out=np.empty(5, np.float32))):
        with pytest.raises(ArgumentError) as info:
            call()
        assert str(info.value) == message


def test_out_is_untouched_when_the_condition_fails() -> None:
    kernel = polytc.compile(HEAD)
    out = np.full(5, 7.0, np.float32)
    with pytest.raises(ArgumentError):
        kernel(f32(4), out=out)
    np.testing.assert_array_equal(out, 7.0)


def test_a_boundary_column_needs_its_dimension_only_when_rows_exist() -> None:
    kernel = polytc.compile(COLUMN)
    np.testing.assert_array_equal(kernel(f32(3, 2)), f32(3, 2)[:, 0])
    assert kernel(f32(0, 0)).shape == (0,)
    with pytest.raises(ArgumentError, match=r"needs D > 0 when N > 0 \(A is read at index 0 of "
                       r"dimension 1, whose extent is D\); the call has N = 3, D = 0"):
        kernel(f32(3, 0))


def test_specialised_kernels_check_before_compiling() -> None:
    kernel = polytc.compile(COLUMN, specialize=True)
    np.testing.assert_array_equal(kernel(f32(4, 3)), f32(4, 3)[:, 0])
    with pytest.raises(ArgumentError, match="needs D > 0"):
        kernel(f32(4, 0))
    with pytest.raises(OptionError, match="break the condition .* 'A' needs: D > 0 when N > 0"):
        polytc.compile(COLUMN, sizes={"N": 3, "D": 0})
    fixed = polytc.compile(COLUMN, sizes={"N": 3, "D": 2})
    np.testing.assert_array_equal(fixed(f32(3, 2)), f32(3, 2)[:, 0])


def test_the_c_function_checks_before_anything_else() -> None:
    source = polytc.compile(HEAD).c_source
    body = source[source.index("polytc_status = 0;"):]
    assert body.split("\n")[1].strip() == "if (!(N >= 5)) return 4;"
    assert "Returns 4 when the sizes break" in source and "condition: N >= 5" in source
    assert "return 4" not in polytc.compile(
        "def f(float(N) A) -> (O) { O(i) = A(i) }").c_source


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_exported_c_returns_the_documented_code(tmp_path: Path) -> None:
    polytc.compile(HEAD).save(tmp_path)
    header = (tmp_path / "head.h").read_text()
    assert "POLYTC_SIZE_CONDITION 4" in header
    assert "Condition on the sizes: N >= 5 (for the reads of A to stay in bounds)" in header
    binary = tmp_path / "head"
    subprocess.run([CC, "-O1", "-o", str(binary), str(tmp_path / "head_main.c"),
                    str(tmp_path / "head.c"), "-lm"], check=True)
    ok = subprocess.run([str(binary), "N=6", "-r", "1"], capture_output=True, text=True)
    assert ok.returncode == 0 and "checksum O: sum=" in ok.stdout
    broken = subprocess.run([str(binary), "N=3"], capture_output=True, text=True)
    assert broken.returncode == 2
    assert "returned 4: these sizes break its condition (N >= 5)" in broken.stderr
    helped = subprocess.run([str(binary), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and helped.stdout.startswith("usage:")
    assert "The sizes must satisfy: N >= 5." in helped.stdout and not helped.stderr
