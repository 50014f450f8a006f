"""What generated C is and what a caller needs to call it.

:class:`CFunction` is the C source of one kernel function with its ABI:
sizes, input and output tensors (:class:`TensorArg`), the size conditions it
checks, a bound of its work, the warnings compiling it gave, and its gather
sites.  It is plain data: the front cache stores it as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

from polytc import dtypes
from polytc.codegen_c.conditions import SizeCheck


@dataclass(frozen=True, slots=True)
class TensorArg:
    """A tensor argument of the C function.  ``dims`` are, per dimension, a
    size name or a constant (inputs); ``extent_py`` are Python expressions in
    ``p[k]`` (the k-th size) that give an output's shape."""

    name: str
    dtype: str
    dims: tuple[str | int, ...]
    extent_py: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CFunction:
    """Generated C source and what a caller needs to call it."""

    source: str
    function: str
    params: tuple[str, ...]
    inputs: tuple[TensorArg, ...]
    outputs: tuple[TensorArg, ...]
    diagnostics: tuple[tuple[str, str], ...] = ()  # polytc warnings: (class name, message)
    # per gather site: (tensor, dimension, index expression, index tensor or "")
    gathers: tuple[tuple[str, int, str, str], ...] = ()
    #: the conditions on the sizes that the function checks (returning 4)
    checks: tuple[SizeCheck, ...] = ()
    #: a bound of the statement instances, in Python over the sizes ``p[k]``
    work_py: str = ""
    #: the sizes of sliding windows, which calls compile for (windows.py)
    windows: tuple[str, ...] = ()

    @property
    def cdef(self) -> str:
        args = ["int64_t"] * len(self.params)
        args += [f"const {dtypes.C_TYPES[t.dtype]} *" for t in self.inputs]
        args += [f"{dtypes.C_TYPES[t.dtype]} *" for t in self.outputs]
        args.append("int")
        report = f"\nvoid {self.function}_gather_report(int64_t *);" if self.gathers else ""
        return f"int {self.function}({', '.join(args)});{report}"
