"""Schedule summaries: bands (statements, members, permutability, parallel
members, per-statement partial schedules), fused groups and depth, on the
identity schedule, on isl's schedules and on hand-written trees; the printed
text is golden and deterministic."""
from __future__ import annotations

import textwrap

import islpy as isl
import pytest

from polytc.frontend import to_program
from polytc.poly import dependences, identity_schedule
from polytc.poly.isl_scheduler import isl_schedule
from polytc.poly.summary import BandSummary, OrderSummary, OtherSummary, loop_nest, summarize
from tc_programs import MATMUL, MLP, SOFTMAX, STENCIL



def _gold(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# -- the identity schedule ----------------------------------------------------
def test_identity_matmul() -> None:
    program = to_program(MATMUL)
    summary = summarize(identity_schedule(program, dependences(program)), program)
    assert summary.statements == ("S0", "S1")
    assert [(b.statements, b.n_member, b.permutable) for b in summary.bands] == \
        [(("S0",), 2, False), (("S1",), 3, False)]
    assert [b.parallel for b in summary.bands] == [("m", "n"), ("m", "n")]
    assert summary.bands[1].coincident == (True, True, False)
    assert summary.fused_groups == (("S0",), ("S1",))
    assert summary.max_depth == 3
    assert str(summary) == _gold("""
        sequence: S0 | S1
          band 0: S0 | 2 members | parallel: m, n
            S0[m, n] -> [m, n]
          band 0: S1 | 3 members | parallel: m, n
            S1[m, n, k] -> [m, n, k]
        fused groups: {S0}, {S1}
        max depth: 3""")


def test_identity_softmax_members_and_groups() -> None:
    program = to_program(SOFTMAX)
    summary = summarize(identity_schedule(program, dependences(program)), program)
    assert summary.fused_groups == tuple((s.name,) for s in program.statements)
    assert [b.n_member for b in summary.bands] == [1, 2, 2, 1, 2, 2]
    assert [b.parallel for b in summary.bands] == \
        [("n",), ("n",), ("n", "d"), ("n",), ("n",), ("n", "d")]
    assert summary.max_depth == 2
    assert isinstance(summary.items[0], OrderSummary)
    assert summary.items[0].children == tuple((s.name,) for s in program.statements)


# -- isl's schedules ----------------------------------------------------------
def test_isl_matmul_golden() -> None:
    program = to_program(MATMUL)
    summary = summarize(isl_schedule(program, dependences(program)), program)
    assert str(summary) == _gold("""
        band 0: S0, S1 | 3 members, permutable | parallel: m, n
          S0[m, n] -> [m, n, 0]
          S1[m, n, k] -> [m, n, k]
          sequence: S0 | S1
        fused groups: {S0, S1}
        max depth: 3""")


def test_isl_mlp_nested_bands() -> None:
    program = to_program(MLP)
    summary = summarize(isl_schedule(program, dependences(program), fuse="smart"), program)
    outer, inner = summary.bands
    assert (outer.level, outer.depth, outer.members, outer.parallel) == (0, 0, ("i", "n"),
                                                                         ("i", "n"))
    assert outer.schedules == (("S0", "S0[i, n] -> [i, n]"), ("S1", "S1[i, n, k] -> [i, n]"),
                               ("S2", "S2[i, n] -> [i, n]"))
    assert (inner.level, inner.depth, inner.statements) == (1, 2, ("S0", "S1"))
    assert inner.members == ("#0",) and inner.parallel == ()
    assert inner.expressions == (("0",), ("k",))
    assert summary.fused_groups == (("S0", "S1", "S2"),)
    assert "    band 1: S0, S1 | 1 member, permutable | sequential" in str(summary).splitlines()


def test_isl_stencil_policies() -> None:
    program = to_program(STENCIL)
    deps = dependences(program)
    apart = summarize(isl_schedule(program, deps, fuse="smart"), program)
    fused = summarize(isl_schedule(program, deps, fuse="max"), program)
    assert apart.fused_groups == (("S0",), ("S1",))
    assert fused.fused_groups == (("S0", "S1"),)
    (band,) = fused.bands
    assert band.members == ("#0",) and band.parallel == ()
    assert band.schedules == (("S0", "S0[i] -> [i]"), ("S1", "S1[i] -> [1 + i]"))


def test_summary_text_is_deterministic() -> None:
    texts = set()
    for _ in range(3):
        program = to_program(SOFTMAX)
        texts.add(str(summarize(isl_schedule(program, dependences(program), fuse="max"),
                                program)))
    assert len(texts) == 1


# -- hand-written trees -------------------------------------------------------
TREE = """{ domain: "[N] -> { S10[i] : 0 <= i < N; S2[i] : 0 <= i < N; S3[i] : 0 <= i < N }",
  child: { sequence: [
    { filter: "{ S10[i]; S2[i] }", child: {
        schedule: "[N] -> [{ S10[i] -> [(i)]; S2[i] -> [(N - i)] }]", coincident: [ 1 ],
        child: { mark: "hello", child: { set: [ { filter: "{ S10[i] }" },
                                                { filter: "{ S2[i] }" } ] } } } },
    { filter: "{ S3[i] }" } ] } }"""


def test_hand_written_tree() -> None:
    summary = summarize(isl.Schedule(TREE))
    assert summary.statements == ("S2", "S3", "S10")  # natural order
    assert summary.fused_groups == (("S2", "S10"), ("S3",))
    assert summary.max_depth == 1
    kinds = [type(item) for item in summary.items]
    assert kinds == [OrderSummary, BandSummary, OtherSummary, OrderSummary]
    assert str(summary) == _gold("""
        sequence: S2, S10 | S3
          band 0: S2, S10 | 1 member | parallel: #0
            S2[i] -> [N - i]
            S10[i] -> [i]
            mark: hello
            set: S2 | S10
        fused groups: {S2, S10}, {S3}
        max depth: 1""")


def test_statement_split_across_bands_joins_groups() -> None:
    tree = """{ domain: "[N] -> { A[i] : 0 <= i < N; B[i] : 0 <= i < N; C[i] : 0 <= i < N }",
      child: { sequence: [
        { filter: "{ A[i]; B[i] : i < 5 }",
          child: { schedule: "[{ A[i] -> [(i)]; B[i] -> [(i)] }]" } },
        { filter: "{ B[i] : i >= 5; C[i] }",
          child: { schedule: "[{ B[i] -> [(i)]; C[i] -> [(i)] }]" } } ] } }"""
    summary = summarize(isl.Schedule(tree))
    assert summary.fused_groups == (("A", "B", "C"),)


def test_piecewise_member_keeps_isl_text() -> None:
    tree = """{ domain: "[N] -> { S0[i] : 0 <= i < N }",
      child: { schedule: "[N] -> [{ S0[i] -> [(i)] : i < 5; S0[i] -> [(0)] : i >= 5 }]" } }"""
    (band,) = summarize(isl.Schedule(tree)).bands
    assert band.expressions[0][0].startswith("{ ") and ":" in band.expressions[0][0]


def test_no_bands() -> None:
    summary = summarize(isl.Schedule('{ domain: "{ S0[]; S1[] }" }'))
    assert summary.bands == () and summary.max_depth == 0
    assert summary.fused_groups == (("S0",), ("S1",))


# -- loop nests ---------------------------------------------------------------
def test_loop_nest_identity_matmul() -> None:
    program = to_program(MATMUL)
    text = loop_nest(identity_schedule(program, dependences(program)), program)
    assert text == _gold("""
        parallel for m:
          parallel for n:
            S0: C(m, n) = 0.0
        parallel for m:
          parallel for n:
            for k:
              S1: C(m, n) += (A(m, k) * B(k, n))""")


def test_loop_nest_mixed_members_and_sets() -> None:
    program = to_program(MLP)
    text = loop_nest(isl_schedule(program, dependences(program), fuse="max"))
    assert text == _gold("""
        parallel for i:
          parallel for n:
            S0
            for c2 (S1: k, S2: K):
              S1
              S2""")
    assert loop_nest(isl.Schedule(TREE)) == _gold("""
        parallel for c0 (S2: N - i, S10: i):
          // mark: hello
          any order:
            S2
            S10
        S3""")


@pytest.mark.parametrize("fuse", ["none", "smart", "max"])
def test_summary_covers_every_statement(fuse: str) -> None:
    program = to_program(SOFTMAX)
    summary = summarize(isl_schedule(program, dependences(program), fuse=fuse), program)
    assert summary.statements == tuple(s.name for s in program.statements)
    assert sorted(name for group in summary.fused_groups for name in group) == \
        sorted(summary.statements)
