"""Domains beyond boxes: ``where`` ranges that name other indices and
``where`` conditions, range inference over them, and their errors.

(The kernels themselves are checked against numpy in the corpus,
``tests/test_kernels.py``: syrk and trmm on a triangle, a causal softmax, a
cumulative sum, a strided window, triangle conditions, a band.)
"""
from __future__ import annotations

import islpy as isl
import pytest

from polytc import errors as E
from polytc.frontend import to_program
from test_errors import check_error, offset_of


def domain(text: str, name: str) -> isl.Set:
    return to_program(text).statement(name).domain


def same(pa: isl.PwAff, text: str, context: str) -> bool:
    return pa.gist_params(isl.Set(context)).is_equal(isl.PwAff(text).gist_params(isl.Set(context)))


def test_range_naming_an_index_cuts_a_triangle() -> None:
    text = "def f(float(N,K) A) -> (C) { C(i,j) +=! A(i,k) * A(j,k) where j in 0:i+1 }"
    program = to_program(text)
    assert program.statement("S1").domain.is_equal(isl.Set(
        "[N, K] -> { S1[i, j, k] : 0 <= j <= i < N and 0 <= k < K }"))
    # the identity goes on the triangle, even where the reduction is empty (K = 0)
    assert program.statement("S0").domain.is_equal(isl.Set(
        "[N, K] -> { S0[i, j] : 0 <= j <= i < N }"))
    assert same(program.tensor("C").shape[1], "[N, K] -> { [(N)] }",
                "[N, K] -> { : N >= 0 and K >= 0 }")


def test_reduction_range_naming_the_output_index() -> None:
    program = to_program("def f(float(N) A) -> (O) { O(i) +=! A(j) where i in 0:N, j in 0:i+1 }")
    assert program.statement("S1").domain.is_equal(isl.Set(
        "[N] -> { S1[i, j] : 0 <= j <= i < N }"))
    assert program.statement("S0").domain.is_equal(isl.Set("[N] -> { S0[i] : 0 <= i < N }"))


def test_window_bounds_the_free_index_for_all_of_its_points() -> None:
    """``A(j)`` with ``j in 2*i:2*i+3``: i stops where the whole window fits."""
    program = to_program("def f(float(N) A) -> (O) { O(i) +=! A(j) where j in 2*i:2*i+3 }")
    assert program.statement("S1").domain.is_equal(isl.Set(
        "[N] -> { S1[i, j] : i >= 0 and 2i + 3 <= N and 2i <= j < 2i + 3 }"))
    assert not program.conditions


def test_ranges_are_eliminated_innermost_first() -> None:
    text = "def f(float(N,N) A) -> (C) { C(i,j) +=! A(i,k) where j in 0:i+1, k in j:i+1 }"
    assert domain(text, "S1").is_equal(isl.Set(
        "[N] -> { S1[i, j, k] : 0 <= j <= k <= i < N }"))


def test_conditions_restrict_the_box() -> None:
    assert domain("def f(float(N,N) A) -> (O) { O(i,j) = A(i,j) where j <= i }",
                  "S0").is_equal(isl.Set("[N] -> { S0[i, j] : 0 <= j <= i < N }"))
    assert domain("def f(float(N,N) A) -> (O) { O(i,j) = A(i,j) where i + j < N }",
                  "S0").is_equal(isl.Set("[N] -> { S0[i, j] : i >= 0 and 0 <= j < N - i }"))
    off = domain("def f(float(N,N) A) -> (O) { O(i,j) = A(i,j) where i != j }", "S0")
    assert off.is_equal(isl.Set("[N] -> { S0[i, j] : 0 <= i < N and 0 <= j < N and i != j }"))
    both = domain("def f(float(N,N) A) -> (O) { O(i,j) = A(i,j) where j <= i && i < j + 2 }",
                  "S0")
    assert both.is_equal(isl.Set("[N] -> { S0[i, j] : 0 <= j <= i < N and i <= j + 1 }"))


def test_a_condition_makes_a_read_safe() -> None:
    """``A(i - j)`` is in bounds only on the triangle the condition keeps."""
    program = to_program("def f(float(N) A) -> (O) { O(i,j) = A(i - j) where i in 0:N, "
                         "j in 0:N, j <= i }")
    assert not program.conditions


def test_let_in_a_range_bound() -> None:
    text = "def f(float(N,N) A) -> (O) { O(i,j) = A(i,j) where j in 0:m, m = i + 1 }"
    assert domain(text, "S0").is_equal(isl.Set("[N] -> { S0[i, j] : 0 <= j <= i < N }"))


@pytest.mark.parametrize("clause, culprit, cls, phrase", [
    ("j in 0:q", 7, E.UnknownNameError, "undefined name"),
    ("j < A(i, i)", 4, E.NonAffineIndexError, "cannot bound"),
    ("j in 0:A", 7, E.NonAffineIndexError, "tensor"),
    ("i * j < 3", 0, E.NonAffineIndexError, "affine"),
    ("i + 1", 0, E.NonAffineIndexError, "affine"),
    ("j in 0:j", 7, E.RedefinitionError, "itself"),
    ("j in 0:i*j", 9, E.RedefinitionError, "itself"),
    ("i < 0", 0, E.RangeInferenceError, "no iteration"),
    ("j in i+1:i", 0, E.RangeInferenceError, "no iteration"),
])
def test_where_clause_errors(clause: str, culprit: int, cls: type, phrase: str) -> None:
    """``culprit``: where in the clause the error points."""
    text = f"def f(float(N,N) A) -> (C) {{ C(i,j) = A(i,j) where {clause} }}"
    with pytest.raises(cls) as info:
        to_program(text)
    start = text.index("where") + len("where ")
    check_error(info.value, text, start + culprit, phrases=(phrase,))


def test_ranges_that_name_each_other_are_refused() -> None:
    text = "def f(float(N,N) A) -> (C) { C(i,j) +=! A(i,k) where j in 0:k, k in j:N }"
    with pytest.raises(E.RangeInferenceError) as info:
        to_program(text)
    check_error(info.value, text, offset_of(text, "j in"), offset_of(text, "k in"),
                phrases=("depend on each other",), names=("j", "k"))


def test_a_free_index_still_needs_a_range() -> None:
    """``j in 0:i+1`` bounds j; nothing bounds i (cumsum needs ``i in 0:N``)."""
    text = "def f(float(N) A) -> (O) { O(i) +=! A(j) where j in 0:i+1 }"
    with pytest.raises(E.UnboundIndexError) as info:
        to_program(text)
    check_error(info.value, text, offset_of(text, "i)"), names=("i",))


def test_empty_where_clause_is_a_syntax_error() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i) where , i in 0:N }"
    with pytest.raises(E.TcSyntaxError) as info:
        to_program(text)
    check_error(info.value, text, offset_of(text, ", i"), phrases=("where clause",))


# -- size conditions ----------------------------------------------------------------
def test_a_read_in_bounds_for_some_sizes_becomes_a_condition() -> None:
    program = to_program("def head(float(N) A) -> (O) { O(i) = A(i) * 2 where i in 0:5 }")
    (condition,) = program.conditions
    assert (condition.tensor, condition.dim) == ("A", 0)
    assert condition.text(program.context) == "N >= 5"
    assert program.precondition.is_equal(isl.Set("[N] -> { : N >= 5 }"))
    assert "requires" in str(program)


def test_a_boundary_column_needs_the_size_only_where_it_runs() -> None:
    program = to_program("def col(float(N,D) A) -> (O) { O(i) = A(i, 0) }")
    (condition,) = program.conditions
    assert condition.dim == 1
    assert condition.text(program.context) == "D > 0 when N > 0"
    assert program.precondition.is_equal(isl.Set(
        "[N, D] -> { : N >= 0 and D >= 0 and (D > 0 or N = 0) }"))


def test_an_unrelated_size_becomes_a_condition() -> None:
    program = to_program("def f(float(N) A, float(M) B) -> (O) { O(i) = A(i) + B(i) "
                         "where i in 0:N }")
    assert [c.text(program.context) for c in program.conditions] == ["M >= N"]


def test_a_read_outside_whenever_it_runs_is_refused() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = (i == 5) ? A(i) : 0.0 where i in 0:N }"
    assert not to_program(text).conditions  # A(5) runs only when N > 5: in bounds
    text = ("def f(float(N) A, float(3) B) -> (O) { O(i) = (i == 5) ? B(i) : 0.0 "
            "where i in 0:N }")
    with pytest.raises(E.OutOfBoundsError) as info:
        to_program(text)
    check_error(info.value, text, offset_of(text, "B(i)"), names=("B",),
                phrases=("whenever it executes",))
