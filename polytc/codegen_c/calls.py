"""How a kernel's arguments become a C call: checks, sizes, outputs.

:class:`CallPlan` is computed once per kernel from its signature: which input
dimension binds which size, which dimensions must agree, how outputs are
shaped.  :func:`fast_path` generates a call function specialised to the
signature for the common case; anything unusual returns ``None`` and the
general path (:class:`CallPlan`'s methods) checks and explains.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from polytc import config, dtypes
from polytc.codegen_c import conditions
from polytc.codegen_c.cfunction import CFunction, TensorArg
from polytc.codegen_c.work import MIN_PARALLEL_WORK
from polytc.errors import ArgumentError, KernelRuntimeError, PolytcError


class CallPlan:
    """Precomputed argument handling of one kernel: which input dimension
    binds which size, what to check, how outputs are shaped."""

    def __init__(self, cfunction: CFunction) -> None:
        self.inputs = cfunction.inputs
        self.out_args = cfunction.outputs
        self.names = tuple(t.name for t in cfunction.inputs)
        self.dtypes = tuple(dtypes.to_numpy(t.dtype) for t in cfunction.inputs)
        self.input_ctypes = tuple(f"{dtypes.C_TYPES[t.dtype]}[]" for t in cfunction.inputs)
        self.output_ctypes = tuple(f"{dtypes.C_TYPES[t.dtype]}[]" for t in cfunction.outputs)
        self.params = cfunction.params
        self.size_checks = cfunction.checks
        self.binders: list[tuple[int, int]] = []
        for param in cfunction.params:
            binder = next(((i, d) for i, t in enumerate(cfunction.inputs)
                           for d, dim in enumerate(t.dims) if dim == param), None)
            if binder is None:
                raise PolytcError(f"size '{param}' is not bound by any input")
            self.binders.append(binder)
        # (input, dimension, param index) or (input, dimension, -1 - constant)
        self.checks: list[tuple[int, int, int]] = []
        for i, tensor in enumerate(cfunction.inputs):
            for d, dim in enumerate(tensor.dims):
                if isinstance(dim, int):
                    self.checks.append((i, d, -1 - dim))
                elif (i, d) != self.binders[self.params.index(dim)]:
                    self.checks.append((i, d, self.params.index(dim)))
        self.ranks = tuple(len(t.dims) for t in cfunction.inputs)
        self.out_dtypes = tuple(dtypes.to_numpy(t.dtype) for t in cfunction.outputs)
        #: inputs whose float32 type a bare-form kernel may re-specialise
        self.generic = tuple(i for i, t in enumerate(cfunction.inputs)
                             if t.dtype == dtypes.FLOAT32)
        exprs = ", ".join("(" + "".join(f"{e}, " for e in t.extent_py) + ")"
                          for t in cfunction.outputs)
        self._shape_fn = eval(f"lambda p: ({exprs}{',' if exprs else ''})",  # noqa: S307
                              {"min": min, "max": max})
        self._shape_cache: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {}
        # sizes -> whether a call's work is below MIN_PARALLEL_WORK (filled with the shapes)
        self._tiny: dict[tuple[int, ...], bool] = {}
        self._work_fn = eval(f"lambda p: {cfunction.work_py}", {"min": min, "max": max}) \
            if cfunction.work_py else None  # noqa: S307 - generated from isl expressions

    def arrange(self, args: tuple[Any, ...], named: dict[str, Any]) -> list[Any]:
        if not named and len(args) == len(self.names):
            return list(args)
        if len(args) > len(self.names):
            raise ArgumentError(f"expected {len(self.names)} inputs "
                                f"({', '.join(self.names)}) but got {len(args)}")
        arrays = list(args) + [None] * (len(self.names) - len(args))
        for name, value in named.items():
            if name not in self.names:
                raise ArgumentError(f"unexpected argument '{name}'; inputs are "
                                    f"{', '.join(self.names)}")
            position = self.names.index(name)
            if position < len(args):
                raise ArgumentError(f"input '{name}' given twice")
            arrays[position] = value
        missing = [n for n, a in zip(self.names, arrays) if a is None]
        if missing:
            raise ArgumentError(f"missing input{'s' if len(missing) > 1 else ''}: "
                                f"{', '.join(missing)}")
        return arrays

    def check_inputs(self, arrays: list[Any]) -> list[np.ndarray]:
        for array, dtype, rank in zip(arrays, self.dtypes, self.ranks):
            if not (type(array) is np.ndarray and array.dtype == dtype and array.ndim == rank
                    and array.flags.c_contiguous):
                return self._check_slowly(arrays)
        return arrays

    def _check_slowly(self, arrays: list[Any]) -> list[np.ndarray]:
        checked = []
        for array, tensor, dtype in zip(arrays, self.inputs, self.dtypes):
            if not isinstance(array, np.ndarray):
                array = _scalar_input(array, tensor, dtype)
            if isinstance(array, np.ma.MaskedArray):
                raise ArgumentError(f"input '{tensor.name}' is a masked array, whose mask a "
                                    f"kernel cannot honour; pass {tensor.name}.filled(...)")
            if array.dtype != dtype:
                raise ArgumentError(f"input '{tensor.name}' must have dtype {tensor.dtype} "
                                    f"but has {array.dtype}; convert it with "
                                    f".astype(np.{dtype.name})")
            if array.ndim != len(tensor.dims):
                raise ArgumentError(f"input '{tensor.name}' must have {len(tensor.dims)} "
                                    f"dimensions but has {array.ndim}")
            if not array.flags.c_contiguous:
                raise ArgumentError(f"input '{tensor.name}' is not C-contiguous; pass "
                                    f"np.ascontiguousarray({tensor.name})")
            checked.append(array)
        return checked

    def bind_sizes(self, arrays: list[np.ndarray]) -> tuple[int, ...]:
        sizes = tuple(arrays[i].shape[d] for i, d in self.binders)
        for i, d, expected in self.checks:
            value = sizes[expected] if expected >= 0 else -expected - 1
            if arrays[i].shape[d] != value:
                return self._bind_slowly(arrays)
        return sizes

    def _bind_slowly(self, arrays: list[np.ndarray]) -> tuple[int, ...]:
        values: dict[str, tuple[int, str, int]] = {}
        for array, tensor in zip(arrays, self.inputs):
            for d, dim in enumerate(tensor.dims):
                extent = array.shape[d]
                if isinstance(dim, int):
                    if extent != dim:
                        raise ArgumentError(f"dimension {d} of '{tensor.name}' must be {dim} "
                                            f"but is {extent}")
                    continue
                if dim in values and values[dim][0] != extent:
                    first, name, fd = values[dim]
                    raise ArgumentError(f"size {dim} is {first} from {name} (dimension {fd}) "
                                        f"but {extent} from {tensor.name} (dimension {d})")
                values.setdefault(dim, (extent, tensor.name, d))
        return tuple(values[p][0] for p in self.params)

    def check_conditions(self, sizes: tuple[int, ...]) -> None:
        """Raise :class:`ArgumentError` when ``sizes`` break the kernel's
        condition (the C function checks it too, returning 4)."""
        if self.size_checks and conditions.broken(self.size_checks, self.params, sizes):
            raise ArgumentError(conditions.explain(self.size_checks, self.params, sizes))

    def sizes_unchecked(self, arrays: list[Any]) -> tuple[int, ...]:
        return tuple(arrays[i].shape[d] for i, d in self.binders)

    def shapes(self, sizes: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        shapes = self._shape_cache.get(sizes)
        if shapes is None:
            shapes = tuple(tuple(max(0, int(e)) for e in shape) for shape in self._shape_fn(sizes))
            if len(self._shape_cache) < 256:
                self._tiny[sizes] = self.tiny(sizes)
                self._shape_cache[sizes] = shapes
        return shapes

    def work(self, sizes: tuple[int, ...]) -> int | None:
        """A bound of the statement instances a call at ``sizes`` runs, if known."""
        return None if self._work_fn is None else int(self._work_fn(sizes))

    def tiny(self, sizes: tuple[int, ...]) -> bool:
        """Whether a call at ``sizes`` does too little work for a parallel region."""
        known = self._tiny.get(sizes)
        if known is not None:
            return known
        return self._work_fn is not None and self._work_fn(sizes) < MIN_PARALLEL_WORK

    def outputs(self, sizes: tuple[int, ...], out: Any, arrays: Sequence[Any],
                unchecked: bool) -> list[np.ndarray]:
        shapes = self.shapes(sizes)
        if out is None:
            return [np.empty(shape, dtype) for shape, dtype in zip(shapes, self.out_dtypes)]
        given = list(out) if isinstance(out, (tuple, list)) else [out]
        if len(given) != len(self.out_args):
            raise ArgumentError(f"out= must hold {len(self.out_args)} arrays "
                                f"({', '.join(t.name for t in self.out_args)})")
        if not unchecked:
            for position, (array, shape, tensor) in enumerate(zip(given, shapes,
                                                                  self.out_args)):
                _check_output(array, shape, tensor, arrays, given[:position])
        return given


def _scalar_input(value: Any, tensor: TensorArg, dtype: np.dtype) -> np.ndarray:
    """A Python number passed for a 0-d input, as a 0-d array of its dtype."""
    if tensor.dims or isinstance(value, (str, bytes)) or not np.isscalar(value):
        raise ArgumentError(f"input '{tensor.name}' must be a numpy array of "
                            f"{tensor.dtype}{' or a number' if not tensor.dims else ''}, "
                            f"got {type(value).__name__}")
    if dtype.kind in "iub" and isinstance(value, (float, np.floating)) and \
            not float(value).is_integer():
        raise ArgumentError(f"input '{tensor.name}' is {tensor.dtype} but got {value!r}, "
                            "which is not a whole number")
    try:
        array = np.asarray(value, dtype=dtype)
    except (ValueError, OverflowError, TypeError) as error:
        raise ArgumentError(f"input '{tensor.name}' ({tensor.dtype}) cannot hold "
                            f"{value!r}: {error}") from None
    if dtype.kind in "iu" and array.item() != value:
        raise ArgumentError(f"input '{tensor.name}' ({tensor.dtype}) cannot hold {value!r}")
    return array


def _check_output(array: Any, shape: tuple[int, ...], tensor: TensorArg,
                  inputs: Sequence[Any], earlier: Sequence[Any] = ()) -> None:
    dtype = dtypes.to_numpy(tensor.dtype)
    if not isinstance(array, np.ndarray):
        raise ArgumentError(f"out array for '{tensor.name}' must be a numpy array")
    if array.dtype != dtype or array.shape != shape:
        raise ArgumentError(f"out array for '{tensor.name}' must be {tensor.dtype}{list(shape)} "
                            f"but is {array.dtype}{list(array.shape)}")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ArgumentError(f"out array for '{tensor.name}' must be C-contiguous and writable")
    for value in inputs:
        if isinstance(value, np.ndarray) and np.shares_memory(array, value):
            raise ArgumentError(f"out array for '{tensor.name}' overlaps an input; inputs are "
                                "never modified, pass a separate array")
    for other in earlier:
        if isinstance(other, np.ndarray) and np.shares_memory(array, other):
            raise ArgumentError(f"out array for '{tensor.name}' overlaps the out array of "
                                "another output; give each output its own array")


def check_threads(value: Any) -> int:
    """``num_threads`` as a C int: a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 0 < value < 2 ** 31:
        raise ArgumentError(f"num_threads must be a positive int, not {value!r}")
    return int(value)


def raise_status(status: int, plan: CallPlan | None = None, sizes: tuple[int, ...] = (),
                 explain: Callable[[], str | None] | None = None) -> None:
    """Raise the error of a non-zero status of the C function (``plan`` and
    ``sizes`` explain a broken size condition, ``explain`` an out-of-range
    gather)."""
    if status == conditions.STATUS and plan is not None:
        raise ArgumentError(conditions.explain(plan.size_checks, plan.params, sizes))
    if status == 1:
        raise KernelRuntimeError((explain() if explain is not None else None) or
                                 "a gathered index was out of range of the tensor it "
                                 "indexes (the outputs hold partial results)")
    if status == 2:
        raise MemoryError("the kernel could not allocate its temporaries")
    if status == 3:
        raise ArgumentError("this kernel was specialised to other sizes (sizes=)")
    if status == conditions.STATUS:
        raise ArgumentError("the sizes break this kernel's condition on them")
    if status:
        raise KernelRuntimeError(f"the kernel returned the unknown status {status}")


def fast_path(plan: CallPlan, ffi: Any, function: Any,
              default_threads: Callable[[], int] = config.default_threads,
              explain: Callable[[Sequence[Any]], str | None] | None = None
              ) -> Callable[..., Any]:
    """A call function specialised to this kernel's signature, for the common
    case: every input a contiguous array of the right dtype and rank, passed
    positionally, outputs allocated here.  It returns None whenever anything
    differs, and the general path then checks and explains.  Its text uses
    only generated names (``a0``, ``s0``...), never user names."""
    n = len(plan.inputs)
    lines = ["def fast(args, num_threads, out):",
             f"    if len(args) != {n}: return None"]
    if n:
        lines.append(f"    {', '.join(f'a{i}' for i in range(n))}{',' if n == 1 else ''} = args")
    for i in range(n):
        lines.append(f"    if type(a{i}) is not ndarray or a{i}.dtype is not dt{i} or "
                     f"a{i}.ndim != {plan.ranks[i]}: return None")
    for k, (i, d) in enumerate(plan.binders):
        lines.append(f"    s{k} = a{i}.shape[{d}]")
    for i, d, expected in plan.checks:
        value = f"s{expected}" if expected >= 0 else str(-expected - 1)
        lines.append(f"    if a{i}.shape[{d}] != {value}: return None")
    sizes = "".join(f"s{k}, " for k in range(len(plan.binders)))
    lines.append(f"    shapes = shape_cache.get(({sizes}))")
    lines.append("    if shapes is None: return None")
    outs = [f"o{j}" for j in range(len(plan.out_args))]
    lines.append("    if out is None:")
    for j in range(len(outs)):
        lines.append(f"        o{j} = empty(shapes[{j}], odt{j})")
    lines.append("    else:")
    if len(outs) == 1:
        lines.append("        o0 = out")
    else:
        lines.append(f"        if type(out) is not tuple or len(out) != {len(outs)}: return None")
        lines.append(f"        {', '.join(outs)} = out")
    for j in range(len(outs)):
        lines.append(f"        if type(o{j}) is not ndarray or o{j}.dtype is not odt{j} or "
                     f"o{j}.shape != shapes[{j}]: return None")
        for i in range(n):  # any overlap with an input: the general path explains
            lines.append(f"        if overlap(o{j}, a{i}): return None")
        for k in range(j):  # or with another output
            lines.append(f"        if overlap(o{j}, o{k}): return None")
    pointers = [f"fb(ct{i}, a{i})" for i in range(n)]
    pointers += [f"fb(oct{j}, o{j}, require_writable=True)" for j in range(len(outs))]
    lines += ["    try:",
              f"        pointers = ({''.join(p + ', ' for p in pointers)})",
              "    except ValueError: return None",
              "    if num_threads is None:",
              f"        nthreads = 1 if tiny.get(({sizes})) else threads()",
              "    else:",
              "        nthreads = check_threads(num_threads)",
              "    status = fn(" + sizes + "*pointers, nthreads)",
              f"    if status: raise_status(status, plan, ({sizes}), lambda: explain(("
              + "".join(f"a{i}, " for i in range(n)) + "".join(f"{o}, " for o in outs) + ")))",
              f"    return {outs[0] if len(outs) == 1 else '(' + ', '.join(outs) + ',)'}"]
    scope: dict[str, Any] = {"ndarray": np.ndarray, "empty": np.empty, "fb": ffi.from_buffer,
                             "overlap": np.may_share_memory,
                             "fn": function, "threads": default_threads,
                             "raise_status": raise_status, "shape_cache": plan._shape_cache,
                             "plan": plan, "tiny": plan._tiny,
                             "explain": explain or (lambda arrays: None),
                             "check_threads": check_threads}
    scope.update({f"dt{i}": dtype for i, dtype in enumerate(plan.dtypes)})
    scope.update({f"ct{i}": ctype for i, ctype in enumerate(plan.input_ctypes)})
    scope.update({f"odt{j}": dtype for j, dtype in enumerate(plan.out_dtypes)})
    scope.update({f"oct{j}": ctype for j, ctype in enumerate(plan.output_ctypes)})
    exec("\n".join(lines), scope)  # noqa: S102 - generated from the signature only
    return scope["fast"]
