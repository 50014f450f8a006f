"""Stand-ins for the tuner's worker functions (imported in its child
processes: they must live in a module, not in a test function).

Each keys its misbehaviour on the candidate's options, so the default build
(the reference of every check) is always the real one.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import time
from typing import Any

from polytc.tuning.build import BuildRequest, Built, build_candidate
from polytc.tuning.measure import MeasureJob, measure_job

_calls = [0]


DEFAULTS = {"scheduler": "pluto", "fuse": "smart", "tile": "auto", "unroll": "auto",
            "pack": True, "vectorize": True, "parallel": True}


def _other(request: BuildRequest) -> bool:
    """Whether the candidate's options are not the defaults."""
    return any(request.options.get(k, v) != v for k, v in DEFAULTS.items())


def build_hanging(request: BuildRequest) -> Built:
    """The first candidate other than the defaults hangs (a compile that never
    ends); the file named by $POLYTC_TEST_MARKER remembers it happened."""
    marker = os.environ["POLYTC_TEST_MARKER"]
    if _other(request) and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(3600)
    return build_candidate(request)


def build_wrong(request: BuildRequest) -> Built:
    """Candidates other than the defaults compute C + 1: a miscompile."""
    if _other(request):
        wrong = request.text.replace("A(i, k) * B(k, j)", "A(i, k) * B(k, j) + 1")
        return build_candidate(dataclasses.replace(request, text=wrong))
    return build_candidate(request)


def measure_crashing(job: MeasureJob) -> dict[str, Any]:
    """Every measurement but the default's (no reference) dies of a segfault."""
    if job.reference is not None:
        ctypes.string_at(0)  # SIGSEGV in the measuring process
    return measure_job(job)


def measure_then_interrupt(job: MeasureJob) -> dict[str, Any]:
    """Measures; at the third candidate, Ctrl-C reaches the tuner."""
    if job.reference is not None:
        _calls[0] += 1
        if _calls[0] == 3:
            os.kill(os.getppid(), signal.SIGINT)
            time.sleep(5)
    return measure_job(job)
