"""Building and running the C test programs: the original with the C
compiler as it is, polytc's rewrite of it with the same flags (plus
OpenMP), and their outputs compared byte for byte."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: the flags under which polytc's rewrite must compute the original's bits
FLAGS = ("-O3", "-ffp-contract=off", "-std=gnu99")


def compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    return cc


#: rewrites are built with this: every loop polytc made parallel runs in
#: parallel on 2 threads, however few its iterations, and a time-tiled region
#: runs its tiles on 1 thread, however small its data (the tests' sizes are small)
PARALLEL_ALWAYS = ("-DPOLYTC_MIN_PARALLEL_TRIPS=0", "-DPOLYTC_ORIGINAL_WITHIN=0")


def build(source: str, directory: Path, openmp: bool = True,
          extra: tuple[str, ...] = ()) -> Path:
    """``source`` compiled into an executable under ``directory`` (one per text)."""
    key = hashlib.sha256(source.encode() + bytes(openmp) + " ".join(extra).encode()
                         ).hexdigest()[:16]
    exe = directory / f"prog_{key}"
    if exe.exists():
        return exe
    path = directory / f"prog_{key}.c"
    path.write_text(source)
    command = [compiler(), *FLAGS, *extra, *(["-fopenmp"] if openmp else []), f"-I{HERE}",
               str(path),
               "-o", str(exe), "-lm"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}\n{source}"
    return exe


def run(exe: Path, sizes: tuple[int, ...], threads: int = 1) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run([str(exe), *map(str, sizes)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout
