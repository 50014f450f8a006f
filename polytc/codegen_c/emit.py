"""C emission: a program and its schedule tree to one C function.

The schedule is marked (``parallel`` above the outermost coincident band
member), isl builds the AST, and we walk the AST into cgen nodes ourselves, so
every pragma is a decision made here, in data (PPCG's ``cpu.c`` way).

Temporaries that the schedule lets contract (:mod:`polytc.codegen_c.contract`)
get a buffer of their kept dimensions only: a local array inside their loop
nest when small and constant, else one malloc per enclosing parallel loop
iteration (private to its thread) or per call.

Generated function (the ABI, also written at the top of the file)::

    int polytc_<def>(int64_t <size>..., const T *restrict <input>...,
                     T *restrict <output>..., int polytc_nthreads);

Sizes come in signature order; tensors are dense, row-major and at least
16-byte aligned.  It returns 0, 1 when a gathered index was out of range (the
read used element 0 instead), 2 when a temporary could not be allocated, 3
when a kernel specialised to fixed sizes is called with other sizes, or 4
when the sizes break the condition its reads need
(:mod:`polytc.codegen_c.conditions`).
"""
from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.cfunction import CFunction, TensorArg
from polytc.codegen_c.conditions import size_checks
from polytc.codegen_c.contract import (CONTRACT_PREFIX, buffer_extents, mark_contractions,
                                      split_contractions)
from polytc.codegen_c.expr import BodyPrinter, Layout, Promotion, ast_expr, literal, strip_parens
from polytc.codegen_c.names import NameTable
from polytc.codegen_c.pragmas import (annotation, mark_parallel, pragma_mark, register_rows,
                                      trip_count)
from polytc.codegen_c.pack import Packing
from polytc.codegen_c.prelude import prelude, vector_math
from polytc.codegen_c.promote import PromotionEmitter
from polytc.codegen_c.reduce import REDUCE_PRAGMA, ReductionEmitter, ReductionPlan
from polytc.codegen_c.storage import PackedTile, StorageEmitter, c_block, c_text
from polytc.codegen_c.windows import window_sizes
from polytc.codegen_c.work import work_py
from polytc.errors import PolytcInternalError
from polytc.isl_util import condition_text
from polytc.poly.contraction import Contraction
from polytc.poly.dependences import Dependences, dependences
from polytc.tiling import marks

#: in ``Emitter.used`` when a parallel loop reads the thread count
THREADS = "POLYTC_THREADS"
#: gcc may not redistribute polytc's loops (its loop distribution is polytc's
#: fusion decision undone, and gcc 12.2 -O3 -march=native ran the statements
#: of fuzz seed 9129030118's fused loop in the wrong order: a read of a
#: temporary before its write, wrong on a kernel's first call) nor, when
#: tiled, interchange them
def _gcc_only(pragma: str) -> str:
    return f"#if defined(__GNUC__) && !defined(__clang__)\n{pragma}\n#endif"


#: the most bytes of a parallel loop's array reductions: OpenMP puts each
#: thread's private copy on its stack (8 MiB by default; a 40 MB copy crashed),
#: and a loop whose copies would be larger runs on one thread
MAX_PRIVATE_COPY_BYTES = 1 << 20

GCC_NO_LDIST = _gcc_only('#pragma GCC optimize ("no-tree-loop-distribution")')
_KEEP_LOOP_ORDER = _gcc_only(
    '#pragma GCC optimize ("no-tree-loop-distribution", "no-loop-interchange")')
# islpy's stubs omit the members named after Python keywords.
_IF, _FOR = getattr(isl.ast_node_type, "if_"), getattr(isl.ast_node_type, "for_")


def to_c(program: ir.Program, schedule: isl.Schedule, *, parallel: bool = True,
         fixed: dict[str, int] | None = None, keep_loop_order: bool = False,
         deps: Dependences | None = None) -> CFunction:
    """Emit ``program`` executed in the order of ``schedule`` as C; sizes in
    ``fixed`` become constants (the function returns 3 when called with
    others).  ``keep_loop_order`` asks gcc not to interchange the loops of a
    tiled schedule (with constant sizes it undid register tiling: 2-3x slower).
    ``deps``: the program's dependences, when already computed; a
    contracted temporary whose values would cross buffers (isl generated
    its mark more than once) is emitted again with its full buffer, and
    none is contracted when the dependences are not exact."""
    emitter, loops = walk(program, schedule, parallel, deps,
                          lambda: Emitter(program, fixed or {}, keep_loop_order))
    return emitter.function(loops)


def signature(program: ir.Program, fixed: Mapping[str, int] | None = None) -> CFunction:
    """The ABI of ``program``'s kernel function (sizes, tensors, the size
    checks, a work bound, the window sizes not in ``fixed``) without its C:
    what a caller checks and binds before any C exists (a
    ``specialize=True`` kernel), and what :func:`to_c` completes."""
    build = isl.AstBuild.from_context(program.context)
    index = {p: i for i, p in enumerate(program.params)}

    def argument(tensor: ir.Tensor) -> TensorArg:
        extent_py = tuple(ast_expr(build.expr_from_pw_aff(e), lambda n: f"p[{index[n]}]", "py")
                          for e in tensor.shape) if tensor.role != "input" else ()
        return TensorArg(tensor.name, tensor.dtype, tensor.dims, extent_py)
    return CFunction("", "polytc_" + NameTable.checked(program.name), program.params,
                     tuple(argument(t) for t in program.inputs),
                     tuple(argument(t) for t in program.outputs),
                     checks=size_checks(program), work_py=work_py(program),
                     windows=tuple(p for p in window_sizes(program) if p not in (fixed or {})))


def walk(program: ir.Program, schedule: isl.Schedule, parallel: bool,
         deps: Dependences | None,
         make: Callable[[], "Emitter"]) -> tuple["Emitter", cgen.Generable]:
    """An emitter from ``make`` and the loop nest it printed for ``schedule``
    (the C of :func:`to_c` and of :func:`polytc.codegen_c.block.to_c_block`):
    a contracted temporary whose values would cross buffers (isl generated
    its mark more than once) is printed again with its full buffer, none is
    contracted when the dependences are not exact, and an isl failure that
    grouping coscheduled statements avoids is retried with it."""
    if program.temporaries and deps is None:
        deps = dependences(program)
    excluded = frozenset(t.name for t in program.temporaries) \
        if deps is not None and not deps.exact else frozenset()
    grouped = False
    while True:
        emitter = make()
        try:
            with _ast_grouping(program.context.get_ctx(), grouped):
                loops = emitter.loops(schedule, parallel, excluded)
        except isl.Error as error:
            if "unknown divs" in str(error) and not grouped:
                grouped = True  # an isl failure that grouping coscheduled statements avoids
                continue
            raise AstBuildError("generating C", str(error)) from error
        if not emitter.contractions or deps is None:
            return emitter, loops
        split = split_contractions(program, deps.flow, emitter.contractions, emitter.copies)
        if not split:
            return emitter, loops
        excluded |= split  # those keep their full buffers


@contextmanager
def _ast_grouping(ctx: isl.Context, grouped: bool) -> Iterator[None]:
    """isl's ``ast_build_group_coscheduled`` on during the block, if
    ``grouped``: isl's AST build of fuzz seed 20240849's fused schedule
    fails (``input involves unknown divs``) without it."""
    if not grouped:
        yield
        return
    saved = ctx.get_ast_build_group_coscheduled()
    ctx.set_ast_build_group_coscheduled(1)
    try:
        yield
    finally:
        ctx.set_ast_build_group_coscheduled(saved)




class AstBuildError(PolytcInternalError):
    """isl could not build the AST of a schedule (``cannot handle void
    expression`` on a register-tiled tree of fuzz seed 9129028104): the
    pipeline tries a simpler tiling before calling it a bug."""


@dataclass(frozen=True, slots=True)
class CStyle:
    """What differs between the C function of a kernel (the defaults) and a
    loop nest spliced into the user's own C (:mod:`polytc.codegen_c.block`):
    the prefix of loop iterators (``c0, c1, ...``), what a failed
    allocation does, and whether an outermost parallel loop of statements
    needs POLYTC_MIN_PARALLEL_TRIPS iterations to run threaded (a kernel's
    call already runs small work on one thread: :mod:`.work`)."""

    iterator_prefix: str = "c"
    on_alloc_failure: str = "return 2;"
    outer_trips_guard: bool = False


class Emitter(StorageEmitter, PromotionEmitter, ReductionEmitter):
    """One program and schedule to C: :meth:`loops` walks isl's AST into
    cgen, :meth:`storage` adds the buffers it needs; :meth:`emit` makes the
    kernel function of them, :func:`polytc.codegen_c.block.to_c_block` a
    block for the user's own C."""

    def __init__(self, program: ir.Program, fixed: dict[str, int],
                 keep_loop_order: bool = False, names: NameTable | None = None,
                 style: CStyle = CStyle()) -> None:
        self.program = program
        self.fixed = fixed
        self.keep_loop_order = keep_loop_order
        self.style = style
        self.names = names if names is not None else NameTable()
        self.used: set[str] = set()
        for param in program.params:
            self.names(param)
        for tensor in program.tensors:
            self.names(tensor.name)
        self.layouts = {t.name: Layout(self.names(t.name), self._extents(t), t.native)
                        for t in program.tensors}
        self.body = BodyPrinter(self.names, self.layouts, self.used)
        self.statements = {s.name: s for s in program.statements}
        self.promotions: dict[str, Promotion] = {}
        # promotions planned at the ``promote`` marks isl is generating (a
        # stack: the AST below a mark is built between its two callbacks),
        # each with the block corner of every statement instance
        self.planning: list[tuple[Promotion, isl.UnionMap] | None] = []
        self.pack_slack: dict[str, int] = {}
        self.padded_loops = 0
        # the packings of the pack marks being built (planned before their AST)
        self.packs_planned: list[list[Packing]] = []
        # per annotated statement (user node): the promotion (as planned)
        # and the place in its block of the element the statement writes,
        # as isl prints it
        self.places: dict[str, tuple[Promotion, tuple[str, ...]]] = {}
        self.in_force: dict[str, Promotion] = {}  # tensor -> promotion in force, as planned
        self.contractions: dict[str, Contraction] = {}
        # per contracted temporary, its buffer's (constant extent or None,
        # modular) per kept dimension (:func:`buffer_extents`)
        self.buffers: dict[str, tuple[tuple[int | None, bool], ...]] = {}
        # where contracted temporaries without a small constant size and
        # packed tiles are allocated: the function (scopes[0]) or the body of
        # the innermost enclosing parallel loop (private to a thread);
        # C name -> (C element type, element count)
        self.scopes: list[dict[str, tuple[str, str]]] = [{}]
        self.loops_around = 0  # sequential loops around the node being emitted
        self.loop_stack: list[str] = []  # the iterators of the loops around it, outermost first
        self.block_loops: dict[str, int] = {}  # per promoted block: loops around its mark
        self.packs: dict[str, tuple[PackedTile, ...]] = {}
        # per contracted temporary, the instances each copy of its mark runs
        self.copies: dict[str, list[isl.UnionSet]] = {}
        # vector reductions (reduce.py): plans of the reduce marks being
        # built, each mark's plan, each accumulating instance's local, and
        # those of the loop being emitted
        self.reduction_plans: list[ReductionPlan] = []
        self.reductions: dict[str, ReductionPlan] = {}
        self.accumulating: dict[str, str] = {}
        self.accumulators_in_force: dict[str, str] = {}
        self.accumulator_count = 0
        # (tensor, op) of a reduce-array mark: the next threaded loop reduces
        # into a private copy of each tensor per thread
        self.array_reductions: tuple[tuple[str, ...], ...] = ()

    def _extents(self, tensor: ir.Tensor) -> tuple[str, ...]:
        if tensor.native:  # the extents of the caller's declaration
            build = isl.AstBuild.from_context(self.program.context)
            return tuple(ast_expr(build.expr_from_pw_aff(e), self.ast_name, "c", self.used)
                         for e in tensor.shape)
        if tensor.role == "input":
            return tuple(self.names(d) if isinstance(d, str) else str(d) for d in tensor.dims)
        return tuple(f"polytc_{self.names(tensor.name)}_e{d}" for d in range(tensor.rank))

    def function(self, loops: cgen.Generable) -> CFunction:
        """The kernel function around ``loops`` (from :meth:`loops`)."""
        program = self.program
        abi = signature(program, self.fixed)
        function = abi.function
        preamble, cleanup = self.storage()
        args: list[cgen.Declarator] = [
            cgen.Value("int64_t", f"polytc_size{n}" if p in self.fixed else self.names(p))
            for n, p in enumerate(program.params)]
        args += [cgen.Pointer(cgen.Value(f"const {dtypes.C_TYPES[t.dtype]}",
                                         f"restrict {self.layouts[t.name].c_name}"))
                 for t in program.inputs]
        args += [cgen.Pointer(cgen.Value(dtypes.C_TYPES[t.dtype],
                                         f"restrict {self.layouts[t.name].c_name}"))
                 for t in program.outputs]
        args.append(cgen.Value("int", "polytc_nthreads"))
        body = cgen.Block(preamble + [loops] + cleanup + [cgen.Line("return polytc_status;")])
        fn = cgen.FunctionBody(cgen.FunctionDeclaration(cgen.Value("int", function), args), body)
        pragmas = _KEEP_LOOP_ORDER if self.keep_loop_order else GCC_NO_LDIST
        parts = [self._header(function), prelude(self.used)]
        parts += [vector_math(self.used)] if vector_math(self.used) else []
        parts += [pragmas, str(fn)]
        gathers = tuple(sorted(self.body.gathers, key=self.body.gathers.__getitem__))
        if gathers:
            parts.append(f"void {function}_gather_report(int64_t *report)\n"
                         "{ for (int k = 0; k < 3; k++) report[k] = polytc_gather_report[k]; }")
        return dataclasses.replace(abi, source="\n".join(parts + [""]), gathers=gathers)

    def loops(self, schedule: isl.Schedule, parallel: bool,
              excluded: frozenset[str] = frozenset()) -> cgen.Generable:
        """The loop nest of ``schedule`` (contractions but of ``excluded`` and
        parallel loops marked first), as cgen; the storage it needs is then
        planned."""
        schedule, self.contractions = mark_contractions(self.program, schedule, excluded)
        self.buffers = {name: buffer_extents(c, self.program.context)
                        for name, c in self.contractions.items()}
        self.body.contracted = {name: self._buffer_dims(c)
                                for name, c in self.contractions.items()}
        if parallel:
            schedule = mark_parallel(schedule, self.program.context)
        build = isl.AstBuild.from_context(self.program.context)
        if self.style.iterator_prefix != "c":
            depth = max((len(s.iterators) for s in self.program.statements), default=0)
            names = isl.IdList.alloc(build.get_ctx(), 0)
            for d in range(4 * depth + 16):  # tiling adds loops; isl names any beyond c<d>
                names = names.add(isl.Id(f"{self.style.iterator_prefix}{d}",
                                         context=build.get_ctx()))
            build = build.set_iterators(names)
        build, _before = build.set_before_each_mark(self._before_mark)
        build, _after = build.set_after_each_mark(self._after_mark)
        build, _leaves = build.set_at_each_domain(self._at_each_domain)
        root = build.node_from_schedule(schedule)
        return self.node(root, frozenset())


    def _at_each_domain(self, node: isl.AstNode, build: isl.AstBuild) -> isl.AstNode:
        """isl calls this for each statement it places: the accumulator of a
        vector reduction, else the place in a promoted block."""
        name = node.user_get_expr().get_op_arg(0).get_id().get_name()
        accumulated = self._accumulate(node, build, self.statements[name])
        return accumulated if accumulated is not None else self._at_domain(node, build)

    def _header(self, function: str) -> str:
        program = self.program
        lines = [f"/* Generated by polytc from TC def '{program.name}'.",
                 f" * int {function}(sizes..., inputs..., outputs..., int nthreads);",
                 " * sizes: " + (", ".join(program.params) or "(none)"),
                 " * inputs: " + (", ".join(f"{t.dtype} {t.name}" for t in program.inputs)
                                  or "(none)"),
                 " * outputs: " + ", ".join(f"{t.dtype} {t.name}" for t in program.outputs),
                 " * Tensors are dense row-major arrays.  Returns 0 on success, 1 when a",
                 " * gathered index was out of range, 2 when out of memory. */"]
        if program.conditions:  # in the comment's last line
            lines[-1] = lines[-1].removesuffix(" */") + "  Returns 4 when the sizes break"
            lines.append(" * its condition: " + condition_text(program.precondition.gist(
                program.context)) + " */")
        lines.append("#define _DEFAULT_SOURCE")
        return "\n".join(lines)

    # -- AST walk -------------------------------------------------------------
    def node(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        """C for ``node``; ``pragmas`` (``mark@iterator`` of the marks above
        it) apply to the loop over that iterator, if isl generated it."""
        kind = node.get_type()
        if kind == isl.ast_node_type.block:
            children = node.block_get_children()
            return cgen.Block([self.node(children.get_at(i), pragmas)
                               for i in range(children.n_ast_node())])
        if kind == isl.ast_node_type.mark:
            return self.mark(node, pragmas)
        if kind == _IF:
            cond = self.isl_expr(node.if_get_cond())
            then = self.node(node.if_get_then_node(), pragmas)
            other = self.node(node.if_get_else_node(), pragmas) if node.if_has_else_node() \
                else None
            return cgen.If(c_text(cond), c_block(then),
                           c_block(other) if other is not None else None)
        if kind == _FOR:
            return self.loop(node, pragmas)
        if kind == isl.ast_node_type.user:
            return self.user(node)
        raise PolytcInternalError("generating C", f"AST node type {kind}")

    def mark(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        name = node.mark_get_id().get_name()
        pragma = pragma_mark(name)
        if pragma is not None:  # for the loop of the marked band member only
            loop = annotation(node)
            return self.node(node.mark_get_node(), pragmas | {f"{p}@{loop}" for p in pragma[0]})
        if name.startswith(CONTRACT_PREFIX):
            return self.contracted(name[len(CONTRACT_PREFIX):], node.mark_get_node(), pragmas)
        if name.startswith(marks.PACK_PREFIX):
            packs = self.packs.get(annotation(node) or "", ())
            return self.packed(packs, node.mark_get_node(), pragmas)
        if name.startswith(marks.REDUCE_PREFIX):
            return self.reduced(annotation(node), node.mark_get_node(), pragmas)
        if name.startswith(marks.ARRAY_REDUCE_PREFIX):
            reduced = name[len(marks.ARRAY_REDUCE_PREFIX):].split(",")  # tensor=op, ...
            outer, self.array_reductions = self.array_reductions, tuple(
                tuple(part.split("=")) for part in reduced)
            try:
                return self.node(node.mark_get_node(), pragmas)
            finally:
                self.array_reductions = outer
        key = annotation(node) if name == marks.PROMOTE else None
        promotion = self.promotions.get(key) if key else None
        if promotion is None:
            return self.node(node.mark_get_node(), pragmas)
        return self.promoted(promotion, node.mark_get_node(), pragmas)


    def _after_mark(self, node: isl.AstNode, build: isl.AstBuild) -> isl.AstNode:
        """isl calls this for each AST mark: plan a promotion where the
        accumulated block is a fixed box for every outer iteration."""
        name = node.mark_get_id().get_name()
        pragma = pragma_mark(name)
        if pragma is not None:
            # isl names the loop at schedule depth d "c<d>" and the build's
            # space holds the outer loops' names; when isl drops the marked
            # loop (one iteration), no other loop may take its pragma
            space = build.get_schedule_space()
            n = space.dim(isl.dim_type.set)
            outer = space.get_dim_name(isl.dim_type.set, n - 1) if n else None
            prefix = self.style.iterator_prefix
            number = outer[len(prefix):] if outer and outer.startswith(prefix) else ""
            depth = int(number) + 1 if number.isdigit() else n
            return node.set_annotation(isl.Id(f"{prefix}{depth + pragma[1]}",
                                              context=node.get_ctx()))
        if name.startswith(marks.PACK_PREFIX):
            return self._plan_packs(node, build, self.packs_planned.pop())
        if name.startswith(marks.REDUCE_PREFIX):
            return self._after_reduce(node)
        if name != marks.PROMOTE:
            return node
        planned = self.planning.pop()
        if planned is None:
            return node
        key = f"promotion{len(self.promotions)}"
        self.promotions[key] = planned[0]
        return node.set_annotation(isl.Id(key, context=node.get_ctx()))

    def _before_mark(self, mark: isl.Id, build: isl.AstBuild) -> None:
        """isl calls this before it builds the AST below each mark: plan a
        promotion where the accumulated block is a fixed box for every outer
        iteration (its statements' places in the block come from
        :meth:`_at_domain`); record the instances below each copy of a
        contraction mark."""
        if mark.get_name().startswith(CONTRACT_PREFIX):
            self.copies.setdefault(mark.get_name()[len(CONTRACT_PREFIX):], []).append(
                build.get_schedule().domain())
            return
        if mark.get_name().startswith(marks.REDUCE_PREFIX):
            self._before_reduce(mark)
            return
        if mark.get_name().startswith(marks.PACK_PREFIX):  # until its _after_mark
            self.packs_planned.append(
                self._packings(build, mark.get_name()))
            return
        if mark.get_name() != marks.PROMOTE:
            return
        try:
            planned = self._plan_promotion(build)
        except Exception:  # noqa: BLE001 - raising into isl would crash; no promotion is correct
            planned = None
        self.planning.append(planned)


    def isl_expr(self, expr: isl.AstExpr) -> str:
        return ast_expr(expr, self.ast_name, "c", self.used)

    def ast_name(self, name: str) -> str:
        """Sizes go through the name table; isl's loop iterators (``c0``...)
        are generated names that no user name can take."""
        return self.names(name) if name in self.program.params else name

    def loop(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        iterator = self.isl_expr(node.for_get_iterator())
        init = self.isl_expr(node.for_get_init())
        mine = frozenset(p for p in pragmas if p.endswith(f"@{iterator}"))
        inner = pragmas - mine  # for deeper members of a marked band
        pragmas = frozenset(p.split("@")[0] for p in mine)
        degenerate = node.for_is_degenerate()
        threaded = marks.PARALLEL in pragmas and not degenerate
        padding = self.plan_padding(node) if (
            self.body.promoted and marks.SIMD in pragmas and not degenerate
            and marks.PARALLEL not in pragmas) else None
        if threaded:
            self.scopes.append({})
        reducing, self.array_reductions = (self.array_reductions, ()) if threaded \
            else ((), self.array_reductions)
        around = self.loops_around
        self.loops_around += not degenerate
        self.loop_stack.append(iterator)
        if padding is not None:
            self.padded_loops += padding.accumulates
            for buffer in padding.slack:
                self.pack_slack[buffer] = self.pack_slack.get(buffer, 0) + padding.width
        try:
            body = self.node(node.for_get_body(), inner)
        finally:
            scope = self.scopes.pop() if threaded else {}
            self.loops_around = around
            self.loop_stack.pop()
            self.array_reductions = reducing if threaded else self.array_reductions
        if padding is not None:  # a partial block run as a whole one (plan_padding)
            return self._padded(node, iterator, init, padding.width, body)
        # a parallel loop's buffers (its scope is only kept when threaded):
        # one per thread, allocated before the loop (per iteration, the
        # allocator's page faults and unmaps held the threads back), unless
        # their size moves with the loop
        per_thread = bool(scope) and not any(
            re.search(rf"\b{re.escape(iterator)}\b", count) for _, count in scope.values())
        body = self._guarded(scope, body) if per_thread else self._scoped(scope, body)
        if degenerate:
            return cgen.Block([cgen.Line(f"const int64_t {iterator} = {init};"), body])
        cond = strip_parens(self.isl_expr(node.for_get_cond()))  # OpenMP wants `c0 < n`
        inc = self.isl_expr(node.for_get_inc())
        loop = cgen.For(c_text(f"int64_t {iterator} = {init}"), c_text(cond),
                        c_text(f"{iterator} += {inc}"), c_block(body))
        if marks.PARALLEL in pragmas:
            self.used.add(THREADS)  # the clauses read polytc_nthreads
            simd = " simd" if marks.SIMD in pragmas else ""
            trips = trip_count(node, self.isl_expr) \
                if around or self.style.outer_trips_guard else None
            if trips is not None:
                self.used.add("POLYTC_MIN_PARALLEL_TRIPS")
            worth = "polytc_nthreads > 1" if trips is None else \
                f"polytc_nthreads > 1 && {trips} >= POLYTC_MIN_PARALLEL_TRIPS"
            # outermost, a loop of statements runs threaded only over enough
            # iterations (durbin's and trisolv's initialisations: 2,000 stores)
            threaded_if = "polytc_nthreads > 1" if around else worth
            clauses = f"num_threads(polytc_nthreads) if({threaded_if})"
            # where static blocks would be uneven, iterations go one at a time
            split = "schedule(dynamic, 1)" if marks.UNEVEN in pragmas else "schedule(static)"
            array_clauses, fits = self._array_reduction(reducing)
            if array_clauses:
                clauses += " " + array_clauses
            if per_thread:
                threads = cgen.Module([cgen.Pragma(f"omp parallel {clauses}"), self._allocated(
                    scope, cgen.Module([cgen.Pragma(f"omp for{simd} {split}"), loop]))])
            else:
                threads = cgen.Module([cgen.Pragma(f"omp parallel for{simd} {clauses} {split}"),
                                       loop])
            if array_clauses:  # the private copies live on the threads' stacks
                one = self._allocated(scope, loop) if per_thread else loop
                return cgen.If(c_text(f"polytc_nthreads > 1 && {fits}"), cgen.Block([threads]),
                               cgen.Block([one]))
            if not around:
                return threads
            # inside a sequential loop (a wavefront, durbin's k): OpenMP's
            # runtime is entered at every iteration even under if(0), which
            # made durbin 2x slower than gcc on one thread; one thread skips it
            plain: cgen.Generable = cgen.Module([cgen.Pragma("omp simd"), loop]) if simd else loop
            if per_thread:
                plain = self._allocated(scope, plain)
            return cgen.If(c_text(worth), cgen.Block([threads]), cgen.Block([plain]))
        if marks.SIMD in pragmas:
            return cgen.Module([cgen.Pragma("omp simd"), loop])
        reduction = next((p for p in pragmas if p.startswith(REDUCE_PRAGMA)), None)
        if reduction is not None:
            clause = self.reduction_clause(reduction[len(REDUCE_PRAGMA):])
            return cgen.Module([cgen.Pragma(f"omp simd {clause}"), loop])
        rows = register_rows(node) if self.body.promoted else None
        if rows is not None:  # a register block's rows: unrolled, the block stays in registers
            return cgen.Module([cgen.Pragma(f"GCC unroll {rows}"), loop])
        return loop

    def _array_reduction(self, reducing: tuple[tuple[str, ...], ...]) -> tuple[str, str]:
        """The ``reduction(op: T[0:n])`` clauses of a parallel loop under a
        ``reduce-array`` mark, and the C condition under which the threads'
        private copies fit their stacks (:data:`MAX_PRIVATE_COPY_BYTES`);
        empty texts when there are none."""
        clauses, sizes = [], []
        for tensor, op in reducing:
            layout = self.layouts[tensor]
            count = " * ".join(f"({e})" for e in layout.extents) or "1"
            if layout.native and not layout.extents:  # a C scalar
                clauses.append(f"reduction({op}: {layout.c_name})")
            elif layout.native:  # the C array's rows: its first dimension
                clauses.append(f"reduction({op}: {layout.c_name}[0:{layout.extents[0]}])")
            else:
                clauses.append(f"reduction({op}: {layout.c_name}[0:{count}])")
            element = dtypes.bits(self.program.tensor(tensor).dtype) // 8
            sizes.append(f"(int64_t)({count}) * {element}")
        if not clauses:
            return "", ""
        fits = f"{' + '.join(sizes)} <= {MAX_PRIVATE_COPY_BYTES}"
        return " ".join(clauses), fits

    def _padded(self, node: isl.AstNode, iterator: str, init: str, width: int,
                body: cgen.Generable) -> cgen.Generable:
        """The ``simd`` loop at ``node`` over ``width`` iterations from
        ``init``, run where it runs at all."""
        runs = ast_expr(node.for_get_cond(),
                        lambda n: init if n == iterator else self.ast_name(n), "c", self.used)
        loop = cgen.For(c_text(f"int64_t {iterator} = {init}"), c_text(f"{iterator} < {width}"),
                        c_text(f"{iterator} += 1"), c_block(body))
        return cgen.If(c_text(runs), cgen.Block([cgen.Module([cgen.Pragma("omp simd"), loop])]))

    def user(self, node: isl.AstNode) -> cgen.Generable:
        call = node.user_get_expr()
        name = call.get_op_arg(0).get_id().get_name()
        statement = self.statements[name]
        lines: list[cgen.Generable] = []
        for position, iterator in enumerate(statement.iterators):
            value = self.isl_expr(call.get_op_arg(position + 1))
            lines.append(cgen.Line(f"const int64_t {self.names(iterator)} = {value};"))
        planned = self.places.get(annotation(node) or "")
        if planned is not None and self.in_force.get(statement.tensor) is planned[0]:
            written = tuple(self.body.index(i) for i in statement.write_indices)
            self.body.exact = {statement.tensor: (written, planned[1])}
        accumulator = self.accumulators_in_force.get(annotation(node) or "")
        try:
            lines.append(cgen.Line(self.assignment(statement, accumulator)))
        finally:
            self.body.exact = {}
        return cgen.Block(lines)

    def assignment(self, statement: ir.Statement, target: str | None = None) -> str:
        """C for one instance of ``statement``; ``target``: the local that
        stands for its element (a vector reduction's accumulator)."""
        tensor = self.program.tensor(statement.tensor)
        if target is None:
            target = self.body.access(statement.tensor, statement.write_indices)
        value = self.body.expr(statement.body)
        op = statement.op
        if op == "=":
            return f"{target} = {value};"
        if op in ("+", "*"):
            if tensor.dtype in ("bool", "int8", "int16", "uint8", "uint16"):
                ctype = dtypes.C_TYPES[tensor.dtype]
                return f"{target} = ({ctype})({target} {op} {value});"
            return f"{target} {op}= {value};"
        compare = ">" if op == "max" else "<"
        return (f"{{ const {dtypes.C_TYPES[tensor.dtype]} polytc_v = {value}; "
                f"if (polytc_v {compare} {target}) {target} = polytc_v; }}")


__all__ = ["CFunction", "TensorArg", "to_c", "mark_parallel", "literal", "AstBuildError"]
