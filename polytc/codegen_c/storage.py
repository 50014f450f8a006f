"""Where the emitted C keeps data: the function's preamble (sizes, extents,
size checks, temporaries), contracted temporaries' buffers, and packed tiles.

:class:`StorageEmitter` (a part of :class:`polytc.codegen_c.emit.Emitter`)
holds a contracted temporary in a local array inside its loop nest when
small and constant, else in a buffer allocated once per enclosing scope (the
function, or a parallel loop: one per thread, allocated in the ``omp
parallel`` region before the work-shared loop, or in every iteration when
its size moves with the loop); a ``pack:`` mark's tiles are copied into
64-byte aligned buffers of the scope.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.conditions import c_check
from polytc.codegen_c.expr import BodyPrinter, Layout, Promotion, ReadKey, ast_expr, read_key
from polytc.codegen_c.names import NameTable
from polytc.codegen_c.pack import Packing, element_count, plan_packings
from polytc.errors import PolytcInternalError
from polytc.poly.contraction import Contraction
from polytc.tiling import marks

if TYPE_CHECKING:
    from polytc.codegen_c.emit import CStyle

MAX_LOCAL_CONTRACTED = 1024  # a contracted temporary this small is a local array


class StorageEmitter:
    """Buffers and the preamble, for :class:`~polytc.codegen_c.emit.Emitter`."""

    program: ir.Program
    fixed: dict[str, int]
    names: NameTable
    body: BodyPrinter
    layouts: dict[str, Layout]
    used: set[str]
    contractions: dict[str, Contraction]
    buffers: dict[str, tuple[tuple[int | None, bool], ...]]
    scopes: list[dict[str, tuple[str, str]]]
    packs: dict[str, tuple["PackedTile", ...]]
    pack_slack: dict[str, int]  # elements a pack's buffer needs past its tile
    style: "CStyle"

    def node(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        raise NotImplementedError  # the AST walk: Emitter.node

    def ast_name(self, name: str) -> str:
        raise NotImplementedError  # Emitter.ast_name

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
            preamble.append(cgen.Line(f"{ctype} *restrict {name} = {allocation(ctype, count)};"))
            preamble.append(cgen.Line(f"if (!{name}) {fail}"))
            cleanup.append(cgen.Line(f"free({name});"))
        return preamble, cleanup

    def contracted(self, tensor: str, inner: isl.AstNode,
                   pragmas: frozenset[str]) -> cgen.Generable:
        """``inner``, the loop nest within one iteration of which every value
        of contracted ``tensor`` lives: a small constant-size buffer is a
        local array here; any other is allocated once per enclosing scope
        (the function, or a parallel loop: one per thread)."""
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
        return self._allocated(scope, self._guarded(scope, body))

    @staticmethod
    def _guarded(scope: dict[str, tuple[str, str]], body: cgen.Generable) -> cgen.Generable:
        """``body`` run when every buffer of ``scope`` was allocated, else status 2."""
        return cgen.If(c_text(" && ".join(scope)), c_block(body),
                       cgen.Block([cgen.Line("polytc_status = 2;")]))

    @staticmethod
    def _allocated(scope: dict[str, tuple[str, str]], body: cgen.Generable) -> cgen.Generable:
        """``body`` between the allocation and the release of ``scope``'s buffers."""
        lines: list[cgen.Generable] = [
            cgen.Line(f"{ctype} *restrict {name} = {allocation(ctype, count)};")
            for name, (ctype, count) in scope.items()]
        lines.append(body)
        lines += [cgen.Line(f"free({name});") for name in scope]
        return cgen.Block(lines)

    def packed(self, packs: tuple[PackedTile, ...], inner: isl.AstNode,
               pragmas: frozenset[str]) -> cgen.Generable:
        """``inner`` reading the tiles of ``packs`` from their buffers, each
        filled before it with the part of its box inside the tensor."""
        packs = tuple(p for p in packs
                      if p.tensor not in self.body.promoted and (p.reads is None or p.reads))
        lines: list[cgen.Generable] = []
        own: dict[str, str] = {}  # per tensor, its tile's element count
        made: list[tuple[PackedTile, Promotion]] = []  # each pack, its buffer as read
        for pack in packs:
            tensor = self.program.tensor(pack.tensor)
            extents = self.layouts[pack.tensor].extents
            sizes = [str(size) if size is not None else f"(size_t){extent}"
                     for size, extent in zip(pack.sizes, extents)]
            count = str(element_count(pack.sizes)) if None not in pack.sizes else " * ".join(sizes)
            own[pack.tensor] = count
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
            statement = f"{here} = {there};"
            moved = pack.order[-1] != len(pack.sizes) - 1  # a transposing copy
            lines.append(transposing_copy_nest(points, tuple(bounds), statement, pack.local)
                         if moved else copy_nest(points, tuple(bounds), statement))
            if pack.reads is None:
                self.body.promoted[pack.tensor] = local
            else:
                self.body.promoted_reads.update(dict.fromkeys(pack.reads, local))
            made.append((pack, local))
        scope = self.scopes[-1]
        try:
            lines.append(self.node(inner, pragmas))
        finally:
            for pack, local in made:
                if pack.reads is None:
                    del self.body.promoted[pack.tensor]
                for key in pack.reads or ():
                    del self.body.promoted_reads[key]
                buffer = local.local
                slack = self.pack_slack.pop(buffer, 0)
                if slack:  # padded lanes read up to a block's width past the tile
                    ctype, count = scope[buffer]
                    needed = own[pack.tensor]
                    scope[buffer] = (ctype, str(max(int(count), int(needed) + slack))
                                     if count.isdigit() and needed.isdigit()
                                     else f"{count} + {slack}")
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

    def _packings(self, build: isl.AstBuild, mark: str) -> list[Packing]:
        """The packings the ``pack:`` mark ``mark`` names (``B``: as it is; ``W@0``:
        dimension 0 last; ``A@0/S1.1``: for that read only, see
        :class:`polytc.tiling.marks.PackEntry`) that are worth making, below
        the mark at ``build``."""
        entries = marks.pack_entries(mark)
        candidates = {e.tensor: e for e in entries if e.tensor not in self.contractions}
        try:
            return plan_packings(self.program, build.get_schedule(), candidates)
        except Exception:  # noqa: BLE001 - raising into isl would crash; not packing is correct
            return []

    def _served(self, packing: Packing) -> frozenset[ReadKey] | None:
        """The reads a packing serves, as the body printer knows them."""
        if packing.reads is None:
            return None
        return frozenset(
            read_key(read) for name, place in packing.reads
            for read, at in self.program.statement(name).placed_reads()
            if read.tensor == packing.tensor and at == place)

    def _plan_packs(self, node: isl.AstNode, build: isl.AstBuild,
                    planned: list[Packing]) -> isl.AstNode:
        """Annotate a ``pack:`` mark with its ``planned`` packings as C."""
        if not planned:
            return node
        key = f"pack{len(self.packs)}"
        self.packs[key] = tuple(
            PackedTile(p.tensor, f"polytc_{self.layouts[p.tensor].c_name}_pack",
                       tuple(ast_expr(build.expr_from_pw_aff(offset), self.ast_name, "c",
                                      self.used) for offset in p.offsets),
                       p.sizes, p.order, self._served(p))
            for p in planned)
        return node.set_annotation(isl.Id(key, context=node.get_ctx()))


@dataclass(frozen=True)
class PackedTile:
    """A packed tile (:mod:`polytc.codegen_c.pack`) as C: its buffer's name,
    the C of its box's offsets, its sizes, and the reads it serves."""

    tensor: str
    local: str
    offsets: tuple[str, ...]
    sizes: tuple[int | None, ...]  # None: up to the tensor's extent
    order: tuple[int, ...]
    reads: frozenset[ReadKey] | None = None  # None: every read of the tensor


def allocation(ctype: str, count: str) -> str:
    """C allocating ``count`` elements of ``ctype``, 64-byte aligned, with at
    least 64 bytes to spare."""
    return f"({ctype} *)aligned_alloc(64, (sizeof({ctype}) * ({count}) + 127) / 64 * 64)"


def copy_nest(points: list[str], sizes: tuple[int | str, ...], statement: str) -> cgen.Generable:
    """``for (x0 < sizes[0]) ... statement``: a promoted block's copy loop."""
    body: cgen.Generable = cgen.Line(statement)
    for point, size in reversed(list(zip(points, sizes))):
        body = cgen.For(c_text(f"int64_t {point} = 0"), c_text(f"{point} < {size}"),
                        c_text(f"{point}++"), c_block(body))
    return body


#: elements of the tensor's rows a transposing copy takes at a time: one
#: cache line of each row read, and that many rows of the buffer written,
#: stay in L1 across the rows (an MLP layer's 48 copies of 64 x 1024 floats:
#: 2.0 ms row by row, 0.96 ms in blocks of 16, 1.06 of 8, 1.0 of 32 or 64)
TRANSPOSE_BLOCK = 16


def transposing_copy_nest(points: list[str], sizes: tuple[str, ...], statement: str,
                          prefix: str) -> cgen.Generable:
    """:func:`copy_nest` for a copy whose last dimension is not the
    buffer's: the tensor's last dimension is taken in blocks of
    TRANSPOSE_BLOCK, outermost, so that reads and writes stay in cache."""
    block, last = f"{prefix}_b", points[-1]
    body: cgen.Generable = cgen.For(
        c_text(f"int64_t {last} = {block}"),
        c_text(f"{last} < POLYTC_MIN({block} + {TRANSPOSE_BLOCK}, {sizes[-1]})"),
        c_text(f"{last}++"), c_block(cgen.Line(statement)))
    for point, size in reversed(list(zip(points[:-1], sizes[:-1]))):
        body = cgen.For(c_text(f"int64_t {point} = 0"), c_text(f"{point} < {size}"),
                        c_text(f"{point}++"), c_block(body))
    return cgen.For(c_text(f"int64_t {block} = 0"), c_text(f"{block} < {sizes[-1]}"),
                    c_text(f"{block} += {TRANSPOSE_BLOCK}"), c_block(body))


def c_text(text: str) -> Any:
    """cgen takes C fragments as plain strings where its hints say Generable."""
    return text


def c_block(node: cgen.Generable) -> cgen.Generable:
    return node if isinstance(node, cgen.Block) else cgen.Block([node])
