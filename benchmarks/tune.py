"""Autotuning (issue #15): tuned options against the defaults and OpenBLAS.

    python benchmarks/tune.py gemm   [--trials 100] [--size 1024] [--threads 1]
    python benchmarks/tune.py suite  [--trials 60] [--quick] [--only gemm,mlp]
    python benchmarks/tune.py resume [--trials 10] [--size 256]

``gemm``: tunes gemm size^3 float32 for ``--trials`` trials in a new study,
then times the tuned kernel (``polytc.compile(text, sizes=...)`` picks up
the record) and numpy's matmul (OpenBLAS, limited to the same threads)
interleaved; targets: under 15 minutes of tuning, at least 0.95x numpy.
``suite``: tunes each program of ``benchmarks/kernels.py`` for ``--trials``
trials and times the tuned kernel against the default options, interleaved;
targets: geometric mean of the speedups at least 1.2x, none below 1.0x.
``resume``: tunes a kernel twice with the same study; target: trials add up
and the best time never gets worse.  Times are minima over interleaved
rounds of the same run; studies and records go to a fresh temporary cache
directory unless ``POLYTC_CACHE_DIR`` is set (kernels compile again then).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import kernels  # noqa: E402


def interleaved_minima(functions: dict[str, Callable[[], Any]], rounds: int = 7,
                       budget_s: float = 0.3) -> dict[str, float]:
    """Seconds per call of each function: the minimum over ``rounds``
    interleaved rounds, each a loop of calls lasting about ``budget_s``."""
    for fn in functions.values():
        fn()  # warm-up
    calls: dict[str, int] = {}
    for name, fn in functions.items():
        start = time.perf_counter()
        fn()
        calls[name] = max(1, int(budget_s / max(time.perf_counter() - start, 1e-7)))
    best = {name: math.inf for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / calls[name])
    return best


def sizes_of(text: str, inputs: Sequence[np.ndarray]) -> dict[str, int]:
    """Every size symbol of ``text``'s def, bound from the inputs' shapes."""
    from polytc import pipeline
    from polytc.options import Options
    cfunction = pipeline.run_stages(text, None, Options())["c"]
    sizes: dict[str, int] = {}
    for tensor, array in zip(cfunction.inputs, inputs):
        for dim, extent in zip(tensor.dims, np.shape(array)):
            if isinstance(dim, str):
                sizes[dim] = int(extent)
    return sizes


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def tune(text: str, sizes: dict[str, int], trials: int, threads: int, storage: str | None,
         **settings: Any) -> Any:
    import polytc
    return polytc.tune(text, sizes=sizes, budget=trials, threads=threads, storage=storage,
                       progress=True, **settings)


# -- gemm against OpenBLAS ---------------------------------------------------------
def gemm(args: argparse.Namespace) -> bool:
    import polytc
    n = args.size
    sizes = {"M": n, "N": n, "K": n}
    print(f"load average before: {load()}")
    start = time.monotonic()
    result = tune(kernels.GEMM, sizes, args.trials, args.threads, args.storage)
    minutes = (time.monotonic() - start) / 60
    print(result.summary())
    kernel = polytc.compile(kernels.GEMM, sizes=sizes)
    assert kernel.tuning is not None
    default = polytc.compile(kernels.GEMM, sizes=sizes, tuned=False)
    rng = np.random.default_rng(0)
    A, B = kernels.rand(rng, n, n), kernels.rand(rng, n, n)
    np.testing.assert_allclose(kernel(A, B), A @ B, rtol=2e-3, atol=2e-3 * math.sqrt(n))
    blas = kernels.BlasThreads()
    with blas.limit(args.threads):
        times = interleaved_minima({
            "tuned": lambda: kernel(A, B, num_threads=args.threads),
            "default": lambda: default(A, B, num_threads=args.threads),
            "numpy": lambda: A @ B})
    flops = 2.0 * n ** 3
    for name, seconds in times.items():
        print(f"  {name:8s} {seconds * 1e3:9.3f} ms  {flops / seconds / 1e9:7.1f} GF/s")
    ratio = times["numpy"] / times["tuned"]
    print(f"gemm {n}^3 f32, {args.threads} thread(s), {args.trials} trials: "
          f"tuning {minutes:.1f} min (target < 15: {verdict(minutes < 15)}), "
          f"tuned {ratio:.2f}x numpy/OpenBLAS (target >= 0.95: {verdict(ratio >= 0.95)}), "
          f"{times['default'] / times['tuned']:.2f}x the defaults; BLAS threads {blas.how}")
    print(f"load average after: {load()}")
    return minutes < 15 and ratio >= 0.95


# -- the kernel suite against the defaults ---------------------------------------------
def suite(args: argparse.Namespace) -> bool:
    import polytc
    speedups = {}
    print(f"load average before: {load()}")
    for program in kernels.select(args.only.split(",") if args.only else None):
        chosen = program.quick if args.quick else program.full
        inputs = program.inputs(chosen, np.random.default_rng(0))
        sizes = sizes_of(program.text, inputs)
        result = tune(program.text, sizes, args.trials, args.threads, args.storage)
        tuned = polytc.compile(program.text, sizes=sizes)
        default = polytc.compile(program.text, sizes=sizes, tuned=False)
        problem = kernels.check(kernels.as_tuple(tuned(*inputs)),
                                kernels.reference(program, inputs))
        if problem:
            print(f"{program.name}: tuned kernel wrong: {problem}")
            return False
        times = interleaved_minima({
            "tuned": lambda: tuned(*inputs, num_threads=args.threads),
            "default": lambda: default(*inputs, num_threads=args.threads)})
        same = tuned.c_source == default.c_source  # the defaults kept: one kernel, 1.00x
        speedups[program.name] = 1.0 if same else times["default"] / times["tuned"]
        print(f"{program.name:14s} {program.label(chosen):>16s}  default "
              f"{times['default'] * 1e3:9.3f} ms  tuned {times['tuned'] * 1e3:9.3f} ms  "
              f"{speedups[program.name]:5.2f}x  ({result.new_trials} trials, "
              f"{result.seconds:.0f} s, kept: {'tuned' if result.tuned else 'defaults'}"
              f"{', same C' if same else ''})",
              flush=True)
    mean = math.exp(sum(math.log(s) for s in speedups.values()) / len(speedups))
    slower = [name for name, s in speedups.items() if s < 1.0]
    print(f"geometric mean {mean:.2f}x the defaults (target >= 1.2: {verdict(mean >= 1.2)}); "
          f"slower than the defaults: {', '.join(slower) or 'none'} "
          f"(target none: {verdict(not slower)})")
    print(f"load average after: {load()}")
    return mean >= 1.2 and not slower


# -- resuming --------------------------------------------------------------------------
def resume(args: argparse.Namespace) -> bool:
    n = args.size
    sizes = {"M": n, "N": n, "K": n}
    storage = args.storage or str(Path(tempfile.mkdtemp(prefix="polytc-tune-")) / "s.journal")
    first = tune(kernels.GEMM, sizes, args.trials, args.threads, storage)
    second = tune(kernels.GEMM, sizes, args.trials, args.threads, storage)
    best = [min(v for _, v in r.history if v is not None) for r in (first, second)]
    adds = second.trials == first.trials + args.trials
    print(f"trials {first.trials} then {second.trials} (adds up: {verdict(adds)}); best "
          f"{best[0] * 1e3:.3f} then {best[1] * 1e3:.3f} ms (never worse: "
          f"{verdict(best[1] <= best[0])})")
    return adds and best[1] <= best[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("gemm", "suite", "resume"))
    parser.add_argument("--trials", type=int, help="trials per kernel (gemm 100, suite 60, "
                        "resume 10)")
    parser.add_argument("--size", type=int, help="gemm size (gemm 1024, resume 256)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="suite: small sizes")
    parser.add_argument("--only", help="suite: these programs (comma-separated)")
    parser.add_argument("--storage", help="Optuna storage (default: a journal file in the "
                        "cache directory, a new study per cache directory)")
    args = parser.parse_args(argv)
    defaults = {"gemm": (100, 1024), "suite": (60, 0), "resume": (10, 256)}[args.what]
    args.trials = args.trials or defaults[0]
    args.size = args.size or defaults[1]
    if "POLYTC_CACHE_DIR" not in os.environ:
        os.environ["POLYTC_CACHE_DIR"] = tempfile.mkdtemp(prefix="polytc-tune-cache-")
        print(f"cache directory: {os.environ['POLYTC_CACHE_DIR']}")
    ok = {"gemm": gemm, "suite": suite, "resume": resume}[args.what](args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
