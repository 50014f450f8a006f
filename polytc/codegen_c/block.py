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

from dataclasses import dataclass
from typing import Any

import cgen
import islpy as isl

from polytc import program as ir
from polytc.codegen_c.emit import THREADS, CStyle, Emitter, walk
from polytc.codegen_c.expr import strip_parens
from polytc.codegen_c.names import VerbatimNames
from polytc.codegen_c.prelude import HELPERS
from polytc.errors import PolytcInternalError
from polytc.poly.dependences import Dependences

#: OpenMP's thread count where the block starts (1 without OpenMP)
_THREADS = """#if defined(_OPENMP)
#include <omp.h>
#define POLYTC_THREADS omp_get_max_threads()
#else
#define POLYTC_THREADS 1
#endif"""
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
               deps: Dependences | None = None) -> CBlock:
    """``program`` run in the order of ``schedule`` as a C block whose user
    names are the program's own (tensors, parameters, iterators).  The code
    assumes the program's context: it runs under a guard checking it, and
    ``fallback`` (the original C) runs where the context does not hold but
    some statement would (required then).  ``deps``: the program's
    dependences, when already computed."""
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
        if not context.plain_is_universe():
            build = isl.AstBuild.from_context(isl.Set.universe(context.get_space()))
            guard = strip_parens(emitter.isl_expr(build.expr_from_set(context)))
            outside = program.domain().intersect_params(context.complement())
            other = None
            if not outside.is_empty():
                if fallback is None:
                    raise PolytcInternalError("generating C", "a block whose context may not "
                                              "hold needs the original code as a fallback")
                other = cgen.Block([cgen.Line(line) for line in fallback.split("\n")])
            body = cgen.Block([cgen.If(_text(guard), body, other)])
    except isl.Error as error:  # pragma: no cover - an isl failure is our bug
        raise PolytcInternalError("generating C", str(error)) from error
    whole = frozenset(t.name for t in program.temporaries) - frozenset(emitter.contractions)
    return CBlock(str(body), frozenset(emitter.used), whole)


def _text(text: str) -> Any:
    """cgen takes C fragments as plain strings where its hints say Generable."""
    return text


def helper_definitions(used: set[str] | frozenset[str]) -> str:
    """The includes and ``static inline`` helpers blocks using ``used`` need,
    in a fixed order (one copy per file)."""
    lines = ["#include <stdint.h>", "#include <stdlib.h>"]
    if THREADS in used:
        lines.append(_THREADS)
    for name, code in HELPERS.items():
        if name in used:
            lines.append(_FUNCTIONS.get(name, code))
    return "\n".join(lines) + "\n"
