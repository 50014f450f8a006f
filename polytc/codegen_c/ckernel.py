"""A C function of the user's, optimised by polytc, callable with numpy arrays.

The library is the user's file with its regions rewritten plus an entry
point with a flat-pointer signature (cffi cannot declare VLA parameters):
``void polytc_entry_<f>(int nthreads, <parameters>)`` casts each array to
the pointer type of its declaration (``(double (*)[m]) A``) and calls
``f``.  :class:`CKernel` binds a call's arguments to the parameters: arrays
and floating-point scalars positionally or by name, integer parameters by
name or from the arrays' shapes; every array's dtype, rank and shape are
checked against its declaration (:class:`~polytc.errors.ArgumentError`).
Arrays are updated in place, as the C code updates them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import islpy as isl
import numpy as np

from polytc import config, dtypes
from polytc.codegen_c.calls import check_threads
from polytc.codegen_c.expr import ast_expr
from polytc.codegen_c.kernel import load
from polytc.errors import ArgumentError, PolytcError
from polytc.frontend.c.signature import CParam


@dataclass(frozen=True, slots=True)
class Entry:
    """The entry point: its name, C definition and cffi declaration."""

    function: str
    source: str
    cdef: str


def entry_point(function: str, params: tuple[CParam, ...]) -> Entry:
    """The flat-pointer entry point calling ``function``."""
    name = f"polytc_entry_{function}"
    declared, types = ["int polytc_nthreads"], ["int"]
    passed = []
    for p in params:
        ctype = dtypes.C_TYPES[p.dtype]
        if not p.rank:
            declared.append(f"{ctype} {p.name}")
            types.append(ctype)
            passed.append(p.name)
        else:
            declared.append(f"{ctype} *polytc_{p.name}")
            types.append(f"{ctype} *")
            inner = "".join(f"[{d}]" for d in p.dims[1:])
            passed.append(f"({ctype} (*){inner})polytc_{p.name}" if inner
                          else f"polytc_{p.name}")
    cdef = f"void {name}({', '.join(types)});"
    source = f"""
/* polytc: entry point for calls from Python (cffi cannot declare VLA parameters) */
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
void {name}({", ".join(declared)})
{{
#ifdef _OPENMP
  int polytc_threads_before = omp_get_max_threads();
  omp_set_num_threads(polytc_nthreads);
#endif
  {function}({", ".join(passed)});
#ifdef _OPENMP
  omp_set_num_threads(polytc_threads_before);
#endif
}}
"""
    return Entry(name, source, cdef)


class CKernel:
    """A compiled C function.  ``k(A, B, alpha=1.5)`` runs it: arrays and
    floating-point scalars in declared order (or by name), integer
    parameters by name or inferred from the arrays' shapes.

    :ivar c_source: the translation unit compiled (the user's file,
        rewritten, and the entry point).
    :ivar params: the function's parameters.
    """

    def __init__(self, source: str, entry: Entry, params: tuple[CParam, ...],
                 library: str | PolytcError, stages: list[dict[str, Any]],
                 written: frozenset[str], threads: int | None = None) -> None:
        self.c_source = source
        self.params = params
        self._entry = entry
        self._library = library
        self._stages = stages
        self._written = written
        self._threads = threads
        self._function: Any = None
        self._ffi: Any = None
        self._positional = tuple(p.name for p in params if not p.integer)
        self._shape = {p.name: _shape_function(p, params) for p in params if p.rank}

    # -- inspection (of the function's first region) ------------------------
    def stages(self, region: int = 0) -> dict[str, Any]:
        """Every stage's value for region ``region`` of the function."""
        return self._stages[region]

    @property
    def programs(self) -> tuple[Any, ...]:
        return tuple(stage["program"] for stage in self._stages)

    @property
    def program(self) -> Any:
        return self.stages()["program"]

    @property
    def dependences(self) -> Any:
        return self.stages()["dependences"]

    @property
    def schedule(self) -> Any:
        return self.stages()["schedule"]

    @property
    def tiled_schedule(self) -> Any:
        return self.stages()["tiled"]

    @property
    def schedule_map(self) -> Any:
        return self.schedule.get_map()

    @property
    def schedule_summary(self) -> Any:
        from polytc.poly.summary import summarize
        return summarize(self.schedule, self.program)

    @property
    def library_path(self) -> str | None:
        return self._library if isinstance(self._library, str) else None

    def save(self, directory: str | os.PathLike[str], *, name: str | None = None) -> list[Path]:
        """Write ``<name>.c`` (exactly ``c_source``) and ``<name>.h`` (the
        entry point's prototype) into ``directory``; returns the paths."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        base = name or self._entry.function[len("polytc_entry_"):]
        source, header = folder / f"{base}.c", folder / f"{base}.h"
        source.write_text(self.c_source)
        header.write_text(f"/* Generated by polytc: entry point of {source.name}; arrays are "
                          "dense, row-major. */\n#include <stdint.h>\n"
                          f"{self._entry.cdef}\n")
        return [source, header]

    def __repr__(self) -> str:
        args = ", ".join(p.name for p in self.params)
        return f"<polytc.CKernel {self._entry.function[len('polytc_entry_'):]}({args})>"

    # -- calling ------------------------------------------------------------
    def __call__(self, /, *args: Any, num_threads: int | None = None, **named: Any) -> None:
        values = self.bind(args, named)
        if isinstance(self._library, PolytcError):
            raise self._library
        if self._function is None:
            self._ffi, self._function = load(self._library, self._entry)
        threads = check_threads(num_threads) if num_threads is not None else \
            (self._threads if self._threads is not None else config.default_threads())
        passed = []
        for p in self.params:
            value = values[p.name]
            if p.rank:
                passed.append(self._ffi.from_buffer(f"{dtypes.C_TYPES[p.dtype]}[]", value,
                                                    require_writable=p.name in self._written))
            else:
                passed.append(value)
        self._function(int(threads), *passed)

    def bind(self, args: tuple[Any, ...], named: dict[str, Any]) -> dict[str, Any]:
        """Each parameter's value for a call, checked."""
        if len(args) > len(self._positional):
            raise ArgumentError(f"expected at most {len(self._positional)} positional "
                                f"arguments ({', '.join(self._positional)}), got {len(args)}")
        values = dict(zip(self._positional, args))
        for key, value in named.items():
            if key not in {p.name for p in self.params}:
                raise ArgumentError(f"unexpected argument '{key}'; parameters are "
                                    f"{', '.join(p.name for p in self.params)}")
            if key in values:
                raise ArgumentError(f"argument '{key}' given twice")
            values[key] = value
        for p in self.params:
            if p.rank and p.name in values:
                values[p.name] = _array(p, values[p.name], p.name in self._written)
        self._infer_sizes(values)
        for p in self.params:
            if p.name not in values:
                raise ArgumentError(f"missing argument '{p.name}'")
            if not p.rank:
                values[p.name] = _scalar(p, values[p.name])
        sizes = {p.name: values[p.name] for p in self.params if p.integer}
        for p in self.params:
            if p.rank:
                expected = self._shape[p.name](sizes)
                if tuple(values[p.name].shape) != expected:
                    raise ArgumentError(f"array '{p.name}' has shape {values[p.name].shape} but "
                                        f"its declaration gives {expected} for "
                                        + ", ".join(f"{k}={v}" for k, v in sizes.items()))
        return values

    def _infer_sizes(self, values: dict[str, Any]) -> None:
        """Integer parameters not given, from arrays whose extent is ``n + c``
        (a given one is checked against the shapes afterwards)."""
        given = set(values)
        inferred: dict[str, tuple[int, str, int]] = {}
        for p in self.params:
            if not p.rank or p.name not in values:
                continue
            for d, extent in enumerate(p.extents):
                found = _param_plus_constant(extent)
                if found is None or found[0] in given:
                    continue
                value = values[p.name].shape[d] - found[1]
                earlier = inferred.setdefault(found[0], (value, p.name, d))
                if earlier[0] != value:
                    raise ArgumentError(
                        f"size '{found[0]}' is {earlier[0]} from array '{earlier[1]}' "
                        f"(dimension {earlier[2]}) but {value} from '{p.name}' (dimension {d})")
        values.update({name: found[0] for name, found in inferred.items()})


def _array(p: CParam, value: Any, writable: bool) -> np.ndarray:
    want = dtypes.to_numpy(p.dtype)
    if type(value) is not np.ndarray:
        raise ArgumentError(f"'{p.name}' must be a numpy array of {want}, not "
                            f"{type(value).__name__}")
    if value.dtype != want:
        raise ArgumentError(f"array '{p.name}' has dtype {value.dtype}; its declaration "
                            f"needs {want}")
    if value.ndim != p.rank:
        raise ArgumentError(f"array '{p.name}' has {value.ndim} dimensions; its declaration "
                            f"has {p.rank}")
    if not value.flags.c_contiguous:
        raise ArgumentError(f"array '{p.name}' must be C-contiguous (np.ascontiguousarray)")
    if writable and not value.flags.writeable:
        raise ArgumentError(f"array '{p.name}' is written by the kernel but read-only")
    return value


def _scalar(p: CParam, value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if p.integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ArgumentError(f"'{p.name}' must be an integer, not {value!r}")
        return int(value)
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ArgumentError(f"'{p.name}' must be a number, not {value!r}")
    return float(value)


def _param_plus_constant(extent: isl.PwAff) -> tuple[str, int] | None:
    """(param, c) when ``extent`` is ``param + c``."""
    pieces = extent.get_pieces()
    if len(pieces) != 1:
        return None
    aff = pieces[0][1]
    space = aff.get_space()
    found = [k for k in range(space.dim(isl.dim_type.param))
             if not aff.get_coefficient_val(isl.dim_type.param, k).is_zero()]
    if len(found) != 1 or not aff.get_coefficient_val(isl.dim_type.param, found[0]).is_one():
        return None
    return space.get_dim_name(isl.dim_type.param, found[0]) or "", \
        int(aff.get_constant_val().to_python())


def _shape_function(p: CParam, params: tuple[CParam, ...]) -> Callable[[dict[str, int]],
                                                                        tuple[int, ...]]:
    """The declared shape of array ``p`` as a function of the integer parameters."""
    if not p.extents:
        return lambda sizes: ()
    build = isl.AstBuild.from_context(isl.Set.universe(p.extents[0].get_domain_space()))
    texts = [ast_expr(build.expr_from_pw_aff(e), lambda n: f"p[{n!r}]", "py") for e in p.extents]
    code = f"lambda p: ({''.join(t + ', ' for t in texts)})"
    function: Callable[[dict[str, int]], tuple[int, ...]] = eval(  # noqa: S307
        code, {"min": min, "max": max})
    return function
