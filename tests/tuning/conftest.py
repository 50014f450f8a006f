"""One compile cache for the tuning tests (kernels and the compiler probe
are reused), with its tuning directory (records, studies, miscompiles)
emptied before each test."""
from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("tuning-cache")


@pytest.fixture
def cache(_shared_cache, monkeypatch):
    monkeypatch.setenv("POLYTC_CACHE_DIR", str(_shared_cache))
    shutil.rmtree(_shared_cache / "tuning", ignore_errors=True)
    return _shared_cache
