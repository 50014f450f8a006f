"""Miscompiles found by the tuner: recorded, sent in, replayed by tests.

When a candidate's output differs from the default build's beyond the
tolerance (:mod:`.measure`), the tuner appends one JSON line to
``<cache dir>/tuning/miscompiles.jsonl`` with everything needed to see it
again: the TC text, entry, sizes, dtype, the candidate's options, the seed
of the inputs, the thread count, the error measured and the machine.
:func:`replay` compiles the recorded options and the default options again,
runs both on the recorded inputs and reports the error: a test replays every
file of ``tests/tuning/miscompiles/`` (a record sent in becomes a regression
test by copying it there).
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytc.tuning import records


def path() -> Path:
    return records.tuning_dir() / "miscompiles.jsonl"


def write(text: str, entry: str | None, sizes: dict[str, int], dtype: str,
          options: dict[str, Any], threads: int, result: dict[str, Any],
          target: Path | None = None) -> Path:
    """Append a miscompile record; returns the file."""
    import polytc
    from polytc.tuning.machine import machine_info
    record = {"v": 1, "text": text, "entry": entry, "sizes": sizes, "dtype": dtype,
              "options": records.options_to_json(options), "seed": result.get("seed", 0),
              "threads": threads, "error": result.get("error"), "tol": result.get("tol"),
              "machine_info": machine_info(), "polytc": polytc.__version__,
              "time": datetime.datetime.now(datetime.timezone.utc).isoformat(
                  timespec="seconds")}
    return records.append_line(target or path(), record)


def read(source: Path) -> list[dict[str, Any]]:
    """The miscompile records of a file (lines that do not parse are skipped)."""
    found = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "text" in record and "options" in record:
            found.append(record)
    return found


@dataclass(frozen=True)
class Replay:
    """The recorded options' outputs against the default options' outputs."""

    error: float
    tolerance: float

    @property
    def agrees(self) -> bool:
        return self.error <= self.tolerance


def replay(record: dict[str, Any]) -> Replay:
    """Compile and run the record's options and the defaults on its inputs
    (in this process)."""
    import polytc
    from polytc import dtypes, pipeline
    from polytc.options import Options
    from polytc.tuning.measure import TOLERANCES, random_inputs, relative_error
    common = {"sizes": record["sizes"], "dtype": record["dtype"], "tuned": False}
    tuned = polytc.compile(record["text"], record["entry"], **common,
                           **records.options_from_json(record["options"]))
    default = polytc.compile(record["text"], record["entry"], **common)
    signature = pipeline.run_stages(record["text"], record["entry"],
                                    Options(sizes=record["sizes"], dtype=record["dtype"]))["c"]
    inputs = random_inputs(signature, record["sizes"], int(record.get("seed", 0)))
    got, expected = (tuned(*inputs, num_threads=record.get("threads")),
                     default(*inputs, num_threads=record.get("threads")))
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    error = max(relative_error(g, e) for g, e in zip(got, expected))
    tolerance = max(TOLERANCES.get(dtypes.from_numpy(e.dtype), 0.0) for e in expected)
    return Replay(error, tolerance)
