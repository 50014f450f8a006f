"""isl work that may run too long, done in a forked child with a time limit.

isl's operation budget does not count every piece of its work (the Farkas
multipliers' elimination, some of the scheduler's integer programs), and
isl looks for an abort (:mod:`polytc.isl_clock`) only where it counts, so
that work cannot be interrupted inside the process.  :func:`in_child`
runs a computation in a forked child that writes its result as text, and
stops it when its time is up.  The time is the child's CPU time, not the
clock's, so that a loaded machine gives up on the same computations as an
idle one (a wall-clock limit made PolyBench's fdtd-2d schedule differ under
a parallel test run); the clock only bounds a child that gets no CPU.  Where
``fork`` is missing it runs in-process, without a limit.
"""
from __future__ import annotations

import os
import select
import signal
import time
from typing import Callable

import islpy as isl

from polytc.errors import PolytcInternalError


#: the child's exit status when it ran past the isl operation budget it
#: inherited (a bound like the time limit: fuzz seed 9138028107's window)
OVER_BUDGET = 3
#: the wall-clock bound on a child, as a multiple of its CPU time limit
WALL_FACTOR = 20


def in_child(compute: Callable[[], str], seconds: float, doing: str) -> str | None:
    """``compute()``'s text, computed in a forked child; None when it took
    more than ``seconds`` of CPU time (or WALL_FACTOR times as long by the
    clock) or more than the isl operation budget in force.

    :raises PolytcInternalError: the child died (``doing`` says what it did)."""
    if not hasattr(os, "fork"):  # pragma: no cover - no fork: no limit
        return compute()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 1
        try:
            os.close(read)
            signal.signal(signal.SIGPROF, signal.SIG_DFL)  # the limit ends the child
            signal.setitimer(signal.ITIMER_PROF, seconds)
            with os.fdopen(write, "w") as out:
                out.write(compute())
            status = 0
        except isl.Error as error:
            if "maximal number of operations" in str(error):
                status = OVER_BUDGET
        finally:
            os._exit(status)
    os.close(write)
    chunks, deadline = [], time.monotonic() + WALL_FACTOR * seconds
    with os.fdopen(read, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([pipe], [], [], left)[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == OVER_BUDGET:
        return None
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGPROF:
        return None  # its CPU time was up
    if status != 0:
        raise PolytcInternalError(f"{doing} in a child process",
                                  f"the child exited with status {status}")
    return b"".join(chunks).decode()
