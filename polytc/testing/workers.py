"""Worker processes with a time limit per call.

A :class:`Worker` is a child Python process that runs one module-level
function call at a time.  :meth:`Worker.call` waits at most ``timeout``
seconds; a worker that overruns (a hang, possibly inside isl's C code where
no signal reaches Python) or dies (a crash) is killed and reported, and
:func:`map_calls` starts a fresh one for the next item.  Children are
*spawned*: a forked child of a process that ran OpenMP kernels can hang.
"""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterable


def _serve(connection: Connection) -> None:
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", function(*args)))
        except Exception as error:  # noqa: BLE001 - reported to the parent
            connection.send(("error", f"{type(error).__name__}: {error}"))


class Worker:
    """A child process serving calls one at a time."""

    def __init__(self, method: str = "spawn") -> None:
        context: Any = multiprocessing.get_context(method)
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def call(self, function: Callable[..., Any], args: tuple[Any, ...],
             timeout: float | None) -> tuple[str, Any]:
        """``("ok", result)``, ``("error", message)`` (an exception in the
        call), ``("timeout", message)`` or ``("died", message)``; after the
        last two the worker is gone."""
        try:
            self.connection.send((function, args))
            if self.connection.poll(timeout):
                result: tuple[str, Any] = self.connection.recv()
                return result
        except (EOFError, OSError):
            pass
        alive = self.process.is_alive()
        self.stop()
        if alive:
            return "timeout", f"no answer within {timeout} s"
        return "died", f"the process died with exit code {self.process.exitcode}"

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.connection.close()


def map_calls(function: Callable[..., Any], items: Iterable[Any], workers: int,
              timeout: float | None, method: str = "spawn",
              on_result: Callable[[Any, str, Any], None] | None = None
              ) -> list[tuple[Any, str, Any]]:
    """``function(item)`` for every item in ``workers`` child processes, each
    call limited to ``timeout`` seconds: ``(item, status, result)`` in order.
    ``on_result`` sees each as it arrives (one at a time)."""
    pending = list(items)
    results: list[tuple[Any, str, Any] | None] = [None] * len(pending)
    lock = threading.Lock()
    cursor = [0]

    def drive() -> None:
        worker: Worker | None = None
        try:
            while True:
                with lock:
                    if cursor[0] >= len(pending):
                        return
                    index = cursor[0]
                    cursor[0] += 1
                if worker is None or not worker.alive:
                    worker = Worker(method)
                status, value = worker.call(function, (pending[index],), timeout)
                results[index] = (pending[index], status, value)
                if on_result is not None:
                    with lock:
                        on_result(pending[index], status, value)
        finally:
            if worker is not None:
                worker.stop()

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for future in [pool.submit(drive) for _ in range(max(1, workers))]:
            future.result()
    return [r for r in results if r is not None]
