"""Graph layer benchmark: ops chained into one fused kernel vs the same ops
compiled separately and called in sequence (and, between the two, the graph
compiled without fusion: one C function, the ops' loop nests in sequence).

    python benchmarks/graph.py              # 2-layer MLP and conv -> relu -> pool
    python benchmarks/graph.py --quick      # smaller sizes, fewer repeats
    python benchmarks/graph.py --threads 4  # OpenMP threads per call (default 1)

What is measured, per workload and variant:

* ``median ms``: median wall time of one call (all ops), after a warm-up,
  in this process, variants measured round-robin, ``--threads`` threads (1
  by default: on a shared machine, OpenMP barriers of descheduled threads
  swamp small kernels).
* ``speedup``: separate ops' time over this variant's.
* ``peak RSS +MB``: in a fresh subprocess that loads the (cached) kernels
  and allocates the inputs first, the peak RSS during three calls minus the
  RSS before them (Linux VmHWM, reset through /proc/self/clear_refs; else
  ``ru_maxrss``): what the calls add at their high-water mark, C mallocs
  included (tracemalloc sees none of them).  It includes the output array;
  page granularity and allocator reuse make it approximate.
* ``intermediates MB``: bytes of the intermediate tensors, from the
  programs: for separate ops the numpy arrays passed between them, for the
  unfused graph the temporaries its C mallocs, for the fused graph what its C
  allocates after code generation contracted temporaries (a dimension fixed
  by the loops around every use is dropped; one buffer per thread inside a
  parallel loop).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "graph"))
import graph_cases as cases  # noqa: E402

import polytc  # noqa: E402
from polytc.graph import contractions  # noqa: E402
from polytc.graph import extents  # noqa: E402
from polytc.codegen_c.contract import buffer_extents, mark_contractions  # noqa: E402

SIZES = {
    "mlp": {"full": dict(B=512, K=256, N=1024, M=128), "quick": dict(B=64, K=33, N=130, M=7)},
    "conv_relu_pool": {"full": dict(N=4, C=16, H=66, W=66, M=32, KH=3, KW=3),
                       "quick": dict(N=1, C=3, H=21, W=19, M=4, KH=3, KW=3)},
}


# -- the two variants -----------------------------------------------------------
def graph_of(workload: str) -> polytc.Graph:
    return cases.mlp_graph() if workload == "mlp" else cases.conv_relu_pool_graph()


def inputs_of(workload: str, sizes: dict[str, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    if workload == "mlp":
        return cases.mlp_inputs(rng, **sizes)
    return cases.conv_relu_pool_inputs(rng, **sizes)


def fused(workload: str, threads: int) -> Callable[..., Any]:
    kernel = graph_of(workload).compile(fuse="smart")
    return lambda *arrays: kernel(*arrays, num_threads=threads)


def unfused(workload: str, threads: int) -> Callable[..., Any]:
    kernel = graph_of(workload).compile(fuse="none")
    return lambda *arrays: kernel(*arrays, num_threads=threads)


def separate(workload: str, threads: int) -> Callable[..., Any]:
    """The graph's ops compiled one by one, called in sequence from Python."""
    t = threads
    if workload == "mlp":
        fc, relu = polytc.compile(cases.FC), polytc.compile(cases.RELU)
        return lambda X, W1, b1, W2, b2: fc(relu(fc(X, W1, b1, num_threads=t), num_threads=t),
                                            W2, b2, num_threads=t)
    conv, relu, pool = (polytc.compile(text) for text in (cases.CONV, cases.RELU4, cases.POOL))
    return lambda X, Wt: pool(relu(conv(X, Wt, num_threads=t), num_threads=t), num_threads=t)


VARIANTS = {"fused graph": fused, "graph, no fusion": unfused, "separate ops": separate}


# -- what the programs allocate -----------------------------------------------------
def evaluate(extent: Any, sizes: dict[str, int]) -> int:
    value = extents.as_constant(extents.substitute(
        extent, {k: extents.constant(v) for k, v in sizes.items()}))
    assert value is not None
    return value


def intermediate_bytes(workload: str, sizes: dict[str, int], threads: int) -> dict[str, float]:
    """MB of intermediates: full size (what separate ops pass between them
    and what the unfused graph allocates) and what the fused kernel's C
    allocates (the contractions code generation applied to its tiled
    schedule, one buffer per thread where it lives in a parallel loop)."""
    kernel = graph_of(workload).compile(fuse="smart")
    program = kernel.program
    _, applied = mark_contractions(program, kernel.tiled_schedule)
    full = allocated = 0
    for name, analysed in contractions(program, kernel.tiled_schedule).items():
        item = np.dtype(program.tensor(name).dtype).itemsize
        whole = item * int(np.prod([evaluate(e, sizes) for e in analysed.full_shape]))
        full += whole
        c = applied.get(name)
        if c is None:
            allocated += whole
            continue
        dims = buffer_extents(c, program.context)
        count = np.prod([extent if modular else evaluate(shape, sizes)
                         for (extent, modular), shape in zip(dims, c.shape)])
        allocated += item * int(count) * (threads if c.private else 1)
    return {"fused graph": allocated / 2**20, "graph, no fusion": full / 2**20,
            "separate ops": full / 2**20}


# -- measurements -------------------------------------------------------------------
def medians_ms(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median ms per call of each of ``calls``, measured round-robin (one
    call of each per round) so that load changes hit every variant alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        fn()  # warm-up: load the library, touch the pages
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _status_kib(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in KiB (Linux), else None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def peak_rss_child(workload: str, variant: str, size: str, threads: str) -> None:
    """Run in a fresh process: print the peak RSS the calls add, in MB.

    Linux's ``ru_maxrss`` of a child starts at its parent's RSS at fork, so
    the peak is read from VmHWM after resetting it, when the kernel allows.
    """
    run = VARIANTS[variant](workload, int(threads))
    arrays = inputs_of(workload, SIZES[workload][size])
    if _reset_peak() and _status_kib("VmRSS") is not None:
        before, read = _status_kib("VmRSS"), lambda: _status_kib("VmHWM")
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        read = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731
    for _ in range(3):
        run(*arrays)
    print(json.dumps({"mb": ((read() or 0) - (before or 0)) / 1024}))


def peak_rss(workload: str, variant: str, size: str, threads: int) -> float:
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", workload,
                             variant, size, str(threads)], capture_output=True, text=True,
                            check=True)
    return float(json.loads(result.stdout.strip().splitlines()[-1])["mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads per call")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_rss_child(*args.child)
        return
    size = "quick" if args.quick else "full"
    repeat = 3 if args.quick else 15
    print(f"threads: {args.threads}; medians of "
          f"{repeat} calls; peak RSS from fresh subprocesses (see the docstring)\n")
    header = (f"{'workload':<16}{'variant':<18}{'median ms':>10}{'speedup':>9}"
              f"{'peak RSS +MB':>14}{'intermediates MB':>18}")
    print(header)
    print("-" * len(header))
    for workload, by_size in SIZES.items():
        sizes = by_size[size]
        arrays = inputs_of(workload, sizes)
        kernels = {name: make(workload, args.threads) for name, make in VARIANTS.items()}
        expected = kernels["separate ops"](*arrays)
        for name in ("fused graph", "graph, no fusion"):
            np.testing.assert_allclose(kernels[name](*arrays), expected, rtol=1e-3, atol=1e-3)
        times = medians_ms({name: (lambda k=k: k(*arrays)) for name, k in kernels.items()},
                           repeat)
        memory = intermediate_bytes(workload, sizes, args.threads)
        for name in VARIANTS:
            print(f"{workload:<16}{name:<18}{times[name]:>10.2f}"
                  f"{times['separate ops'] / times[name]:>8.2f}x"
                  f"{peak_rss(workload, name, size, args.threads):>14.1f}"
                  f"{memory[name]:>18.3f}")
        print(f"{'':<16}sizes: {', '.join(f'{k}={v}' for k, v in sizes.items())}")


if __name__ == "__main__":
    main()
