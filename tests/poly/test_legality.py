"""Legality checks, fusion legality and user schedules (polytc.poly.legality,
polytc.poly.user_schedule)."""
import islpy as isl
import pytest

from polytc.errors import ScheduleError
from polytc.frontend import to_program
from polytc.poly import dependences, identity_schedule
from polytc.poly.legality import (FusionVerdict, IllegalScheduleError, LegalityReport,
                                  Violation, check, fusion_legality)
from polytc.poly.user_schedule import to_schedule

MATMUL = """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}"""

SOFTMAX = """
def softmax(float(N,D) I) -> (O) {
    mx(n) max=! I(n, d)
    e(n, d) = exp(I(n, d) - mx(n))
    s(n) +=! e(n, d)
    O(n, d) = e(n, d) / s(n)
}"""

CONV = """
def conv(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {
    O(n, m, h, w) +=! I(n, c, h + kh, w + kw) * W1(m, c, kh, kw)
}"""

STENCILS = """
def st(float(N) A) -> (B, C) {
    B(i) = A(i) + A(i + 1) + A(i + 2) where i in 0:N-2
    C(i) = B(i) + B(i + 1) + B(i + 2) where i in 0:N-4
}"""

# S1 is a non-commutative chain: B(i) needs the new B(i - 1)
SCAN = """
def scan(float(N) A) -> (B) {
    B(i) = A(i)
    B(i) = B(i) + B(i - 1) where i in 1:N
}"""

# S1 reads B before S2 overwrites it: an anti dependence on B
WAR = """
def war(float(N) A) -> (B, C) {
    B(i) = A(i)
    C(i) = B(i)
    B(i) = A(i) * 2.0
}"""

SHIFTED = """
def pc(float(N) A) -> (B, C) {
    B(i) = A(i)
    C(i) = B(i + 1) where i in 0:N-1
}"""

# X sits between B's producer and C; whether C can fuse with S0 depends on X
THROUGH = """
def three(float(N) A) -> (B, X, C) {
    B(i) = A(i)
    X(i) = B(i) * 2.0
    C(i) = X(i) + B(i)
}"""

BESIDE = """
def three(float(N) A) -> (B, X, C) {
    B(i) = A(i)
    X(i) = A(i) * 2.0
    C(i) = X(i) + B(i)
}"""


def identity(text):
    program = to_program(text)
    return program, identity_schedule(program, dependences(program))


def only(report, kind):
    found = [v for v in report.violations if v.kind == kind]
    assert len(found) == 1, str(report)
    return found[0]


# -- check -------------------------------------------------------------------
@pytest.mark.parametrize("text", [MATMUL, SOFTMAX, CONV, STENCILS, SCAN, WAR, THROUGH])
def test_identity_schedules_are_legal(text):
    program, schedule = identity(text)
    report = check(program, schedule)
    assert report == LegalityReport(True, ())
    assert "legal" in str(report)
    report.raise_if_illegal()
    assert check(program, schedule.get_map()).legal


def test_swapping_dependent_statements_reverses_init_before_update():
    program = to_program(MATMUL)
    report = check(program, "[M, K, N] -> { S0[m, n] -> [1, m, n, 0]; "
                            "S1[m, n, k] -> [0, m, n, k] }")
    assert not report.legal
    assert {v.kind for v in report.violations} == {"flow", "output"}
    flow = only(report, "flow")
    assert (flow.source, flow.target, flow.tensor) == ("S0", "S1", "C")
    assert flow.witness.is_subset(flow.dependence)
    all_flow = dependences(program).flow
    assert flow.dependence.is_subset(all_flow.extract_map(flow.dependence.get_space()))
    assert flow.message.startswith("flow dependence on C from S0[m=0, n=0] to S1[m=0, n=0, k=0]")
    assert "(M=1, K=1, N=1)" in flow.message and "reversed" in flow.message


def test_reversing_a_chain_loop_breaks_its_flow_dependence():
    program = to_program(SCAN)
    report = check(program, "[N] -> { S0[i] -> [0, i]; S1[i] -> [1, -i] }")
    violation = only(report, "flow")
    assert len(report.violations) == 1
    assert (violation.source, violation.target, violation.tensor) == ("S1", "S1", "B")
    assert violation.witness.is_subset(violation.dependence)
    assert str(violation) == (
        "flow dependence on B from S1[i=1] to S1[i=2] (N=3) is reversed: the schedule "
        "runs the target first (at [1, -2], the source at [1, -1])")


def test_reversing_a_reduction_loop_reports_every_kind():
    program = to_program(MATMUL)
    report = check(program, "[M, K, N] -> { S0[m, n] -> [0, m, n, 0]; "
                            "S1[m, n, k] -> [1, m, n, -k] }")
    assert sorted(v.kind for v in report.violations) == ["anti", "flow", "output"]
    for violation in report.violations:
        assert (violation.source, violation.target, violation.tensor) == ("S1", "S1", "C")
        assert violation.witness.is_subset(violation.dependence)


def test_anti_dependence_is_on_the_tensor_its_target_writes():
    program = to_program(WAR)
    report = check(program, "[N] -> { S0[i] -> [0, i]; S1[i] -> [2, i]; S2[i] -> [1, i] }")
    violation = only(report, "anti")
    assert len(report.violations) == 1
    assert (violation.source, violation.target, violation.tensor) == ("S1", "S2", "B")
    assert violation.message.startswith("anti dependence on B from S1[i=0] to S2[i=0] (N=1)")


def test_same_time_is_a_violation():
    program = to_program(MATMUL)
    report = check(program, "[M, K, N] -> { S0[m, n] -> [m, n, 0]; S1[m, n, k] -> [m, n, k] }")
    flow = only(report, "flow")
    assert "same time [0, 0, 0]" in flow.message


def test_raise_if_illegal_carries_the_violations():
    program = to_program(SCAN)
    report = check(program, "[N] -> { S0[i] -> [0, i]; S1[i] -> [1, -i] }")
    with pytest.raises(ScheduleError) as caught:
        report.raise_if_illegal()
    error = caught.value
    assert isinstance(error, IllegalScheduleError)
    assert error.violations == report.violations
    assert error.statements == ("S1", "S1")
    assert error.witness.is_subset(error.dependence)
    assert "flow dependence on B" in str(error)
    assert report.violations[0].message in str(report)


def test_schedules_of_different_lengths_are_padded():
    program = to_program(MATMUL)
    # S0 at [0, m] means [0, m, 0, 0]: before every S1 instance [1, ...]
    assert check(program, "[M, K, N] -> { S0[m, n] -> [0, m, n]; "
                          "S1[m, n, k] -> [1, m, n, k] }").legal
    assert check(program, "[M, K, N] -> { S0[m, n] -> [m, n]; S1[m, n, k] -> [m, n, 1 + k] }").legal


def test_check_rejects_a_schedule_that_misses_instances():
    program = to_program(MATMUL)
    with pytest.raises(ScheduleError, match="does not cover statement S1"):
        check(program, "[M, K, N] -> { S0[m, n] -> [0, m, n]; "
                       "S1[m, n, k] -> [1, m, n, k] : k > 0 }")


# -- fusion ------------------------------------------------------------------
def test_matmul_init_and_update_fuse_on_both_output_loops():
    program = to_program(MATMUL)
    verdict = fusion_legality(program, ["S1", "S0"], 2)
    assert isinstance(verdict, FusionVerdict)
    assert verdict.fusable and verdict.violations == ()
    assert verdict.statements == ("S0", "S1") and verdict.depth == 2
    assert "can share their outer 2 loops" in verdict.reason


def test_reading_a_later_element_forbids_fusion_without_shifting():
    program = to_program(SHIFTED)
    verdict = fusion_legality(program, ["S0", "S1"], 1)
    assert not verdict.fusable
    violation = only(LegalityReport(False, verdict.violations), "flow")
    assert (violation.source, violation.target, violation.tensor) == ("S0", "S1", "B")
    assert violation.witness.is_subset(violation.dependence)
    assert "flow dependence on B from S0[i=1] to S1[i=0] (N=2)" in verdict.reason
    assert "cannot share their outer 1 loop" in verdict.reason
    assert fusion_legality(program, ["S0", "S1"], 0).fusable


def test_stencil_pair_does_not_fuse_but_softmax_rows_do():
    stencils = to_program(STENCILS)
    assert not fusion_legality(stencils, ["S0", "S1"], 1).fusable
    softmax = to_program(SOFTMAX)
    everything = [s.name for s in softmax.statements]
    assert fusion_legality(softmax, everything, 1).fusable


def test_a_reduction_result_used_inside_the_fused_loop_forbids_fusion():
    softmax = to_program(SOFTMAX)
    verdict = fusion_legality(softmax, ["S1", "S2"], 2)
    assert not verdict.fusable
    violation = verdict.violations[0]
    assert (violation.kind, violation.source, violation.target, violation.tensor) == \
        ("flow", "S1", "S2", "mx")


def test_statement_in_between_goes_after_when_it_depends_on_the_group():
    through = to_program(THROUGH)
    verdict = fusion_legality(through, ["S0", "S2"], 1)
    assert not verdict.fusable
    assert {(v.kind, v.source, v.target, v.tensor) for v in verdict.violations} == \
        {("flow", "S1", "S2", "X")}
    beside = to_program(BESIDE)
    assert fusion_legality(beside, ["S0", "S2"], 1).fusable


@pytest.mark.parametrize("names, depth, message", [
    (["S0", "S7"], 1, "S7"),
    ([], 1, "distinct"),
    (["S0", "S0"], 1, "distinct"),
    (["S0", "S1"], 3, "S0 has only 2"),
    (["S0", "S1"], -1, "at least 0"),
])
def test_fusion_requests_that_mean_nothing_are_rejected(names, depth, message):
    program = to_program(MATMUL)
    with pytest.raises(ScheduleError, match=message):
        fusion_legality(program, names, depth)


# -- user schedules ----------------------------------------------------------
@pytest.mark.parametrize("text", [MATMUL, SOFTMAX, STENCILS])
def test_printed_schedule_tree_reads_back(text):
    program, schedule = identity(text)
    again = to_schedule(program, str(schedule))
    assert isinstance(again, isl.Schedule)
    assert again.get_map().is_equal(schedule.get_map())
    assert to_schedule(program, schedule).get_map().is_equal(schedule.get_map())


def test_union_map_text_becomes_a_padded_band():
    program, schedule = identity(MATMUL)
    tree = to_schedule(program, "[M,K,N] -> { S0[m,n] -> [0,m,n]; S1[m,n,k] -> [1,m,n,k] }")
    assert tree.get_domain().is_equal(program.domain())
    assert tree.get_map().is_equal(schedule.get_map())
    from_map = to_schedule(program, isl.UnionMap("[M,K,N] -> { S0[m,n] -> [0,m,n]; "
                                                 "S1[m,n,k] -> [1,m,n,k] }"))
    assert from_map.get_map().is_equal(schedule.get_map())


def test_a_schedule_missing_a_statement_is_rejected():
    program = to_program(MATMUL)
    with pytest.raises(ScheduleError, match="does not cover statement S1"):
        to_schedule(program, "[M,K,N] -> { S0[m,n] -> [0,m,n] }")
    tree = isl.Schedule.from_domain(isl.UnionSet(str(program.statement("S0").domain)))
    with pytest.raises(ScheduleError, match="does not cover statement S1"):
        to_schedule(program, tree)


@pytest.mark.parametrize("given, message", [
    ("[M,K,N] -> { S0[m,n] -> [0,m,n", "cannot read the schedule text as an isl union map"),
    ('{ domain: "[N] -> { S0[i] ", child: }',
     "cannot read the schedule text as an isl schedule tree"),
    ("[M,K,N] -> { S0[m,n] -> [0,m,n]; S1[m,n,k] -> [1,m,n,k]; S9[i] -> [2,i] }", "S9"),
    ("[M,K,N,X] -> { S0[m,n] -> [0,m,n]; S1[m,n,k] -> [1,m,n,k] : X > 0 }", "parameter.*X"),
    ("[M,K,N] -> { S0[m,n] -> [0,m,t]; S1[m,n,k] -> [1,m,n,k] }", "more than one time"),
])
def test_bad_user_schedules_raise_schedule_errors(given, message):
    program = to_program(MATMUL)
    with pytest.raises(ScheduleError, match=message):
        to_schedule(program, given)


def test_violation_is_data():
    program = to_program(SCAN)
    violation = check(program, "[N] -> { S0[i] -> [0, i]; S1[i] -> [1, -i] }").violations[0]
    assert isinstance(violation, Violation)
    with pytest.raises(AttributeError):
        violation.kind = "anti"  # type: ignore[misc]
