"""Window sizes (``polytc/codegen_c/windows.py``): the extents of a sliding
window are compiled in as constants at call time."""
from __future__ import annotations

import numpy as np
import pytest

import polytc
from polytc.frontend import to_program
from polytc.codegen_c.windows import MAX_WINDOW, MIN_WINDOW_WORK, window_sizes

CONV1D = "def conv1d(float(N,L) I, float(R) F) -> (O) { O(n, i) +=! I(n, i + r) * F(r) }"
CONV2D = """def conv2d(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (O) {
    O(n, m, h, w) +=! I(n, c, h + kh, w + kw) * Wt(m, c, kh, kw)
}"""
MATMUL = "def mm(float(M,K) A, float(K,N) B) -> (C) { C(i,j) +=! A(i,k) * B(k,j) }"


@pytest.mark.parametrize("text, windows", [(CONV2D, ("KH", "KW")), (CONV1D, ("R",)),
                                           (MATMUL, ())])
def test_window_sizes_are_the_extents_of_sliding_reductions(text: str, windows: tuple) -> None:
    assert window_sizes(to_program(text)) == windows


def test_a_call_runs_the_kernel_compiled_for_its_window() -> None:
    kernel = polytc.compile(CONV1D)
    assert kernel.c_source.count("int64_t R") >= 1  # the C itself keeps R a parameter
    rng = np.random.default_rng(2)
    I = rng.standard_normal((1000, 2001)).astype(np.float32)  # 10 million instances
    F = rng.standard_normal(5).astype(np.float32)
    got = kernel(I, F)
    assert list(kernel.by_window) == [(5,)]
    windowed = kernel.by_window[(5,)]
    assert "polytc_size" in windowed.c_source and "!= 5) return 3;" in windowed.c_source
    # the parametric kernel's result (TC leaves the order of a reduction open:
    # the last columns may combine the window in another order)
    np.testing.assert_allclose(got, kernel(I, F, unchecked=True), rtol=1e-5, atol=1e-5)
    want = sum(I[:, r:r + 1997].astype(np.float64) * F[r] for r in range(5))  # 1997 columns
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    for threads in (1, 2):  # other lengths, the same window: no new kernel
        np.testing.assert_allclose(kernel(I[:, :1900].copy(), F, num_threads=threads),
                                   got[:, :1896], rtol=1e-5, atol=1e-5)
    assert list(kernel.by_window) == [(5,)]


def test_tiny_calls_wide_windows_and_sized_kernels_keep_the_parametric_kernel() -> None:
    kernel = polytc.compile(CONV1D)
    rng = np.random.default_rng(3)
    small = kernel(rng.standard_normal((2, 9)).astype(np.float32),
                   np.ones(3, np.float32))
    assert small.shape == (2, 7) and not kernel.by_window  # little work: not worth a compile
    below = rng.standard_normal((1000, 1000)).astype(np.float32)  # 6 million instances
    assert kernel._plan.work((1000, 1000, 5)) < MIN_WINDOW_WORK
    kernel(below, np.ones(5, np.float32))
    assert not kernel.by_window
    wide = rng.standard_normal(MAX_WINDOW + 1).astype(np.float32)
    kernel(rng.standard_normal((1000, 3000)).astype(np.float32), wide)
    assert not kernel.by_window
    sized = polytc.compile(CONV1D, sizes={"R": 5})
    sized(rng.standard_normal((1000, 2001)).astype(np.float32), np.ones(5, np.float32))
    assert not sized.by_window


def test_a_kernel_sized_in_part_still_compiles_its_windows_in() -> None:
    """``sizes=`` that leave the windows open: a call compiles them in too,
    keeping the given sizes (conv2d sized but for KH, KW ran 2.4x slower)."""
    kernel = polytc.compile(CONV1D, sizes={"N": 1000})
    rng = np.random.default_rng(4)
    I = rng.standard_normal((1000, 2001)).astype(np.float32)
    F = rng.standard_normal(5).astype(np.float32)
    got = kernel(I, F)
    assert list(kernel.by_window) == [(5,)]
    source = kernel.by_window[(5,)].c_source
    assert "!= 1000) return 3;" in source and "!= 5) return 3;" in source
    want = sum(I[:, r:r + 1997].astype(np.float64) * F[r] for r in range(5))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    with pytest.raises(polytc.errors.ArgumentError):  # the given size still binds
        kernel(I[:999].copy(), F)
