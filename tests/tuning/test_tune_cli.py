"""``polytc tune``: every flag (the Dask one in test_tune_dask.py)."""
from __future__ import annotations

import json

import pytest

import polytc
from polytc import cli
from polytc.tuning import records

pytest.importorskip("optuna", reason="the tuner needs Optuna: pip install 'polytc[tune]'")

GEMM = "def gemm(float(M,K) A, float(K,N) B) -> (C) {\n    C(i, j) +=! A(i, k) * B(k, j)\n}\n"
SIZES = "M=21,K=19,N=35"



def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_tune_plot_export_import(cache, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    source = tmp_path / "gemm.tc"
    source.write_text(GEMM)
    journal, picture, exported = tmp_path / "s.journal", tmp_path / "p.png", tmp_path / "r.jsonl"
    status, out, err = run(capsys, "tune", str(source), "--sizes", SIZES, "--budget", "2",
                           "--threads", "1", "--storage", str(journal), "--plot", str(picture),
                           "--export", str(exported))
    assert status == 0, err
    assert "default options" in out and "2 this run" in out and str(journal) in out
    assert "[gemm M=21,K=19,N=35] 2/2" in err  # off a terminal: one line per batch
    assert journal.is_file() and picture.stat().st_size > 1000
    lines = exported.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["key"]["sizes"] == {"M": 21, "K": 19,
                                                                         "N": 35}
    # the same command resumes the study
    status, out, _ = run(capsys, "tune", str(source), "--sizes", SIZES, "--budget", "1",
                         "--threads", "1", "--storage", str(journal), "--quiet")
    assert status == 0 and "1 this run, " in out and "in the study" in out
    assert int(out.split("1 this run, ")[1].split()[0]) >= 3
    # another machine (here: another cache directory) imports the records
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert records.read() == []
    status, _, err = run(capsys, "tune", str(source), "--import", str(exported))
    assert status == 0 and "imported 1 record" in err
    kernel = polytc.compile(GEMM, sizes={"M": 21, "K": 19, "N": 35})
    assert kernel.tuning is not None


def test_time_limit_and_usage_errors(cache, tmp_path, capsys):
    source = tmp_path / "gemm.tc"
    source.write_text(GEMM)
    status, out, _ = run(capsys, "tune", str(source), "--sizes", SIZES, "--budget", "50",
                         "--time", "0.5", "--threads", "1", "--storage", "memory", "--quiet")
    assert status == 0 and int(out.split(" this run")[0].split()[-1]) < 50
    assert run(capsys, "tune", str(source))[0] == 2  # no --sizes
    status, _, err = run(capsys, "tune", str(source), "--export", str(tmp_path / "x"),
                         "--plot", str(tmp_path / "p.png"))
    assert status == 2 and "--plot needs" in err
    status, _, err = run(capsys, "tune", str(source), "--sizes", "M=4", "--budget", "1")
    assert status == 1 and "missing" in err
    assert run(capsys, "tune", str(source), "--sizes", SIZES, "--time", "-1")[0] == 2
