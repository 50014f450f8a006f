"""One tuning run: the search loop, the final re-measurement and the record.

The loop asks the sampler for a batch of configurations, skips those that
cannot fit (told to Optuna as infeasible, not compiled), compiles the rest
in parallel, then checks and measures them one at a time (compiles and
measurements never overlap), and tells Optuna each minimum time or failure
kind.  A configuration whose generated C was measured before (this run or
an earlier one of the study) gets the stored time.  At the end the best
``finalists`` and the default options are re-measured in ``rounds``
interleaved rounds, each on other random inputs; the winner is kept only
if its time times (1 + noise) is below the default's, where noise is the
largest of ``min_gain`` and the spread of either's per-round minima.
Ctrl-C during the search stops it; the best measured so far is kept by the
same rule on the search's own measurements.
"""
from __future__ import annotations

import datetime
import logging
import random
import time
from collections import Counter
from typing import Any

from polytc import config, dtypes, frontend
from polytc.errors import OptionError, PolytcError
from polytc.tuning import records
from polytc.tuning.build import WRONG_ANSWER, BuildRequest, Built, CompilePool, build_candidate
from polytc.tuning.machine import machine_hash, machine_info
from polytc.tuning.measure import MeasureJob, Runner, measure_job
from polytc.tuning.progress import Progress
from polytc.tuning.result import TuningResult
from polytc.tuning.space import SearchSpace
from polytc.tuning.study import (OWNER, Settings, open_storage, open_study, owner,
                                 require_optuna, study_name, sweep)

log = logging.getLogger("polytc.tuning")
OK = ("ok", "slow")


class Session:
    """State of one :func:`polytc.tune` call (see the module docstring)."""

    def __init__(self, text: str, sizes: dict[str, int], *, settings: Settings,
                 dtype: str | None = None, entry: str | None = None, budget: int = 100,
                 time_budget: float | None = None, threads: int | None = None,
                 storage: Any = None, dask_client: Any = None, progress: bool = True) -> None:
        _check_arguments(budget, time_budget, threads)
        self.text, self.entry, self.settings = text, entry, settings
        self.dtype = dtypes.canonical(dtype or dtypes.FLOAT32)
        definition = frontend.select(frontend.parse(text), entry, text)
        program = frontend.lower(definition, text, dtype=self.dtype)
        missing = [p for p in program.params if p not in sizes]
        unknown = [s for s in sizes if s not in program.params]
        if missing or unknown:
            raise OptionError(f"sizes: def '{program.name}' has sizes "
                              f"{', '.join(program.params) or 'none'}; "
                              + (f"missing {', '.join(missing)}" if missing else
                                 f"unknown {', '.join(unknown)}"))
        self.sizes = {name: int(sizes[name]) for name in program.params}
        self.budget, self.time_budget = budget, time_budget
        self.threads = threads or config.default_threads()
        self.storage_arg, self.client, self.show = storage, dask_client, progress
        self.space = SearchSpace.of(program, self.sizes, self.threads)
        self.key = records.make_key(text, entry, self.sizes, self.dtype, machine_hash())
        self.name = study_name(self.key, self.threads, self.space.digest())
        self.label = f"{program.name} " + ",".join(f"{k}={v}" for k, v in self.sizes.items())
        self.seen: dict[str, dict[str, Any]] = {}
        self.builds: dict[str, Built] = {}
        self.failures: Counter[str] = Counter()
        self.skipped = self.duplicates = self.done = 0
        self.pending: list[Any] = []
        self.best: float | None = None
        self.last: float | None = None

    # -- the run -------------------------------------------------------------
    def run(self) -> TuningResult:
        start = time.monotonic()
        storage, self.where = open_storage(self.storage_arg, self.name, self.client)
        study = open_study(self.name, storage, self.settings, self.budget)
        sweep(study)
        self._remember(study)
        self._enqueue_seeds(study)
        builder, runner = self._machines()
        progress = Progress(self.label, self.budget, self.space.flops() or None, self.show)
        interrupted = False
        try:
            self.default = self._default(builder, runner)
            try:
                self._search(study, builder, runner, progress, start)
                final = self._finalize(study, builder, runner)
            except KeyboardInterrupt:
                interrupted = True
                self._fail_pending(study)
                final = self._best_measured(study)
        finally:
            progress.close()
            builder.close()
            runner.close()
        record = self._record(study, final, interrupted, time.monotonic() - start)
        records.append(record, self.settings.records)
        return self._result(study, final, record, interrupted, time.monotonic() - start)

    def _enqueue_seeds(self, study: Any) -> None:
        """The space's seed trials that the study has not run, at most this
        run's budget of them (none is left waiting for a later run)."""
        tried = [t.params for t in study.get_trials(deepcopy=False)]
        fresh = [p for p in self.space.seed_params() if p not in tried]
        for params in fresh[:self.budget]:
            study.enqueue_trial(params, skip_if_exists=True)

    def _machines(self) -> tuple[Any, Any]:
        build_function = self.settings.build_function or build_candidate
        measure_function = self.settings.measure_function or measure_job
        if self.client is not None:
            from polytc.tuning.remote import DaskBuilder, DaskRunner
            builder = DaskBuilder(self.client, self.settings.compile_timeout, build_function)
            return builder, DaskRunner(self.client, self.key["machine"], measure_function,
                                       builder)
        workers = self.settings.workers or max(1, machine_info()["cores"] - 1)
        return (CompilePool(workers, self.settings.compile_timeout, build_function),
                Runner(function=measure_function))

    def _request(self, options: dict[str, Any]) -> BuildRequest:
        return BuildRequest(self.text, self.entry, {**options, "sizes": self.sizes,
                                                    "dtype": self.dtype},
                            ship=self.client is not None)

    def _job(self, built: Built, reference: Built | None, seed: int = 0,
             cutoff: float | None = None) -> MeasureJob:
        assert built.cfunction is not None and built.library is not None
        ref = None if reference is None else (reference.cfunction, reference.library)
        return MeasureJob(built.cfunction, built.library, ref, self.sizes,  # type: ignore[arg-type]
                          self.threads, seed, cutoff, max_time=self.settings.max_time)

    def _default(self, builder: Any, runner: Any) -> dict[str, Any]:
        """Build and measure the default options (the reference of every check)."""
        built = builder.build([self._request(self.space.options(
            self.space.default_params()))])[0]
        if built.failure:
            raise PolytcError(f"the default options do not compile ({built.failure}): "
                              f"{built.message}")
        self.reference = built
        result = runner.measure(self._job(built, None), 10 * self.settings.compile_timeout)
        if result["status"] not in OK:
            raise PolytcError(f"the default build failed to run ({result['status']}): "
                              f"{result.get('message', '')}")
        self.timeout = 30.0 + 40.0 * result["first_s"]
        assert built.c_hash is not None
        self.seen[built.c_hash] = result  # the study's default trial is this C
        return result

    # -- the search ------------------------------------------------------------
    def _search(self, study: Any, builder: Any, runner: Any, progress: Progress,
                start: float) -> None:
        asks, cap = 0, 20 * self.budget + 20
        size = self.settings.batch or max(2, getattr(builder, "size", 2))
        while self.done < self.budget and asks < cap:
            if self.time_budget is not None and time.monotonic() - start > self.time_budget:
                break
            batch: list[tuple[Any, dict[str, Any]]] = []
            while len(batch) < size and self.done + len(batch) < self.budget and asks < cap:
                trial = study.ask()
                asks += 1
                self.pending.append(trial)
                trial.set_user_attr(OWNER, owner())
                params = self.space.suggest(trial)
                reason = self.space.skip_reason(params)
                if reason is None:
                    batch.append((trial, params))
                    continue
                trial.set_constraint("fits", 1.0)
                trial.set_user_attr("skipped", reason)
                self._tell(study, trial, 10 * self.default["min_s"])
                self.skipped += 1
            if batch:
                self._evaluate(study, batch, builder, runner)
                self.done += len(batch)
            progress.update(self.done, self.best, self.default["min_s"], self.last,
                            self.failures, self.skipped)

    def _evaluate(self, study: Any, batch: list[tuple[Any, dict[str, Any]]], builder: Any,
                  runner: Any) -> None:
        built = builder.build([self._request(self.space.options(p)) for _, p in batch])
        for (trial, params), candidate in zip(batch, built):
            trial.set_constraint("fits", 0.0)
            trial.set_user_attr("compile_s", round(candidate.seconds, 3))
            if candidate.failure:
                self._fail(study, trial, candidate.failure, candidate.message)
                continue
            assert candidate.c_hash is not None
            trial.set_user_attr("c_hash", candidate.c_hash)
            result = self.seen.get(candidate.c_hash)
            if result is not None:
                self.duplicates += 1
                trial.set_user_attr("duplicate", True)
            else:
                best = min(self.best or self.default["min_s"], self.default["min_s"])
                result = runner.measure(self._job(candidate, self.reference, 0, 10 * best),
                                        self.timeout)
                self.seen[candidate.c_hash] = result
            if result["status"] in OK:
                self.builds.setdefault(candidate.c_hash, candidate)
                for name in ("median_s", "spread", "samples", "error"):
                    if name in result:
                        trial.set_user_attr(name, result[name])
                self._tell(study, trial, result["min_s"])
                self.last = result["min_s"]
                self.best = min(self.best or result["min_s"], result["min_s"])
            else:
                if result["status"] == WRONG_ANSWER and not trial.user_attrs.get("duplicate"):
                    self._miscompile(params, result)
                self._fail(study, trial, result["status"], result.get("message", ""))

    def _tell(self, study: Any, trial: Any, value: float) -> None:
        study.tell(trial, value)
        self.pending.remove(trial)

    def _fail(self, study: Any, trial: Any, kind: str, message: str) -> None:
        optuna = require_optuna()
        trial.set_user_attr("failure", kind)
        if message:
            trial.set_user_attr("message", message[-500:])
        self.failures[kind] += 1
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self.pending.remove(trial)

    def _fail_pending(self, study: Any) -> None:
        optuna = require_optuna()
        for trial in list(self.pending):
            study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        self.pending.clear()

    def _remember(self, study: Any) -> None:
        """Times of the C measured by earlier runs of the study."""
        for trial in study.get_trials(deepcopy=False):
            c_hash = trial.user_attrs.get("c_hash")
            if c_hash and trial.value is not None and not trial.user_attrs.get("skipped"):
                self.seen.setdefault(c_hash, {"status": "ok", "min_s": trial.value})

    def _miscompile(self, params: dict[str, Any], result: dict[str, Any]) -> None:
        from polytc.tuning.miscompile import write
        path = write(self.text, self.entry, self.sizes, self.dtype,
                     self.space.options(params), self.threads, result)
        log.warning("polytc tune: a candidate computed a wrong result (error %.3g > %.3g); "
                    "recorded in %s: please send it in", result.get("error", float("nan")),
                    result.get("tol", 0.0), path)

    # -- the end ---------------------------------------------------------------
    def _finalists(self, study: Any) -> list[Any]:
        """The best distinct successful trials, fastest first (whose C is not the default's)."""
        chosen: list[Any] = []
        hashes = {self.reference.c_hash}
        for trial in sorted(_successful(study), key=lambda t: t.value):
            c_hash = trial.user_attrs.get("c_hash")
            if c_hash in hashes or len(chosen) >= self.settings.finalists:
                continue
            hashes.add(c_hash)
            chosen.append(trial)
        return chosen

    def _finalize(self, study: Any, builder: Any, runner: Any) -> dict[str, Any]:
        """Re-measure the finalists and the default, interleaved (module docstring)."""
        trials = self._finalists(study)
        missing = [t for t in trials if t.user_attrs["c_hash"] not in self.builds]
        rebuilt = builder.build([self._request(self.space.options(t.params)) for t in missing])
        for trial, built in zip(missing, rebuilt):
            if not built.failure and built.c_hash == trial.user_attrs["c_hash"]:
                self.builds[built.c_hash] = built
        entries = [("default", self.reference, None)] + [
            (t.number, self.builds[t.user_attrs["c_hash"]], t) for t in trials
            if t.user_attrs["c_hash"] in self.builds]
        minima: dict[Any, list[float]] = {name: [] for name, _, _ in entries}
        shuffle = random.Random(self.settings.seed)
        for round_ in range(self.settings.rounds):
            order = entries[:]
            shuffle.shuffle(order)
            for name, built, _ in order:
                if name not in minima:
                    continue
                result = runner.measure(self._job(built, self.reference, round_ + 1),
                                        self.timeout)
                if result["status"] == "ok":
                    minima[name].append(result["min_s"])
                elif name != "default":
                    del minima[name]  # wrong on other inputs, or crashed: out
        return self._decide(minima, {n: t for n, _, t in entries})

    def _decide(self, minima: dict[Any, list[float]], trials: dict[Any, Any]) -> dict[str, Any]:
        default = minima.get("default") or [self.default["min_s"]]
        result = _choice(None, default, default, self.settings.min_gain)
        candidates = [(min(v), n) for n, v in minima.items() if n != "default" and v]
        if candidates:
            _, name = min(candidates)
            result = _choice(trials[name], minima[name], default, self.settings.min_gain)
        return result

    def _best_measured(self, study: Any) -> dict[str, Any]:
        """After Ctrl-C: the best trial by the search's own measurements."""
        default = [self.default["min_s"]] * 2
        default[1] *= 1 + self.default.get("spread", 0.0)
        trials = [t for t in _successful(study) if t.user_attrs.get("c_hash")
                  != self.reference.c_hash]
        if not trials:
            return _choice(None, default, default, self.settings.min_gain)
        best = min(trials, key=lambda t: t.value)
        samples = [best.value, best.value * (1 + best.user_attrs.get("spread", 0.0))]
        return _choice(best, samples, default, self.settings.min_gain)

    def _record(self, study: Any, final: dict[str, Any], interrupted: bool,
                seconds: float) -> dict[str, Any]:
        optuna = require_optuna()
        trial = final["trial"]
        options = self.space.options(trial.params if trial is not None
                                     else self.space.default_params())
        self.final_options = options
        flops = self.space.flops()
        return {
            "v": records.VERSION, "key": self.key, "machine_info": machine_info(),
            "threads": self.threads, "options": records.options_to_json(options),
            "result": {"min_s": final["min_s"], "noise": final["noise"],
                       "samples": final["samples"],
                       "gflops": flops / final["min_s"] / 1e9 if flops else None},
            "baseline": {"min_s": final["default_s"], "samples": final["default_samples"]},
            "provenance": {"study": self.name, "storage": self.where,
                           "trial": None if trial is None else trial.number,
                           "n_trials": len(study.get_trials(deepcopy=False)),
                           "sampler": type(study.sampler).__name__,
                           "optuna": optuna.__version__, "space": self.space.digest(),
                           "beats_default": trial is not None, "interrupted": interrupted,
                           "time": datetime.datetime.now(datetime.timezone.utc).isoformat(
                               timespec="seconds"), "tune_seconds": round(seconds, 1)}}

    def _result(self, study: Any, final: dict[str, Any], record: dict[str, Any],
                interrupted: bool, seconds: float) -> TuningResult:
        import optuna
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
        history = tuple((t.number, t.value if _counts(t) else None)  # not seeds still waiting
                        for t in study.get_trials(deepcopy=False, states=finished)
                        if not t.user_attrs.get("skipped"))
        return TuningResult(self.final_options, final["min_s"], final["default_s"], record,
                            self.name, self.where, len(history), self.done, history,
                            self.failures, self.skipped, self.duplicates, interrupted, seconds,
                            self.space.flops() or None, self.label)


def _choice(trial: Any, samples: list[float], default: list[float],
            min_gain: float) -> dict[str, Any]:
    """The trial if its best sample beats the default's beyond the noise
    (the larger of ``min_gain`` and either's relative spread), else the default."""
    def noise(values: list[float]) -> float:
        return (max(values) - min(values)) / min(values) if values else 0.0
    margin = max(min_gain, noise(samples), noise(default))
    chosen = trial is not None and min(samples) * (1 + margin) < min(default)
    best = samples if chosen else default
    return {"trial": trial if chosen else None, "min_s": min(best), "noise": margin,
            "samples": len(best), "default_s": min(default), "default_samples": len(default)}


def _counts(trial: Any) -> bool:
    import optuna
    return trial.state == optuna.trial.TrialState.COMPLETE and not trial.user_attrs.get(
        "skipped") and trial.value is not None


def _successful(study: Any) -> list[Any]:
    return [t for t in study.get_trials(deepcopy=False) if _counts(t)]


def _check_arguments(budget: Any, time_budget: Any, threads: Any) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise OptionError(f"budget={budget!r}: give the number of trials to add (an int >= 0)")
    if time_budget is not None and not (isinstance(time_budget, (int, float))
                                        and time_budget > 0):
        raise OptionError(f"time_budget={time_budget!r}: give seconds > 0, or None")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise OptionError(f"threads={threads!r} must be a positive int or None")
