"""Differential tests of the schedulers on random TC programs, and known results.

Random programs (``strategies.programs``, 2 to 5 TC statements: maps,
stencils, reductions, in-place updates, accumulations, temporaries): every
schedule of Pluto and isl under every fusion policy is legal, and kernels
compiled from a random subset of those option sets (with random tile sizes,
levels and register blocks) compute what the
``identity`` kernel computes, which itself computes what an independent numpy
evaluation of the program computes, at two size sets (one kernel serves every
shape).  Known results pin what Pluto does with an MLP layer, two chained
matmuls, softmax and a stencil pair, explicit fusion groups and the
operation budget.
"""
from __future__ import annotations

import os
import sys

import islpy as isl
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polytc
from polytc.errors import ScheduleError, SchedulerFallbackWarning
from polytc.frontend import to_program
from polytc.poly import (Dependences, check, dependences, identity_schedule, isl_schedule,
                         loop_nest, pluto_schedule, summarize)
from polytc.program import Program

sys.path.insert(0, os.path.dirname(__file__))
import strategies  # noqa: E402  (tests dirs are not packages)

SCHEDULERS = {"pluto": pluto_schedule, "isl": isl_schedule}
FUSIONS = ("smart", "max", "none")
OPTION_SETS = [(s, f) for s in SCHEDULERS for f in FUSIONS]
TILES = ["auto", None, 2, (3, 2, 4), [(6, 4, 4), (2, 2, 2)]]  # tiny: partial tiles everywhere
UNROLLS = ["auto", None, (2, 3)]


def _outputs(value: object) -> tuple[np.ndarray, ...]:
    return value if isinstance(value, tuple) else (value,)  # type: ignore[return-value]


def _close(actual: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...], what: str,
           rtol: float, atol: float) -> None:
    assert len(actual) == len(expected), what
    for n, (a, e) in enumerate(zip(actual, expected)):
        assert a.shape == e.shape, f"{what}: output {n} has shape {a.shape}, expected {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=f"{what} output {n}")


def _bands(node: isl.ScheduleNode) -> list[isl.ScheduleNode]:
    found = [node] if node.get_type() == isl.schedule_node_type.band else []
    for position in range(node.n_children()):
        found += _bands(node.child(position))
    return found


def _same(relation: isl.UnionMap) -> isl.UnionMap:
    return relation.apply_range(relation.reverse())


def band_flag_errors(schedule: isl.Schedule, program: Program, deps: Dependences) -> list[str]:
    """What the band flags claim and the dependences deny.  Below a band's
    prefix, the dependences between its instances that no outer loop (nor an
    earlier member) separates must have distance 0 along a coincident member
    (an ``omp parallel for``) and distance >= 0 along every member of a
    permutable band (tiling)."""
    errors = []
    for node in _bands(schedule.get_root()):
        domain = node.get_domain()
        pending = deps.all.intersect_params(program.context)
        pending = pending.intersect_domain(domain).intersect_range(domain)
        pending = pending.intersect(_same(node.get_prefix_schedule_union_map()))
        partial = node.band_get_partial_schedule()
        members = [isl.UnionMap.from_union_pw_aff(partial.get_at(m))
                   for m in range(node.band_n_member())]
        if node.band_get_permutable():
            for m, member in enumerate(members):
                backwards = pending.subtract(member.lex_le_union_map(member))
                if not backwards.is_empty():
                    errors.append(f"permutable band member {m} has a negative distance: "
                                  f"{backwards}")
        for m, member in enumerate(members):
            same = _same(member)
            if node.band_member_get_coincident(m) and not pending.is_subset(same):
                errors.append(f"coincident member {m} carries {pending.subtract(same)}")
            pending = pending.intersect(same)
    return errors


# -- random programs -------------------------------------------------------------
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=strategies.programs(), data=st.data())
def test_random_programs_schedules_legal_and_kernels_agree(program: strategies.GenProgram,
                                                            data: st.DataObject) -> None:
    text = program.text
    ir = to_program(text)
    deps = dependences(ir)
    assert check(ir, identity_schedule(ir, deps), deps).legal
    schedules = {}
    for scheduler, fuse in OPTION_SETS:
        schedule = SCHEDULERS[scheduler](ir, deps, fuse=fuse)
        report = check(ir, schedule, deps)
        what = f"{scheduler} fuse={fuse}"
        assert report.legal, f"{what}: {report}\n{summarize(schedule, ir)}"
        errors = band_flag_errors(schedule, ir, deps)
        assert not errors, f"{what}: {errors}\n{summarize(schedule, ir)}"
        loop_nest(schedule, ir)
        schedules[scheduler, fuse] = schedule

    rng = np.random.default_rng(0)
    size_sets = [program.sizes, {s: v + 3 for s, v in program.sizes.items()}]
    inputs = [program.make_inputs(rng, sizes) for sizes in size_sets]
    identity = polytc.compile(text, scheduler="identity", parallel=False)
    reference = _outputs(identity(*inputs[0]))
    _close(reference, program.reference(inputs[0], size_sets[0]), "identity vs numpy",
           rtol=1e-4, atol=1e-4)
    second = _outputs(identity(*inputs[1]))
    _close(second, program.reference(inputs[1], size_sets[1]), "identity vs numpy (sizes 2)",
           rtol=1e-4, atol=1e-4)

    # compiling is the slow part: one option set through the scheduler, one
    # more as the user schedule it printed (schedule=, checked and reused)
    (scheduler, fuse), (scheduler2, fuse2) = data.draw(st.lists(
        st.sampled_from(OPTION_SETS), min_size=2, max_size=2, unique=True), label="options")
    parallel = data.draw(st.booleans(), label="parallel")
    tile = data.draw(st.sampled_from(TILES), label="tile")
    unroll = data.draw(st.sampled_from(UNROLLS), label="unroll")
    kernels = [(f"{scheduler} fuse={fuse} parallel={parallel} tile={tile} unroll={unroll}",
                polytc.compile(text, scheduler=scheduler, fuse=fuse, parallel=parallel,
                               tile=tile, unroll=unroll)),
               (f"schedule=<{scheduler2} fuse={fuse2}> parallel={not parallel}",
                polytc.compile(text, schedule=str(schedules[scheduler2, fuse2]),
                               parallel=not parallel))]
    for what, kernel in kernels:
        _close(_outputs(kernel(*inputs[0])), reference, what, rtol=1e-5, atol=1e-5)
        _close(_outputs(kernel(*inputs[1])), second, what + " (sizes 2)", rtol=1e-5, atol=1e-5)


def test_strategy_programs_are_valid_tc() -> None:
    """Many more programs than the differential test compiles: all lower."""
    seen: list[str] = []

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategies.programs())
    def lower(program: strategies.GenProgram) -> None:
        to_program(program.text)
        seen.append(program.text)
    lower()
    assert len(set(seen)) > 100


# -- known results ----------------------------------------------------------------
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}"""
CHAIN = """def mm2(float(I,K) A, float(K,J) B, float(J,L) C) -> (E) {
    D(i,j) +=! A(i,k) * B(k,j)
    E(i,l) +=! D(i,j) * C(j,l)
}"""
SOFTMAX = """def softmax(float(N,C) X) -> (Y) {
    mx(n) max=! X(n,c)
    e(n,c) = exp(X(n,c) - mx(n))
    s(n) +=! e(n,c)
    Y(n,c) = e(n,c) / s(n)
}"""
STENCILS = """def st2(float(N) A) -> (C) {
    B(i) = A(i) + A(i+1)
    C(i) = B(i) + B(i+1)
}"""


def _pluto(text: str, **kw: object):  # type: ignore[no-untyped-def]
    program = to_program(text)
    deps = dependences(program)
    schedule = pluto_schedule(program, deps, **kw)  # type: ignore[arg-type]
    assert check(program, schedule, deps).legal
    return program, summarize(schedule, program)


@pytest.mark.parametrize("fuse", ["smart", "max"])
def test_mlp_fuses_at_depth_two(fuse: str) -> None:
    program, summary = _pluto(MLP, fuse=fuse)
    assert summary.fused_groups == (("S0", "S1", "S2"),)
    outer = summary.bands[0]
    assert outer.depth == 0 and outer.statements == ("S0", "S1", "S2")
    assert outer.n_member == 2 and outer.parallel == ("i", "n")
    assert summary.max_depth == 3


def test_mlp_no_fusion() -> None:
    _, summary = _pluto(MLP, fuse="none")
    assert summary.fused_groups == (("S0",), ("S1",), ("S2",))


def test_chained_matmuls() -> None:
    """Fusing both matmuls (inits included) under one parallel ``i`` loop is
    legal, but below ``i`` the fused band must skew the second product,
    ``S3[i, l, j] -> [i, l + j]`` (its row must follow both the init of
    ``E(i, l)``, row ``l``, and the producer of ``D(i, j)``, row ``j``): its
    inner loop then strides through memory and the band cannot be tiled as
    a matmul (2mm ran at 0.4x naive C).  Each product alone needs no skew, so
    smart fusion does not fuse that band: the components get separate,
    unskewed, fully permutable nests with a parallel outer loop (2mm: 30x
    naive C).  ``max`` still fuses and skews."""
    _, summary = _pluto(CHAIN, fuse="smart")
    assert summary.fused_groups == (("S0",), ("S1",), ("S2",), ("S3",))
    for band in summary.bands:
        assert band.coincident[0] and band.permutable
        assert all("+" not in text for _, text in band.schedules)  # no skew
    assert dict(summary.bands[3].schedules)["S3"] == "S3[i, l, j] -> [i, l, j]"
    _, fused = _pluto(CHAIN, fuse="max")
    assert fused.fused_groups == (("S0", "S1", "S2", "S3"),)
    assert dict(fused.bands[0].schedules)["S3"] == "S3[i, l, j] -> [i, l + j]"
    assert fused.bands[0].parallel == ("i",)


def test_softmax_fuses_on_n() -> None:
    program, summary = _pluto(SOFTMAX, fuse="smart")
    assert summary.fused_groups == (tuple(s.name for s in program.statements),)
    outer = summary.bands[0]
    assert outer.members[0] == "n" and outer.coincident[0]


def test_stencil_pair() -> None:
    """Fusing B(i) = A(i) + A(i+1) with C(i) = B(i) + B(i+1) needs a shift
    and loses the parallel loop: smart keeps them apart, max shifts C by 1."""
    _, smart = _pluto(STENCILS, fuse="smart")
    assert smart.fused_groups == (("S0",), ("S1",))
    assert all(band.parallel == ("i",) for band in smart.bands)
    _, fused = _pluto(STENCILS, fuse="max")
    assert fused.fused_groups == (("S0", "S1"),)
    assert dict(fused.bands[0].schedules)["S1"] == "S1[i] -> [1 + i]"
    assert fused.bands[0].parallel == ()


def test_explicit_groups_honoured() -> None:
    _, summary = _pluto(MLP, fuse=[["S0", "S1"], ["S2"]])
    assert summary.fused_groups == (("S0", "S1"), ("S2",))
    kernel = polytc.compile(MLP, fuse=[["S0", "S1"], ["S2"]])
    rng = np.random.default_rng(1)
    X, W, b = (rng.standard_normal(s).astype(np.float32) for s in ((5, 7), (9, 7), (9,)))
    np.testing.assert_allclose(kernel(X, W, b), np.maximum(X @ W.T + b, 0), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("groups", [[["S2"], ["S0", "S1"]], [["S1"], ["S0"], ["S2"]]])
def test_illegal_group_order_raises(groups: list[list[str]]) -> None:
    program = to_program(MLP)
    with pytest.raises(ScheduleError, match="depends on"):
        pluto_schedule(program, dependences(program), fuse=groups)


def test_tiny_operation_budget_falls_back_to_the_original_order() -> None:
    program = to_program(MLP)
    deps = dependences(program)
    with pytest.warns(SchedulerFallbackWarning, match="budget"):
        fallback = pluto_schedule(program, deps, max_operations=10)
    assert fallback.get_map().is_equal(identity_schedule(program, deps).get_map())
