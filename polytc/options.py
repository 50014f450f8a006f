"""Compile options: one frozen, explicit value, part of every cache key."""
from __future__ import annotations

from dataclasses import dataclass, fields

from polytc import dtypes
from polytc.errors import OptionError

SCHEDULERS = ("pluto", "isl", "identity")
FUSION = ("smart", "max", "none")


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
    :ivar parallel: emit ``omp parallel for`` on parallel loops.
    :ivar cache: use the on-disk compile cache.
    """

    dtype: str | None = None
    scheduler: str = "pluto"
    fuse: str | tuple[tuple[str, ...], ...] = "smart"
    schedule: str | None = None
    parallel: bool = True
    cache: bool = True

    def __post_init__(self) -> None:
        if self.dtype is not None:
            import numpy as np
            name = self.dtype if isinstance(self.dtype, str) else np.dtype(self.dtype).name
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
            object.__setattr__(self, "fuse", tuple(tuple(str(s) for s in group)
                                                   for group in self.fuse))
        if self.schedule is not None and not isinstance(self.schedule, str):
            object.__setattr__(self, "schedule", str(self.schedule))
        if self.scheduler not in SCHEDULERS:
            raise OptionError(f"scheduler {self.scheduler!r} is not available; "
                             f"choose one of {', '.join(SCHEDULERS)}")

    def key(self) -> str:
        """A stable text of every option, for cache keys."""
        return ";".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
