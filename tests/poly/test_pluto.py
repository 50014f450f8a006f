"""The Pluto-style scheduler: its linear-algebra pieces, its schedules for
known programs (as isl values and summaries), fusion policies and errors."""
import dataclasses

import islpy as isl
import pytest

import polytc

from polytc.errors import ScheduleError, SchedulerFallbackWarning
from polytc.frontend import to_program
from polytc.isl_util import map_list
from polytc.poly import check, dependences, pluto_schedule, summarize
from polytc.poly.graph import strongly_connected_components
from polytc.poly.linalg import null_space as _null_space, rank as _rank
from tc_programs import MATMUL, MLP, SOFTMAX, STENCIL

CONV_RELU_POOL = """def crp(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (P) {
    O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * Wt(m,c,kh,kw)
    R(n,m,h,w) = fmax(O(n,m,h,w), 0)
    P(n,m,h,w) max=! R(n,m,2*h+kh,2*w+kw) where kh in 0:2, kw in 0:2
}"""


def schedule(text, **options):
    program = to_program(text)
    deps = dependences(program)
    result = pluto_schedule(program, deps, **options)
    assert check(program, result, deps).legal
    return program, result, summarize(result, program)


def test_null_space_and_rank():
    assert _null_space([(1, 0, 0)], 3) == [[0, 1, 0], [0, 0, 1]]
    assert _null_space([(1, 1)], 2) == [[-1, 1]]
    assert _null_space([], 2) == [[1, 0], [0, 1]]
    assert _rank([(1, 2), (2, 4)]) == 1 and _rank([(1, 0), (1, 1)]) == 2


def test_components_come_in_topological_order():
    nodes = ["S0", "S1", "S2", "S3"]
    edges = {("S2", "S1"), ("S1", "S2"), ("S0", "S2"), ("S3", "S3")}
    assert strongly_connected_components(nodes, edges) == [["S0"], ["S1", "S2"], ["S3"]]


def test_matmul_fuses_init_into_the_parallel_loops():
    program, result, summary = schedule(MATMUL)
    outer = summary.bands[0]
    assert set(outer.statements) == {"S0", "S1"} and outer.permutable
    assert outer.coincident == (True, True, False)
    # one permutable 3-d band: the init runs at k = 0, before the update there
    expected = isl.UnionMap("[M, K, N] -> { S0[m, n] -> [m, n, 0]; S1[m, n, k] -> [m, n, k] }")
    band = result.get_root().child(0).band_get_partial_schedule().intersect_domain(
        program.domain())
    assert isl.UnionMap.from_multi_union_pw_aff(band).is_equal(
        expected.intersect_domain(program.domain()))


@pytest.mark.parametrize("fuse", ["smart", "max"])
def test_mlp_fuses_at_depth_two(fuse):
    _, _, summary = schedule(MLP, fuse=fuse)
    assert [set(g) for g in summary.fused_groups] == [{"S0", "S1", "S2"}]
    assert summary.bands[0].n_member == 2 and all(summary.bands[0].coincident)


def test_mlp_without_fusion_is_three_nests():
    _, _, summary = schedule(MLP, fuse="none")
    assert len(summary.fused_groups) == 3


def test_softmax_and_stencil_are_legal_with_an_outer_parallel_loop():
    for text in (SOFTMAX, STENCIL):
        _, _, summary = schedule(text)
        assert any(band.coincident and band.coincident[0] for band in summary.bands)


ROW_BLUR = """def blur(float(N, M) A) -> (O) {
    T(i, j) = A(i, j) * 2
    O(i, j) = T(i, j) + T(i, j + 1) where j in 0:M-1
}"""


def test_smart_fusion_ends_a_band_before_a_row_that_fusion_would_serialise():
    """Fused, the blur's j loop carries T -> O (O reads T one column ahead):
    smart fusion keeps the shared, parallel i loop and gives each statement
    its own parallel j loop; max fusion shifts O and loses that loop."""
    _, _, smart = schedule(ROW_BLUR, fuse="smart")
    outer, *inner = smart.bands
    assert set(outer.statements) == {"S0", "S1"} and outer.n_member == 1 and outer.coincident
    assert sorted(band.statements for band in inner) == [("S0",), ("S1",)]
    assert all(band.coincident == (True,) for band in inner)
    _, _, fused = schedule(ROW_BLUR, fuse="max")
    assert fused.bands[0].n_member == 2 and fused.bands[0].coincident == (True, False)


def test_conv_relu_pool_cut_keeps_conv_and_relu_together():
    """The pool's 2x2 window makes a fused h loop carry relu -> pool: the
    (n, m) band stays shared, conv and relu keep a parallel (h, w) band, and
    the pool (with its initialisation) moves behind the cut."""
    program, _, summary = schedule(CONV_RELU_POOL, fuse="smart")
    outer = summary.bands[0]
    assert outer.n_member == 2 and all(outer.coincident)
    assert set(outer.statements) == {s.name for s in program.statements}
    conv = next(b for b in summary.bands[1:] if "S1" in b.statements)
    assert set(conv.statements) == {"S0", "S1", "S2"} and conv.coincident[:2] == (True, True)
    pool = next(b for b in summary.bands[1:] if "S4" in b.statements)
    assert "S3" in pool.statements and "S2" not in pool.statements


def test_explicit_groups_are_honoured_and_checked():
    _, _, summary = schedule(MLP, fuse=[["S0", "S1"], ["S2"]])
    assert [set(g) for g in summary.fused_groups] == [{"S0", "S1"}, {"S2"}]
    with pytest.raises(ScheduleError, match="depends on"):
        schedule(MLP, fuse=[["S2"], ["S0", "S1"]])
    with pytest.raises(ScheduleError, match="unknown statements"):
        schedule(MLP, fuse=[["S9"]])


def test_operation_budget_falls_back_to_the_original_order_with_a_warning():
    with pytest.warns(SchedulerFallbackWarning, match=r"\[scheduler-fallback\].*budget"):
        program, _, summary = schedule(SOFTMAX, max_operations=50)  # checks legality
    assert [set(g) for g in summary.fused_groups] == [{s.name} for s in program.statements]


def test_farkas_lifts_local_variables_instead_of_failing():
    """A subscript ``l / 2`` gives dependence sets with local variables,
    which isl's coefficients() refuses (fuzz seed 20240823 crashed Pluto)."""
    from polytc.poly.farkas import farkas
    relation = isl.Map("[N] -> { S[i] -> T[j] : exists (e: j = 2e) and 0 <= i <= j < N }")
    forms = farkas(relation, ("N",))

    def valid(form: tuple[int, ...]) -> bool:  # (c_cst, c_N, c_i, c_j) in the cone
        values = [sum(a * b for a, b in zip(coefficients, form)) + constant
                  for coefficients, constant, _ in forms]
        return all(v == 0 if eq else v >= 0 for v, (_, _, eq) in zip(values, forms))
    assert valid((0, 0, -1, 1)) and valid((-1, 1, 0, -1)) and valid((0, 0, 1, 0))
    assert not valid((0, 0, 1, -1)) and not valid((0, 0, 0, -1)) and not valid((-1, 0, 0, 0))
    text = """
    def g(float(N) A) -> (T2) {
        T0(i) = A(N - 1 - i)
        T1(i, j) = T0(2*i) + T0(j)
        T2(i, j, k) *=! 1.0 + T0(i) - T1(j, k - 2) + T1(l / 2, 2*i)
    }"""
    program = to_program(text)
    schedule = pluto_schedule(program, dependences(program), fuse="smart")
    assert check(program, schedule).legal


def test_large_dependences_are_linearised_in_a_bounded_child(monkeypatch):
    """Pieces with many inequalities go through a forked child (isl's
    Farkas step cannot be interrupted in-process and its operation budget
    does not count it): same forms as in-process; past the time limit a
    ScheduleError names the dependence."""
    import os
    from polytc.poly import farkas as module
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    relation = isl.Map("[N] -> { S[i, j] -> T[i, k] : 0 <= i < N and 0 <= j < k < N }")
    direct = module.farkas(relation, ("N",))
    monkeypatch.setattr(module, "CHILD_PIECE", 0)
    assert module.farkas(relation, ("N",)) == direct
    monkeypatch.setattr(module, "FARKAS_SECONDS", 0.0)
    with pytest.raises(ScheduleError, match="S -> T.*Farkas"):
        module.farkas(relation, ("N",))


HEAT_3D_C = """
void heat(int T, int n, double A[n][n][n], double B[n][n][n])
{
#pragma scop
  for (int t = 0; t < T; t++) {
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        for (int k = 1; k < n - 1; k++)
          B[i][j][k] = 0.5 * A[i][j][k] + 0.125 * (A[i-1][j][k] + A[i+1][j][k]
                       + A[i][j-1][k] + A[i][j+1][k] + A[i][j][k-1] + A[i][j][k+1]);
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        for (int k = 1; k < n - 1; k++)
          A[i][j][k] = 0.5 * B[i][j][k] + 0.125 * (B[i-1][j][k] + B[i+1][j][k]
                       + B[i][j-1][k] + B[i][j+1][k] + B[i][j][k-1] + B[i][j][k+1]);
  }
#pragma endscop
}
"""


def test_dependences_in_pieces_schedule_as_the_coalesced_ones():
    """The dataflow's uncoalesced pieces (quick Farkas cones for heat-3d's
    seven reads) give the schedule that the coalesced dependences give."""
    program = polytc.parse_c(HEAT_3D_C)
    deps = dependences(program)
    assert deps.pieces is not None
    assert max(m.n_basic_map() for m in map_list(deps.pieces)) >= 7
    split = pluto_schedule(program, deps)
    whole = pluto_schedule(program, dataclasses.replace(deps, pieces=None))
    assert split.get_map().is_equal(whole.get_map())
    assert "2t + i" in str(summarize(split, program))
