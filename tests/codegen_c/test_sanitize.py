"""Generated kernels under AddressSanitizer and UndefinedBehaviorSanitizer.

``POLYTC_SANITIZE=1`` builds every kernel with ``-fsanitize=address,undefined
-fno-sanitize-recover=all`` (its own cache key).  ASan must be the first
library of the process, so the corpus runs in a child Python started with
``LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libstdc++.so.6)"``.  The tests skip, saying
why, only when the compiler cannot build or preload sanitized code.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLAGS = "-O0 -fopenmp"  # the corpus compiles much faster than at -O3, and still checks


def _compiler() -> str | None:
    command = (os.environ.get("CC") or "").split() or \
        [next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), "cc")]
    return shutil.which(command[0])


def _asan_runtime(tmp: Path) -> tuple[str | None, str]:
    """(the libraries to preload, ASan's first, or None and why not)."""
    cc = _compiler()
    if cc is None:
        return None, "no C compiler"
    probe = tmp / "probe.c"
    probe.write_text("int f(int *a, int n) { return a[n] + n; }\n")
    result = subprocess.run([cc, "-fsanitize=address,undefined", "-fPIC", "-shared",
                             str(probe), "-o", str(tmp / "probe.so")],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return None, f"{cc} cannot build with -fsanitize=address,undefined: " \
            f"{result.stderr.strip()[:300]}"
    preload = []
    # libstdc++ too: islpy throws C++ exceptions, and ASan's __cxa_throw
    # interceptor needs the real one present when ASan starts
    for library in ("libasan.so", "libstdc++.so.6"):
        found = subprocess.run([cc, f"-print-file-name={library}"], capture_output=True,
                               text=True, timeout=60).stdout.strip()
        if not found or not os.path.isabs(found) or not os.path.exists(found):
            return None, f"{cc} does not say where {library} is (clang links its own runtime)"
        preload.append(os.path.realpath(found))
    return " ".join(preload), ""


@pytest.fixture(scope="module")
def asan(tmp_path_factory: pytest.TempPathFactory) -> str:
    path, reason = _asan_runtime(tmp_path_factory.mktemp("asan-probe"))
    if path is None:
        pytest.skip(f"sanitizers unavailable: {reason}")
    return path


def _run(script: str, asan: str, cache: Path | None,
         timeout: int = 900) -> subprocess.CompletedProcess:
    """``script`` in a sanitized child; ``cache`` None: the session's cache
    (sanitized libraries have keys of their own, the generated C is shared)."""
    env = dict(os.environ, POLYTC_SANITIZE="1", LD_PRELOAD=asan, CFLAGS=FLAGS,
               ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    if cache is not None:
        env["POLYTC_CACHE_DIR"] = str(cache)
    env.pop("POLYTC_NO_CACHE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(REPO / "tests"),
                                                      env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


HARNESS = """
    from polytc.codegen_c import build
    assert "-fsanitize=address,undefined" in build.toolchain(build.env_flags()).flags
    import cffi
    ffi = cffi.FFI()
    ffi.cdef("int poke(int n);")
    source = r'''
    #include <stdlib.h>
    #include <limits.h>
    int poke(int n) {
        if (n == 1) {  /* volatile: kept by the optimiser, missed by UBSan's object-size check */
            volatile int *volatile a = malloc(4 * sizeof(int));
            a[4 + n - 1] = 1; free((void *)a); return 0; }
        int big = INT_MAX - 1; return big + n;  /* n == 2: signed overflow */
    }
    '''
    lib = ffi.dlopen(str(build.build(source)))
    print("calling", flush=True)
    lib.poke(0)
    lib.poke(%d)
    print("survived", flush=True)
"""


@pytest.mark.parametrize("case, report", [(1, "AddressSanitizer: heap-buffer-overflow"),
                                          (2, "signed integer overflow")],
                         ids=["asan", "ubsan"])
def test_sanitized_build_catches_errors(asan: str, tmp_path: Path, case: int,
                                        report: str) -> None:
    """The mode is really on: an out-of-bounds write and a signed overflow
    in a library built like a kernel stop the process with a report."""
    result = _run(HARNESS % case, asan, tmp_path / "cache")
    assert "calling" in result.stdout, result.stderr[-3000:]
    assert result.returncode != 0 and "survived" not in result.stdout, result.stdout
    assert report in result.stderr, result.stderr[-3000:]


#: the corpus runs in shards, one sanitized child each, so that parallel test
#: workers share it
SHARDS = 4
CORPUS = """
    import numpy as np
    import test_kernels as tk
    for c in tk.CASES[%d::%d]:
        kernel = tk.kernel_for(c)
        for which in (0, 1, 0):
            inputs = tk.inputs_for(c, which)
            tk.check(c, kernel(*inputs.values()), tk.expected(c, inputs), f" [sizes {which}]")
        print("LIB", kernel.library_path, flush=True)
    print("corpus clean", flush=True)
"""


@pytest.mark.parametrize("shard", range(SHARDS))
def test_kernel_corpus_runs_clean_under_sanitizers(asan: str, shard: int) -> None:
    """Every kernel of tests/test_kernels.py (a quarter per shard), at both
    size sets, built with ASan and UBSan: correct results and no report."""
    result = _run(CORPUS % (shard, SHARDS), asan, None)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "corpus clean" in result.stdout, output[-5000:]
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, \
        result.stderr[-5000:]
    libraries = {line.split(None, 1)[1] for line in result.stdout.splitlines()
                 if line.startswith("LIB ")}
    assert libraries and all(b"__asan" in Path(lib).read_bytes() for lib in libraries), \
        "the kernels were not built with the sanitizers"
