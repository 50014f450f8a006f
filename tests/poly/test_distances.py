"""Dependence distance and direction vectors (Dependences.distances)."""
from __future__ import annotations

import polytc
from polytc.poly import transform as T

from tc_programs import MATMUL as GEMM, RECURRENCE as REC, REVERSE as REV


def test_gemm_distances_and_directions():
    k = polytc.compile(GEMM, scheduler="identity")
    table = k.dependences.distances(program=k.program)
    assert table.space == "iteration" and len(table) == 5
    flow = table.of("flow", "S1", "S1")
    assert flow.vector == (0, 0, 1) and flow.direction == ("=", "=", "<")
    assert flow.dims == ("m", "n", "k") and flow.tensor == "C" and flow.loop_carried == 2
    anti = table.of("anti", "S1", "S1")          # every later k: not uniform
    assert anti.vector is None and anti.ranges == ("0", "0", "1..")
    init = table.of("flow", "S0", "S1")           # compared on the common (m, n)
    assert init.vector == (0, 0) and init.loop_carried is None
    text = str(table)
    assert "flow S1 -> S1 on C (m, n, k): distance (0, 0, 1), direction (=, =, <)" in text


def test_negative_and_non_uniform_distances():
    k = polytc.compile(REC, scheduler="identity")
    rec = k.dependences.distances().of("flow", "S1", "S1")
    assert rec.vector == (1, -1) and rec.direction == ("<", ">") and rec.tensor == ""
    r = polytc.compile(REV, scheduler="identity")
    reverse = r.dependences.distances().of("flow", "S0", "S1")   # N - 1 - 2i: any sign
    assert reverse.direction == ("*",) and reverse.vector is None


def test_schedule_space_distances_after_skewing():
    k = polytc.compile(REC, scheduler="identity")
    skewed = T.skew(k.schedule, "S1", 1, 0, 1)
    table = k.dependences.distances(skewed, k.program)
    assert table.space == "schedule"
    # time = [sequence position, i, i + j]: the (1, -1) dependence becomes (0, 1, 0)
    assert table.of("flow", "S1", "S1").vector == (0, 1, 0)
    assert table.of("flow", "S1", "S1").dims == ("c0", "c1", "c2")
    assert table.of("flow", "S0", "S1").direction[0] == "<"     # sequence: S0 first
