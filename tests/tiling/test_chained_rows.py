"""Bands with no parallel member whose inner loop is a chain of dependent
operations (trisolv's ``x[i] -= L[i][j] * x[j]`` along ``j``, kept in order
for C input): the rows of each tile run together inside that loop, so the
chains of several rows overlap.  Bit identity with the original is checked
by the C corpus (``tests/frontend_c``, case ``chains``) and here under
other row counts and tile sizes."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import polytc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontend_c"))
from c_kernels import CASES  # noqa: E402
from c_runner import HERE, PARALLEL_ALWAYS, build, run  # noqa: E402

CHAINS = next(case for case in CASES if case.id == "chains")
WRITE = "x[i] = (x[i] - (L[i][j] * x[j]));"


def _trisolv(**options: object) -> str:
    return polytc.compile_c(CHAINS.source, function="trisolv", include_dirs=[HERE],
                            cache=False, **options).c_source


def test_a_tiles_rows_run_together_in_its_chain() -> None:
    """8 rows by default (``unroll=``'s first factor sets them, ``None``
    turns the jam off), in the order of ``i`` within each ``j``.  A chain
    means accumulating into one element: floyd-warshall's ``j`` loop, which
    reads ``path[i][k]`` written on iteration ``k``, is not one."""
    plain, jammed, four = _trisolv(unroll=None), _trisolv(), _trisolv(unroll=4)
    assert plain.count(WRITE) > 0, plain
    assert jammed.count(WRITE) == 8 * plain.count(WRITE), jammed
    assert four.count(WRITE) == 4 * plain.count(WRITE), four
    assert "c2 += 8" in jammed and "c2 += 8" not in plain, jammed
    body = jammed[jammed.index("c2 += 8"):]
    rows = [body.index(f"const int64_t i = (((c0 - c1) + c2) + {r});") for r in range(1, 8)]
    assert rows == sorted(rows), body


def test_untiled_bands_are_left_alone() -> None:
    assert _trisolv(tile=None).count(WRITE) == 1


FLOYD = r"""
void floyd(int n, double path[n][n])
{
#pragma scop
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        path[i][j] = path[i][j] < path[i][k] + path[k][j] ? path[i][j]
                                                         : path[i][k] + path[k][j];
#pragma endscop
}
"""


def test_a_loop_that_reads_another_iterations_value_is_no_chain() -> None:
    def code(**options: object) -> str:  # without the header that names the options
        source = polytc.compile_c(FLOYD, cache=False, **options).c_source
        return source[source.index("{\n  if (n >= 0)"):]
    assert code() == code(unroll=None)


@pytest.mark.parametrize("options", [{"unroll": 3}, {"unroll": 3, "tile": (5, 7)},
                                     {"tile": (16, 4)}, {"scheduler": "isl"}],
                         ids=["rows-3", "rows-3-tile-5-7", "tile-16-4", "isl"])
def test_jammed_chains_compute_the_original_bits(options: dict, tmp_path: Path) -> None:
    original = build(CHAINS.source, tmp_path, openmp=False)
    rewritten = polytc.transform_c(CHAINS.source, include_dirs=[HERE], filename="chains.c",
                                   **options)
    optimised = build(rewritten, tmp_path, extra=PARALLEL_ALWAYS)
    for sizes in CHAINS.sizes + ((21,),):
        expected = run(original, sizes)
        for threads in (1, 2):
            assert run(optimised, sizes, threads) == expected, (sizes, threads, rewritten)
