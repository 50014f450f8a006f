"""Call-time behaviour of :class:`polytc.Kernel`: argument checking, ``out=``,
zero-size dimensions, threads, dtype specialisation of the bare form, gathers
out of range, several outputs, and the inspection attributes.
"""
from __future__ import annotations

import contextlib

import islpy as isl
import numpy as np
import pytest

import polytc
from polytc.errors import ArgumentError, KernelRuntimeError, PolytcError

MATMUL = """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}"""

BARE_MATMUL = "C(i,j) +=! A(i,k) * B(k,j)"

CONST = """
def cst(float(N,3) A) -> (O) {
    O(n, c) = A(n, c) * 2.0
}"""

AXPY = """
def axpy(float a, float(N) X, float(N) Y) -> (O) {
    O(i) = a * X(i) + Y(i)
}"""

ISCALE = """
def iscale(int32 a, int32(N) X) -> (O) {
    O(i) = a * X(i)
}"""

SCALE = """
def scale(float(N) A) -> (O) {
    O(i) = A(i) * 3.0
}"""

# statement order (P, S) differs from return order (S, P)
TWO = """
def two(float(N) A, float(N) B) -> (S, P) {
    P(i) = A(i) * B(i)
    S(i) = A(i) + B(i)
}"""

GATHER = """
def take(float(N) T, int32(M) I) -> (O) {
    O(i) = T(I(i))
}"""

TEXTS = dict(matmul=MATMUL, bare=BARE_MATMUL, const=CONST, axpy=AXPY, iscale=ISCALE,
             scale=SCALE, two=TWO, gather=GATHER)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("polytc-cache")


@pytest.fixture(autouse=True)
def private_cache(cache_dir, monkeypatch):
    # call-time re-specialisation of the bare form compiles, so every test
    # needs the private cache, not only the module-scoped compiles
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("POLYTC_NO_CACHE", raising=False)


@pytest.fixture(scope="module")
def k(cache_dir):
    """The kernels of TEXTS, compiled once per module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYTC_CACHE_DIR", str(cache_dir))
        patch.delenv("POLYTC_NO_CACHE", raising=False)
        return {name: polytc.compile(text) for name, text in TEXTS.items()}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def ref_matmul(a, b):
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)


@contextlib.contextmanager
def raises_argument_error(*names: str):
    """pytest.raises for ArgumentError whose message names every one of ``names``."""
    with pytest.raises(ArgumentError) as info:
        yield info
    error = info.value
    assert isinstance(error, TypeError), "ArgumentError must also be a TypeError"
    assert isinstance(error, PolytcError)
    for name in names:
        assert name in str(error), f"{name!r} not named in {str(error)!r}"


# --------------------------------------------------------------------------
# argument checking
# --------------------------------------------------------------------------

def test_matmul_correct(k, rng):
    a, b = f32(rng, 5, 7), f32(rng, 7, 3)
    np.testing.assert_allclose(k["matmul"](a, b), ref_matmul(a, b), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(k["matmul"](A=a, B=b), ref_matmul(a, b), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(k["matmul"](a, B=b), ref_matmul(a, b), rtol=1e-5, atol=1e-5)


def test_wrong_dtype(k, rng):
    with raises_argument_error("'B'", "float32", "float64"):
        k["matmul"](f32(rng, 2, 3), np.ones((3, 4)))
    with raises_argument_error("'A'", "int32"):
        k["matmul"](np.ones((2, 3), dtype=np.int32), f32(rng, 3, 4))


def test_wrong_dtype_byte_order(k, rng):
    with raises_argument_error("'A'"):
        k["matmul"](f32(rng, 2, 3).astype(">f4"), f32(rng, 3, 4))


def test_wrong_rank(k, rng):
    with raises_argument_error("'A'", "2", "3"):
        k["matmul"](f32(rng, 2, 3, 1), f32(rng, 3, 4))
    with raises_argument_error("'B'"):
        k["matmul"](f32(rng, 2, 3), f32(rng, 3))


def test_inconsistent_sizes_name_both_tensors(k, rng):
    with raises_argument_error() as info:
        k["matmul"](f32(rng, 2, 5), f32(rng, 6, 4))
    assert str(info.value) == "size K is 5 from A (dimension 1) but 6 from B (dimension 0)"


def test_inconsistent_sizes_keyword_call(k, rng):
    with raises_argument_error("K", "A", "B", "5", "6"):
        k["matmul"](B=f32(rng, 6, 4), A=f32(rng, 2, 5))


def test_constant_extent_mismatch(k, rng):
    with raises_argument_error("'A'", "3", "4"):
        k["const"](f32(rng, 2, 4))
    a = f32(rng, 2, 3)
    np.testing.assert_array_equal(k["const"](a), a * 2)


def test_non_contiguous_input(k, rng):
    a = f32(rng, 3, 2).T  # a (2, 3) transposed view
    with raises_argument_error("'A'", "contiguous"):
        k["matmul"](a, f32(rng, 3, 4))
    with raises_argument_error("'X'", "contiguous"):
        k["axpy"](1.0, f32(rng, 8)[::2], f32(rng, 4))


def test_too_many_inputs(k, rng):
    a, b = f32(rng, 2, 3), f32(rng, 3, 4)
    with raises_argument_error("A", "B", "3"):
        k["matmul"](a, b, b)


def test_too_few_inputs(k, rng):
    with raises_argument_error("B"):
        k["matmul"](f32(rng, 2, 3))
    with raises_argument_error("A", "B"):
        k["matmul"]()


def test_unknown_keyword(k, rng):
    with raises_argument_error("'X'"):
        k["matmul"](f32(rng, 2, 3), f32(rng, 3, 4), X=f32(rng, 3))


def test_input_given_twice(k, rng):
    a = f32(rng, 2, 3)
    with raises_argument_error("'A'", "twice"):
        k["matmul"](a, f32(rng, 3, 4), A=a)


@pytest.mark.parametrize("value", [[[1.0, 2.0]], 3.0, None, "A", (1.0,)])
def test_non_array_input_for_rank_positive_tensor(k, rng, value):
    with raises_argument_error("A"):
        k["matmul"](value, f32(rng, 2, 4))


def test_read_only_input_is_accepted(k, rng):
    a, b = f32(rng, 2, 3), f32(rng, 3, 4)
    a.flags.writeable = False
    np.testing.assert_allclose(k["matmul"](a, b), ref_matmul(a, b), rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# 0-d inputs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [2.5, 2, np.float32(2.5), np.array(2.5, dtype=np.float32)],
                         ids=["float", "int", "np.float32", "0-d array"])
def test_zero_d_inputs_accept_python_numbers_and_0d_arrays(k, rng, alpha):
    x, y = f32(rng, 6), f32(rng, 6)
    expected = np.float32(alpha) * x + y
    np.testing.assert_allclose(k["axpy"](alpha, x, y), expected, rtol=1e-6)
    np.testing.assert_allclose(k["axpy"](a=alpha, X=x, Y=y), expected, rtol=1e-6)


def test_zero_d_input_wrong_rank_or_dtype(k, rng):
    x, y = f32(rng, 6), f32(rng, 6)
    with raises_argument_error("'a'"):
        k["axpy"](np.array([2.0], dtype=np.float32), x, y)
    with raises_argument_error("'a'"):
        k["axpy"](np.array(2.0), x, y)  # a 0-d float64 array is not float32


@pytest.mark.parametrize("value", ["two", object(), {}], ids=["str", "object", "dict"])
def test_zero_d_input_non_number(k, rng, value):
    with raises_argument_error("a"):
        k["axpy"](value, f32(rng, 3), f32(rng, 3))


def test_zero_d_int_input_out_of_range(k):
    with raises_argument_error("a"):
        k["iscale"](2 ** 40, np.ones(3, dtype=np.int32))


# --------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------

def test_out_writes_into_given_array_and_returns_it(k, rng):
    a, b = f32(rng, 4, 5), f32(rng, 5, 3)
    out = np.full((4, 3), np.nan, dtype=np.float32)
    result = k["matmul"](a, b, out=out)
    assert result is out
    np.testing.assert_allclose(out, ref_matmul(a, b), rtol=1e-5, atol=1e-5)


def test_out_for_several_outputs(k, rng):
    a, b = f32(rng, 7), f32(rng, 7)
    s, p = np.empty(7, np.float32), np.empty(7, np.float32)
    result = k["two"](a, b, out=(s, p))
    assert isinstance(result, tuple) and result[0] is s and result[1] is p
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(p, a * b)
    with raises_argument_error("S", "P"):
        k["two"](a, b, out=s)


@pytest.mark.parametrize("make_out, named", [
    (lambda: np.empty((4, 4), np.float32), "'C'"),          # wrong shape
    (lambda: np.empty((3,), np.float32), "'C'"),            # wrong rank
    (lambda: np.empty((4, 3), np.float64), "'C'"),          # wrong dtype
    (lambda: np.empty((3, 4), np.float32).T, "'C'"),        # non-contiguous
    (lambda: np.empty((4, 6), np.float32)[:, ::2], "'C'"),  # non-contiguous
    (lambda: 0.0, "'C'"),                                   # not an array
    (lambda: [[0.0] * 3] * 4, "(C)"),                       # taken as 4 outputs
], ids=["shape", "rank", "dtype", "transposed", "strided", "float", "list"])
def test_out_rejected(k, rng, make_out, named):
    with raises_argument_error(named):
        k["matmul"](f32(rng, 4, 5), f32(rng, 5, 3), out=make_out())


def test_out_read_only_rejected(k, rng):
    out = np.empty((4, 3), np.float32)
    out.flags.writeable = False
    with raises_argument_error("'C'"):
        k["matmul"](f32(rng, 4, 5), f32(rng, 5, 3), out=out)


def test_out_aliasing_an_input_rejected(k, rng):
    a = f32(rng, 6)
    before = a.copy()
    with raises_argument_error("'O'"):
        k["scale"](a, out=a)
    with raises_argument_error("'O'"):
        k["scale"](a, out=a[:])
    buffer = f32(rng, 12)
    with raises_argument_error("'O'"):  # overlapping halves of one buffer
        k["scale"](buffer[:6], out=buffer[3:9])
    np.testing.assert_array_equal(a, before)


# --------------------------------------------------------------------------
# zero-size dimensions
# --------------------------------------------------------------------------

def test_zero_size_reduction_gives_zeros(k):
    c = k["matmul"](np.ones((3, 0), np.float32), np.ones((0, 4), np.float32))
    assert c.shape == (3, 4) and c.dtype == np.float32
    np.testing.assert_array_equal(c, np.zeros((3, 4), np.float32))


def test_zero_size_output_dimension(k, rng):
    c = k["matmul"](np.ones((0, 2), np.float32), f32(rng, 2, 4))
    assert c.shape == (0, 4) and c.dtype == np.float32
    c = k["matmul"](f32(rng, 2, 2), np.ones((2, 0), np.float32))
    assert c.shape == (2, 0)
    c = k["matmul"](np.ones((0, 0), np.float32), np.ones((0, 0), np.float32))
    assert c.shape == (0, 0)
    assert k["scale"](np.ones(0, np.float32)).shape == (0,)


# --------------------------------------------------------------------------
# threads and unchecked calls
# --------------------------------------------------------------------------

def test_num_threads_give_identical_results(k, rng):
    a, b = f32(rng, 67, 45), f32(rng, 45, 29)
    one = k["matmul"](a, b, num_threads=1)
    two = k["matmul"](a, b, num_threads=2)
    default = k["matmul"](a, b)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, default)
    np.testing.assert_allclose(one, ref_matmul(a, b), rtol=1e-4, atol=1e-4)


def test_unchecked_gives_same_result(k, rng):
    a, b = f32(rng, 9, 11), f32(rng, 11, 5)
    np.testing.assert_array_equal(k["matmul"](a, b, unchecked=True), k["matmul"](a, b))
    out = np.empty((9, 5), np.float32)
    assert k["matmul"](a, b, out=out, unchecked=True) is out
    np.testing.assert_array_equal(out, k["matmul"](a, b))
    x, y = f32(rng, 5), f32(rng, 5)
    np.testing.assert_array_equal(k["axpy"](np.float32(1.5), x, y, unchecked=True),
                                  k["axpy"](np.float32(1.5), x, y))


def test_unchecked_bare_form_float64_same_as_checked(k, rng):
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    checked = k["bare"](a, b)
    unchecked = k["bare"](a, b, unchecked=True)
    assert unchecked.dtype == checked.dtype == np.float64
    np.testing.assert_array_equal(unchecked, checked)


# --------------------------------------------------------------------------
# bare-form dtype specialisation
# --------------------------------------------------------------------------

def test_bare_form_specialises_to_float64_arrays(k, rng):
    a, b = rng.standard_normal((6, 8)), rng.standard_normal((8, 5))
    c = k["bare"](a, b)
    assert c.dtype == np.float64 and c.shape == (6, 5)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12, atol=1e-12)
    out = np.empty((6, 5))
    assert k["bare"](a, b, out=out, num_threads=1) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)


def test_bare_form_float32_default(k, rng):
    a, b = f32(rng, 3, 4), f32(rng, 4, 2)
    c = k["bare"](a, b)
    assert c.dtype == np.float32
    np.testing.assert_allclose(c, ref_matmul(a, b), rtol=1e-5, atol=1e-5)


def test_bare_form_explicit_dtype_rejects_other_arrays(rng):
    kernel = polytc.compile(BARE_MATMUL, dtype="float64")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(kernel(a, b), a @ b, rtol=1e-12, atol=1e-12)
    with raises_argument_error("float64", "float32"):
        kernel(a.astype(np.float32), b.astype(np.float32))


def test_bare_form_mixed_dtypes_rejected(k, rng):
    with raises_argument_error():
        k["bare"](rng.standard_normal((3, 4)), f32(rng, 4, 2))


# --------------------------------------------------------------------------
# gathers out of range
# --------------------------------------------------------------------------

def test_gather_in_range(k, rng):
    table = f32(rng, 10)
    index = np.array([3, 0, 9, 9, 2], dtype=np.int32)
    np.testing.assert_array_equal(k["gather"](table, index), table[index])


@pytest.mark.parametrize("bad", [10, -1, 2 ** 31 - 1, -(2 ** 31)])
def test_gather_out_of_range_raises(k, rng, bad):
    table = f32(rng, 10)
    index = np.array([1, bad, 2], dtype=np.int32)
    with pytest.raises(KernelRuntimeError) as info:
        k["gather"](table, index)
    # which index tensor, where, what value, which tensor it indexes (issue #12)
    assert str(info.value).startswith(
        f"gathered index out of range: index tensor 'I' at position (1,) holds {bad}, but it "
        "indexes dimension 0 of 'T', whose extent is 10"), str(info.value)
    # the kernel still works afterwards
    np.testing.assert_array_equal(k["gather"](table, index[:1]), table[[1]])


# --------------------------------------------------------------------------
# several outputs, inputs untouched
# --------------------------------------------------------------------------

def test_several_outputs_in_return_order(k, rng):
    assert k["two"].outputs == ("S", "P")
    a, b = f32(rng, 11), f32(rng, 11)
    result = k["two"](a, b)
    assert isinstance(result, tuple) and len(result) == 2
    s, p = result
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(p, a * b)


def test_inputs_not_modified(k, rng):
    a, b = f32(rng, 5, 6), f32(rng, 6, 4)
    a0, b0 = a.copy(), b.copy()
    k["matmul"](a, b)
    k["matmul"](a, b, unchecked=True)
    x = f32(rng, 9)
    x0 = x.copy()
    k["two"](x, x)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(x, x0)


# --------------------------------------------------------------------------
# inspection
# --------------------------------------------------------------------------

def test_names_and_sizes(k):
    assert k["matmul"].inputs == ("A", "B")
    assert k["matmul"].outputs == ("C",)
    assert k["matmul"].sizes == ("M", "K", "N")
    assert k["bare"].sizes == ("I", "K", "J")
    assert k["axpy"].inputs == ("a", "X", "Y")
    assert "polytc_matmul" in repr(k["matmul"])


def test_program_prints_statements_with_isl_domains(k):
    text = str(k["bare"].program)
    assert "S0" in text and "S1" in text
    assert "domain:" in text
    assert "[I, K, J] -> { S1[i, j, k]" in text
    assert "0 <= k < K" in text


def test_schedule_round_trips_through_text(k):
    schedule = k["bare"].schedule
    assert isinstance(schedule, isl.Schedule)
    again = isl.Schedule(str(schedule))
    assert again.get_map().is_equal(schedule.get_map())
    assert again.get_domain().is_equal(schedule.get_domain())


def test_output_shapes(k):
    assert k["bare"].output_shapes(I=3, K=4, J=5) == {"C": (3, 5)}
    assert k["matmul"].output_shapes(M=3, K=4, N=5) == {"C": (3, 5)}
    assert k["two"].output_shapes(N=7) == {"S": (7,), "P": (7,)}
    with pytest.raises(ArgumentError):
        k["bare"].output_shapes(I=3, K=4)


def test_output_extents(k):
    extents = k["bare"].output_extents
    assert set(extents) == {"C"}
    first, second = extents["C"]
    assert "I" in first and "J" not in first.split("->")[-1]
    assert "J" in second.split("->")[-1]
    assert set(k["two"].output_extents) == {"S", "P"}


@pytest.mark.parametrize("text", ["O(i,j) = I(i,j) + J(i,j)", "O(i,j) = A(i,j) + B(i,j)",
                                  "O(i,k) = K(i,k) * I(i,k)"])
def test_bare_statements_share_sizes_by_index_whatever_the_tensor_names(text, rng):
    """Tensors named like indices (``I``, ``J``) gave every tensor sizes of its
    own: a (2, 3) and a (2, 5) array were accepted (issue #12)."""
    kernel = polytc.compile(text)
    first, second = (kernel.program.tensor(name) for name in kernel.inputs)
    assert first.dims == second.dims, (first.dims, second.dims)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    with pytest.raises(ArgumentError, match=r"size \w+ is 3 from \w+ \(dimension 1\) but 5"):
        kernel(a, rng.standard_normal((2, 5)).astype(np.float32))
    b = rng.standard_normal((2, 3)).astype(np.float32)
    expected = a + b if "+" in text else a * b
    np.testing.assert_allclose(kernel(a, b), expected, rtol=1e-6)


def test_gather_report_through_the_general_path_and_for_an_index_expression(k, rng):
    table, index = f32(rng, 10), np.array([4, 0, 12], dtype=np.int32)
    with pytest.raises(KernelRuntimeError, match=r"index tensor 'I' at position \(2,\) holds "
                       r"12, but it indexes dimension 0 of 'T', whose extent is 10"):
        k["gather"](T=table, I=index)  # by name: the checked path
    shifted = polytc.compile("def take(float(N) T, int32(M) I) -> (O) { O(i) = T(I(i) + 1) }")
    with pytest.raises(KernelRuntimeError, match=r"the index \(I\(i\) \+ 1\) holds 10, but it "
                       r"indexes dimension 0 of 'T', whose extent is 10"):
        shifted(table, np.array([0, 9], dtype=np.int32))
