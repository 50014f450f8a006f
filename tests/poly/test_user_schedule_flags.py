"""User schedules are checked in full (issue #12): a band's ``permutable``
and ``coincident`` claims are checked against the dependences, a false one
is refused with the band, member, dependence and a witness pair; what the
summary, the tiler and the C call parallel is then the same; a union map
becomes a tree with permutable bands, tiled like the scheduler's own."""
from __future__ import annotations

import re

import numpy as np
import pytest

import polytc
from polytc.poly import IllegalScheduleError

# S1's read A(i - 1, j + 1) is a dependence of distance (1, -1): the (i, j)
# band is legal in this order but neither permutable nor parallel along i
SWEEP = """def sweep(float(N, M) X) -> (A) {
    A(i, j) = X(i, j)
    A(i, j) = A(i - 1, j + 1) + A(i, j) where i in 1:N, j in 0:M-1
}"""
SIZES = (9, 10)


def reference(X: np.ndarray) -> np.ndarray:
    A = X.copy()
    for i in range(1, X.shape[0]):
        for j in range(X.shape[1] - 1):
            A[i, j] = A[i - 1, j + 1] + A[i, j]
    return A


def identity_tree() -> str:
    return str(polytc.compile(SWEEP, scheduler="identity", tile=None).schedule)


def test_a_false_permutable_flag_is_refused() -> None:
    text = identity_tree()
    assert text.count("coincident: [ 0, 1 ]") == 1
    lying = text.replace("coincident: [ 0, 1 ]", "permutable: 1, coincident: [ 0, 1 ]")
    with pytest.raises(IllegalScheduleError) as info:
        polytc.compile(SWEEP, schedule=lying, tile=4)
    error = info.value
    assert (error.band, error.member, error.claim) == ((0, 1, 0), 1, "permutable")
    assert error.statements == ("S1", "S1")
    assert error.witness.is_single_valued() and error.witness.domain().is_singleton()
    assert re.search(r"member 1 \(\{ S1\[i, j\] -> \[j\] \}\) is permutable, but the flow "
                     r"dependence on A from S1\[i=\d+, j=\d+\] to S1\[.*\] \(N=\d+, M=\d+\) has "
                     r"distance -1",
                     str(error)), str(error)


def test_a_false_coincident_flag_is_refused() -> None:
    lying = identity_tree().replace("coincident: [ 0, 1 ]", "coincident: [ 1, 1 ]")
    with pytest.raises(IllegalScheduleError, match=r"member 0 .* is coincident, but the flow "
                       r"dependence on A .* has distance 1") as info:
        polytc.compile(SWEEP, schedule=lying)
    assert (info.value.member, info.value.claim) == (0, "coincident")


def test_honest_flags_pass_and_summary_tiler_and_c_agree() -> None:
    """Flags the user left out are set to the truth: the summary shows the
    parallel loops the C runs with ``omp parallel for`` (S0's i, S1's j)."""
    modest = re.sub(r"coincident: \[ [01], [01] \]", "coincident: [ 0, 0 ]", identity_tree())
    kernel = polytc.compile(SWEEP, schedule=modest, tile=None, vectorize=False)
    summary = str(kernel.schedule_summary)
    assert "band 0: S0 | 2 members | parallel: i, j" in summary, summary
    assert "band 0: S1 | 2 members | parallel: j" in summary, summary
    assert "coincident: [ 1, 1 ]" in str(kernel.schedule)
    assert "coincident: [ 0, 1 ]" in str(kernel.tiled_schedule)
    # S0's outer loop and S1's inner one (its outer one carries the sweep)
    assert re.findall(r"omp parallel for.*\n\s*for \(int64_t (\w+)", kernel.c_source) == \
        ["c0", "c1"]
    X = np.random.default_rng(0).random(SIZES, dtype=np.float32)
    np.testing.assert_allclose(kernel(X), reference(X), rtol=1e-5)


def test_a_union_map_becomes_permutable_bands_and_is_tiled() -> None:
    """Skewed by j -> i + j, the sweep's band is permutable: given as a union
    map it is tiled (sizes not multiples of the tiles) and computes the same."""
    skewed = ("[N, M] -> { S0[i, j] -> [0, i, j]; S1[i, j] -> [1, i, i + j] }")
    kernel = polytc.compile(SWEEP, schedule=skewed, tile=4, unroll=None)
    tree = str(kernel.schedule)
    assert "permutable: 1" in tree and "sequence" in tree
    assert "mod 4" in str(kernel.tiled_schedule) or "floor" in str(kernel.tiled_schedule)
    X = np.random.default_rng(1).random(SIZES, dtype=np.float32)
    np.testing.assert_allclose(kernel(X), reference(X), rtol=1e-5)


def test_an_illegal_union_map_still_names_the_reversed_dependence() -> None:
    reversed_i = "[N, M] -> { S0[i, j] -> [0, i, j]; S1[i, j] -> [1, -i, j] }"
    with pytest.raises(IllegalScheduleError, match="flow dependence on A .* reversed"):
        polytc.compile(SWEEP, schedule=reversed_i)
