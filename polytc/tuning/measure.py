"""Checking and timing candidates, in a long-lived measuring process.

:class:`Runner` keeps one child process (:class:`polytc.testing.workers.
Worker`) that loads candidate libraries and calls them; a candidate that
crashes or hangs it is reported (``crash`` / ``run timeout``), the process
is killed and a new one started for the next candidate.  Measurements on one
machine never overlap: the runner holds an exclusive lock on
``<cache dir>/tuning/measure.lock`` while it measures, so several tuners
(or Dask workers) on one host take turns.

In the child, :func:`measure_job` first runs the candidate on random inputs
(seeded; floats uniform in [-1, 1], integers in [0, 3)) and compares its
outputs with the default build's on the same inputs: a float32 output may
differ by ``2e-4`` of the largest reference value (tiling and vectorisation
reassociate sums), a float64 one by ``1e-9``, integers not at all.  A
mismatch is a ``wrong`` result, never timed.  Then the timing protocol,
on calls made as a user makes them (new output arrays each time: a softmax
candidate with an unfused 16 MiB temporary ran 3.1 ms into preallocated
outputs and 14.7 ms as called, its buffers page-faulting on every call): the
checking call is the warm-up, the next one estimates the time (and stops
there when slower than ``cutoff``);
calls per sample grow until a sample lasts ``min_sample`` seconds; samples
are taken until the best and the third best agree within 3 %, or
``max_time`` has passed with at least 3 samples.  The minimum ranks; the
median and the spread ((median - min) / min) are kept.
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from polytc import dtypes
from polytc.codegen_c.cfunction import CFunction
from polytc.testing.workers import Worker
from polytc.tuning.build import (CRASH, RUN_ERROR, RUN_TIMEOUT, WRONG_ANSWER, ignore_interrupts,
                                 outcome)

TOLERANCES = {dtypes.FLOAT32: 2e-4, dtypes.FLOAT64: 1e-9}
CONVERGED = 0.03


@dataclass(frozen=True)
class MeasureJob:
    """Check a candidate against the reference (the default build; None when
    it is the default itself), then time it on ``threads`` threads."""

    cfunction: CFunction
    library: str
    reference: tuple[CFunction, str] | None
    sizes: dict[str, int]
    threads: int
    seed: int = 0
    cutoff: float | None = None
    min_sample: float = 0.02
    max_time: float = 1.0
    max_samples: int = 25


_references: dict[tuple[str, int], tuple[list[np.ndarray], list[np.ndarray]]] = {}


def measure_job(job: MeasureJob) -> dict[str, Any]:
    """Check, then time (see the module docstring); a dict with ``status``
    ``ok``, ``slow`` (stopped after the first call) or ``wrong``."""
    ignore_interrupts()
    from polytc.codegen_c.kernel import Kernel
    reference = job.reference or (job.cfunction, job.library)
    inputs, expected = _reference_outputs(reference, job.sizes, job.seed, job.threads)
    kernel = Kernel(job.cfunction, job.library, dict)
    outputs = [np.zeros_like(e) for e in expected]

    def call() -> None:  # as a user calls it: outputs allocated (their page faults count)
        kernel(*inputs, num_threads=job.threads, unchecked=True)
    kernel(*inputs, out=outputs, num_threads=job.threads)  # the check, and a warm-up
    error = max((relative_error(o, e) for o, e in zip(outputs, expected)), default=0.0)
    tolerance = max((TOLERANCES.get(dtypes.from_numpy(e.dtype), 0.0) for e in expected),
                    default=0.0)
    result: dict[str, Any] = {"error": error, "tol": tolerance, "seed": job.seed}
    if not error <= tolerance:
        return {**result, "status": "wrong"}
    start = time.perf_counter()
    call()
    first = result["first_s"] = time.perf_counter() - start
    if job.cutoff is not None and first > job.cutoff:
        return {**result, "status": "slow", "min_s": first, "median_s": first, "samples": 1,
                "spread": 0.0}
    samples = time_samples(call, first, job.min_sample, job.max_time, job.max_samples)
    best = min(samples)
    return {**result, "status": "ok", "min_s": best, "median_s": statistics.median(samples),
            "samples": len(samples), "spread": (statistics.median(samples) - best) / best}


def time_samples(call: Callable[[], None], estimate: float, min_sample: float,
                 max_time: float, max_samples: int) -> list[float]:
    """Seconds per call, one value per sample (see the module docstring)."""
    number = max(1, int(min_sample / max(estimate, 1e-9)) + 1) if estimate < min_sample else 1
    samples: list[float] = []
    deadline = time.perf_counter() + max_time
    while len(samples) < max_samples:
        start = time.perf_counter()
        for _ in range(number):
            call()
        samples.append((time.perf_counter() - start) / number)
        ordered = sorted(samples)
        if len(samples) >= 3 and (ordered[2] <= ordered[0] * (1 + CONVERGED)
                                  or time.perf_counter() > deadline):
            break
    return samples


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """max |got - expected| / max |expected| (floats; NaNs must agree), or
    0/inf for exact types; inf on a shape mismatch."""
    if got.shape != expected.shape:
        return float("inf")
    if expected.dtype.kind != "f":
        return 0.0 if np.array_equal(got, expected) else float("inf")
    nan = np.isnan(expected)
    if not np.array_equal(nan, np.isnan(got)):
        return float("inf")
    if expected.size == 0 or nan.all():
        return 0.0
    wide_got, wide_expected = got[~nan].astype(np.float64), expected[~nan].astype(np.float64)
    scale = max(float(np.max(np.abs(wide_expected))), 1e-30)
    return float(np.max(np.abs(wide_got - wide_expected))) / scale


def random_inputs(cfunction: CFunction, sizes: dict[str, int], seed: int) -> list[np.ndarray]:
    """Seeded random inputs of ``cfunction`` at ``sizes``."""
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in cfunction.inputs:
        shape = tuple(d if isinstance(d, int) else int(sizes[d]) for d in tensor.dims)
        dtype = dtypes.to_numpy(tensor.dtype)
        if dtype.kind == "f":
            arrays.append(rng.uniform(-1.0, 1.0, shape).astype(dtype))
        elif dtype.kind == "b":
            arrays.append(rng.integers(0, 2, shape).astype(dtype))
        else:
            arrays.append(rng.integers(0, 3, shape).astype(dtype))
    return arrays


def _reference_outputs(reference: tuple[CFunction, str], sizes: dict[str, int], seed: int,
                       threads: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from polytc.codegen_c.kernel import Kernel
    key = (reference[1], seed)
    if key not in _references:
        inputs = random_inputs(reference[0], sizes, seed)
        value = Kernel(reference[0], reference[1], dict)(*inputs, num_threads=threads)
        outputs = list(value) if isinstance(value, tuple) else [value]
        _references.clear()  # one kernel's arrays at a time
        _references[key] = (inputs, outputs)
    return _references[key]


class Runner:
    """The measuring process of this host (see the module docstring)."""

    def __init__(self, lock_path: Path | None = None,
                 function: Callable[[MeasureJob], dict[str, Any]] = measure_job) -> None:
        from polytc.tuning.records import tuning_dir
        self.lock_path = lock_path or tuning_dir() / "measure.lock"
        self.function = function
        self._worker: Worker | None = None
        self.restarts = 0

    def measure(self, job: MeasureJob, timeout: float) -> dict[str, Any]:
        """``measure_job(job)`` in the child, or ``{"status": failure kind}``."""
        from polytc.tuning.records import locked
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self.restarts += 1
            self._worker = Worker()
        with locked(self.lock_path):
            status, value = self._worker.call(self.function, (job,), timeout)
        if status == "ok":
            result: dict[str, Any] = value
            if result["status"] == "wrong":
                result["status"] = WRONG_ANSWER
            return result
        kind = {"timeout": RUN_TIMEOUT, "died": CRASH}.get(outcome(self._worker, status),
                                                           RUN_ERROR)
        if status in ("timeout", "died"):
            self._worker = None
        return {"status": kind, "message": str(value)}

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None


def measurement_environment() -> dict[str, str]:
    """OpenMP settings of the measuring process (recorded with each result)."""
    return {name: os.environ[name] for name in ("OMP_NUM_THREADS", "OMP_PROC_BIND",
                                                 "OMP_PLACES") if name in os.environ}
