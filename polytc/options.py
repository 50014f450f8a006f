"""Compile options: one frozen, explicit value, part of every cache key."""
from __future__ import annotations

from dataclasses import dataclass, fields

from polytc import dtypes
from polytc.errors import OptionError

SCHEDULERS = ("identity",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How :func:`polytc.compile` transforms and builds a kernel.

    :ivar dtype: element type of the bare statement form's inputs (a TC type
        name or a numpy dtype); ``None`` means float32, re-specialised to the
        call's arrays when they differ.
    :ivar scheduler: ``"identity"`` keeps the textual order (the Pluto-style
        and isl schedulers arrive with the scheduling work).
    :ivar parallel: emit ``omp parallel for`` on parallel loops.
    :ivar cache: use the on-disk compile cache.
    """

    dtype: str | None = None
    scheduler: str = "identity"
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
        if self.scheduler not in SCHEDULERS:
            raise OptionError(f"scheduler {self.scheduler!r} is not available; "
                             f"choose one of {', '.join(SCHEDULERS)}")

    def key(self) -> str:
        """A stable text of every option, for cache keys."""
        return ";".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
