"""Differential testing of the whole compiler against the reference interpreter.

* The interpreter itself is checked against independent numpy references:
  every case of the kernel corpus (``test_kernels.CASES``, both size sets)
  and random programs of ``tests/poly/strategies.py`` (its own numpy
  evaluation).
* A fixed-seed run: :data:`PROGRAMS` random programs
  (:mod:`polytc.testing.strategies`, at most 4 statements of rank 3 here),
  each compiled under one option set drawn from every scheduler x fusion x
  parallel x tiling/unrolling combination, must compute what the
  interpreter computes, each within :data:`TIMEOUT` seconds.  To keep the
  suite fast the C is built at ``-O0`` and the programs run in a few worker
  processes; ``python -m polytc.testing.fuzz --programs 5000`` is the long
  run, with polytc's real flags and every option set.
* A hypothesis run over the same generator, on the cheapest option set, so
  that a failure shrinks to a small program.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import test_kernels
from polytc.testing import interpret
from polytc.testing.differential import check, describe, run_seeds
from polytc.testing.strategies import TcCase, random_case, tc_programs
from polytc.testing.workers import map_calls

sys.path.insert(0, str(Path(__file__).parent / "poly"))
import strategies as poly_strategies  # noqa: E402  (tests dirs are not packages)

PROGRAMS, SHARDS = 240, 4  # ~0.6 s each; the long run is the fuzz driver's
#: the CI profile: smaller programs than the fuzz driver's (6 statements, rank 4)
MAX_STATEMENTS, MAX_RANK = 4, 3
SEED = 20240601
# Open bugs this run found, kept visible (printed) but not failing the suite until
# fixed, each listed in a closing note; none is open (20240830, a Farkas give-up,
# was fixed with issue #12)
KNOWN_BUGS: dict[int, str] = {}
TIMEOUT = 60  # seconds per program: a compile that takes longer is a bug too


# -- the oracle against numpy ----------------------------------------------------------------
@pytest.mark.parametrize("c", test_kernels.CASES, ids=[c.id for c in test_kernels.CASES])
def test_interpreter_matches_the_kernel_corpus_references(c: test_kernels.Case) -> None:
    for which in (0, 1):
        inputs = test_kernels.inputs_for(c, which)
        options = {} if c.dtype is None else {"dtype": c.dtype}
        got = interpret(c.tc, *inputs.values(), entry=c.entry, **options)
        test_kernels.check(c, got, test_kernels.expected(c, inputs), f" [interpreter {which}]")


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(program=poly_strategies.programs())
def test_interpreter_matches_numpy_on_random_programs(program) -> None:  # type: ignore
    inputs = program.make_inputs(np.random.default_rng(0))
    got = interpret(program.text, *inputs)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, program.reference(inputs), strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(w).max(initial=0)))


def test_interpreter_semantics_pinned() -> None:
    """Choices the interpreter must share with polytc's documentation."""
    a = np.array([-7, -1, 0, 5], np.int32)
    d = np.array([2, 0, -3, 2], np.int32)
    text = "def f(int32(N) A, int32(N) D) -> (Q, R) { Q(i) = A(i) / D(i)\n R(i) = A(i) % D(i) }"
    q, r = interpret(text, a, d)
    np.testing.assert_array_equal(q, [-4, 0, 0, 2])   # floor division, x / 0 == 0
    np.testing.assert_array_equal(r, [1, 0, 0, 1])    # numpy's %, x % 0 == 0
    out = interpret("def f(float(N) A) -> (O) { O(i) = A(i - 1) }", np.ones(3, np.float32))
    np.testing.assert_array_equal(out, [0, 1, 1, 1])  # unwritten elements are 0
    low = interpret("O(i) max=! A(i, j)", np.zeros((2, 0), np.float32))
    np.testing.assert_array_equal(low, [np.finfo(np.float32).min] * 2)


# -- compiled kernels against the interpreter ----------------------------------------------
@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_programs_agree_with_the_interpreter(shard: int) -> None:
    seeds = [SEED + n for n in range(shard, PROGRAMS, SHARDS)]
    # under pytest-xdist the shards are the parallelism: one child each
    workers = 1 if os.environ.get("PYTEST_XDIST_WORKER") else max(1, min(4, os.cpu_count() or 1))
    run = functools.partial(run_seeds, sets_per_program=1, max_statements=MAX_STATEMENTS,
                            max_rank=MAX_RANK, cflags="-O0 -fopenmp")
    start = time.monotonic()
    results = map_calls(run, [[seed] for seed in seeds], workers, timeout=TIMEOUT)
    outcomes = [o for _, status, value in results if status == "ok" for o in value]
    broken = [(seeds[0], status, value) for seeds, status, value in results if status != "ok"]
    tried = sum(o.tried for o in outcomes)
    programs = sum(1 for o in outcomes if o.tried)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"{programs} programs, {tried} compiles in {time.monotonic() - start:.0f} s "
          f"(slowest: seed {slowest.seed}, {slowest.seconds:.1f} s)")
    failures = [(o.seed, options, failure, case) for o in outcomes
                for options, failure, case in o.failures if o.seed not in KNOWN_BUGS]
    broken = [entry for entry in broken if entry[0] not in KNOWN_BUGS]
    print("known open bugs:", "; ".join(f"{seed}: {why}" for seed, why in KNOWN_BUGS.items()))
    report = "\n\n".join(f"seed {seed} [{describe(options)}]: {failure.kind} in "
                         f"{failure.stage}: {failure.message.strip()[:400]}\n{case!r}"
                         for seed, options, failure, case in failures[:10])
    report += "".join(f"\n\nseed {seed}: {status} ({value}); replay it with "
                      "polytc.testing.differential.run_seeds" for seed, status, value in broken)
    assert not failures and not broken, f"{len(failures) + len(broken)} of {tried} compiles " \
        f"disagree with the interpreter:\n{report}"
    assert programs >= len(seeds) * 0.95, "the generator produced too few valid programs"


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=tc_programs(max_statements=3, max_rank=3))
def test_hypothesis_programs_agree_with_the_interpreter(case: TcCase) -> None:
    failure = check(case, {"scheduler": "identity", "parallel": False, "tile": None})
    assert failure is None, f"{failure.kind} in {failure.stage}: {failure.message}"


def test_generator_is_deterministic_and_varied() -> None:
    texts = [random_case(seed)[0] for seed in range(30)]
    assert [t.text for t in texts if t] == [t.text for t in
                                            (random_case(seed)[0] for seed in range(30)) if t]
    joined = "\n".join(t.text for t in texts if t)
    for feature in ("+=!", "max=!", "min=!", "*=!", "where", " ? ", "2*", " / 2", "- 1 -"):
        assert feature in joined, f"no generated program uses {feature!r}"


# -- bugs the fuzzer found, fixed -----------------------------------------------------------
GIST = """def g(float(1, N) A, float(2) T0) -> (T1) {
    T1(i, j) = A(i, 2*j) + T0(j - 1) + A(i, j - 2)
}"""


@pytest.mark.parametrize("n", [4, 5])
def test_statement_empty_for_some_sizes_does_not_run_for_them(n: int) -> None:
    """Lowering simplified each domain against the sizes where it is
    non-empty, dropping the constraint N >= 5 here: the C then read A and
    wrote T1 out of bounds at N = 4 (found by the differential fuzzer)."""
    from polytc.testing.strategies import InputSpec
    case = TcCase(GIST, (InputSpec("A", "float32", (1, "N")), InputSpec("T0", "float32", (2,))),
                  {"N": n})
    for options in ({"scheduler": "identity", "tile": None}, {}):
        failure = check(case, options)
        assert failure is None, f"{failure.kind}: {failure.message}"


def test_large_sizes_are_long_enough_for_whole_and_partial_blocks_and_bounded() -> None:
    from polytc.frontend import to_program
    from polytc.testing.interpreter import bounding_box
    from polytc.testing.strategies import LARGE_BOX, LARGE_SCATTERED, with_large_sizes
    cases = [c for c in (random_case(seed)[0] for seed in range(40)) if c is not None]
    larges = [with_large_sizes(c, seed) for seed, c in enumerate(cases)]
    assert all(large.text == c.text and large.sizes.keys() == c.sizes.keys()
               for c, large in zip(cases, larges))
    for large in larges:  # every statement's box within the interpreter's means
        program = to_program(large.text)
        for statement in program.statements:
            bounds = bounding_box(statement.domain, program, large.sizes)
            if bounds is not None:
                points = np.prod([h - lo + 1 for lo, h in zip(bounds[0], bounds[1])])
                one_by_one = any(r.tensor == statement.tensor for r in statement.reads)
                assert points <= (LARGE_BOX if bounds[2] and not one_by_one
                                  else LARGE_SCATTERED)
    every = [v for large in larges for v in large.sizes.values()]
    assert max(every) >= 100 and sum(v >= 33 for v in every) > len(every) / 2
    assert with_large_sizes(cases[0], 7).sizes == with_large_sizes(cases[0], 7).sizes
    triangle = TcCase("def t(float(N,M) A) -> (O) { O(i, j) +=! A(i, k) where j in 0:i + 1 }",
                      cases[0].inputs, {"N": 3, "M": 3})
    program = to_program(triangle.text)
    sizes = with_large_sizes(triangle, 1).sizes
    assert sizes["N"] ** 2 * sizes["M"] <= LARGE_SCATTERED and max(sizes.values()) > 7
    assert not bounding_box(program.statements[-1].domain, program, sizes)[2]  # filtered


def test_the_fuzzer_runs_programs_at_large_sizes(tmp_path, capsys) -> None:
    from polytc.testing import fuzz
    status = fuzz.main(["--programs", "2", "--sets", "1", "--seed", "5", "--jobs", "1",
                        "--large", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "2 programs" in out and "0 mismatches" in out
