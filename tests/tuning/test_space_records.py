"""The search space, the records file and compile()'s pick-up of records
(none of this needs Optuna)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import polytc
from polytc import frontend
from polytc.errors import OptionError
from polytc.options import Options
from polytc.tuning import records
from polytc.tuning.machine import machine_hash, machine_info
from polytc.tuning.space import SearchSpace

GEMM = "def gemm(float(M,K) A, float(K,N) B) -> (C) {\n    C(i, j) +=! A(i, k) * B(k, j)\n}\n"
SIZES = {"M": 37, "K": 29, "N": 45}


def space(text: str = GEMM, sizes: dict[str, int] = SIZES, threads: int = 1) -> SearchSpace:
    program = frontend.lower(frontend.select(frontend.parse(text), None, text), text)
    return SearchSpace.of(program, sizes, threads)


class FixedTrial:
    """An optuna.Trial stand-in answering each categorical with a given value."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def suggest_categorical(self, name: str, choices: list[object]) -> object:
        value = self.values.get(name, choices[0])
        assert value in choices, (name, value, choices)
        return value



def test_default_params_are_the_default_options():
    s = space()
    options = s.options(s.default_params())
    assert Options(**options) == Options()
    assert s.members == 3 and not s.fusion and not s.parallel
    assert space(threads=2).parallel


def test_params_to_options_levels_and_register_block():
    s = space()
    params = s.suggest(FixedTrial({"tiling": "2", "t1_0": 32, "t1_1": 32, "t1_2": 16,
                                   "t2_0": 8, "t2_1": 16, "t2_2": 16, "unroll": "block",
                                   "rows": 4, "width": s.widths[0], "pack": False}))
    options = s.options(params)
    assert options["tile"] == [(32, 32, 16), (8, 16, 16)]
    assert options["unroll"] == (4, s.widths[0]) and options["pack"] is False
    assert s.skip_reason(params) is None
    Options(**options)  # valid options


def test_skip_reasons():
    s = space(sizes={"M": 1024, "K": 1024, "N": 1024})
    registers = s.suggest(FixedTrial({"unroll": "block", "rows": 16, "width": s.widths[-1]}))
    assert "registers" in s.skip_reason(registers)
    inner = s.suggest(FixedTrial({"tiling": "2", "t1_0": 32, "t1_1": 32, "t1_2": 32,
                                  "t2_0": 64, "t2_1": 8, "t2_2": 8}))
    assert "inner tile" in s.skip_reason(inner)
    big = s.suggest(FixedTrial({"tiling": "1", "t1_0": 1024, "t1_1": 1024, "t1_2": 1024}))
    assert "L2" in s.skip_reason(big)
    # gemm's 64^3 tile touches 3 x 64 x 64 floats
    assert s.footprint((64, 64, 64)) == 3 * 64 * 64 * 4


def test_fusion_is_searched_for_several_statements():
    mlp = ("def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {\n"
           "    Y(i, n) +=! X(i, k) * W(n, k)\n    Y(i, n) = fmax(Y(i, n) + b(n), 0)\n}\n")
    s = space(mlp, {"B": 8, "K": 16, "N": 12})
    assert s.fusion and "fuse" in s.suggest(FixedTrial({"fuse": "max"}))


def test_pack_option_changes_the_code_and_keeps_results():
    sizes = {"M": 67, "K": 53, "N": 70}
    packed = polytc.compile(GEMM, sizes=sizes, tuned=False)
    plain = polytc.compile(GEMM, sizes=sizes, pack=False, tuned=False)
    assert packed.c_source != plain.c_source
    rng = np.random.default_rng(0)
    A, B = rng.random((67, 53), np.float32), rng.random((53, 70), np.float32)
    np.testing.assert_allclose(plain(A, B), A @ B, rtol=1e-4)


def record_for(options: dict, machine: str | None = None, min_s: float = 1e-3) -> dict:
    return {"v": 1, "key": records.make_key(GEMM, None, SIZES, None, machine or machine_hash()),
            "machine_info": machine_info(), "threads": 1,
            "options": records.options_to_json(options), "result": {"min_s": min_s}}


def test_compile_applies_the_exact_key_record(cache):
    tiles = {"tile": [(8, 16, 8)], "unroll": (2, 16)}
    records.append(record_for(tiles))
    records.append(record_for({"tile": [(4, 4, 4)]}, min_s=2e-3))  # slower: not chosen
    kernel = polytc.compile(GEMM, sizes=SIZES)
    assert kernel.tuning is not None and kernel.tuning["options"]["tile"] == [[8, 16, 8]]
    expected = polytc.compile(GEMM, sizes=SIZES, tuned=False, **tiles)
    assert kernel.c_source == expected.c_source
    A = np.random.default_rng(1).random((37, 29), np.float32)
    B = np.random.default_rng(2).random((29, 45), np.float32)
    np.testing.assert_allclose(kernel(A, B), A @ B, rtol=1e-4)
    # not applied: tuned=False, explicit options, other sizes, no sizes
    assert polytc.compile(GEMM, sizes=SIZES, tuned=False).tuning is None
    assert polytc.compile(GEMM, sizes=SIZES, tile=16).tuning is None
    assert polytc.compile(GEMM, sizes={**SIZES, "M": 38}).tuning is None
    assert polytc.compile(GEMM).tuning is None
    # specialize=True: each shape's kernel picks up its record
    sized = polytc.compile(GEMM, specialize=True)
    sized(A, B)
    assert sized._sized((37, 29, 45)).tuning is not None


def test_records_of_another_machine_only_when_asked(cache):
    records.append(record_for({"tile": [(8, 8, 8)]}, machine="0" * 16))
    assert polytc.compile(GEMM, sizes=SIZES).tuning is None
    kernel = polytc.compile(GEMM, sizes=SIZES, tuned="any-machine")
    assert kernel.tuning is not None and kernel.tuning["key"]["machine"] == "0" * 16
    with pytest.raises(OptionError):
        polytc.compile(GEMM, sizes=SIZES, tuned="sometimes")


def test_records_file_survives_a_torn_line_and_moves_between_files(cache, tmp_path):
    records.append(record_for({"tile": [(8, 8, 8)]}))
    with open(records.records_path(), "a") as handle:
        handle.write('{"v": 1, "key": {"kern')  # a crash mid-write
    records.append(record_for({"tile": [(16, 8, 8)]}))
    assert len(records.read()) == 2
    out = tmp_path / "out.jsonl"
    assert records.export_records(out, records.kernel_hash(GEMM, None)) == 2
    assert records.export_records(tmp_path / "none.jsonl", "nothing") == 0
    other = tmp_path / "other.jsonl"
    assert records.import_records(out, other) == 2
    assert records.import_records(out, other) == 0  # nothing twice
    assert [json.loads(line)["options"]["tile"] for line in other.read_text().splitlines()] \
        == [[[8, 8, 8]], [[16, 8, 8]]]


def test_import_polytc_does_not_import_the_tuner_engines():
    code = ("import sys, polytc; polytc.compile('C(i) = A(i) + 1', sizes={'I': 3}); "
            "print([m for m in ('optuna', 'distributed', 'dask', 'tqdm') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_tune_without_optuna_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    from polytc.errors import MissingExtraError
    with pytest.raises(MissingExtraError, match=r"pip install 'polytc\[tune\]'"):
        polytc.tune(GEMM, sizes=SIZES, budget=1)


def test_progress_bar_on_a_terminal_and_lines_elsewhere():
    import io
    from collections import Counter
    from polytc.tuning.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True
    pytest.importorskip("tqdm", reason="the progress bar uses tqdm (pip install 'polytc[tune]')")
    failures = Counter({"crash": 1, "wrong answer": 2})
    screen = Terminal()
    bar = Progress("gemm", 10, 2e9, stream=screen)
    bar.update(4, 0.01, 0.02, 0.03, failures, 1)
    bar.close()
    shown = screen.getvalue()
    assert "4/10" in shown and "\r" in shown
    assert "best 10.000 ms (200.0 GF/s, 2.00x default)" in shown and "last 30.000 ms" in shown
    assert "fails 3 (crash 1, wrong answer 2)" in shown and "skipped 1" in shown
    log = io.StringIO()
    Progress("gemm", 10, None, stream=log).update(4, 0.01, 0.02, None, Counter(), 0)
    assert log.getvalue().startswith("[gemm] 4/10  best 10.000 ms") and "\r" not in log.getvalue()


def test_seed_params_start_with_the_defaults_then_change_one_option_each():
    s = space()
    seeds = s.seed_params()
    assert seeds[0] == s.default_params()
    for seed in seeds[1:]:
        changed = {k for k in seed if seed[k] != seeds[0][k]}
        assert len(changed) == 1 and set(seed) == set(seeds[0]), seed
        Options(**s.options(s.suggest(FixedTrial(seed))))  # valid, askable parameters
    assert {"fuse"} not in [set(k for k in x if x[k] != seeds[0][k]) for x in seeds]  # one statement
    assert len({str(sorted(x.items())) for x in seeds}) == len(seeds)
