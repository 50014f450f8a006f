"""Compiling C to a shared library, with an on-disk content-addressed cache.

The compiler is ``$CC`` (else ``cc``, ``gcc`` or ``clang`` on the PATH) with
``$CFLAGS`` (else ``-O3 -march=native -fopenmp``, dropping ``-march=native``
and then ``-fopenmp`` when a probe compile shows the compiler lacks them).
The probe's result is itself cached, so a cache hit runs no compiler.

A library's key hashes its C source, the compiler's identity, the flags and
polytc's version.  Libraries are written to a temporary file and renamed into
place, so a concurrent process never loads half a file, and each has a
``.sha256`` sidecar (size and hash, written first): a cached library that
does not match it (truncated, garbled, sidecar lost) is rebuilt, never loaded.

``POLYTC_SANITIZE=1`` adds :data:`SANITIZE_FLAGS` (a different toolchain, so
a different cache key).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from polytc import config
from polytc.errors import CompileError, CompilerNotFoundError

log = logging.getLogger("polytc.build")

CACHE_FORMAT = "1"
DEFAULT_FLAGS = ("-O3", "-march=native", "-fopenmp")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer")
_PROBE = "#include <math.h>\nint polytc_probe(int n) { int s = 0;\n#pragma omp parallel for reduction(+:s)\nfor (int i = 0; i < n; i++) s += i; return s + (int)sqrt((double)n); }\n"
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class Toolchain:
    """A C compiler command, its flags, and a line identifying its version."""

    command: tuple[str, ...]
    flags: tuple[str, ...]
    version: str

    @property
    def openmp(self) -> bool:
        return any(f.startswith("-fopenmp") or f == "-qopenmp" for f in self.flags)

    def key(self) -> str:
        return json.dumps([self.command, self.flags, self.version])


def cache_root() -> Path:
    """The cache directory; a private temporary one when caching is off or
    the cache directory cannot be created (with a warning)."""
    if not config.cache_enabled():
        return _private_root()
    root = config.cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _warn_unusable(str(root), str(error))
        return _private_root()
    return root


@lru_cache(maxsize=None)
def _warn_unusable(root: str, reason: str) -> None:
    log.warning("cannot use the cache directory %s (%s); using a temporary one. "
                "Set POLYTC_CACHE_DIR to a writable directory.", root, reason)


@lru_cache(maxsize=None)
def _private_root() -> Path:
    import atexit
    root = Path(tempfile.mkdtemp(prefix="polytc-nocache-"))
    atexit.register(shutil.rmtree, root, True)
    return root


@lru_cache(maxsize=None)
def toolchain(extra_flags: tuple[str, ...] = ()) -> Toolchain:
    """The compiler to use (resolved once per process and cached on disk)."""
    command = config.c_compiler()
    if command is None:
        found = next((shutil.which(c) for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
        if found is None:
            raise CompilerNotFoundError(
                "no C compiler found: install one (Debian/Ubuntu: 'apt-get install gcc'; "
                "macOS: 'xcode-select --install') or set CC. Kernel.c_source works without one.")
        command = [found]
    elif shutil.which(command[0]) is None:
        raise CompilerNotFoundError(
            f"CC={' '.join(command)!r} is not an executable on the PATH: set CC to a C "
            "compiler, unset it to use cc, or install one ('apt-get install gcc')")
    user_flags = config.c_flags()
    resolved = shutil.which(command[0]) or command[0]
    stat = os.stat(resolved)
    probe_key = _hash(json.dumps([command, resolved, stat.st_mtime_ns, user_flags, extra_flags]))
    probe_file = cache_root() / "toolchains" / f"{probe_key}.json"
    if config.cache_enabled() and probe_file.is_file():
        try:
            data = json.loads(probe_file.read_text())
            return Toolchain(tuple(data["command"]), tuple(data["flags"]), data["version"])
        except (OSError, ValueError, KeyError):
            pass
    version = _version(command)
    if user_flags is not None:
        flags = tuple(user_flags) + extra_flags
    else:
        flags = _working_flags(command, extra_flags)
    chain = Toolchain(tuple(command), flags, version)
    if config.cache_enabled():
        try:
            atomic_write(probe_file, json.dumps({"command": chain.command, "flags": chain.flags,
                                                 "version": chain.version}).encode())
        except OSError as error:
            log.warning("could not record the compiler probe in %s: %s", probe_file, error)
    return chain


def _version(command: list[str]) -> str:
    try:
        result = subprocess.run(command + ["--version"], capture_output=True, text=True,
                                timeout=60)
    except OSError as error:
        raise CompilerNotFoundError(f"cannot run the C compiler {command[0]!r}: {error}")
    return (result.stdout or result.stderr).splitlines()[0] if (result.stdout or result.stderr) \
        else command[0]


def _working_flags(command: list[str], extra: tuple[str, ...]) -> tuple[str, ...]:
    """The default flags, without those the compiler rejects."""
    candidates = [DEFAULT_FLAGS, ("-O3", "-fopenmp"), ("-O3", "-march=native"), ("-O3",)]
    with tempfile.TemporaryDirectory(prefix="polytc-probe-") as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text(_PROBE)
        for flags in candidates:
            cmd = command + list(flags) + list(extra) + ["-fPIC", "-shared", str(source), "-o",
                                                         str(Path(tmp) / "probe.so"), "-lm"]
            if subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0:
                if flags != DEFAULT_FLAGS:
                    log.warning("C compiler %s rejects some of %s; using %s", command[0],
                                " ".join(DEFAULT_FLAGS), " ".join(flags))
                return flags + extra
    return ("-O2",) + extra


def library_path(source: str, chain: Toolchain) -> Path:
    """Where the library for ``source`` lives in the cache (built or not)."""
    key = _hash("\0".join([CACHE_FORMAT, config.code_fingerprint(), chain.key(), source]))
    return cache_root() / "lib" / key[:2] / f"polytc_{key[2:26]}.so"


def env_flags() -> tuple[str, ...]:
    """Flags the environment adds to every build (``POLYTC_SANITIZE``)."""
    return SANITIZE_FLAGS if config.sanitize() else ()


def build(source: str, chain: Toolchain | None = None, *, use_cache: bool = True,
          force: bool = False) -> Path:
    """Compile ``source`` to a shared library (or find it, intact, in the cache).

    With ``use_cache=False`` the library is always rebuilt, in a private
    temporary directory; ``force`` rebuilds a cached one."""
    chain = chain or toolchain(env_flags())
    target = library_path(source, chain)
    if not use_cache:
        target = _private_root() / target.name
    elif not force and intact(target):
        return target
    with _lock_for(str(target)), \
            process_lock(target.with_suffix(".lock")) if use_cache else nullcontext():
        if use_cache and not force and intact(target):
            return target  # another process built it meanwhile
        _compile(source, chain, target)
    return target


@contextmanager
def process_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) against other
    processes: processes sharing a cache (parallel test workers) wait for
    one another's compile of the same kernel instead of repeating it.  The
    lock goes with the process; without ``fcntl`` (Windows) there is none."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")
    except OSError:  # a read-only cache: compile without waiting
        yield
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure(path: str | Path, source: str) -> Path:
    """``path`` if it is an intact library, else ``source`` rebuilt there."""
    target = Path(path)
    if intact(target):
        return target
    log.warning("the compiled kernel %s is missing or corrupted; rebuilding it", target)
    with _lock_for(str(target)):
        if not intact(target):
            _compile(source, toolchain(env_flags()), target)
    return target


def _compile(source: str, chain: Toolchain, target: Path) -> None:
    """Compile into ``target``: a temporary file, its sidecar, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    kept_source = target.with_suffix(".c")
    atomic_write(kept_source, source.encode())
    fd, partial = tempfile.mkstemp(prefix=target.stem, suffix=".so.part", dir=target.parent)
    os.close(fd)

    def command_with(extra: tuple[str, ...]) -> list[str]:
        return list(chain.command) + list(chain.flags) + list(extra) + [
            "-fPIC", "-shared", str(kept_source), "-o", partial, "-lm"]
    command = command_with(())
    log.info("compiling %s", " ".join(command))
    try:
        result = _run_compiler(command, kept_source)
        retry = crash_retry_flags(result.stderr) if result.returncode != 0 else None
        if retry is not None:
            # the compiler's own bug, not the kernel's: gcc 12's loop
            # vectorizer crashed on a fuzzed time-tiled stencil (seed 9177);
            # the kernel builds without it, slower, rather than not at all
            log.warning("the C compiler crashed on %s; building it again with %s", kept_source,
                        " ".join(retry))
            command = command_with(retry)
            result = _run_compiler(command, kept_source)
        if result.returncode != 0:
            blame = rejected_flags(chain)
            if blame is not None:  # the flags, not the kernel
                raise CompileError(blame, command, result.stderr)
            raise CompileError("the C compiler rejected the generated kernel", command,
                               result.stderr, str(kept_source))
        atomic_write(_sidecar(target), _fingerprint(Path(partial)).encode())
        os.replace(partial, target)
    finally:  # interrupted or failed: leave no partial file behind
        if os.path.exists(partial):
            os.unlink(partial)


def crash_retry_flags(stderr: str) -> tuple[str, ...] | None:
    """Where the compiler's messages tell of its own crash (not of an error
    in the source), the flags of a second try: its loop vectorizer off."""
    if "internal compiler error" in stderr:  # gcc
        return ("-fno-tree-loop-vectorize",)
    if "PLEASE submit a bug report" in stderr:  # clang
        return ("-fno-vectorize",)
    return None


def _run_compiler(command: list[str], source: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CompileError(f"could not run the C compiler: {error}", command, "",
                           str(source)) from error


@lru_cache(maxsize=16)
def rejected_flags(chain: Toolchain) -> str | None:
    """Why ``chain`` fails on a trivial C file, naming its flags and quoting the
    compiler's first error line; None when it compiles one (so a failure was
    the kernel's)."""
    with tempfile.TemporaryDirectory(prefix="polytc-flags-") as tmp:
        source = Path(tmp) / "flags.c"
        source.write_text("int polytc_flags_probe(int x) { return x + 1; }\n")
        command = list(chain.command) + list(chain.flags) + [
            "-fPIC", "-shared", str(source), "-o", str(Path(tmp) / "flags.so")]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()
             if line.strip()]
    first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
    origin = "CFLAGS" if config.c_flags() is not None else "the flags"
    return (f"the C compiler rejects its flags ({origin}: {' '.join(chain.flags)}), not the "
            f"kernel; it says: {first}")


def _sidecar(library: Path) -> Path:
    return library.with_name(library.name + ".sha256")


def _fingerprint(library: Path) -> str:
    data = library.read_bytes()
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}\n"


def intact(library: Path) -> bool:
    """Is ``library`` there, with the size and hash its sidecar records?"""
    try:
        expected = _sidecar(library).read_text()
        if int(expected.split()[0]) != library.stat().st_size:
            return False
        return _fingerprint(library) == expected
    except (OSError, ValueError, IndexError):
        return False


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
