"""Every C construct the frontend refuses raises CFrontendError at the
construct: file:line:column, the source line, a caret under it, a hint;
all problems of a region are reported together; never a traceback."""
from __future__ import annotations

import pytest

import polytc
from polytc.errors import CFrontendError, CPreprocessError, PolytcError

HEAD = """void f(int n, int m, double A[n][m], double B[n], int I[n], double *p, double s)
{
  int i, j;
  double x;
#pragma scop
"""
TAIL = """
#pragma endscop
}
"""


def located(body: str, snippet: str, message: str, hint: str | None = "",
            source: str | None = None) -> CFrontendError:
    """The error of the region ``body`` has a diagnostic at ``snippet``
    (its first occurrence in the region) whose message holds ``message``."""
    text = source if source is not None else HEAD + body + TAIL
    with pytest.raises(CFrontendError) as caught:
        polytc.parse_c(text, filename="k.c")
    error = caught.value
    region = text.find("#pragma scop")
    start = text.find(snippet, max(region, 0))
    start = start if start >= 0 else text.index(snippet)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    found = [d for d in error.diagnostics if message in d.message]
    assert found, str(error)
    diagnostic = found[0]
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == ("k.c", line, column), \
        str(error)
    rendered = diagnostic.render()
    assert rendered.startswith(f"k.c:{line}:{column}: error: ")
    source_line = text.splitlines()[line - 1]
    assert f"    {source_line.expandtabs(1)}" in rendered.splitlines()
    caret = rendered.splitlines()[2]
    assert caret == "    " + " " * (column - 1) + "^" + "~" * (len(caret) - column - 4)
    if hint is not None:
        assert hint in diagnostic.hint and diagnostic.hint, str(error)
    assert str(error).startswith(f"k.c:{error.line}:{error.column}: error:")
    return error


REFUSED = [
    ("while (x > 0) x = x - 1;", "while", "unsupported statement 'while'", "for, if"),
    ("do x = 1; while (x > 0);", "do", "unsupported statement 'do'", "for, if"),
    ("switch (n) { default: x = 1; }", "switch", "unsupported statement 'switch'", "for, if"),
    ("for (i = 0; i < n; i++) if (i == 3) break;", "break", "'break'", "for, if"),
    ("for (i = 0; i < n; i++) continue;", "continue", "'continue'", "for, if"),
    ("return;", "return", "'return'", "for, if"),
    ("goto end; end: x = 1;", "goto", "'goto'", "for, if"),
    ("{ double y = 1.0; B[0] = y; }", "double y", "a declaration", "for, if"),
    ("foo(B);", "foo(B)", "function call as a statement", "pure math"),
    ("for (i = 0; i < n; i++) B[i] = foo(B[i]);", "foo(B[i])", "allow-list", "f variants"),
    ("for (i = 0; i < n; i++) *(p + i) = 0;", "*(p + i)", "pointer dereference", "array"),
    ("for (i = 0; i < n; i++) p[i] = 0;", "p[i]", "is a pointer", "array parameter"),
    ("for (i = 0; i < n; i++) B[I[i]] = 0;", "I[i]", "non-affine subscript", "affine"),
    ("for (i = 0; i < n; i++) B[i * i] = 0;", "i * i", "non-affine subscript", "affine"),
    ("for (i = 0; i < n; i++) B[i / j] = 0;", "i / j", "non-affine subscript", "affine"),
    ("for (i = 0; i < n; i++) if (B[i] > 0) B[i] = 0;", "B[i] > 0", "non-affine condition",
     "?:"),
    ("for (i = 0; i < B[0]; i++) B[i] = 0;", "B[0]", "non-affine loop bound", "loop bounds"),
    ("for (i = 0; i < n; i *= 2) B[i] = 0;", "i *= 2", "loop increment", "constant step"),
    ("for (i = 0; i < n; i += j) B[i] = 0;", "i += j", "loop increment", "constant step"),
    ("for (i = 0; ; i++) B[i] = 0;", "for (i = 0; ; i++)", "without a condition", "bounded"),
    ("for (i = 0; i < n; i++) { i = i + 1; }", "i = i + 1", "is assigned inside the loop",
     "fixed step"),
    ("for (i = 0; i < n; i++) for (i = 0; i < n; i++) B[i] = 0;", "i = 0; i < n; i++) B",
     "already the iterator", None),
    ("for (i = 0; i < n; i++) A[i] = 0;", "A[i]", "used with 1 subscript but declared with 2",
     None),
    ("for (i = 0; i < n; i++) B[i] = A[i];", "A[i]", "used with 1 subscript", None),
    ("for (i = 0; i < n; i++) B[i] = (x = 1) + 1;", "x = 1", "assignment inside an expression",
     "statement of its own"),
    ("for (i = 0; i < n; i++) B[i] = B[i]++;", "B[i]++", "increment inside an expression",
     "statement of its own"),
    ("B[0] = (x, 1.0);", "x, 1.0", "comma operator", None),
    ("B[0] = sizeof(x);", "sizeof(x)", "sizeof", None),
    ("B[0] = *p;", "*p", "pointer dereference and address-of", None),
    ("B[0] = B[1] % 2.0;", "B[1] % 2.0", "'%' on floating-point", None),
    ("B[0] = undeclared;", "undeclared", "is not a declared variable", None),
    ("for (i = 0; i < s; i++) B[i] = 0;", "s; i++", "floating-point variable", "affine"),
    ("for (i = 0; i < n; i++) x = 1; B[i] = 0;", "i] = 0", "does not enclose", "affine"),
    ("for (j = 0; j < n; j++) B[j] = 0; x = (long double)1;", "(long double)1", "cast",
     None),
]


@pytest.mark.parametrize("body, snippet, message, hint", REFUSED,
                         ids=[r[2][:40] + f"#{n}" for n, r in enumerate(REFUSED)])
def test_refusal_is_located(body: str, snippet: str, message: str, hint: str | None) -> None:
    located(body, snippet, message, hint)


def test_every_problem_of_a_region_is_reported_at_once() -> None:
    error = located("while (x > 0) x = 1;\nfor (i = 0; i < n; i++) {\n  B[I[i]] = 0;\n"
                    "  x = foo(x);\n}",
                    "while", "'while'")
    messages = [d.message for d in error.diagnostics]
    assert len(messages) == 3 and "non-affine subscript" in messages[1] \
        and "allow-list" in messages[2], messages
    assert [d.line for d in error.diagnostics] == sorted(d.line for d in error.diagnostics)


def test_problems_of_several_regions_are_reported_together() -> None:
    source = HEAD + "while (x) x = 0;" + TAIL + HEAD.replace("void f(", "void g(") + \
        "B[0] = foo(x);" + TAIL
    with pytest.raises(CFrontendError) as caught:
        polytc.transform_c(source, filename="k.c")
    assert len(caught.value.diagnostics) == 2


def test_iterator_read_after_the_region() -> None:
    source = HEAD + "for (i = 0; i < n; i++) B[i] = 0;" + TAIL.replace(
        "}", "  B[0] = i;\n}")
    error = located("", "i;\n}", "read after the region", "declare the iterator",
                    source=source)
    assert "'i'" in error.message


def test_iterator_reset_after_the_region_is_fine() -> None:
    source = HEAD + "for (i = 0; i < n; i++) B[i] = 0;" + TAIL.replace(
        "}", "  for (i = 0; i < n; i++) B[i] += 1;\n}")
    assert len(polytc.parse_c(source).statements) == 1


@pytest.mark.parametrize("source, snippet, message", [
    (HEAD + "x = 1;\n#pragma endscop\n#pragma endscop\n}\n", "#pragma endscop\n}",
     "without matching #pragma scop"),
    ("void f(double B[3])\n{\n#pragma scop\n  B[0] = 1;\n}\n", "#pragma scop",
     "without matching #pragma endscop"),
    ("void f(double B[3])\n{\n#pragma scop\n  {\n#pragma endscop\n  }\n}\n", "#pragma scop",
     "without matching #pragma endscop"),
])
def test_unbalanced_pragmas(source: str, snippet: str, message: str) -> None:
    located("", snippet, message, "same block", source=source)


def test_syntax_error_is_located() -> None:
    with pytest.raises(CFrontendError) as caught:
        polytc.parse_c("void f(int n)\n{\n  int x = 3 }\n", filename="k.c")
    assert (caught.value.line, caught.value.column) == (3, 13)
    assert "syntax error" in caught.value.message


def test_preprocessor_error_keeps_cpp_message() -> None:
    with pytest.raises(CPreprocessError) as caught:
        polytc.parse_c('#include "missing_header.h"\nvoid f(void) {}\n', filename="k.c")
    assert caught.value.line == 1 and "missing_header.h" in caught.value.message
    assert "-I" in caught.value.hint


def test_bad_define_is_an_error() -> None:
    with pytest.raises(CPreprocessError):
        polytc.parse_c("void f(void) {}\n", defines=["-O3"])


def test_unsupported_types_and_pointer_parameters_of_compile_c() -> None:
    source = ("void f(int n, double *p, double A[][4])\n{\n  int i;\n#pragma scop\n"
              "  for (i = 0; i < n; i++) A[i][0] = 1;\n#pragma endscop\n}\n")
    with pytest.raises(CFrontendError) as caught:
        polytc.compile_c(source, filename="k.c")
    messages = " | ".join(d.message for d in caught.value.diagnostics)
    assert "'p' is a pointer" in messages and "no extent in dimension 0" in messages


def test_region_count_must_be_one_for_parse_c() -> None:
    source = HEAD + "x = 1;" + TAIL + HEAD.replace("void f(", "void g(") + "x = 2;" + TAIL
    with pytest.raises(CFrontendError, match="has 2 #pragma scop regions"):
        polytc.parse_c(source)
    assert len(polytc.parse_c(source, "g").statements) == 1


def test_errors_are_polytc_errors_not_tracebacks() -> None:
    for text in ("", "int x;", "void f(void) { #pragma scop\n }", "void f("):
        try:
            polytc.transform_c(text)
        except PolytcError:
            pass


def test_tc_only_options_are_refused_for_c() -> None:
    from polytc.errors import OptionError
    with pytest.raises(OptionError, match="dtype= does not apply to C input"):
        polytc.transform_c(HEAD + "x = 1;" + TAIL, dtype="float32")
    with pytest.raises(OptionError, match="unknown option"):
        polytc.transform_c(HEAD + "x = 1;" + TAIL, tiles=3)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(CPreprocessError, match="no such file: nowhere/kernel.c"):
        polytc.transform_c("nowhere/kernel.c")


def test_region_loop_reusing_the_enclosing_loops_iterator() -> None:
    source = ("void f(int n, double B[n])\n{\n  int t;\n  for (t = 0; t < n; t++) {\n"
              "#pragma scop\n    for (t = 0; t < n; t++)\n      B[t] = 0;\n"
              "#pragma endscop\n  }\n}\n")
    located("", "t < n; t++) {", "'t' is read after the region", "declare the iterator",
            source=source)
