"""isl work in a forked child (:mod:`polytc.poly.child`): bounded by the
child's CPU time, so a loaded machine gives up on the same work as an idle one."""
from __future__ import annotations

import os
import time

import pytest

from polytc.poly.child import in_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _spin() -> str:
    while True:
        pass


def test_a_childs_text_comes_back() -> None:
    assert in_child(lambda: "done", 1.0, "a test") == "done"


def test_a_child_past_its_cpu_time_gives_none() -> None:
    start = time.monotonic()
    assert in_child(_spin, 0.2, "a test") is None
    assert time.monotonic() - start < 5


def test_a_child_waiting_without_cpu_is_not_stopped_by_its_cpu_limit() -> None:
    """Sleeping costs no CPU time: 0.3 s asleep under a 0.1 s limit finishes
    (the clock's bound is 20 times the limit)."""
    def sleepy() -> str:
        time.sleep(0.3)
        return "woke"
    assert in_child(sleepy, 0.1, "a test") == "woke"
