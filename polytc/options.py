"""Compile options: one frozen, explicit value, part of every cache key."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence, Union

import islpy as isl
import numpy as np

from polytc import dtypes
from polytc.errors import OptionError

#: what each option accepts (the types of :func:`polytc.compile`'s arguments)
DtypeOption = Union[str, type, np.dtype, None]
FuseOption = Union[str, Sequence[Sequence[str]]]
ScheduleOption = Union[str, isl.Schedule, isl.UnionMap, None]
TileOption = Union[str, int, Sequence[int], Sequence[Union[int, Sequence[int]]], None]
UnrollOption = Union[str, int, Sequence[int], None]
SizesOption = Union[Mapping[str, int], Sequence[tuple[str, int]], None]
SCHEDULERS = ("pluto", "isl", "identity")
MAX_UNROLL = 256
FUSION = ("smart", "max", "none")
TIME_TILINGS = ("auto", "wavefront", "diamond")


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How :func:`polytc.compile` transforms and builds a kernel.

    :ivar dtype: element type of the bare statement form's inputs (a TC type
        name or a numpy dtype); ``None`` means float32, re-specialised to the
        call's arrays when they differ.
    :ivar scheduler: ``"pluto"`` (our Pluto-style scheduler), ``"isl"`` (isl's
        scheduler) or ``"identity"`` (the textual order).
    :ivar fuse: ``"smart"`` (fuse while the outer loop stays parallel),
        ``"max"``, ``"none"``, or explicit statement groups such as
        ``(("S0", "S1"), ("S2",))``.
    :ivar schedule: a schedule of the user's (isl schedule tree or union map
        text, as printed by ``kernel.schedule``); it is checked for legality
        and replaces the scheduler.
    :ivar parallel: emit ``omp parallel for`` on parallel loops (and
        wavefront a permutable band with none).
    :ivar tile: tile sizes of permutable bands of depth >= 2: ``"auto"`` (a
        cache model, see :mod:`polytc.tiling`), ``None`` (no tiling), an int
        for every member, a tuple per band member, or a list of tuples for
        several levels, outermost first (``[(256, 256, 256), (32, 32, 32)]``).
    :ivar unroll: register tiling (unroll-and-jam of the point loops around a
        reduction, with register promotion): ``"auto"``, ``None``, or a tuple
        of factors for the jammed point loops, outermost first.
    :ivar vectorize: ``omp simd`` on parallel stride-1 innermost loops.
    :ivar time_tiling: how a time-iterated stencil's tiles run (a band whose
        outer member carries every dependence): ``"wavefront"`` (tiles of
        time and space, a parallel loop along each wavefront) or
        ``"diamond"`` (diamond tiles that start at once along the first
        time steps, where the dependences allow; see
        :mod:`polytc.tiling.diamond`); ``"auto"``: diamonds for bands of one
        space dimension or three and more, wavefronts for two, as measured;
        C input also gets code of its own for one thread: with three space
        dimensions and more its tiles in plain lexicographic order
        (``diamond.one_thread_apart``), with two larger tiles
        (``model.time_tile_sizes``).
    :ivar reassociate: let a reduction's terms be combined in another order
        than written, so that a loop along which only reductions run is
        vectorised (``omp simd reduction``: one partial result per vector
        lane, see :mod:`polytc.tiling.reductions`).  TC input: True (TC, like
        numpy, leaves the order unspecified); C input: False unless asked,
        so the rewritten code is bit-exact.
    :ivar pack: copy the tiles that a register-tiled band's vector loop loads
        into contiguous buffers (see :mod:`polytc.tiling.transform`).
    :ivar specialize: bake the call's sizes into the C as constants (one
        kernel per shape, built on first call with that shape).
    :ivar sizes: compile for these size values only (``{"M": 512, ...}``),
        as constants in the C; what ``specialize`` uses for each shape.
    :ivar threads: default thread count of calls (else ``OMP_NUM_THREADS``).
    :ivar cache: use the on-disk compile cache.
    :ivar tuned: apply a tuning record of this kernel, sizes and dtype (from
        ``polytc tune``, see :mod:`polytc.tuning`) when ``sizes`` are known and
        no transformation option is given: ``True`` (records of this machine),
        ``False``, or ``"any-machine"``.
    """

    dtype: str | None = None
    scheduler: str = "pluto"
    fuse: str | tuple[tuple[str, ...], ...] = "smart"
    schedule: str | None = None
    parallel: bool = True
    tile: object = "auto"
    unroll: object = "auto"
    vectorize: bool = True
    time_tiling: str = "auto"
    reassociate: bool = True
    pack: bool = True
    specialize: bool = False
    threads: int | None = None
    sizes: tuple[tuple[str, int], ...] | None = None
    cache: bool = True
    tuned: bool | str = True

    def __post_init__(self) -> None:
        for name in ("parallel", "vectorize", "specialize", "cache", "reassociate"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise OptionError(f"{name}={value!r}: expected True or False")
            object.__setattr__(self, name, bool(value))
        if not isinstance(self.scheduler, str):
            raise OptionError(f"scheduler={self.scheduler!r}: expected one of "
                              f"{', '.join(SCHEDULERS)}")
        if self.dtype is not None:
            try:
                name = self.dtype if isinstance(self.dtype, str) else np.dtype(self.dtype).name
            except TypeError:
                raise OptionError(f"dtype={self.dtype!r} is not a type") from None
            name = dtypes.canonical(name)
            if name not in dtypes.SUPPORTED:
                raise OptionError(f"dtype {self.dtype!r} is not a supported TC type "
                                 f"({', '.join(sorted(dtypes.SUPPORTED))})")
            object.__setattr__(self, "dtype", name)
        if isinstance(self.fuse, str):
            if self.fuse not in FUSION:
                raise OptionError(f"fuse={self.fuse!r} is not a fusion policy; choose one of "
                                  f"{', '.join(FUSION)} or a list of statement groups")
        else:
            object.__setattr__(self, "fuse", _groups(self.fuse))
        if self.schedule is not None and not isinstance(self.schedule, str):
            if not isinstance(self.schedule, (isl.Schedule, isl.UnionMap, isl.Map)):
                raise OptionError(f"schedule={self.schedule!r}: expected a schedule tree or "
                                  "union map, as isl text or an isl object")
            object.__setattr__(self, "schedule", str(self.schedule))
        object.__setattr__(self, "tile", _tile_levels(self.tile))
        object.__setattr__(self, "unroll", _factors("unroll", self.unroll))
        if self.sizes is not None:
            object.__setattr__(self, "sizes", _size_values(self.sizes))
        if self.threads is not None and (not isinstance(self.threads, (int, np.integer))
                                         or isinstance(self.threads, (bool, np.bool_))
                                         or not 0 < self.threads < 2 ** 31):
            raise OptionError(f"threads={self.threads!r} must be a positive int or None")
        if self.tuned not in (True, False, "any-machine"):
            raise OptionError(f"tuned={self.tuned!r}: give True, False or 'any-machine'")
        if self.threads is not None:
            object.__setattr__(self, "threads", int(self.threads))
        if self.time_tiling not in TIME_TILINGS:
            raise OptionError(f"time_tiling={self.time_tiling!r}: choose one of "
                              f"{', '.join(TIME_TILINGS)}")
        if self.scheduler not in SCHEDULERS:
            raise OptionError(f"scheduler {self.scheduler!r} is not available; "
                             f"choose one of {', '.join(SCHEDULERS)}")

    def replaced(self, **changes: Any) -> Options:
        """These options with ``changes``, which are checked as the
        constructor checks them; the other fields keep their checked form
        (``dataclasses.replace`` would check them again, and a checked
        ``tile`` reads as one level more: ``((3, 5, 7),)``)."""
        checked = Options(**changes)
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update((name, getattr(checked, name)) for name in changes)
        new = object.__new__(Options)
        for name, value in values.items():
            object.__setattr__(new, name, value)
        return new

    def key(self) -> str:
        """A stable text of every option, for cache keys."""
        return ";".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))


NAMES = tuple(f.name for f in fields(Options))


def options_from(keywords: dict[str, Any]) -> Options:
    """:class:`Options` from keyword arguments, a misspelled name refused with
    the nearest one (``unknown option 'tiles'; did you mean 'tile'?``)."""
    for name in keywords:
        if name not in NAMES:
            close = difflib.get_close_matches(name, NAMES, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"the options are {', '.join(NAMES)}"
            raise OptionError(f"unknown option '{name}'; {hint}")
    return Options(**keywords)


def _groups(value: object) -> tuple[tuple[str, ...], ...]:
    """Explicit fusion groups: a sequence of sequences of statement names."""
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(group, (list, tuple)) and group and
            all(isinstance(s, str) for s in group) for group in value):
        return tuple(tuple(group) for group in value)
    raise OptionError(f"fuse={value!r}: expected 'smart', 'max', 'none' or statement groups "
                      "such as [['S0', 'S1'], ['S2']]")


def _tile_levels(value: object) -> object:
    """``"auto"``, ``None``, or a tuple of levels, each an int (every member)
    or a tuple of ints (one per band member, outermost first)."""
    if value is None or value == "auto":
        return value
    if isinstance(value, (int, tuple)) and not isinstance(value, bool):
        levels: list[object] = [value]
    elif isinstance(value, list) and value:
        levels = list(value)
    else:
        raise OptionError(f"tile={value!r}: give 'auto', None, an int, a tuple of ints "
                          "per band member, or a list of those (one per level)")
    return tuple(_factors("tile", level, allow_auto=False) for level in levels)


def _factors(option: str, value: object, allow_auto: bool = True) -> object:
    if value is None or (allow_auto and value == "auto"):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        values: tuple[object, ...] = (value,)
        single = True
    elif isinstance(value, (tuple, list)) and value:
        values, single = tuple(value), False
    else:
        raise OptionError(f"{option}={value!r}: expected a positive int or a tuple of them")
    largest = MAX_UNROLL if option == "unroll" else 2 ** 31 - 1
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise OptionError(f"{option}={value!r}: sizes must be positive ints, not {v!r}")
        if v > largest:
            why = ": every factor is unrolled in the C" if option == "unroll" else ""
            raise OptionError(f"{option}={value!r}: {v} is too large (at most {largest}{why})")
    return values[0] if single else values


def _size_values(value: object) -> tuple[tuple[str, int], ...]:
    items: Any = value.items() if isinstance(value, dict) else value
    try:
        pairs = tuple((str(name), size) for name, size in items)
    except (TypeError, ValueError):
        raise OptionError(f"sizes={value!r}: give a dict of size name -> int") from None
    for name, size in pairs:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OptionError(f"sizes: {name}={size!r} must be a non-negative int")
    return pairs
