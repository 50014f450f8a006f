"""Written scalars and arrays privatised where that is legal.

A scalar the region writes is a 0-d tensor, and its reuse serialises every
loop around it (``temp2`` in symm, ``w`` in ludcmp, ``sum`` in durbin:
where Pluto finds no parallel loop).  Its accesses are split into live
ranges (a read and the writes it may read from share one; deriche reuses
``ym1`` in two nests).  When the scalar is dead outside the region
(:mod:`.liveness`) and, around all accesses of a live range, loops ``L1..Ld``
are such that every read gets its value from a write in the same
iteration of those loops (exact dataflow under the original order; no read
is exposed to the value before the region), its value never crosses an
iteration: the scalar is expanded into a temporary indexed by those loops'
iterators (``temp2[i][j]``; ``polytc_ym1_0[i]`` for one live range of
several).  The loops become parallel or tileable, and
code generation's contraction of temporaries shrinks the temporary back to
a local scalar per iteration wherever the schedule keeps its accesses in
one iteration.

An array the caller passes is privatised the same way when all its
accesses form one live range (doitgen's ``sum[p]``, reset and summed for
each ``(r, q)``): the temporary ``polytc_sum_private[r][q][p]`` keeps the
array's subscripts after the loops' iterators, and copies hand each
element's last value back (:mod:`.copyout`).  Only where that frees a loop:
some loop ``Lk`` whose iterations share an element of the array carries no
dependence once the array is private (adi's ``v`` is rewritten every time
step, but the step loop stays sequential through ``u``).
"""
from __future__ import annotations

import dataclasses

import islpy as isl

from polytc import program as ir
from polytc.frontend.c.copyout import copy_statement, last_writes, with_copies
from polytc.frontend.c.liveness import outside_uses
from polytc.frontend.c.lower import RegionNames
from polytc.frontend.c.parse import Region, Unit
from polytc.isl_util import map_list
from polytc.poly.dependences import dependences, original_order


def privatise(program: ir.Program, unit: Unit, region: Region,
              names: RegionNames | None = None, arrays: bool = True) -> ir.Program:
    """``program`` with each privatisable live range of a written scalar
    expanded, and of a written array (unless ``arrays`` is False)."""
    order = program.order
    if order is None:
        return program
    names = names or RegionNames(unit, region)
    dead = _dead_outside(region, names)
    paths = _loop_paths(order)
    for tensor in program.tensors:
        if tensor.role != "inout" or (not tensor.rank and tensor.name not in dead) \
                or (tensor.rank and not arrays):
            continue
        ranges = _live_ranges(program, tensor.name)
        if tensor.rank and len(ranges) != 1:
            continue  # an array's final values come from one live range
        for number, statements in enumerate(ranges):
            depth = _private_depth(program, tensor.name, statements, paths)
            if not depth:
                continue
            if tensor.rank:
                program = _expand_array(program, order, tensor, statements, depth, paths)
                order = program.order or order  # the copies run in the tree
                paths = _loop_paths(order)
            else:
                name = tensor.name if len(ranges) == 1 else f"polytc_{tensor.name}_{number}"
                program = _expand(program, tensor, statements, depth, name)
    return program


def private_name(array: str) -> str:
    """The temporary that holds the private copies of ``array``."""
    return f"polytc_{array}_private"


def private_arrays(program: ir.Program) -> set[str]:
    """The temporaries of ``program`` that hold privatised arrays."""
    return {private_name(t.name) for t in program.tensors if t.rank and t.role == "inout"} \
        & {t.name for t in program.temporaries}


def _expand_array(program: ir.Program, order: isl.Schedule, tensor: ir.Tensor,
                  statements: set[str], depth: int,
                  paths: dict[str, tuple[tuple[int, ...], ...]]) -> ir.Program:
    """``program`` with array ``tensor`` privatised in the first ``depth``
    loops around ``statements`` and its last writes copied back
    (:mod:`.copyout`); unchanged where that cannot be done or frees no
    loop: a private copy of adi's ``v`` per time step would only cost."""
    loops = _common_path(statements, paths)[:depth]
    reused = _carried(_meetings(program, tensor.name), loops, paths)
    if not reused:
        return program  # no loop's iterations share an element: nothing to free
    last = last_writes(program, tensor.name)
    name = private_name(tensor.name)
    expanded = _expand(program, tensor, statements, depth, name)
    if expanded is program:
        return program
    written = {s.name: s for s in expanded.statements}
    copies = {writer: copy_statement(
        next(s for s in program.statements if s.name == writer), instances,
        ir.Read(name, written[writer].write_indices, written[writer].write, tensor.dtype))
        for writer, instances in last.items()}
    copied = with_copies(order, {w: c.domain for w, c in copies.items()})
    if copied is None:
        return program
    statements_out: list[ir.Statement] = []
    for statement in expanded.statements:
        statements_out.append(statement)
        if statement.name in copies:
            statements_out.append(copies[statement.name])
    tensors = list(expanded.tensors)
    if not any(t.name == tensor.name for t in tensors):  # written again by the copies
        position = next(k for k, t in enumerate(tensors) if t.name == name)
        tensors.insert(position, tensor)
    private = dataclasses.replace(expanded, tensors=tuple(tensors),
                                  statements=tuple(statements_out), order=copied)
    held = _carried(dependences(private).all, loops, _loop_paths(copied))
    return private if reused - held else program


def _common_path(statements: set[str],
                 paths: dict[str, tuple[tuple[int, ...], ...]]) -> tuple[tuple[int, ...], ...]:
    """The bands around every one of ``statements``."""
    common: tuple[tuple[int, ...], ...] | None = None
    for statement in statements:
        mine = paths[statement]
        if common is None:
            common = mine
            continue
        shared = 0
        while shared < min(len(common), len(mine)) and common[shared] == mine[shared]:
            shared += 1
        common = common[:shared]
    return common or ()


def _meetings(program: ir.Program, name: str) -> isl.UnionMap:
    """Pairs of instances that touch the same element of tensor ``name``,
    the first one writing it."""
    reads, writes = _accesses(program, name, {s.name for s in program.statements})
    return writes.apply_range(reads.union(writes).reverse())


def _carried(relations: isl.UnionMap, loops: tuple[tuple[int, ...], ...],
             paths: dict[str, tuple[tuple[int, ...], ...]]) -> set[int]:
    """Which of ``loops`` (nested bands, outermost first) carry one of
    ``relations`` between statements inside them."""
    carried: set[int] = set()
    for relation in map_list(relations):
        source = paths.get(relation.get_tuple_name(isl.dim_type.in_), ())
        target = paths.get(relation.get_tuple_name(isl.dim_type.out), ())
        same = relation
        for k, loop in enumerate(loops):
            if source[k:k + 1] != (loop,) or target[k:k + 1] != (loop,):
                break
            equal = same.equate(isl.dim_type.in_, k, isl.dim_type.out, k)
            if not same.is_subset(equal):
                carried.add(k)
            same = equal
    return carried


def _accesses(program: ir.Program, name: str,
              statements: set[str]) -> tuple[isl.UnionMap, isl.UnionMap]:
    """(reads, writes) of scalar ``name`` by ``statements``."""
    reads = isl.UnionMap.empty(program.context.get_space())
    writes = isl.UnionMap.empty(program.context.get_space())
    for statement in program.statements:
        if statement.name not in statements:
            continue
        for relation in [r.access for r in statement.reads if r.tensor == name] + (
                [statement.write] if statement.tensor == name and statement.op != "=" else []):
            reads = reads.union(isl.UnionMap.from_map(relation.intersect_domain(statement.domain)))
        if statement.tensor == name:
            writes = writes.union(isl.UnionMap.from_map(statement.write))
    return reads, writes


def _flow(program: ir.Program, name: str, statements: set[str]) -> isl.UnionFlow:
    reads, writes = _accesses(program, name, statements)
    return isl.UnionAccessInfo.from_sink(reads).set_must_source(writes).set_schedule_map(
        original_order(program)).compute_flow()


def _live_ranges(program: ir.Program, name: str) -> list[set[str]]:
    """The statements accessing scalar ``name``, grouped by the values they
    share: a read and the writes it may read from are in one group."""
    touching = {s.name for s in program.statements
                if s.tensor == name or any(r.tensor == name for r in s.reads)}
    group = {statement: statement for statement in touching}

    def find(statement: str) -> str:
        while group[statement] != statement:
            statement = group[statement]
        return statement

    dependences = _flow(program, name, touching).get_may_dependence()
    maps = dependences.get_map_list()
    for k in range(maps.n_map()):
        relation = maps.get_at(k)
        source = find(relation.get_tuple_name(isl.dim_type.in_))
        group[source] = find(relation.get_tuple_name(isl.dim_type.out))
    ranges: dict[str, set[str]] = {}
    for statement in program.statements:
        if statement.name in touching:
            ranges.setdefault(find(statement.name), set()).add(statement.name)
    return list(ranges.values())


def _dead_outside(region: Region, names: RegionNames) -> set[str]:
    """Written scalars local to the function that nothing outside the region reads."""
    used = {u.name for u in outside_uses(region) if u.read}
    return {name for name in names.written
            if name in names.symbols and names.symbols[name].storage in ("local", "param")
            and not names.symbols[name].static and name not in used}


def _loop_paths(order: isl.Schedule) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Per statement, the tree positions of the bands (loops) around it."""
    paths: dict[str, tuple[tuple[int, ...], ...]] = {}

    def walk(node: isl.ScheduleNode, position: tuple[int, ...],
             bands: tuple[tuple[int, ...], ...]) -> None:
        if node.get_type() == isl.schedule_node_type.band:
            bands = bands + (position,)
        if node.get_type() == isl.schedule_node_type.leaf:
            sets = node.get_domain().get_set_list()
            for k in range(sets.n_set()):
                paths[sets.get_at(k).get_tuple_name()] = bands
        for child in range(node.n_children()):
            walk(node.child(child), position + (child,), bands)

    walk(order.get_root(), (), ())
    return paths


def _private_depth(program: ir.Program, name: str, statements: set[str],
                   paths: dict[str, tuple[tuple[int, ...], ...]]) -> int:
    """How many loops around the accesses of scalar ``name`` by
    ``statements`` (a live range) no value of it crosses."""
    common = _common_path(statements, paths)
    if not common:
        return 0
    flow = _flow(program, name, statements)
    if not flow.get_must_no_source().is_empty():
        return 0  # a read sees the value from before the region
    dependences = flow.get_must_dependence()
    depth = len(common)
    while depth > 0 and not _within(dependences, depth):
        depth -= 1
    return depth


def _within(dependences: isl.UnionMap, depth: int) -> bool:
    """Every dependence relates instances with equal first ``depth`` iterators."""
    maps = dependences.get_map_list()
    for k in range(maps.n_map()):
        dependence = maps.get_at(k)
        same = dependence
        for d in range(depth):
            same = same.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
        if not dependence.is_subset(same):
            return False
    return True


def _expand(program: ir.Program, tensor: ir.Tensor, statements: set[str], depth: int,
            name: str) -> ir.Program:
    """``program`` with the accesses of 0-d ``tensor`` by ``statements`` going
    to temporary ``name`` indexed by their first ``depth`` iterators;
    unchanged when such an iterator may be negative."""
    touching = [s for s in program.statements if s.name in statements]
    extents = []
    for d in range(depth):
        lowest, highest = None, None
        for statement in touching:
            low, high = statement.domain.dim_min(d), statement.domain.dim_max(d)
            lowest = low if lowest is None else lowest.union_min(low)
            highest = high if highest is None else highest.union_max(high)
        assert lowest is not None and highest is not None
        zero = lowest.zero_on_domain(isl.LocalSpace.from_space(lowest.get_domain_space()))
        if not lowest.lt_set(zero).intersect(program.context).is_empty():
            return program
        extents.append(highest.add(zero + 1).union_max(zero).coalesce())
    expanded = ir.Tensor(name, tensor.dtype, "temp", tuple(extents) + tensor.shape)
    rewritten = tuple(_statement(s, tensor.name, depth, name) if s.name in statements else s
                      for s in program.statements)
    still = any(s.tensor == tensor.name or any(r.tensor == tensor.name for r in s.reads)
                for s in program.statements if s.name not in statements)
    tensors = [t for t in program.tensors if t.name != tensor.name or still]
    position = next(k for k, t in enumerate(program.tensors) if t.name == tensor.name)
    tensors.insert(min(position + int(still), len(tensors)), expanded)
    return dataclasses.replace(program, tensors=tuple(tensors), statements=rewritten)


def _statement(statement: ir.Statement, tensor: str, depth: int, name: str) -> ir.Statement:
    """``statement`` accessing temporary ``name`` where it accessed
    ``tensor`` (a scalar, or an array whose subscripts follow the first
    ``depth`` iterators)."""
    iterators = statement.iterators[:depth]
    indices = tuple(ir.Var(i, "index") for i in iterators)

    def access(relation: isl.Map) -> isl.Map:
        space = isl.Space.map_from_domain_and_range(
            relation.get_space().domain(), relation.get_space().domain())
        identity = isl.Map.identity(space)
        projected = identity.project_out(isl.dim_type.out, depth,
                                         len(statement.iterators) - depth)
        if relation.dim(isl.dim_type.out):
            projected = projected.flat_range_product(relation)
        return projected.set_tuple_name(isl.dim_type.out, name)

    def rewrite(expr: ir.Expr) -> ir.Expr:
        expr = ir.map_children(expr, rewrite)
        if isinstance(expr, ir.Read) and expr.tensor == tensor:
            return ir.Read(name, indices + expr.indices, access(expr.access), expr.dtype)
        return expr

    body = rewrite(statement.body)
    if statement.tensor != tensor:
        return dataclasses.replace(statement, body=body)
    write = access(statement.write).intersect_domain(statement.domain)
    if statement.target is None and not set(statement.lhs) & set(iterators):
        return dataclasses.replace(statement, tensor=name, body=body, write=write,
                                   lhs=iterators + statement.lhs, target=None)
    return dataclasses.replace(statement, tensor=name, body=body, write=write, lhs=(),
                               target=indices + statement.write_indices)
