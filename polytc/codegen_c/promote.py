"""Register promotion in the emitted C: the accumulated block of a
``promote`` mark lives in a local array across its reduction loop.

:class:`PromotionEmitter` (a part of :class:`polytc.codegen_c.emit.Emitter`)
plans a promotion where the block is a small fixed box for every outer
iteration (:func:`exact_box`), records each statement's place in the block
as isl prints it, and emits the load, the block's uses and the store.
"""
from __future__ import annotations

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.expr import BodyPrinter, Layout, Promotion, ast_expr
from polytc.codegen_c.storage import copy_nest
from polytc.isl_util import map_list
from polytc.poly.contraction import Contraction
from polytc.tiling import marks

MAX_PROMOTED_ELEMENTS = 1024  # a register block, not a cache tile
# a footprint of more pieces is no box worth promoting (and its lexicographic
# extrema took isl 70 s on fuzz seed 9127027578)
MAX_BOX_PIECES = 4


class PromotionEmitter:
    """Register promotion, for :class:`~polytc.codegen_c.emit.Emitter`."""

    program: ir.Program
    body: BodyPrinter
    layouts: dict[str, Layout]
    used: set[str]
    statements: dict[str, ir.Statement]
    contractions: dict[str, Contraction]
    planning: list[tuple[Promotion, isl.UnionMap] | None]
    places: dict[str, tuple[Promotion, tuple[str, ...]]]
    in_force: dict[str, Promotion]

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
        local = Promotion(promotion.tensor, promotion.local, tuple(names), promotion.sizes,
                          promotion.store)
        points = [f"{promotion.local}_x{d}" for d in range(len(promotion.sizes))]
        here = local.at(points)
        there = self.body.element(promotion.tensor, [f"({o} + {x})" for o, x in zip(names, points)])
        lines.append(copy_nest(points, promotion.sizes, f"{here} = {there};"))
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
            lines.append(copy_nest(points, promotion.sizes, f"{there} = {here};"))
        return cgen.Block(lines)

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
            box = exact_box(footprint)
            if box is None:
                continue
            corner, sizes = box
            texts = tuple(ast_expr(build.expr_from_pw_aff(corner.get_pw_aff(d)), self.ast_name,
                                   "c", self.used) for d in range(len(sizes)))
            local = f"polytc_{self.layouts[tensor].c_name}_block"
            corners = schedule.apply_range(isl.UnionMap.from_map(isl.Map.from_pw_multi_aff(corner)))
            return Promotion(tensor, local, texts, sizes, store=True), corners
        return None


def exact_box(footprint: isl.UnionMap) -> tuple[isl.PwMultiAff, tuple[int, ...]] | None:
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
