"""Tuning records: a JSON-lines file that :func:`polytc.compile` reads.

Each line is one tuned result (see :func:`make_record`)::

    {"v": 1,
     "key": {"kernel": <sha256 of the TC text, whitespace-normalised, and entry>,
             "entry": "gemm", "sizes": {"M": 1024, ...}, "dtype": "float32",
             "machine": <machine_hash()>, "polytc": "0.1.0"},
     "machine_info": {...}, "threads": 1,
     "options": {"tile": [[64, 256, 128]], "unroll": [12, 32], ...},
     "result": {"min_s": ..., "median_s": ..., "samples": ..., "spread": ..., "gflops": ...},
     "baseline": {"min_s": ..., "spread": ...}, "check": {...}, "provenance": {...}}

The file is ``<cache dir>/tuning/records.jsonl``; lines are appended with one
``write()`` under an exclusive ``flock``, and a reader skips lines that do
not parse (a crash mid-write).  ``polytc tune --export/--import`` move
records between machines.

:func:`apply` is the hook of :func:`polytc.compile`: when the sizes are known
(``sizes=``, or each shape of ``specialize=True``), ``tuned`` is not False and
no transformation option differs from its default, the best record with the
exact key (this machine's fingerprint, unless ``tuned="any-machine"``)
supplies the transformation options.  It never imports Optuna; it reads the
file only when its modification time changed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from polytc import dtypes
from polytc.options import Options

log = logging.getLogger("polytc.tuning")

VERSION = 1
#: the options a tuning record sets; giving any of them to compile() skips records
TUNED_FIELDS = ("scheduler", "fuse", "schedule", "tile", "unroll", "vectorize", "parallel",
                "pack", "time_tiling")
_DEFAULTS = Options()
_index: dict[str, tuple[float, int, list[dict[str, Any]]]] = {}


def tuning_dir() -> Path:
    """``<cache dir>/tuning``: records, studies, miscompiles."""
    from polytc.codegen_c import build
    return build.cache_root() / "tuning"


def records_path() -> Path:
    return tuning_dir() / "records.jsonl"


def kernel_hash(text: str, entry: str | None) -> str:
    """The kernel part of a key: TC text with whitespace runs made one space."""
    canonical = " ".join(text.split())
    return hashlib.sha256(json.dumps([canonical, entry]).encode()).hexdigest()[:24]


def make_key(text: str, entry: str | None, sizes: dict[str, int], dtype: str | None,
             machine: str) -> dict[str, Any]:
    import polytc
    return {"kernel": kernel_hash(text, entry), "entry": entry,
            "sizes": {name: int(sizes[name]) for name in sorted(sizes)},
            "dtype": dtypes.canonical(dtype or dtypes.FLOAT32), "machine": machine,
            "polytc": polytc.__version__}


# -- reading and writing --------------------------------------------------------
@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no lock
            pass
        yield


def append(record: dict[str, Any], path: Path | None = None) -> Path:
    """Append ``record`` as one line of the records file (``path``, default
    :func:`records_path`); returns the path."""
    return append_line(path or records_path(), record)


def append_line(path: Path, record: dict[str, Any]) -> Path:
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    with locked(path.with_name(path.name + ".lock")):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn last line (a crash mid-write) stays apart
            os.write(fd, line)
        finally:
            os.close(fd)
    return path


def read(path: Path | None = None) -> list[dict[str, Any]]:
    """The records of ``path`` (default: the records file); lines that do
    not parse as a record are skipped."""
    path = path or records_path()
    try:
        stat = path.stat()
    except OSError:
        return []
    cached = _index.get(str(path))
    if cached is not None and cached[:2] == (stat.st_mtime, stat.st_size):
        return cached[2]
    found: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), dict) \
                    and isinstance(record.get("options"), dict):
                found.append(record)
    _index[str(path)] = (stat.st_mtime, stat.st_size, found)
    return found


def import_records(source: Path, path: Path | None = None) -> int:
    """Append the records of the file ``source`` that the records file lacks;
    returns how many were added."""
    have = {json.dumps(r, sort_keys=True) for r in read(path)}
    added = 0
    for record in read(source):
        if json.dumps(record, sort_keys=True) not in have:
            append(record, path)
            added += 1
    return added


def export_records(target: Path, kernel: str | None = None,
                   path: Path | None = None) -> int:
    """Write the records (of the kernel hash ``kernel``, or all) to ``target``
    as JSON lines; returns how many."""
    chosen = [r for r in read(path) if kernel is None or r["key"].get("kernel") == kernel]
    target.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in chosen),
                      encoding="utf-8")
    return len(chosen)


# -- choosing a record -------------------------------------------------------------
def best(key: dict[str, Any], any_machine: bool = False, threads: int | None = None,
         path: Path | None = None) -> dict[str, Any] | None:
    """The record for ``key`` with the lowest time: of this machine (or any,
    preferring this one), preferring records tuned with ``threads``."""
    fields = ("kernel", "entry", "sizes", "dtype", "polytc")
    matches = [r for r in read(path) if all(r["key"].get(f) == key[f] for f in fields)
               and (any_machine or r["key"].get("machine") == key["machine"])]
    if not matches:
        return None

    def rank(pair: tuple[int, dict[str, Any]]) -> tuple[bool, bool, float, int]:
        position, record = pair
        return (record["key"].get("machine") != key["machine"],
                threads is not None and record.get("threads") != threads,
                float(record.get("result", {}).get("min_s", float("inf"))), -position)
    return min(enumerate(matches), key=rank)[1]


def apply(text: str, entry: str | None, opts: Options) -> tuple[Options, dict[str, Any] | None]:
    """``opts`` with the options of the best exact-key record, and that
    record; ``(opts, None)`` when none applies (see the module docstring)."""
    if opts.sizes is None or opts.tuned is False or not isinstance(text, str) \
            or any(getattr(opts, f) != getattr(_DEFAULTS, f) for f in TUNED_FIELDS):
        return opts, None
    path = records_path()
    if not path.exists():
        return opts, None
    from polytc import config
    from polytc.tuning.machine import machine_hash
    key = make_key(text, entry, dict(opts.sizes), opts.dtype, machine_hash())
    record = best(key, opts.tuned == "any-machine", opts.threads or config.default_threads(),
                  path)
    if record is None:
        return opts, None
    if record["key"]["machine"] != key["machine"]:
        log.warning("polytc: using options tuned on another machine (tuned='any-machine'): %s",
                    record.get("machine_info", {}).get("model_name", "unknown"))
    return opts.replaced(**options_from_json(record["options"])), record


def options_from_json(options: dict[str, Any]) -> dict[str, Any]:
    """Compile options as a record stores them (JSON lists) -> Options fields."""
    result: dict[str, Any] = {}
    for name, value in options.items():
        if name not in TUNED_FIELDS:
            continue
        if name == "tile" and isinstance(value, list):
            value = [tuple(level) if isinstance(level, list) else level for level in value]
        elif name == "unroll" and isinstance(value, list):
            value = tuple(value)
        elif name == "fuse" and isinstance(value, list):
            value = tuple(tuple(group) for group in value)
        result[name] = value
    return result


def options_to_json(options: dict[str, Any]) -> dict[str, Any]:
    """The transformation options of ``options`` as JSON-able values."""
    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value
    return {name: plain(options[name]) for name in TUNED_FIELDS if name in options}
