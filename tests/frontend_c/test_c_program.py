"""What parse_c makes of C: domains, the original order, C's types and
operators in statement bodies, tensors, privatised scalars; and what the
generated block keeps of the user's spelling."""
from __future__ import annotations

import re
import warnings

import islpy as isl

import polytc
from polytc import poly
from polytc.program import Binary, Const, walk
from c_kernels import ARRAYS, GLOBALS, SCALARS

NEST = """
void f(int n, double A[n][n], float x[n])
{
  int i, j;
#pragma scop
  x[0] = 1.0f;
  for (i = 0; i < n; i++) {
    for (j = n - 1; j >= i; j--)
      A[i][j] = A[i][j] * 0.33333 + (i - 7) / 2 + (j % 3);
    x[i] = x[i] / 3 + 2.5f;
  }
#pragma endscop
}
"""


def test_domains_and_original_order_of_a_nest() -> None:
    program = polytc.parse_c(NEST)
    s0, s1, s2 = program.statements
    assert s1.iterators == ("i", "j") and s1.lhs == ("i", "j")
    assert s1.domain.is_equal(isl.Set("[n] -> { S1[i, j] : 0 <= i < n and i <= j < n }"))
    order = poly.original_order(program)
    expected = isl.UnionMap("[n] -> { S0[] -> [0, 0, 0, 0]; S1[i, j] -> [1, i, 0, -j] : "
                            "0 <= i <= j < n; S2[i] -> [1, i, 1, 0] : 0 <= i < n }")
    assert order.is_equal(expected), order
    assert program.context.is_equal(isl.Set("[n] -> { : n >= 0 }"))


def test_identity_schedule_follows_the_c_nest() -> None:
    program = polytc.parse_c(NEST)
    deps = poly.dependences(program)
    schedule = poly.identity_schedule(program, deps)
    assert schedule.get_map().is_equal(program.order.get_map())
    assert "coincident: [ 1 ]" in str(schedule)  # the i loop is parallel


def test_c_types_operators_and_literals() -> None:
    program = polytc.parse_c(NEST)
    s0, s1, s2 = program.statements
    assert s0.body == Const(1.0, "float32", "1.0f")
    ops = {node.op: node.dtype for node in walk(s1.body) if isinstance(node, Binary)}
    assert ops == {"+": "float64", "*": "float64", "-": "int32", "/t": "int32", "%t": "int32"}
    literals = [node.text for node in walk(s1.body) if isinstance(node, Const)]
    assert literals == ["0.33333", "7", "2", "3"]
    float_ops = {node.op: node.dtype for node in walk(s2.body) if isinstance(node, Binary)}
    assert float_ops == {"/": "float32", "+": "float32"}
    assert [t.role for t in program.tensors] == ["inout", "inout"]
    assert all(t.native for t in program.tensors)


def test_block_keeps_the_users_spelling() -> None:
    text = polytc.transform_c(NEST, tile=None)
    region = text[text.index("/* polytc"):]
    assert "A[i][j] = (((A[i][j] * 0.33333) + ((i - 7) / 2)) + (j % 3));" in region.replace(
        "((int32_t)i)", "i").replace("((int32_t)j)", "j")
    assert "x[0] = 1.0f;" in region and "2.5f" in region


def test_written_scalars_privatised_where_legal() -> None:
    program = polytc.parse_c(SCALARS, include_dirs=[_here()])
    kinds = {t.name: (t.role, t.rank) for t in program.tensors}
    assert kinds["temp2"] == ("temp", 2)           # per (i, j)
    assert kinds["sum"] == ("temp", 1)             # per k
    assert kinds["polytc_acc_0"] == ("temp", 1) and kinds["polytc_acc_1"] == ("temp", 1)
    for kept in ("alpha2", "beta2", "last", "carry"):  # recurrence, read after, exposed
        assert kinds[kept] == ("inout", 0), kept


def test_context_guard_and_original_code_as_fallback() -> None:
    text = polytc.transform_c(GLOBALS, include_dirs=[_here()])
    region = text[text.index("/* polytc"):text.index("V[0] += 1.0;")]
    assert "if ((n >= 0) && (t >= 0))" in region
    assert "else" in region and "a = b = 0.5 * t;" in region  # the original, as written


def test_iterator_names_avoid_the_users() -> None:
    source = NEST.replace("int i, j;", "int i, j, c0 = 0;")
    text = polytc.transform_c(source)
    assert "polytc_c0" in text and "int64_t c0 " not in text


def _here() -> str:
    from c_runner import HERE
    return str(HERE)


def test_written_arrays_privatised_where_that_frees_a_loop() -> None:
    """doitgen's ``sum`` gets private copies whose last values are copied
    back; ``v`` (its loop stays sequential) and ``x`` (read before it is
    written) keep the caller's storage."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = polytc.transform_c(ARRAYS, include_dirs=[_here()])
    shared = " ".join(str(w.message) for w in caught)
    first, second = text.split("/* polytc")[1:3]
    # one private row of sum per thread, the parallel loop r outermost
    assert "polytc_sum_private[p] = 0.0;" in first
    assert re.search(r"omp for schedule\(static\)\s*for \(int64_t c0 = 0; c0 < nr;", first)
    # copied back on the last (r, q) only
    copy = first.index("sum[p] = polytc_sum_private[p];")
    assert "(c0 + 1) == nr" in first[:copy] and "(c1 + 1) == nq" in first[:copy]
    # w's private copies are privatised, but the schedule spreads a q's
    # copy over a buffer per q: w is shared again, with a warning
    assert "polytc_w_private" not in second and "polytc_w_private" in shared
    assert "polytc_sum_private" not in shared
    for kept in ("v", "x"):
        assert f"polytc_{kept}_private" not in second
