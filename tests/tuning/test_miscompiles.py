"""Replays every miscompile record in tests/tuning/miscompiles/ (the files
``polytc tune`` writes to <cache>/tuning/miscompiles.jsonl: a record sent in
becomes a regression test by copying it here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from polytc.tuning import miscompile

RECORDS = [(path.name, n, record) for path in sorted((Path(__file__).parent / "miscompiles")
                                                      .glob("*.jsonl"))
           for n, record in enumerate(miscompile.read(path))]


@pytest.mark.parametrize("name, line, record", RECORDS, ids=[f"{n}:{i}" for n, i, _ in RECORDS])
def test_replay_agrees_with_the_default_options(name, line, record):
    result = miscompile.replay(record)
    assert result.agrees, f"{name} line {line + 1}: error {result.error:.3g} > " \
                          f"{result.tolerance:.3g} with options {record['options']}"
