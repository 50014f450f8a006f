"""Schedule transformations by hand (polytc.poly.transform): every
transformation's legal use computes what numpy does when given to
compile(..., schedule=...), an illegal use is refused there with the
violated dependence and a witness pair, and band flags are honest."""
from __future__ import annotations

import islpy as isl
import numpy as np
import pytest

import polytc
from polytc.poly import IllegalScheduleError
from polytc.poly import transform as T

from tc_programs import MATMUL as GEMM, RECURRENCE as REC, REVERSE as REV

TWO = """def two(float(N) A) -> (C) {
    B(i) = A(i) * 2.0
    C(i) = B(i) + 1.0
}"""
RNG = np.random.default_rng(7)


def rec_reference(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    for i in range(1, b.shape[0]):
        for j in range(b.shape[1] - 1):
            b[i, j] += b[i - 1, j + 1]
    return b


def identity(text: str) -> polytc.Kernel:
    return polytc.compile(text, scheduler="identity")


def refused(text: str, schedule: isl.Schedule, kind: str, source: str, target: str) -> None:
    """compile(schedule=...) refuses it, naming the dependence with a witness."""
    with pytest.raises(IllegalScheduleError) as caught:
        polytc.compile(text, schedule=str(schedule))
    error = caught.value
    assert error.statements == (source, target)
    assert not error.dependence.is_empty()
    assert error.witness.is_subset(error.dependence.intersect_params(error.witness.params()))
    assert error.witness.wrap().is_singleton()
    assert f"{kind} dependence" in str(error)


def check_rec(schedule: isl.Schedule, **options: object) -> None:
    a = RNG.standard_normal((11, 13)).astype(np.float32)  # no multiple of any tile
    got = polytc.compile(REC, schedule=str(schedule), **options)(a)
    np.testing.assert_allclose(got, rec_reference(a), rtol=1e-5, atol=1e-5)


# -- interchange -------------------------------------------------------------
def test_interchange_legal_gemm():
    k = identity(GEMM)
    swapped = T.interchange(k.schedule, "S1", 0, 2)   # k outermost
    a = RNG.standard_normal((13, 7)).astype(np.float32)
    b = RNG.standard_normal((7, 9)).astype(np.float32)
    got = polytc.compile(GEMM, schedule=str(swapped))(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)
    band = T.bands(swapped)[1]
    assert "k" in str(band.band_get_partial_schedule().get_at(0))


def test_interchange_illegal_is_refused():
    refused(REC, T.interchange(identity(REC).schedule, "S1", 0, 1), "flow", "S1", "S1")


# -- skew --------------------------------------------------------------------
def test_skew_legal_then_interchange():
    k = identity(REC)
    skewed = T.skew(k.schedule, "S1", 1, 0, 1, deps=k.dependences)   # j' = j + i
    check_rec(skewed)
    check_rec(T.interchange(skewed, "S1", 0, 1, deps=k.dependences))


def test_skew_illegal_is_refused():
    skewed = T.skew(identity(GEMM).schedule, "S1", 0, 2, -1)   # m - k: k's order reversed
    refused(GEMM, skewed, "flow", "S1", "S1")


# -- shift -------------------------------------------------------------------
def two_fused() -> tuple[polytc.Kernel, isl.Schedule]:
    k = identity(TWO)
    return k, T.fuse(k.schedule, ["S0", "S1"], deps=k.dependences)


def test_shift_legal():
    k, fused = two_fused()
    later = T.shift(fused, 0, 0, {"S1": 1}, deps=k.dependences)
    a = RNG.standard_normal(17).astype(np.float32)
    np.testing.assert_allclose(polytc.compile(TWO, schedule=str(later))(a), a * 2 + 1,
                               rtol=1e-6)


def test_shift_illegal_is_refused():
    _, fused = two_fused()
    refused(TWO, T.shift(fused, 0, 0, {"S1": -1}), "flow", "S0", "S1")


# -- tile --------------------------------------------------------------------
def test_tile_legal_gemm_and_skewed_recurrence():
    k = identity(GEMM)
    tiled = T.tile(k.schedule, "S1", (3, 4, 5), deps=k.dependences)
    assert len(T.bands(tiled)) == 3
    a = RNG.standard_normal((13, 7)).astype(np.float32)
    b = RNG.standard_normal((7, 9)).astype(np.float32)
    got = polytc.compile(GEMM, schedule=str(tiled), tile=None)(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)
    r = identity(REC)
    skewed = T.skew(r.schedule, "S1", 1, 0, 1, deps=r.dependences)
    check_rec(T.tile(skewed, "S1", (3, 4), deps=r.dependences))


def test_tile_illegal_is_refused():
    refused(REC, T.tile(identity(REC).schedule, "S1", 2), "flow", "S1", "S1")


# -- fuse and distribute -----------------------------------------------------
def test_fuse_legal():
    k, fused = two_fused()
    assert len(T.bands(fused)) == 1 and T.bands(fused)[0].band_get_permutable()
    a = RNG.standard_normal(17).astype(np.float32)
    np.testing.assert_allclose(polytc.compile(TWO, schedule=str(fused))(a), a * 2 + 1,
                               rtol=1e-6)


def test_fuse_illegal_is_refused():
    k = identity(REV)
    refused(REV, T.fuse(k.schedule, ["S0", "S1"]), "flow", "S0", "S1")


def test_fuse_some_children_of_a_sequence():
    three = TWO.replace("}", "    D(i) = C(i) * 3.0\n}").replace("-> (C)", "-> (C, D)")
    k = identity(three)
    fused = T.fuse(k.schedule, [1, 2], deps=k.dependences)   # S1 and S2, S0 stays apart
    statements = [sorted(T._statements(b)) for b in T.bands(fused)]
    assert statements == [["S0"], ["S1", "S2"]]
    a = RNG.standard_normal(9).astype(np.float32)
    c, d = polytc.compile(three, schedule=str(fused))(a)
    np.testing.assert_allclose(d, (a * 2 + 1) * 3, rtol=1e-6)


def test_fuse_refuses_bands_that_are_not_adjacent_siblings():
    three = TWO.replace("}", "    D(i) = C(i) * 3.0\n}").replace("-> (C)", "-> (C, D)")
    schedule = identity(three).schedule
    with pytest.raises(T.TransformError, match="not consecutive .*S1 run between"):
        T.fuse(schedule, ["S0", "S2"])
    nested = T.tile(schedule, "S0", 2)      # S0's point band is no child of the sequence
    with pytest.raises(T.TransformError, match="first node under a child of one sequence"):
        T.fuse(nested, [1, 2])
    node = T.bands(schedule)[2]              # a band given as a schedule node
    assert T._statements(T.bands(T.tile(schedule, node, 4))[2]) == ["S2"]
    with pytest.raises(T.TransformError, match="not a band node"):
        T.tile(schedule, schedule.get_root(), 4)


def test_distribute_legal_and_illegal():
    k, fused = two_fused()
    apart = T.distribute(fused, 0, deps=k.dependences)
    assert [T._statements(b) for b in T.bands(apart)] == [["S0"], ["S1"]]
    a = RNG.standard_normal(17).astype(np.float32)
    np.testing.assert_allclose(polytc.compile(TWO, schedule=str(apart))(a), a * 2 + 1,
                               rtol=1e-6)
    refused(TWO, T.distribute(fused, 0, [["S1"], ["S0"]]), "flow", "S0", "S1")


# -- flags and errors --------------------------------------------------------
def test_flags_are_recomputed_from_dependences():
    k = identity(REC)
    honest = T.with_flags(k.schedule, k.dependences)
    band = T.bands(honest)[1]                       # S1: distance (1, -1)
    assert not band.band_get_permutable()
    assert [band.band_member_get_coincident(m) for m in range(2)] == [False, False]
    skewed = T.bands(T.skew(k.schedule, "S1", 1, 0, 1, deps=k.dependences))[1]
    assert skewed.band_get_permutable()            # distance (1, 0)
    assert [skewed.band_member_get_coincident(m) for m in range(2)] == [False, True]
    bare = T.bands(T.skew(k.schedule, "S1", 1, 0, 1))[1]
    assert not bare.band_get_permutable()          # no deps: nothing claimed


def test_interchange_without_deps_claims_no_parallel_member():
    k = identity(REC)
    swapped = T.bands(T.interchange(k.schedule, "S1", 0, 1))[1]
    assert not any(swapped.band_member_get_coincident(m) for m in range(2))


@pytest.mark.parametrize("call, message", [
    (lambda s: T.interchange(s, 5, 0, 1), "no band 5"),
    (lambda s: T.interchange(s, "S9", 0, 1), "no band runs statement 'S9'"),
    (lambda s: T.interchange(s, "S1", 0, 3), "member 3 does not exist"),
    (lambda s: T.skew(s, "S1", 0, 0), "by itself"),
    (lambda s: T.skew(s, "S1", 0, 1, 0), "non-zero int"),
    (lambda s: T.shift(s, "S1", 0, {"S0": 1}), "cannot shift S0"),
    (lambda s: T.tile(s, "S1", (2, 2, 2)), "tile sizes"),
    (lambda s: T.distribute(s, "S1"), "at least two groups"),
    (lambda s: T.fuse(s, ["S1"]), "at least two bands"),
    (lambda s: T.fuse(s, ["S0", "S1"], depth=3), "fusion depth 3"),
    (lambda s: T.interchange(42, 0, 0, 1), "not int 42"),
])
def test_bad_requests_are_explained(call, message):
    with pytest.raises(T.TransformError, match=message):
        call(identity(REC).schedule)


def test_schedules_read_from_text_and_describe():
    k = identity(GEMM)
    assert T.describe(str(k.schedule)) == T.describe(k.schedule)
    assert T.describe(k.schedule).splitlines()[1].startswith("band 1: 3 members over S1")
