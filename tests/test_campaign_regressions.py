"""Shrunk reproducers of what differential campaigns found (issue #12).

Each case is a program of :func:`polytc.testing.strategies.random_case`,
shrunk by :func:`polytc.testing.differential.shrink`, with the option set
under which polytc returned wrong numbers or failed; it must now agree with
the reference interpreter.
"""
from __future__ import annotations

from typing import Any

import pytest

from polytc.testing.differential import check
from polytc.testing.strategies import InputSpec, TcCase

PLAIN: dict[str, Any] = {"tile": None, "unroll": None, "vectorize": False}

# (campaign seed, what went wrong, the shrunk case, the option set)
CASES: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = [
    (777002514, "contracted T2 written and read in different copies of its mark",
     {"text": "def g(float(N) A, float(N, N, N) B) -> (T3) {\n"
              "    T0(i, j, k) +=! fmin(A(k) - A(i + l) - B(j - 2, l, p), 1.0)\n"
              "    T2(i) = exp(-fabs(0.5 * A(i - 1)))\n"
              "    T3(i) = v * v - 0.5 where v = tanh(T2(i))\n}",
      "sizes": {"N": 1},
      "inputs": [["A", "float32", ["N"], "float"], ["B", "float32", ["N", "N", "N"], "float"]]},
     {"scheduler": "pluto", "fuse": "max", "parallel": True, **PLAIN}),
    (777002755, "contracted T0 written and read in different copies of its mark",
     {"text": "def g(float(N, N) A, float B, int32(N) X) -> (T1) {\n"
              "    T0(i) = v * v - v where v = B() + float(i) * 0.25, i in 0:1\n"
              "    T1(i) = v * v - 0.5 where v = (T0(i - 2)) / (1.0 + fabs(T0(i - 2)))\n}",
      "sizes": {"N": 1},
      "inputs": [["A", "float32", ["N", "N"], "float"], ["B", "float32", [], "float"],
                 ["X", "int32", ["N"], "index:N"]]},
     {"scheduler": "pluto", "fuse": "smart", "parallel": True, "unroll": None,
      "vectorize": False}),
    (777002930, "contracted T2 written and read in different copies of its mark",
     {"text": "def g(float(N, M, N) A, float(M, N, N, N) B, float(N, N) C) -> (T4) {\n"
              "    T1(i, j, k, l) = B(2*i, j - 1, k - 2, l) > 0.5\n"
              "    T2(i, j) = C(i, j) > 0.5\n"
              "    T3() = 3.0 * (1.0 + 1.0)\n"
              "    T4(i, j) max=! 3.0 * (T3 + (T2(2*i, j) ? 1.0 : -1.0) * C(k + j, i))\n}",
      "sizes": {"N": 3, "M": 2},
      "inputs": [["A", "float32", ["N", "M", "N"], "float"],
                 ["B", "float32", ["M", "N", "N", "N"], "float"],
                 ["C", "float32", ["N", "N"], "float"]]},
     {"scheduler": "pluto", "fuse": "max", "parallel": False, **PLAIN}),
    (9165027678, "isl's coalescing of a 37-piece dependence crashed the process (SIGSEGV)",
     {"text": "def g(float(K) A, float(M, K, K, L) B) -> (T1, T2) {\n"
              "    T0(i, j, k) +=! (B(2*i, j - 2, k, l) > 0.0 ? B(M - 1 - k, 2*i, j, l + 1)"
              " : 0.5 * (B(M - 1 - k, 2*i, j, l + 1)))\n"
              "    T1(i, j, k) = fabs(T0(i, j, k) + T0(k - 2, i + j, j - 2) + T0(i, j / 2, k))\n"
              "    T2(i) max=! tanh(2.0 + 0.5 + A(2*i) * A(j + i))\n"
              "    T2(i) *= 1.0 + 0.125 * fmax(fmin(A(K - 1 - i) - T2(k) + T1(j + k, i, k / 2),"
              " 1.0), -1.0)\n}",
      "sizes": {"M": 7, "K": 4, "L": 4},
      "inputs": [["A", "float32", ["K"], "float"], ["B", "float32", ["M", "K", "K", "L"], "float"]]},
     {"scheduler": "pluto", "fuse": "none", "parallel": False, **PLAIN}),
    (20240849, "isl's AST build failed (input involves unknown divs) on the fused schedule",
     {"text": "def g(float(L) A, float(2) W, int32(K, L) X) -> (T3) {\n"
              "    T0(i) = (i >= 2) ? A(i - 2) : 0.0 where i in 0:L + 2\n"
              "    T1(i, j) +=! 2.0 * (T0(2*i) + W(2*j) + A(2*k))\n"
              "    T2(i, j, k) = 3.0 * (A(X(i, j - 2)) * T1(j - 1, k - 1))\n"
              "    T3() +=! tanh(A(X(i, L - 1 - j)))\n}",
      "sizes": {"K": 6, "L": 5},
      "inputs": [["A", "float32", ["L"], "float"], ["W", "float32", [2], "float"],
                 ["X", "int32", ["K", "L"], "index:L"]]},
     {"scheduler": "pluto", "fuse": "max", "parallel": True, **PLAIN}),
    (9127027804, "isl's scheduler was 'unable to carry dependences' within its coefficient bound",
     {"text": "def g(float(K, 3) A, float(N) B, float(N, M) C, int32(L, N) X) -> (T1, T3, T0) {\n"
              "    T0(i, j, k) *=! 1.0 + 0.125 * fmax(fmin(B(j) * B(k) * B(i + l) + A(2*l, i + k), "
              "1.0), -1.0)\n"
              "    T1(i) max=! 0.5 * (1.0 + A(K - 1 - i, j))\n"
              "    T2() = double(1.0 + 0.5 - 2.0) * 1.5\n"
              "    T3(i, j) = fmin(T1(j - 1) + C(i, j), -0.5)\n"
              "    T0(i, j, k) max= T3(j, i / 2) - T0(k + l, l, i / 2) * float(L + 1)\n}",
      "sizes": {"N": 4, "M": 4, "K": 4, "L": 2},
      "inputs": [["A", "float32", ["K", 3], "float"], ["B", "float32", ["N"], "float"],
                 ["C", "float32", ["N", "M"], "float"], ["X", "int32", ["L", "N"], "index:N"]]},
     {"scheduler": "isl", "fuse": "smart", "parallel": True}),
    (9138028107, "a time band's point loop sunk below a nested sequence was no band node",
     {"text": "def g(float(M, N) A, float(K, L, L) B, float(N) C) -> (T1, T4) {\n"
              "    T0(i, j) min=! fmax(B(K - 1 - i, 2*j, k + i) + B(l / 2, L - 1 - i, k / 2), "
              "0.0)\n"
              "    T1(i, j) = v * v - 0.5 where v = exp(-fabs(T0(j, 2*i)))\n"
              "    T2(i, j) = T0(i + j, j) * float(M + 1)\n"
              "    T3(i) = (i < N) ? C(i) : -1.0 where i in 0:N + 2\n"
              "    T4() min=! C(i - 1) * T3(i) * float(K + 1)\n}",
      "sizes": {"N": 6, "M": 0, "K": 5, "L": 4},
      "inputs": [["A", "float32", ["M", "N"], "float"], ["B", "float32", ["K", "L", "L"], "float"],
                 ["C", "float32", ["N"], "float"]]},
     {"scheduler": "pluto", "fuse": "max", "parallel": True}),
    (9138028107, "a temporary's window ran past the isl budget its child process inherited",
     {"text": "def g(float(M, N) A, float(K, L, L) B, float(N) C) -> (T1) {\n"
              "    T0(i, j) min=! fmax(B(K - 1 - i, 2*j, k + i) + B(l / 2, L - 1 - i, k / 2), "
              "0.0)\n"
              "    T1(i, j) = v * v - 0.5 where v = exp(-fabs(T0(j, 2*i)))\n"
              "    T3(i) = (i < N) ? C(i) : -1.0 where i in 0:N + 2\n}",
      "sizes": {"N": 1, "M": 0, "K": 1, "L": 1},
      "inputs": [["A", "float32", ["M", "N"], "float"], ["B", "float32", ["K", "L", "L"], "float"],
                 ["C", "float32", ["N"], "float"]]},
     {"scheduler": "pluto", "fuse": "max", "parallel": True}),
    *[(9129027872, "statements that never run (empty domains) broke the schedule tree",
       {"text": "def g(float(3, N, N) A, float(N) B, float(N, N) C, int32(N) X) -> (T0) {\n"
                "    T0(i, j) +=! B(2*i) + A(j + l, k - 1, l - 2) + float(int32(C(i - 2, l / 2)"
                " * 4.0) % 3)\n}",
        "sizes": {"N": 5},
        "inputs": [["A", "float32", [3, "N", "N"], "float"], ["B", "float32", ["N"], "float"],
                   ["C", "float32", ["N", "N"], "float"], ["X", "int32", ["N"], "index:N"]]},
       options) for options in ({"scheduler": "identity", "parallel": False},
                                {"scheduler": "pluto", "fuse": "none", "parallel": False})],
]


@pytest.mark.parametrize("seed, what, case, options", CASES,
                         ids=[str(seed) for seed, *_ in CASES])
def test_campaign_find_agrees_with_interpreter(seed: int, what: str, case: dict[str, Any],
                                               options: dict[str, Any]) -> None:
    failure = check(TcCase.from_json(case), options, seed=seed, timeout=120)
    assert failure is None, f"{what}: {failure}"


# (campaign seed, the program, the option sets it failed under): Pluto found
# no hyperplane for S1's in-place update (dependences in every direction)
NO_HYPERPLANE = (777002727, """def g(float A) -> (T0) {
    T0(i, j) = double(A() + A + float(j) * 0.25) * 1.5 where i in 0:2, j in 0:2
    T0(i, j) *= 1.0 + 0.125 * fmax(fmin(T0(i + l, j / 2) + T0(k, l) + float((l - k * 2) % 3), 1.0), -1.0)
}""")


@pytest.mark.parametrize("fuse", ["none", "smart", "max"])
def test_pluto_without_hyperplane_follows_the_original_order(fuse: str) -> None:
    seed, text = NO_HYPERPLANE
    case = TcCase(text, (InputSpec("A", "float32", (), "float"),), {})
    failure = check(case, {"scheduler": "pluto", "fuse": fuse, "parallel": True},
                    seed=seed, timeout=120)
    assert failure is None, str(failure)


def test_dependences_past_their_budget_over_approximate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact dataflow of fuzz seed 777002415 took 74 s: past the budget the
    dependences are a superset (every earlier write, not the last one),
    marked inexact, and the kernel stays correct without contraction."""
    import importlib

    import numpy as np

    import polytc
    from polytc.frontend import to_program
    module = importlib.import_module("polytc.poly.dependences")
    text = """def f(float(N) A) -> (O) {
        T(i) = A(i) * 2
        T(i) = T(i) + 1
        O(i) = T(i) + T(i)
    }"""
    program = to_program(text)
    exact = module.dependences(program)
    monkeypatch.setattr(module, "OPERATIONS", 1)
    approximate = module.dependences(program)
    assert exact.exact and not approximate.exact
    for kind in ("flow", "anti", "output"):
        assert getattr(exact, kind).is_subset(getattr(approximate, kind))
    assert not approximate.flow.is_subset(exact.flow)  # S0 -> S2 is not dataflow
    kernel = polytc.compile(text, cache=False)
    A = np.arange(7, dtype=np.float32)
    np.testing.assert_allclose(kernel(A), 2 * (2 * A + 1))
    assert "T[" in kernel.c_source and "float T[1]" not in kernel.c_source  # full buffer


@pytest.mark.parametrize("bound, value, rung", [("MAX_C_LINES", 60, "unroll=None"),
                                                 ("MAX_UNROLLED", 0, "unroll=None"),
                                                 ("TRANSFORM_OPERATIONS", (1, 1), "tile=None"),
                                                 ("TRANSFORM_SECONDS", (1e-9, 1e-9), "tile=None")])
def test_tiling_past_its_bounds_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                          bound: str, value: int,
                                                          rung: str) -> None:
    """Fused windows of fuzz seed 4242012771 gave 3,075 lines of C (30 s to
    compile), seed 9127027488 432 register-block rows for gcc to unroll (86 s):
    past the isl work or C size allowed, the kernel is made again with less
    register tiling, then without tiling."""
    import importlib

    import numpy as np

    import polytc
    from polytc.errors import TransformFallbackWarning
    pipeline = importlib.import_module("polytc.pipeline")
    monkeypatch.setattr(pipeline, bound, value)
    with pytest.warns(TransformFallbackWarning, match=rung):
        kernel = polytc.compile("C(i,j) +=! A(i,k) * B(k,j)", cache=False)
    rng = np.random.default_rng(0)
    A, B = rng.random((33, 17), np.float32), rng.random((17, 29), np.float32)
    np.testing.assert_allclose(kernel(A, B), A @ B, rtol=1e-5)


def test_an_ast_isl_cannot_build_falls_back_to_a_simpler_tiling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """isl failed to build the AST of a register-tiled tree of fuzz seed
    9129028104 ('cannot handle void expression'): the kernel is made again
    with less tiling, with a warning, not refused as an internal error."""
    import importlib

    import numpy as np

    import polytc
    from polytc.errors import TransformFallbackWarning
    emit = importlib.import_module("polytc.codegen_c.emit")
    original = emit.Emitter.loops
    failed: list[bool] = []

    def fails_once(self: object, *args: object, **kwargs: object) -> object:
        if not failed:
            failed.append(True)
            raise emit.AstBuildError("generating C", "cannot handle void expression")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(emit.Emitter, "loops", fails_once)
    with pytest.warns(TransformFallbackWarning, match="could not be built by isl"):
        kernel = polytc.compile("C(i,j) +=! A(i,k) * B(k,j)", cache=False)
    A = np.ones((5, 3), np.float32)
    np.testing.assert_allclose(kernel(A, A.T.copy()), A @ A.T)


def test_gcc_does_not_redistribute_our_loops() -> None:
    """Fuzz seed 9129030118: gcc 12.2's loop distribution (-O3 -march=native)
    split a loop isl fused, reading a temporary's element before the write
    that the loop runs first (dependence analysis failed, the loops were
    split anyway): wrong on the kernel's first call only, when the
    temporary's memory was fresh.  The generated C turns gcc's loop
    distribution off; the first call agrees with the identity schedule."""
    import warnings

    import numpy as np

    import polytc
    from polytc.testing.strategies import random_case
    text = random_case(9129030118)[0].text
    options = dict(parallel=False, tile=None, unroll=None, vectorize=False, cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused = polytc.compile(text, scheduler="isl", fuse="max", **options)
        reference = polytc.compile(text, scheduler="identity", **options)
    assert 'optimize ("no-tree-loop-distribution")' in fused.c_source
    rng = np.random.default_rng(0)
    n = 7
    arrays = (rng.random((n, n, n), np.float32), rng.random((n, n), np.float32),
              rng.random((n, n), np.float32))
    first, expected = fused(*arrays), reference(*arrays)  # each kernel's first call
    for got, want in zip(first, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_a_schedule_too_big_even_untiled_falls_back_to_the_original_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzz seed 9131028130 (Pluto, fuse='max'): even untiled, the fused
    loops were 12,720 lines of C (gcc 44 s).  Past every rung the kernel
    follows the program's original order, untiled, with a warning, and its
    schedule says so."""
    import importlib

    import numpy as np

    import polytc
    from polytc.errors import TransformFallbackWarning
    pipeline = importlib.import_module("polytc.pipeline")
    monkeypatch.setattr(pipeline, "MAX_C_LINES", 1)
    text = "def f(float(N) A) -> (B, C) { B(i) = A(i) + 1.0\n C(i) = B(i) * 2.0 }"
    with pytest.warns(TransformFallbackWarning, match="following the program's original order"):
        kernel = polytc.compile(text, cache=False)
    assert str(kernel.schedule) == str(polytc.compile(text, scheduler="identity", tile=None,
                                                      cache=False).schedule)
    A = np.arange(5, dtype=np.float32)
    B, C = kernel(A)
    np.testing.assert_allclose(C, 2 * (A + 1))


def test_a_window_isl_cannot_bound_in_time_keeps_the_whole_dimension(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzz seed 9131028081: bounding a temporary's window over a tiled time
    band took isl minutes.  A window that takes longer than WINDOW_SECONDS
    (here: any that is not simple) is the whole dimension."""
    import importlib

    import numpy as np

    import polytc
    contraction = importlib.import_module("polytc.poly.contraction")
    monkeypatch.setattr(contraction, "SIMPLE_PIECE_PAIRS", 0)
    monkeypatch.setattr(contraction, "WINDOW_SECONDS", 0.0)
    text = ("def f(float(N, M) A) -> (C) { T(i, j) = A(i, j) * 2.0\n"
            "C(i, j) = T(i, j) + 1.0 }")
    kernel = polytc.compile(text, cache=False)
    A = np.arange(35, dtype=np.float32).reshape(5, 7)
    np.testing.assert_allclose(kernel(A), A * 2 + 1)


def test_a_coalescing_isl_refuses_leaves_the_relation_as_it_is() -> None:
    """Fuzz seed 9131029833: isl's coalescing of a kind of dependence failed
    ("original tableau does not correspond to original basic map");
    coalescing is a simplification, so the relation is kept as it is."""
    import islpy as isl

    from polytc.isl_util import coalesced
    relation = isl.UnionMap("[N] -> { S[i] -> T[i + 1] : 0 <= i < N; S[i] -> T[i + 1] : i = N }")

    class Refusing:
        def coalesce(self) -> object:
            raise isl.Error("original tableau does not correspond to original basic map")

        def get_ctx(self) -> isl.Context:
            return relation.get_ctx()
    refusing = Refusing()
    assert coalesced(refusing) is refusing  # type: ignore[type-var]
    assert coalesced(relation).is_equal(relation)
