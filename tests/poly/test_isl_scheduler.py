"""isl's scheduler as polytc's second opinion: legality of every schedule it
returns (each dependence pair s -> t has theta(s) <<_lex theta(t)), real
parallelism of every member flagged coincident, what each fusion policy does,
the operation budget, and that the shared isl context is left as found."""
from __future__ import annotations

import islpy as isl
import pytest

import importlib

from polytc.errors import OptionError, SchedulerFallbackWarning
from polytc.frontend import to_program
from polytc.poly import dependences, identity_schedule
from polytc.poly.dependences import Dependences
from polytc.poly.isl_scheduler import (FUSION_POLICIES, ISL_OPTIONS, PROXIMITY_CHOICES,
                                       isl_schedule, read_after_read)
from polytc.poly.summary import summarize
from polytc.program import Program
from tc_programs import MATMUL, MLP, SOFTMAX, STENCIL

isl_scheduler_module = importlib.import_module("polytc.poly.isl_scheduler")

STENCIL2D = """def blur2(float(H,W) A) -> (O) {
    T(i,j) = A(i,j) + A(i+1,j) + A(i,j+1) where i in 0:H-1, j in 0:W-1
    O(i,j) = T(i,j) + T(i+1,j+1) where i in 0:H-2, j in 0:W-2
}"""
CHAINED = """def mm2(float(M,K) A, float(K,N) B, float(N,P) C) -> (E) {
    D(m,n) +=! A(m,k) * B(k,n)
    E(m,p) +=! D(m,n) * C(n,p)
}"""
SIBLINGS = """def two(float(N,M) A) -> (O1, O2) {
    O1(i,j) = A(i,j)
    O2(i,j) = A(j,i) * 2.0
}"""
# Legal only under the context J >= 0: the flow S0 -> S2 exists when J <= 0.
CONTEXT_BOUND = """
T(i) +=! W(i,j) * V(j)
O(i) = T(i) + U(i)
"""
PROGRAMS = {"context_bound": CONTEXT_BOUND, "matmul": MATMUL, "mlp": MLP, "softmax": SOFTMAX, "stencil": STENCIL,
            "stencil2d": STENCIL2D, "chained": CHAINED, "siblings": SIBLINGS}


def _setup(text: str) -> tuple[Program, Dependences]:
    program = to_program(text)
    return program, dependences(program)


def _maps(union: isl.UnionMap) -> list[isl.Map]:
    maps = union.get_map_list()
    return [maps.get_at(i) for i in range(maps.n_map())]


def _padded(schedule_map: isl.UnionMap) -> isl.UnionMap:
    """Every statement's flat schedule extended with zeros to one length."""
    maps = _maps(schedule_map)
    length = max(m.dim(isl.dim_type.out) for m in maps)
    result = isl.UnionMap.empty(schedule_map.get_space())
    for m in maps:
        n = m.dim(isl.dim_type.out)
        m = m.add_dims(isl.dim_type.out, length - n)
        for position in range(n, length):
            m = m.fix_val(isl.dim_type.out, position, 0)
        result = result.union(isl.UnionMap.from_map(m))
    return result


def assert_legal(schedule: isl.Schedule, program: Program, deps: Dependences) -> None:
    """Every dependence (s, t) has time(s) lexicographically before time(t)
    for every size in the program's context (isl schedules under it)."""
    times = _padded(schedule.get_map())
    before = times.lex_lt_union_map(times)
    violated = deps.all.intersect_params(program.context).subtract(before)
    assert violated.is_empty(), f"violated dependences: {violated}"


def _band_nodes(node: isl.ScheduleNode) -> list[isl.ScheduleNode]:
    found = [node] if node.get_type() == isl.schedule_node_type.band else []
    for position in range(node.n_children()):
        found += _band_nodes(node.child(position))
    return found


def _equal_under(relation: isl.UnionMap) -> isl.UnionMap:
    return relation.apply_range(relation.reverse())


def assert_coincident_members_are_parallel(schedule: isl.Schedule, program: Program,
                                           deps: Dependences) -> None:
    """A coincident member i of a band: every dependence between instances
    that agree on the prefix schedule and on members 0..i-1 agrees on i."""
    for node in _band_nodes(schedule.get_root()):
        domain = node.get_domain()
        pending = deps.all.intersect_params(program.context)
        pending = pending.intersect_domain(domain).intersect_range(domain)
        pending = pending.intersect(_equal_under(node.get_prefix_schedule_union_map()))
        partial = node.band_get_partial_schedule()
        for member in range(node.band_n_member()):
            same = _equal_under(isl.UnionMap.from_union_pw_aff(partial.get_at(member)))
            if node.band_member_get_coincident(member):
                assert pending.is_subset(same), f"member {member} of {node} carries a dependence"
            pending = pending.intersect(same)


# -- legality and parallelism over programs x policies ------------------------
@pytest.mark.parametrize("fuse", FUSION_POLICIES)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_schedule_is_legal_and_coincidence_is_real(name: str, fuse: str) -> None:
    program, deps = _setup(PROGRAMS[name])
    schedule = isl_schedule(program, deps, fuse=fuse)
    assert schedule.get_domain().is_equal(program.domain())
    assert_legal(schedule, program, deps)
    assert_coincident_members_are_parallel(schedule, program, deps)


@pytest.mark.parametrize("proximity", PROXIMITY_CHOICES)
@pytest.mark.parametrize("name", ["mlp", "softmax", "chained", "siblings"])
def test_every_proximity_choice_is_legal(name: str, proximity: str) -> None:
    program, deps = _setup(PROGRAMS[name])
    schedule = isl_schedule(program, deps, proximity=proximity)
    assert_legal(schedule, program, deps)
    assert_coincident_members_are_parallel(schedule, program, deps)


def test_legality_check_rejects_a_reversed_schedule() -> None:
    program, deps = _setup(MLP)
    reversed_order = isl.Schedule.from_domain(program.domain())
    filters = isl.UnionSetList.alloc(program.context.get_ctx(), 3)
    for statement in reversed(program.statements):
        filters = filters.add(isl.UnionSet.from_set(statement.domain))
    reversed_order = reversed_order.get_root().child(0).insert_sequence(filters).get_schedule()
    with pytest.raises(AssertionError, match="violated"):
        assert_legal(reversed_order, program, deps)


def test_parallelism_check_rejects_a_false_coincident_flag() -> None:
    program, deps = _setup(MATMUL)
    schedule = identity_schedule(program, deps)
    band = schedule.get_root().child(0).child(1).child(0)
    assert band.band_n_member() == 3 and not band.band_member_get_coincident(2)
    wrong = band.band_member_set_coincident(2, True).get_schedule()
    with pytest.raises(AssertionError, match="carries a dependence"):
        assert_coincident_members_are_parallel(wrong, program, deps)


# -- what the policies do -----------------------------------------------------
@pytest.mark.parametrize("fuse", FUSION_POLICIES)
def test_matmul_outer_loop_is_parallel(fuse: str) -> None:
    program, deps = _setup(MATMUL)
    root = isl_schedule(program, deps, fuse=fuse).get_root()
    for band in _band_nodes(root):
        if band.get_schedule_depth() == 0:
            assert band.band_member_get_coincident(0)
            assert band.band_get_permutable()
    summary = summarize(isl_schedule(program, deps, fuse=fuse), program)
    assert all(band.parallel[:2] == ("m", "n") for band in summary.bands if band.level == 0)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_no_fusion_gives_each_scc_its_own_nest(name: str) -> None:
    # Dependences in TC programs run from a statement to itself or to a later
    # one, so every strongly connected component is a single statement.  The
    # order of independent statements is isl's choice.
    program, deps = _setup(PROGRAMS[name])
    summary = summarize(isl_schedule(program, deps, fuse="none"), program)
    assert sorted(summary.fused_groups) == [(s.name,) for s in program.statements]


def test_smart_fuses_bias_relu_into_the_matmul_parallel_loops() -> None:
    program, deps = _setup(MLP)
    summary = summarize(isl_schedule(program, deps, fuse="smart"), program)
    assert summary.fused_groups == (("S0", "S1", "S2"),)
    outer = summary.bands[0]
    assert (outer.statements, outer.n_member, outer.permutable) == (("S0", "S1", "S2"), 2, True)
    assert outer.parallel == ("i", "n")
    assert summary.max_depth == 3


def test_smart_keeps_parallelism_where_fusion_would_cost_it() -> None:
    for text in (STENCIL, STENCIL2D):
        program, deps = _setup(text)
        summary = summarize(isl_schedule(program, deps, fuse="smart"), program)
        assert summary.fused_groups == (("S0",), ("S1",))
        assert all(band.coincident == (True,) * band.n_member for band in summary.bands)


def test_smart_softmax_fuses_each_reduction_with_its_init_and_keeps_rows_parallel() -> None:
    program, deps = _setup(SOFTMAX)
    summary = summarize(isl_schedule(program, deps, fuse="smart"), program)
    assert summary.fused_groups == (("S0", "S1"), ("S2",), ("S3", "S4"), ("S5",))
    assert all(band.parallel[:1] == ("n",) for band in summary.bands)


def test_max_fuses_every_connected_component() -> None:
    for text in (STENCIL, SOFTMAX, CHAINED):
        program, deps = _setup(text)
        summary = summarize(isl_schedule(program, deps, fuse="max"), program)
        assert summary.fused_groups == (tuple(s.name for s in program.statements),)


def test_read_after_read_proximity_fuses_sibling_readers() -> None:
    program, deps = _setup(SIBLINGS)
    assert len(summarize(isl_schedule(program, deps), program).fused_groups) == 2
    fused = summarize(isl_schedule(program, deps, proximity="flow+rar"), program)
    assert fused.fused_groups == (("S0", "S1"),)


def test_read_after_read_relates_different_statements_only() -> None:
    program, _ = _setup(SIBLINGS)
    expected = isl.UnionMap("[N, M] -> { S0[i, j] -> S1[j, i] : 0 <= i < N and 0 <= j < M }")
    assert read_after_read(program).is_equal(expected)
    single, _ = _setup(MATMUL)
    assert read_after_read(single).is_empty()


def test_isl_options_override_the_policy() -> None:
    program, deps = _setup(STENCIL)
    schedule = isl_schedule(program, deps, fuse="smart",
                            isl_options={"schedule_maximize_coincidence": 0})
    assert_legal(schedule, program, deps)
    assert summarize(schedule, program).fused_groups == (("S0", "S1"),)


# -- errors, budget, and the shared context -----------------------------------
def _context_state(ctx: isl.Context) -> dict[str, int]:
    state = {name: int(getattr(ctx, f"get_{name}")()) for name in ISL_OPTIONS}
    state["max_operations"] = int(ctx.get_max_operations())
    return state


def test_operation_budget_falls_back_to_the_original_order_and_is_reset() -> None:
    program, deps = _setup(SOFTMAX)
    ctx = program.context.get_ctx()
    before = _context_state(ctx)
    with pytest.warns(SchedulerFallbackWarning, match=r"\[scheduler-fallback\].*operation budget"):
        fallback = isl_schedule(program, deps, max_operations=10)
    assert fallback.get_map().is_equal(identity_schedule(program, deps).get_map())
    assert_legal(fallback, program, deps)
    assert _context_state(ctx) == before
    assert_legal(isl_schedule(program, deps), program, deps)  # isl still works afterwards


def test_time_limit_falls_back_to_the_original_order(monkeypatch: pytest.MonkeyPatch) -> None:
    program, deps = _setup(MLP)
    monkeypatch.setattr(isl_scheduler_module, "SECONDS", 0.0)
    with pytest.warns(SchedulerFallbackWarning, match="took more than 0 s"):
        fallback = isl_schedule(program, deps)
    assert_legal(fallback, program, deps)


def test_context_options_are_restored() -> None:
    program, deps = _setup(MLP)
    ctx = program.context.get_ctx()
    before = _context_state(ctx)
    for fuse in FUSION_POLICIES:
        isl_schedule(program, deps, fuse=fuse, isl_options={"schedule_outer_coincidence": 1})
        assert _context_state(ctx) == before


def test_policies_do_not_depend_on_leftover_context_options() -> None:
    program, deps = _setup(MLP)
    ctx = program.context.get_ctx()
    expected = str(isl_schedule(program, deps))
    ctx.set_schedule_whole_component(1)
    try:
        assert str(isl_schedule(program, deps)) == expected
    finally:
        ctx.set_schedule_whole_component(0)


@pytest.mark.parametrize("kwargs", [{"fuse": "greedy"}, {"proximity": "rar"},
                                    {"isl_options": {"schedule_bogus": 1}}])
def test_unknown_choices_raise_option_error(kwargs: dict[str, object]) -> None:
    program, deps = _setup(MATMUL)
    with pytest.raises(OptionError):
        isl_schedule(program, deps, **kwargs)  # type: ignore[arg-type]
