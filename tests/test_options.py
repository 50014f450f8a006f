"""Options are an interface: ``polytc.compile``'s keyword arguments, each
checked; a misspelled name gets the nearest one; kernels pickle; tiny calls
stay on one thread."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import inspect
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc import pipeline
from polytc.codegen_c.calls import fast_path
from polytc.codegen_c.work import MIN_PARALLEL_WORK
from polytc.errors import OptionError

MATMUL = "C(i,j) +=! A(i,k) * B(k,j)"
SCALE = "def scale(float(N) A) -> (O) { O(i) = A(i) * 2.0 }"


def test_every_option_is_a_documented_keyword_of_compile_with_its_default() -> None:
    signature = inspect.signature(polytc.compile)
    doc = polytc.compile.__doc__ or ""
    for field in dataclasses.fields(polytc.Options):
        parameter = signature.parameters[field.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, field.name
        assert parameter.default == field.default, field.name
        assert f":arg {field.name}:" in doc, field.name


@pytest.mark.parametrize("name, nearest", [("tiles", "tile"), ("vectorise", "vectorize"),
                                           ("schedular", "scheduler"), ("thread", "threads"),
                                           ("fusion", "fuse"), ("cach", "cache")])
def test_a_misspelled_option_names_the_nearest(name: str, nearest: str) -> None:
    with pytest.raises(OptionError) as info:
        polytc.compile(MATMUL, **{name: 1})
    assert str(info.value) == f"unknown option '{name}'; did you mean '{nearest}'?"


def test_an_unknown_option_lists_them_all() -> None:
    with pytest.raises(OptionError, match="unknown option 'xyz'; the options are dtype, "):
        polytc.compile(MATMUL, xyz=1)


@pytest.mark.parametrize("options, phrase", [
    ({"parallel": "yes"}, "expected True or False"),
    ({"vectorize": 1}, "expected True or False"),
    ({"specialize": None}, "expected True or False"),
    ({"cache": "no"}, "expected True or False"),
    ({"scheduler": 1}, "expected one of pluto"),
    ({"scheduler": "polly"}, "not available"),
    ({"fuse": 3}, "statement groups"),
    ({"fuse": [["S0"], "S1"]}, "statement groups"),
    ({"schedule": 5}, "schedule tree or union map"),
    ({"tile": 0}, "positive ints"),
    ({"tile": "big"}, "give 'auto', None"),
    ({"tile": 2 ** 40}, "too large"),
    ({"unroll": (300, 4)}, "too large"),
    ({"unroll": True}, "positive int"),
    ({"threads": 0}, "positive int"),
    ({"threads": True}, "positive int"),
    ({"sizes": {"M": -1}}, "non-negative"),
    ({"sizes": 5}, "dict of size name"),
    ({"dtype": 3.5}, "not a type"),
    ({"dtype": "complex"}, "not a supported TC type"),
])
def test_values_are_checked(options: dict, phrase: str) -> None:
    with pytest.raises(OptionError, match=phrase):
        polytc.compile(MATMUL, **options)


def test_numpy_values_are_accepted() -> None:
    kernel = polytc.compile(MATMUL, dtype=np.float64, parallel=np.bool_(False),
                            threads=np.int64(2), tile=None, unroll=None)
    A = np.ones((3, 2))
    np.testing.assert_array_equal(kernel(A, A.T.copy()), A @ A.T)


def test_a_kernel_pickles_through_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = polytc.compile(SCALE, tile=None, threads=1)
    ran: list[str] = []
    real = pipeline.run_stages
    monkeypatch.setattr(pipeline, "run_stages", lambda *a: ran.append("stages") or real(*a))
    again = pickle.loads(pickle.dumps(kernel))
    assert not ran, "unpickling compiled again instead of using the cache"
    assert again.c_source == kernel.c_source and again._threads == 1
    np.testing.assert_array_equal(again(np.ones(3, np.float32)), [2, 2, 2])


def _call(kernel: polytc.Kernel) -> list[float]:
    return kernel(np.arange(3, dtype=np.float32)).tolist()


def test_a_kernel_goes_to_a_process_pool() -> None:
    kernel = polytc.compile(SCALE, schedule=None)
    context = multiprocessing.get_context("spawn")  # fork after OpenMP may hang
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(_call, kernel).result(timeout=120) == [0, 2, 4]


def test_tiny_calls_run_on_one_thread_unless_asked() -> None:
    kernel = polytc.compile(SCALE)
    kernel(np.ones(3, np.float32))  # loads the library
    plan = kernel._plan
    assert plan.tiny((10,)) and not plan.tiny((MIN_PARALLEL_WORK,))
    seen: list[int] = []

    def fake(n: int, a: object, o: object, threads: int) -> int:
        seen.append(threads)
        return 0
    call = fast_path(plan, kernel._ffi, fake, lambda: 8)
    for n in (10, MIN_PARALLEL_WORK + 1):
        plan.shapes((n,))
        call((np.ones(n, np.float32),), None, None)
        call((np.ones(n, np.float32),), 3, None)
    assert seen == [1, 3, 8, 3]


def test_a_specialised_kernel_builds_its_generic_library_only_when_used() -> None:
    kernel = polytc.compile(SCALE, specialize=True, tile=None)
    np.testing.assert_array_equal(kernel(np.ones(3, np.float32)), [2, 2, 2])
    assert callable(kernel._library), "the generic library was built, unused"
    np.testing.assert_array_equal(kernel(np.ones(4, np.float32), unchecked=True), [2] * 4)
    assert kernel.library_path is not None and not callable(kernel._library)


def test_a_specialised_kernel_generates_its_generic_c_only_when_asked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """specialize=True: compile() runs the front end alone (conv2d's generic C
    took 7 s of isl; its calls run kernels for their sizes)."""
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(tmp_path))
    generated: list[bool] = []
    real = pipeline.run_stages
    monkeypatch.setattr(pipeline, "run_stages", lambda *a: generated.append(True) or real(*a))
    text = "def sq(float(N,M) A) -> (B) { B(i,j) = A(i,j) * A(i,j) }"
    kernel = polytc.compile(text, specialize=True)
    assert generated == [] and kernel.sizes == ("N", "M") and kernel.outputs == ("B",)
    A = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(kernel(A), A * A)
    assert len(generated) == 1, "one compile: for the call's sizes"
    with pytest.raises(polytc.errors.ArgumentError):
        kernel(np.ones((3, 4), np.float64))
    source = kernel.c_source  # the generic C, on demand
    assert len(generated) == 2 and "int64_t N" in source
    assert source == polytc.compile(text).c_source and len(generated) == 3
    again = polytc.compile(text, specialize=True)  # its generic C is in the cache now
    assert again.c_source == source and len(generated) == 3


@pytest.mark.parametrize("text", [b"C(i) +=! A(i,j)", None, ["C(i) +=! A(i,j)"]])
def test_text_that_is_not_a_str_is_an_option_error(text: object) -> None:
    for options in ({}, {"specialize": True}):  # (it reached json's TypeError first)
        with pytest.raises(OptionError, match="TC text must be a str"):
            polytc.compile(text, **options)  # type: ignore[arg-type]


def test_replaced_checks_the_changes_and_keeps_the_checked_fields() -> None:
    """``dataclasses.replace`` checks every field again, and a checked tile
    reads as one level more (``((3, 5, 7),)`` is refused as a level); the C
    frontend's one-thread tiles of a 3-D stencil replace two options of a
    tiled call."""
    Options = polytc.Options
    options = Options(tile=(3, 5, 7), unroll=4, fuse=[["S0"], ["S1"]])
    changed = options.replaced(parallel=False, time_tiling="wavefront")
    assert changed == Options(tile=(3, 5, 7), unroll=4, fuse=[["S0"], ["S1"]], parallel=False,
                              time_tiling="wavefront")
    assert options.parallel and options.time_tiling == "auto"
    assert options.replaced(tile=[8, (2, 4)]).tile == (8, (2, 4))
    with pytest.raises(OptionError, match="time_tiling='rhombus'"):
        options.replaced(time_tiling="rhombus")
