"""Autotuning: ``polytc.tune`` and ``polytc tune`` (Optuna, optional).

Layout, one concern per module:

* :mod:`~polytc.tuning.space`: the search space over :class:`polytc.Options`
  (tiles per band member and level, levels, register block, packing, fusion,
  scheduler), with the register and cache checks that skip a configuration
  before compiling it;
* :mod:`~polytc.tuning.build`: candidates compiled in worker processes with
  a time limit;
* :mod:`~polytc.tuning.measure`: the long-lived measuring process (checks
  each candidate against the default build, then times it);
* :mod:`~polytc.tuning.records`: the JSON-lines records that
  :func:`polytc.compile` picks up, and the machine fingerprint that keys them
  (:mod:`~polytc.tuning.machine`);
* :mod:`~polytc.tuning.study`: the Optuna study driver; :mod:`~polytc.tuning.
  remote`: building and measuring on a Dask cluster.

Only :mod:`~polytc.tuning.study` and :mod:`~polytc.tuning.remote` import
Optuna and Dask, inside functions: ``import polytc`` and ``polytc.compile``
never need them.  Without Optuna, :func:`tune` raises
:class:`~polytc.errors.MissingExtraError` naming ``pip install 'polytc[tune]'``.
(The package is ``polytc.tuning``, not ``polytc.tune``, so that the function
``polytc.tune`` is never shadowed by a submodule import.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polytc.tuning.result import TuningResult

INSTALL = "pip install 'polytc[tune]'"


def tune(text: str, sizes: dict[str, int], dtype: str | None = None, entry: str | None = None,
         budget: int = 100, time_budget: float | None = None, threads: int | None = None,
         storage: Any = None, dask_client: Any = None, progress: bool = True,
         **settings: Any) -> "TuningResult":
    """Tune ``text`` (its def ``entry``) for ``sizes`` and ``dtype``.

    Runs ``budget`` more trials (or until ``time_budget`` seconds) of an
    Optuna study stored in ``storage`` (default: a journal file under the
    cache directory; any Optuna storage URL or object, a journal file path,
    or ``"memory"``), measuring on ``threads`` threads (default: all cores).
    Running it again resumes the same study.  With ``dask_client``, compiles
    run on the cluster and measurements on workers that have the
    ``POLYTC_MEASURE`` resource.  Ctrl-C stops and keeps the best so far.
    The best configuration that beats the default options beyond the
    measured noise is written to the records file, which
    :func:`polytc.compile` reads.  ``settings``: see
    :class:`polytc.tuning.study.Settings`.
    """
    from polytc.tuning.study import run
    return run(text, sizes, dtype=dtype, entry=entry, budget=budget, time_budget=time_budget,
               threads=threads, storage=storage, dask_client=dask_client, progress=progress,
               **settings)


def __getattr__(name: str) -> Any:
    if name == "TuningResult":
        from polytc.tuning.result import TuningResult
        return TuningResult
    raise AttributeError(name)


__all__ = ["tune", "TuningResult", "INSTALL"]
