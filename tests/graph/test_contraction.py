"""Contraction analysis: which temporaries a schedule lets shrink, and to what.

Schedules come from the scheduler directly (no C is generated), except where
a test checks the analysis on a compiled kernel's own stages.
"""
from __future__ import annotations

import islpy as isl
import pytest

import polytc
from polytc import poly
from polytc.graph import Contraction, contractions
from polytc.graph.extents import to_tc
from polytc.program import Program

import graph_cases as cases


def _texts(extents: tuple[isl.PwAff, ...]) -> list[str | None]:
    return [to_tc(e) for e in extents]


def _scheduled(text_or_graph: str | polytc.Graph, fuse: str) -> tuple[Program, isl.Schedule]:
    if isinstance(text_or_graph, polytc.Graph):
        program = text_or_graph.lower().program()
    else:
        program = polytc.frontend.to_program(text_or_graph)
    return program, poly.pluto_schedule(program, poly.dependences(program), fuse=fuse)


@pytest.fixture(scope="module")
def mlp_graph():
    return cases.mlp_graph()


@pytest.fixture(scope="module")
def crp_graph():
    return cases.conv_relu_pool_graph()


@pytest.mark.parametrize("fuse", ["smart", "max"])
def test_mlp_intermediates_shrink_to_a_row(mlp_graph, fuse):
    program, schedule = _scheduled(mlp_graph, fuse)
    found = contractions(program, schedule)
    assert set(found) == {"fc1_Y", "relu_O"}
    for name in ("fc1_Y", "relu_O"):
        c = found[name]
        assert isinstance(c, Contraction)
        assert c.depth == 1 and c.kept == (1,) and c.contracted and not c.scalar
        assert _texts(c.shape) == ["N"] and _texts(c.window) == ["N"]
        assert _texts(c.full_shape) == ["B", "N"]
        assert c.private  # the shared loop over rows is parallel
    assert found["relu_O"].statements == ("S3", "S5")  # relu writes it, fc2 reads it
    assert "relu_O[B, N] -> [N]" in str(found["relu_O"])
    # a row buffer is indexed from 0: the offset of n within row i is 0
    assert "[i0] -> [(0)]" in str(found["relu_O"].offsets[0])


def test_on_a_compiled_kernels_stages(mlp_graph):
    kernel = mlp_graph.compile(fuse="smart")
    found = contractions(kernel.program, kernel.schedule)
    assert found["relu_O"].depth == 1 and found["relu_O"].kept == (1,)


def test_mlp_unfused_intermediates_stay(mlp_graph):
    program, schedule = _scheduled(mlp_graph, "none")
    for c in contractions(program, schedule).values():
        assert c.depth == 0 and not c.contracted and c.kept == (0, 1)
        assert "not contracted" in str(c)


def test_conv_relu_pool(crp_graph):
    found = contractions(*_scheduled(crp_graph, "smart"))
    conv, relu = found["conv_O"], found["relu_O"]
    # conv is consumed by relu in the same (n, m, h, w) iteration: a scalar
    assert conv.scalar and conv.depth == 4 and conv.kept == ()
    # the pool reads rows 2h and 2h+1 of relu's output, written in two
    # iterations of the h loop: only the (n, m) loops hold every use
    assert relu.depth == 2 and relu.kept == (2, 3)
    assert _texts(relu.shape) == ["max(1 + H - KH, 0)", "max(1 - KW + W, 0)"]
    assert _texts(relu.window) == ["1 + H - KH", "1 - KW + W"]
    assert "not contracted" in str(contractions(*_scheduled(crp_graph, "none"))["relu_O"])


def test_conv_relu_pool_unfused(crp_graph):
    assert all(c.depth == 0 for c in contractions(*_scheduled(crp_graph, "none")).values())


def test_stencil_fused_at_a_shift_keeps_a_row():
    """A stencil fused with its producer at a shift: the inner loop carries
    a value (T(i, j+1) is written one iteration before it is read), so only
    the row loop holds every use and T shrinks to one row."""
    (c,) = contractions(*_scheduled("""def blur(float(N, M) A) -> (O) {
        T(i, j) = A(i, j) * 2
        O(i, j) = T(i, j) + T(i, j + 1) where j in 0:M-1
    }""", "max")).values()
    assert c.tensor == "T" and c.depth == 1 and c.kept == (1,)


def test_temporary_read_across_iterations_is_not_contracted():
    """A row sum used by every later row cannot live in one iteration."""
    (c,) = contractions(*_scheduled("""def prefix(float(N) A) -> (O) {
        T(i) = A(i) + 1
        O(i) +=! T(j) * A(i) where j in 0:N
    }""", "max")).values()
    assert c.depth == 0 and not c.contracted
