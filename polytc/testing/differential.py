"""Differential testing: compiled kernels against the reference interpreter.

:func:`check` compiles one :class:`~polytc.testing.strategies.TcCase` under
one option set, runs it and the interpreter on the same inputs and returns
``None`` when they agree, else a :class:`Failure` (a result mismatch, an
exception on one side only, or any exception that is not a deliberate
``polytc.errors`` one).  :func:`shrink` makes a failing case small.
"""
from __future__ import annotations

import contextlib
import itertools
import re
import signal
import threading
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

import polytc
from polytc.errors import KernelRuntimeError, PolytcError, PolytcInternalError, PolytcWarning
from polytc.options import Options
from polytc.frontend import to_program
from polytc.poly import IllegalScheduleError
from polytc.testing.interpreter import interpret
from polytc.testing.schedules import KINDS, random_schedule
from polytc.testing.strategies import TcCase, valid

#: (scheduler, fuse) pairs: fusion means nothing to the identity schedule
_SCHEDULES = [("pluto", f) for f in ("smart", "max", "none")] + \
    [("isl", f) for f in ("smart", "max", "none")] + [("identity", "smart")]
#: the loop transformations: polytc's defaults, tiling only, none at all,
#: reductions in order (parallel loops sink below them), and tiles of 8 with
#: blocks of 2 x 4, whose whole and partial blocks and packed tiles the
#: programs' sizes of 2-7 reach (the default blocks are all partial there)
_TRANSFORMS: list[dict[str, Any]] = [{}, {"unroll": None, "vectorize": False},
               {"tile": None, "unroll": None, "vectorize": False},
               {"reassociate": False}, {"tile": 8, "unroll": (2, 4)}]


def option_sets() -> list[dict[str, Any]]:
    """Every option combination the differential tests try (those this
    polytc knows: options not yet available are left out), and random user
    schedules (``random_schedule``: ``legal`` or ``illegal``, see
    :mod:`polytc.testing.schedules`) under the transformations."""
    sets = []
    for (scheduler, fuse), parallel, transform in itertools.product(
            _SCHEDULES, (True, False), _TRANSFORMS):
        options: dict[str, Any] = {"scheduler": scheduler, "fuse": fuse, "parallel": parallel,
                                   **transform}
        try:
            Options(**options)
        except (TypeError, PolytcError):
            continue
        sets.append(options)
    sets += [{"random_schedule": kind, **transform}
             for kind, transform in itertools.product(KINDS, _TRANSFORMS[:2])]
    return sets


def describe(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


@dataclass(frozen=True)
class Failure:
    """How a kernel and the interpreter disagreed: ``kind`` is ``mismatch``,
    ``kernel-error``, ``interpreter-error``, ``crash`` (an exception that
    is not a deliberate polytc error, PolytcInternalError included) or
    ``timeout`` (compiling and running took longer than allowed)."""

    kind: str
    stage: str
    message: str

    @property
    def signature(self) -> str:
        """What two failures share when they are the same bug."""
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.kind}/{self.stage}: {re.sub(r'[0-9]+', '#', first)[:120]}"


class _Timeout(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` of
    polytc's turns it into an internal error."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[dict[str, bool]]:
    """Raise :class:`_Timeout` after ``seconds`` (main thread with SIGALRM
    only; elsewhere no limit).  The dict it gives says whether time ran out
    (islpy swallows an exception raised inside one of its callbacks)."""
    state = {"expired": False}
    if not seconds or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield state
        return

    def expire(signum: int, frame: Any) -> None:
        state["expired"] = True
        raise _Timeout()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _outputs(value: Any) -> tuple[np.ndarray, ...]:
    return value if isinstance(value, tuple) else (value,)


def _run(stage: str, thunk: Callable[[], Any]) -> tuple[Any, Failure | BaseException | None]:
    """``thunk()``; a deliberate polytc error comes back as the exception,
    anything else (and an internal error) as a ``crash`` failure."""
    try:
        return thunk(), None
    except PolytcInternalError as error:
        return None, Failure("crash", stage, str(error))
    except PolytcError as error:
        return None, error
    except Exception as error:  # noqa: BLE001 - exactly what we look for
        text = "".join(traceback.format_exception_only(type(error), error))
        return None, Failure("crash", stage, text)


def compare(want: tuple[np.ndarray, ...], got: tuple[np.ndarray, ...],
            rtol: float = 1e-3) -> str | None:
    """None when ``got`` matches ``want``: equal shapes and types, equal
    integers, floats within ``rtol`` of the output's largest magnitude."""
    if len(want) != len(got):
        return f"{len(got)} outputs, expected {len(want)}"
    for n, (w, g) in enumerate(zip(want, got)):
        if not isinstance(g, np.ndarray) or g.shape != w.shape or g.dtype != w.dtype:
            return (f"output {n}: {getattr(g, 'dtype', type(g))}{list(getattr(g, 'shape', ()))}"
                    f", expected {w.dtype}{list(w.shape)}")
        if w.dtype.kind != "f":
            if not np.array_equal(w, g):
                bad = np.argwhere(w != g)[0]
                return f"output {n} at {tuple(bad)}: {g[tuple(bad)]}, expected {w[tuple(bad)]}"
            continue
        finite = np.abs(w[np.isfinite(w)])
        scale = max(1.0, float(finite.max(initial=0.0)))
        with np.errstate(invalid="ignore"):
            close = np.isclose(g, w, rtol=rtol, atol=rtol * scale, equal_nan=True)
        if not close.all():
            bad = tuple(np.argwhere(~close)[0])
            return (f"output {n} at {bad}: {g[bad]!r}, expected {w[bad]!r} "
                    f"({int((~close).sum())} of {w.size} elements differ)")
    return None


def check(case: TcCase, options: dict[str, Any], seed: int = 0,
          timeout: float | None = None) -> Failure | None:
    """Compile ``case`` with ``options``, run it and the interpreter on
    inputs drawn from ``seed``; None when they agree.  With ``timeout``,
    compiling and running may take at most that many seconds."""
    timed_out = Failure("timeout", "compile", f"compiling and running took more than "
                        f"{timeout} s")
    try:
        with deadline(timeout) as state, warnings.catch_warnings():
            warnings.simplefilter("ignore", PolytcWarning)  # random programs earn them
            result = _check(case, options, seed)
    except _Timeout:
        return timed_out
    return timed_out if state["expired"] else result


def _check(case: TcCase, options: dict[str, Any], seed: int) -> Failure | None:
    if "random_schedule" in options:
        options, refused = _with_random_schedule(case, options, seed)
        if refused is not None or not options:
            return refused
    inputs = case.make_inputs(np.random.default_rng(seed))
    want, wrong = _run("interpret", lambda: _outputs(interpret(case.text, *inputs)))
    if isinstance(wrong, Failure):
        return wrong
    kernel, error = _run("compile", lambda: polytc.compile(case.text, **options))
    if isinstance(error, Failure):
        return error
    if error is not None:  # the frontend accepted it, so compiling must succeed
        return Failure("crash", "compile", f"{type(error).__name__}: {error}")
    got, failed = _run("call", lambda: _outputs(kernel(*[a.copy() for a in inputs])))
    if isinstance(failed, Failure):
        return failed
    if wrong is not None or failed is not None:
        if type(wrong) is type(failed) and isinstance(wrong, KernelRuntimeError):
            return None
        if wrong is None:
            return Failure("kernel-error", "call", f"{type(failed).__name__}: {failed}")
        return Failure("interpreter-error", "interpret",
                       f"{type(wrong).__name__}: {wrong}"
                       + (f" (kernel: {type(failed).__name__}: {failed})" if failed else ""))
    difference = compare(want, got)
    return None if difference is None else Failure("mismatch", "call", difference)


def _with_random_schedule(case: TcCase, options: dict[str, Any],
                          seed: int) -> tuple[dict[str, Any], Failure | None]:
    """``options`` with a random schedule of ``case`` in place of
    ``random_schedule``, and None; for an illegal schedule, ``{}`` and what
    happened when compiling it (None: refused, as it must be)."""
    kind = options["random_schedule"]
    rest = {k: v for k, v in options.items() if k != "random_schedule"}
    made, failure = _run("schedule", lambda: random_schedule(to_program(case.text), kind, seed))
    if isinstance(failure, Failure):
        return {}, failure
    if failure is not None or made is None:  # nothing to schedule wrongly
        return {}, None
    if kind == "legal":
        return {**rest, "schedule": made}, None
    _, error = _run("compile", lambda: polytc.compile(case.text, schedule=made, **rest))
    if isinstance(error, Failure) or isinstance(error, IllegalScheduleError):
        return {}, error if isinstance(error, Failure) else None
    what = f"{type(error).__name__}: {error}" if error is not None else "it compiled"
    return {}, Failure("accepted", "compile",
                       f"an illegal schedule was not refused ({what}):\n{made}")


# -- shrinking ---------------------------------------------------------------------------
def _parts(text: str) -> tuple[str, list[str], list[str]]:
    """(head before the returns, the returns, the statement lines) of a def."""
    head, rest = text.split("-> (", 1)
    returns, body = rest.split(")", 1)
    lines = [line for line in body.strip().lstrip("{").rstrip("}").split("\n") if line.strip()]
    return head, [r.strip() for r in returns.split(",")], lines


def _join(head: str, returns: list[str], lines: list[str]) -> str:
    body = "\n".join(lines)
    return f"{head}-> ({', '.join(returns)}) {{\n{body}\n}}"


def _variants(case: TcCase) -> list[TcCase]:
    """Smaller versions of ``case``: one statement or output less, smaller sizes."""
    head, returns, lines = _parts(case.text)
    found = []
    for drop in reversed(range(len(lines))):
        kept = lines[:drop] + lines[drop + 1:]
        written = {re.match(r"\s*(\w+)", line).group(1) for line in kept}  # type: ignore
        outs = [r for r in returns if r in written] or \
            ([re.match(r"\s*(\w+)", kept[-1]).group(1)] if kept else [])  # type: ignore
        if kept and outs:
            found.append(_join(head, outs, kept))
    if len(returns) > 1:
        found += [_join(head, [r for r in returns if r != out], lines) for out in returns]
    cases = [TcCase(text, case.inputs, case.sizes) for text in found]
    for symbol, value in case.sizes.items():
        for smaller in sorted({1, value // 2, value - 1}):
            if 0 < smaller < value:
                cases.append(TcCase(case.text, case.inputs, {**case.sizes, symbol: smaller}))
    return cases


def shrink(case: TcCase, options: dict[str, Any], failure: Failure,
           budget: int = 60, timeout: float | None = None) -> tuple[TcCase, Failure]:
    """A smaller case failing the same way (same kind and stage), by removing
    statements and outputs and lowering sizes while it still fails."""
    tries = 0
    improved = True
    while improved and tries < budget:
        improved = False
        for candidate in _variants(case):
            tries += 1
            if tries > budget:
                break
            candidate = valid(candidate) or candidate
            if valid(candidate) is None:
                continue
            again = check(candidate, options, timeout=timeout)
            if again is not None and (again.kind, again.stage) == (failure.kind, failure.stage):
                case, failure, improved = candidate, again, True
                break
    return case, failure


# -- many programs ----------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One program of a run: its seed, the option sets tried, the failures
    (option set and failure), seconds taken."""

    seed: int
    tried: int
    failures: tuple[tuple[dict[str, Any], Failure, TcCase], ...]
    seconds: float


def run_seeds(seeds: list[int], sets_per_program: int = 1, max_statements: int = 6,
              max_rank: int = 4, cflags: str | None = None,
              extra_every: int = 0, timeout: float | None = None) -> list[Outcome]:
    """Each seed's program under ``sets_per_program`` option sets drawn by
    the seed (0: all of them; one more for seeds divisible by
    ``extra_every``), compared with the interpreter; ``cflags`` replaces
    ``$CFLAGS`` meanwhile."""
    import os
    import random
    import time
    from polytc.testing.strategies import random_case
    sets = option_sets()
    outcomes = []
    saved = os.environ.get("CFLAGS")
    if cflags is not None:
        os.environ["CFLAGS"] = cflags
    try:
        for seed in seeds:
            start = time.monotonic()
            case, _ = random_case(seed, max_statements=max_statements, max_rank=max_rank)
            count = sets_per_program + (1 if extra_every and seed % extra_every == 0 else 0)
            chosen = sets if sets_per_program <= 0 else \
                random.Random(seed).sample(sets, min(count, len(sets)))
            failures = []
            if case is not None:
                for options in chosen:
                    failure = check(case, options, seed, timeout)
                    if failure is not None:
                        failures.append((options, failure, case))
            outcomes.append(Outcome(seed, len(chosen) if case else 0, tuple(failures),
                                    time.monotonic() - start))
    finally:
        if cflags is not None:
            if saved is None:
                os.environ.pop("CFLAGS", None)
            else:
                os.environ["CFLAGS"] = saved
    return outcomes
