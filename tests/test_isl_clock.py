"""isl stopped by the CPU time it takes (:mod:`polytc.isl_clock`), not only
by its count of operations."""
from __future__ import annotations

import time

import islpy as isl
import pytest

from polytc import isl_clock
from polytc.isl_util import over_budget, within_budget

#: one isl call that runs for minutes (113 s here): the closure of a union of
#: two affine maps
SLOW = ("{ [i,j] -> [i + 3j + 1, j - i + 2] : 0 <= i, j < 100; "
        "[i,j] -> [2i + j, i + 7] : 0 <= i <= j < 50 }")

pytestmark = pytest.mark.skipif(not isl_clock.supported(isl.DEFAULT_CONTEXT),
                                reason="no CPU-time limit for isl on this platform")


def _closure(ctx: isl.Context) -> isl.Map:
    return isl.Map(SLOW, context=ctx).transitive_closure()[0]


def test_a_long_isl_call_stops_at_its_cpu_limit_and_the_context_works_after() -> None:
    ctx = isl.Context()
    start = time.thread_time()
    with isl_clock.cpu_limit(ctx, 0.3):
        with pytest.raises(isl.Error):
            _closure(ctx)
        assert isl_clock.aborted(ctx) and over_budget(ctx)
    assert time.thread_time() - start < 5
    assert not isl_clock.aborted(ctx)
    assert str(isl.Set("{ [i] : 0 <= i < 3 }", context=ctx).lexmax()) == "{ [i = 2] }"


def test_waiting_is_not_cpu_time() -> None:
    ctx = isl.Context()
    with isl_clock.cpu_limit(ctx, 0.05):
        time.sleep(0.3)
        assert not isl_clock.aborted(ctx)
        assert isl.Set("{ [i] : 0 <= i < 3 }", context=ctx).lexmin() is not None


def test_within_budget_gives_none_past_its_cpu_time_but_not_before() -> None:
    ctx = isl.Context()
    assert within_budget(ctx, 0, lambda: _closure(ctx), seconds=0.2) is None
    small = "{ [i] -> [i + 1] : 0 <= i < 10 }"
    result = within_budget(ctx, 0, lambda: isl.Map(small, context=ctx).transitive_closure()[0],
                           seconds=30)
    assert result is not None and not isl_clock.aborted(ctx)


def test_no_limit_when_seconds_is_none() -> None:
    ctx = isl.Context()
    with isl_clock.cpu_limit(ctx, None):
        assert isl.Set("{ [i] : 0 <= i < 3 }", context=ctx).lexmin() is not None
