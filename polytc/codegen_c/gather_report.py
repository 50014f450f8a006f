"""Explaining an out-of-range gather after a kernel call returned status 1.

The generated C records the first out-of-range gather of a call (its site
number, the index and the extent it should stay below) and exposes it
through ``<function>_gather_report``; :attr:`CFunction.gathers` says, per
site, which tensor and dimension it indexes and with what expression.  When
the index is a plain read of an array of the call, the array is searched for
the value to name its position.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from polytc.codegen_c.cfunction import CFunction


def explain(cfunction: CFunction, ffi: Any, lib: Any, arrays: Mapping[str, Any]) -> str:
    """The message of the :class:`~polytc.errors.KernelRuntimeError` for the
    last failed call of ``cfunction`` (``arrays``: the call's arrays by name)."""
    report = ffi.new("int64_t[3]")
    getattr(lib, f"{cfunction.function}_gather_report")(report)
    site, index, extent = (int(report[k]) for k in range(3))
    if not 0 <= site < len(cfunction.gathers):  # pragma: no cover - a report we did not write
        return "a gathered index was out of range (the outputs hold partial results)"
    tensor, dim, text, source = cfunction.gathers[site]
    where = f"the index {text}"
    array = arrays.get(source)
    if source and isinstance(array, np.ndarray):
        hits = np.argwhere(array == index)
        position = f" at position {tuple(int(i) for i in hits[0])}" if len(hits) else ""
        where = f"index tensor '{source}'{position}"
    return (f"gathered index out of range: {where} holds {index}, but it indexes dimension "
            f"{dim} of '{tensor}', whose extent is {extent} (the outputs hold partial results)")
