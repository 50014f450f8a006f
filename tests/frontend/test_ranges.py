"""Range inference against TC's worked examples (test_inference.cc) and
polytc's own decisions, compared as isl values."""
import islpy as isl
import numpy as np
import pytest

import polytc

from polytc.errors import OutOfBoundsError, RangeInferenceError, UnboundIndexError
from polytc.frontend import to_program


def extent(text: str, tensor: str, dim: int = 0) -> isl.PwAff:
    return to_program(text).tensor(tensor).shape[dim]


def same(pa: isl.PwAff, text: str, context: str) -> bool:
    """``pa`` equals the isl expression ``text`` wherever ``context`` holds."""
    expected = isl.PwAff(text)
    return isl.Set(context).is_subset(pa.eq_set(expected))


@pytest.mark.parametrize("tc, tensor, dim, expected, context", [
    ("def f(float(I) A) -> (O) { O(i) = A(123*i) }", "O", 0,
     "[I] -> { [(floor((I + 122)/123))] }", "[I] -> { : I >= 0 }"),
    ("def f(float(I) A) -> (O) { O(i) = A(2*i) + A(2*i+1) }", "O", 0,
     "[I] -> { [(floor(I/2))] }", "[I] -> { : I >= 0 }"),
    ("def f(float(N) A) -> (O) { O(i) = A(i) + A(i+1) + A(i+2) }", "O", 0,
     "[N] -> { [(N - 2)] }", "[N] -> { : N >= 2 }"),
    ("def f(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) "
     "{ O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * W1(m,c,kh,kw) }", "O", 2,
     "[N,C,H,W,M,KH,KW] -> { [(H - KH + 1)] }",
     "[N,C,H,W,M,KH,KW] -> { : 0 < KH <= H and N >= 0 and C >= 0 and W >= 0 and M >= 0 and KW >= 0 }"),
    ("def f(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) "
     "{ O(n,m,h,w) +=! I(n,c,2*h+kh,2*w+kw) * W1(m,c,kh,kw) }", "O", 2,
     "[N,C,H,W,M,KH,KW] -> { [(floor((H - KH)/2) + 1)] }",
     "[N,C,H,W,M,KH,KW] -> { : 0 < KH <= H and N >= 0 and C >= 0 and W >= 0 and M >= 0 and KW >= 0 }"),
    ("def f(float(I0,I1,I2) A) -> (O) { O(i) +=! A(j, i+j, k) }", "O", 0,
     "[I0,I1,I2] -> { [(I1 - I0 + 1)] }", "[I0,I1,I2] -> { : 0 < I0 <= I1 and I2 > 0 }"),
])
def test_tc_worked_examples(tc, tensor, dim, expected, context):
    assert same(extent(tc, tensor, dim), expected, context)


def test_nonzero_minimum_is_absolute_and_zero_filled():
    program = to_program("def f(float(N) A) -> (O) { O(i) = A(i-1) }")
    assert same(program.tensor("O").shape[0], "[N] -> { [(N + 1)] }", "[N] -> { : N >= 1 }")
    fill, compute = program.statements
    assert fill.kind == "fill" and compute.kind == "compute"
    assert compute.domain.is_equal(isl.Set("[N] -> { S0[i] : 1 <= i <= N }"))


def test_fully_written_outputs_get_no_fill():
    program = to_program("C(i,j) +=! A(i,k) * B(k,j)")
    assert [s.kind for s in program.statements] == ["init", "compute"]


def test_in_place_update_past_the_assignment_reads_zeros():
    """``T(0)`` is read by the update but written by no earlier statement: the
    whole-box update does not make the fill unnecessary (found by the
    differential test)."""
    program = to_program("def f(float(N) A) -> (T) { T(i) = A(i) where i in 1:N\n"
                         "T(i) = T(i) * 2 }")
    assert [s.kind for s in program.statements] == ["fill", "compute", "compute"]
    kernel = polytc.compile(program_text := "def f(float(N) A) -> (T) {\n"
                            "T(i) = A(i) where i in 1:N\nT(i) = T(i) * 2 }")
    A = np.arange(1, 8, dtype=np.float32)
    expected = 2 * np.concatenate([[0], A[1:]])
    np.testing.assert_array_equal(kernel(A), expected, err_msg=program_text)


def test_fully_written_before_update_gets_no_fill():
    program = to_program("def f(float(N) A) -> (T) { T(i) = A(i)\nT(i) = T(i) * 2 }")
    assert [s.kind for s in program.statements] == ["compute", "compute"]


def test_where_range_is_fixed_and_reads_checked():
    program = to_program("def f(float(N) A) -> (O) { O(i) = A(i) where i in 0:N }")
    assert program.statements[0].domain.is_equal(isl.Set("[N] -> { S0[i] : 0 <= i < N }"))
    with pytest.raises(OutOfBoundsError) as info:
        to_program("def f(float(N) A) -> (O) { O(i) = A(i + 1) where i in 0:N }")
    assert "A" in info.value.message and "N=" in info.value.message


def test_guard_keeps_a_read_in_bounds():
    program = to_program("def f(float(N) A) -> (O) { O(t) = (t >= 3) ? A(t - 3) : 0.0 "
                         "where t in 0:N }")
    assert program.statements[0].domain.is_equal(isl.Set("[N] -> { S0[t] : 0 <= t < N }"))


def test_intersection_of_reads_gives_the_shorter_range():
    program = to_program("def f(float(N) A, float(M) B) -> (O) { O(i) = A(i) + B(i) }")
    assert same(program.tensor("O").shape[0], "[N, M] -> { [(min(N, M))] }",
                "[N, M] -> { : N >= 0 and M >= 0 }")


def test_unsolvable_and_empty_ranges_are_errors():
    with pytest.raises(UnboundIndexError):
        to_program("def f(float(N) A) -> (O) { O(i) +=! A(i + j) }")
    with pytest.raises(RangeInferenceError):
        to_program("def f(float(N) A) -> (O) { O(i) = 1.0 where i in 5:3 }")


def test_gather_reads_the_whole_dimension():
    program = to_program("def f(float(V,D) T, int32(B) I) -> (O) { O(b,d) = T(I(b), d) }")
    read = next(r for r in program.statements[0].reads if r.tensor == "T")
    assert read.access.is_equal(isl.Map(
        "[V, D, B] -> { S0[b, d] -> T[o0, d] }"))


# -- a reduction index narrowed below a dimension it indexes (issue #12) -----
PADDED_CONV = """def conv(float(N,C,H,W) I, float(F,C,3,3) Wt) -> (O) {
    O(n,f,h,w) +=! (h+kh-1 >= 0 && h+kh-1 < H && w+kw-1 >= 0 && w+kw-1 < W) ? I(n,c,h+kh-1,w+kw-1) * Wt(f,c,kh,kw) : 0 where h in 0:H, w in 0:W
}"""
PADDED_CONV_WIDE = PADDED_CONV.replace("w in 0:W\n", "w in 0:W, kh in 0:3, kw in 0:3\n")


def padded_conv_reference(I: np.ndarray, Wt: np.ndarray) -> np.ndarray:
    n, _, h, w = I.shape
    padded = np.pad(I, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, Wt.shape[0], h, w), np.float32)
    for kh in range(3):
        for kw in range(3):
            out += np.einsum("nchw,fc->nfhw", padded[:, :, kh:kh + h, kw:kw + w], Wt[:, :, kh, kw])
    return out


def test_a_narrowed_reduction_index_warns_with_the_fix() -> None:
    from polytc.errors import NarrowedRangeWarning
    with pytest.warns(NarrowedRangeWarning) as caught:
        program = to_program(PADDED_CONV)
    message = str(caught[0].message)
    assert "[narrowed-range] line 2, column 102" in message
    assert "'kh' the range 1:2, but it indexes dimension 2 of 'Wt' (extent 3)" in message
    assert "'kw' the range 1:2" in message and "where kh in 0:3, kw in 0:3" in message
    assert message.splitlines()[-1].strip().startswith("^~")  # the caret under Wt(f,c,kh,kw)
    assert "kh = 1" in str(program.statements[-1].domain)  # what TC's rules give


def test_the_widened_padded_convolution_is_quiet_and_computes_numpy() -> None:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = polytc.compile(PADDED_CONV_WIDE)
    rng = np.random.default_rng(0)
    I, Wt = rng.random((2, 3, 6, 7), np.float32), rng.random((4, 3, 3, 3), np.float32)
    np.testing.assert_allclose(kernel(I, Wt), padded_conv_reference(I, Wt), rtol=1e-5, atol=1e-5)


def test_the_warning_is_said_on_cached_compiles_and_can_be_silenced() -> None:
    import warnings
    from polytc.errors import NarrowedRangeWarning
    for _ in range(2):  # the second compile comes from the front cache
        with pytest.warns(NarrowedRangeWarning):
            polytc.compile(PADDED_CONV, tile=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=NarrowedRangeWarning)
        polytc.compile(PADDED_CONV, tile=None)


def test_no_kernel_of_the_corpus_warns() -> None:
    import sys
    import warnings
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import test_kernels
    from polytc import frontend
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for case in test_kernels.CASES:
            frontend.lower(frontend.select(frontend.parse(case.tc), case.entry, case.tc),
                           case.tc, dtype="float32")
