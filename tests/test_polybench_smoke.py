"""Smoke test of benchmarks/polybench.py on polytc's PolyBench-shaped
stand-in (benchmarks/polybench_smoke): dumps checked, every variant timed
once, table and target lines printed.  Polly and Pluto take part when they
are installed (clang with Polly; $PLUTO_POLYCC); no timing is asserted."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def polybench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("polytc_bench_polybench",
                                                  BENCHMARKS / "polybench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_smoke_run_checks_and_times_every_variant(polybench: ModuleType,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status = polybench.main(["--polybench", str(BENCHMARKS / "polybench_smoke"),
                             "--size", "MINI", "--check", "MINI", "--repeat", "1"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "mm: ok" in printed and "smooth: ok" in printed
    assert "pass: bit-identical dumps at the check sizes, threads [1, 2]: 2/2 kernels" in printed
    table = printed[printed.index("PolyBench at MINI"):]
    assert "polytc@1" in table and "polytc@2" in table and "geomean" in table
    assert "polytc opt under 2 s per file" in printed
    assert "copy of 2 x 128 MiB (gcc -O3 -fopenmp): " in printed  # the bandwidth's scaling
    assert " GB/s on 1, " in printed and "2 threads " in printed
    if "Polly not installed" not in printed:
        assert "polly@1" in table
    if "polycc not set" not in printed:
        assert "pluto@1" in table


def test_a_wrong_rewrite_is_reported(polybench: ModuleType) -> None:
    result = polybench.Result(polybench.Kernel("k", Path("k.c"), Path(".")))
    polybench._compare(result, "polytc", "MINI 2 thread(s)", "1 2 3", "1 2 4")
    assert result.checked == {"polytc": False}
    assert result.problems == ["polytc MINI 2 thread(s): dumps differ"]
    lines = polybench.targets([result], [1, 2], 30)
    assert lines[0] == (False, "bit-identical dumps at the check sizes, threads [1, 2]: "
                               "0/30 kernels")


def test_a_variant_is_checked_and_timed_in_its_own_columns(
        polybench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert polybench.variant_option("d:time_tiling=diamond,tile=[(8, 8), (2, 2)],unroll=None") \
        == ("d", {"time_tiling": "diamond", "tile": [(8, 8), (2, 2)], "unroll": None})
    status = polybench.main(["--polybench", str(BENCHMARKS / "polybench_smoke"), "--only",
                             "smooth", "--size", "MINI", "--check", "MINI", "--repeat", "1",
                             "--threads", "1", "--variant", "flat:tile=None"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    table = printed[printed.index("PolyBench at MINI"):]
    assert "flat@1" in table and "polytc@1" in table
    assert "pass: variant flat bit-identical (1/1 kernels)" in printed


def test_a_rivals_wrong_dumps_show_and_leave_its_mean(polybench: ModuleType,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Pluto miscompiles PolyBench's adi: its column says ``wrong``, its mean
    leaves the kernel out, and polytc's own check stays ``ok``."""
    right = polybench.Result(polybench.Kernel("a", Path("a.c"), Path(".")))
    wrong = polybench.Result(polybench.Kernel("b", Path("b.c"), Path(".")))
    failed = polybench.Result(polybench.Kernel("c", Path("c.c"), Path(".")))
    for result, pluto in ((right, "1 2"), (wrong, "1 3"), (failed, None)):
        polybench._compare(result, "polytc", "MINI", "1 2", "1 2")
        result.seconds.update({"gcc": 2.0, "polytc@1": 1.0})
        if pluto is not None:
            polybench._compare(result, "pluto", "MINI", "1 2", pluto)
            result.seconds["pluto@1"] = 0.5
        else:
            polybench._fail(result, "pluto", "polycc: syntax error")
    assert polybench.cell(wrong, "pluto@1") == "wrong"
    assert polybench.cell(failed, "pluto@1") == "failed"
    assert polybench.cell(right, "pluto@1") == "4.00x"
    polybench.print_table([right, wrong, failed], "MINI")
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line[:1] in "abcg" and line}
    assert [rows[k][1] for k in "abc"] == ["ok", "ok", "ok"], lines
    assert rows["geomean"] == ["geomean", "2.00x", "4.00x"], lines  # pluto's: kernel a alone


def test_kernels_whose_parallel_loops_never_ran_threaded_are_named_not_counted(
        polybench: ModuleType) -> None:
    """The 2-thread scaling target counts the kernels where some parallel
    region ran on two threads (the preloaded shim's count); one whose loops
    all stayed on one thread (too few iterations) is named apart."""
    def result(name: str, threaded: bool | None) -> object:
        r = polybench.Result(polybench.Kernel(name, Path(f"{name}.c"), Path(".")))
        r.checked["polytc"], r.parallel, r.threaded = True, True, threaded
        r.seconds.update({"gcc": 1.0, "polytc@1": 1.0, "polytc@2": 1.0})
        return r
    lines = polybench.targets([result("short", False), result("wide", True),
                               result("unknown", None)], [1, 2], 3)
    scaling = next(text for _, text in lines if "own 1-thread time" in text)
    assert "(below: wide 1.00x, unknown 1.00x)" in scaling
    assert scaling.endswith("parallel loops never threaded at this size: short")


def test_the_shim_counts_regions_that_ask_for_threads(polybench: ModuleType,
                                                      tmp_path: Path) -> None:
    """A region under a false ``if`` clause passes libgomp one thread and is not
    counted; one without a thread count (PolyBench's cache flush) neither."""
    source = tmp_path / "regions.c"
    source.write_text("""#include <stdio.h>
int main(int argc, char **argv) {
  double a[64] = {0}; int threads = 2;
  #pragma omp parallel for num_threads(threads) if(threads > 1 && argc > 5)
  for (int i = 0; i < 64; i++) a[i] += i;
  #pragma omp parallel for
  for (int i = 0; i < 64; i++) a[i] += i;
  #pragma omp parallel for num_threads(threads) if(threads > 1) schedule(dynamic, 1)
  for (int i = 0; i < 64; i++) a[i] += i;
  printf("%g\\n", a[63]);
  return 0;
}
""")
    tools = polybench.Tools(polybench.shutil.which("gcc") or "cc", None, None)
    exe = tmp_path / "regions"
    built = polybench.subprocess.run([tools.gcc, "-fopenmp", str(source), "-o", str(exe)],
                                     capture_output=True, text=True)
    shim = polybench.threaded_shim(tools.gcc, tmp_path)
    if built.returncode or shim is None:
        pytest.skip("no OpenMP compiler to build the shim with")
    out, err = polybench.run(exe, 2, shim)
    assert out.strip() == "189"
    assert polybench._THREADED.findall(err) == ["1"]


def test_every_tool_is_timed_on_every_thread_count(polybench: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """polytc and Pluto on each thread count (and the shim's count kept), gcc
    and Polly on one, Polly's parallel build on the most (timings stubbed)."""
    def timed(cc: str, source: Path, kernel: object, size: str, extra: list[str], exe: Path,
              threads: int, repeat: int, counted: dict[str, int] | None = None) -> float:
        if counted is not None:
            counted["regions"] = counted.get("regions", 0) + 1
        return 1.0
    monkeypatch.setattr(polybench, "timed", timed)
    monkeypatch.setattr(polybench, "polytc_source", lambda *args, **kw: 0.1)
    kernel = polybench.Kernel("k", tmp_path / "k.c", tmp_path)
    (tmp_path / "k-LARGE-time.polytc.c").write_text("#pragma omp parallel for\n")
    result = polybench.Result(kernel)
    tools = polybench.Tools("gcc", "clang", None)
    polybench.measure(kernel, tools, "LARGE", [1, 2], 1, tmp_path, result,
                      tmp_path / "k.pluto.c")
    assert sorted(result.seconds) == ["gcc", "pluto@1", "pluto@2", "polly@1", "polly@2",
                                      "polytc@1", "polytc@2"]
    assert result.threaded is True and result.parallel is True
