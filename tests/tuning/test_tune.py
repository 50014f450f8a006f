"""polytc.tune end to end on small kernels (Optuna; a few trials each).

Candidates really compile and run; timings are not asserted (tests never
time), only what the tuner does with them: trials, records, resume, and
failures (hangs, crashes, wrong results) that never stop it.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import polytc
from polytc.tuning import miscompile, records
from polytc.tuning.build import COMPILE_TIMEOUT, CRASH, WRONG_ANSWER

optuna = pytest.importorskip("optuna", reason="the tuner needs Optuna: pip install "
                             "'polytc[tune]'")

GEMM = "def gemm(float(M,K) A, float(K,N) B) -> (C) {\n    C(i, j) +=! A(i, k) * B(k, j)\n}\n"
SIZES = {"M": 37, "K": 29, "N": 45}
FAST = {"max_time": 0.05, "rounds": 1, "finalists": 2, "threads": 1, "progress": False}



def test_tune_records_and_resumes(cache, capsys):
    first = polytc.tune(GEMM, sizes=SIZES, budget=4, **{**FAST, "progress": True})
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[gemm")]
    assert lines and "best" in lines[-1] and "4/4" in lines[-1]  # one line per batch
    assert first.new_trials == 4 and first.trials >= 4
    assert first.default_time > 0 and first.time <= first.default_time
    assert (cache / "tuning" / "studies" / f"{first.study_name}.journal").is_file()
    saved = records.read()
    assert len(saved) == 1 and saved[0]["key"]["sizes"] == SIZES
    assert saved[0]["provenance"]["study"] == first.study_name
    # compile() picks the record up, and the kernel is right
    kernel = polytc.compile(GEMM, sizes=SIZES)
    assert kernel.tuning == saved[0]
    rng = np.random.default_rng(0)
    A, B = rng.random((37, 29), np.float32), rng.random((29, 45), np.float32)
    np.testing.assert_allclose(kernel(A, B), A @ B, rtol=1e-4)
    # the same call resumes the same study: trials add up, the best never gets worse
    second = polytc.tune(GEMM, sizes=SIZES, budget=3, **FAST)
    assert second.study_name == first.study_name
    assert second.trials == first.trials + 3
    best_first = min(v for _, v in first.history if v is not None)
    best_second = min(v for _, v in second.history if v is not None)
    assert best_second <= best_first
    assert len(records.read()) == 2


def test_a_hanging_compile_and_crashing_runs_do_not_stop_the_tuner(cache, tmp_path,
                                                                  monkeypatch):
    import tuning_fakes
    monkeypatch.setenv("POLYTC_TEST_MARKER", str(tmp_path / "hung"))
    result = polytc.tune(GEMM, sizes=SIZES, budget=3, storage="memory", compile_timeout=2,
                         sampler="random", build_function=tuning_fakes.build_hanging,
                         measure_function=tuning_fakes.measure_crashing, **FAST)
    assert result.failures[COMPILE_TIMEOUT] == 1
    assert result.failures[CRASH] >= 1
    assert result.new_trials == 3 and not result.tuned  # nothing beat the default


def test_a_wrong_result_is_a_replayable_miscompile(cache):
    import tuning_fakes
    result = polytc.tune(GEMM, sizes=SIZES, budget=3, storage="memory", sampler="random",
                         build_function=tuning_fakes.build_wrong, **FAST)
    assert result.failures[WRONG_ANSWER] >= 1 and not result.tuned
    found = miscompile.read(miscompile.path())
    assert len(found) >= 1
    record = found[0]
    assert record["text"] == GEMM and record["sizes"] == SIZES and record["error"] > 1e-3
    # replayed with the real compiler, the recorded options agree with the defaults
    assert miscompile.replay(record).agrees


def test_ctrl_c_keeps_the_best_so_far_and_the_study_resumes(cache, tmp_path):
    import tuning_fakes
    journal = tmp_path / "study.journal"
    result = polytc.tune(GEMM, sizes=SIZES, budget=8, storage=str(journal),
                         measure_function=tuning_fakes.measure_then_interrupt, **FAST)
    assert result.interrupted and result.new_trials < 8
    assert result.record["provenance"]["interrupted"]
    assert len(records.read()) == 1
    study = optuna.load_study(study_name=result.study_name,
                              storage=optuna.storages.JournalStorage(
                                  optuna.storages.journal.JournalFileBackend(str(journal))))
    states = {t.state for t in study.get_trials()}
    assert optuna.trial.TrialState.RUNNING not in states
    again = polytc.tune(GEMM, sizes=SIZES, budget=2, storage=str(journal), **FAST)
    assert again.trials == result.trials + 2 and not again.interrupted


def test_bad_arguments():
    from polytc.errors import OptionError
    with pytest.raises(OptionError, match="missing N"):
        polytc.tune(GEMM, sizes={"M": 4, "K": 4}, budget=1)
    with pytest.raises(OptionError, match="budget"):
        polytc.tune(GEMM, sizes=SIZES, budget=-1)
    with pytest.raises(OptionError, match="unknown argument"):
        polytc.tune(GEMM, sizes=SIZES, budget=1, bogus=3)


def test_plot(cache):
    pytest.importorskip("matplotlib", reason="pictures need matplotlib")
    result = polytc.tune(GEMM, sizes=SIZES, budget=2, storage="memory", **FAST)
    figure = result.plot()
    ax = figure.axes[0]
    assert ax.get_xlabel() == "trial" and "gemm" in ax.get_title()
    assert json.dumps(result.record)  # JSON-able
