"""Parser and signature: precedence, comments, several defs, the bare form."""
import islpy as isl
import pytest

from polytc.errors import TcSemanticError
from polytc.frontend import ast, parse, select, to_program
from polytc.frontend.lexer import tokenize


def rhs(text: str) -> ast.Expr:
    return parse(f"O(i) = {text}")[0].statements[0].rhs


def test_longest_match_operators():
    kinds = [t.text for t in tokenize("O(i) max=! A(i) <=> x min= y +=! z")][:-1]
    assert "max=!" in kinds and "min=" in kinds and "+=!" in kinds and "<=>" in kinds


def test_precedence_and_associativity():
    e = rhs("a + b * c > d && !e || f ? g : h ? p : q")
    assert isinstance(e, ast.Ternary) and isinstance(e.other, ast.Ternary)
    assert isinstance(e.cond, ast.Binary) and e.cond.op == "||"
    conj = e.cond.lhs
    assert isinstance(conj, ast.Binary) and conj.op == "&&"
    cmp = conj.lhs
    assert isinstance(cmp, ast.Binary) and cmp.op == ">"
    add = cmp.lhs
    assert isinstance(add, ast.Binary) and add.op == "+" and add.rhs.op == "*"
    e = rhs("-a * b")
    assert isinstance(e, ast.Binary) and isinstance(e.lhs, ast.Unary)


def test_comments_numbers_and_spans():
    text = "# a comment\nO(i) = 1.5e-3 * A(i) # trailing\n"
    stmt = parse(text)[0].statements[0]
    number = stmt.rhs.lhs
    assert number.value == pytest.approx(1.5e-3) and number.is_float
    assert text[stmt.span.start:stmt.span.end] == "O(i) = 1.5e-3 * A(i)"


def test_several_defs_and_selection():
    text = ("def a(float(N) X) -> (Y) { Y(i) = X(i) }\n"
            "def b(float(N) X) -> (Y) { Y(i) = 2.0 * X(i) }")
    defs = parse(text)
    assert [d.name.name for d in defs] == ["a", "b"]
    assert select(defs, "b", text).name.name == "b"
    with pytest.raises(TcSemanticError):
        select(defs, None, text)
    with pytest.raises(TcSemanticError):
        select(defs, "c", text)


def test_bare_form_signature():
    program = to_program("C(i,j) +=! A(i,k) * B(k,j)")
    assert program.params == ("I", "K", "J")
    assert [t.name for t in program.inputs] == ["A", "B"]
    assert [t.name for t in program.outputs] == ["C"]
    assert program.tensor("A").dims == ("I", "K") and program.tensor("B").dims == ("K", "J")


def test_bare_form_gather_index_is_int32_and_dtype_option():
    program = to_program("O(b, d) = T(I(b), d)", dtype="float64")
    assert program.tensor("I").dtype == "int32"
    assert program.tensor("T").dtype == "float64"
    assert program.tensor("O").dtype == "float64"


def test_temporaries_and_init_statements():
    program = to_program("""
    def softmax(float(N, C) X) -> (Y) {
        mx(n) max=! X(n, c)
        e(n, c) = exp(X(n, c) - mx(n))
        s(n) +=! e(n, c)
        Y(n, c) = e(n, c) / s(n)
    }""")
    assert {t.name for t in program.temporaries} == {"mx", "e", "s"}
    kinds = [(s.name, s.kind) for s in program.statements]
    assert kinds == [("S0", "init"), ("S1", "compute"), ("S2", "compute"), ("S3", "init"),
                     ("S4", "compute"), ("S5", "compute")]
    s1 = program.statement("S1")
    assert s1.op == "max" and s1.reduction_indices == ("c",)
    assert s1.domain.is_equal(isl.Set("[N, C] -> { S1[n, c] : 0 <= n < N and 0 <= c < C }"))


def test_program_prints_domains_and_accesses():
    text = str(to_program("C(i,j) +=! A(i,k) * B(k,j)"))
    assert "S1: C(i, j) += (A(i, k) * B(k, j))" in text
    assert "S1[i, j, k] -> A[i, k]" in text
    assert "output float32 C[I, J]" in text
