"""The graph layer: ops chained into one kernel, checked against numpy;
one C function with internal intermediates; fusion across ops; errors that
name the ops involved and point into an op's own text."""
from __future__ import annotations

import re

import numpy as np
import pytest

import polytc
from polytc.errors import (GraphError, NonAffineIndexError, PolytcError, Span,
                           UnknownNameError)

import graph_cases as cases
from graph_cases import CONV, FC, POOL, RELU, RELU4


@pytest.fixture(scope="module")
def mlp():
    graph = cases.mlp_graph()
    return graph, graph.lower(), graph.compile(fuse="smart")


@pytest.fixture(scope="module")
def crp():
    graph = cases.conv_relu_pool_graph()
    # register tiling (unroll=) makes cc take tens of seconds on this C; the
    # graph layer is what is under test, the default options are in test_mlp
    return graph, graph.lower(), graph.compile(fuse="smart", unroll=None)


def _functions(c_source: str) -> list[str]:
    """Names of the C functions defined (not the ABI comment)."""
    return re.findall(r"^int (polytc_\w+)\((?:int64_t|const|float|double|int)", c_source,
                      re.M)


def _signature(c_source: str, function: str) -> str:
    start = c_source.index(f"int {function}(int")
    return c_source[start:c_source.index(")", start)]


def _fused(kernel: polytc.Kernel, lowered: polytc.graph.LoweredGraph, *ops: str) -> bool:
    """Every statement of ``ops`` is in one fused group of the schedule."""
    by_op = lowered.statements_by_op(kernel.program)
    wanted = {s for op in ops for s in by_op[op]}
    return any(wanted <= set(group) for group in kernel.schedule_summary.fused_groups)


# -- numerics -------------------------------------------------------------------
def test_mlp_matches_numpy(mlp):
    _, _, kernel = mlp
    rng = np.random.default_rng(0)
    for sizes in ({}, dict(B=33, K=13, N=7, M=3), dict(B=1, K=1, N=1, M=1)):
        arrays = cases.mlp_inputs(rng, **sizes)
        np.testing.assert_allclose(kernel(*arrays), cases.mlp_ref(*arrays),
                                   rtol=1e-4, atol=1e-4)


def test_conv_relu_pool_matches_numpy(crp):
    _, _, kernel = crp
    rng = np.random.default_rng(1)
    for sizes in ({}, dict(N=1, C=2, H=7, W=33, M=3, KH=2, KW=3)):
        arrays = cases.conv_relu_pool_inputs(rng, **sizes)
        expected = cases.conv_relu_pool_ref(*arrays)
        result = kernel(*arrays)
        assert result.shape == expected.shape
        np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


def test_attention_matches_numpy():
    kernel = cases.attention_graph().compile()
    rng = np.random.default_rng(2)
    arrays = cases.attention_inputs(rng)
    np.testing.assert_allclose(kernel(*arrays), cases.attention_ref(*arrays),
                               rtol=1e-4, atol=1e-5)
    assert kernel.inputs == ("Q", "Kt", "V") and kernel.outputs == ("Out",)


def test_every_fusion_policy_computes_the_same(mlp):
    graph, _, _ = mlp
    rng = np.random.default_rng(3)
    arrays = cases.mlp_inputs(rng)
    for fuse in ("max", "none"):
        np.testing.assert_allclose(graph.compile(fuse=fuse)(*arrays), cases.mlp_ref(*arrays),
                                   rtol=1e-4, atol=1e-4)


# -- one function, internal intermediates ------------------------------------
def test_one_c_function_and_internal_intermediates(mlp):
    _, lowered, kernel = mlp
    assert _functions(kernel.c_source) == ["polytc_mlp2"]
    assert kernel.inputs == ("X", "W1", "b1", "W2", "b2")
    assert kernel.outputs == ("Y",)
    assert set(kernel.sizes) == {"B", "K", "N", "M"}
    assert set(lowered.intermediates) == {"fc1_Y", "relu_O"}
    signature = _signature(kernel.c_source, "polytc_mlp2")
    for name in lowered.intermediates:
        assert name not in kernel.inputs + kernel.outputs
        assert not re.search(rf"\b{name}\b", signature)
        assert kernel.program.tensor(name).role == "temp"
    assert len(kernel.program.outputs) == 1


def test_intermediate_can_also_be_an_output():
    g = polytc.Graph("both")
    h = g.op(FC, X=g.input("X", "float(B,K)"), W=g.input("W", "float(N,K)"),
             b=g.input("b", "float(N)"))
    g.output(h, name="H")
    g.output(g.op(RELU, I=h), name="R")
    kernel = g.compile()
    rng = np.random.default_rng(4)
    X, W, b = (rng.standard_normal(s, dtype=np.float32) for s in ((7, 33), (13, 33), (13,)))
    H, R = kernel(X, W, b)
    np.testing.assert_allclose(H, X @ W.T + b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(R, np.maximum(X @ W.T + b, 0), rtol=1e-4, atol=1e-4)


def test_multi_output_op_selected_by_name_and_string():
    stats = """def stats(float(B,N) I) -> (mean, top) {
        mean(i) +=! I(i,n) / float(N)
        top(i) max=! I(i,n)
    }"""
    g = polytc.Graph("spread")
    s = g.op(stats, I=g.input("X", "float(B,N)"))
    with pytest.raises(GraphError, match="2 outputs"):
        s.output()
    d = g.op("def diff(float(B) A, float(B) C) -> (O) { O(i) = A(i) - C(i) }",
             A="stats.top", C=s["mean"])
    g.output(d, name="spread")
    kernel = g.compile()
    X = np.random.default_rng(5).standard_normal((7, 13), dtype=np.float32)
    np.testing.assert_allclose(kernel(X), X.max(axis=1) - X.mean(axis=1), rtol=1e-5,
                               atol=1e-5)


def test_bare_statement_ops_and_forward_references():
    g = polytc.Graph("chain")
    g.op("T(i) = A(i) * 2", A="X", name="twice")     # forward: X is declared below
    g.input("X", "float(N)")
    g.op("O(i) = T(i) + 1", T="twice", name="inc")
    g.output("inc", name="Y")
    X = np.arange(13, dtype=np.float32)
    np.testing.assert_allclose(g.compile()(X), 2 * X + 1)


def test_untyped_inputs_take_their_readers_types_and_sizes(mlp):
    _, lowered, _ = mlp
    header = lowered.text.splitlines()[0]
    assert "float32(N, K) W1" in header and "float32(N) b1" in header


def test_annotated_output_type_survives_as_intermediate():
    g = polytc.Graph("widen")
    w = g.op("def widen(float(N) A) -> (double(N) D) { D(i) = A(i) }",
             A=g.input("X", "float(N)"))
    g.output(g.op("def sq(double(N) D) -> (O) { O(i) = D(i) * D(i) }", D=w), name="Y")
    X = np.full(7, 1e20, dtype=np.float32)
    Y = g.compile()(X)
    assert Y.dtype == np.float64
    np.testing.assert_allclose(Y, np.float64(1e20) ** 2)


def test_names_clashing_across_ops_are_renamed():
    # the op's index 'b' is also a graph input's name
    g = polytc.Graph("clash")
    r = g.op("def scale(float(N) A, float(N) b) -> (O) { O(i) = A(i) * b(i) }",
             A=g.input("X", "float(N)"), b=g.input("b", "float(N)"))
    g.output(g.op("def shift(float(N) A) -> (O) { O(b) = A(b) + 1 }", A=r), name="Y")
    X, b = np.arange(7, dtype=np.float32), np.full(7, 3, dtype=np.float32)
    np.testing.assert_allclose(g.compile()(X, b), X * b + 1)


# -- fusion across ops --------------------------------------------------------------
def test_mlp_producer_and_consumer_fuse(mlp):
    _, lowered, kernel = mlp
    assert _fused(kernel, lowered, "fc1", "relu", "fc2")
    assert "fused groups" in str(kernel.schedule_summary)


def test_conv_relu_pool_fuse(crp):
    _, lowered, kernel = crp
    assert _fused(kernel, lowered, "conv", "relu", "pool")


def test_no_fusion_keeps_ops_apart(mlp):
    graph, lowered, _ = mlp
    kernel = graph.compile(fuse="none")
    assert not _fused(kernel, lowered, "fc1", "relu")


# -- errors ---------------------------------------------------------------------------
def test_shape_mismatch_names_both_ops():
    g = polytc.Graph("residual")
    x = g.input("X", "float(N,C,H,W)")
    c = g.op(CONV, I=x, Wt=g.input("Wt", "float(C,C,KH,KW)"))
    g.output(g.op("def add(float(N,C,H,W) A, float(N,C,H,W) B) -> (O) "
                  "{ O(n,c,h,w) = A(n,c,h,w) + B(n,c,h,w) }", A=c, B=x))
    with pytest.raises(GraphError) as info:
        g.compile()
    assert "'conv'" in str(info.value) and "'add'" in str(info.value)
    assert set(info.value.ops) == {"conv", "add"}
    assert "H" in str(info.value) and "KH" in str(info.value)


def test_shape_mismatch_between_two_producers():
    g = polytc.Graph("m")
    h = g.op(FC, X=g.input("X", "float(B,K)"), W=g.input("W1", "float(N,K)"),
             b=g.input("b1", "float(N)"), name="fc1")
    g.output(g.op(FC, X=h, W=g.input("W2", "float(M,P)"), b=g.input("b2"), name="fc2"))
    with pytest.raises(GraphError, match=r"op 'fc2' needs size 'K'.*'fc1'.*\(N\).*\(P\)") \
            as info:
        g.lower()
    assert info.value.ops == ("fc1", "fc2")


def test_rank_mismatch_names_both_ops():
    g = polytc.Graph("r")
    c = g.op(CONV, I=g.input("X", "float(N,C,H,W)"), Wt=g.input("Wt", "float(M,C,KH,KW)"))
    g.output(g.op(RELU, I=c))
    with pytest.raises(GraphError, match="op 'relu' declares input 'I' with 2 dimensions.*"
                                         "op 'conv', which has 4") as info:
        g.lower()
    assert info.value.ops == ("conv", "relu")


def test_constant_extent_mismatch():
    g = polytc.Graph("c")
    h = g.op(RELU, I=g.input("X", "float(B,N)"))
    g.output(g.op("def first4(float(B,4) I) -> (O) { O(i,j) = I(i,j) }", I=h))
    with pytest.raises(GraphError, match="declares dimension 1 of input 'I'.*as 4.*is N"):
        g.lower()


def test_dtype_mismatch_names_both_ops():
    g = polytc.Graph("d")
    h = g.op("def widen(float(B,N) I) -> (double(B,N) O) { O(i,n) = I(i,n) }",
             I=g.input("X", "float(B,N)"))
    g.output(g.op(RELU, I=h))
    with pytest.raises(GraphError, match="op 'relu' declares input 'I' as float32.*op "
                                         "'widen', which is float64") as info:
        g.compile()
    assert info.value.ops == ("widen", "relu")


def test_dtype_mismatch_with_a_graph_input():
    g = polytc.Graph("d")
    g.output(g.op(RELU, I=g.input("X", "int32(B,N)")))
    with pytest.raises(GraphError, match="as float32.*graph input 'X', which is int32"):
        g.lower()


def test_cycle_rejected():
    g = polytc.Graph("loop")
    g.op(RELU, I="b", name="a")
    g.op(RELU, I="a", name="b")
    g.output("b")
    with pytest.raises(GraphError, match=r"cycle: (a -> b -> a|b -> a -> b)") as info:
        g.compile()
    assert set(info.value.ops) == {"a", "b"}


def test_self_loop_rejected():
    g = polytc.Graph("loop")
    g.output(g.op(RELU, I="self", name="self"))
    with pytest.raises(GraphError, match="cycle: self -> self"):
        g.lower()


def test_unknown_reference_rejected():
    g = polytc.Graph("u")
    g.output(g.op(RELU, I="nope"))
    with pytest.raises(GraphError, match="input 'I' of op 'relu' refers to 'nope'"):
        g.lower()


def test_unknown_op_input_rejected():
    g = polytc.Graph("u")
    with pytest.raises(GraphError, match="op 'relu' has no input 'Q'; its inputs are I"):
        g.op(RELU, Q=g.input("X"))


def test_missing_binding_rejected():
    g = polytc.Graph("u")
    with pytest.raises(GraphError, match="inputs W, b not bound"):
        g.op(FC, X=g.input("X"))


def test_unknown_output_rejected():
    g = polytc.Graph("u")
    r = g.op(RELU, I=g.input("X"))
    with pytest.raises(GraphError, match="op 'relu' has no output 'Z'; its outputs are O"):
        r["Z"]
    g.output("relu.Z")
    with pytest.raises(GraphError, match="no output 'Z'"):
        g.lower()
    g2 = polytc.Graph("u2")
    g2.input("X")
    g2.output("missing.O")
    with pytest.raises(GraphError, match="no op 'missing'"):
        g2.lower()


def test_structural_errors():
    g = polytc.Graph("s")
    x = g.input("X", "float(B,N)")
    g.op(RELU, I=x, name="dead")
    g.output(g.op(RELU, I=x, name="live"))
    with pytest.raises(GraphError, match="op 'dead' feeds no graph output"):
        g.lower()
    g = polytc.Graph("s")
    g.input("unused", "float(N)")
    g.output(g.op(RELU, I=g.input("X", "float(B,N)")))
    with pytest.raises(GraphError, match="graph input 'unused' is read by no op"):
        g.lower()
    g = polytc.Graph("s")
    x = g.input("X", "float(B,N)")
    with pytest.raises(GraphError, match="no outputs"):
        g.lower()
    with pytest.raises(GraphError, match="output 'X' is graph input 'X'"):
        g.output(x)
    g.output("X", name="Y")  # by name, found when lowering
    with pytest.raises(GraphError, match="output 'Y' is graph input 'X'"):
        g.lower()
    with pytest.raises(GraphError, match="declared twice"):
        g.input("X")
    with pytest.raises(GraphError, match="not a valid TC identifier"):
        polytc.Graph("two words")
    with pytest.raises(GraphError, match="must start with a TC type"):
        g.input("Y", "(B,N)")
    with pytest.raises(GraphError, match="another graph"):
        polytc.Graph("other").op(RELU, I=x)


def test_input_needing_a_type_is_reported():
    g = polytc.Graph("t")
    c = g.op(CONV, I=g.input("X", "float(N,C,H,W)"), Wt=g.input("Wt", "float(C,C,KH,KW)"))
    g.output(g.op("def add(float(N,C,H,W) A, float(N,C,H,W) B) -> (O) "
                  "{ O(n,c,h,w) = A(n,c,h,w) + B(n,c,h,w) }", A=c, B=g.input("R")))
    with pytest.raises(GraphError, match="graph input 'R' needs a type"):
        g.lower()


def test_error_in_op_text_points_into_the_op():
    text = "def relu(float(B,N) I) -> (O) {\n    O(i,n) = fmax(J(i,n), 0)\n}"
    g = polytc.Graph("e")
    with pytest.raises(UnknownNameError) as info:
        g.op(text, I=g.input("X"))
    error = info.value
    assert (error.line, error.column) == (2, text.splitlines()[1].index("J") + 1)
    assert error.source == text and "op 'relu'" in str(error)
    assert "fmax(J(i,n), 0)" in str(error) and "^" in str(error)


def test_combined_def_errors_map_back_to_the_op(crp):
    _, lowered, _ = crp
    start = lowered.text.index("2*h+kh")
    error = NonAffineIndexError("made up", Span(start, start + 6), lowered.text)
    mapped = lowered.map_error(error)
    assert isinstance(mapped, NonAffineIndexError)
    assert mapped.source == POOL and "op 'pool'" in str(mapped)
    assert POOL[mapped.span.start:mapped.span.end] == "2*h+kh"
    assert (mapped.line, mapped.column) == (2, POOL.splitlines()[1].index("2*h") + 1)
    header = NonAffineIndexError("in the header", Span(5, 6), lowered.text)
    assert isinstance(lowered.map_error(header), GraphError)


def test_graph_error_is_a_polytc_error():
    assert issubclass(GraphError, PolytcError)
    assert polytc.Graph is polytc.graph.Graph
    assert "Graph" in polytc.__all__


def test_lowered_text_is_a_tc_def(crp):
    _, lowered, kernel = crp
    assert lowered.text.startswith("def conv_relu_pool(float32(N, C, H, W) X, "
                                   "float32(M, C, KH, KW) Wt) -> (P) {")
    program = lowered.program()
    assert {t.name for t in program.temporaries} == {"conv_O", "relu_O"}
    assert lowered.op_of(program, program.statements[-1].name) == "pool"
    assert [op for op in lowered.ops] == ["conv", "relu", "pool"]
    assert RELU4 and CONV  # the ops of this graph


def test_scalar_inputs_and_sizes_bound_to_computed_extents():
    """A 0-d input, and sizes bound to a computed extent (``H - KH + 1``) used
    as values: global average pooling of a conv."""
    g = polytc.Graph("gap")
    c = g.op(CONV, I=g.input("X", "float(N,C,H,W)"), Wt=g.input("Wt", "float(M,C,KH,KW)"))
    mean = g.op("def gap(float(N,C,H,W) I, float s) -> (O) "
                "{ O(n,c) +=! I(n,c,h,w) * s / float(H * W) }", I=c, s=g.input("s", "float"))
    g.output(mean, name="G")
    assert "float((max(1 + H - KH, 0)) * (max(1 - KW + W, 0)))" in g.lower().text
    rng = np.random.default_rng(6)
    X, Wt = cases.conv_relu_pool_inputs(rng, N=2, C=3, H=9, W=7, M=4, KH=3, KW=2)
    windows = np.lib.stride_tricks.sliding_window_view(X, (3, 2), axis=(2, 3))
    expected = np.einsum("nchwij,mcij->nmhw", windows, Wt).mean(axis=(2, 3)) * 0.5
    kernel = g.compile(unroll=None)  # register tiling makes cc slow here; not under test
    np.testing.assert_allclose(kernel(X, Wt, 0.5), expected, rtol=1e-4, atol=1e-5)


def test_two_ops_from_one_text_have_sizes_of_their_own() -> None:
    """Two layers built from the same TC text shared the size name N of the
    untyped weights graph-wide (W2 became float[N, N]), so a valid graph was
    refused at call time (issue #12): sizes are linked by data flow only."""
    g = polytc.Graph("two_layers")
    h = g.op(FC, X=g.input("X", "float(B,D)"), W=g.input("W1"), b=g.input("b1"), name="l1")
    y = g.op(FC, X=h, W=g.input("W2"), b=g.input("b2"), name="l2")
    g.output(y, name="Y")
    kernel = g.compile()
    rng = np.random.default_rng(3)
    X, W1, b1 = (rng.standard_normal(s, dtype=np.float32) for s in [(4, 6), (5, 6), (5,)])
    W2, b2 = rng.standard_normal((3, 5), dtype=np.float32), rng.standard_normal(3, dtype=np.float32)
    np.testing.assert_allclose(kernel(X, W1, b1, W2, b2), (X @ W1.T + b1) @ W2.T + b2,
                               rtol=1e-5, atol=1e-5)
