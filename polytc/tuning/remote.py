"""Tuning on a Dask cluster: compiles anywhere, measurements on the target machine.

``polytc.tune(..., dask_client=client)`` (``polytc tune --scheduler-address``)
keeps the study in ``optuna_integration.dask.DaskStorage`` (the storage lives
on the scheduler, every process reaches it through Dask), submits each
candidate's compile as a task to any worker (:class:`DaskBuilder`; the task
compiles in a child process with the usual time limit and returns the
library's bytes), and each measurement as a task that needs the resource
``POLYTC_MEASURE`` (:class:`DaskRunner`): start the workers of the machine
being tuned with ``--resources POLYTC_MEASURE=1``, one per machine, and only
they measure, one measurement at a time.  A measuring worker writes shipped
libraries under its own cache directory, runs them in its long-lived
measuring process, and reports its machine fingerprint: a measurement from
a machine other than the one the study is keyed to is refused.

Dask starts worker processes as daemons by default, and a daemon process
cannot start the child processes polytc compiles and measures in: start
workers with ``--no-nanny`` or with the Dask setting
``distributed.worker.daemon: False`` (threads-only local clusters need
neither).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

from polytc.errors import MissingExtraError, PolytcError
from polytc.tuning import INSTALL
from polytc.tuning.build import COMPILE_TIMEOUT, BuildRequest, Built, CompilePool
from polytc.tuning.measure import MeasureJob, Runner

RESOURCE = "POLYTC_MEASURE"
_pools: dict[Any, CompilePool] = {}
_runners: dict[Any, Runner] = {}


def require_distributed() -> Any:
    try:
        import distributed
        from optuna_integration.dask import DaskStorage  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"tuning on Dask needs distributed and optuna-integration: "
                                f"{INSTALL}") from None
    return distributed


def dask_storage(storage: Any, client: Any) -> Any:
    """``storage`` served from the Dask scheduler of ``client``."""
    require_distributed()
    import warnings
    from optuna_integration.dask import DaskStorage
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DaskStorage is marked experimental
        return DaskStorage(storage, client=client)


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address`` (``tcp://host:port``)."""
    distributed = require_distributed()
    try:
        return distributed.Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise PolytcError(f"cannot reach the Dask scheduler at {address}: {error}") from None


# -- tasks (run on the workers) ---------------------------------------------------
def compile_task(request: BuildRequest, timeout: float,
                 function: Callable[[BuildRequest], Built]) -> Built:
    """Compile in this worker's compile process, with the time limit."""
    pool = _pools.setdefault(function, CompilePool(1, timeout, function))
    pool.timeout = timeout
    return pool.build([request])[0]


def measure_task(job: MeasureJob, shipped: dict[str, bytes], timeout: float,
                 function: Callable[[MeasureJob], dict[str, Any]]) -> dict[str, Any]:
    """Measure in this worker's measuring process; the libraries in
    ``shipped`` (path -> bytes) are written here first when missing."""
    import dataclasses
    from polytc.tuning.machine import machine_hash
    paths = {name: _materialise(name, data) for name, data in shipped.items()}
    reference = job.reference
    if reference is not None:
        reference = (reference[0], paths.get(reference[1], reference[1]))
    job = dataclasses.replace(job, library=paths.get(job.library, job.library),
                              reference=reference)
    runner = _runners.setdefault(function, Runner(function=function))
    return {**runner.measure(job, timeout), "machine": machine_hash()}


def _materialise(name: str, data: bytes) -> str:
    if Path(name).is_file():
        return name
    from polytc.tuning.records import tuning_dir
    target = tuning_dir() / "shipped" / (hashlib.sha256(data).hexdigest()[:24] + ".so")
    if not target.is_file():
        from polytc.codegen_c.build import atomic_write
        atomic_write(target, data)
    return str(target)


# -- the driver's side -------------------------------------------------------------
class DaskBuilder:
    """Compiles a batch as Dask tasks (any worker)."""

    def __init__(self, client: Any, timeout: float,
                 function: Callable[[BuildRequest], Built]) -> None:
        self.client, self.timeout, self.function = client, timeout, function
        self.size = max(1, sum(w.get("nthreads", 1) for w in
                               client.scheduler_info()["workers"].values()))
        self.shipped: dict[str, bytes] = {}

    def build(self, requests: list[BuildRequest]) -> list[Built]:
        futures = [self.client.submit(compile_task, r, self.timeout, self.function, pure=False)
                   for r in requests]
        results = []
        for future in futures:
            try:
                built = future.result(timeout=self.timeout + 60)
            except TimeoutError:
                built = Built(failure=COMPILE_TIMEOUT, message="no answer from the cluster")
            if built.data is not None and built.library is not None:
                self.shipped[built.library] = built.data
            results.append(built)
        return results

    def close(self) -> None:
        self.shipped.clear()


class DaskRunner:
    """Measures on the workers that have the ``POLYTC_MEASURE`` resource."""

    def __init__(self, client: Any, machine: str,
                 function: Callable[[MeasureJob], dict[str, Any]],
                 builder: DaskBuilder | None = None) -> None:
        self.client, self.machine, self.function = client, machine, function
        self.builder = builder
        workers = client.scheduler_info()["workers"].values()
        if not any(w.get("resources", {}).get(RESOURCE) for w in workers):
            raise PolytcError(f"no Dask worker has the {RESOURCE} resource: start the "
                              f"measuring worker(s) of this machine with --resources "
                              f"{RESOURCE}=1")

    def measure(self, job: MeasureJob, timeout: float) -> dict[str, Any]:
        shipped = self.builder.shipped if self.builder is not None else {}
        wanted = {job.library} | ({job.reference[1]} if job.reference else set())
        future = self.client.submit(measure_task, job,
                                    {k: v for k, v in shipped.items() if k in wanted},
                                    timeout, self.function, resources={RESOURCE: 1},
                                    pure=False)
        result: dict[str, Any] = future.result()
        if result.pop("machine") != self.machine:
            raise PolytcError("a Dask worker with the POLYTC_MEASURE resource is not the "
                              "machine this study is tuned for (its fingerprint differs); "
                              "give the resource only to workers of that machine")
        return result

    def close(self) -> None:
        pass
