"""Compiling tuning candidates in worker processes with a time limit.

:func:`build_candidate` runs in a child process (:class:`CompilePool` keeps
``workers`` of them alive across batches): the pipeline's stages, then the C
compiler, through the compile cache.  A candidate whose compile overruns the
pool's timeout (isl can hang in C code where no signal reaches Python) or
kills its worker is reported, its worker killed and replaced; the tuner goes
on.  The result carries the generated C's hash, so two configurations that
generate the same C are measured once, and optionally the library's bytes
(for a measuring machine other than the compiling one, :mod:`.remote`).
"""
from __future__ import annotations

import hashlib
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from polytc.codegen_c.cfunction import CFunction
from polytc.testing.workers import Worker

#: failure kinds of a trial (TVM's measure error taxonomy, reduced)
COMPILE_ERROR, COMPILE_TIMEOUT, CRASH, RUN_TIMEOUT, WRONG_ANSWER, RUN_ERROR = (
    "compile error", "compile timeout", "crash", "run timeout", "wrong answer", "run error")


@dataclass(frozen=True)
class BuildRequest:
    """One candidate: compile ``text``'s ``entry`` with ``options``
    (:func:`polytc.compile` keywords, ``sizes`` and ``dtype`` included)."""

    text: str
    entry: str | None
    options: dict[str, Any]
    ship: bool = False  # return the library's bytes too


@dataclass(frozen=True)
class Built:
    """A compiled candidate, or why there is none (``failure`` set)."""

    cfunction: CFunction | None = None
    library: str | None = None
    c_hash: str | None = None
    seconds: float = 0.0
    failure: str | None = None
    message: str = ""
    data: bytes | None = field(default=None, repr=False)


def build_candidate(request: BuildRequest) -> Built:
    """Compile one candidate (in a worker process; see the module docstring)."""
    ignore_interrupts()
    from polytc import pipeline
    from polytc.codegen_c import build
    from polytc.errors import OptionError, PolytcError
    from polytc.options import Options
    start = time.perf_counter()
    try:
        opts = Options(**{**request.options, "tuned": False})
        cfunction = pipeline.run_stages(request.text, request.entry, opts)["c"]
        library = build.build(cfunction.source, use_cache=opts.cache)
    except (PolytcError, OptionError) as error:
        return Built(failure=COMPILE_ERROR, message=f"{type(error).__name__}: {error}",
                     seconds=time.perf_counter() - start)
    data = library.read_bytes() if request.ship else None
    return Built(cfunction, str(library), hashlib.sha256(cfunction.source.encode()).hexdigest(),
                 time.perf_counter() - start, data=data)


def ignore_interrupts() -> None:
    """Ctrl-C is the tuner's to handle: a worker killed by it would lose the
    candidate being compiled or measured for nothing."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def outcome(worker: Worker, status: str) -> str:
    """``status`` of a call, with a worker that died of a signal other than
    our kill reported as ``died`` (its pipe may close before it is reaped,
    which the call reports as a timeout)."""
    code = worker.process.exitcode
    if status == "timeout" and code is not None and code != -signal.SIGKILL:
        return "died"
    return status


class CompilePool:
    """``workers`` long-lived compile processes; :meth:`build` compiles a
    batch, at most one candidate per process at a time."""

    def __init__(self, workers: int, timeout: float,
                 function: Callable[[BuildRequest], Built] = build_candidate) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.function = function
        self._workers: list[Worker | None] = [None] * self.size
        self._seconds: list[float] = []

    def build(self, requests: list[BuildRequest]) -> list[Built]:
        """One :class:`Built` per request, in order."""
        results: list[Built | None] = [None] * len(requests)
        if self.size == 1 or len(requests) == 1:
            for index, request in enumerate(requests):
                results[index] = self._one(0, request)
        else:
            def lane(slot: int) -> None:
                for index in range(slot, len(requests), self.size):
                    results[index] = self._one(slot, requests[index])
            with ThreadPoolExecutor(self.size) as threads:
                for future in [threads.submit(lane, s) for s in range(self.size)]:
                    future.result()
        return [r if r is not None else Built(failure=COMPILE_ERROR) for r in results]

    def _one(self, slot: int, request: BuildRequest) -> Built:
        worker = self._workers[slot]
        if worker is None or not worker.alive:
            worker = self._workers[slot] = Worker()
        timeout = self.current_timeout()
        status, value = worker.call(self.function, (request,), timeout)
        if status == "ok":
            self._seconds.append(value.seconds)
            return value
        self._workers[slot] = None if status in ("timeout", "died") else worker
        kind = {"timeout": COMPILE_TIMEOUT, "died": CRASH}.get(outcome(worker, status),
                                                              COMPILE_ERROR)
        return Built(failure=kind, message=str(value),
                     seconds=timeout if status == "timeout" else 0.0)

    def current_timeout(self) -> float:
        """The configured limit; after 20 compiles, at most 3x their 90th
        percentile (and at least 10 s)."""
        if len(self._seconds) < 20:
            return self.timeout
        p90 = sorted(self._seconds)[int(0.9 * (len(self._seconds) - 1))]
        return min(self.timeout, max(10.0, 3 * p90))

    def close(self) -> None:
        for worker in self._workers:
            if worker is not None:
                worker.stop()
        self._workers = [None] * self.size
