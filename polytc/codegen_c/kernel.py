"""The callable :class:`Kernel`: numpy arrays in, numpy arrays out.

The compiled library is loaded with cffi's ABI mode (``ffi.dlopen``) and
arrays are passed with ``ffi.from_buffer`` after polytc's own checks of
dtype, rank, shapes and contiguity (cffi checks none of the first three).
cffi releases the GIL for the duration of the C call.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import cffi
import numpy as np

from polytc import config, dtypes
from polytc.codegen_c.calls import CallPlan, check_threads, fast_path, raise_status
from polytc.codegen_c import gather_report
from polytc.codegen_c.cfunction import CFunction
from polytc.codegen_c.windows import MAX_WINDOW, MIN_WINDOW_WORK
from polytc.errors import ArgumentError, CompileError, PolytcError

_FLOAT32 = np.dtype(np.float32)
_libraries: dict[str, tuple[Any, Any]] = {}
_libraries_lock = threading.Lock()


class Loadable(Protocol):
    """What :func:`load` needs of a C function: its cffi declaration."""

    @property
    def cdef(self) -> str: ...


def load(path: str, cfunction: Loadable) -> tuple[Any, Any]:
    """``(ffi, library)`` for the library at ``path`` (loaded once per process):
    ``getattr(library, cfunction.function)`` is the kernel."""
    with _libraries_lock:
        if path not in _libraries:
            ffi = cffi.FFI()
            ffi.cdef(cfunction.cdef)
            # Never unload: a kernel built with -fopenmp pulls in libgomp, and
            # unloading it at interpreter exit while its worker threads live
            # can crash the process.
            flags = ffi.RTLD_NOW | getattr(ffi, "RTLD_NODELETE", 0)
            lib = ffi.dlopen(path, flags)
            _libraries[path] = (ffi, lib)
        return _libraries[path]


def load_checked(path: str, cfunction: CFunction) -> tuple[Any, Any]:  # (ffi, library)
    """:func:`load`, first checking the library against its cache sidecar (a
    corrupted or deleted one is rebuilt); one that still does not load
    raises :class:`CompileError`, never a bare ``OSError``."""
    from polytc.codegen_c import build
    if path not in _libraries:
        path = str(build.ensure(path, cfunction.source))
    try:
        return load(path, cfunction)
    except OSError as error:
        raise CompileError(f"cannot load the compiled kernel {path}: {error}") from error


class StageViews:
    """A kernel's stages, by name (``program``, ``dependences``,
    ``schedule``, ``tiled``), as attributes; a class provides ``_stage``."""

    def _stage(self, name: str) -> Any:  # pragma: no cover - every user overrides it
        raise NotImplementedError

    @property
    def program(self) -> Any:
        """The lowered :class:`~polytc.program.Program` (isl domains, accesses)."""
        return self._stage("program")

    @property
    def dependences(self) -> Any:
        return self._stage("dependences")

    @property
    def schedule(self) -> Any:
        """The scheduler's isl schedule tree (before tiling: see
        :attr:`tiled_schedule`); its text reads back as ``schedule=``."""
        return self._stage("schedule")

    @property
    def tiled_schedule(self) -> Any:
        """The schedule after tiling, register tiling and marks: what the C follows."""
        return self._stage("tiled")

    @property
    def tiled_schedule_one_thread(self) -> Any:
        """The tiled schedule that a C region runs on one thread where it has
        one of its own (a time-tiled stencil of two space dimensions or
        more, see :func:`polytc.tiling.diamond.one_thread_apart` and
        :func:`polytc.tiling.model.time_tile_sizes`); else None."""
        try:
            return self._stage("tiled_one_thread")
        except KeyError:
            return None

    @property
    def schedule_map(self) -> Any:
        """The schedule as an isl union map (statement instance -> time)."""
        return self.schedule.get_map()

    @property
    def schedule_summary(self) -> Any:
        """Bands, permutability, parallel members and fused groups, readable."""
        from polytc.poly.summary import summarize
        return summarize(self.schedule, self.program)


    @property
    def tiled_summary(self) -> Any:
        """:attr:`schedule_summary` of the tiled schedule: the tile loops
        (a time-tiled stencil's wavefront), the point loops, which is parallel."""
        from polytc.poly.summary import summarize
        return summarize(self.tiled_schedule, self.program)


class Kernel(StageViews):
    """A compiled TC def.  Call it with numpy arrays (positionally in declared
    order, or by name); it returns the output, or a tuple of outputs in
    return-list order.

    :ivar c_source: the generated C.
    :ivar inputs, outputs: names in call and return order.
    :ivar sizes: the size symbols, in the order of the C function's arguments.
    :ivar tuning: the tuning record whose options built this kernel (a dict,
        see :mod:`polytc.tuning.records`), or None.

    A kernel pickles (it is compiled again from its text and options on the
    other side, from the compile cache), and a call whose work is tiny runs
    on one thread unless ``num_threads`` is given.
    """

    def __init__(self, cfunction: CFunction,
                 library: str | PolytcError | Callable[[], str | PolytcError],
                 stages: Callable[[], dict[str, Any]],
                 respecialise: Callable[[str], "Kernel"] | None = None,
                 for_sizes: Callable[[tuple[int, ...]], "Kernel"] | None = None,
                 threads: int | None = None, *,
                 recipe: tuple[Callable[..., "Kernel"], tuple[Any, ...]] | None = None,
                 for_windows: Callable[[tuple[int, ...]], "Kernel"] | None = None,
                 complete: Callable[[], CFunction] | None = None) -> None:
        # ``complete``: where ``cfunction`` is only the ABI (its C not yet
        # generated: a specialised kernel), what generates the C when asked
        self._cfunction = cfunction
        self._complete = complete
        self._library = library
        self._stages_factory = stages
        self._stages: dict[str, Any] | None = None
        self._respecialise = respecialise
        self._variants: dict[str, Kernel] = {}
        self._for_sizes = for_sizes
        self._by_sizes: dict[tuple[int, ...], Kernel] = {}
        self._for_windows = for_windows
        self._windows = tuple(cfunction.params.index(p) for p in cfunction.windows)
        #: the kernels compiled for window sizes (windows.py), by their values
        self.by_window: dict[tuple[int, ...], Kernel] = {}
        self._threads = threads
        self.tuning: dict[str, Any] | None = None
        self._recipe = recipe
        self.inputs = tuple(t.name for t in cfunction.inputs)
        self.outputs = tuple(t.name for t in cfunction.outputs)
        self.sizes = cfunction.params
        self._plan = CallPlan(cfunction)
        self._function: Any = None
        self._ffi: Any = None
        self._lib: Any = None
        self._fast: Callable[[tuple[Any, ...], int | None, Any], Any] | None = None

    # -- inspection --------------------------------------------------------
    @property
    def c_source(self) -> str:
        """The generated C (a ``specialize=True`` kernel's, for any sizes,
        is generated on first use: its calls run kernels for their sizes)."""
        return self._generated().source

    def _generated(self) -> CFunction:
        """The C function, generated now if it was left for its first use."""
        if self._complete is not None:
            self._cfunction, self._complete = self._complete(), None
        return self._cfunction

    def _stage(self, name: str) -> Any:
        if self._stages is None:
            self._stages = self._stages_factory()
        return self._stages[name]

    @property
    def output_extents(self) -> dict[str, tuple[str, ...]]:
        """Each output's shape as expressions of the sizes (inferred by TC's rules)."""
        return {t.name: tuple(str(e) for e in self.program.tensor(t.name).shape)
                for t in self._cfunction.outputs}

    def output_shapes(self, **sizes: int) -> dict[str, tuple[int, ...]]:
        """Output shapes for given size values, e.g. ``k.output_shapes(M=3, N=4, K=5)``."""
        missing = [s for s in self.sizes if s not in sizes]
        if missing:
            raise ArgumentError(f"missing sizes: {', '.join(missing)}")
        values = tuple(int(sizes[s]) for s in self.sizes)
        shapes = self._plan.shapes(values)
        return dict(zip(self.outputs, shapes))

    @property
    def library_path(self) -> str | None:
        """The compiled shared library (None when it could not be built)."""
        library = self._built()
        return library if isinstance(library, str) else None

    def _built(self) -> str | PolytcError:
        """The library, built now if it was left for its first use (a
        ``specialize=True`` kernel calls per-shape kernels instead)."""
        if callable(self._library):
            self._library = self._library()
        return self._library

    def save(self, directory: str | os.PathLike[str], *, name: str | None = None,
             harness: bool = True) -> list[Path]:
        """Export standalone C into ``directory``: ``<name>.c``, ``<name>.h`` (the
        documented ABI), ``<name>_main.c`` (a timing harness, when ``harness``)
        and a ``Makefile``; ``name`` defaults to the def's name.  Returns the
        paths written.  See :mod:`polytc.codegen_c.export`."""
        from polytc.codegen_c.export import save
        return save(self._generated(), directory, name=name, harness=harness)

    # -- pictures (polytc.plot; matplotlib from pip install 'polytc[plot]') ----
    def plot(self, what: str = "schedule", **options: Any) -> Any:
        """A matplotlib Figure of this kernel: ``what`` is ``"schedule"``
        (:func:`polytc.plot.plot_schedule`), ``"domain"``, ``"deps"`` or
        ``"fusion"``; ``options`` go to that function (``sizes={...}``)."""
        from polytc.plot import plot
        return plot(self, what, **options)

    def dependence_graph_dot(self) -> str:
        """The dependence graph as Graphviz DOT text (no Graphviz needed):
        statements, labelled dependence edges, fused groups as clusters."""
        from polytc.plot.dot import dependence_graph_dot
        return dependence_graph_dot(self)

    def _repr_html_(self) -> str:
        """Jupyter's rich view: signature, schedule, C source, a picture."""
        from polytc.plot.html import kernel_html
        return kernel_html(self)
    def __reduce__(self) -> tuple[Callable[..., "Kernel"], tuple[Any, ...]]:
        """A kernel pickles as the recipe that compiled it (text and options):
        unpickling compiles again, which the compile cache makes cheap, so a
        kernel can go to a process pool."""
        if self._recipe is None:
            raise TypeError(f"{self!r} cannot be pickled: it was not made by polytc.compile")
        return self._recipe

    def __repr__(self) -> str:
        inputs = ", ".join(f"{t.dtype}[{', '.join(map(str, t.dims))}] {t.name}"
                           for t in self._cfunction.inputs)
        return f"<polytc.Kernel {self._cfunction.function}({inputs}) -> ({', '.join(self.outputs)})>"

    # -- calling -------------------------------------------------------------
    def __call__(self, /, *args: Any, out: Any = None, num_threads: int | None = None,
                 unchecked: bool = False, **named: Any) -> Any:
        if self._fast is not None and not named:  # its checks are cheap
            result = self._fast(args, num_threads, out)
            if result is not None:
                return result
        arrays = self._plan.arrange(args, named)
        if self._respecialise is not None:
            variant = self._variant_for(arrays)
            if variant is not None:
                return variant(*arrays, out=out, num_threads=num_threads)
        if self._for_sizes is not None and not unchecked:
            arrays = self._plan.check_inputs(arrays)
            sizes = self._plan.bind_sizes(arrays)
            self._plan.check_conditions(sizes)  # before compiling for them
            return self._sized(sizes)(
                *arrays, out=out, num_threads=num_threads)
        if unchecked:
            sizes = self._plan.sizes_unchecked(arrays)
        else:
            arrays = self._plan.check_inputs(arrays)
            sizes = self._plan.bind_sizes(arrays)
            windowed = self._windowed(sizes)
            if windowed is not None:
                self._plan.check_conditions(sizes)  # before compiling for them
                return windowed(*arrays, out=out, num_threads=num_threads)
        outputs = self._plan.outputs(sizes, out, arrays, unchecked)
        self._run(sizes, arrays, outputs, num_threads)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _sized(self, sizes: tuple[int, ...]) -> "Kernel":
        """The kernel compiled for these size values (``specialize=True``)."""
        if sizes not in self._by_sizes:
            assert self._for_sizes is not None
            self._by_sizes[sizes] = self._for_sizes(sizes)
        return self._by_sizes[sizes]

    def _windowed(self, sizes: tuple[int, ...]) -> "Kernel | None":
        """The kernel compiled for this call's window sizes (windows.py),
        where the call does enough work and its windows are narrow, else None."""
        if self._for_windows is None:
            return None
        values = tuple(sizes[p] for p in self._windows)
        work = self._plan.work(sizes)
        if max(values) > MAX_WINDOW or min(values) < 1 or work is None or work < MIN_WINDOW_WORK:
            return None
        if values not in self.by_window:
            self.by_window[values] = self._for_windows(values)
        return self.by_window[values]

    def _variant_for(self, arrays: list[Any]) -> "Kernel | None":
        """The kernel specialised to the arrays' dtype (bare form without dtype=)."""
        if all(getattr(arrays[i], "dtype", _FLOAT32) == _FLOAT32 for i in self._plan.generic):
            return None
        kinds = {arrays[i].dtype.name for i in self._plan.generic
                 if isinstance(arrays[i], np.ndarray)}
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        if kind == dtypes.FLOAT32 or kind not in dtypes.SUPPORTED:
            return None
        if kind not in self._variants:
            assert self._respecialise is not None
            self._variants[kind] = self._respecialise(kind)
        return self._variants[kind]

    def _default_threads(self) -> int:
        return self._threads if self._threads is not None else config.default_threads()

    def _run(self, sizes: tuple[int, ...], arrays: Sequence[Any], outputs: list[np.ndarray],
             num_threads: int | None) -> None:
        library = self._built()
        if isinstance(library, PolytcError):
            raise library  # e.g. no C compiler: c_source is all there is
        if self._function is None:
            self._ffi, self._lib = load_checked(library, self._generated())
            self._function = getattr(self._lib, self._cfunction.function)
            if self._for_windows is None:  # (a windowed call goes elsewhere)
                self._fast = fast_path(self._plan, self._ffi, self._function,
                                       self._default_threads, self._explain_gather)
        ffi, plan = self._ffi, self._plan
        pointers = [ffi.from_buffer(ctype, array) for ctype, array in
                    zip(plan.input_ctypes, arrays)]
        pointers += [ffi.from_buffer(ctype, array, require_writable=True)
                     for ctype, array in zip(plan.output_ctypes, outputs)]
        if num_threads is not None:
            threads = check_threads(num_threads)
        else:  # a tiny call runs on one thread: a parallel region costs more
            threads = 1 if plan.tiny(sizes) else self._default_threads()
        status = self._function(*sizes, *pointers, int(threads))
        if status:
            raise_status(status, plan, sizes, lambda: self._explain_gather([*arrays, *outputs]))

    def _explain_gather(self, arrays: Sequence[Any]) -> str | None:
        """What went out of range in the last call (its inputs, then outputs)."""
        if not self._cfunction.gathers:
            return None
        names = [t.name for t in self._cfunction.inputs] + [t.name for t in self._cfunction.outputs]
        return gather_report.explain(self._cfunction, self._ffi, self._lib,
                                     dict(zip(names, arrays)))
