"""C emission as a block to splice into the user's own C (C input).

The same emitter as :func:`polytc.codegen_c.emit.to_c` prints the loop nest;
here it is wrapped in ``{ ... }`` instead of a function: every loop iterator
and every buffer of a temporary is local to the block, user names are kept
verbatim (they are the user's variables), loop iterators take a prefix no
user name uses, the code runs only where the program's context holds (a
guard checks it; elsewhere the original code runs, when any statement would), ``omp parallel for`` takes the thread count from OpenMP's own
setting, and a failed allocation aborts.  The helpers the block uses are
defined once per file by :func:`helper_definitions`.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import cgen
import islpy as isl

from polytc import program as ir
from polytc.codegen_c.emit import THREADS, CStyle, Emitter, walk
from polytc.codegen_c.expr import strip_parens
from polytc.codegen_c.footprint import footprint_c
from polytc.codegen_c.names import VerbatimNames
from polytc.codegen_c.prelude import HELPERS
from polytc.errors import PolytcInternalError
from polytc.poly.dependences import Dependences
from polytc.tiling.model import machine_caches

#: OpenMP's thread count where the block starts (1 without OpenMP)
_THREADS = """#if defined(_OPENMP)
#include <omp.h>
#define POLYTC_THREADS omp_get_max_threads()
#else
#define POLYTC_THREADS 1
#endif"""
#: bytes of data within which one thread runs a time-tiled region as written
#: (this machine's L1 data cache: ``to_c_block``'s ``original_in_cache``)
ORIGINAL_WITHIN = "POLYTC_ORIGINAL_WITHIN"
#: integer helpers as functions: loop bounds are int64_t
_FUNCTIONS = {
    "POLYTC_MIN": "static inline int64_t POLYTC_MIN(int64_t a, int64_t b) "
                  "{ return a < b ? a : b; }",
    "POLYTC_MAX": "static inline int64_t POLYTC_MAX(int64_t a, int64_t b) "
                  "{ return a > b ? a : b; }",
}


@dataclass(frozen=True, slots=True)
class CBlock:
    """A block of C (``{ ... }``, no trailing newline), the helpers it uses
    and the temporaries it holds whole (none of their dimensions contracted)."""

    text: str
    helpers: frozenset[str]
    whole: frozenset[str] = frozenset()


def to_c_block(program: ir.Program, schedule: isl.Schedule, *, parallel: bool = True,
               iterator_prefix: str = "c", fallback: str | None = None,
               deps: Dependences | None = None, original_in_cache: bool = False) -> CBlock:
    """``program`` run in the order of ``schedule`` as a C block whose user
    names are the program's own (tensors, parameters, iterators).  The code
    assumes the program's context: it runs under a guard checking it, and
    ``fallback`` (the original C) runs where the context does not hold but
    some statement would (required then).  ``deps``: the program's
    dependences, when already computed.  ``original_in_cache``: on one
    thread, where the data the program touches fit in the L1 cache
    (POLYTC_ORIGINAL_WITHIN bytes), ``fallback`` runs instead: a stencil
    tiled across time whose arrays fit in L1 has no traffic to save, and its
    tiles cost more than gcc's plain sweeps (jacobi-1d at PolyBench LARGE,
    2 x 16 KB: 0.88x)."""
    style = CStyle(iterator_prefix=iterator_prefix, on_alloc_failure="abort();",
                   outer_trips_guard=True)
    try:
        emitter, loops = walk(program, schedule, parallel, deps,
                              lambda: Emitter(program, {}, names=VerbatimNames(), style=style))
        preamble, cleanup = emitter.storage()
        if THREADS in emitter.used:  # the thread count of the parallel loops' clauses
            preamble.insert(0, cgen.Line(f"const int polytc_nthreads = {THREADS};"))
        finish: list[cgen.Generable] = [cgen.Line("if (polytc_status != 0) abort();")]
        body: cgen.Generable = cgen.Block(preamble + [loops] + cleanup + finish)
        context = program.context
        in_cache = _in_cache(program, emitter) \
            if fallback is not None and original_in_cache else None
        if not context.plain_is_universe() or in_cache is not None:
            build = isl.AstBuild.from_context(isl.Set.universe(context.get_space()))
            guard = strip_parens(emitter.isl_expr(build.expr_from_set(context)))
            outside = program.domain().intersect_params(context.complement())
            other = None
            if not outside.is_empty() or in_cache is not None:
                if fallback is None:
                    raise PolytcInternalError("generating C", "a block whose context may not "
                                              "hold needs the original code as a fallback")
                other = cgen.Block([cgen.Line(line) for line in fallback.split("\n")])
            if in_cache is not None:
                guard = f"{guard} && !({in_cache})" if guard != "1" else f"!({in_cache})"
            body = cgen.Block([cgen.If(_text(guard), body, other)])
    except isl.Error as error:  # pragma: no cover - an isl failure is our bug
        raise PolytcInternalError("generating C", str(error)) from error
    whole = frozenset(t.name for t in program.temporaries) - frozenset(emitter.contractions)
    return CBlock(str(body), frozenset(emitter.used), whole)


def by_thread_count(one: CBlock, more: CBlock) -> CBlock:
    """A block that runs ``one`` where OpenMP's thread count is 1 (or
    without OpenMP) and ``more`` elsewhere."""
    text = "\n".join(["{", f"  if ({THREADS} == 1)", textwrap.indent(one.text, "  "),
                      "  else", textwrap.indent(more.text, "  "), "}"])
    return CBlock(text, one.helpers | more.helpers | {THREADS}, one.whole | more.whole)


def _in_cache(program: ir.Program, emitter: Emitter) -> str | None:
    """The C condition "one thread, and the data ``program`` touches fit in
    POLYTC_ORIGINAL_WITHIN bytes", or None where its footprint has no bound."""
    footprint = footprint_c(program, emitter.isl_expr)
    if footprint is None:
        return None
    emitter.used.update((THREADS, ORIGINAL_WITHIN))
    return f"{THREADS} == 1 && {footprint} <= {ORIGINAL_WITHIN}"


def _text(text: str) -> Any:
    """cgen takes C fragments as plain strings where its hints say Generable."""
    return text


def helper_definitions(used: set[str] | frozenset[str]) -> str:
    """The includes and ``static inline`` helpers blocks using ``used`` need,
    in a fixed order (one copy per file)."""
    lines = ["#include <stdint.h>", "#include <stdlib.h>"]
    if THREADS in used:
        lines.append(_THREADS)
    if ORIGINAL_WITHIN in used:  # -DPOLYTC_ORIGINAL_WITHIN=0 always runs the tiles
        lines.append(f"#ifndef {ORIGINAL_WITHIN}\n#define {ORIGINAL_WITHIN} "
                     f"{machine_caches().l1}\n#endif")
    for name, code in HELPERS.items():
        if name in used:
            lines.append(_FUNCTIONS.get(name, code))
    return "\n".join(lines) + "\n"
