"""polytc benchmarks: compile time, cache hits, call overhead, kernel speed.

    python benchmarks/run.py            # full run
    python benchmarks/run.py --quick    # a smoke run for CI

Every figure is a median of repeated measurements, and every ratio compares
with a baseline measured in the same run (numpy, a no-op C call).  Machines
are shared and noisy: read ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import timeit
from typing import Callable

import numpy as np

MATMUL = """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}
"""


def median_time(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    return statistics.median(timeit.repeat(fn, repeat=repeat, number=number)) / number


def compile_times(repeat: int) -> list[tuple[str, float, str]]:
    import polytc
    from polytc import pipeline
    from polytc.options import Options

    stages = median_time(lambda: pipeline.run_stages(MATMUL, None, Options()), repeat)

    def cold() -> None:
        pipeline._front_memory.clear()
        polytc.compile(MATMUL, cache=False)
    with_cc = median_time(cold, max(3, repeat // 3))

    polytc.compile(MATMUL)  # make sure the disk cache holds it

    def hit() -> None:
        pipeline._front_memory.clear()
        polytc.compile(MATMUL)
    disk_hit = median_time(hit, repeat)
    memory_hit = median_time(lambda: polytc.compile(MATMUL), repeat)
    return [("text -> C, no compiler (target < 150 ms)", stages, "s"),
            ("text -> callable, with cc (target < 1.5 s)", with_cc, "s"),
            ("cache hit, from disk (target < 5 ms)", disk_hit, "s"),
            ("cache hit, in memory", memory_hit, "s")]


def call_overhead(repeat: int) -> list[tuple[str, float, str]]:
    import polytc
    k = polytc.compile("O(i) = A(i) + B(i)")
    a = np.ones(4, np.float32)
    b = np.ones(4, np.float32)
    out = np.empty(4, np.float32)
    k(a, b)  # load the library
    number = 2000
    checked = median_time(lambda: k(a, b, num_threads=1), repeat, number)
    into = median_time(lambda: k(a, b, out=out, num_threads=1), repeat, number)
    unchecked = median_time(lambda: k(a, b, out=out, num_threads=1, unchecked=True),
                            repeat, number)
    numpy_add = median_time(lambda: np.add(a, b, out=out), repeat, number)
    return [("tiny kernel call, checked (target < 10 us)", checked, "us"),
            ("  with out=", into, "us"),
            ("  with out= and unchecked=True", unchecked, "us"),
            ("  numpy.add on the same arrays (baseline)", numpy_add, "us")]


def kernel_speed(size: int, repeat: int) -> list[tuple[str, float, str]]:
    import polytc
    k = polytc.compile(MATMUL)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((size, size), dtype=np.float32)
    B = rng.standard_normal((size, size), dtype=np.float32)
    k(A, B, num_threads=1)
    ours = median_time(lambda: k(A, B, num_threads=1), repeat)
    ours_all = median_time(lambda: k(A, B), repeat)
    theirs = median_time(lambda: A @ B, repeat)
    flops = 2.0 * size ** 3
    return [(f"matmul {size}^3 polytc, 1 thread (default options)", ours, "s"),
            (f"matmul {size}^3 polytc, {os.cpu_count()} threads", ours_all, "s"),
            (f"matmul {size}^3 numpy (BLAS)", theirs, "s"),
            ("  GFLOP/s polytc 1 thread", flops / ours / 1e9, "x"),
            ("  polytc 1 thread / numpy throughput", theirs / ours, "x")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 15
    os.environ.setdefault("POLYTC_CACHE_DIR", tempfile.mkdtemp(prefix="polytc-bench-"))
    rows = compile_times(repeat) + call_overhead(repeat) + \
        kernel_speed(128 if args.quick else 512, repeat if args.quick else 5)
    width = max(len(name) for name, _, _ in rows)
    for name, value, unit in rows:
        shown = {"s": f"{value * 1e3:10.2f} ms", "us": f"{value * 1e6:10.2f} us",
                 "x": f"{value:10.3f}"}[unit]
        print(f"{name:<{width}}  {shown}")
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"(benchmarks took {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    sys.exit(code)
