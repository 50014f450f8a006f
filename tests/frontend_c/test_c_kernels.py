"""polytc's rewrite of our C kernels computes what the original computes,
bit for bit (both built with -O3 -ffp-contract=off), at sizes that are not
multiples of any tile, on 1 and 2 threads, under several option sets."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import polytc
from polytc.errors import PrivatisationFallbackWarning
from c_kernels import CASES, CCase
from c_runner import HERE, PARALLEL_ALWAYS, build, run

OPTIONS = {
    "default": {},
    "tile8": {"tile": 8},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c_kernels")


@pytest.mark.parametrize("options", list(OPTIONS), ids=list(OPTIONS))
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rewrite_computes_the_original_bits(case: CCase, options: str, workdir: Path) -> None:
    rewritten = polytc.transform_c(case.source, include_dirs=[HERE], filename=f"{case.id}.c",
                                   **OPTIONS[options])
    assert "#pragma scop" not in rewritten
    _assert_original_bits(case, rewritten, workdir, rewritten)


def _assert_original_bits(case: CCase, rewritten: str, workdir: Path, label: object) -> None:
    """``rewritten`` prints what ``case``'s original prints, at each of its
    sizes, on 1 and 2 threads (``label`` goes into the failure message)."""
    original = build(case.source, workdir, openmp=False)
    optimised = build(rewritten, workdir, extra=PARALLEL_ALWAYS)
    for sizes in case.sizes:
        expected = run(original, sizes)
        for threads in (1, 2):
            assert run(optimised, sizes, threads) == expected, (sizes, threads, label)


@pytest.mark.parametrize("options", [{"scheduler": "identity"}, {"scheduler": "isl"},
                                     {"tile": None}, {"fuse": "none"}],
                         ids=["identity", "isl", "untiled", "fuse-none"])
def test_private_arrays_copy_back_under_every_schedule(options: dict, workdir: Path) -> None:
    """The copies of privatised arrays' last values (doitgen's ``sum``) run
    where each scheduler puts them, and the caller still sees the original's
    final values.  Where a schedule does not keep the private copies within
    one iteration (no fusion: one buffer per ``(r, q)``), the array stays
    shared, with a warning naming it; in the original order it never does."""
    case = next(c for c in CASES if c.id == "arrays")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rewritten = polytc.transform_c(case.source, include_dirs=[HERE], **options)
    shared = " ".join(str(w.message) for w in caught
                      if issubclass(w.category, PrivatisationFallbackWarning))
    for array in ("sum", "w"):
        private = f"polytc_{array}_private"
        assert (private in shared) != (private in rewritten), (array, shared)
    if options == {"scheduler": "identity"}:
        assert "polytc_sum_private" in rewritten
    if options == {"fuse": "none"}:
        assert "polytc_sum_private" in shared
    _assert_original_bits(case, rewritten, workdir, options)
