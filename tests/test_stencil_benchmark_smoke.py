"""Smoke test of benchmarks/stencils.py at its ``--quick`` sizes: every stencil
built (gcc and polytc's rewrite), run at 1 and 2 threads and its checksums
equal to the original's; table and target lines printed.  No timing is
asserted."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "stencils.py"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no C compiler")


@pytest.fixture(scope="module")
def stencils() -> ModuleType:
    spec = importlib.util.spec_from_file_location("polytc_bench_stencils", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_run_checks_every_kernel(stencils: ModuleType,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    status = stencils.main(["--quick", "--repeat", "1", "--threads", "1,2"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    for stencil in stencils.STENCILS:
        assert f"{stencil.name}: ok" in printed, printed
    table = printed[printed.index("stencils: speedup over gcc"):]
    assert "polytc@1" in table and "polytc@2" in table and "GF/s" in table
    assert "polytc@1 >= 1.5x gcc" in printed and "polytc@2 >= 1.8x polytc@1" in printed


def test_a_wrong_checksum_is_a_mismatch(stencils: ModuleType, tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.write_text("#!/bin/sh\necho seconds 0.5\necho checksum 0x1.8p+1\n")
    fake.chmod(0o755)
    result = stencils.Result(stencils.STENCILS[0], {"T": 1, "N": 3}, checksum="0x1.8p+1")
    stencils.timed(result, "polytc@1", fake, 1, 2)
    assert result.seconds == {"polytc@1": 0.5} and result.problems == []
    result.checksum = "0x1p+1"
    stencils.timed(result, "polytc@2", fake, 2, 1)
    assert result.problems == ["MISMATCH polytc@2: checksum 0x1.8p+1 != gcc's 0x1p+1"]
    assert "polytc@2" not in result.seconds


def test_a_variant_gets_its_columns_and_its_check(stencils: ModuleType,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    status = stencils.main(["--quick", "--repeat", "1", "--threads", "1", "--only", "jacobi-1d",
                            "--variant", "diamond:time_tiling=diamond"])
    printed = capsys.readouterr().out
    assert status == 0 and "jacobi-1d: ok" in printed, printed
    table = printed[printed.index("stencils: speedup over gcc"):]
    assert "polytc@1" in table and "diamond@1" in table
