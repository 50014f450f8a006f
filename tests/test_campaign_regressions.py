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
