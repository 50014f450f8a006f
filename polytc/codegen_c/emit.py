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

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.poly.contraction import Contraction
from polytc.codegen_c.conditions import SizeCheck, c_check, size_checks
from polytc.codegen_c.contract import (CONTRACT_PREFIX, buffer_extents, mark_contractions,
                                      split_contractions)
from polytc.codegen_c.work import work_py
from polytc.codegen_c.expr import BodyPrinter, Layout, Promotion, ast_expr, literal, strip_parens
from polytc.codegen_c.names import NameTable
from polytc.codegen_c.pack import element_count, plan_packings
from polytc.codegen_c.prelude import prelude
from polytc.errors import PolytcInternalError
from polytc.isl_util import condition_text
from polytc.poly.dependences import Dependences, dependences
from polytc.tiling import marks
from polytc.isl_util import map_list

PARALLEL_MARK = marks.PARALLEL
#: in ``Emitter.used`` when a parallel loop reads the thread count
THREADS = "POLYTC_THREADS"
MAX_PROMOTED_ELEMENTS = 1024  # a register block, not a cache tile
# a footprint of more pieces is no box worth promoting (and its lexicographic
# extrema took isl 70 s on fuzz seed 9127027578)
MAX_BOX_PIECES = 4
MAX_LOCAL_CONTRACTED = 1024  # a contracted temporary this small is a local array
_KEEP_LOOP_ORDER = """#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("no-loop-interchange")
#endif"""
# islpy's stubs omit the members named after Python keywords.
_IF, _FOR = getattr(isl.ast_node_type, "if_"), getattr(isl.ast_node_type, "for_")


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

    @property
    def cdef(self) -> str:
        args = ["int64_t"] * len(self.params)
        args += [f"const {dtypes.C_TYPES[t.dtype]} *" for t in self.inputs]
        args += [f"{dtypes.C_TYPES[t.dtype]} *" for t in self.outputs]
        args.append("int")
        report = f"\nvoid {self.function}_gather_report(int64_t *);" if self.gathers else ""
        return f"int {self.function}({', '.join(args)});{report}"


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
            raise PolytcInternalError("generating C", str(error)) from error
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


def mark_parallel(schedule: isl.Schedule) -> isl.Schedule:
    """Insert a ``parallel`` mark above each band with a coincident member
    that is not already inside a parallel loop; a mark for the band's member
    ``k > 0`` is named ``parallel+k``.  Bands are not split: isl's AST
    generation of the inner part of a split tiled band can take hours where
    the whole band takes a second (fuzz seed 20240826)."""
    root = schedule.get_root()
    return _mark_subtree(root).get_schedule()


def _mark_subtree(node: isl.ScheduleNode) -> isl.ScheduleNode:
    if node.get_type() == isl.schedule_node_type.band:
        flags = [node.band_member_get_coincident(i) for i in range(node.band_n_member())]
        if any(flags):
            first = flags.index(True)
            name = PARALLEL_MARK if first == 0 else f"{PARALLEL_MARK}+{first}"
            return node.insert_mark(isl.Id(name, context=node.get_ctx()))
    for position in range(node.n_children()):
        node = _mark_subtree(node.child(position)).parent()
    return node


def _pragma_mark(name: str) -> tuple[str, int] | None:
    """(pragma, band member) of a ``parallel``/``simd`` mark name, else None."""
    base, _, member = name.partition("+")
    if base not in (marks.PARALLEL, marks.SIMD) or not (member or "0").isdigit():
        return None
    return base, int(member or 0)


MAX_UNROLLED_ROWS = 16


def _register_rows(node: isl.AstNode) -> int | None:
    """The trip count of a loop from 0 to a small constant whose body is a
    ``simd`` loop: the rows of a register block, which gcc must unroll to
    keep the block in registers (with the sizes specialised it kept the loop
    and gemm ran 3x slower), else None."""
    body = node.for_get_body()
    if body.get_type() != isl.ast_node_type.mark or body.mark_get_id().get_name() != marks.SIMD:
        return None
    init, cond, inc = node.for_get_init(), node.for_get_cond(), node.for_get_inc()
    if init.get_type() != isl.ast_expr_type.int or inc.get_type() != isl.ast_expr_type.int \
            or init.get_val().to_python() != 0 or inc.get_val().to_python() != 1 \
            or cond.get_type() != isl.ast_expr_type.op or cond.get_op_n_arg() != 2:
        return None
    bound = cond.get_op_arg(1)
    if bound.get_type() != isl.ast_expr_type.int:
        return None
    last = int(bound.get_val().to_python())
    kind = cond.get_op_type()
    if kind == isl.ast_expr_op_type.le:
        trips = last + 1
    elif kind == isl.ast_expr_op_type.lt:
        trips = last
    else:
        return None
    return trips if 1 < trips <= MAX_UNROLLED_ROWS else None


@dataclass(frozen=True, slots=True)
class CStyle:
    """What differs between the C function of a kernel (the defaults) and a
    loop nest spliced into the user's own C (:mod:`polytc.codegen_c.block`):
    the prefix of loop iterators (``c0, c1, ...``) and what a failed
    allocation does."""

    iterator_prefix: str = "c"
    on_alloc_failure: str = "return 2;"


class Emitter:
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
        self.packs: dict[str, tuple[_Pack, ...]] = {}
        # per contracted temporary, the instances each copy of its mark runs
        self.copies: dict[str, list[isl.UnionSet]] = {}

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
        function = "polytc_" + self.names.checked(program.name)
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
        pragmas = _KEEP_LOOP_ORDER if self.keep_loop_order else ""
        parts = [self._header(function), prelude(self.used), pragmas, str(fn)]
        gathers = tuple(sorted(self.body.gathers, key=self.body.gathers.__getitem__))
        if gathers:
            parts.append(f"void {function}_gather_report(int64_t *report)\n"
                         "{ for (int k = 0; k < 3; k++) report[k] = polytc_gather_report[k]; }")
        return CFunction("\n".join(parts + [""]), function, program.params,
                         tuple(self._arg(t) for t in program.inputs),
                         tuple(self._arg(t) for t in program.outputs), gathers=gathers,
                         checks=size_checks(program), work_py=work_py(program))

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
            schedule = mark_parallel(schedule)
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
        build, _leaves = build.set_at_each_domain(self._at_domain)
        root = build.node_from_schedule(schedule)
        return self.node(root, frozenset())

    def storage(self) -> tuple[list[cgen.Generable], list[cgen.Generable]]:
        """C before the loop nest (status, fixed sizes, extents, buffers of
        the temporaries) and after it (frees); after :meth:`loops`."""
        program = self.program
        fail = self.style.on_alloc_failure
        build_params = isl.AstBuild.from_context(program.context)
        preamble: list[cgen.Generable] = [cgen.Line("int polytc_status = 0;")]
        for position, param in enumerate(program.params):
            if param in self.fixed:  # loop bounds are constants (isl prints them)
                value = self.fixed[param]
                preamble.append(cgen.Line(f"if (polytc_size{position} != {value}) return 3;"))
                preamble.append(cgen.Line(f"int64_t {self.names(param)} = polytc_size{position};"))
                preamble.append(cgen.Line(f"POLYTC_OPAQUE({self.names(param)});"))
                self.used.add("POLYTC_OPAQUE")
        check = c_check(program, self.ast_name, self.used)
        if check is not None:  # before any allocation: the sizes break the reads
            preamble.append(cgen.Line(check))
        for tensor in program.tensors:
            if tensor.role == "input" or tensor.native:
                continue
            for d, extent in enumerate(tensor.shape):
                text = ast_expr(build_params.expr_from_pw_aff(extent), self.ast_name, "c",
                                self.used)
                preamble.append(cgen.Line(f"const int64_t {self.layouts[tensor.name].extents[d]}"
                                          f" = {text};"))
        cleanup: list[cgen.Generable] = []
        for tensor in program.temporaries:
            ctype, name = dtypes.C_TYPES[tensor.dtype], self.layouts[tensor.name].c_name
            count = " * ".join(f"(size_t){e}" for e in self.layouts[tensor.name].extents) or "1"
            if tensor.name in self.contractions:
                continue  # held in its loop nest, or a scoped buffer below
            preamble.append(cgen.Line(
                f"{ctype} *restrict {name} = ({ctype} *)malloc(sizeof({ctype}) * ({count}) + 64);"))
            preamble.append(cgen.Line(f"if (!{name}) {fail}"))
            cleanup.append(cgen.Line(f"free({name});"))
        for name, (ctype, count) in self.scopes[0].items():
            preamble.append(cgen.Line(f"{ctype} *restrict {name} = {_allocation(ctype, count)};"))
            preamble.append(cgen.Line(f"if (!{name}) {fail}"))
            cleanup.append(cgen.Line(f"free({name});"))
        return preamble, cleanup

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

    def _arg(self, tensor: ir.Tensor) -> TensorArg:
        build = isl.AstBuild.from_context(self.program.context)
        index = {p: i for i, p in enumerate(self.program.params)}
        extent_py = tuple(ast_expr(build.expr_from_pw_aff(e), lambda n: f"p[{index[n]}]", "py")
                          for e in tensor.shape) if tensor.role != "input" else ()
        return TensorArg(tensor.name, tensor.dtype, tensor.dims, extent_py)

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
            return cgen.If(_text(cond), _block(then),
                           _block(other) if other is not None else None)
        if kind == _FOR:
            return self.loop(node, pragmas)
        if kind == isl.ast_node_type.user:
            return self.user(node)
        raise PolytcInternalError("generating C", f"AST node type {kind}")

    def mark(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        name = node.mark_get_id().get_name()
        pragma = _pragma_mark(name)
        if pragma is not None:  # for the loop of the marked band member only
            return self.node(node.mark_get_node(), pragmas | {f"{pragma[0]}@{_annotation(node)}"})
        if name.startswith(CONTRACT_PREFIX):
            return self.contracted(name[len(CONTRACT_PREFIX):], node.mark_get_node(), pragmas)
        if name.startswith(marks.PACK_PREFIX):
            packs = self.packs.get(_annotation(node) or "", ())
            return self.packed(packs, node.mark_get_node(), pragmas)
        key = _annotation(node) if name == marks.PROMOTE else None
        promotion = self.promotions.get(key) if key else None
        if promotion is None:
            return self.node(node.mark_get_node(), pragmas)
        return self.promoted(promotion, node.mark_get_node(), pragmas)

    def contracted(self, tensor: str, inner: isl.AstNode,
                   pragmas: frozenset[str]) -> cgen.Generable:
        """``inner``, the loop nest within one iteration of which every value
        of contracted ``tensor`` lives: a small constant-size buffer is a
        local array here; any other is allocated once per enclosing scope
        (the function, or a parallel loop's body: one per thread)."""
        if tensor not in self.contractions:
            return self.node(inner, pragmas)
        if tensor in self.body.active:
            raise PolytcInternalError("generating C", f"nested contraction marks of {tensor}")
        t = self.program.tensor(tensor)
        ctype, name = dtypes.C_TYPES[t.dtype], self.layouts[tensor].c_name
        local = self._constant_count(tensor)
        lines: list[cgen.Generable] = []
        if local is not None:
            lines.append(cgen.Line(f"{ctype} {name}[{local}];"))
        else:
            self.scopes[-1].setdefault(name, (ctype, " * ".join(
                f"(size_t){extent}" for _, extent, _ in self.body.contracted[tensor]) or "1"))
        self.body.active.add(tensor)
        try:
            lines.append(self.node(inner, pragmas))
        finally:
            self.body.active.discard(tensor)
        return lines[0] if len(lines) == 1 else cgen.Block(lines)

    def _constant_count(self, tensor: str) -> int | None:
        """The element count of contracted ``tensor``'s buffer when it has a
        small constant bound (its extents' maxima under the context), else None."""
        count = 1
        for extent, _ in self.buffers[tensor]:
            if extent is None:
                return None
            count *= max(extent, 1)
            if count > MAX_LOCAL_CONTRACTED:
                return None
        return count

    def _buffer_dims(self, c: Contraction) -> tuple[tuple[int, str, bool], ...]:
        """Per kept dimension of ``c``: (dimension, extent in C, modular)."""
        extents = self.layouts[c.tensor].extents
        dims = zip(c.kept, self.buffers[c.tensor])
        return tuple((k, str(extent) if modular else extents[k], modular)
                     for k, (extent, modular) in dims)

    def _scoped(self, scope: dict[str, tuple[str, str]],
                body: cgen.Generable) -> cgen.Generable:
        """``body`` with the buffers of ``scope`` allocated around it (inside
        a parallel loop: a failed allocation skips the iteration, status 2)."""
        if not scope:
            return body
        lines: list[cgen.Generable] = [
            cgen.Line(f"{ctype} *restrict {name} = {_allocation(ctype, count)};")
            for name, (ctype, count) in scope.items()]
        names = list(scope)
        lines.append(cgen.If(_text(" && ".join(names)), _block(body),
                             cgen.Block([cgen.Line("polytc_status = 2;")])))
        lines += [cgen.Line(f"free({name});") for name in names]
        return cgen.Block(lines)

    def promoted(self, promotion: Promotion, inner: isl.AstNode,
                 pragmas: frozenset[str]) -> cgen.Generable:
        """The block of ``promotion.tensor`` in a local array around ``inner``:
        loaded before, stored after (when written)."""
        if promotion.tensor in self.contractions and promotion.tensor not in self.body.active:
            return self.node(inner, pragmas)  # its buffer is not there yet: no promotion
        tensor = self.program.tensor(promotion.tensor)
        ctype = dtypes.C_TYPES[tensor.dtype]
        count = 1
        for size in promotion.sizes:
            count *= size
        lines: list[cgen.Generable] = [cgen.Line(f"{ctype} {promotion.local}[{count}];")]
        names = [f"{promotion.local}_o{d}" for d in range(len(promotion.sizes))]
        lines += [cgen.Line(f"const int64_t {n} = {text};")
                  for n, text in zip(names, promotion.offsets)]
        local = Promotion(promotion.tensor, promotion.local, tuple(names), promotion.sizes,
                          promotion.store)
        points = [f"{promotion.local}_x{d}" for d in range(len(promotion.sizes))]
        here = local.at(points)
        there = self.body.element(promotion.tensor, [f"({o} + {x})" for o, x in zip(names, points)])
        lines.append(_nest(points, promotion.sizes, f"{here} = {there};"))
        self.body.promoted[promotion.tensor] = local
        outer = self.in_force.get(promotion.tensor)
        self.in_force[promotion.tensor] = promotion
        try:
            lines.append(self.node(inner, pragmas))
        finally:
            del self.body.promoted[promotion.tensor]
            if outer is None:
                del self.in_force[promotion.tensor]
            else:
                self.in_force[promotion.tensor] = outer
        if promotion.store:
            lines.append(_nest(points, promotion.sizes, f"{there} = {here};"))
        return cgen.Block(lines)

    def packed(self, packs: tuple[_Pack, ...], inner: isl.AstNode,
               pragmas: frozenset[str]) -> cgen.Generable:
        """``inner`` reading the tiles of ``packs`` from their buffers, each
        filled before it with the part of its box inside the tensor."""
        packs = tuple(p for p in packs if p.tensor not in self.body.promoted)
        lines: list[cgen.Generable] = []
        for pack in packs:
            tensor = self.program.tensor(pack.tensor)
            extents = self.layouts[pack.tensor].extents
            sizes = [str(size) if size is not None else f"(size_t){extent}"
                     for size, extent in zip(pack.sizes, extents)]
            count = str(element_count(pack.sizes)) if None not in pack.sizes else " * ".join(sizes)
            buffer, count = self._pack_buffer(pack.local, count)
            self.scopes[-1][buffer] = (dtypes.C_TYPES[tensor.dtype], count)
            pack = replace(pack, local=buffer)
            names = [f"{pack.local}_o{d}" for d in range(len(pack.sizes))]
            lines += [cgen.Line(f"const int64_t {n} = {text};")
                      for n, text in zip(names, pack.offsets)]
            self.used.add("POLYTC_MIN")
            bounds = [f"{pack.local}_n{d}" for d in range(len(pack.sizes))]
            lines += [cgen.Line(f"const int64_t {b} = POLYTC_MIN({size}, {extent} - {o});"
                                if size is not None else f"const int64_t {b} = {extent} - {o};")
                      for b, size, extent, o in zip(bounds, pack.sizes, extents, names)]
            layout = tuple(pack.sizes[d] or 0 for d in pack.order)  # the first may be 0: unused
            local = Promotion(pack.tensor, pack.local, tuple(names), layout, False, pack.order)
            points = [f"{pack.local}_x{d}" for d in range(len(pack.sizes))]
            here = local.at([points[d] for d in pack.order])
            there = self.body.element(pack.tensor, [f"({o} + {x})" for o, x in zip(names, points)])
            lines.append(_nest(points, tuple(bounds), f"{here} = {there};"))
            self.body.promoted[pack.tensor] = local
        try:
            lines.append(self.node(inner, pragmas))
        finally:
            for pack in packs:
                del self.body.promoted[pack.tensor]
        return cgen.Block(lines)

    def _pack_buffer(self, name: str, count: str) -> tuple[str, str]:
        """A buffer of the current scope for a pack of ``count`` elements:
        one per tensor, grown to the largest constant count; a count sized
        by the tensor's extents that differs takes a buffer of its own."""
        scope = self.scopes[-1]
        for candidate in [name] + [f"{name}{n}" for n in range(2, len(scope) + 2)]:
            before = scope.get(candidate, ("", count))[1]
            if before.isdigit() and count.isdigit():
                return candidate, str(max(int(before), int(count)))
            if before == count:
                return candidate, count
        raise PolytcInternalError("generating C", f"no buffer for {name}")  # pragma: no cover

    def _after_mark(self, node: isl.AstNode, build: isl.AstBuild) -> isl.AstNode:
        """isl calls this for each AST mark: plan a promotion where the
        accumulated block is a fixed box for every outer iteration."""
        name = node.mark_get_id().get_name()
        pragma = _pragma_mark(name)
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
            return self._plan_packs(node, build, name[len(marks.PACK_PREFIX):])
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
        if mark.get_name() != marks.PROMOTE:
            return
        try:
            planned = self._plan_promotion(build)
        except Exception:  # noqa: BLE001 - raising into isl would crash; no promotion is correct
            planned = None
        self.planning.append(planned)

    def _at_domain(self, node: isl.AstNode, build: isl.AstBuild) -> isl.AstNode:
        """isl calls this for each statement it places: below a planned
        promotion of the tensor the statement writes, the place of the
        written element in the block, as a function of the loops (isl
        prints ``c15`` where ``w - o`` would be the same value in a form gcc
        cannot fold; a block whose places do not fold stays in memory)."""
        name = node.user_get_expr().get_op_arg(0).get_id().get_name()
        statement = self.statements[name]
        for planned in reversed(self.planning):
            if planned is None or planned[0].tensor != statement.tensor:
                continue
            try:
                places = self._places(statement, planned[1], build)
            except isl.Error:  # the text form serves
                return node
            key = f"statement{len(self.places)}"
            self.places[key] = (planned[0], places)
            return node.set_annotation(isl.Id(key, context=node.get_ctx()))
        return node

    def _places(self, statement: ir.Statement, corners: isl.UnionMap,
                build: isl.AstBuild) -> tuple[str, ...]:
        """C for the place of ``statement``'s written element in its block
        (``corners``: each instance's block corner), per tensor dimension."""
        corner = isl.PwMultiAff.from_map(isl.Map.from_union_map(
            corners.intersect_domain(isl.UnionSet.from_set(statement.domain))))
        written = isl.PwMultiAff.from_map(statement.write)
        instance = isl.PwMultiAff.from_map(isl.Map.from_union_map(build.get_schedule()).reverse())
        texts = []
        for d in range(written.dim(isl.dim_type.out)):
            place = written.get_pw_aff(d).sub(corner.get_pw_aff(d)).pullback_pw_multi_aff(instance)
            texts.append(ast_expr(build.expr_from_pw_aff(place), self.ast_name, "c", self.used))
        return tuple(texts)

    def _plan_packs(self, node: isl.AstNode, build: isl.AstBuild, tensors: str) -> isl.AstNode:
        """Plan the packings a ``pack:`` mark names (``B``: as it is;
        ``W@0``: dimension 0 last)."""
        candidates: dict[str, int | None] = {}
        for entry in tensors.split(","):
            name, _, last = entry.partition("@")
            if name not in self.contractions:
                candidates[name] = int(last) if last else None
        try:
            planned = plan_packings(self.program, build.get_schedule(), candidates)
        except Exception:  # noqa: BLE001 - raising into isl would crash; not packing is correct
            planned = []
        if not planned:
            return node
        key = f"pack{len(self.packs)}"
        self.packs[key] = tuple(
            _Pack(p.tensor, f"polytc_{self.layouts[p.tensor].c_name}_pack",
                  tuple(ast_expr(build.expr_from_pw_aff(offset), self.ast_name, "c", self.used)
                        for offset in p.offsets), p.sizes, p.order)
            for p in planned)
        return node.set_annotation(isl.Id(key, context=node.get_ctx()))

    def _plan_promotion(self, build: isl.AstBuild) -> tuple[Promotion, isl.UnionMap] | None:
        """The promotion of the first written tensor whose footprint below
        the mark is a small fixed box, and each instance's block corner."""
        schedule = build.get_schedule()
        domain = schedule.domain()
        written = {s.tensor for s in self.program.statements
                   if not domain.extract_set(s.domain.get_space()).is_empty()}
        for tensor in sorted(written):
            accesses = isl.UnionMap.empty(schedule.get_space().params())
            for statement in self.program.statements:
                relation = statement.read_relation().union(
                    isl.UnionMap.from_map(statement.write))
                for piece in map_list(relation):
                    if piece.get_tuple_name(isl.dim_type.out) == tensor:
                        accesses = accesses.union(isl.UnionMap.from_map(piece))
            footprint = schedule.reverse().apply_range(accesses.intersect_domain(domain))
            box = _exact_box(footprint)
            if box is None:
                continue
            corner, sizes = box
            texts = tuple(ast_expr(build.expr_from_pw_aff(corner.get_pw_aff(d)), self.ast_name,
                                   "c", self.used) for d in range(len(sizes)))
            local = f"polytc_{self.layouts[tensor].c_name}_block"
            corners = schedule.apply_range(isl.UnionMap.from_map(isl.Map.from_pw_multi_aff(corner)))
            return Promotion(tensor, local, texts, sizes, store=True), corners
        return None

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
        if threaded:
            self.scopes.append({})
        try:
            body = self.node(node.for_get_body(), inner)
        finally:
            scope = self.scopes.pop() if threaded else {}
        body = self._scoped(scope, body)
        if degenerate:
            return cgen.Block([cgen.Line(f"const int64_t {iterator} = {init};"), body])
        cond = strip_parens(self.isl_expr(node.for_get_cond()))  # OpenMP wants `c0 < n`
        inc = self.isl_expr(node.for_get_inc())
        loop = cgen.For(_text(f"int64_t {iterator} = {init}"), _text(cond),
                        _text(f"{iterator} += {inc}"), _block(body))
        if marks.PARALLEL in pragmas:
            self.used.add(THREADS)  # the clauses read polytc_nthreads
            simd = " simd" if marks.SIMD in pragmas else ""
            return cgen.Module([cgen.Pragma(f"omp parallel for{simd} num_threads(polytc_nthreads)"
                                            " if(polytc_nthreads > 1) schedule(static)"), loop])
        if marks.SIMD in pragmas:
            return cgen.Module([cgen.Pragma("omp simd"), loop])
        rows = _register_rows(node)
        if rows is not None:
            return cgen.Module([cgen.Pragma(f"GCC unroll {rows}"), loop])
        return loop

    def user(self, node: isl.AstNode) -> cgen.Generable:
        call = node.user_get_expr()
        name = call.get_op_arg(0).get_id().get_name()
        statement = self.statements[name]
        lines: list[cgen.Generable] = []
        for position, iterator in enumerate(statement.iterators):
            value = self.isl_expr(call.get_op_arg(position + 1))
            lines.append(cgen.Line(f"const int64_t {self.names(iterator)} = {value};"))
        planned = self.places.get(_annotation(node) or "")
        if planned is not None and self.in_force.get(statement.tensor) is planned[0]:
            written = tuple(self.body.index(i) for i in statement.write_indices)
            self.body.exact = {statement.tensor: (written, planned[1])}
        try:
            lines.append(cgen.Line(self.assignment(statement)))
        finally:
            self.body.exact = {}
        return cgen.Block(lines)

    def assignment(self, statement: ir.Statement) -> str:
        tensor = self.program.tensor(statement.tensor)
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


def _exact_box(footprint: isl.UnionMap) -> tuple[isl.PwMultiAff, tuple[int, ...]] | None:
    """The corner (a function of the outer loops) and constant sizes of the
    box that *is* the footprint for every outer iteration, if it is small."""
    if footprint.is_empty():
        return None
    try:
        relation = isl.Map.from_union_map(footprint)
    except isl.Error:  # several spaces
        return None
    if relation.n_basic_map() > MAX_BOX_PIECES:  # a block is one box, not a patchwork
        return None
    low = relation.lexmin_pw_multi_aff()  # a box's lexicographic minimum is its corner
    high = relation.lexmax_pw_multi_aff()
    sizes = []
    for d in range(relation.dim(isl.dim_type.out)):
        span = isl.Map.from_pw_aff(high.get_pw_aff(d).sub(low.get_pw_aff(d))).range()
        smallest, largest = span.dim_min_val(0), span.dim_max_val(0)
        if not (smallest.is_int() and largest.is_int() and smallest.eq(largest)):
            return None  # not a constant size
        sizes.append(largest.to_python() + 1)
    count = 1
    for n in sizes:
        count *= n
    if count > MAX_PROMOTED_ELEMENTS:
        return None
    names = [f"x{d}" for d in range(len(sizes))]
    bounds = " and ".join(f"0 <= {x} < {n}" for x, n in zip(names, sizes)) or "true"
    tensor = relation.get_tuple_name(isl.dim_type.out)
    block = isl.Set(f"{{ [{', '.join(names)}] : {bounds} }}", context=relation.get_ctx())
    block = block.set_tuple_name(tensor)
    extent = isl.Map.from_domain_and_range(
        relation.domain(), block.align_params(relation.get_space().params()))
    box = isl.Map.from_pw_multi_aff(low).sum(extent)
    if not box.intersect_domain(relation.domain()).is_equal(relation):
        return None
    return low, tuple(sizes)


def _annotation(node: isl.AstNode) -> str | None:
    try:
        return node.get_annotation().get_name()
    except isl.Error:  # no annotation
        return None


@dataclass(frozen=True)
class _Pack:
    """A packed tile (:mod:`polytc.codegen_c.pack`) as C: its buffer's name,
    the C of its box's offsets, and its sizes."""

    tensor: str
    local: str
    offsets: tuple[str, ...]
    sizes: tuple[int | None, ...]  # None: up to the tensor's extent
    order: tuple[int, ...]


def _allocation(ctype: str, count: str) -> str:
    """C allocating ``count`` elements of ``ctype``, 64-byte aligned, with at
    least 64 bytes to spare."""
    return f"({ctype} *)aligned_alloc(64, (sizeof({ctype}) * ({count}) + 127) / 64 * 64)"


def _nest(points: list[str], sizes: tuple[int | str, ...], statement: str) -> cgen.Generable:
    """``for (x0 < sizes[0]) ... statement``: a promoted block's copy loop."""
    body: cgen.Generable = cgen.Line(statement)
    for point, size in reversed(list(zip(points, sizes))):
        body = cgen.For(_text(f"int64_t {point} = 0"), _text(f"{point} < {size}"),
                        _text(f"{point}++"), _block(body))
    return body


def _text(text: str) -> Any:
    """cgen takes C fragments as plain strings where its hints say Generable."""
    return text


def _block(node: cgen.Generable) -> cgen.Generable:
    return node if isinstance(node, cgen.Block) else cgen.Block([node])


__all__ = ["CFunction", "TensorArg", "to_c", "mark_parallel", "literal"]
