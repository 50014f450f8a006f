"""Call-time safety beyond tests/codegen_c/test_call.py: outputs aliasing one
another or an input, zero-size dimensions through temporaries, gathers and
reductions, inputs aliasing one another, unaligned and offset views, masked
arrays, thread counts.  Each gives a clear ArgumentError or a correct result.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import polytc
from polytc.errors import ArgumentError, KernelRuntimeError

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from tc_programs import MATMUL, SOFTMAX  # noqa: E402

TWO = """def two(float(N) A, float(N) B) -> (S, P) {
    P(i) = A(i) * B(i)
    S(i) = A(i) + B(i)
}"""
GATHER = "def take(float(N,D) T, int32(M) I) -> (O) { O(m, d) = T(I(m), d) }"
REDUCTIONS = """def red(float(M,N) A) -> (X, P, T) {
    X(i) max=! A(i, j)
    P(i) *=! A(i, j)
    T +=! A(i, j)
}"""
TEXTS = dict(two=TWO, mm=MATMUL, softmax=SOFTMAX, gather=GATHER, red=REDUCTIONS)


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> dict[str, polytc.Kernel]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYTC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return {name: polytc.compile(text) for name, text in TEXTS.items()}


def f32(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape).astype(
        np.float32)


# -- aliasing -------------------------------------------------------------------------
@pytest.mark.parametrize("calls", [1, 2], ids=["first call", "warm fast path"])
def test_outputs_sharing_memory_are_rejected(k: dict, calls: int) -> None:
    a, b = f32(6), f32(6)
    k["two"](a, b)  # warms the fast path
    for _ in range(calls):
        s = np.zeros(6, np.float32)
        with pytest.raises(ArgumentError, match="another output"):
            k["two"](a, b, out=(s, s))
        buffer = np.zeros(9, np.float32)
        with pytest.raises(ArgumentError, match="another output"):
            k["two"](a, b, out=(buffer[:6], buffer[3:]))
        assert not s.any() and not buffer.any()
    s, p = np.empty(6, np.float32), np.empty(6, np.float32)
    result = k["two"](a, b, out=(s, p))
    assert result[0] is s and result[1] is p
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(p, a * b)


def test_an_input_as_one_of_several_outputs_is_rejected(k: dict) -> None:
    a, b = f32(5), f32(5)
    before = a.copy()
    for out in ((a, np.empty(5, np.float32)), (np.empty(5, np.float32), b[::-1][::-1])):
        with pytest.raises(ArgumentError, match="overlaps an input"):
            k["two"](a, b, out=out)
    np.testing.assert_array_equal(a, before)


def test_the_same_array_for_two_inputs_is_fine(k: dict) -> None:
    a = f32(4, 4)
    np.testing.assert_allclose(k["mm"](a, a), a.astype(np.float64) @ a, rtol=1e-5, atol=1e-5)
    x = f32(7)
    s, p = k["two"](x, x)
    np.testing.assert_array_equal(s, x + x)
    np.testing.assert_array_equal(p, x * x)


def test_float64_specialisation_checks_out_too() -> None:
    bare = polytc.compile("C(i,j) +=! A(i,k) * B(k,j)", scheduler="identity", tile=None)
    a = np.random.default_rng(0).standard_normal((3, 3))
    with pytest.raises(ArgumentError, match="overlaps an input"):
        bare(a, a.copy(), out=a)


# -- zero-size dimensions ---------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0, 0)])
def test_zero_sizes_through_temporaries(k: dict, shape: tuple[int, int]) -> None:
    out = k["softmax"](np.ones(shape, np.float32))
    assert out.shape == shape and out.dtype == np.float32


def test_zero_size_gather_and_table(k: dict) -> None:
    table = f32(6, 3)
    assert k["gather"](table, np.zeros(0, np.int32)).shape == (0, 3)
    assert k["gather"](np.ones((6, 0), np.float32), np.array([5, 0], np.int32)).shape == (2, 0)
    with pytest.raises(KernelRuntimeError):  # nothing to gather from
        k["gather"](np.ones((0, 3), np.float32), np.array([0], np.int32))


def test_empty_reductions_give_identities(k: dict) -> None:
    x, p, t = k["red"](np.ones((3, 0), np.float32))
    np.testing.assert_array_equal(x, np.full(3, np.finfo(np.float32).min, np.float32))
    np.testing.assert_array_equal(p, np.ones(3, np.float32))
    assert t.shape == () and t == 0
    x, p, t = k["red"](np.ones((0, 4), np.float32))
    assert x.shape == p.shape == (0,) and t == 0


def test_zero_size_out_arrays(k: dict) -> None:
    out = np.empty((0, 3), np.float32)
    assert k["mm"](np.ones((0, 2), np.float32), f32(2, 3), out=out) is out
    out = np.full((2, 3), np.nan, np.float32)
    k["mm"](np.ones((2, 0), np.float32), np.ones((0, 3), np.float32), out=out)
    np.testing.assert_array_equal(out, 0)


# -- memory layouts ---------------------------------------------------------------------
@pytest.mark.parametrize("offset", [1, 2, 3, 5])
def test_contiguous_views_at_any_offset(k: dict, offset: int) -> None:
    """Contiguous views start anywhere in their buffer (not 16-byte aligned):
    the kernel must not assume more alignment than numpy gives."""
    big = f32(offset + 35)
    a = big[offset:offset + 35].reshape(5, 7)
    b_big = f32(offset + 21)
    b = b_big[offset:offset + 21].reshape(7, 3)
    assert a.flags.c_contiguous and b.flags.c_contiguous
    out_big = np.zeros(offset + 15, np.float32)
    out = out_big[offset:].reshape(5, 3)
    k["mm"](a, b, out=out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    assert not out_big[:offset].any()


def test_unaligned_buffer_gives_a_correct_result_or_an_argument_error(k: dict) -> None:
    raw = bytearray(4 * 12 + 1)
    a = np.frombuffer(raw, dtype=np.float32, count=12, offset=1)
    a[:] = np.arange(12)
    assert not a.flags.aligned
    b = np.arange(12, dtype=np.float32)
    try:
        s, p = k["two"](a, b)
    except ArgumentError:
        return
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(p, a * b)


def test_masked_arrays_are_rejected(k: dict) -> None:
    a = np.ma.array(f32(4), mask=[1, 0, 0, 0])
    with pytest.raises(ArgumentError, match="masked"):
        k["two"](a, f32(4))


class _Sub(np.ndarray):
    pass


def test_array_subclass_gives_plain_results(k: dict) -> None:
    a = f32(3, 4).view(_Sub)
    out = k["mm"](a, f32(4, 2))
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, np.asarray(a, np.float64) @ f32(4, 2), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("bad", [0, -1, 2 ** 40, 2.5, "2", True, None.__class__])
def test_bad_thread_counts(k: dict, bad: object) -> None:
    a, b = f32(5), f32(5)
    k["two"](a, b)  # the fast path too
    for _ in range(2):
        with pytest.raises(ArgumentError, match="num_threads"):
            k["two"](a, b, num_threads=bad)
    s, p = k["two"](a, b, num_threads=np.int64(2))
    np.testing.assert_array_equal(s, a + b)
