"""Tuning through a Dask cluster on 127.0.0.1: compiles as tasks, the study
in Optuna's DaskStorage, measurements on the worker with POLYTC_MEASURE."""
from __future__ import annotations

import pytest

import polytc
from polytc import cli
from polytc.errors import PolytcError

pytest.importorskip("optuna", reason="the tuner needs Optuna: pip install 'polytc[tune]'")
distributed = pytest.importorskip("distributed", reason="Dask tuning needs distributed: "
                                  "pip install 'polytc[tune]'")
pytest.importorskip("optuna_integration.dask", reason="Dask tuning needs optuna-integration")

GEMM = "def gemm(float(M,K) A, float(K,N) B) -> (C) {\n    C(i, j) +=! A(i, k) * B(k, j)\n}\n"
SIZES = {"M": 23, "K": 17, "N": 33}


@pytest.fixture
def cluster(cache):
    # one worker thread in this process (the machine has 2 cores shared with others)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  host="127.0.0.1", protocol="tcp", dashboard_address=None,
                                  resources={"POLYTC_MEASURE": 1}) as local:
        yield local


def test_tune_on_a_local_cluster(cluster, tmp_path, capsys):
    journal = tmp_path / "study.journal"
    with distributed.Client(cluster) as client:
        result = polytc.tune(GEMM, sizes=SIZES, budget=3, threads=1, storage=str(journal),
                             dask_client=client, progress=False, max_time=0.05, rounds=1)
        assert result.new_trials == 3 and "through Dask" in result.storage
        # the journal behind the Dask storage holds the study: it resumes without Dask
        again = polytc.tune(GEMM, sizes=SIZES, budget=1, threads=1, storage=str(journal),
                            progress=False, max_time=0.05, rounds=1)
        assert again.trials == result.trials + 1
        assert polytc.compile(GEMM, sizes=SIZES).tuning is not None
    source = tmp_path / "gemm.tc"
    source.write_text(GEMM)
    status = cli.main(["tune", str(source), "--sizes", "M=23,K=17,N=33", "--budget", "1",
                       "--threads", "1", "--storage", str(journal), "--quiet",
                       "--scheduler-address", cluster.scheduler_address])
    out = capsys.readouterr().out
    assert status == 0 and "through Dask" in out


def test_a_cluster_without_a_measuring_worker_is_refused(cache):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None) as local, \
            distributed.Client(local) as client:
        with pytest.raises(PolytcError, match="POLYTC_MEASURE"):
            polytc.tune(GEMM, sizes=SIZES, budget=1, storage="memory", dask_client=client,
                        progress=False)
