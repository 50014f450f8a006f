"""C input through the shared stages: ``parse_c``, ``transform_c``, ``compile_c``.

    C text --preprocess, parse--> regions --lower--> Program --dependences-->
    --schedule--> --tile--> block of C --splice--> the user's file, rewritten

Everything after the :class:`~polytc.program.Program` is the stage the TC
path runs (:mod:`polytc.pipeline`).  :func:`transform_c` rewrites every
``#pragma scop`` region of a file and keeps the rest byte for byte;
:func:`compile_c` builds one function of it into a callable kernel
(:mod:`polytc.codegen_c.ckernel`).
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, Sequence

import islpy as isl
from pycparser import c_ast

from polytc import __version__
from polytc.codegen_c.emit import GCC_NO_LDIST
from polytc.codegen_c import build as builder
from polytc.codegen_c.block import CBlock, by_thread_count, helper_definitions, to_c_block
from polytc.codegen_c.ckernel import CKernel, entry_point
from polytc.codegen_c.splice import Replacement, comment, declaration_start, splice
from polytc.errors import (CDiagnostic, CFrontendError, CompilerNotFoundError, OptionError,
                           PolytcError, PrivatisationFallbackWarning)
from polytc.frontend.c import (Region, Unit, only_region, region_program, read_unit,
                               select_regions)
from polytc.frontend.c.scalars import private_arrays
from polytc.frontend.c.signature import signature
from polytc.frontend.c.preprocess import CSource
from polytc.options import Options
from polytc.pipeline import scheduled, tiled_code
from polytc.program import Program
from polytc.tiling import diamond
from polytc.tiling.bands import across_time, time_band_members

_ISL_ITERATOR = re.compile(r"c\d+\Z")


#: options of TC input that C input has no use for (types and sizes come
#: from the C declarations; the C compiler sees the sizes at run time)
_TC_ONLY = ("dtype", "specialize", "sizes")


def options_of(options: dict[str, Any]) -> Options:
    """The :class:`Options` of C input."""
    for name in _TC_ONLY:
        if options.get(name) not in (None, False):
            raise OptionError(f"{name}= does not apply to C input: types and sizes come "
                              "from the C declarations")
    try:
        return Options(**options)
    except TypeError as error:
        raise OptionError(f"unknown option: {error}") from None


def region_stages(unit: Unit, region: Region, program: Program, opts: Options,
                  prefix: str) -> dict[str, Any]:
    """Every stage's value after the region's program: dependences, schedule,
    tiled schedule and the block of C (``c``), within the bounds of
    :func:`polytc.pipeline.tiled_code`; where one thread gets code of its own
    (:func:`polytc.tiling.diamond.one_thread_apart`, and the one-thread
    sizes of :func:`polytc.tiling.model.time_tile_sizes`), its tiled
    schedule is ``tiled_one_thread`` and ``c`` chooses by the thread count."""
    stages = {"program": program, **scheduled(program, opts)}
    first, last = region_lines(unit, region)
    lines = unit.source.text.splitlines()
    original = "\n".join(lines[first:last - 1] if region.scop is not None
                         else lines[first - 1:last])
    deps = stages["dependences"]
    time_members = time_band_members(stages["schedule"], deps.all)

    def code(options: Options, given: dict[str, Any], one_thread: bool = False,
             unless_tiled: tuple[isl.Schedule, CBlock] | None = None
             ) -> tuple[isl.Schedule, CBlock]:
        """The tiles and C of ``options``; the C of ``unless_tiled`` itself,
        not built again, where the tiles are those."""
        def block(tiled: isl.Schedule, tile: object) -> CBlock:
            if unless_tiled is not None and str(tiled) == str(unless_tiled[0]):
                return unless_tiled[1]
            # a stencil tiled across time runs as written where its data fit in L1
            time_tiled = tile is not None and across_time(given["schedule"], deps.all)
            return to_c_block(program, tiled, parallel=options.parallel,
                              iterator_prefix=prefix, fallback=original, deps=deps,
                              original_in_cache=time_tiled)
        return tiled_code(program, given, options, block, lambda c: c.text, one_thread)
    unreplaced = {**stages}  # tiled_code may replace the schedule (its last rung)
    stages["tiled"], stages["c"] = code(opts, stages)
    alone: CBlock | None = None
    if opts.parallel and opts.tile is not None \
            and diamond.one_thread_apart(opts.time_tiling, time_members):
        serial = opts.replaced(parallel=False, time_tiling="wavefront")
        stages["tiled_one_thread"], alone = code(serial, unreplaced)
    elif opts.parallel and opts.tile == "auto" and opts.time_tiling == "auto" \
            and time_members == 3:  # larger time tiles (model.time_tile_sizes' one_thread)
        tiled, alone = code(opts, unreplaced, True, (stages["tiled"], stages["c"]))
        if alone is stages["c"]:  # the same tiles (a row not vectorized: seidel-2d)
            alone = None
        else:
            stages["tiled_one_thread"] = tiled
    if alone is not None:
        stages["c"] = by_thread_count(alone, stages["c"])
    return stages


def transform_c(source: CSource, *, defines: Sequence[str] = (),
                include_dirs: Sequence[str | os.PathLike[str]] = (), filename: str | None = None,
                reassociate: bool = False, **options: Any) -> str:
    """``source`` (C text or a path) with every ``#pragma scop`` ...
    ``#pragma endscop`` region replaced by polytc's code for it.

    :arg defines, include_dirs: as ``-D`` and ``-I`` take them.
    :arg reassociate: let polytc reorder reductions (``s += ...`` along a
        loop that only accumulates: vectorised with one partial sum per
        vector lane); without it the output is bit-exact.
    :arg options: fields of :class:`polytc.Options` (``scheduler``, ``fuse``,
        ``tile``, ``parallel``, ...).
    """
    opts = options_of({**options, "reassociate": reassociate})
    unit = read_unit(source, defines=defines, include_dirs=include_dirs, filename=filename)
    return rewrite(unit, select_regions(unit), opts)[0]


def rewrite(unit: Unit, regions: list[Region],
            opts: Options) -> tuple[str, list[dict[str, Any]]]:
    """The text of ``unit`` with ``regions`` rewritten, and each region's stages."""
    if not regions:
        return unit.source.text, []
    programs = region_programs(unit, regions)
    prefix = iterator_prefix(unit)
    replacements: list[Replacement] = []
    used: set[str] = set()
    all_stages = []
    for region, program in zip(regions, programs):
        stages = region_stages(unit, region, program, opts, prefix)
        whole = private_arrays(program) & stages["c"].whole
        if whole:  # a private copy per iteration of the loops: share the array again
            warnings.warn(PrivatisationFallbackWarning(
                f"[{PrivatisationFallbackWarning.id}] {', '.join(sorted(whole))}: the schedule "
                "does not keep the private copies within one iteration; the arrays stay "
                "shared"), stacklevel=3)
            program = region_program(unit, region, arrays=False)
            stages = region_stages(unit, region, program, opts, prefix)
        block = stages["c"]
        first, last = region_lines(unit, region)
        all_stages.append(stages)
        used |= block.helpers
        replacements.append(Replacement(first, last, header(unit, region, opts),
                                        block.text))
    start = min(function_line(r.function) for r in regions)
    text = splice(unit.source.text, replacements, helper_definitions(used),
                  declaration_start(unit.source.text, start))
    return text, all_stages


def region_programs(unit: Unit, regions: list[Region]) -> list[Program]:
    """The program of each region; the problems of all regions raise together."""
    found: list[CDiagnostic] = []
    programs = []
    for region in regions:
        try:
            programs.append(region_program(unit, region))
        except CFrontendError as error:
            found += error.diagnostics
    if found:
        raise CFrontendError(found)
    return programs


def iterator_prefix(unit: Unit) -> str:
    """``c`` for isl's loop iterators (``c0, c1, ...``) unless the file uses such a name."""
    names: set[str] = set()

    class Names(c_ast.NodeVisitor):
        def visit_ID(self, node: c_ast.ID) -> None:
            names.add(node.name)

        def visit_Decl(self, node: c_ast.Decl) -> None:
            names.add(node.name or "")
            self.generic_visit(node)

    Names().visit(unit.ast)
    return "polytc_c" if any(_ISL_ITERATOR.match(n) for n in names) else "c"


def region_lines(unit: Unit, region: Region) -> tuple[int, int]:
    """The first and last line of the user's file a region's code replaces:
    its pragma lines and what is between; for a function without pragmas,
    the lines from its first statement to the one before its closing brace."""
    if region.scop is not None:
        return _line(unit, region.scop), _line(unit, region.endscop)
    first = _line(unit, region.items[0]) if region.items else 0
    body = region.function.body
    last = closing_line(unit.source.text, _line(unit, body), body.coord.column or 1)
    text = unit.source.text.splitlines()
    leading = text[first - 1][:max(0, _column(region.items[0]) - 1)] if first else "x"
    if not first or leading.strip() or text[last - 1].strip() != "}":
        raise CFrontendError([CDiagnostic(
            f"cannot delimit the body of '{region.function.decl.name}' by lines",
            unit.source.name, first, 1, unit.source.line(first),
            hint="put its statements between '#pragma scop' and '#pragma endscop' lines")])
    return first, last - 1


def _line(unit: Unit, node: c_ast.Node | None) -> int:
    coord = getattr(node, "coord", None)
    if coord is None or coord.file != unit.source.cpp_name:
        raise CFrontendError([CDiagnostic(
            "a region must be in the file itself, not in an included file or a macro",
            unit.source.name, getattr(coord, "line", 0) or 0, 0)])
    return int(coord.line)


def _column(node: c_ast.Node) -> int:
    return int(getattr(node.coord, "column", 1) or 1)


def closing_line(text: str, line: int, column: int) -> int:
    """The line of the ``}`` closing the ``{`` at ``line``:``column`` (comments,
    strings and character literals skipped)."""
    lines = text.splitlines(keepends=True)
    position = sum(len(x) for x in lines[:line - 1]) + column - 1
    depth = 0
    while position < len(text):
        if text.startswith("//", position):
            position = text.find("\n", position)
            position = len(text) if position < 0 else position
        elif text.startswith("/*", position):
            position = text.find("*/", position + 2)
            position = len(text) if position < 0 else position + 1
        elif text[position] in "\"'":
            quote, position = text[position], position + 1
            while position < len(text) and text[position] != quote:
                position += 2 if text[position] == "\\" else 1
        elif text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text.count("\n", 0, position) + 1
        position += 1
    return len(lines)


def function_line(function: c_ast.FuncDef) -> int:
    """The first line of a function definition's declarator or return type."""
    lines = [function.decl.coord.line]
    node = function.decl.type
    while node is not None and not isinstance(node, c_ast.IdentifierType):
        node = getattr(node, "type", None)
    if node is not None and node.coord is not None:
        lines.append(node.coord.line)
    return min(lines)


def header(unit: Unit, region: Region, opts: Options) -> str:
    """The comment above a rewritten region: what made it."""
    first, last = region_lines(unit, region)
    tile = "auto" if opts.tile == "auto" else opts.tile
    settings = (f"scheduler={opts.scheduler} fuse={opts.fuse} tile={tile} unroll={opts.unroll} "
                f"vectorize={opts.vectorize} parallel={opts.parallel} "
                f"time_tiling={opts.time_tiling} "
                f"reassociate={opts.reassociate}")
    flags = " ".join(unit.flags) or "(none)"
    return comment(f"polytc {__version__}: lines {first}-{last} of {unit.source.name} "
                   f"({region.function.decl.name}); cpp flags: {flags}; options: {settings}; "
                   "distinct arrays are assumed not to overlap")


def compile_c(source: CSource, function: str | None = None, *, defines: Sequence[str] = (),
              include_dirs: Sequence[str | os.PathLike[str]] = (), filename: str | None = None,
              reassociate: bool = False, **options: Any) -> CKernel:
    """Compile C function ``function`` of ``source`` (C text or a path; by
    default the function holding the file's one region) with its regions
    rewritten (or, without pragmas, its body after the declarations as one
    region) into a kernel called with numpy arrays.

    The library is built from the whole rewritten file plus an entry point,
    with ``-ffp-contract=off`` (C's own arithmetic, no fused multiply-add
    contraction) and the ``-I``/``-D`` flags; ``options`` are those of
    :func:`transform_c`.
    """
    opts = options_of({**options, "reassociate": reassociate})
    unit = read_unit(source, defines=defines, include_dirs=include_dirs, filename=filename)
    if function is None:
        function = only_region(unit, None).function.decl.name
    regions = select_regions(unit, function)
    params = signature(unit, regions[0].function)
    text, stages = rewrite(unit, regions, opts)
    entry = entry_point(function, params)
    translation = GCC_NO_LDIST + "\n" + text + entry.source  # as for TC kernels (emit.py)
    library: str | PolytcError
    try:
        chain = builder.toolchain(builder.env_flags() + ("-ffp-contract=off",)
                                  + compile_flags(unit, include_dirs, defines))
        library = str(builder.build(translation, chain, use_cache=opts.cache))
    except CompilerNotFoundError as missing:
        library = missing
    written = frozenset(t.name for stage in stages for t in stage["program"].tensors
                        if t.role == "inout")
    return CKernel(translation, entry, params, library, stages, written, opts.threads)


def compile_flags(unit: Unit, include_dirs: Sequence[str | os.PathLike[str]],
                  defines: Sequence[str]) -> tuple[str, ...]:
    """``-I``/``-D`` for building the rewritten file away from its directory."""
    folder = unit.source.path.parent if unit.source.path is not None else Path.cwd()
    dirs = [folder] + [Path(d) for d in include_dirs]
    return tuple(f"-I{d.resolve()}" for d in dirs) + tuple(f"-D{d}" for d in defines)
