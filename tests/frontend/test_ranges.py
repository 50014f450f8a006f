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
