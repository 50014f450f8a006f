"""The compile cache under real concurrent processes and corruption.

Several Python processes compile the same and different kernels into one
``POLYTC_CACHE_DIR`` at once: every one gets correct results from an intact
library (size and hash as its ``.sha256`` sidecar records) and no temporary
file is left.  Cache entries truncated, garbled, emptied, deleted or without
their sidecar, before a process compiles or between its compile and its
first call, are detected and rebuilt: correct results, never a crash.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from polytc.codegen_c import build as builder

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import numpy as np
    import polytc
    TEXTS = {
        "scale": "def scale(float(N) A) -> (O) { O(i) = A(i) * 3.0 }",
        "mm": "def mm(float(M,K) A, float(K,N) B) -> (C) { C(m,n) +=! A(m,k) * B(k,n) }",
        "blur": "def blur(float(N) A) -> (O) { T(i) = A(i) + A(i+1)\\n O(i) = T(i) + T(i+1) }",
        "smax": "def smax(float(N,D) I) -> (O) { mx(n) max=! I(n,d)\\n"
                "  e(n,d) = exp(I(n,d) - mx(n))\\n s(n) +=! e(n,d)\\n O(n,d) = e(n,d) / s(n) }",
    }
    def reference(name, x):
        if name == "scale":
            return x[0] * np.float32(3)
        if name == "mm":
            return x[0].astype(np.float64) @ x[1]
        if name == "blur":
            a = x[0].astype(np.float64)
            return a[:-2] + 2 * a[1:-1] + a[2:]
        e = np.exp(x[0] - x[0].max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    def inputs(name, rng):
        shapes = {"scale": [(50,)], "mm": [(9, 7), (7, 5)], "blur": [(40,)], "smax": [(6, 11)]}
        return [rng.standard_normal(s).astype(np.float32) for s in shapes[name]]
    names, go, mode = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    deadline = time.monotonic() + 120
    while go != "-" and not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.005)
    rng = np.random.default_rng(os.getpid())
    for name in names:
        text = TEXTS.get(name) or f"def u(float(N) A) -> (O) {{ O(i) = A(i) * {name}.0 }}"
        kernel = polytc.compile(text)
        if mode == "truncate-before-call":  # the cache breaks between compile and call
            Path(kernel.library_path).write_bytes(b"\\x7fELF")
        if mode == "delete-before-call":
            os.unlink(kernel.library_path)
        x = inputs(name, rng) if name in TEXTS else [rng.standard_normal(8).astype(np.float32)]
        want = reference(name, x) if name in TEXTS else x[0] * np.float32(float(name))
        np.testing.assert_allclose(kernel(*x), want, rtol=1e-5, atol=1e-5)
        print("LIB", name, kernel.library_path, flush=True)
    print("ok", flush=True)
""")
SHARED = ["scale", "mm", "blur", "smax"]


def _start(names: list[str], cache: Path, go: str = "-", mode: str = "-") -> subprocess.Popen:
    env = dict(os.environ, POLYTC_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name in ("POLYTC_NO_CACHE", "POLYTC_SANITIZE"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-c", CHILD, ",".join(names), go, mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> dict[str, str]:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0 and "ok" in stdout, f"child failed:\n{stdout}\n{stderr}"
    return {line.split()[1]: line.split()[2] for line in stdout.splitlines()
            if line.startswith("LIB ")}


def _run(names: list[str], cache: Path, mode: str = "-") -> dict[str, str]:
    return _finish(_start(names, cache, mode=mode))


def _check_cache(cache: Path) -> list[Path]:
    libraries = sorted(cache.rglob("*.so"))
    assert libraries, "no library in the cache"
    assert not [p for p in cache.rglob("*") if p.name.endswith(".part")], "partial files left"
    for library in libraries:
        assert builder.intact(library), f"{library} does not match its sidecar"
    return libraries


def test_processes_compile_same_and_different_kernels_at_once(tmp_path: Path) -> None:
    cache, go = tmp_path / "cache", tmp_path / "go"
    rng = random.Random(3)
    plans = [rng.sample(SHARED, len(SHARED)) + [str(n + 2)] for n in range(5)]
    processes = [_start(plan, cache, str(go)) for plan in plans]
    time.sleep(1.0)  # they import polytc, then all start compiling at once
    go.touch()
    results = [_finish(p) for p in processes]
    for name in SHARED:
        assert len({r[name] for r in results}) == 1, f"{name} built to several paths"
    unique = [r[plan[-1]] for r, plan in zip(results, plans)]
    assert len(set(unique)) == len(unique)
    assert len(_check_cache(cache)) == len(SHARED) + len(plans)


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif how == "garble":  # same size, different bytes: only the hash can tell
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 256])
                         + data[middle + 256:])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "no-sidecar":
        path.with_name(path.name + ".sha256").unlink()
    elif how == "delete":
        path.unlink()


def test_corrupted_entries_are_rebuilt_not_loaded(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run(SHARED, cache)
    originals = {name: Path(path).read_bytes() for name, path in first.items()}
    for name, how in zip(SHARED, ("truncate", "garble", "empty", "no-sidecar")):
        _corrupt(Path(first[name]), how)
    for front in list((cache / "front").rglob("*.json"))[:2]:
        front.write_text(front.read_text()[:40])
    second = _run(SHARED, cache)
    assert second == first
    for name, path in second.items():
        assert Path(path).read_bytes() == originals[name], f"{name} not rebuilt"
    _check_cache(cache)


def test_corrupted_entry_rebuilt_by_processes_at_once(tmp_path: Path) -> None:
    cache, go = tmp_path / "cache", tmp_path / "go"
    first = _run(["mm"], cache)
    _corrupt(Path(first["mm"]), "garble")
    processes = [_start(["mm"], cache, str(go)) for _ in range(4)]
    time.sleep(1.0)
    go.touch()
    assert all(_finish(p) == first for p in processes)
    _check_cache(cache)


@pytest.mark.parametrize("mode", ["truncate-before-call", "delete-before-call"])
def test_library_broken_between_compile_and_call(tmp_path: Path, mode: str) -> None:
    cache = tmp_path / "cache"
    _run(["scale", "mm"], cache, mode=mode)
    _check_cache(cache)


COUNTING = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import polytc
    from polytc import pipeline
    from polytc.codegen_c import build
    counts = {"stages": 0, "cc": 0}
    real_stages, real_compile = pipeline.run_stages, build._compile
    def stages(*args):
        counts["stages"] += 1
        time.sleep(0.5)  # long enough for the other process to want the same C
        return real_stages(*args)
    def compile_(*args):
        counts["cc"] += 1
        return real_compile(*args)
    pipeline.run_stages, build._compile = stages, compile_
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.005)
    kernel = polytc.compile("def once(float(N) A) -> (O) { O(i) = A(i) * 7.0 + 1.0 }")
    np.testing.assert_array_equal(kernel(np.ones(3, np.float32)), [8, 8, 8])
    print("COUNTS", counts["stages"], counts["cc"], flush=True)
""")


def test_processes_compile_each_kernel_once(tmp_path: Path) -> None:
    """Processes sharing a cache (parallel test workers) wait for one
    another: the C is generated once and compiled once."""
    go = tmp_path / "go"
    env = dict(os.environ, POLYTC_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("POLYTC_NO_CACHE", None)
    processes = [subprocess.Popen([sys.executable, "-c", COUNTING, str(go)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    time.sleep(1.0)
    go.touch()
    counts = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        counts.append([int(n) for n in stdout.split("COUNTS")[1].split()])
    assert sum(c[0] for c in counts) == 1 and sum(c[1] for c in counts) == 1, counts
