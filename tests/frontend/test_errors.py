"""Error tests for the TC frontend: class, message phrase, position, caret.

Every malformed or meaningless TC text must raise a
:class:`polytc.errors.SourceError` subclass whose ``line``/``column`` point at
the offending token (computed here from ``text.index``), whose message names
the culprit, and whose ``str`` shows the source line with a caret under it.
None of these texts reaches the C compiler: they fail in the frontend.

Where TC itself does not pin down which token of a construct is "the"
offending one (a statement-level error may be reported at the statement, its
operator or the culprit index), a test lists the few acceptable positions;
everywhere else the position is exact.
"""
from __future__ import annotations

import random
import re

import pytest

import polytc
from polytc import errors as E


# --------------------------------------------------------------------------
# helpers


def offset_of(text: str, needle: str, nth: int = 0, shift: int = 0) -> int:
    """Offset of the ``nth`` (0-based) occurrence of ``needle``, plus ``shift``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    return pos + shift


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` — computed independently of polytc."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def mentions(message: str, name: str) -> bool:
    """``name`` occurs in ``message`` as a whole token (quoted or not)."""
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                     message) is not None


def check_rendering(err: E.SourceError, text: str) -> None:
    """``str(err)`` is ``line L, column C: message`` + source line + caret line."""
    rendered = str(err)
    assert rendered.startswith(f"line {err.line}, column {err.column}: "), rendered
    assert err.message in rendered
    lines = rendered.split("\n")
    assert len(lines) >= 3, rendered
    source_line, caret_line = lines[-2], lines[-1]
    assert re.fullmatch(r" *\^~*", caret_line), rendered
    # The caret sits under the reported column of the printed source line.
    start = err.span.start
    src = text[text.rfind("\n", 0, start) + 1:]
    src = src.split("\n", 1)[0]
    assert source_line.endswith(src), rendered
    prefix = len(source_line) - len(src)
    assert caret_line.index("^") == prefix + err.column - 1, rendered


def check_clean_message(err: BaseException) -> None:
    """No isl jargon and no Python repr noise leaks into a user-facing message."""
    text = str(err)
    assert not re.search(r"\bisl\b", text, re.IGNORECASE), text
    assert "Traceback" not in text
    assert "object at 0x" not in text


def check_error(err: E.SourceError, text: str, *offsets: int,
                phrases: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> None:
    """Position is one of ``offsets``; message contains phrases and names."""
    assert isinstance(err, E.SourceError)
    assert err.span is not None, f"error without a span: {err!r}"
    assert err.source == text
    allowed = {line_col(text, o) for o in offsets}
    assert (err.line, err.column) in allowed, (
        f"reported line {err.line}, column {err.column}; expected one of "
        f"{sorted(allowed)}\n{err}")
    for phrase in phrases:
        assert phrase.lower() in err.message.lower(), err.message
    for name in names:
        assert mentions(err.message, name), err.message
    check_rendering(err, text)
    check_clean_message(err)


def raises(cls: type[E.SourceError], text: str) -> E.SourceError:
    """Compile ``text``, expecting exactly a ``cls`` (or subclass)."""
    with pytest.raises(cls) as info:
        polytc.compile(text)
    return info.value


def compiles_in_frontend(text: str) -> None:
    """``text`` is valid TC: the frontend must accept it.

    It then goes on to the C compiler; a missing compiler is not this file's
    concern, so that one error is tolerated.
    """
    try:
        polytc.compile(text)
    except E.CompilerNotFoundError:
        pass


# --------------------------------------------------------------------------
# TcSyntaxError


@pytest.mark.parametrize("bad", ["$", ";", "@"])
def test_bad_character(bad: str) -> None:
    text = f"def f(float(N) A) -> (O) {{ O(i) = A(i) {bad} 1.0 }}"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, bad))


def test_semicolon_between_statements() -> None:
    text = "def f(float(N) A) -> (O, P) { O(i) = A(i); P(i) = A(i) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, ";"))


def test_minus_equal_is_not_an_operator() -> None:
    text = "def f(float(N,M) A) -> (O) { O(i) -= A(i, j) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "-="))


def test_missing_close_paren_in_params() -> None:
    text = "def f(float(N) A -> (O) { O(i) = A(i) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "->"))


def test_missing_close_paren_in_call() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = exp(A(i) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "}"))


def test_missing_arrow() -> None:
    text = "def f(float(N) A) (O) { O(i) = A(i) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "(O)"))


def test_unterminated_def() -> None:
    # No trailing whitespace: the end of input is right after the last token.
    text = "def f(float(N) A) -> (O) {\n  O(i) = A(i)"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, len(text))
    assert err.line == 2


def test_number_as_lhs_index() -> None:
    text = "def f(float(N) A) -> (C) { C(0) = A(0) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "0"))


def test_expression_as_lhs_index() -> None:
    text = "def f(float(N) A) -> (O) { O(i+1) = A(i) }"
    err = raises(E.TcSyntaxError, text)
    # TC's parser reads an identifier list and trips over '+'; a parser that
    # reads an expression first would point at the expression 'i+1'.
    check_error(err, text, offset_of(text, "+"), offset_of(text, "i+1"))


def test_repeated_lhs_index() -> None:
    text = "def f(float(N,N) A) -> (O) { O(i,i) = A(i,i) }"
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "O(i,i)", shift=4), names=("i",))


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text(text: str) -> None:
    err = raises(E.TcSyntaxError, text)
    assert err.span is not None
    check_rendering(err, text)
    check_clean_message(err)


def test_comment_only_text() -> None:
    text = "# nothing here $ @ ;\n"
    err = raises(E.TcSyntaxError, text)
    assert err.span is not None
    check_clean_message(err)


# --------------------------------------------------------------------------
# UnknownNameError


def test_unknown_tensor() -> None:
    text = "def f(float(N) A) -> (B) { B(i) = A(i) + X(i) }"
    err = raises(E.UnknownNameError, text)
    check_error(err, text, offset_of(text, "X"), names=("X",))


@pytest.mark.parametrize("fn", ["sigmoid", "relu"])
def test_unknown_builtin_like_call(fn: str) -> None:
    text = f"def f(float(N) A) -> (B) {{ B(i) = {fn}(A(i)) }}"
    err = raises(E.UnknownNameError, text)
    check_error(err, text, offset_of(text, fn), names=(fn,))


def test_unknown_size_in_where() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i) where i in 0:M }"
    err = raises(E.UnknownNameError, text)
    check_error(err, text, offset_of(text, "M"), names=("M",))


# --------------------------------------------------------------------------
# UnboundIndexError


def test_unbound_lhs_indices_without_where() -> None:
    text = "def f(float(N) A) -> (O) { O(i,j) = 3.0 }"
    err = raises(E.UnboundIndexError, text)
    i_at = offset_of(text, "O(i,j)", shift=2)
    j_at = offset_of(text, "O(i,j)", shift=4)
    check_error(err, text, i_at, j_at)
    assert mentions(err.message, "i") or mentions(err.message, "j"), err.message


def test_unbound_bare_statement() -> None:
    text = "O(i) = 3.0"
    err = raises(E.UnboundIndexError, text)
    check_error(err, text, offset_of(text, "i"), names=("i",))


def test_unsolvable_index_sum() -> None:
    # i and j only ever appear together: no round of inference makes progress.
    text = "def f(float(N) A) -> (O) { O(i) +=! A(i + j) }"
    err = raises(E.UnboundIndexError, text)
    candidates = [offset_of(text, "O(i)", shift=2),
                  offset_of(text, "i + j"), offset_of(text, "j)")]
    check_error(err, text, *candidates)
    assert mentions(err.message, "i") or mentions(err.message, "j"), err.message


def test_unbounded_reduction_index() -> None:
    # k is a reduction index used only as a value: nothing bounds it.
    text = "def f(float(N) A) -> (O) { O(i) +=! A(i) * k }"
    err = raises(E.UnboundIndexError, text)
    check_error(err, text, offset_of(text, "k"), names=("k",))


# --------------------------------------------------------------------------
# NonAffineIndexError


def test_non_affine_subscript() -> None:
    text = "def f(float(N) A) -> (O) { O(i,j) = A(i*j) where i in 0:N, j in 0:N }"
    err = raises(E.NonAffineIndexError, text)
    check_error(err, text, offset_of(text, "i*j"), offset_of(text, "*"))


def test_non_affine_where_bound() -> None:
    text = "def f(float(N,M) A) -> (O) { O(i) = A(0, 0) where i in 0:N*M }"
    err = raises(E.NonAffineIndexError, text)
    check_error(err, text, offset_of(text, "N*M"), offset_of(text, "N*M", shift=1))


def test_tensor_read_in_where_bound() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = 1.0 where i in 0:A(0) }"
    err = raises(E.NonAffineIndexError, text)
    check_error(err, text, offset_of(text, "A(0)"), names=("A",))


# --------------------------------------------------------------------------
# RankMismatchError


def test_read_with_too_few_subscripts() -> None:
    text = "def f(float(M,N) A) -> (O) { O(i) = A(i) }"
    err = raises(E.RankMismatchError, text)
    check_error(err, text, offset_of(text, "A(i)"), names=("A",))
    assert "2" in err.message and "1" in err.message, err.message


def test_read_with_too_many_subscripts() -> None:
    text = "def f(float(N) A) -> (O) {\n  O(i, j) = A(i, j)\n}"
    err = raises(E.RankMismatchError, text)
    check_error(err, text, offset_of(text, "A(i, j)"), names=("A",))


def test_output_annotation_rank_mismatch() -> None:
    text = "def f(float(N) A) -> (float(N,N) O) { O(i) = A(i) }"
    err = raises(E.RankMismatchError, text)
    # The statement's LHS or the annotation in the return list.
    check_error(err, text, offset_of(text, "O(i)"), offset_of(text, "O)"),
                offset_of(text, "float(N,N)"), names=("O",))


# --------------------------------------------------------------------------
# TypeMismatchError


def test_float_subscript() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i + 0.5) }"
    err = raises(E.TypeMismatchError, text)
    check_error(err, text, offset_of(text, "i + 0.5"), offset_of(text, "0.5"),
                offset_of(text, "+ 0.5"))


def test_float_ternary_condition() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i) ? 1.0 : 0.0 }"
    err = raises(E.TypeMismatchError, text)
    check_error(err, text, offset_of(text, "A(i) ?"))


def test_logical_and_on_floats() -> None:
    text = "def f(float(N) A, float(N) B) -> (O) { O(i) = A(i) && B(i) ? 1.0 : 0.0 }"
    err = raises(E.TypeMismatchError, text)
    check_error(err, text, offset_of(text, "A(i) &&"), offset_of(text, "&&"))


def test_narrowing_assignment_needs_cast() -> None:
    text = "def f(float(N) A) -> (int32(N) O) { O(i) = A(i) }"
    err = raises(E.TypeMismatchError, text)
    check_error(err, text, offset_of(text, "A(i) }"), offset_of(text, "O(i)"),
                offset_of(text, "= A"), phrases=("int32",))


# --------------------------------------------------------------------------
# ArityError


@pytest.mark.parametrize("call,fn", [
    ("exp(A(i), A(i))", "exp"),
    ("fmax(A(i))", "fmax"),
    ("min(A(i))", "min"),
    ("max(A(i), A(i), A(i))", "max"),
    ("fma(A(i), A(i))", "fma"),
])
def test_wrong_arity(call: str, fn: str) -> None:
    text = f"def f(float(N) A) -> (O) {{ O(i) = {call} }}"
    err = raises(E.ArityError, text)
    check_error(err, text, offset_of(text, call), names=(fn,))


# --------------------------------------------------------------------------
# RedefinitionError


def test_duplicate_parameter() -> None:
    text = "def f(float(N) A, float(N) A) -> (O) { O(i) = A(i) }"
    err = raises(E.RedefinitionError, text)
    check_error(err, text, offset_of(text, "A)"), names=("A",))


def test_name_both_size_and_tensor() -> None:
    text = ("def conv(float(N,C,H,W) I, float(M,C,KH,KW) W) -> (O) {\n"
            "  O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * W(m,c,kh,kw)\n"
            "}")
    err = raises(E.RedefinitionError, text)
    check_error(err, text, offset_of(text, " W)", shift=1), names=("W",))


def test_two_defs_same_name() -> None:
    text = ("def f(float(N) A) -> (O) { O(i) = A(i) }\n"
            "def f(float(N) A) -> (P) { P(i) = A(i) }")
    err = raises(E.RedefinitionError, text)
    check_error(err, text, offset_of(text, "def f", nth=1, shift=4), names=("f",))
    assert err.line == 2


def test_redefining_builtin() -> None:
    text = "def f(float(N) exp) -> (O) { O(i) = 1.0 where i in 0:N }"
    err = raises(E.RedefinitionError, text)
    check_error(err, text, offset_of(text, "exp"), names=("exp",))


# --------------------------------------------------------------------------
# InputWriteError


def test_statement_writes_input() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i)  A(i) = 0.0 }"
    err = raises(E.InputWriteError, text)
    check_error(err, text, offset_of(text, "A(i) = 0.0"), names=("A",))


def test_no_output() -> None:
    text = "def f(float(N) a) -> () {\n  c(i) = a(i)\n}"
    err = raises(E.TcSemanticError, text)
    check_error(err, text, offset_of(text, "()"), phrases=("returns no output",), names=("c",))
    text = "def f() -> () { }"
    check_error(raises(E.TcSemanticError, text), text, offset_of(text, "()", nth=1),
                phrases=("returns no output",))


def test_output_never_written() -> None:
    text = "def f(float(N) a) -> (O) {\n  c(i) = a(i)\n}"
    err = raises(E.TcSemanticError, text)
    check_error(err, text, offset_of(text, "(O)", shift=1), phrases=("never written",),
                names=("O", "c"))


def test_input_listed_as_output() -> None:
    # Either "A is an input" at the write, or "A already defined" at the return list.
    text = "def f(float(N) A) -> (A) { A(i) = 1.0 }"
    with pytest.raises((E.InputWriteError, E.RedefinitionError)) as info:
        polytc.compile(text)
    check_error(info.value, text, offset_of(text, "(A)", shift=1),
                offset_of(text, "A(i)"), names=("A",))


# --------------------------------------------------------------------------
# ReadBeforeWriteError


def test_read_before_write() -> None:
    text = "def f(float(N) A) -> (O, T) { O(i) = T(i)  T(i) = A(i) }"
    err = raises(E.ReadBeforeWriteError, text)
    check_error(err, text, offset_of(text, "= T(i)", shift=2), names=("T",))


# --------------------------------------------------------------------------
# MissingReductionError


def test_reduction_index_with_plain_assignment() -> None:
    text = "def f(float(N,M) A) -> (O) { O(i) = A(i,j) }"
    err = raises(E.MissingReductionError, text)
    check_error(err, text, offset_of(text, "j"), offset_of(text, "O(i)"),
                offset_of(text, "= A"), names=("j",))


# --------------------------------------------------------------------------
# UninitializedReductionError


@pytest.mark.parametrize("op", ["+=", "max=", "*=", "min="])
def test_reduction_onto_unwritten_tensor(op: str) -> None:
    text = f"def f(float(N,M) A) -> (O) {{ O(i) {op} A(i,j) }}"
    err = raises(E.UninitializedReductionError, text)
    check_error(err, text, offset_of(text, "O(i)"), offset_of(text, op),
                names=("O",))
    assert op + "!" in err.message, err.message


# --------------------------------------------------------------------------
# RangeInferenceError / OutOfBoundsError


def test_empty_where_range() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = 1.0 where i in 5:3 }"
    err = raises(E.RangeInferenceError, text)
    assert not isinstance(err, E.OutOfBoundsError)
    check_error(err, text, offset_of(text, "i in"), offset_of(text, "5:3"),
                offset_of(text, "O(i)", shift=2), names=("i",))
    assert "empty" in err.message.lower(), err.message


def test_empty_inferred_range() -> None:
    # B has 5 elements and is read at i + 10 >= 10: no i is in bounds.
    text = "def f(float(N) A, float(5) B) -> (O) { O(i) = A(i) + B(i + 10) }"
    err = raises(E.RangeInferenceError, text)
    assert not isinstance(err, E.OutOfBoundsError)
    assert err.span is not None and err.line == 1
    check_rendering(err, text)
    check_clean_message(err)


def test_read_past_the_end_for_every_size() -> None:
    # B has M elements and is read at i + M >= M whenever the statement runs.
    # (B(i) alone is in bounds when M >= N: a size condition, not an error.)
    text = "def f(float(N) A, float(M) B) -> (O) { O(i) = A(i) + B(i + M) where i in 0:N }"
    err = raises(E.OutOfBoundsError, text)
    check_error(err, text, offset_of(text, "B(i + M)"), names=("B",))
    assert "whenever it executes" in err.message, err.message


def test_shifted_read_out_of_bounds() -> None:
    # i = N - 1 reads A(N), one past the end, for every N.
    text = "def f(float(N) A) -> (O) {\n  O(i) = A(i + 1) where i in 0:N\n}"
    err = raises(E.OutOfBoundsError, text)
    check_error(err, text, offset_of(text, "A(i + 1)"), names=("A",))
    assert err.line == 2


def test_guarded_read_is_accepted() -> None:
    compiles_in_frontend(
        "def f(float(N) A) -> (O) { O(t) = (t >= 3) ? A(t - 3) : 0.0 where t in 0:N }")


def test_accumulate_after_init_is_accepted() -> None:
    compiles_in_frontend(
        "def f(float(N,M) A) -> (O) {\n"
        "  O(i) = 0.0 where i in 0:N\n"
        "  O(i) += A(i,j)\n"
        "}")


# --------------------------------------------------------------------------
# multi-line positions


def test_unknown_name_on_line_3() -> None:
    text = ("def f(float(N) A) -> (O) {\n"
            "  O(i) = A(i)\n"
            "  O(i) = O(i) + X(i)\n"
            "}\n")
    err = raises(E.UnknownNameError, text)
    check_error(err, text, offset_of(text, "X"), names=("X",))
    assert (err.line, err.column) == (3, 17)


def test_syntax_error_on_line_3() -> None:
    text = ("def f(float(N) A) -> (O) {\n"
            "  O(i) = A(i)\n"
            "  O(i) = O(i) @ 2.0\n"
            "}\n")
    err = raises(E.TcSyntaxError, text)
    check_error(err, text, offset_of(text, "@"))
    assert (err.line, err.column) == (3, 15)


def test_comment_is_skipped_before_error() -> None:
    # The '$' inside the comment is not an error; the unknown Y on line 4 is.
    text = ("def f(float(N) A) -> (O) {\n"
            "  # costs $3; see @docs\n"
            "  O(i) = A(i)\n"
            "      + Y(i)\n"
            "}")
    err = raises(E.UnknownNameError, text)
    check_error(err, text, offset_of(text, "Y"), names=("Y",))
    assert (err.line, err.column) == (4, 9)


def test_rank_error_on_later_line_of_multiline_statement() -> None:
    text = ("def f(float(N,M) A, float(M) B) -> (O) {\n"
            "  O(i) +=!\n"
            "      A(i, k)\n"
            "    * B(k, i)\n"
            "}")
    err = raises(E.RankMismatchError, text)
    check_error(err, text, offset_of(text, "B(k, i)"), names=("B",))
    assert err.line == 4


# --------------------------------------------------------------------------
# robustness: malformed text never escapes as a bare Python exception


CONV2D = ("def conv2d(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {\n"
          "  O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * W1(m,c,kh,kw)\n"
          "}")

TRUNCATIONS = [CONV2D[:k] for k in range(0, len(CONV2D), 7)]

_rng = random.Random(20240611)
GARBAGE = [bytes(_rng.randrange(256) for _ in range(_rng.randrange(1, 60))).decode("latin-1")
           for _ in range(10)]

_TOKENS = ["def", "f", "(", ")", "{", "}", ",", "->", "=", "+=!", "max=", "?", ":",
           "where", "in", "0", "N", "A", "i", "j", "float", "int32", "+", "*", "&&",
           "min", "exp", ".", "1.5", "<=>", "exists", "!", "-"]
SOUP = ["def f(float(N) A) -> (O) { " + " ".join(_rng.choice(_TOKENS) for _ in range(12)) + " }"
        for _ in range(10)]


def test_conv2d_reference_is_valid() -> None:
    # The untruncated text is fine; every truncation below lacks its '}'.
    # (The frontend's acceptance is the point: compiling the C took 30 s.)
    from polytc.frontend import to_program
    to_program(CONV2D)


@pytest.mark.parametrize("text", TRUNCATIONS + GARBAGE,
                         ids=[f"trunc{k}" for k in range(len(TRUNCATIONS))]
                         + [f"garbage{k}" for k in range(len(GARBAGE))])
def test_malformed_text_raises_source_error(text: str) -> None:
    try:
        polytc.compile(text)
    except E.SourceError as err:
        assert err.span is not None, repr(err)
        assert 1 <= err.line <= text.count("\n") + 1
        assert err.column >= 1
        assert "^" in str(err)
        check_clean_message(err)
    except Exception as err:  # noqa: BLE001 - the point is to catch these
        pytest.fail(f"{type(err).__module__}.{type(err).__name__} escaped for "
                    f"{text!r}: {err}")
    else:
        pytest.fail(f"malformed text compiled: {text!r}")


@pytest.mark.parametrize("text", SOUP, ids=[f"soup{k}" for k in range(len(SOUP))])
def test_token_soup_never_escapes(text: str) -> None:
    # Random tokens in a def body: almost surely an error, which must be ours.
    try:
        polytc.compile(text)
    except E.SourceError as err:
        assert err.span is not None, repr(err)
        check_clean_message(err)
    except E.PolytcError as err:
        assert not isinstance(err, E.PolytcInternalError), str(err)
        check_clean_message(err)
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"{type(err).__module__}.{type(err).__name__} escaped for "
                    f"{text!r}: {err}")
