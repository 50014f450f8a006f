"""A Pluto-style affine scheduler (Bondhugula et al., PLDI 2008), written on isl.

Input: a :class:`~polytc.program.Program` and its :class:`Dependences`.
Output: an ``isl.Schedule`` tree whose bands are permutable, whose members are
marked coincident where they carry no dependence, and whose sequence nodes
are the fusion decisions.

For each statement ``S`` with iterators ``i`` a hyperplane is
``phi_S(i) = c_S . i + c_S0`` with integer ``c >= 0``.  Hyperplanes are found
one at a time as the lexicographic minimum, over the unknowns
``(u_1..u_P, w, then per statement c_S reversed, c_S0)``, subject to

* legality on every dependence ``e: S -> T`` not yet satisfied:
  ``phi_T(t) - phi_S(s) >= 0`` on the dependence polyhedron ``D_e``;
* the bounding function ``u . p + w - (phi_T(t) - phi_S(s)) >= 0`` on ``D_e``
  (minimising ``u, w`` minimises dependence distances; ``u = w = 0`` is a
  parallel row);
* per statement that lacks rows, linear independence from its rows so far
  (Pluto's orthogonal-complement constraints) and a non-zero row.

Both non-negativity conditions are linearised with Farkas' lemma: isl's
``coefficients()`` of the wrapped dependence is the cone of affine forms
non-negative on it, and the forms above are linear in the unknowns.
Hyperplanes found together form a permutable band.  A dependence becomes
satisfied on the instances where a row carries it strictly
(``phi_T(t) - phi_S(s) >= 1``); the rest stays.  When no hyperplane exists,
the dependence graph's strongly connected components are separated by a
scalar dimension (a cut), as the fusion policy allows.  ``smart`` fusion
also cuts at a band's start instead of fusing there when the band's first
row would carry a dependence (the outer loop would not be parallel) or when
a row skews a statement whose component alone would not need the skew
(fusing 2mm's two products skews the second one's loop: strided memory
accesses, a band that no longer tiles like a matmul), and it ends a band
before an inner row that would carry a dependence only between components
(conv -> relu -> pool: the pool's window serialises a fused ``h`` loop), moving
the consumers behind a cut so that every loop of the band stays parallel
(:meth:`_Scheduler.parallelism_cut`).  If neither a hyperplane (eager, then
lazy) nor a cut makes progress (Pluto's coefficients are non-negative: a
dependence whose distance is negative along every iterator has no
hyperplane), the original order's next dimensions are appended, up to one
that carries a dependence, and the search resumes
(:meth:`_Scheduler.follow_original`): the schedule stays legal and keeps
whatever the search found outside and inside those dimensions.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import islpy as isl

from polytc.errors import PolytcInternalError, ScheduleError, SchedulerFallbackWarning
from polytc.poly.dependences import Dependences, original_order
from polytc.poly.identity import identity_schedule
from polytc.poly.farkas import Form, FarkasTimeout, Layout, Linear, farkas, lexmin, linear, problem
from polytc.poly.graph import strongly_connected_components
from polytc.poly.linalg import null_space, rank
from polytc.poly.schedule_tree import Level, Row, build_tree, distance_set, rows_of
from polytc.isl_util import affine_rows, over_budget, map_list
from polytc.program import Program, Statement

FUSE_POLICIES = ("max", "smart", "none")
log = logging.getLogger("polytc")


@dataclass
class _Dep:
    source: str
    target: str
    relation: isl.Map  # the instance pairs not yet satisfied
    #: the same pairs in the dataflow's small pieces (uncoalesced), or None
    pieces: isl.Map | None = None


def pluto_schedule(program: Program, deps: Dependences, *,
                   fuse: str | Sequence[Sequence[str]] = "smart",
                   max_operations: int = 5_000_000, streams_apart: bool = True) -> isl.Schedule:
    """Schedule ``program`` with the Pluto algorithm under fusion policy
    ``fuse`` (``"max"``, ``"smart"``, ``"none"`` or explicit statement groups).
    ``streams_apart``: smart fusion keeps apart independent sweeps that would
    read a tensor crosswise (:meth:`_Scheduler.misaligned_reads`); where
    reductions keep their written order (C input), a row's reduction only
    vectorises across rows, which such a fusion gives it (PolyBench's mvt:
    1.98x gcc fused, 1.51x apart), so the pipeline passes ``reassociate``.
    isl's work is bounded by ``max_operations``; past it the schedule follows
    the original order (:func:`identity_schedule`) and a
    :class:`~polytc.errors.SchedulerFallbackWarning` says so."""
    ctx = program.context.get_ctx()
    previous = ctx.get_max_operations()
    ctx.reset_operations()
    ctx.set_max_operations(max_operations)
    try:
        levels = _Scheduler(program, deps, fuse, streams_apart).run()
        return build_tree(program, levels)
    except isl.Error as error:
        if not (max_operations > 0 and ctx.get_max_operations() and over_budget(ctx)):
            raise PolytcInternalError("scheduling with the Pluto algorithm",
                                      str(error)) from error
    finally:
        ctx.set_max_operations(previous)
        ctx.reset_operations()
    warnings.warn(SchedulerFallbackWarning(
        f"[{SchedulerFallbackWarning.id}] the Pluto scheduler exceeded its isl operation budget "
        f"({max_operations}; raise max_operations); the kernel follows the program's original "
        "order"), stacklevel=2)
    return identity_schedule(program, deps)


class _Scheduler:
    def __init__(self, program: Program, deps: Dependences,
                 fuse: str | Sequence[Sequence[str]], streams_apart: bool = True) -> None:
        self.program = program
        self.streams_apart = streams_apart
        self.statements = [s.name for s in program.statements]
        self.iterators = {s.name: s.iterators for s in program.statements}
        self.params = program.params
        self.fuse = fuse
        context = program.context
        self.deps = []
        pieces = {_ends(m): m for m in map_list(deps.pieces)} if deps.pieces is not None else {}
        for relation in map_list(deps.all):
            relation = relation.align_params(context.get_space()).intersect_params(context)
            if not relation.is_empty():
                source, target = _ends(relation)
                split = pieces.get((source, target))
                if split is not None:
                    split = split.align_params(context.get_space()).intersect_params(context)
                self.deps.append(_Dep(source, target, relation, split))
        self.rows: dict[str, list[tuple[int, ...]]] = {s: [] for s in self.statements}
        self.group: dict[str, tuple[int, ...]] = {s: () for s in self.statements}
        self.lazy = False
        self.levels: list[Level] = []
        # the original order's rows per dimension, read when the search fails
        self.original: list[dict[str, Row]] | None = None
        self.original_next = 0
        self.cones: dict[str, list[Form]] = {}
        # first_row's answers, per set of statements, until the levels change
        self.first_rows: dict[frozenset[str], tuple[dict[str, Row] | None, list[_Dep]]] = {}
        self.layout = Layout(self.statements, self.iterators, len(self.params))
        # statement pairs with a dependence, before any is satisfied
        self.linked = {(d.source, d.target) for d in self.deps}

    # -- driver -------------------------------------------------------------
    def run(self) -> list[Level]:
        if not isinstance(self.fuse, str):
            groups = _user_groups(self.fuse, self.statements)
            self.cut({s: k for k, group in enumerate(groups) for s in group})
        elif self.fuse not in FUSE_POLICIES:
            raise ScheduleError(f"unknown fusion policy {self.fuse!r}; use one of "
                                f"{', '.join(FUSE_POLICIES)} or a list of statement groups")
        band = 0
        while not self.done():
            if self.fuse == "none":
                self.cut_sccs()
            try:
                found = self.find_band(band)
            except FarkasTimeout as timeout:  # no hyperplane can respect what isl cannot linearise
                log.info("Pluto scheduler: %s; following the original order", timeout)
                self.follow_original(band + 1, to_the_end=True)
                break
            if found:
                band += 1
                self.lazy = False
                continue
            if self.fuse in ("smart", "max") and self.in_sequential_loop():
                if self.cut_where_fusion_fails():  # inside a time loop: cut only where
                    continue  # fusion fails, else ask one statement for a row first
                if not self.lazy:
                    self.lazy = True
                    continue
            if self.cut_sccs():
                self.lazy = False
                continue
            if not self.lazy:  # Pluto: retry asking one statement, not all, for a new row
                self.lazy = True
                continue
            band = self.follow_original(band)
            self.lazy = False
        return self.levels

    def follow_original(self, band: int, to_the_end: bool = False) -> int:
        """No legal hyperplane and no cut: append the original order's next
        dimensions (:func:`original_order`, always legal), up to the first
        that carries a dependence (all of them with ``to_the_end``), then
        let the search resume.  Returns the next band number.

        The rows so far leave every remaining dependence at distance 0, and
        the original dimensions are appended in order, so a remaining pair
        ``s -> t`` (``θ₀(s) ≺ θ₀(t)``) is equal on the original dimensions
        already appended and the next one runs it forward or keeps it."""
        if self.original is None:
            self.original = _original_rows(self.program)
        while self.original_next < len(self.original):
            rows = self.original[self.original_next]
            self.original_next += 1
            if all(not any(r.coeffs) for r in rows.values()):
                if len({r.const for r in rows.values()}) > 1:
                    carried = self.carriers(rows)
                    self.cut({s: r.const for s, r in rows.items()})
                    if carried and not to_the_end:
                        return band
                continue
            carried = self.carriers(rows)
            self.append(Level(rows, band, carried))
            band += 1
            if carried and not to_the_end:
                return band
        if not self.done():
            raise PolytcInternalError("scheduling", "the original order left dependences")
        return band

    def farkas(self, dep: _Dep) -> list[Form]:
        """:func:`farkas` of a dependence, computed once per relation."""
        key = str(dep.relation)
        if key not in self.cones:
            self.cones[key] = farkas(dep.relation, self.params, dep.pieces)
        return self.cones[key]

    def done(self) -> bool:
        return not self.deps and all(self.fullrank(s) for s in self.statements)

    def fullrank(self, statement: str) -> bool:
        return rank(self.rows[statement]) == len(self.iterators[statement])

    # -- bands ----------------------------------------------------------------
    def find_band(self, band: int) -> bool:
        """Append the rows of one permutable band; False if none was found."""
        active = list(self.deps)  # the dependences unsatisfied at the band's start
        base = self.baseproblem([(self.farkas(d), d) for d in active])
        found = 0
        carried_so_far = False  # a band whose loops already carry (a time loop) has no
        # parallel loops for a parallelism cut to keep: it tiles, with wavefronts
        snapshot = self.snapshot()
        while not all(self.fullrank(s) for s in self.statements) or (found == 0 and self.deps):
            row = self.solve(base)
            if row is None:
                break
            if found == 0 and self.fuse == "smart" and self.splittable() \
                    and self.carriers(row):  # fusing would lose the outer parallel loop
                if not self.in_sequential_loop():
                    return self.cut_sccs()
                cut = self.cut_keeping_parallel()
                if cut is not None:
                    return cut
            if found == 0 and self.fuse == "smart" and self.streams_apart and self.splittable():
                position = self.misaligned_reads(row)
                if position is not None:  # fused, independent sweeps read a tensor crosswise
                    return self.cut(position)
            if self.fuse == "smart" and self.splittable() and self.fusion_skews(row, active):
                self.restore(snapshot)  # fusing costs a skew: this band fuses nothing
                return self.cut_sccs()
            if found > 0 and self.fuse == "smart" and not carried_so_far:
                position = self.parallelism_cut(row)
                if position is not None:
                    return self.cut(position)  # the band ends; its loops stay parallel
            carriers = self.carriers(row)
            adds_rank = any(not self.fullrank(st) and rank(self.rows[st] + [r.coeffs]) >
                            rank(self.rows[st]) for st, r in row.items())
            if not adds_rank and not carriers:
                break  # a row that neither adds a loop nor carries a dependence is useless
            self.append(Level(row, band, carriers))
            carried_so_far = carried_so_far or bool(carriers)
            found += 1
            if all(self.fullrank(s) for s in self.statements):
                break
        return found > 0

    def snapshot(self) -> tuple[list[tuple[_Dep, isl.Map]], dict[str, list[tuple[int, ...]]], int]:
        """The state a band's rows change, to undo them (:meth:`restore`)."""
        return ([(d, d.relation) for d in self.deps], {s: list(r) for s, r in self.rows.items()},
                len(self.levels))

    def restore(self, snapshot: tuple[list[tuple[_Dep, isl.Map]],
                                      dict[str, list[tuple[int, ...]]], int]) -> None:
        deps, rows, n_levels = snapshot
        for dep, relation in deps:
            dep.relation = relation
        self.deps = [dep for dep, _ in deps]
        self.rows = rows
        del self.levels[n_levels:]
        self.first_rows.clear()

    def fusion_skews(self, row: dict[str, Row], active: list[_Dep]) -> bool:
        """Whether ``row`` skews (two iterators or more) a statement of a group
        with several strongly connected components, where the dependences
        inside the statement's component alone (those of the band's start,
        same independence constraints) give it a row without skew: then the
        skew is the price of fusing the components.  A skewed hyperplane
        makes the statement's loop stride through memory and its band no
        longer tiles like the statement's own nest (2mm's second product,
        ``S3[i, l, j] -> [i, l + j]``)."""
        components = self.components(active)
        scc = {s: (g, n) for g, sccs in enumerate(components)
               for n, component in enumerate(sccs) for s in component}
        splittable = {g for g, sccs in enumerate(components) if len(sccs) > 1}
        skewed = {s for s, r in row.items()
                  if sum(1 for c in r.coeffs if c) > 1 and scc[s][0] in splittable}
        if not skewed:
            return False
        inside = [d for d in active if scc[d.source] == scc[d.target]]
        alone = self.solve(self.baseproblem([(self.farkas(d), d)
                                             for d in inside]))
        return alone is not None and any(sum(1 for c in alone[s].coeffs if c) <= 1
                                         for s in skewed)

    def misaligned_reads(self, row: dict[str, Row]) -> dict[str, int] | None:
        """Where to cut a group instead of fusing, at a band's first ``row``,
        parts that no dependence links (they share only what they read) when
        the row runs two of them along different dimensions of a tensor both
        read: bicg's ``s(j) += r(i) * A(i, j)`` and ``q(i) += A(i, j) * p(j)``
        fused with ``j`` of the first and ``i`` of the second as one loop read
        ``A`` row-wise and column-wise at once (each statement alone streams
        it).  The cut puts each part (a weakly connected component of the
        dependences) after the other; None when the row aligns every shared
        read or reads nothing crosswise."""
        for members in self._groups():
            parts = _weak_components(members, self.linked)
            if len(parts) < 2:
                continue
            part_of = {s: k for k, part in enumerate(parts) for s in part}
            for first in members:
                for second in members:
                    if part_of[first] < part_of[second] and self._crosswise(
                            first, second, row):
                        return {s: part_of.get(s, 0) for s in self.statements}
        return None

    def _groups(self) -> list[list[str]]:
        groups: dict[tuple[int, ...], list[str]] = {}
        for statement in self.statements:
            groups.setdefault(self.group[statement], []).append(statement)
        return list(groups.values())

    def _crosswise(self, first: str, second: str, row: dict[str, Row]) -> bool:
        """Whether ``row`` follows different dimensions of a tensor that both
        statements read (the dimensions whose subscript is the row)."""
        along = {name: _followed_dimensions(self.program.statement(name), row[name])
                 for name in (first, second)}
        shared = set(along[first]) & set(along[second])
        return any(along[first][t] and along[second][t]
                   and not along[first][t] & along[second][t] for t in shared)

    def parallelism_cut(self, row: dict[str, Row]) -> dict[str, int] | None:
        """Where to cut a group so that ``row``, an inner row of a band, loses
        no parallelism to fusion: when every dependence the row carries runs
        from one strongly connected component to a later one (conv -> relu ->
        pool: the pool's window makes the fused ``h`` loop carry relu -> pool),
        the targets, what depends on them and the statements that initialise
        what they write (the pool's ``-inf`` fill) move behind a cut, and the
        band ends with its rows so far.  None when some carried dependence
        stays inside one component (the loop is not parallel whatever the
        fusion) or the row carries nothing."""
        sccs_of = {s: (g, n) for g, sccs in enumerate(self.components())
                   for n, component in enumerate(sccs) for s in component}
        carried = [d for d in self.deps
                   if not (d.relation & _difference(d, row, self.iterators, ">= 1")).is_empty()]
        if not carried or any(sccs_of[d.source] == sccs_of[d.target] for d in carried):
            return None
        split = {sccs_of[d.target][0] for d in carried}
        edges = {(d.source, d.target) for d in self.deps if d.source != d.target}
        writes = {s.name: s.tensor for s in self.program.statements}
        behind = {d.target for d in carried}
        while True:  # what depends on the targets, and the initialisations of what they write
            grown = behind | {t for s, t in edges if s in behind}
            written = {writes[b] for b in grown}
            grown |= {s for s in self.statements
                      if writes[s] in written and all(t in grown for a, t in edges if a == s)}
            if grown == behind:
                break
            behind = grown
        if any(all(s in behind for s in self.statements if sccs_of[s][0] == g) for g in split):
            return None  # the whole group would move: nothing to cut
        return {s: int(s in behind) for s in self.statements}

    def baseproblem(self, farkas: list[tuple[list[Form], _Dep]]) -> isl.BasicSet:
        """Unknowns >= 0, legality and bounding on the band's dependences."""
        layout = self.layout
        base = [linear({k: 1}, 0, ">=") for k in range(layout.size)]  # every unknown >= 0
        base.append(layout.sum_constraint())
        for forms, dep in farkas:
            base += [layout.legality(dep.source, dep.target, f) for f in forms]
            base += [layout.bounding(dep.source, dep.target, f) for f in forms]
        return problem(layout.size, base)

    def solve(self, base: isl.BasicSet) -> dict[str, Row] | None:
        """The lexicographically smallest legal, independent hyperplane
        (eager: every statement lacking rows gets one; lazy: one at least)."""
        extra = self.independence(base, eager=not self.lazy)
        solution = lexmin(base & problem(self.layout.size, extra))
        return None if solution is None else self.layout.rows(solution)

    def independence(self, base: isl.BasicSet, eager: bool) -> list[Linear]:
        """Pluto's constraints: each statement lacking rows gets a row outside
        the span of its rows so far (one statement at least, when lazy)."""
        constraints: list[Linear] = []
        sums: list[dict[int, int]] = []
        for s in self.statements:
            if self.fullrank(s):
                continue
            total: dict[int, int] = {}
            for vector in null_space(self.rows[s], len(self.iterators[s])):
                if self.reversed(base, s, vector):
                    vector = [-v for v in vector]
                form = self.layout.dot(s, vector)
                constraints.append(linear(form, 0, ">="))
                for k, v in form.items():
                    total[k] = total.get(k, 0) + v
            sums.append(total)
        if not sums:
            return []
        if eager:
            return constraints + [linear(total, -1, ">=") for total in sums]
        grand: dict[int, int] = {}
        for total in sums:
            for k, v in total.items():
                grand[k] = grand.get(k, 0) + v
        return constraints + [linear(grand, -1, ">=")]

    def reversed(self, base: isl.BasicSet, statement: str, vector: list[int]) -> bool:
        """Whether ``vector . c_S >= 1`` has no solution in ``base`` (then the
        row is taken the other way round).  Coefficients are non-negative, so
        a vector without negative entries keeps its sign (if the row cannot
        reach 1 it is 0 on ``base`` either way: the same constraints) and one
        without positive entries turns; only a mixed one needs the integer
        program (fuzz seed 777002500 spent 77 s in those checks)."""
        if all(v >= 0 for v in vector):
            return False
        if all(v <= 0 for v in vector):
            return True
        form = self.layout.dot(statement, vector)
        return bool((base & problem(self.layout.size, [linear(form, -1, ">=")])).is_empty())

    # -- satisfaction, cuts --------------------------------------------------
    def carriers(self, rows: dict[str, Row]) -> frozenset[str]:
        """The statements of the dependences these rows carry (the statements
        whose loop here is not parallel, with everything fused with them)."""
        found: set[str] = set()
        for d in self.deps:
            if not (d.relation & _difference(d, rows, self.iterators, ">= 1")).is_empty():
                found.update(s for s in self.statements if self.group[s] == self.group[d.source])
        return frozenset(found)

    def append(self, level: Level) -> None:
        """Record a level and keep only the dependence instances it leaves
        unsatisfied (distance 0 along it)."""
        remaining = []
        for dep in self.deps:
            if not (dep.relation & _difference(dep, level.rows, self.iterators, "< 0")).is_empty():
                raise PolytcInternalError("scheduling", f"row violates {dep.relation}")
            unsatisfied = _difference(dep, level.rows, self.iterators, "= 0")
            dep.relation = (dep.relation & unsatisfied).coalesce()
            if dep.pieces is not None:
                dep.pieces = dep.pieces & unsatisfied
            if not dep.relation.is_empty():
                remaining.append(dep)
        self.deps = remaining
        for s, row in level.rows.items():
            if any(row.coeffs) and rank(self.rows[s] + [row.coeffs]) > rank(self.rows[s]):
                self.rows[s].append(row.coeffs)
        self.levels.append(level)
        self.first_rows.clear()

    def components(self, deps: list[_Dep] | None = None) -> list[list[list[str]]]:
        """Per group of statements not yet separated by a cut, the strongly
        connected components of its unsatisfied dependences (or of
        ``deps``), in topological order."""
        groups: dict[tuple[int, ...], list[str]] = {}
        for statement in self.statements:
            groups.setdefault(self.group[statement], []).append(statement)
        result = []
        for members in groups.values():
            edges = {(d.source, d.target) for d in (self.deps if deps is None else deps)
                     if d.source in members and d.target in members}
            result.append(strongly_connected_components(members, edges))
        return result

    def splittable(self) -> bool:
        return any(len(sccs) > 1 for sccs in self.components())

    def cut_sccs(self) -> bool:
        """Separate the strongly connected components inside each group by a
        scalar dimension; False when no group has two components."""
        if not self.splittable():
            return False
        position = {s: k for sccs in self.components() for k, scc in enumerate(sccs)
                    for s in scc}
        return self.cut(position)

    def in_sequential_loop(self) -> bool:
        """Whether a loop around the current band carries a dependence (a
        time loop): there each part of a cut is one more pass over its data
        per iteration."""
        return any(level.band >= 0 and level.carriers for level in self.levels)

    def cut_keeping_parallel(self) -> bool | None:
        """Inside a sequential loop, cut each group only where fusing loses
        a parallel loop (:meth:`parts` with :meth:`keeps_parallel`); a group
        that this keeps whole is cut into all its components when one of
        them has a parallel loop alone, else kept (nothing to lose).  None
        where nothing is cut: the band goes on fused.  Cutting every
        component apart gave adi's 14 statements of a time step 14 loop
        nests, each a pass over memory per step, and split its two
        recurrences along ``j`` (``p`` and ``q``, each with a division on
        its chain), whose latencies no longer overlapped (0.75x gcc; 0.96x
        so)."""
        position: dict[str, int] = {}
        for sccs in self.components():
            numbers = self.parts(sccs, self.keeps_parallel)
            if len(sccs) > 1 and not any(numbers) \
                    and any(self.parallel_row(component) for component in sccs):
                numbers = list(range(len(sccs)))
            position.update({s: number for number, component in zip(numbers, sccs)
                             for s in component})
        return self.cut(position) if self.splits(position) else None

    def keeps_parallel(self, part: list[str], component: list[str]) -> bool:
        """Whether fusing ``component`` with ``part`` keeps their next loops
        as parallel as apart: the fused hyperplane carries nothing, or
        neither has a parallel one alone (two recurrences: fused, their
        chains overlap)."""
        fused = self.parallel_row(part + component)
        if fused is None:
            return False
        return fused or not (self.parallel_row(part) or self.parallel_row(component))

    def cut_where_fusion_fails(self) -> bool:
        """No hyperplane for a whole group: cut each group only where fusion
        fails (:meth:`parts` with :meth:`fuses`: Pluto's conservative cut);
        False where that cuts nothing."""
        position = {s: number for sccs in self.components()
                    for number, component in zip(
                        self.parts(sccs, lambda part, c: self.fuses(part + c)), sccs)
                    for s in component}
        return self.splits(position) and self.cut(position)

    def parts(self, sccs: list[list[str]],
              fusable: Callable[[list[str], list[str]], bool]) -> list[int]:
        """A part number per strongly connected component of a group (in
        topological order): each joins the part before it while
        ``fusable(part, component)`` holds, else starts the next part."""
        numbers: list[int] = []
        part: list[str] = []
        number = 0
        for component in sccs:
            if part and not fusable(part, component):
                number += 1
                part = []
            part += component
            numbers.append(number)
        return numbers

    def splits(self, position: dict[str, int]) -> bool:
        """Whether cutting at ``position`` separates statements of a group."""
        return len({self.group[s] + (position[s],) for s in self.statements}) \
            > len({self.group[s] for s in self.statements})

    def fuses(self, statements: list[str]) -> bool:
        """Whether ``statements`` have a legal next hyperplane."""
        return self.first_row(statements)[0] is not None

    def parallel_row(self, statements: list[str]) -> bool | None:
        """Whether the next legal hyperplane of ``statements`` carries none
        of the dependences among them; None: they have no legal one."""
        row, inside = self.first_row(statements)
        if row is None:
            return None
        return all((d.relation & _difference(d, row, self.iterators, ">= 1")).is_empty()
                   for d in inside)

    def first_row(self, statements: list[str]) -> tuple[dict[str, Row] | None, list[_Dep]]:
        """The next hyperplane legal for the dependences among
        ``statements`` (None: there is none), and those dependences."""
        members = frozenset(statements)
        if members in self.first_rows:
            return self.first_rows[members]
        self.first_rows[members] = self._first_row(members)
        return self.first_rows[members]

    def _first_row(self, members: frozenset[str]) -> tuple[dict[str, Row] | None, list[_Dep]]:
        inside = [d for d in self.deps if d.source in members and d.target in members]
        whole = self.statements, self.layout  # the problem of these statements alone
        self.statements = [s for s in self.statements if s in members]
        self.layout = Layout(self.statements, {s: self.iterators[s] for s in self.statements},
                             len(self.params))
        try:
            return self.solve(self.baseproblem([(self.farkas(d), d) for d in inside])), \
                inside
        finally:
            self.statements, self.layout = whole

    def cut(self, position: dict[str, int]) -> bool:
        rows = {s: Row(tuple(0 for _ in self.iterators[s]), position[s])
                for s in self.statements}
        backwards = [d for d in self.deps if self.group[d.source] == self.group[d.target]
                     and position[d.source] > position[d.target]]
        if backwards:
            dep = backwards[0]
            raise ScheduleError(f"the fusion groups put {dep.target} before {dep.source}, "
                                f"but {dep.target} depends on {dep.source} ({dep.relation})")
        self.append(Level(rows, -1))
        self.group = {s: self.group[s] + (position[s],) for s in self.statements}
        return True


def _ends(relation: isl.Map) -> tuple[str, str]:
    """The source and target statements of a dependence."""
    return relation.get_tuple_name(isl.dim_type.in_), relation.get_tuple_name(isl.dim_type.out)


def _difference(dep: _Dep, rows: dict[str, Row], iterators: dict[str, tuple[str, ...]],
                relation: str) -> isl.Map:
    """``{ S[s] -> T[t] : phi_T(t) - phi_S(s) <relation> }`` for the level's
    rows, with ``relation`` one of ``>= 1``, ``= 0``, ``< 0``."""
    return distance_set(dep.relation, rows[dep.source], rows[dep.target],
                        len(iterators[dep.source]), relation)


def _weak_components(members: list[str], linked: set[tuple[str, str]]) -> list[list[str]]:
    """``members`` grouped by the dependences between them, either way."""
    parts: list[list[str]] = []
    for statement in members:
        touching = [part for part in parts if any((statement, s) in linked or (s, statement)
                                                 in linked for s in part)]
        merged = [statement] + [s for part in touching for s in part]
        parts = [part for part in parts if part not in touching] + [merged]
    order = {s: k for k, s in enumerate(members)}
    return sorted((sorted(part, key=order.__getitem__) for part in parts),
                  key=lambda part: order[part[0]])


def _followed_dimensions(statement: Statement, row: Row) -> dict[str, frozenset[int]]:
    """Per tensor the statement reads, the dimensions whose subscript is
    ``row`` (its iterator coefficients; none when the row is no subscript)."""
    found: dict[str, set[int]] = {}
    for read in statement.reads:
        rows = affine_rows(read.access)
        dims = found.setdefault(read.tensor, set())
        if rows is not None:
            dims.update(d for d, coeffs in enumerate(rows) if tuple(coeffs) == row.coeffs)
    return {tensor: frozenset(dims) for tensor, dims in found.items()}


def _original_rows(program: Program) -> list[dict[str, Row]]:
    """Per dimension of the original order, each statement's row."""
    rows = rows_of(program, original_order(program))
    if rows is None:
        raise ScheduleError("the original order is not a schedule with integer rows: "
                            f"{original_order(program)}")
    return rows


def _user_groups(groups: Sequence[Sequence[str]], statements: list[str]) -> list[list[str]]:
    listed = [s for group in groups for s in group]
    unknown = [s for s in listed if s not in statements]
    if unknown:
        raise ScheduleError(f"fusion groups name unknown statements {unknown}; the program has "
                            f"{', '.join(statements)}")
    if len(set(listed)) != len(listed):
        raise ScheduleError("a statement appears in more than one fusion group")
    missing = [s for s in statements if s not in listed]
    return [list(g) for g in groups] + [[s] for s in missing]


