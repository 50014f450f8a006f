"""The Optuna side of tuning: storage, the study, its sampler, and :func:`run`.

One study per kernel, sizes, dtype, machine, thread count and search space,
named ``polytc-<hash>``; ``create_study(load_if_exists=True)`` makes running
the same tuning again resume it.  Storage (:func:`open_storage`): a journal
file under ``<cache dir>/tuning/studies/`` by default (no server; safe for
several processes on one host), any Optuna storage URL (PostgreSQL or MySQL
for many machines), a journal file path, ``"memory"``, or a storage object;
with a Dask client it is wrapped in ``optuna_integration.dask.DaskStorage``.
The journal has no heartbeat: a trial left RUNNING by a tuner of this host
that has died is failed when the study is opened again (:func:`sweep`).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from polytc.errors import MissingExtraError
from polytc.tuning import INSTALL
from polytc.tuning.records import tuning_dir

OWNER = "polytc_owner"


@dataclass(frozen=True)
class Settings:
    """Knobs of a tuning run beyond :func:`polytc.tune`'s arguments.

    :ivar workers: compile processes (default: cores - 1, at least 1; with
        Dask, compiles of a batch run on the cluster).
    :ivar batch: candidates asked of the sampler at a time (default: max(2, workers)).
    :ivar compile_timeout: seconds per compile (lowered after 20 compiles
        to 3x their 90th percentile, at least 10 s).
    :ivar sampler: ``"tpe"``, ``"random"`` or ``"auto"`` (random below 20 trials).
    :ivar seed: the sampler's seed (offset by the trials already in the study).
    :ivar finalists: candidates re-measured against the default at the end.
    :ivar rounds: interleaved re-measurement rounds.
    :ivar min_gain: the least relative gain that counts beyond noise.
    :ivar max_time: seconds of timing per measurement (after the first call).
    :ivar records: the records file (default ``<cache dir>/tuning/records.jsonl``).
    :ivar build_function, measure_function: what compiles and measures a
        candidate in the worker processes (tests substitute their own).
    """

    workers: int | None = None
    batch: int | None = None
    compile_timeout: float = 60.0
    sampler: str = "auto"
    seed: int = 0
    finalists: int = 5
    rounds: int = 3
    min_gain: float = 0.03
    max_time: float = 1.0
    records: Path | None = None
    build_function: Callable[..., Any] | None = None
    measure_function: Callable[..., Any] | None = None


def require_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingExtraError(f"polytc's tuner needs Optuna: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def study_name(key: dict[str, Any], threads: int, space_digest: str) -> str:
    data = json.dumps([key, threads, space_digest], sort_keys=True)
    return "polytc-" + hashlib.sha256(data.encode()).hexdigest()[:16]


def open_storage(storage: Any, name: str, dask_client: Any = None) -> tuple[Any, str]:
    """(Optuna storage, a description of where it is) for ``storage`` (see
    the module docstring)."""
    optuna = require_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    if storage is None:
        path = tuning_dir() / "studies" / f"{name}.journal"
        path.parent.mkdir(parents=True, exist_ok=True)
        opened, where = JournalStorage(JournalFileBackend(str(path))), str(path)
    elif storage == "memory":
        opened, where = optuna.storages.InMemoryStorage(), "memory"
    elif isinstance(storage, str) and "://" in storage:
        opened, where = optuna.storages.get_storage(storage), _hide_password(storage)
    elif isinstance(storage, (str, os.PathLike)):
        Path(storage).parent.mkdir(parents=True, exist_ok=True)
        opened, where = JournalStorage(JournalFileBackend(str(storage))), str(storage)
    else:
        opened, where = storage, type(storage).__name__
    if dask_client is not None:
        from polytc.tuning.remote import dask_storage
        opened = dask_storage(opened, dask_client)
        where += " (through Dask)"
    return opened, where


def _hide_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}"


def open_study(name: str, storage: Any, settings: Settings, budget: int) -> Any:
    """The study ``name`` in ``storage`` (created or resumed), its sampler
    seeded past the trials it already has."""
    optuna = require_optuna()
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                load_if_exists=True)
    existing = len(study.get_trials(deepcopy=False))
    kind = settings.sampler if settings.sampler != "auto" else \
        ("random" if budget + existing < 20 else "tpe")
    seed = settings.seed + existing
    study.sampler = optuna.samplers.RandomSampler(seed=seed) if kind == "random" else \
        optuna.samplers.TPESampler(seed=seed, n_startup_trials=10)
    return study


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep(study: Any) -> int:
    """Fail the RUNNING trials of tuners of this host that no longer run;
    returns how many."""
    optuna = require_optuna()
    host = socket.gethostname()
    swept = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        who = str(trial.user_attrs.get(OWNER, ""))
        where, _, pid = who.rpartition(":")
        if where == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            swept += 1
    return swept


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(text: str, sizes: dict[str, int], **arguments: Any) -> Any:
    """:func:`polytc.tune` (see there)."""
    require_optuna()
    from polytc.tuning.session import Session
    settings_fields = set(Settings.__dataclass_fields__)
    settings = Settings(**{k: v for k, v in arguments.items() if k in settings_fields})
    rest = {k: v for k, v in arguments.items() if k not in settings_fields}
    unknown = sorted(set(rest) - {"dtype", "entry", "budget", "time_budget", "threads",
                                  "storage", "dask_client", "progress"})
    if unknown:
        from polytc.errors import OptionError
        raise OptionError(f"polytc.tune: unknown argument(s) {', '.join(unknown)}")
    session = Session(text, sizes, settings=settings, **rest)
    return session.run()
