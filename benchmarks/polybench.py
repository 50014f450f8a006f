"""PolyBench/C through polytc's C frontend: correctness and speed in one run.

    python benchmarks/polybench.py --polybench /tmp/polybench \\
        [--size LARGE] [--check MINI,SMALL] [--threads 1,2] [--only gemm,lu] [--repeat 3]
        [--variant diamond:time_tiling=diamond]...

``--polybench`` is a PolyBench/C 4.2.1 tree (not part of polytc: fetch one,
e.g. the MatthiasJReisinger/PolyBenchC-4.2.1 mirror); every kernel of its
``utilities/benchmark_list`` (or those ``--only`` names) is:

* checked: built with PolyBench's own flags (``-I utilities
  -D<SIZE>_DATASET -DPOLYBENCH_DUMP_ARRAYS``) and ``-O3 -ffp-contract=off``
  against ``utilities/polybench.c``; the dumps of polytc's rewrite (``polytc
  opt``), of Pluto's polycc (``--tile --parallel``, when ``$PLUTO_POLYCC``
  names one) and of Polly (``clang -O3 -mllvm -polly``, when clang has
  Polly; against clang's own build) are compared with the original's (``cmp``)
  at each ``--check`` size, on each thread count;
* timed at ``--size`` with ``-O3 -march=native -DPOLYBENCH_TIME``: the
  original with gcc on one thread (the baseline of every ratio), Polly,
  polycc's and polytc's code on each thread count (OpenMP), the median of
  ``--repeat`` runs of PolyBench's own timer.

``--variant NAME:OPTION=VALUE,...`` adds a polytc rewrite with those
options (:func:`polytc.transform_c`'s keywords), checked and timed like the
default one in columns ``NAME@1``, ``NAME@2``.

It prints each kernel's speedups over gcc, their geometric means, a copy
kernel's bandwidth on each thread count (beyond the caches: the most that
threads can gain on a kernel bound by memory here) and a pass/FAIL line per
target of issue #13.  The ``check`` column is polytc's
(and its variants'); a tool whose dumps differ from the original's shows
``wrong`` instead of a speedup, one that failed ``failed``, and neither
counts in its geometric mean (Pluto's is over the kernels it gets right).
Machines are shared and noisy: read ratios measured in the same run, never
figures from another run.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from variants import DEFAULT_VARIANTS, Variants, add_variant_flag, variant_option  # noqa: E402,F401

CHECK_FLAGS = ("-O3", "-ffp-contract=off")
TIME_FLAGS = ("-O3", "-march=native")
#: a parallel loop of polytc's: ``omp parallel for``, or ``omp for`` inside an
#: ``omp parallel`` region that allocates per-thread buffers (doitgen's row)
PARALLEL_LOOP = re.compile(r"#pragma omp (?:parallel )?for\b")
_SECONDS = re.compile(r"^\s*(\d+\.\d+)\s*$", re.M)


@dataclass
class Kernel:
    name: str
    path: Path          # the kernel's .c
    suite: Path         # the PolyBench tree


@dataclass
class Result:
    kernel: Kernel
    problems: list[str] = field(default_factory=list)      # failed checks, by variant
    checked: dict[str, bool] = field(default_factory=dict)  # variant -> all dumps identical
    seconds: dict[str, float] = field(default_factory=dict)  # "gcc", "polytc@2", ...
    opt_seconds: float = 0.0
    parallel: bool = False  # polytc's rewrite has a parallel loop
    threaded: bool | None = None  # one ran on several threads (None: not counted)


@dataclass(frozen=True)
class Tools:
    gcc: str
    clang_polly: str | None
    polycc: str | None


# -- tools ---------------------------------------------------------------------
def detect_tools() -> Tools:
    gcc = shutil.which("gcc") or shutil.which("cc") or "cc"
    polly = None
    for clang in ("clang", "clang-14", "clang-15", "clang-16", "clang-17", "clang-18"):
        path = shutil.which(clang)
        if path and _compiles(path, ["-O3", "-mllvm", "-polly"]):
            polly = path
            break
    polycc = os.environ.get("PLUTO_POLYCC")
    return Tools(gcc, polly, polycc if polycc and os.path.exists(polycc) else None)


def _compiles(cc: str, flags: list[str]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text("int main(void) { return 0; }\n")
        return subprocess.run([cc, *flags, str(source), "-o", str(Path(tmp) / "probe")],
                              capture_output=True).returncode == 0


# -- building and running ---------------------------------------------------------
def build(cc: str, source: Path, kernel: Kernel, size: str, flags: tuple[str, ...],
          extra: list[str], out: Path) -> str | None:
    """Compile ``source`` with PolyBench's harness into ``out``; None, or the error."""
    utilities = kernel.suite / "utilities"
    libraries = [f for f in extra if f.startswith("-l")]
    command = [cc, *flags, *(f for f in extra if not f.startswith("-l")), f"-I{utilities}",
               f"-I{kernel.path.parent}", f"-D{size}_DATASET", str(utilities / "polybench.c"),
               str(source), "-o", str(out), *libraries, "-lm"]
    result = subprocess.run(command, capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr[-2000:]


def run(exe: Path, threads: int, preload: Path | None = None) -> tuple[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if preload is not None:
        env["LD_PRELOAD"] = str(preload)
    result = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=3600)
    return result.stdout, result.stderr


#: a copy of 2 x 128 MiB (beyond the last-level cache) timed per thread count:
#: what memory-bound kernels can gain from threads on this machine
COPY_C = r"""#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#define N (1L << 24)
int main(void) {
  double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), best = 1e30;
  if (!a || !b) return 1;
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < N; i++) { a[i] = (double)i; b[i] = 0.0; }
  for (int r = 0; r < 7; r++) {
    double start = omp_get_wtime();
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < N; i++) b[i] = 1.5 * a[i];
    double took = omp_get_wtime() - start;
    best = took < best ? took : best;
  }
  printf("%.3f\n", 2.0 * N * sizeof *a / best / 1e9);
  return b[N - 1] < 0.0;
}
"""


def copy_bandwidth(tools: Tools, threads: list[int], work: Path) -> dict[int, float]:
    """GB/s (read plus written) of :data:`COPY_C` per thread count, best of 7."""
    source, exe = work / "copy.c", work / "copy"
    source.write_text(COPY_C)
    built = subprocess.run([tools.gcc, *TIME_FLAGS, "-fopenmp", str(source), "-o", str(exe)],
                           capture_output=True, text=True)
    if built.returncode:
        return {}
    found = {t: _SECONDS.findall(run(exe, t)[0]) for t in threads}
    return {t: float(values[-1]) for t, values in found.items() if values}


#: preloaded into polytc's runs on several threads: counts the parallel
#: regions that ask for more than one thread.  polytc's regions all name
#: their thread count, and gcc passes libgomp 1 where a region's ``if``
#: clause is false (polytc's loops of few iterations:
#: :data:`polytc.codegen_c.prelude.MIN_PARALLEL_TRIPS`); PolyBench's cache
#: flush names none (0) and is not counted
THREADED_SHIM = r"""#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
static long threaded;
typedef void (*body_t)(void *);
void GOMP_parallel(body_t fn, void *data, unsigned threads, unsigned flags) {
  static void (*real)(body_t, void *, unsigned, unsigned);
  if (!real) real = (void (*)(body_t, void *, unsigned, unsigned))dlsym(RTLD_NEXT, "GOMP_parallel");
  threaded += threads > 1;
  real(fn, data, threads, flags);
}
#define LOOP(name) \
void name(body_t fn, void *data, unsigned threads, long start, long end, long incr, \
          long chunk, unsigned flags) { \
  static void (*real)(body_t, void *, unsigned, long, long, long, long, unsigned); \
  if (!real) real = (void (*)(body_t, void *, unsigned, long, long, long, long, unsigned)) \
      dlsym(RTLD_NEXT, #name); \
  threaded += threads > 1; \
  real(fn, data, threads, start, end, incr, chunk, flags); \
}
LOOP(GOMP_parallel_loop_static)
LOOP(GOMP_parallel_loop_dynamic)
LOOP(GOMP_parallel_loop_guided)
LOOP(GOMP_parallel_loop_nonmonotonic_dynamic)
LOOP(GOMP_parallel_loop_nonmonotonic_guided)
__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "polytc-threaded-regions %ld\n", threaded);
}
"""
_THREADED = re.compile(r"^polytc-threaded-regions (\d+)$", re.M)


def threaded_shim(cc: str, work: Path) -> Path | None:
    """:data:`THREADED_SHIM` built as a shared library in ``work`` (None
    where it does not build: then every kernel with a parallel loop counts)."""
    source, library = work / "threaded.c", work / "threaded.so"
    if not library.exists():
        source.write_text(THREADED_SHIM)
        built = subprocess.run([cc, "-O2", "-shared", "-fPIC", str(source), "-o",
                                str(library), "-ldl"], capture_output=True, text=True)
        if built.returncode:
            return None
    return library


def polytc_source(kernel: Kernel, size: str, defines: list[str], out: Path,
                  options: dict[str, object] | None = None) -> float:
    """``polytc opt`` of the kernel into ``out``; returns the seconds it took."""
    from polytc import transform_c
    start = time.perf_counter()
    text = transform_c(kernel.path, include_dirs=[kernel.suite / "utilities"],
                       defines=[f"{size}_DATASET", *defines], **(options or {}))
    elapsed = time.perf_counter() - start
    out.write_text(text)
    return elapsed


def polycc_source(tools: Tools, kernel: Kernel, work: Path) -> Path | str:
    """Pluto's ``polycc --tile --parallel`` output, or its error."""
    assert tools.polycc is not None
    scratch = work / f"pluto-{kernel.name}"
    scratch.mkdir(exist_ok=True)
    local = scratch / kernel.path.name
    shutil.copy(kernel.path, local)
    out = scratch / f"{kernel.name}.pluto.c"
    result = subprocess.run([tools.polycc, "--tile", "--parallel", local.name, "-o", out.name],
                            capture_output=True, text=True, cwd=scratch, timeout=600)
    if result.returncode != 0 or not out.exists():
        return (result.stderr or result.stdout)[-500:] or "polycc failed"
    return out


# -- checking ---------------------------------------------------------------------
def check(kernel: Kernel, tools: Tools, sizes: list[str], threads: list[int], work: Path,
          result: Result, pluto: Path | str | None,
          variants: Variants = DEFAULT_VARIANTS) -> None:
    """Compare the dumps of every variant with the original's, at each size."""
    for size in sizes:
        base = work / f"{kernel.name}-{size}"
        reference = _dump(tools.gcc, kernel.path, kernel, size, [], base.with_suffix(".orig"), 1)
        for name, options in variants.items():
            rewritten = base.with_suffix(f".{name}.c")
            try:
                elapsed = polytc_source(kernel, size, ["POLYBENCH_DUMP_ARRAYS"], rewritten,
                                        options)
                if name == "polytc":
                    result.opt_seconds = max(result.opt_seconds, elapsed)
            except Exception as error:  # noqa: BLE001 - a failure is a result here
                _fail(result, name, f"{size}: {type(error).__name__}: {error}")
                continue
            for t in threads:
                _compare(result, name, f"{size} {t} thread(s)", reference,
                         _dump(tools.gcc, rewritten, kernel, size, ["-fopenmp"],
                               base.with_suffix(f".{name}"), t))
        if isinstance(pluto, Path):
            for t in threads:
                _compare(result, "pluto", f"{size} {t} thread(s)", reference,
                         _dump(tools.gcc, pluto, kernel, size, ["-fopenmp"],
                               base.with_suffix(".pluto"), t))
        if tools.clang_polly:
            clang = _dump(tools.clang_polly, kernel.path, kernel, size, [],
                          base.with_suffix(".clang"), 1)
            _compare(result, "polly", size, clang,
                     _dump(tools.clang_polly, kernel.path, kernel, size,
                           ["-mllvm", "-polly"], base.with_suffix(".polly"), 1))


def _dump(cc: str, source: Path, kernel: Kernel, size: str, extra: list[str], exe: Path,
          threads: int) -> str:
    if not exe.exists():
        error = build(cc, source, kernel, size, CHECK_FLAGS,
                      extra + ["-DPOLYBENCH_DUMP_ARRAYS"], exe)
        if error is not None:
            return f"build failed: {error}"
    return run(exe, threads)[1]


def _compare(result: Result, variant: str, where: str, want: str, got: str) -> None:
    same = got == want and not want.startswith("build failed")
    result.checked[variant] = result.checked.get(variant, True) and same
    if not same:
        detail = got[:300] if got.startswith("build failed") else "dumps differ"
        _fail(result, variant, f"{where}: {detail}")


def _fail(result: Result, variant: str, message: str) -> None:
    result.checked[variant] = False
    result.problems.append(f"{variant} {message}")


# -- timing -----------------------------------------------------------------------
def timed(cc: str, source: Path, kernel: Kernel, size: str, extra: list[str], exe: Path,
          threads: int, repeat: int, counted: dict[str, int] | None = None) -> float | None:
    """The median of ``repeat`` runs; with ``counted`` (and the shim built),
    the runs' threaded parallel regions go to ``counted["regions"]``."""
    if not exe.exists():
        if build(cc, source, kernel, size, TIME_FLAGS, extra + ["-DPOLYBENCH_TIME"], exe):
            return None
    shim = threaded_shim(cc, exe.parent) if counted is not None else None
    times = []
    for _ in range(repeat):
        out, err = run(exe, threads, shim)
        found = _SECONDS.findall(out)
        if not found:
            return None
        times.append(float(found[-1]))
        regions = _THREADED.findall(err)
        if counted is not None and regions:
            counted["regions"] = counted.get("regions", 0) + int(regions[-1])
    return statistics.median(times)


def measure(kernel: Kernel, tools: Tools, size: str, threads: list[int], repeat: int,
            work: Path, result: Result, pluto: Path | str | None,
            variants: Variants = DEFAULT_VARIANTS) -> None:
    base = work / f"{kernel.name}-{size}-time"
    seconds = result.seconds
    gcc = timed(tools.gcc, kernel.path, kernel, size, [], base.with_suffix(".gcc"), 1, repeat)
    if gcc is not None:
        seconds["gcc"] = gcc
    rewrites = {}
    for name, options in variants.items():
        rewritten = base.with_suffix(f".{name}.c")
        try:
            elapsed = polytc_source(kernel, size, ["POLYBENCH_TIME"], rewritten, options)
        except Exception as error:  # noqa: BLE001
            _fail(result, name, f"{size}: {type(error).__name__}: {error}")
            continue
        rewrites[name] = rewritten
        if name == "polytc":
            result.opt_seconds = max(result.opt_seconds, elapsed)
            result.parallel = PARALLEL_LOOP.search(rewritten.read_text()) is not None
    counted: dict[str, int] = {}
    for t in threads:
        for name, rewritten in rewrites.items():
            _store(seconds, f"{name}@{t}", timed(
                tools.gcc, rewritten, kernel, size, ["-fopenmp"], base.with_suffix(f".{name}"),
                t, repeat, counted if name == "polytc" and t > 1 else None))
        if isinstance(pluto, Path):
            _store(seconds, f"pluto@{t}", timed(tools.gcc, pluto, kernel, size, ["-fopenmp"],
                                                base.with_suffix(".pluto"), t, repeat))
    if "regions" in counted:
        result.threaded = counted["regions"] > 0
    if tools.clang_polly:
        _store(seconds, "polly@1", timed(tools.clang_polly, kernel.path, kernel, size,
                                         ["-mllvm", "-polly"], base.with_suffix(".polly"), 1,
                                         repeat))
        if max(threads) > 1:
            _store(seconds, f"polly@{max(threads)}", timed(
                tools.clang_polly, kernel.path, kernel, size,
                ["-mllvm", "-polly", "-mllvm", "-polly-parallel", "-lgomp"],
                base.with_suffix(".pollypar"), max(threads), repeat))


def _store(seconds: dict[str, float], key: str, value: float | None) -> None:
    if value is not None:
        seconds[key] = value


# -- report -----------------------------------------------------------------------
def columns(results: list[Result]) -> list[str]:
    keys = sorted({k for r in results for k in r.seconds if k != "gcc"},
                  key=lambda k: (k.split("@")[0] != "polytc", k))
    return keys


RIVALS = ("pluto", "polly")


def speedup(result: Result, key: str) -> float | None:
    """gcc's time over the variant's; None where either is missing or the
    variant's dumps differ from the original's (a wrong result has no speed:
    geometric means run over the kernels a tool gets right)."""
    gcc, other = result.seconds.get("gcc"), result.seconds.get(key)
    if not gcc or not other or _checked(result, key) is False:
        return None
    return gcc / other


def _checked(result: Result, key: str) -> bool | None:
    """Whether the dumps of column ``key``'s tool (``pluto@2``: pluto) matched;
    None where they were not compared."""
    return result.checked.get(key.split("@")[0])


def cell(result: Result, key: str) -> str:
    """A speedup, or why there is none: ``wrong`` (dumps differ), ``failed``
    (the tool or its build failed), ``-`` (not run)."""
    value = speedup(result, key)
    if value is not None:
        return _ratio(value)
    if _checked(result, key) is False:
        return "wrong" if key in result.seconds else "failed"
    return "-"


def ours_correct(result: Result) -> bool:
    """polytc's dumps, and those of every ``--variant``, match the original's
    (Pluto's and Polly's are their own columns)."""
    ours = {k: v for k, v in result.checked.items() if k not in RIVALS}
    return bool(ours) and all(ours.values())


def geomean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def print_table(results: list[Result], size: str) -> None:
    keys = columns(results)
    print(f"\nPolyBench at {size}: speedup over gcc -O3 -march=native on one thread "
          "(ratios of the same run)")
    header = f"{'kernel':<16}{'check':<7}{'gcc s':>10}" + "".join(f"{k:>11}" for k in keys) \
        + f"{'opt s':>8}"
    print(header)
    for r in results:
        check = "ok" if ours_correct(r) else "FAIL"
        gcc = r.seconds.get("gcc")
        cells = "".join(f"{cell(r, k):>11}" for k in keys)
        print(f"{r.kernel.name:<16}{check:<7}{(f'{gcc:.4f}' if gcc else '-'):>10}{cells}"
              f"{r.opt_seconds:>8.2f}")
    means = "".join(f"{_ratio(geomean([s for r in results if (s := speedup(r, k))])):>11}"
                    for k in keys)
    print(f"{'geomean':<16}{'':<7}{'':>10}{means}")
    for r in results:
        for problem in r.problems:
            print(f"  {r.kernel.name}: {problem}")


def print_copy(copy: dict[int, float]) -> None:
    """The copy kernel's bandwidth per thread count, and its scaling: what a
    kernel bound by memory can gain from threads here."""
    if not copy:
        return
    first = min(copy)
    rates = ", ".join(f"{gbs:.1f} GB/s on {t}" for t, gbs in sorted(copy.items()))
    scaling = ", ".join(f"{t} threads {copy[t] / copy[first]:.2f}x" for t in sorted(copy)
                        if t != first)
    print(f"copy of 2 x 128 MiB (gcc -O3 -fopenmp): {rates} ({scaling} of {first}): "
          "the most a kernel bound by memory can gain from threads here")


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def targets(results: list[Result], threads: list[int], suite_size: int) -> list[tuple[bool, str]]:
    """(passed, text) per target of issue #13 this run can judge."""
    lines = []
    correct = [r for r in results if r.checked.get("polytc")]
    lines.append((len(correct) == suite_size and len(results) == suite_size,
                  f"bit-identical dumps at the check sizes, threads {threads}: "
                  f"{len(correct)}/{suite_size} kernels"))
    one = [s for r in results if (s := speedup(r, "polytc@1"))]
    mean = geomean(one)
    if mean is not None:
        rivals = {k: geomean([s for r in results if (s := speedup(r, k))])
                  for k in ("pluto@1", "polly@1")}
        beaten = all(v is None or mean > v for v in rivals.values())
        named = ", ".join(f"{k.split('@')[0]} {_ratio(v)}" for k, v in rivals.items() if v)
        lines.append((mean >= 2.0 and beaten, f"1 thread: geometric mean {_ratio(mean)} >= "
                      f"2.0x and above Pluto's and Polly's ({named or 'not measured'})"))
        slow = [f"{r.kernel.name} {_ratio(s)}" for r in results
                if (s := speedup(r, "polytc@1")) is not None and s < 0.9]
        lines.append((not slow, "1 thread: no kernel below 0.9x gcc"
                      + (f" (below: {', '.join(slow)})" if slow else "")))
    two = geomean([s for r in results if (s := speedup(r, "polytc@2"))])
    if two is not None:
        lines.append((two >= 3.0, f"2 threads: geometric mean {_ratio(two)} >= 3.0x "
                      "gcc's 1-thread time"))
        # a kernel whose parallel loops all stayed on one thread (too few
        # iterations at this size) runs sequential code: named, not counted
        unthreaded = [r.kernel.name for r in results if r.parallel and r.threaded is False]
        scaling = [f"{r.kernel.name} {_ratio(r.seconds['polytc@1'] / r.seconds['polytc@2'])}"
                   for r in results if r.parallel and r.threaded is not False
                   and "polytc@1" in r.seconds and "polytc@2" in r.seconds
                   and r.seconds["polytc@1"] / r.seconds["polytc@2"] < 1.8]
        lines.append((not scaling, "2 threads: >= 1.8x polytc's own 1-thread time on every "
                      "kernel with a parallel loop" + (f" (below: {', '.join(scaling)})"
                                                      if scaling else "")
                      + (f"; parallel loops never threaded at this size: {', '.join(unthreaded)}"
                         if unthreaded else "")))
    slowest = max((r.opt_seconds for r in results), default=0.0)
    lines.append((slowest < 2.0, f"polytc opt under 2 s per file (slowest {slowest:.2f} s)"))
    return lines


# -- driver -----------------------------------------------------------------------
def kernels(suite: Path, only: list[str] | None) -> list[Kernel]:
    listed = (suite / "utilities" / "benchmark_list").read_text().split()
    found = [Kernel(Path(p).stem, (suite / p).resolve(), suite) for p in listed]
    if only:
        unknown = set(only) - {k.name for k in found}
        if unknown:
            raise SystemExit(f"--only: no kernel named {', '.join(sorted(unknown))}")
        found = [k for k in found if k.name in only]
    return found


def run_suite(suite: Path, size: str, check_sizes: list[str], threads: list[int],
              only: list[str] | None, repeat: int, tools: Tools | None = None,
              variants: Variants = DEFAULT_VARIANTS) -> tuple[list[Result], Tools]:
    tools = tools or detect_tools()
    results = []
    with tempfile.TemporaryDirectory(prefix="polytc-polybench-") as tmp:
        work = Path(tmp)
        for kernel in kernels(suite, only):
            result = Result(kernel)
            pluto = polycc_source(tools, kernel, work) if tools.polycc else None
            if isinstance(pluto, str):
                _fail(result, "pluto", f"polycc: {pluto}")
            check(kernel, tools, check_sizes, threads, work, result, pluto, variants)
            if size != "none":
                measure(kernel, tools, size, threads, repeat, work, result, pluto, variants)
            print(f"{kernel.name}: " + ("ok" if all(result.checked.values()) else
                                        "; ".join(result.problems)), flush=True)
            results.append(result)
    return results, tools


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polybench", required=True, type=Path, help="a PolyBench/C tree")
    parser.add_argument("--size", default="LARGE", help="dataset of the timings (MINI ... "
                        "EXTRALARGE; 'none': no timing)")
    parser.add_argument("--check", default="MINI,SMALL", help="datasets of the dump checks")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--only", help="kernels to run, by name (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant")
    add_variant_flag(parser)
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    only = args.only.split(",") if args.only else None
    variants = {**DEFAULT_VARIANTS, **dict(args.variant)}
    results, tools = run_suite(args.polybench, args.size, args.check.split(","), threads, only,
                               args.repeat, variants=variants)
    print(f"\ntools: gcc {tools.gcc}; Polly {tools.clang_polly or 'not installed'}; "
          f"polycc {tools.polycc or 'not set (PLUTO_POLYCC)'}")
    if args.size != "none":
        print_table(results, args.size)
        if len(threads) > 1:
            with tempfile.TemporaryDirectory(prefix="polytc-copy-") as tmp:
                copy = copy_bandwidth(tools, threads, Path(tmp))
            print_copy(copy)
    suite_size = len(kernels(args.polybench, only))
    print()
    failed = False
    for passed, text in targets(results, threads, suite_size):
        print(f"{'pass' if passed else 'FAIL'}: {text}")
        failed |= not passed and text.startswith("bit-identical")
    for name in variants:
        if name != "polytc":
            wrong = [r.kernel.name for r in results if not r.checked.get(name, False)]
            print(f"{'FAIL' if wrong else 'pass'}: variant {name} bit-identical "
                  f"({len(results) - len(wrong)}/{len(results)} kernels)")
            failed |= bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
