"""Time-iterated stencils through polytc's C frontend: time tiling, checked and timed.

    python benchmarks/stencils.py [--quick] [--threads 1,2] [--repeat 3] [--only jacobi-2d]
        [--variant diamond:time_tiling=diamond]...

Five stencils of our own (issue #14), each a C program below: a ``void
kernel(...)`` whose ``#pragma scop`` region polytc rewrites, and a ``main(T,
N[, M])`` that fills the arrays deterministically, times the kernel call alone
(``CLOCK_MONOTONIC``) and prints the seconds and a weighted checksum (``%a``).
Every variant is built with ``-O3 -march=native -ffp-contract=off``:

* ``gcc``: the original, on one thread: the baseline of every ratio;
* ``polytc@T``: ``polytc.transform_c`` (default options) under ``-fopenmp``,
  at each ``--threads`` count (``OMP_NUM_THREADS``); its checksum must equal
  the original's bit for bit (time tiling reorders no operation of a point);
  each ``--variant NAME:OPTION=VALUE,...`` adds ``NAME@T``, built and
  checked the same way with those options;
* ``numba@T`` (when numba is installed): a per-step version, ``prange`` over
  the outer space loop (the wavefront ``2i + j`` for in-place seidel-2d), one
  call per step from a jitted time loop, at the largest thread count, timed
  after a warm-up call; its checksum agrees within a relative 1e-9.

Each variant's time is the minimum of ``--repeat`` runs.  The table gives gcc's
seconds and GF/s (the ``flop/pt`` column: flops per point update) and the
speedups over gcc, then a pass/FAIL line per target of issue #14.  Machines
are shared and noisy: read ratios measured in the same run, never figures from
another run.  Exit status 1 on a checksum mismatch or a failed build, else 0.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from variants import DEFAULT_VARIANTS, Variants, add_variant_flag  # noqa: E402

FLAGS = ("-O3", "-march=native", "-ffp-contract=off")
_SECONDS = re.compile(r"^seconds (\S+)$", re.M)
_CHECKSUM = re.compile(r"^checksum (\S+)$", re.M)

Sizes = dict[str, int]

# -- the C programs ------------------------------------------------------------
PRELUDE = r"""#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* inputs in [0, 1), the same as benchmarks/stencils.py's fill() */
static void fill(long n, double *a, long seed)
{
  for (long i = 0; i < n; i++)
    a[i] = (double)((i * 211 + seed * 977) % 1013) / 1013.0;
}

static double checksum(long n, const double *a)
{
  double sum = 0.0;
  for (long i = 0; i < n; i++)
    sum += a[i] * (double)(i % 11 + 1);
  return sum;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int size_arg(int argc, char **argv, int k)
{
  if (argc <= k) {
    fprintf(stderr, "usage: %s SIZES...\n", argv[0]);
    exit(2);
  }
  return atoi(argv[k]);
}
"""

JACOBI_2D = r"""
void kernel(int T, int N, double A[N][N], double B[N][N])
{
  int t, i, j;
#pragma scop
  for (t = 0; t < T; t++) {
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        B[i][j] = 0.6 * A[i][j] + 0.1 * (A[i - 1][j] + A[i][j - 1] + A[i][j + 1] + A[i + 1][j]);
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        A[i][j] = 0.6 * B[i][j] + 0.1 * (B[i - 1][j] + B[i][j - 1] + B[i][j + 1] + B[i + 1][j]);
  }
#pragma endscop
}
"""

HEAT_3D = r"""
void kernel(int T, int N, double A[N][N][N], double B[N][N][N])
{
  int t, i, j, k;
#pragma scop
  for (t = 0; t < T; t++) {
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        for (k = 1; k < N - 1; k++)
          B[i][j][k] = 0.4 * A[i][j][k] + 0.1 * (A[i - 1][j][k] + A[i + 1][j][k]
                                                 + A[i][j - 1][k] + A[i][j + 1][k]
                                                 + A[i][j][k - 1] + A[i][j][k + 1]);
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        for (k = 1; k < N - 1; k++)
          A[i][j][k] = 0.4 * B[i][j][k] + 0.1 * (B[i - 1][j][k] + B[i + 1][j][k]
                                                 + B[i][j - 1][k] + B[i][j + 1][k]
                                                 + B[i][j][k - 1] + B[i][j][k + 1]);
  }
#pragma endscop
}
"""

SEIDEL_2D = r"""
void kernel(int T, int N, double G[N][N])
{
  int t, i, j;
#pragma scop
  for (t = 0; t < T; t++)
    for (i = 1; i < N - 1; i++)
      for (j = 1; j < N - 1; j++)
        G[i][j] = 0.1 * (G[i - 1][j - 1] + G[i - 1][j] + G[i - 1][j + 1] + G[i][j - 1]
                         + 2.0 * G[i][j] + G[i][j + 1] + G[i + 1][j - 1] + G[i + 1][j]
                         + G[i + 1][j + 1]);
#pragma endscop
}
"""

JACOBI_1D = r"""
void kernel(int T, int N, double A[N], double B[N])
{
  int t, i;
#pragma scop
  for (t = 0; t < T; t++) {
    for (i = 1; i < N - 1; i++)
      B[i] = 0.3 * A[i - 1] + 0.4 * A[i] + 0.3 * A[i + 1];
    for (i = 1; i < N - 1; i++)
      A[i] = 0.3 * B[i - 1] + 0.4 * B[i] + 0.3 * B[i + 1];
  }
#pragma endscop
}
"""

FDTD_2D = r"""
void kernel(int T, int NX, int NY, double Ex[NX][NY], double Ey[NX][NY], double Hz[NX][NY],
            double source[T])
{
  int t, i, j;
#pragma scop
  for (t = 0; t < T; t++) {
    for (j = 0; j < NY; j++)
      Ey[0][j] = source[t];
    for (i = 1; i < NX; i++)
      for (j = 0; j < NY; j++)
        Ey[i][j] = Ey[i][j] - 0.45 * (Hz[i][j] - Hz[i - 1][j]);
    for (i = 0; i < NX; i++)
      for (j = 1; j < NY; j++)
        Ex[i][j] = Ex[i][j] - 0.45 * (Hz[i][j] - Hz[i][j - 1]);
    for (i = 0; i < NX - 1; i++)
      for (j = 0; j < NY - 1; j++)
        Hz[i][j] = Hz[i][j] - 0.65 * (Ex[i][j + 1] - Ex[i][j] + Ey[i + 1][j] - Ey[i][j]);
  }
#pragma endscop
}
"""


@dataclass(frozen=True)
class Stencil:
    """One kernel: its C, its arrays and sizes, and its flop count."""

    name: str
    kernel: str                            # C text of ``void kernel(...)``
    arrays: tuple[tuple[str, tuple[str, ...]], ...]  # name, dimensions (size names)
    sizes: Sizes                           # the timed sizes, in main's argument order
    quick: Sizes                           # --quick's
    flops: int                             # per point update
    updates: Callable[[Sizes], int]        # point updates of a run

    def source(self) -> str:
        """The whole C program."""
        return PRELUDE + self.kernel + main_c(self)

    def gflop(self, sizes: Sizes) -> float:
        """GFlop of a run at ``sizes``."""
        return self.flops * self.updates(sizes) / 1e9


def main_c(stencil: Stencil) -> str:
    """``main``: sizes from argv, arrays filled with seeds 1, 2, ..., the kernel
    call timed, the seconds and the sum of every array's checksum printed."""
    lines = ["", "int main(int argc, char **argv)", "{"]
    for k, size in enumerate(stencil.sizes, 1):
        lines.append(f"  int {size} = size_arg(argc, argv, {k});")
    for seed, (name, dims) in enumerate(stencil.arrays, 1):
        lines.append(f"  double {_declarator(name, dims)} = malloc(sizeof(double) * "
                     f"{_count(dims)});")
        lines.append(f"  fill({_count(dims)}, (double *){name}, {seed});")
    arguments = ", ".join([*stencil.sizes, *(name for name, _ in stencil.arrays)])
    sums = " + ".join(f"checksum({_count(dims)}, (double *){name})"
                      for name, dims in stencil.arrays)
    lines += ["  double start = now();", f"  kernel({arguments});",
              "  double seconds = now() - start;",
              f'  printf("seconds %.9f\\nchecksum %a\\n", seconds, {sums});',
              "  return 0;", "}", ""]
    return "\n".join(lines)


def _count(dims: tuple[str, ...]) -> str:
    """C expression of an array's element count (as a long)."""
    return " * ".join(["(long)" + dims[0], *dims[1:]])


def _declarator(name: str, dims: tuple[str, ...]) -> str:
    """``*A``, ``(*A)[N]``, ``(*A)[N][N]``: a pointer to the array's rows."""
    return f"*{name}" if len(dims) == 1 else f"(*{name})" + "".join(f"[{d}]" for d in dims[1:])


STENCILS = (
    Stencil("jacobi-2d", JACOBI_2D, (("A", ("N", "N")), ("B", ("N", "N"))),
            {"T": 500, "N": 1000}, {"T": 5, "N": 37}, 6,
            lambda s: 2 * s["T"] * (s["N"] - 2) ** 2),
    Stencil("heat-3d", HEAT_3D, (("A", ("N", "N", "N")), ("B", ("N", "N", "N"))),
            {"T": 100, "N": 120}, {"T": 5, "N": 17}, 8,
            lambda s: 2 * s["T"] * (s["N"] - 2) ** 3),
    Stencil("seidel-2d", SEIDEL_2D, (("G", ("N", "N")),),
            {"T": 100, "N": 2000}, {"T": 5, "N": 37}, 10,
            lambda s: s["T"] * (s["N"] - 2) ** 2),
    Stencil("jacobi-1d", JACOBI_1D, (("A", ("N",)), ("B", ("N",))),
            {"T": 100, "N": 400000}, {"T": 5, "N": 301}, 5,
            lambda s: 2 * s["T"] * (s["N"] - 2)),
    Stencil("fdtd-2d", FDTD_2D, (("Ex", ("NX", "NY")), ("Ey", ("NX", "NY")),
                                 ("Hz", ("NX", "NY")), ("source", ("T",))),
            {"T": 100, "NX": 1000, "NY": 1200}, {"T": 5, "NX": 37, "NY": 41}, 11,
            lambda s: s["T"] * s["NX"] * s["NY"]),
)


# -- numba's per-step versions -------------------------------------------------------
prange: Any = range  # numba.prange once numba is loaded (load_numba)


def load_numba() -> Any | None:
    """numba, or None when it is not installed."""
    global prange
    if importlib.util.find_spec("numba") is None:
        return None
    try:
        numba = importlib.import_module("numba")
    except Exception as error:  # noqa: BLE001 - e.g. built for another numpy
        print(f"numba does not import: {type(error).__name__}: {error}")
        return None
    prange = numba.prange
    return numba


def _jacobi_2d_sweep(a: Any, b: Any) -> None:
    n = a.shape[0]
    for i in prange(1, n - 1):
        for j in range(1, n - 1):
            b[i, j] = 0.6 * a[i, j] + 0.1 * (a[i - 1, j] + a[i, j - 1] + a[i, j + 1]
                                             + a[i + 1, j])


def _heat_3d_sweep(a: Any, b: Any) -> None:
    n = a.shape[0]
    for i in prange(1, n - 1):
        for j in range(1, n - 1):
            for k in range(1, n - 1):
                b[i, j, k] = 0.4 * a[i, j, k] + 0.1 * (
                    a[i - 1, j, k] + a[i + 1, j, k] + a[i, j - 1, k] + a[i, j + 1, k]
                    + a[i, j, k - 1] + a[i, j, k + 1])


def _jacobi_1d_sweep(a: Any, b: Any) -> None:
    n = a.shape[0]
    for i in prange(1, n - 1):
        b[i] = 0.3 * a[i - 1] + 0.4 * a[i] + 0.3 * a[i + 1]


def _seidel_2d_step(g: Any) -> None:
    """One in-place step as wavefronts ``d = 2i + j``: a point reads new values
    of fronts d-3 .. d-1 and old ones of d+1 .. d+3, so a front is parallel."""
    last = g.shape[0] - 2
    for d in range(3, 3 * last + 1):
        for i in prange(max(1, (d - last + 1) // 2), min(last, (d - 1) // 2) + 1):
            j = d - 2 * i
            g[i, j] = 0.1 * (g[i - 1, j - 1] + g[i - 1, j] + g[i - 1, j + 1] + g[i, j - 1]
                             + 2.0 * g[i, j] + g[i, j + 1] + g[i + 1, j - 1] + g[i + 1, j]
                             + g[i + 1, j + 1])


def _fdtd_2d_step(ex: Any, ey: Any, hz: Any, value: float) -> None:
    nx, ny = hz.shape
    for j in range(ny):
        ey[0, j] = value
    for i in prange(1, nx):
        for j in range(ny):
            ey[i, j] = ey[i, j] - 0.45 * (hz[i, j] - hz[i - 1, j])
    for i in prange(nx):
        for j in range(1, ny):
            ex[i, j] = ex[i, j] - 0.45 * (hz[i, j] - hz[i, j - 1])
    for i in prange(nx - 1):
        for j in range(ny - 1):
            hz[i, j] = hz[i, j] - 0.65 * (ex[i, j + 1] - ex[i, j] + ey[i + 1, j] - ey[i, j])


def numba_kernels(numba: Any) -> dict[str, Callable[..., None]]:
    """Per kernel name, a jitted ``run(T, *arrays)``: a time loop calling a
    ``parallel=True`` step once per step."""
    parallel = numba.njit(parallel=True)
    jacobi_2d, heat_3d, jacobi_1d = (parallel(f) for f in (_jacobi_2d_sweep, _heat_3d_sweep,
                                                            _jacobi_1d_sweep))
    seidel_2d, fdtd_2d = parallel(_seidel_2d_step), parallel(_fdtd_2d_step)

    def two_sweeps(sweep: Any) -> Callable[..., None]:
        def run(steps: int, a: Any, b: Any) -> None:
            for _ in range(steps):
                sweep(a, b)
                sweep(b, a)
        jitted: Callable[..., None] = numba.njit(run)
        return jitted

    @numba.njit
    def seidel(steps: int, g: Any) -> None:
        for _ in range(steps):
            seidel_2d(g)

    @numba.njit
    def fdtd(steps: int, ex: Any, ey: Any, hz: Any, source: Any) -> None:
        for t in range(steps):
            fdtd_2d(ex, ey, hz, source[t])

    return {"jacobi-2d": two_sweeps(jacobi_2d), "heat-3d": two_sweeps(heat_3d),
            "seidel-2d": seidel, "jacobi-1d": two_sweeps(jacobi_1d), "fdtd-2d": fdtd}


def fill(stencil: Stencil, sizes: Sizes) -> list[Any]:
    """The arrays of ``main`` (same values, numpy)."""
    import numpy as np
    arrays = []
    for seed, (_, dims) in enumerate(stencil.arrays, 1):
        shape = tuple(sizes[d] for d in dims)
        i = np.arange(math.prod(shape), dtype=np.int64)
        arrays.append((((i * 211 + seed * 977) % 1013) / 1013.0).reshape(shape))
    return arrays


def checksum(arrays: list[Any]) -> float:
    """``main``'s checksum, summed in its order."""
    import numpy as np
    total = 0.0
    for a in arrays:
        flat = a.ravel()
        weights = (np.arange(flat.size) % 11 + 1).astype(np.float64)
        total += float(np.add.accumulate(flat * weights)[-1]) if flat.size else 0.0
    return total


def time_numba(stencil: Stencil, jitted: Callable[..., None], sizes: Sizes, repeat: int
               ) -> tuple[float, float]:
    """Minimum seconds of ``repeat`` runs after a warm-up call on the quick sizes,
    and the checksum of the last run."""
    jitted(stencil.quick["T"], *fill(stencil, stencil.quick))
    best, arrays = math.inf, []
    for _ in range(repeat):
        arrays = fill(stencil, sizes)
        start = time.perf_counter()
        jitted(sizes["T"], *arrays)
        best = min(best, time.perf_counter() - start)
    return best, checksum(arrays)


# -- building and running the C -------------------------------------------------
@dataclass
class Result:
    """One stencil's run: gcc's checksum, times by variant, problems."""

    stencil: Stencil
    sizes: Sizes
    checksum: str | None = None                               # gcc's, as %a prints it
    seconds: dict[str, float] = field(default_factory=dict)  # "gcc", "polytc@2", "numba@2"
    problems: list[str] = field(default_factory=list)        # mismatches, failed builds


def compiler() -> str | None:
    """gcc (or cc), or None."""
    return shutil.which("gcc") or shutil.which("cc")


def build(cc: str, source: Path, extra: list[str], exe: Path) -> str | None:
    """Compile ``source`` into ``exe``; None, or the error."""
    result = subprocess.run([cc, *FLAGS, *extra, str(source), "-o", str(exe), "-lm"],
                            capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr[-2000:]


def run(exe: Path, sizes: Sizes, threads: int) -> tuple[float, str] | str:
    """(seconds, checksum) of one run, or what went wrong."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run([str(exe), *map(str, sizes.values())], capture_output=True,
                            text=True, env=env, timeout=3600)
    seconds, check = _SECONDS.search(result.stdout), _CHECKSUM.search(result.stdout)
    if result.returncode != 0 or not seconds or not check:
        return f"exit {result.returncode}: {(result.stderr or result.stdout)[-300:]}"
    return float(seconds.group(1)), check.group(1)


def timed(result: Result, variant: str, exe: Path, threads: int, repeat: int) -> None:
    """Store the minimum of ``repeat`` runs; check every run's checksum against
    gcc's (the first run of gcc sets it)."""
    best = math.inf
    for _ in range(repeat):
        outcome = run(exe, result.sizes, threads)
        if isinstance(outcome, str):
            result.problems.append(f"{variant} failed: {outcome}")
            return
        seconds, got = outcome
        result.checksum = result.checksum or got
        if got != result.checksum:
            result.problems.append(f"MISMATCH {variant}: checksum {got} != gcc's "
                                   f"{result.checksum}")
            return
        best = min(best, seconds)
    result.seconds[variant] = best


def polytc_source(stencil: Stencil, out: Path, options: dict[str, object] | None = None
                  ) -> str | None:
    """polytc's rewrite (default options) into ``out``; None, or the error."""
    from polytc import transform_c
    try:
        out.write_text(transform_c(stencil.source(), filename=f"{stencil.name}.c",
                                   **(options or {})))
    except Exception as error:  # noqa: BLE001 - a failure is a result here
        return f"{type(error).__name__}: {error}"
    return None


def measure(stencil: Stencil, sizes: Sizes, cc: str, threads: list[int], repeat: int,
            work: Path, variants: Variants = DEFAULT_VARIANTS) -> Result:
    """Build, run and check the C variants of one stencil."""
    result = Result(stencil, sizes)
    original = work / f"{stencil.name}.c"
    original.write_text(stencil.source())
    error = build(cc, original, [], work / f"{stencil.name}.gcc")
    if error:
        result.problems.append(f"build failed (gcc): {error}")
        return result
    timed(result, "gcc", work / f"{stencil.name}.gcc", 1, repeat)
    for name, options in variants.items():
        rewritten, exe = work / f"{stencil.name}.{name}.c", work / f"{stencil.name}.{name}"
        error = polytc_source(stencil, rewritten, options) \
            or build(cc, rewritten, ["-fopenmp"], exe)
        if error:
            result.problems.append(f"build failed ({name}): {error}")
            continue
        for t in threads:
            if result.checksum is not None:
                timed(result, f"{name}@{t}", exe, t, repeat)
    return result


def measure_numba(result: Result, jitted: Callable[..., None], variant: str,
                  repeat: int) -> None:
    """Time numba's version (its threads already set) and check its checksum."""
    try:
        seconds, got = time_numba(result.stencil, jitted, result.sizes, repeat)
    except Exception as error:  # noqa: BLE001 - numba is optional: a note, no failure
        print(f"{result.stencil.name}: {variant} failed: {type(error).__name__}: {error}")
        return
    result.seconds[variant] = seconds
    if result.checksum is not None:
        want = float.fromhex(result.checksum)
        if not math.isclose(got, want, rel_tol=1e-9):
            result.problems.append(f"MISMATCH {variant}: checksum {got!r} != gcc's {want!r}")


# -- report -----------------------------------------------------------------------
def speedup(result: Result, key: str, over: str = "gcc") -> float | None:
    """Time of ``over`` / time of ``key``, when both ran."""
    base, other = result.seconds.get(over), result.seconds.get(key)
    return base / other if base and other else None


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def _sizes(sizes: Sizes) -> str:
    return " ".join(f"{k}={v}" for k, v in sizes.items())


def print_table(results: list[Result], threads: list[int], numba_column: str | None,
                variants: Variants = DEFAULT_VARIANTS) -> None:
    """One row per kernel: check, gcc's seconds and GF/s, speedups over gcc."""
    keys = [f"{name}@{t}" for name in variants for t in threads] + [numba_column or "numba"]
    print("\nstencils: speedup over gcc -O3 -march=native on one thread "
          "(ratios of the same run)")
    print(f"{'kernel':<11}{'sizes':<23}{'flop/pt':>8}  {'check':<9}{'gcc s':>9}{'GF/s':>7}"
          + "".join(f"{k:>10}" for k in keys))
    for r in results:
        gcc = r.seconds.get("gcc")
        gflops = f"{r.stencil.gflop(r.sizes) / gcc:.2f}" if gcc else "-"
        check = "MISMATCH" if any(p.startswith("MISMATCH") for p in r.problems) else \
            "FAIL" if r.problems else "ok"
        cells = "".join(f"{_ratio(speedup(r, k)):>10}" for k in keys)
        print(f"{r.stencil.name:<11}{_sizes(r.sizes):<23}{r.stencil.flops:>8}  {check:<9}"
              f"{(f'{gcc:.4g}' if gcc else '-'):>9}{gflops:>7}{cells}")


def targets(results: list[Result], threads: list[int], numba_column: str | None
            ) -> list[tuple[bool, str]]:
    """(passed, text) per target of issue #14 this run can judge."""
    top, lines = max(threads), []
    if 1 in threads:
        lines.append(_every(results, "polytc@1", "gcc", 1.5, "1 thread: polytc@1 >= 1.5x gcc"))
    if 1 in threads and top > 1:
        lines.append(_every(results, f"polytc@{top}", "polytc@1", 1.8,
                            f"{top} threads: polytc@{top} >= 1.8x polytc@1"))
    if numba_column:
        lines.append(_every(results, f"polytc@{top}", numba_column, 1.0,
                            f"{top} threads: polytc@{top} ahead of {numba_column}", strict=True))
    return lines


def _every(results: list[Result], key: str, over: str, least: float, text: str,
           strict: bool = False) -> tuple[bool, str]:
    """Whether every kernel's ``over`` / ``key`` time ratio reaches ``least``."""
    below = []
    for r in results:
        ratio = speedup(r, key, over)
        if ratio is None or ratio < least or (strict and ratio == least):
            below.append(f"{r.stencil.name} {_ratio(ratio)}")
    return not below, f"{text} on every kernel" + (f" (not met: {', '.join(below)})"
                                                    if below else "")


# -- driver -----------------------------------------------------------------------
def select(only: str | None) -> list[Stencil]:
    """The stencils named in ``--only`` (all without it)."""
    if not only:
        return list(STENCILS)
    names = only.split(",")
    unknown = set(names) - {s.name for s in STENCILS}
    if unknown:
        raise SystemExit(f"--only: no kernel named {', '.join(sorted(unknown))}")
    return [s for s in STENCILS if s.name in names]


def run_all(stencils: list[Stencil], quick: bool, threads: list[int], repeat: int,
            cc: str, numba: Any | None, variants: Variants = DEFAULT_VARIANTS
            ) -> tuple[list[Result], str | None]:
    """Every stencil's result, and the numba column's name (None: numba not run)."""
    column = None
    if numba is not None:
        jitted = numba_kernels(numba)
        top = min(max(threads), int(numba.config.NUMBA_NUM_THREADS))
        numba.set_num_threads(top)
        column = f"numba@{top}"
    results = []
    with tempfile.TemporaryDirectory(prefix="polytc-stencils-") as tmp:
        for stencil in stencils:
            result = measure(stencil, stencil.quick if quick else stencil.sizes, cc, threads,
                             repeat, Path(tmp), variants)
            if column is not None:
                measure_numba(result, jitted[stencil.name], column, repeat)
            print(f"{stencil.name}: " + ("; ".join(result.problems) or "ok"), flush=True)
            results.append(result)
    return results, column


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--only", help="kernels to run, by name (default: all)")
    add_variant_flag(parser)
    args = parser.parse_args(argv)
    variants = {**DEFAULT_VARIANTS, **dict(args.variant)}
    threads = sorted({int(t) for t in args.threads.split(",")})
    cc = compiler()
    if cc is None:
        print("no C compiler (gcc or cc)")
        return 1
    numba = load_numba()
    results, column = run_all(select(args.only), args.quick, threads, args.repeat, cc, numba,
                              variants)
    print_table(results, threads, column, variants)
    print(f"\nflop/pt: flops per point update; GF/s: gcc's; numba: "
          f"{'numba ' + numba.__version__ if numba is not None else 'not installed (-)'}\n")
    for passed, text in targets(results, threads, column):
        print(f"{'pass' if passed else 'FAIL'}: {text}")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
