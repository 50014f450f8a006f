"""The machine fingerprint that keys tuning records.

A tuned configuration is only as good as the machine it was measured on:
the same gemm tiles reached 0.95x OpenBLAS on one CPU and 0.35x on another.
:func:`machine_info` describes what changes the best options: architecture,
vendor, family and model, the ISA flags of a fixed list, usable cores, data
cache sizes and the C compiler with its flags.  The CPU's model name is kept
for people but is not hashed (virtual machines often report a generic one).
:func:`machine_hash` is the sha256 of the canonical JSON of the rest.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from polytc import config
from polytc.tiling.model import data_cache_sizes

#: ISA flags that change generated code or its speed (x86 and Arm names)
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
             "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "asimd", "sve", "sve2")
_CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def machine_info() -> dict[str, Any]:
    """What this machine is, as far as tuning cares (see the module docstring)."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", cpu.get("Features", "")).split())
    return {
        "arch": platform.machine(),
        "vendor": cpu.get("vendor_id", cpu.get("CPU implementer", "")),
        "family_model": "/".join(cpu.get(k, "") for k in ("cpu family", "model", "CPU part")),
        "model_name": cpu.get("model name", ""),
        "isa": sorted(flags.intersection(ISA_FLAGS)),
        "cores": _cores(),
        "cache": {f"l{level}": size for level, size in sorted(data_cache_sizes().items())},
        "compiler": _compiler(),
    }


def machine_hash(info: dict[str, Any] | None = None) -> str:
    """The fingerprint of ``info`` (default: this machine) without its free text."""
    info = dict(machine_info() if info is None else info)
    info.pop("model_name", None)
    return hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:16]


def _cpuinfo() -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo (Linux)."""
    values: dict[str, str] = {}
    try:
        text = _CPUINFO.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        if not line.strip():
            if values:
                break
            continue
        key, _, value = line.partition(":")
        values.setdefault(key.strip(), value.strip())
    return values


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def _compiler() -> dict[str, Any]:
    from polytc.codegen_c import build
    from polytc.errors import CompilerNotFoundError
    try:
        chain = build.toolchain()
    except CompilerNotFoundError:
        return {"command": None}
    return {"command": Path(chain.command[0]).name, "version": chain.version,
            "flags": list(chain.flags), "sanitize": config.sanitize()}
