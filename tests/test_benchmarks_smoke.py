"""Smoke test of benchmarks/kernels.py: every variant of two tiny programs
builds, runs and matches numpy.  No timing is asserted."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "kernels.py"


@pytest.fixture(scope="module")
def kernels() -> ModuleType:
    spec = importlib.util.spec_from_file_location("polytc_bench_kernels", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_tiny_run_checks_every_variant(kernels: ModuleType, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    sizes = {"gemm": {"M": 17, "N": 33, "K": 7}, "transpose-add": {"N": 33}}
    report = kernels.run(only=["gemm", "transpose_add"], quick=True, threads=[1, 2],
                         sizes=sizes)
    assert report.failures == []
    assert [(r.program.name, r.threads) for r in report.rows] == [
        ("gemm", 1), ("gemm", 2), ("transpose-add", 1), ("transpose-add", 2)]
    for row in report.rows:
        assert {"polytc", "sized", "naive", "numpy"} <= set(row.ms), row.ms
        assert not row.bad
    kernels.print_table(report)
    kernels.print_targets(report, kernels.cores())
    printed = capsys.readouterr().out
    assert "transpose-add" in printed and "every kernel >= naive C" in printed


def test_check_reports_a_mismatch(kernels: ModuleType) -> None:
    want = (np.arange(6, dtype=np.float64).reshape(2, 3),)
    assert kernels.check((want[0].astype(np.float32),), want) is None
    wrong = want[0].astype(np.float32)
    wrong[1, 2] += 1
    assert "output 0" in kernels.check((wrong,), want)
    assert "outputs" in kernels.check((wrong, wrong), want)


def test_bandwidth_column_against_the_copy_kernel(kernels: ModuleType) -> None:
    """A memory-bound program's GB/s, as a share of the copy kernel's."""
    report = kernels.run(only=["rowsum"], quick=True, threads=[1],
                         sizes={"rowsum": {"M": 37, "N": 301}})
    assert report.failures == []
    row = report.rows[0]
    assert row.bytes == (37 * 301 + 37) * 4
    row.copy_gbs = 2 * row.gbs()  # as if the copy ran twice as fast
    assert kernels.bandwidth_text(row).split()[1] == "50%"


def test_compile_times_reports_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    path = SCRIPT.parent / "compile_times.py"
    spec = importlib.util.spec_from_file_location("polytc_bench_compile_times", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run(["gemv"], 1)
    name, stages, wall, lines = rows[0]
    assert name == "gemv" and lines > 10
    assert all(stages[stage] > 0 for stage in ("lower", "schedule", "tile", "to_c", "build"))
    assert wall >= sum(stages.values()) * 0.9
    module.print_table(rows)
    assert "gemv" in capsys.readouterr().out


def test_compile_times_sized_binds_every_size_from_the_inputs() -> None:
    path = SCRIPT.parent / "compile_times.py"
    spec = importlib.util.spec_from_file_location("polytc_bench_compile_times", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    conv = "def conv(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (O) {\n" \
        "  O(n, m, h, w) +=! I(n, c, h + kh, w + kw) * Wt(m, c, kh, kw)\n}"
    import numpy as np
    sizes = module.bound_sizes(conv, [np.zeros((2, 3, 9, 8)), np.zeros((5, 3, 3, 2))])
    assert sizes == {"N": 2, "C": 3, "H": 9, "W": 8, "M": 5, "KH": 3, "KW": 2}
    rows = module.run(["gemv"], 1, sized=True)
    name, stages, wall, lines = rows[0]
    assert name == "gemv" and stages["to_c"] > 0 and lines > 10
