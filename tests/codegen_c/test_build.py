"""Building generated C into shared libraries: the on-disk cache, the
environment (``CC``, ``CFLAGS``, ``POLYTC_CACHE_DIR``, ``POLYTC_NO_CACHE``),
compiler failures, concurrent processes, and the generated source itself.

Every test points ``POLYTC_CACHE_DIR`` at its own ``tmp_path`` so the user's
cache is never touched, and replaces the in-process front-cache memory with
an empty dict so each test starts from what the disk holds.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc import pipeline
from polytc.codegen_c import build as builder
from polytc.errors import CompileError, CompilerNotFoundError

REPO = Path(__file__).resolve().parents[2]

MATMUL = """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}"""

SCALE = """
def scale(float(N) A) -> (O) {
    O(i) = A(i) * 3.0
}"""


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """A private cache dir, a default environment and cold memory caches."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(cache))
    for name in ("POLYTC_NO_CACHE", "CC", "CFLAGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pipeline, "_front_memory", {})
    builder.toolchain.cache_clear()
    yield cache
    builder.toolchain.cache_clear()


@pytest.fixture
def compiler_calls(monkeypatch):
    """Counts every ``subprocess.run`` that polytc's builder makes."""
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        calls.append(list(command))
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(builder.subprocess, "run", counting_run)
    return calls


def _cold_memory(monkeypatch) -> None:
    """Forget everything polytc remembers in-process, keeping the disk cache."""
    monkeypatch.setattr(pipeline, "_front_memory", {})
    builder.toolchain.cache_clear()


def _check_matmul(kernel, rng=None, m=5, k=7, n=3) -> None:
    rng = rng or np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    np.testing.assert_allclose(kernel(a, b), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def _check_scale(kernel) -> None:
    a = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(kernel(a), a * 3)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# --------------------------------------------------------------------------
# the cache
# --------------------------------------------------------------------------

def test_cache_hit_reuses_library_and_runs_no_compiler(isolated_cache, compiler_calls,
                                                       monkeypatch):
    first = polytc.compile(MATMUL)
    assert compiler_calls, "a cold compile must run the compiler"
    _check_matmul(first)

    _cold_memory(monkeypatch)
    compiler_calls.clear()
    second = polytc.compile(MATMUL)
    assert compiler_calls == [], "a cache hit must not run the compiler (nor probe it)"
    assert second.library_path == first.library_path
    assert second.c_source == first.c_source
    _check_matmul(second, np.random.default_rng(1), m=4, k=9, n=6)


def test_cache_hit_within_one_process_runs_no_compiler(compiler_calls):
    first = polytc.compile(MATMUL)
    compiler_calls.clear()
    second = polytc.compile(MATMUL)
    assert compiler_calls == []
    assert second.library_path == first.library_path
    _check_matmul(second)


def test_different_text_gives_different_library():
    matmul = polytc.compile(MATMUL)
    scale = polytc.compile(SCALE)
    assert matmul.library_path != scale.library_path
    _check_matmul(matmul)
    _check_scale(scale)


def test_different_options_give_different_library():
    parallel = polytc.compile(MATMUL)
    serial = polytc.compile(MATMUL, parallel=False)
    assert "#pragma omp parallel" in parallel.c_source
    assert "#pragma omp parallel" not in serial.c_source  # simd stays: vectorize=True
    assert parallel.library_path != serial.library_path
    _check_matmul(serial)
    scalar = polytc.compile(MATMUL, parallel=False, vectorize=False)
    assert "#pragma omp" not in scalar.c_source
    _check_matmul(scalar)


def test_cache_files_live_under_cache_dir_and_not_in_the_source_tree(isolated_cache,
                                                                    tmp_path, monkeypatch):
    def artefacts() -> set[Path]:
        return {p for pattern in ("*.so", "*.c", "*.part", "*.o")
                for p in REPO.rglob(pattern) if ".git" not in p.parts}

    before = artefacts()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    kernel = polytc.compile(MATMUL)
    _check_matmul(kernel)

    assert artefacts() == before, "polytc wrote build artefacts into the source tree"
    assert _files(workdir) == set(), "polytc wrote files into the working directory"
    library = Path(kernel.library_path)
    assert library.is_file()
    assert library.resolve().is_relative_to(isolated_cache.resolve())
    written = _files(isolated_cache)
    assert any(p.suffix == ".so" for p in written)
    assert any(p.suffix == ".json" and "front" in p.parts for p in written)
    assert not any(p.name.endswith(".part") for p in written), "partial files left behind"


def test_no_cache_env_builds_correct_kernels_and_writes_nothing(isolated_cache, monkeypatch):
    monkeypatch.setenv("POLYTC_NO_CACHE", "1")
    kernel = polytc.compile(MATMUL)
    _check_matmul(kernel)
    assert not Path(kernel.library_path).resolve().is_relative_to(isolated_cache.resolve())
    assert _files(isolated_cache) == set(), "POLYTC_NO_CACHE=1 must not write the cache"


def test_no_cache_env_ignores_an_existing_cache(isolated_cache, monkeypatch, compiler_calls):
    polytc.compile(SCALE)
    _cold_memory(monkeypatch)
    monkeypatch.setenv("POLYTC_NO_CACHE", "1")
    compiler_calls.clear()
    kernel = polytc.compile(SCALE)
    assert compiler_calls, "POLYTC_NO_CACHE=1 must not read the cache"
    _check_scale(kernel)


def test_cache_false_option_builds_correct_kernels(isolated_cache, compiler_calls):
    cached = polytc.compile(MATMUL)
    compiler_calls.clear()
    kernel = polytc.compile(MATMUL, cache=False)
    _check_matmul(kernel)
    assert compiler_calls, "cache=False must rebuild the library"
    assert kernel.library_path != cached.library_path
    assert not Path(kernel.library_path).resolve().is_relative_to(isolated_cache.resolve())


def test_cache_false_option_writes_no_library_or_front_entry(isolated_cache):
    kernel = polytc.compile(SCALE, cache=False)
    _check_scale(kernel)
    written = _files(isolated_cache)
    assert not any(p.suffix in (".so", ".c") for p in written)
    assert not any("front" in p.parts for p in written)


def test_corrupt_front_cache_entry_is_ignored(isolated_cache, monkeypatch):
    polytc.compile(SCALE)
    for entry in (isolated_cache / "front").rglob("*.json"):
        entry.write_text("{not json")
    _cold_memory(monkeypatch)
    _check_scale(polytc.compile(SCALE))


def test_unusable_cache_dir_is_not_fatal(tmp_path, monkeypatch):
    """pipeline._front_store says a read-only cache is not fatal; neither may
    the toolchain probe nor the library build turn it into a raw OSError."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(blocker / "cache"))
    builder.toolchain.cache_clear()
    _check_scale(polytc.compile(SCALE))


# --------------------------------------------------------------------------
# CC and CFLAGS
# --------------------------------------------------------------------------

def test_missing_cc_keeps_c_source_and_raises_on_call(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent")
    builder.toolchain.cache_clear()
    try:
        kernel = polytc.compile(SCALE)
        assert kernel.c_source.strip()
        assert "polytc_scale" in kernel.c_source
        assert kernel.library_path is None
        with pytest.raises(CompilerNotFoundError) as info:
            kernel(np.ones(3, dtype=np.float32))
    finally:
        builder.toolchain.cache_clear()
    message = str(info.value)
    assert "/nonexistent" in message
    assert re.search(r"install|set CC|unset CC", message), \
        f"the message should say how to install a compiler or set CC: {message!r}"
    assert isinstance(info.value, CompileError)


def test_no_compiler_on_path_message_says_how_to_fix(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    builder.toolchain.cache_clear()
    try:
        with pytest.raises(CompilerNotFoundError) as info:
            builder.toolchain()
    finally:
        builder.toolchain.cache_clear()
    message = str(info.value)
    assert "install" in message and "CC" in message


def test_cc_is_respected(monkeypatch, compiler_calls):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    monkeypatch.setenv("CC", cc)
    builder.toolchain.cache_clear()
    kernel = polytc.compile(SCALE)
    assert builder.toolchain().command == (cc,)
    assert any(call[0] == cc and "-shared" in call for call in compiler_calls)
    _check_scale(kernel)


def test_cflags_are_respected(monkeypatch, compiler_calls):
    monkeypatch.setenv("CFLAGS", "-O1")
    builder.toolchain.cache_clear()
    chain = builder.toolchain()
    assert chain.flags == ("-O1",)
    assert not chain.openmp
    kernel = polytc.compile(MATMUL)
    builds = [call for call in compiler_calls if "-shared" in call and "-O1" in call]
    assert builds, "the library must be built with $CFLAGS"
    assert not any("-O3" in call for call in builds)
    _check_matmul(kernel)


def test_changing_cflags_gives_a_different_library(monkeypatch):
    default = polytc.compile(SCALE)
    monkeypatch.setenv("CFLAGS", "-O1")
    builder.toolchain.cache_clear()
    pipeline._front_memory.clear()
    other = polytc.compile(SCALE)
    assert other.library_path != default.library_path
    _check_scale(other)


# --------------------------------------------------------------------------
# compiler failures
# --------------------------------------------------------------------------

def test_compiler_failure_raises_compile_error(isolated_cache):
    with pytest.raises(CompileError) as info:
        builder.build("this is not C")
    error = info.value
    assert not isinstance(error, CompilerNotFoundError)
    assert isinstance(error.command, list) and error.command
    assert "-shared" in error.command
    assert error.stderr.strip()
    assert error.source_path is not None
    kept = Path(error.source_path)
    assert kept.is_file()
    assert kept.read_text() == "this is not C"
    assert error.source_path in str(error)
    written = _files(isolated_cache)
    assert not any(p.suffix == ".so" or p.name.endswith(".part") for p in written)


def test_compiler_failure_is_not_cached(isolated_cache):
    for _ in range(2):
        with pytest.raises(CompileError):
            builder.build("this is not C either")


# --------------------------------------------------------------------------
# concurrent processes
# --------------------------------------------------------------------------

KERNELS = {"matmul": MATMUL, "scale": SCALE}

CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import polytc
    name, text, go = sys.argv[1], sys.argv[2], sys.argv[3]
    deadline = time.monotonic() + 120
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.005)
    kernel = polytc.compile(text)
    rng = np.random.default_rng(os.getpid())
    if name == "matmul":
        a = rng.standard_normal((33, 17)).astype(np.float32)
        b = rng.standard_normal((17, 9)).astype(np.float32)
        np.testing.assert_allclose(kernel(a, b), a.astype(np.float64) @ b,
                                   rtol=1e-5, atol=1e-5)
    else:
        a = rng.standard_normal(101).astype(np.float32)
        np.testing.assert_array_equal(kernel(a), a * np.float32(3))
    print("ok", kernel.library_path)
""")


def _run_concurrently(tmp_path: Path, cache: Path, names: list[str]) -> list[str]:
    go = tmp_path / "go"
    env = dict(os.environ, POLYTC_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name in ("POLYTC_NO_CACHE", "CC", "CFLAGS"):
        env.pop(name, None)
    processes = [subprocess.Popen([sys.executable, "-c", CHILD, name, KERNELS[name], str(go)],
                                  env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for name in names]
    time.sleep(0.5)  # let them import; they all start compiling when `go` appears
    go.touch()
    libraries = []
    for name, process in zip(names, processes):
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name} process failed:\n{stdout}\n{stderr}"
        assert stdout.startswith("ok ")
        libraries.append(stdout.split(None, 1)[1].strip())
    return libraries


@pytest.mark.slow
def test_two_processes_compile_the_same_kernel_at_once(tmp_path, isolated_cache):
    libraries = _run_concurrently(tmp_path, isolated_cache, ["matmul", "matmul"])
    assert libraries[0] == libraries[1]
    assert Path(libraries[0]).is_file()
    assert not any(p.name.endswith(".part") for p in _files(isolated_cache))


@pytest.mark.slow
def test_four_processes_compile_two_kernels_at_once(tmp_path, isolated_cache):
    names = ["matmul", "scale", "matmul", "scale"]
    libraries = _run_concurrently(tmp_path, isolated_cache, names)
    assert libraries[0] == libraries[2]
    assert libraries[1] == libraries[3]
    assert libraries[0] != libraries[1]
    assert not any(p.name.endswith(".part") for p in _files(isolated_cache))
    # and the cache they left serves this process
    _check_matmul(polytc.compile(MATMUL))


# --------------------------------------------------------------------------
# the generated source
# --------------------------------------------------------------------------

def test_c_source_has_signature_comment_and_openmp_pragma():
    kernel = polytc.compile(MATMUL)
    source = kernel.c_source
    assert "int polytc_matmul(sizes..., inputs..., outputs..., int nthreads);" in source
    assert " * sizes: M, K, N" in source
    assert " * inputs: float32 A, float32 B" in source
    assert " * outputs: float32 C" in source
    assert re.search(r"#pragma omp (parallel )?for\b", source)
    assert re.search(r"int polytc_matmul\(int64_t M, int64_t K, int64_t N, "
                     r"const float \*restrict A, const float \*restrict B, "
                     r"float \*restrict C, int polytc_nthreads\)", source)


@pytest.mark.parametrize("text", [MATMUL, SCALE, "C(i,j) +=! A(i,k) * B(k,j)"])
def test_generated_c_compiles_standalone(tmp_path, text):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    kernel = polytc.compile(text)
    source = tmp_path / "kernel.c"
    source.write_text(kernel.c_source)
    result = subprocess.run([cc, "-O2", "-fopenmp", "-Wall", "-c", str(source),
                             "-o", str(tmp_path / "kernel.o")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kernel.o").is_file()


@pytest.mark.parametrize("text, args, expected", [
    # the def's C function polytc_<def> must not collide with a prelude helper
    ("def gather(float(N) T, int32(M) I) -> (O) { O(i) = T(I(i)) }",
     (np.arange(4, dtype=np.float32), np.array([3, 1], dtype=np.int32)),
     np.array([3, 1], dtype=np.float32)),
    ("def imod(int32(N) A) -> (O) { O(i) = A(i) % 3 }",
     (np.arange(-3, 4, dtype=np.int32),), np.arange(-3, 4) % 3),
], ids=["gather", "imod"])
def test_def_named_like_a_prelude_helper(text, args, expected):
    kernel = polytc.compile(text)
    np.testing.assert_array_equal(kernel(*args), expected)


def test_a_compiler_crash_is_retried_without_the_loop_vectorizer(isolated_cache, tmp_path,
                                                                  monkeypatch):
    """gcc 12's vectorizer crashed on a fuzzed time-tiled stencil (C fuzz seed
    9177): the kernel is built again without it instead of failing."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    fake = tmp_path / "crashing-cc"
    fake.write_text("#!/bin/sh\n"
                    "case \" $* \" in *\" -fno-tree-loop-vectorize \"*) exec " + cc + " \"$@\";; esac\n"
                    "echo 'x.c:1:1: internal compiler error: Segmentation fault' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    builder.toolchain.cache_clear()
    try:
        kernel = polytc.compile(SCALE, cache=False)
        _check_scale(kernel)
    finally:
        builder.toolchain.cache_clear()
    assert builder.crash_retry_flags("internal compiler error: in vect") == \
        ("-fno-tree-loop-vectorize",)
    assert builder.crash_retry_flags("PLEASE submit a bug report to ...") == ("-fno-vectorize",)
    assert builder.crash_retry_flags("error: expected ';'") is None
