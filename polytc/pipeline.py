"""The whole compiler as one readable sequence of stages.

    text --parse--> defs --select--> def --lower--> Program --dependences-->
    Dependences --schedule--> isl.Schedule --tile--> isl.Schedule --to_c-->
    CFunction --build--> .so

``POLYTC_DEBUG=1`` logs each stage's value (logger ``polytc``), and
``POLYTC_TIME_PASSES=1`` logs each stage's time.  A front cache keyed by the
text and the options skips every stage on a repeat compile.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import time
import warnings
from typing import Any, Callable, ContextManager, TypeVar

import islpy as isl

from polytc import config, dtypes, errors
from polytc import frontend, poly, tiling
from polytc.codegen_c import build as builder
from polytc.codegen_c.conditions import SizeCheck
from polytc.codegen_c.cfunction import CFunction, TensorArg
from polytc.codegen_c.emit import AstBuildError, signature, to_c
from polytc.codegen_c.kernel import Kernel
from polytc.errors import CompilerNotFoundError, OptionError, PolytcError, PolytcInternalError
from polytc.isl_util import over_budget, within_budget
from polytc.options import (DtypeOption, FuseOption, Options, ScheduleOption, SizesOption,
                            TileOption, UnrollOption, options_from)
from polytc.program import Program
from polytc.tuning import records as tuning_records

_Code = TypeVar("_Code")  # what code generation makes: a C function, a block
log = logging.getLogger("polytc")
log.addHandler(logging.NullHandler())
if config.debug_stages() or config.time_passes():  # the user asked to see the stages
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("polytc: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
_front_memory: dict[str, CFunction] = {}


def compile(text: str, entry: str | None = None, *,  # noqa: A001
            dtype: DtypeOption = None, scheduler: str = "pluto", fuse: FuseOption = "smart",
            schedule: ScheduleOption = None, parallel: bool = True, tile: TileOption = "auto",
            unroll: UnrollOption = "auto", vectorize: bool = True,
            time_tiling: str = "auto", reassociate: bool = True, pack: bool = True,
            specialize: bool = False,
            threads: int | None = None, sizes: SizesOption = None,
            cache: bool = True, tuned: bool | str = True, **unknown: Any) -> Kernel:
    """Compile TC ``text`` (one or more defs, or bare statements) to a :class:`Kernel`.

    :arg entry: the def to compile when ``text`` has several.
    :arg dtype: element type of the bare form's inputs (``"float64"``,
        ``np.int32``...); None: float32, re-specialised to the call's arrays.
    :arg scheduler: ``"pluto"`` (ours), ``"isl"`` (isl's) or ``"identity"``
        (the textual order).
    :arg fuse: ``"smart"``, ``"max"``, ``"none"``, or statement groups such
        as ``[["S0", "S1"], ["S2"]]``.
    :arg schedule: a schedule of your own (tree or union map, isl text or
        object, e.g. ``str(kernel.schedule)``), checked for legality.
    :arg parallel: OpenMP ``parallel for`` on parallel loops.
    :arg tile: ``"auto"`` (a cache model), None, an int, a tuple per band
        member, or a list of tuples for several levels.
    :arg unroll: register blocks: ``"auto"``, None, or factors ``(rows, width)``.
    :arg vectorize: ``omp simd`` on parallel stride-1 innermost loops.
    :arg time_tiling: a time-iterated stencil's tiles: ``"auto"``,
        ``"wavefront"`` or ``"diamond"`` (they all start at once, where
        dependences allow).
    :arg reassociate: combine a reduction's terms in any order (one partial
        result per vector lane), so reductions along the vector loop are
        vectorised; False keeps the written order.
    :arg pack: copy the tiles a vector loop streams into contiguous buffers.
    :arg specialize: compile one kernel per shape, sizes as constants.
    :arg threads: default thread count of calls (else ``OMP_NUM_THREADS``); a
        call whose work is tiny runs on one thread unless ``num_threads`` says
        otherwise.
    :arg sizes: compile for these sizes only (``{"M": 512, ...}``).
    :arg cache: use the on-disk compile cache.
    :arg tuned: apply the record of ``polytc tune`` for this text, sizes and
        machine when no option is given (``"any-machine"``: another
        machine's too; False: never).

    Every option is checked (:class:`polytc.Options`); a misspelled name
    raises :class:`~polytc.errors.OptionError` with the nearest name.
    """
    if not isinstance(text, str):
        raise OptionError(f"TC text must be a str, not {type(text).__name__}")
    # the options, by name (the keyword arguments above; `unknown` holds misspellings)
    given: dict[str, Any] = dict(
        dtype=dtype, scheduler=scheduler, fuse=fuse, schedule=schedule, parallel=parallel,
        tile=tile, unroll=unroll, vectorize=vectorize, time_tiling=time_tiling,
        reassociate=reassociate, pack=pack,
        specialize=specialize,
        threads=threads, sizes=sizes, cache=cache, tuned=tuned)
    opts = options_from({**given, **unknown})
    options = {**given, "schedule": opts.schedule}  # isl text: picklable
    opts, tuning = tuning_records.apply(text, entry, opts)  # polytc tune's record, if any
    key = _front_key(text, entry, opts)
    computed: dict[str, Any] | None = None

    def generated() -> CFunction:
        """The C function, from the front cache or generated (and stored)."""
        nonlocal computed
        cfunction = _front_lookup(key, opts)
        if cfunction is None:
            with _front_lock(key, opts):  # another process may be generating the same C
                cfunction = _front_lookup(key, opts)
                if cfunction is None:
                    computed, said = _stages_and_warnings(text, entry, opts)
                    cfunction = dataclasses.replace(computed["c"], diagnostics=said)
                    _front_store(key, cfunction, opts)
        for name, message in cfunction.diagnostics:  # said again on every compile
            warnings.warn(getattr(errors, name, errors.PolytcWarning)(message), stacklevel=3)
        return cfunction
    # a specialised kernel's calls run kernels for their sizes: its own C, for
    # any sizes, waits for a use (conv2d's took 7 s of isl, its sized one 1 s)
    lazy = opts.specialize and _front_lookup(key, opts) is None
    cfunction = _signature(text, entry, opts) if lazy else generated()

    def build() -> str | CompilerNotFoundError:
        source = kernel.c_source if lazy else cfunction.source  # (lazy: generated now)
        try:
            return str(_timed("build", lambda: builder.build(source, use_cache=opts.cache)))
        except CompilerNotFoundError as missing:  # c_source still works; calls raise this
            log.warning("%s", missing)
            return missing

    def respecialise(dtype: str) -> Kernel:
        return compile(text, entry, **{**options, "dtype": dtype})

    def for_sizes(values: tuple[int, ...]) -> Kernel:
        return compile(text, entry, **{**options, "specialize": False,
                                       "sizes": tuple(zip(cfunction.params, values))})

    def for_windows(values: tuple[int, ...]) -> Kernel:
        """The kernel for these window sizes, and the sizes it was given."""
        return compile(text, entry, **{**options, "sizes": (*(opts.sizes or ()),
                                                            *zip(cfunction.windows, values))})
    generic = opts.dtype is None and frontend.parse(text)[0].bare
    # a specialised kernel calls a kernel per shape: its own library waits for a use
    library = build if opts.specialize else build()
    kernel = Kernel(cfunction, library, lambda: computed or run_stages(text, entry, opts),
                    respecialise if generic else None,
                    for_sizes if opts.specialize else None, opts.threads,
                    recipe=(rebuild, (text, entry, options)),
                    for_windows=for_windows if cfunction.windows and not opts.specialize
                    else None, complete=generated if lazy else None)
    kernel.tuning = tuning
    return kernel


def _signature(text: str, entry: str | None, opts: Options) -> CFunction:
    """The ABI of the kernel of ``text`` (see :func:`polytc.codegen_c.emit.signature`),
    from the front end alone."""
    return signature(front_end(text, entry, opts), dict(opts.sizes or ()))


def front_end(text: str, entry: str | None, opts: Options) -> Program:
    """The def of ``text`` that ``entry`` names, parsed and lowered (sizes
    still parameters)."""
    defs = _timed("parse", lambda: frontend.parse(text))
    definition = _timed("select", lambda: frontend.select(defs, entry, text))
    dtype = dtypes.canonical(opts.dtype or dtypes.FLOAT32)
    return _logged("lower", lambda: frontend.lower(definition, text, dtype=dtype))


def rebuild(text: str, entry: str | None, options: dict[str, Any]) -> Kernel:
    """:func:`compile` again (an unpickled :class:`Kernel`: the compile cache
    makes it cheap)."""
    return compile(text, entry, **options)


def _stages_and_warnings(text: str, entry: str | None,
                         opts: Options) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """:func:`run_stages`, and the polytc warnings it gave (class name, message),
    which the front cache keeps so that a cached compile says them too.
    Other warnings pass through."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stages = run_stages(text, entry, opts)
    said = []
    for warning in caught:
        if isinstance(warning.message, errors.PolytcWarning):
            said.append((type(warning.message).__name__, str(warning.message)))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    return stages, tuple(dict.fromkeys(said))


def run_stages(text: str, entry: str | None, opts: Options) -> dict[str, Any]:
    """Every stage's value, from the parsed defs to the C function."""
    stages: dict[str, Any] = {}
    parametric = front_end(text, entry, opts)
    stages["program"] = parametric
    if opts.sizes is not None:
        stages["program"] = _timed("fix sizes", lambda: fix_sizes(parametric,
                                                                  dict(opts.sizes or ())))
    # Scheduling and tiling see the sizes as parameters even when the kernel
    # is specialised: with constant sizes Pluto's bounding function takes a
    # distance as long as a row for a constant (softmax fused into a skewed,
    # 13x slower band); only code generation sees the constants.
    stages.update(scheduled(parametric, opts))
    deps = stages["dependences"]
    stages["tiled"], stages["c"] = tiled_code(
        parametric, stages, opts,
        lambda tiled, tile: to_c(stages["program"], tiled, parallel=opts.parallel,
                                 fixed=dict(opts.sizes or ()),
                                 keep_loop_order=tile is not None, deps=deps),
        lambda function: function.source)
    return stages


def scheduled(program: Program, opts: Options) -> dict[str, Any]:
    """The dependences and the schedule of ``program``."""
    stages: dict[str, Any] = {}
    stages["dependences"] = _logged("dependences", lambda: poly.dependences(program))
    stages["schedule"] = _logged("schedule", lambda: schedule(
        program, stages["dependences"], opts))
    return stages


#: isl operations that tiling and code generation together may use (the
#: kernel corpus needs at most 20 million, for a strided conv2d; without
#: register tiling a tenth of that); past them, past MAX_C_LINES of C, or
#: past MAX_UNROLLED register-block rows for gcc to unroll (the sum of the
#: ``GCC unroll`` factors: a fused conv -> relu -> pool has 162, a random
#: program's 432 took gcc 86 s), the kernel is made
#: again without register tiling, then without tiling (a random program's
#: fused windows: 3,075 lines, 30 s)
TRANSFORM_OPERATIONS = (30_000_000, 10_000_000)
#: CPU seconds for the same rungs: isl's time per operation varies by orders
#: of magnitude (see :mod:`polytc.isl_clock`)
TRANSFORM_SECONDS = (60.0, 30.0)
MAX_C_LINES = 2_500
MAX_UNROLLED = 256


def tiled_code(parametric: Program, stages: dict[str, Any], opts: Options,
               emit: Callable[[isl.Schedule, object], _Code],
               text: Callable[[_Code], str],
               one_thread: bool = False) -> tuple[isl.Schedule, _Code]:
    """The tiled schedule and its code (``emit(tiled, tile)``, whose C is
    ``text(code)``: the kernel's function, or a block of C input), each rung
    of the ladder within the bounds above, the last one without.  Where the
    schedule is a scheduler's (not the user's, not the original order), the
    last rung is the program's original order, untiled: even untiled, a
    scheduler's loops can be too much C (fuzz seed 9131028130: Pluto with
    fuse='max', 12,720 lines that took gcc 44 s, after 13 s of isl).
    ``one_thread``: the code will run on one thread (its tile sizes)."""
    deps = stages["dependences"]
    rungs: list[tuple[object, object, bool]] = list(dict.fromkeys(
        [(opts.tile, opts.unroll, False), (opts.tile, None, False), (None, None, False)]))
    if opts.schedule is None and opts.scheduler != "identity":
        rungs.append((None, None, True))
    for rung, (tile, unroll, original) in enumerate(rungs):
        if original:
            stages["schedule"] = poly.identity_schedule(parametric, deps)

        def attempt() -> tuple[isl.Schedule, _Code]:
            tiled = _logged("tile", lambda: tiling.tile_schedule(
                parametric, stages["schedule"], deps.all,
                tiling.TilingOptions(tile, unroll, opts.vectorize, opts.parallel, opts.pack,
                                     opts.time_tiling, opts.reassociate, one_thread)))
            return tiled, _logged("to_c", lambda: emit(tiled, tile))
        if rung == len(rungs) - 1:
            return attempt()
        try:
            result = _bounded_transform(parametric.context.get_ctx(), attempt,
                                        TRANSFORM_OPERATIONS[min(rung, 1)],
                                        TRANSFORM_SECONDS[min(rung, 1)])
            why = _too_big(text(result[1])) if result is not None else \
                "needs more isl work than allowed"
        except AstBuildError as error:
            result, why = None, f"could not be built by isl ({error.detail})"
        if result is not None and why is None:
            return result
        following = rungs[rung + 1]
        then = "following the program's original order, untiled" if following[2] else \
            f"trying tile={following[0]!r}, unroll={following[1]!r}"
        warnings.warn(errors.TransformFallbackWarning(
            f"[{errors.TransformFallbackWarning.id}] with tile={tile!r}, unroll={unroll!r} the "
            f"kernel {why}; {then}"), stacklevel=2)
    raise PolytcInternalError("tiling", "no rung of the ladder")  # pragma: no cover


def _too_big(source: str) -> str | None:
    """Why ``source`` is more C than gcc should be given, or None."""
    if source.count("\n") > MAX_C_LINES:
        return f"has over {MAX_C_LINES} lines of C"
    rows = sum(int(n) for n in re.findall(r"#pragma GCC unroll (\d+)", source))
    if rows > MAX_UNROLLED:
        return f"has {rows} register-block rows for the C compiler to unroll (over {MAX_UNROLLED})"
    return None


def _bounded_transform(ctx: isl.Context, attempt: Callable[[], Any], operations: int,
                       seconds: float) -> Any:
    """``attempt()`` within ``operations`` isl operations and ``seconds`` of
    CPU time; None past either."""
    def bounded() -> Any:
        try:
            return attempt()
        except PolytcInternalError:
            if over_budget(ctx):
                return None
            raise
    return within_budget(ctx, operations, bounded, seconds)


def fix_sizes(program: Program, sizes: dict[str, int]) -> Program:
    """``program`` with its context fixing each size in ``sizes``."""
    unknown = sorted(set(sizes) - set(program.params))
    if unknown:
        raise OptionError(f"sizes: {', '.join(unknown)} not a size of def '{program.name}' "
                          f"(its sizes: {', '.join(program.params) or 'none'})")
    context = program.context
    for name, value in sizes.items():
        position = context.find_dim_by_name(isl.dim_type.param, name)
        context = context.fix_val(isl.dim_type.param, position,
                                  isl.Val.int_from_si(context.get_ctx(), value))
    if context.is_empty():
        raise OptionError(f"sizes {sizes} do not satisfy def '{program.name}''s constraints "
                          f"({program.context})")
    for condition in program.conditions:
        if (context & condition.holds.align_params(context.get_space())).is_empty():
            raise OptionError(f"sizes {sizes} break the condition of def '{program.name}' "
                              f"that its read of '{condition.tensor}' needs: "
                              f"{condition.text(program.context)}")
    return dataclasses.replace(program, context=context)


def schedule(program: Program, deps: poly.Dependences, opts: Options) -> isl.Schedule:
    """The schedule ``opts`` asks for: the user's (checked), or a scheduler's."""
    if opts.schedule is not None:  # checked in full, then marked as what it is
        given = poly.to_schedule(program, opts.schedule, deps.all)
        poly.check(program, given, deps).raise_if_illegal()
        return poly.with_true_coincidence(given, deps.all)
    if opts.scheduler == "identity":
        return poly.identity_schedule(program, deps)
    fuse: Any = opts.fuse
    if opts.scheduler == "isl":
        if not isinstance(fuse, str):
            raise OptionError("isl's scheduler takes fuse='smart', 'max' or 'none', not groups")
        return poly.isl_schedule(program, deps, fuse=fuse)
    scheduled = poly.pluto_schedule(program, deps, fuse=fuse, streams_apart=opts.reassociate)
    return poly.fuse_streams(program, scheduled, deps.all) if fuse == "smart" else scheduled


def _timed(stage: str, thunk: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        value = thunk()
    except (PolytcError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as error:  # a bug of ours: never a bare traceback from deep inside
        raise PolytcInternalError(f"running stage '{stage}'",
                                  f"{type(error).__name__}: {error}") from error
    if config.time_passes():
        log.info("%-12s %8.2f ms", stage, 1e3 * (time.perf_counter() - start))
    return value


def _logged(stage: str, thunk: Callable[[], Any]) -> Any:
    value = _timed(stage, thunk)
    if config.debug_stages():
        text = value.source if isinstance(value, CFunction) else str(value)
        log.info("after %s:\n%s", stage, text)
    return value


# -- the front cache: text + options -> generated C -------------------------
def _front_key(text: str, entry: str | None, opts: Options) -> str:
    data = json.dumps([builder.CACHE_FORMAT, config.code_fingerprint(), text, entry,
                       opts.key()])
    return hashlib.sha256(data.encode()).hexdigest()


def _front_lock(key: str, opts: Options) -> ContextManager[None]:
    if not (opts.cache and config.cache_enabled()):
        return contextlib.nullcontext()
    return builder.process_lock(builder.cache_root() / "front" / key[:2] / f"{key}.lock")


def _front_lookup(key: str, opts: Options) -> CFunction | None:
    if not opts.cache:  # cache=False: made afresh, neither memory nor disk
        return None
    if key in _front_memory:
        return _front_memory[key]
    if not config.cache_enabled():
        return None
    path = builder.cache_root() / "front" / key[:2] / f"{key}.json"
    try:
        cfunction = _cfunction(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    _front_memory[key] = cfunction
    return cfunction


def _cfunction(data: dict[str, Any]) -> CFunction:
    """A :class:`CFunction` from its JSON form (lists back to tuples)."""
    def tensor(t: dict[str, Any]) -> TensorArg:
        return TensorArg(t["name"], t["dtype"], tuple(t["dims"]), tuple(t["extent_py"]))
    return CFunction(**{**data, "params": tuple(data["params"]),
                        "inputs": tuple(tensor(t) for t in data["inputs"]),
                        "outputs": tuple(tensor(t) for t in data["outputs"]),
                        "checks": tuple(SizeCheck(**{**c, "sizes": tuple(c["sizes"])})
                                        for c in data["checks"]),
                        "diagnostics": tuple(tuple(d) for d in data["diagnostics"]),
                        "gathers": tuple(tuple(g) for g in data["gathers"]),
                        "windows": tuple(data.get("windows", ()))})


def _front_store(key: str, cfunction: CFunction, opts: Options) -> None:
    if not opts.cache:
        return
    _front_memory[key] = cfunction
    if not config.cache_enabled():
        return
    path = builder.cache_root() / "front" / key[:2] / f"{key}.json"
    try:
        builder.atomic_write(path, json.dumps(dataclasses.asdict(cfunction)).encode())
    except OSError as error:  # a read-only cache is not fatal
        log.warning("could not write the compile cache at %s: %s", path, error)

