"""Contracted temporaries in the generated C: a fused intermediate that is
dead outside a loop nest gets a buffer of only the dimensions that nest does
not fix (a local scalar or a row), never the full array, and the results are
those of numpy and of the unfused kernel."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc.codegen_c.contract import mark_contractions
from polytc.tiling.panels import DEFAULT_ROWS as PANEL_ROWS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "graph"))
import graph_cases as cases  # noqa: E402

OPTIONS = {"default": {}, "untiled": {"tile": None, "unroll": None},
           "serial": {"parallel": False}}
DOUBLE = """def f(float(N,M) A) -> (B) {
    T(i,j) = A(i,j) * 2
    B(i,j) = T(i,j) + 1
}"""
STENCIL = """def blur(float(N, M) A) -> (O) {
    T(i, j) = A(i, j) * 2
    O(i, j) = T(i, j) + T(i, j + 1) where j in 0:M-1
}"""
PREFIX = """def prefix(float(N) A) -> (O) {
    T(i) = A(i) + 1
    O(i) +=! T(j) * A(i) where j in 0:N
}"""


def _allocation(source: str, name: str) -> str | None:
    """The element count of ``name``'s malloc, or ``local[n]`` for a local
    array, or None when the source holds no buffer for it."""
    found = re.search(rf"\*restrict {name} = \(\w+ \*\)malloc\(sizeof\(\w+\) \* \((.*)\) \+ 64\);",
                      source) or re.search(  # a scoped buffer, 64-byte aligned
        rf"\*restrict {name} = \(\w+ \*\)aligned_alloc\(64, \(sizeof\(\w+\) \* \((.*)\) "
        r"\+ 127\) / 64 \* 64\);", source)
    if found:
        return found.group(1)
    local = re.search(rf"\b\w+ {name}\[(\d+)\];", source)
    return f"local[{local.group(1)}]" if local else None


def _contracted(kernel: polytc.Kernel) -> dict[str, tuple[int, ...]]:
    """What codegen contracts on the schedule C is generated from."""
    _, found = mark_contractions(kernel.program, kernel.tiled_schedule)
    return {name: c.kept for name, c in found.items()}


def _check_buffers(kernel: polytc.Kernel, expected: dict[str, str]) -> None:
    """Each temporary's buffer as expected: ``local[n]``, the kept extents'
    product (``e1``, ``e1*e2``) or ``full``."""
    for name, want in expected.items():
        got = _allocation(kernel.c_source, name)
        assert got is not None, name
        if want.startswith("local"):
            assert got == want, (name, got)
            assert "alloc(" not in _line_of(kernel.c_source, name), name
            continue
        dims = re.findall(rf"polytc_{name}_e(\d+)", got)
        rank = kernel.program.tensor(name).rank
        wanted = [str(d) for d in range(rank)] if want == "full" else \
            re.findall(r"\d+", want)
        assert dims == wanted, (name, got)
        assert len(re.findall(rf"\b{name} = \(\w+ \*\)(malloc|aligned_alloc)", kernel.c_source)) >= 1


def _line_of(source: str, name: str) -> str:
    return "\n".join(line for line in source.splitlines() if f" {name} = " in line)


@pytest.mark.parametrize("option", OPTIONS)
def test_mlp_intermediates_are_rows(option):
    graph = cases.mlp_graph()
    kernel = graph.compile(fuse="smart", **OPTIONS[option])
    if option == "untiled":  # fused in the batch loop: one row each
        assert _contracted(kernel) == {"fc1_Y": (1,), "relu_O": (1,)}
    else:  # run panel by panel (tiling/panels.py): a panel of rows each
        assert _contracted(kernel) == {"fc1_Y": (0, 1), "relu_O": (0, 1)}
        for name in ("fc1_Y", "relu_O"):
            assert f"(size_t){PANEL_ROWS} * (size_t)polytc_{name}_e1" in kernel.c_source
            assert f"{name}[(((i) % {PANEL_ROWS})) * polytc_{name}_e1 + n]" in kernel.c_source
    _check_buffers(kernel, {"fc1_Y": "e1", "relu_O": "e1"})
    unfused = graph.compile(fuse="none", **OPTIONS[option])
    _check_buffers(unfused, {"fc1_Y": "full", "relu_O": "full"})
    rng = np.random.default_rng(1)
    for B, K, N, M in [(1, 1, 1, 1), (7, 33, 13, 5), (33, 7, 33, 7), (100, 9, 20, 3)]:
        inputs = cases.mlp_inputs(rng, B, K, N, M)
        out = kernel(*inputs)
        np.testing.assert_allclose(out, cases.mlp_ref(*inputs), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out, unfused(*inputs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("option", OPTIONS)
def test_conv_relu_pool(option):
    graph = cases.conv_relu_pool_graph()
    kernel = graph.compile(fuse="smart", **OPTIONS[option])
    found = _contracted(kernel)
    # smart fusion shares the (n, m) loops; conv and relu share (h, w), the
    # pool has its own: relu_O lives within one (n, m) iteration, a plane
    assert found["relu_O"] == (2, 3)
    if option == "untiled":
        # conv feeds relu in the same (n, m, h, w) iteration: a scalar
        assert found == {"conv_O": (), "relu_O": (2, 3)}
        _check_buffers(kernel, {"conv_O": "local[1]", "relu_O": "e2*e3"})
    else:
        # tiled: conv_O's values stay within a register block of (h, w),
        # whose loop is a single iteration of its tile; the buffer is held
        # one loop further out, a plane per (n, m) too
        assert found == {"conv_O": (2, 3), "relu_O": (2, 3)}
        _check_buffers(kernel, {"conv_O": "e2*e3", "relu_O": "e2*e3"})
    unfused = graph.compile(fuse="none", **OPTIONS[option])
    rng = np.random.default_rng(2)
    for sizes in [dict(N=1, C=1, H=2, W=2, M=1, KH=1, KW=1), dict(),
                  dict(N=2, C=3, H=33, W=7, M=7, KH=2, KW=3)]:
        inputs = cases.conv_relu_pool_inputs(rng, **sizes)
        out = kernel(*inputs)
        np.testing.assert_allclose(out, cases.conv_relu_pool_ref(*inputs), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out, unfused(*inputs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("option", OPTIONS)
def test_plain_def_temporary_is_a_scalar(option):
    kernel = polytc.compile(DOUBLE, fuse="smart", **OPTIONS[option])
    assert _contracted(kernel) == {"T": ()}
    _check_buffers(kernel, {"T": "local[1]"})
    assert "alloc(" not in kernel.c_source
    unfused = polytc.compile(DOUBLE, fuse="none", **OPTIONS[option])
    _check_buffers(unfused, {"T": "full"})
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (7, 33), (33, 7)]:
        A = rng.standard_normal(shape, dtype=np.float32)
        out = kernel(A)
        np.testing.assert_allclose(out, A * 2 + 1, rtol=1e-6)
        np.testing.assert_array_equal(out, unfused(A))


@pytest.mark.parametrize("option", OPTIONS)
def test_stencil_at_a_shift(option):
    """T read at j and j+1: contracted at most to a row, results exact."""
    kernel = polytc.compile(STENCIL, fuse="max", **OPTIONS[option])
    found = _contracted(kernel)
    assert found in ({}, {"T": (1,)})
    _check_buffers(kernel, {"T": "e1" if found else "full"})
    rng = np.random.default_rng(4)
    for shape in [(1, 2), (7, 33), (33, 7)]:
        A = rng.standard_normal(shape, dtype=np.float32)
        T = A * 2
        np.testing.assert_allclose(kernel(A), T[:, :-1] + T[:, 1:], rtol=1e-6)


@pytest.mark.parametrize("option", OPTIONS)
def test_value_read_across_iterations_keeps_the_full_buffer(option):
    kernel = polytc.compile(PREFIX, fuse="max", **OPTIONS[option])
    assert _contracted(kernel) == {}
    _check_buffers(kernel, {"T": "full"})
    rng = np.random.default_rng(5)
    for n in (1, 7, 33):
        A = rng.standard_normal(n).astype(np.float32)
        np.testing.assert_allclose(kernel(A), (A + 1).sum() * A, rtol=1e-4, atol=1e-4)


def test_access_outside_the_mark_is_an_internal_error():
    """The emitter refuses to print a contracted access outside its nest."""
    from polytc.codegen_c.expr import BodyPrinter, Layout
    from polytc.errors import PolytcInternalError
    printer = BodyPrinter(lambda n: n, {"T": Layout("T", ("e0", "e1"))}, set())
    printer.contracted["T"] = ((1, "e1", False),)
    with pytest.raises(PolytcInternalError):
        printer.element("T", ["i", "j"])
    printer.active.add("T")
    assert printer.element("T", ["i", "j"]) == "T[j]"
    printer.contracted["T"] = ((0, "48", True), (1, "e1", False))  # a panel window
    assert printer.element("T", ["i", "j"]) == "T[(((i) % 48)) * e1 + j]"


def test_buffer_extent_with_rational_pieces_has_no_constant_bound() -> None:
    """isl's max_val refuses a piece such as ``(1 + N)/2 : (1 + N) mod 2 = 0``
    (fuzz seed 20240830 under scheduler='isl' crashed code generation): the
    buffer then has no constant bound and keeps the tensor's extent."""
    import islpy as isl
    from polytc.codegen_c.contract import buffer_extents
    from polytc.poly.contraction import Contraction
    extent = isl.PwAff("[N] -> { [((1 + N)/2)] : (1 + N) mod 2 = 0 and N <= 3; [(2)] : N >= 4 }")
    zero = isl.PwAff("[N] -> { [(0)] }")
    c = Contraction("T", 1, (0,), (extent,), (extent,), (zero,), (extent,))
    assert buffer_extents(c, isl.Set("[N] -> { : N >= 0 }")) == ((None, False),)


def test_loop_independence_past_its_time_counts_as_carried(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A tiled prefix's loop independence is decided in a child process with
    a time limit (fuzz seed 9138027843: minutes of isl); past it the flow
    counts as carried, so the temporary keeps a larger buffer, and the
    results stay numpy's."""
    from polytc.poly import contraction
    monkeypatch.setattr(contraction, "INDEPENDENCE_SECONDS", 0.0)
    kernel = polytc.compile(STENCIL, tile=(4, 8), cache=False)
    A = np.random.default_rng(1).random((13, 21), dtype=np.float32)
    want = A[:, :-1] * 2 + A[:, 1:] * 2
    np.testing.assert_allclose(kernel(A), want, rtol=1e-6)
