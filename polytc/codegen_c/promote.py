"""Register promotion in the emitted C: the accumulated block of a
``promote`` mark lives in a local array across its reduction loop.

:class:`PromotionEmitter` (a part of :class:`polytc.codegen_c.emit.Emitter`)
plans a promotion where the block is a small fixed box for every outer
iteration (:func:`exact_box`), records each statement's place in the block
as isl prints it, and emits the load, the block's uses and the store.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.expr import BodyPrinter, Layout, Promotion, ast_expr, read_key
from polytc.codegen_c.pack import Packing
from polytc.codegen_c.pragmas import annotation, pragma_mark
from polytc.codegen_c.storage import copy_nest
from polytc.isl_util import map_list
from polytc.poly.contraction import Contraction
from polytc.tiling import marks

MAX_PROMOTED_ELEMENTS = 1024  # a register block, not a cache tile
# a footprint of more pieces is no box worth promoting (and its lexicographic
# extrema took isl 70 s on fuzz seed 9127027578)
MAX_BOX_PIECES = 4
#: a partial block's last dimension is allocated (and its loops padded) to a
#: multiple of this many elements: whole vectors, as the full blocks' widths
PADDED_MULTIPLE = 8


@dataclass(frozen=True)
class Padding:
    """A loop run the whole ``width`` of a partial block, the packed buffers
    it reads up to ``width`` past their tile, and whether it accumulates
    into the block (the loop that pays for the promotion)."""

    width: int
    slack: frozenset[str]
    accumulates: bool


@dataclass(frozen=True)
class Box:
    """A promoted block's box: its ``corner`` (of the outer loops), a
    constant bound on its ``sizes``, and per dimension its size where that
    is not constant (else None)."""

    corner: isl.PwMultiAff
    sizes: tuple[int, ...]
    extents: tuple[isl.PwAff | None, ...]


class PromotionEmitter:
    """Register promotion, for :class:`~polytc.codegen_c.emit.Emitter`."""

    program: ir.Program
    body: BodyPrinter
    layouts: dict[str, Layout]
    used: set[str]
    statements: dict[str, ir.Statement]
    contractions: dict[str, Contraction]
    planning: list[tuple[Promotion, isl.UnionMap] | None]
    pack_slack: dict[str, int]  # elements a packed buffer needs past its tile (padded lanes)
    padded_loops: int  # accumulating loops run padded so far (plan_padding)
    packs_planned: list[list[Packing]]  # the packings of the pack marks around
    places: dict[str, tuple[Promotion, tuple[str, ...]]]
    in_force: dict[str, Promotion]
    loop_stack: list[str]  # the iterators of the loops around the node emitted
    block_loops: dict[str, int]  # per promoted tensor: how many loops are around its block

    def node(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        raise NotImplementedError  # the AST walk: Emitter.node

    def ast_name(self, name: str) -> str:
        raise NotImplementedError  # Emitter.ast_name

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
        local = replace(promotion, offsets=tuple(names))
        points = [f"{promotion.local}_x{d}" for d in range(len(promotion.sizes))]
        here = local.at(points)
        there = self.body.element(promotion.tensor, [f"({o} + {x})" for o, x in zip(names, points)])
        bounds = promotion.extents or promotion.sizes  # a partial block: its part
        lines.append(copy_nest(points, bounds, f"{here} = {there};"))
        self.body.promoted[promotion.tensor] = local
        outer = self.in_force.get(promotion.tensor)
        self.in_force[promotion.tensor] = promotion
        outer_loops = self.block_loops.get(promotion.tensor)
        self.block_loops[promotion.tensor] = len(self.loop_stack)
        padded, slack = self.padded_loops, dict(self.pack_slack)
        try:
            lines.append(self.node(inner, pragmas))
        finally:
            if outer_loops is None:
                del self.block_loops[promotion.tensor]
            else:
                self.block_loops[promotion.tensor] = outer_loops
            del self.body.promoted[promotion.tensor]
            if outer is None:
                del self.in_force[promotion.tensor]
            else:
                self.in_force[promotion.tensor] = outer
        if promotion.extents is not None and self.padded_loops == padded:
            # a partial block whose accumulating loops stay exact: its copies
            # cost more than they save (a convolution's C grew from 1,064 to
            # 1,254 lines, and its compile from 7.7 to 10.7 s, for no speed);
            # emitted again in memory, where no loop pads nor reads past a pack
            self.pack_slack = slack
            return self.node(inner, pragmas)
        if promotion.store:
            lines.append(copy_nest(points, bounds, f"{there} = {here};"))
        return cgen.Block(lines)

    def plan_padding(self, node: isl.AstNode) -> Padding | None:
        """How the ``simd`` loop at ``node`` runs a partial block as a whole
        one, else None.

        A partial block (the last columns of a matrix that the block width
        does not divide) runs its vector loop the whole width of the block,
        as a whole block does, so that gcc keeps the block in registers
        across the reduction loop.  The padded lanes compute values no one
        reads: the block's store copies only its part.  This is safe when
        each statement in the loop writes its own lane of a promoted block
        (the loop's iterator, from 0, is its place along one dimension),
        reads that tensor only there, reads every other tensor either the
        same way on every lane or from a packed tile along its rows (whose
        buffer gets the block's width to spare), and computes in floating
        point only (a padded lane's garbage must not trap).  (The last rows
        of a block run as they are: padded, unrolled rows measured the same
        on gemm, doitgen and an MLP layer, and doubled a convolution's C.)"""
        init, step = node.for_get_init(), node.for_get_inc()
        if not (_is_int(init, 0) and _is_int(step, 1)):
            return None
        iterator = node.for_get_iterator().get_id().get_name()
        users = _users(node.for_get_body(), iterator)
        if not users:
            return None
        widths: set[int] = set()
        slack: set[str] = set()
        for user in users:
            width = self._padded_width(user, iterator, slack)
            if width is None or self._lanes_move_in_block(node, user):
                return None
            widths.add(width)
        if len(widths) != 1:
            return None
        width = widths.pop()
        if _is_int(node.for_get_cond(), None, below=width):
            return None  # already whole
        accumulates = any(self._statement(user).op != "=" for user in users)
        return Padding(width, frozenset(slack), accumulates)

    def _lanes_move_in_block(self, loop: isl.AstNode, user: isl.AstNode) -> bool:
        """Whether the lanes ``loop`` runs move with a loop inside the block
        that ``user``'s statement writes (``j <= i`` under the block's rows
        ``i``: a triangle).  The block's store copies its box, which holds
        the lanes one row runs and another does not: padded, they would be
        stored with the garbage they computed (a lower-triangular syrk was
        wrong in every block on the diagonal)."""
        inside = self.loop_stack[self.block_loops.get(self._statement(user).tensor, 0):]
        return any(_mentions(loop.for_get_init(), name) or _mentions(loop.for_get_cond(), name)
                   for name in inside)

    def _padded_width(self, user: isl.AstNode, iterator: str, slack: set[str]) -> int | None:
        """The block's extent along ``iterator`` if ``user``'s statement may
        run padded along it (:meth:`plan_padding`); the packed buffers it
        reads past their tile go into ``slack``."""
        call = user.user_get_expr()
        statement = self._statement(user)
        planned = self.places.get(annotation(user) or "")
        block = self.body.promoted.get(statement.tensor)
        if (planned is None or block is None or block.order is not None
                or self.in_force.get(statement.tensor) is not planned[0]):
            return None
        places = planned[1]
        along_block = [d for d, place in enumerate(places) if _mentions_text(place, iterator)]
        if len(along_block) != 1 or places[along_block[0]] != iterator:
            return None
        moving: list[int] = []  # the statement's dimensions that move with the loop
        for position in range(len(statement.iterators)):
            value = call.get_op_arg(position + 1)
            if _mentions(value, iterator):
                if not _unit_step(value, iterator):
                    return None
                moving.append(position)
        if not _floating_point(self.program, statement):
            return None
        for read in statement.reads:
            if read.tensor == statement.tensor:
                if not read.access.is_equal(statement.write):
                    return None
                continue
            along = [d for d in moving if read.access.involves_dims(isl.dim_type.in_, d, 1)]
            if not along:
                continue
            if len(along) != 1:
                return None
            steps = _steps(read.access, along[0])
            pack = self.body.promoted_reads.get(read_key(read)) \
                or self.body.promoted.get(read.tensor)
            if pack is None or pack.store or steps is None:
                return None  # read in memory (or a block's) along the padded lanes
            row = (pack.order or tuple(range(len(pack.sizes))))[-1]
            if steps != [int(d == row) for d in range(len(steps))]:
                return None  # a packed tile, not along its rows
            slack.add(pack.local)
        return block.sizes[along_block[0]]

    def _may_pad(self, tensor: str, domain: isl.UnionSet) -> bool:
        """Whether the accumulations into a block of ``tensor`` whose last
        dimension is partial could run padded (:meth:`plan_padding`, checked
        again there): each statement under the mark that accumulates into
        it reads other tensors along that dimension only from tiles that an
        enclosing ``pack`` mark copies.  Planning blocks that would then stay
        in memory cost a convolution 1.2 s of 6."""
        packed = {p.tensor for packings in self.packs_planned for p in packings}
        accumulating = [s for s in self.program.statements
                        if s.tensor == tensor and s.op != "="
                        and not domain.extract_set(s.domain.get_space()).is_empty()]
        for statement in accumulating:
            dims = range(len(statement.iterators))
            lanes = [d for d in dims if (_steps(statement.write, d) or [1])[-1]]
            for read in statement.reads:
                if read.tensor != tensor and read.tensor not in packed and any(
                        any(_steps(read.access, d) or [1]) for d in lanes):
                    return False
        return bool(accumulating)

    def _statement(self, user: isl.AstNode) -> ir.Statement:
        return self.statements[user.user_get_expr().get_op_arg(0).get_id().get_name()]

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
            box = exact_box(footprint, lambda: self._may_pad(tensor, domain))
            if box is None:
                continue

            def text(value: isl.PwAff) -> str:
                return ast_expr(build.expr_from_pw_aff(value), self.ast_name, "c", self.used)
            texts = tuple(text(box.corner.get_pw_aff(d)) for d in range(len(box.sizes)))
            extents = None if all(e is None for e in box.extents) else tuple(
                str(size) if e is None else text(e) for size, e in zip(box.sizes, box.extents))
            local = f"polytc_{self.layouts[tensor].c_name}_block"
            corners = schedule.apply_range(
                isl.UnionMap.from_map(isl.Map.from_pw_multi_aff(box.corner)))
            return Promotion(tensor, local, texts, box.sizes, store=True,
                             extents=extents), corners
        return None


def exact_box(footprint: isl.UnionMap,
              partial_ok: Callable[[], bool] = lambda: True) -> Box | None:
    """The box that *is* the footprint for every outer iteration, if it is
    small: its corner (a function of the outer loops), a constant bound on
    its size per dimension, and its size where that moves with the outer
    loops (a partial register block at the end of a loop: only where
    ``partial_ok()``, asked first, and its last dimension among others)."""
    if footprint.is_empty():
        return None
    try:
        relation = isl.Map.from_union_map(footprint)
    except isl.Error:  # several spaces
        return None
    if relation.n_basic_map() > MAX_BOX_PIECES:  # a block is one box, not a patchwork
        return None
    if not partial_ok():
        return _whole_box(relation)
    low = relation.lexmin_pw_multi_aff()  # a box's lexicographic extrema are its corners
    high = relation.lexmax_pw_multi_aff()
    n = relation.dim(isl.dim_type.out)
    sizes: list[int] = []
    extents: list[isl.PwAff | None] = []
    for d in range(n):
        span = high.get_pw_aff(d).sub(low.get_pw_aff(d))
        values = isl.Map.from_pw_aff(span).range()
        smallest, largest = values.dim_min_val(0), values.dim_max_val(0)
        if not (smallest.is_int() and largest.is_int()):
            return None  # no constant bound
        size = largest.to_python() + 1
        if smallest.eq(largest):
            extents.append(None)
        else:  # the last dimension is padded to whole vectors (see plan_padding)
            size = -(-size // PADDED_MULTIPLE) * PADDED_MULTIPLE if d == n - 1 else size
            extents.append(span.add(isl.PwAff.val_on_domain(
                span.domain(), isl.Val.one(span.get_ctx()))))
        sizes.append(size)
    if math.prod(sizes) > MAX_PROMOTED_ELEMENTS:
        return None
    if any(e is not None for e in extents) and extents[-1] is None:
        return None  # partial rows only (no vector loop to pad)
    if not _box_between(relation, low, high).is_equal(relation):
        return None
    return Box(low, tuple(sizes), tuple(extents))


def _whole_box(relation: isl.Map) -> Box | None:
    """:func:`exact_box` where only a box of constant sizes will do: its
    sizes are the widest spans of the footprint (the differences of two
    elements of one outer iteration's footprint), and the footprint must be
    the box of those sizes at its lexicographic minimum for every outer
    iteration.  Neither the lexicographic maximum nor the spans as functions
    of the outer loops are needed (they took 60 % of a convolution's 0.67 s
    of ``exact_box``, whose blocks are mostly partial and refused)."""
    spans = relation.reverse().apply_range(relation).deltas()
    sizes: list[int] = []
    for d in range(spans.dim(isl.dim_type.set)):
        widest = spans.dim_max_val(d)
        if not widest.is_int():
            return None  # no constant bound
        sizes.append(widest.to_python() + 1)
    if math.prod(sizes) > MAX_PROMOTED_ELEMENTS:
        return None
    low = relation.lexmin_pw_multi_aff()
    last = isl.MultiVal.zero(low.get_space().range())
    for d, size in enumerate(sizes):
        last = last.set_val(d, isl.Val.int_from_si(relation.get_ctx(), size - 1))
    if not _box_between(relation, low, low.add_constant_multi_val(last)).is_equal(relation):
        return None
    return Box(low, tuple(sizes), (None,) * len(sizes))


def _box_between(relation: isl.Map, low: isl.PwMultiAff, high: isl.PwMultiAff) -> isl.Map:
    """For each outer iteration of ``relation``, every element between the
    corners ``low`` and ``high``, dimension by dimension."""
    n = relation.dim(isl.dim_type.out)
    names = [f"x{d}" for d in range(n)]
    others = [f"y{d}" for d in range(n)]
    tensor = relation.get_tuple_name(isl.dim_type.out)

    def order(compare: str) -> isl.Map:
        bounds = " and ".join(f"{x} {compare} {y}" for x, y in zip(names, others)) or "true"
        pairs = isl.Map(f"{{ [{', '.join(names)}] -> [{', '.join(others)}] : {bounds} }}",
                        context=relation.get_ctx())
        pairs = pairs.set_tuple_name(isl.dim_type.in_, tensor)
        pairs = pairs.set_tuple_name(isl.dim_type.out, tensor)
        return pairs.align_params(relation.get_space().params())

    above = isl.Map.from_pw_multi_aff(low).apply_range(order("<="))
    below = isl.Map.from_pw_multi_aff(high).apply_range(order(">="))
    return above.intersect(below).intersect_domain(relation.domain())


#: integer operations that trap on some operands
_TRAPPING = frozenset(("/", "%", "/t", "%t"))


def _is_int(expr: isl.AstExpr, value: int | None, below: int | None = None) -> bool:
    """Whether ``expr`` is the integer ``value``; with ``below``, whether it
    is ``iterator < below`` (or ``<= below - 1``)."""
    if below is None:
        return expr.get_type() == isl.ast_expr_type.int and expr.get_val().to_python() == value
    if expr.get_type() != isl.ast_expr_type.op or expr.get_op_n_arg() != 2:
        return False
    bound = expr.get_op_arg(1)
    if expr.get_op_type() == isl.ast_expr_op_type.lt:
        return _is_int(bound, below)
    return expr.get_op_type() == isl.ast_expr_op_type.le and _is_int(bound, below - 1)


def _mentions(expr: isl.AstExpr, name: str) -> bool:
    kind = expr.get_type()
    if kind == isl.ast_expr_type.id:
        return expr.get_id().get_name() == name
    if kind == isl.ast_expr_type.op:
        return any(_mentions(expr.get_op_arg(k), name) for k in range(expr.get_op_n_arg()))
    return False


def _mentions_text(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def _unit_step(expr: isl.AstExpr, name: str) -> bool:
    """Whether ``expr`` is ``name`` plus terms without it (a step of one)."""
    kind = expr.get_type()
    if kind == isl.ast_expr_type.id:
        return expr.get_id().get_name() == name
    if kind != isl.ast_expr_type.op:
        return False
    op, args = expr.get_op_type(), [expr.get_op_arg(k) for k in range(expr.get_op_n_arg())]
    if op == isl.ast_expr_op_type.add:
        holding = [a for a in args if _mentions(a, name)]
        return len(holding) == 1 and _unit_step(holding[0], name)
    if op == isl.ast_expr_op_type.sub:
        return _unit_step(args[0], name) and not _mentions(args[1], name)
    return False


def _steps(access: isl.Map, dim: int) -> list[int] | None:
    """Per output dimension of ``access``, how far it moves per step of its
    input dimension ``dim``; None where that is no constant (a gather, a
    floor)."""
    try:
        function = isl.PwMultiAff.from_map(access)
    except isl.Error:  # not a function (a gathered dimension)
        return None
    steps: list[int] = []
    for out in range(function.dim(isl.dim_type.out)):
        found: set[int] = set()
        for _, aff in function.get_pw_aff(out).get_pieces():
            if aff.involves_dims(isl.dim_type.div, 0, aff.dim(isl.dim_type.div)):
                return None
            found.add(aff.get_coefficient_val(isl.dim_type.in_, dim).to_python())
        if len(found) != 1:
            return None
        steps.append(found.pop())
    return steps


def _users(node: isl.AstNode, iterator: str) -> list[isl.AstNode] | None:
    """The statements below ``node`` through blocks, loops whose bounds do
    not move with ``iterator`` (on a padded lane they would be read where
    isl did not mean them) and the marks of pragmas only (an ``if`` may
    hold lanes back, another mark change where they write: None)."""
    kind = node.get_type()
    if kind == isl.ast_node_type.user:
        return [node]
    if kind == getattr(isl.ast_node_type, "for_"):
        if _mentions(node.for_get_init(), iterator) or _mentions(node.for_get_cond(), iterator):
            return None
        return _users(node.for_get_body(), iterator)
    if kind == isl.ast_node_type.mark and pragma_mark(node.mark_get_id().get_name()):
        return _users(node.mark_get_node(), iterator)
    if kind != isl.ast_node_type.block:
        return None
    children = node.block_get_children()
    found: list[isl.AstNode] = []
    for k in range(children.n_ast_node()):
        inner = _users(children.get_at(k), iterator)
        if inner is None:
            return None
        found += inner
    return found


def _floating_point(program: ir.Program, statement: ir.Statement) -> bool:
    """Whether ``statement`` writes and reads floating point only, with no
    integer division (on garbage, that may trap)."""
    if not dtypes.is_float(program.tensor(statement.tensor).dtype):
        return False
    for expr in ir.walk(statement.body):
        if isinstance(expr, (ir.Read, ir.Cast)) and not dtypes.is_float(expr.dtype):
            return False
        if isinstance(expr, ir.Binary) and expr.op in _TRAPPING and \
                not dtypes.is_float(expr.dtype):
            return False
    return True
