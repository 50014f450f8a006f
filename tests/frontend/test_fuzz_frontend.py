"""Frontend fuzzing: mutated and generated TC texts end in success or a
``polytc.errors`` exception (never another exception, an internal error, a
hang or a crash), plus the inputs the fuzzer found that once did not.

The long run is ``python -m polytc.testing.fuzz --frontend --seconds 60``.
"""
from __future__ import annotations

import random

import pytest

from polytc import frontend, poly
from polytc.errors import PolytcInternalError, TcSyntaxError
from polytc.frontend.parser import MAX_DEPTH, MAX_NESTING
from polytc.testing.frontend_fuzz import (corpus, degenerate, extreme, fuzz_frontend,
                                          mutate_bytes, mutate_tokens, run_one)


def test_fixed_seed_fuzz_run_finds_nothing() -> None:
    report = fuzz_frontend(seed=11, inputs=1500, timeout=10.0)
    print(report.summary())
    assert report.inputs == 1500
    assert report.accepted > 10, "the mutations should keep some programs valid"
    assert not report.bugs, report.summary()


def test_corpus_comes_from_the_test_programs() -> None:
    texts = corpus()
    assert len(texts) > 50
    assert all(run_one(text)[0] != "bug" for text in texts)


def test_every_degenerate_signature_is_accepted_or_a_tc_error() -> None:
    """Every combination of degenerate parameters, returns and bodies (no
    inputs, no outputs, no statements, zero extents, unwritten or repeated
    outputs) ends in success or a polytc error with a caret; what compiles
    builds a kernel that can be called."""
    import itertools

    import polytc
    from polytc.errors import PolytcError, SourceError
    from polytc.testing.frontend_fuzz import (DEGENERATE_BODIES, DEGENERATE_PARAMS,
                                              DEGENERATE_RETURNS)
    accepted = []
    for params, returns, body in itertools.product(DEGENERATE_PARAMS, DEGENERATE_RETURNS,
                                                   DEGENERATE_BODIES):
        text = f"def f({params}) -> ({returns}) {{ {body} }}"
        outcome, detail = run_one(text)
        assert outcome != "bug", f"{text!r}: {detail}"
        if outcome == "accepted":
            accepted.append(text)
    assert len(accepted) >= 10
    for text in accepted[::3]:  # the whole way, for a sample
        try:
            kernel = polytc.compile(text, cache=False)
        except PolytcError as error:
            assert isinstance(error, SourceError) and error.span is not None, (text, error)
            continue
        assert kernel.outputs, text
    with pytest.raises(SourceError, match="returns no output") as info:
        polytc.compile("def f(float(N) a) -> () { c(i) = a(i) }")
    assert "list it, as in '-> (c)'" in str(info.value) and "^~" in str(info.value)


def test_mutators_are_deterministic_and_change_the_text() -> None:
    texts = corpus()
    for seed in range(20):
        a, b = random.Random(seed), random.Random(seed)
        base = texts[seed % len(texts)]
        assert mutate_tokens(base, a) == mutate_tokens(base, b)
        assert mutate_bytes(base, a, texts[0]) == mutate_bytes(base, b, texts[0])
        assert extreme(a) == extreme(b)
        assert degenerate(a) == degenerate(b)


@pytest.mark.parametrize("text", [
    "O(i) = " + "(" * 5000 + "A(i)" + ")" * 5000,
    "O(i) = " + "exp(" * 3000 + "A(i)" + ")" * 3000,
    "O(i) = " + "-" * 5000 + "A(i)",
    "O(i) = " + "A(i) > 0.0 ? A(i) : " * 3000 + "0.0",
    "O(i) = " + " + ".join(["A(i)"] * 5000),
    "O(i) = " + " * ".join(["A(i)"] * (MAX_DEPTH + 1)),
], ids=["parentheses", "calls", "unary", "ternaries", "long-sum", "just-too-long"])
def test_deep_expressions_are_syntax_errors(text: str) -> None:
    with pytest.raises(TcSyntaxError, match="nested too deeply"):
        frontend.to_program(text)


def test_deep_but_allowed_expressions_lower() -> None:
    frontend.to_program("O(i) = " + " + ".join(["A(i)"] * (MAX_DEPTH - 1)))
    frontend.to_program("O(i) = " + "fabs(" * (MAX_NESTING - 3) + "A(i)" + ")" * (MAX_NESTING - 3))


@pytest.mark.parametrize("text", [
    "def f(float(999999999999999999999999999999) A) -> (O) { O(i) = A(i) }",
    "O(i) = A(i) where i in 0:99999999999999999999",
    "O(i) = A(i) * " + "9" * 5000,
    "def f(float(N) A) -> (O) { O(i) = A(i) * float(A.99999999999999999999) }",
], ids=["extent", "range", "5000-digits", "extent-index"])
def test_huge_integer_literals_are_syntax_errors(text: str) -> None:
    with pytest.raises(TcSyntaxError, match="too large"):
        frontend.to_program(text)


@pytest.mark.parametrize("name", ["and", "or", "not", "mod", "Min", "MAX", "floord", "ceild",
                                  "infty", "NaN", "rat", "true", "false", "implies", "Exists"])
def test_isl_keywords_as_sizes_and_indices(name: str) -> None:
    """Names that isl's parser reads as keywords never reach isl as text."""
    for text in (f"def f(float({name}) A) -> (O) {{ O(i) = A(i) }}",
                 f"def f(float(N) A) -> (O) {{ O({name}) = A({name}) }}",
                 f"def f(float(N, M) A) -> (O) {{ O({name}) +=! A({name}, j) }}"):
        try:
            program = frontend.to_program(text)
            poly.dependences(program)
            poly.pluto_schedule(program, poly.dependences(program), fuse="max")
        except PolytcInternalError as error:  # pragma: no cover - the bug itself
            pytest.fail(f"{name}: {error}")


def test_extent_syntax_without_spaces() -> None:
    """``A.0`` is the extent of A's dimension 0 (the lexer once read ``.0``
    as a float literal, so only ``A . 0`` parsed)."""
    import numpy as np
    from polytc.testing import interpret
    text = "def f(float(N) A) -> (O) { O(i) = A(i) * float(A.0) + 0.5 }"
    np.testing.assert_array_equal(interpret(text, np.ones(3, np.float32)), [3.5] * 3)


def test_many_statements_lower_in_reasonable_time() -> None:
    """Lowering was quadratic in isl work (every tensor against every
    statement); 300 statements now take well under a second or two."""
    import time
    text = "\n".join(f"T{k}(i) = A(i) + {k}.0" for k in range(300))
    start = time.monotonic()
    frontend.to_program(text)
    assert time.monotonic() - start < 20
