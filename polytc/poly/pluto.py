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
scalar dimension (a cut), as the fusion policy allows.  If even that cannot
make progress the scheduler says so (:class:`ScheduleError`); it never falls
back to the original order silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Sequence

import islpy as isl

from polytc.errors import PolytcInternalError, ScheduleError
from polytc.poly.dependences import Dependences, _maps
from polytc.poly.graph import strongly_connected_components
from polytc.program import Program

FUSE_POLICIES = ("max", "smart", "none")


@dataclass(frozen=True, slots=True)
class Row:
    """One schedule dimension of one statement: ``coeffs . i + const``."""

    coeffs: tuple[int, ...]
    const: int


@dataclass(frozen=True, slots=True)
class Level:
    """One dimension of the whole schedule: a loop hyperplane (member of band
    ``band``) or a scalar cut (``band == -1``)."""

    rows: dict[str, Row] = field(compare=False)
    band: int
    carriers: frozenset[str] = frozenset()  # statements of dependences it carries

    def coincident(self, statements: Sequence[str]) -> bool:
        """Parallel for these statements: it carries none of their dependences."""
        return not any(s in self.carriers for s in statements)


@dataclass
class _Dep:
    source: str
    target: str
    relation: isl.Map  # the instance pairs not yet satisfied


def pluto_schedule(program: Program, deps: Dependences, *,
                   fuse: str | Sequence[Sequence[str]] = "smart",
                   max_operations: int = 5_000_000) -> isl.Schedule:
    """Schedule ``program`` with the Pluto algorithm under fusion policy
    ``fuse`` (``"max"``, ``"smart"``, ``"none"`` or explicit statement groups)."""
    ctx = program.context.get_ctx()
    previous = ctx.get_max_operations()
    ctx.reset_operations()
    ctx.set_max_operations(max_operations)
    try:
        levels = _Scheduler(program, deps, fuse).run()
        return build_tree(program, levels)
    except isl.Error as error:
        if max_operations > 0 and ctx.get_max_operations() and _over_budget(ctx):
            raise ScheduleError("the Pluto scheduler exceeded its isl operation budget "
                                f"({max_operations}); simplify the program or raise "
                                "max_operations") from None
        raise PolytcInternalError("scheduling with the Pluto algorithm", str(error)) from error
    finally:
        ctx.set_max_operations(previous)
        ctx.reset_operations()


def _over_budget(ctx: isl.Context) -> bool:
    """isl stops counting at the limit: a failure there is the budget's."""
    try:
        isl.Set("{ [0] }", context=ctx).is_empty()
    except isl.Error:
        return True
    return False


class _Scheduler:
    def __init__(self, program: Program, deps: Dependences,
                 fuse: str | Sequence[Sequence[str]]) -> None:
        self.program = program
        self.statements = [s.name for s in program.statements]
        self.iterators = {s.name: s.iterators for s in program.statements}
        self.params = program.params
        self.fuse = fuse
        context = program.context
        self.deps = []
        for relation in _maps(deps.all):
            relation = relation.align_params(context.get_space()).intersect_params(context)
            if not relation.is_empty():
                self.deps.append(_Dep(relation.get_tuple_name(isl.dim_type.in_),
                                      relation.get_tuple_name(isl.dim_type.out), relation))
        self.rows: dict[str, list[tuple[int, ...]]] = {s: [] for s in self.statements}
        self.group: dict[str, tuple[int, ...]] = {s: () for s in self.statements}
        self.lazy = False
        self.levels: list[Level] = []
        self.layout = _Layout(self.statements, self.iterators, len(self.params))

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
            found = self.find_band(band)
            if found:
                band += 1
                self.lazy = False
                continue
            if self.cut_sccs():
                continue
            if not self.lazy:  # Pluto: retry asking one statement, not all, for a new row
                self.lazy = True
                continue
            raise ScheduleError(
                    "the Pluto scheduler found no legal hyperplane and cannot separate the "
                    "remaining dependences between " + ", ".join(sorted(
                        {d.source for d in self.deps} | {d.target for d in self.deps})))
        return self.levels

    def done(self) -> bool:
        return not self.deps and all(self.full_rank(s) for s in self.statements)

    def full_rank(self, statement: str) -> bool:
        return _rank(self.rows[statement]) == len(self.iterators[statement])

    # -- bands ----------------------------------------------------------------
    def find_band(self, band: int) -> bool:
        """Append the rows of one permutable band; False if none was found."""
        active = list(self.deps)  # the dependences unsatisfied at the band's start
        base = self.base_problem([(_farkas(d, self.params), d) for d in active])
        found = 0
        while not all(self.full_rank(s) for s in self.statements) or (found == 0 and self.deps):
            row = self.solve(base)
            if row is None:
                break
            if found == 0 and self.fuse == "smart" and self.splittable() \
                    and self.carriers(row):
                return self.cut_sccs()  # fusing would lose the outer parallel loop
            carriers = self.carriers(row)
            adds_rank = any(not self.full_rank(st) and _rank(self.rows[st] + [r.coeffs]) >
                            _rank(self.rows[st]) for st, r in row.items())
            if not adds_rank and not carriers:
                break  # a row that neither adds a loop nor carries a dependence is useless
            self.append(Level(row, band, carriers))
            found += 1
            if all(self.full_rank(s) for s in self.statements):
                break
        return found > 0

    def base_problem(self, farkas: list[tuple[list[_Form], _Dep]]) -> isl.Set:
        """Unknowns >= 0, legality and bounding on the band's dependences."""
        layout = self.layout
        base = [f"z{k} >= 0" for k in range(layout.size)]  # Pluto: every unknown >= 0
        base.append(layout.sum_constraint())
        for forms, dep in farkas:
            base += [layout.legality(dep.source, dep.target, f) for f in forms]
            base += [layout.bounding(dep.source, dep.target, f) for f in forms]
        return _problem(layout.size, base)

    def solve(self, base: isl.Set) -> dict[str, Row] | None:
        """The lexicographically smallest legal, independent hyperplane
        (eager: every statement lacking rows gets one; lazy: one at least)."""
        extra = self.independence(base, eager=not self.lazy)
        solution = _lexmin(base & _problem(self.layout.size, extra))
        return None if solution is None else self.layout.rows(solution)

    def independence(self, base: isl.Set, eager: bool) -> list[str]:
        """Pluto's constraints: each statement lacking rows gets a row outside
        the span of its rows so far (one statement at least, when lazy)."""
        constraints: list[str] = []
        sums: list[dict[int, int]] = []
        size = self.layout.size
        for s in self.statements:
            if self.full_rank(s):
                continue
            total: dict[int, int] = {}
            for vector in _null_space(self.rows[s], len(self.iterators[s])):
                form = self.layout.dot(s, vector)
                if (base & _problem(size, [_linear(form, -1, ">=")])).is_empty():
                    form = self.layout.dot(s, [-v for v in vector])
                constraints.append(_linear(form, 0, ">="))
                for k, v in form.items():
                    total[k] = total.get(k, 0) + v
            sums.append(total)
        if not sums:
            return []
        if eager:
            return constraints + [_linear(total, -1, ">=") for total in sums]
        grand: dict[int, int] = {}
        for total in sums:
            for k, v in total.items():
                grand[k] = grand.get(k, 0) + v
        return constraints + [_linear(grand, -1, ">=")]

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
            dep.relation = (dep.relation & _difference(dep, level.rows, self.iterators,
                                                       "= 0")).coalesce()
            if not dep.relation.is_empty():
                remaining.append(dep)
        self.deps = remaining
        for s, row in level.rows.items():
            if any(row.coeffs) and _rank(self.rows[s] + [row.coeffs]) > _rank(self.rows[s]):
                self.rows[s].append(row.coeffs)
        self.levels.append(level)

    def components(self) -> list[list[list[str]]]:
        """Per group of statements not yet separated by a cut, the strongly
        connected components of its unsatisfied dependences, in topological
        order."""
        groups: dict[tuple[int, ...], list[str]] = {}
        for statement in self.statements:
            groups.setdefault(self.group[statement], []).append(statement)
        result = []
        for members in groups.values():
            edges = {(d.source, d.target) for d in self.deps
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


# -- the ILP's unknowns ---------------------------------------------------------
_Form = tuple[tuple[int, ...], int, bool]  # coefficients, constant, is an equality


class _Layout:
    """Positions of the unknowns ``z`` in lexicographic-minimum order:
    ``U = u_1 + ... + u_P``, ``w``, then per statement its iterator
    coefficients (innermost first, so ties keep the original loop order) and
    its constant, and last the individual ``u_k``.  Minimising the sum ``U``
    rather than ``u_1`` first keeps the parameters' order from choosing
    between otherwise equal hyperplanes."""

    def __init__(self, statements: list[str], iterators: dict[str, tuple[str, ...]],
                 n_params: int) -> None:
        self.n_params = n_params
        self.iterators = iterators
        self.offset: dict[str, int] = {}
        position = 2
        for s in statements:
            self.offset[s] = position
            position += len(iterators[s]) + 1
        self.u = position
        self.w = 1
        self.size = position + n_params

    def sum_constraint(self) -> str:
        """``U = u_1 + ... + u_P``."""
        terms = {0: 1}
        for k in range(self.n_params):
            terms[self.u + k] = -1
        return _linear(terms, 0, "=")

    def coeff(self, statement: str, j: int) -> int:
        n = len(self.iterators[statement])
        return self.offset[statement] + (n - 1 - j)

    def const(self, statement: str) -> int:
        return self.offset[statement] + len(self.iterators[statement])

    def dot(self, statement: str, vector: Sequence[int]) -> dict[int, int]:
        """The form ``vector . c_S`` over the unknowns."""
        return {self.coeff(statement, j): v for j, v in enumerate(vector) if v}

    @staticmethod
    def _text(terms: dict[int, int], constant: int, equality: bool) -> str:
        return _linear(terms, constant, "=" if equality else ">=")

    def legality(self, source: str, target: str, form: _Form) -> str:
        """``phi_T(t) - phi_S(s)`` is the form ``(c_cst, c_p, c_s, c_t)``."""
        a, b, eq = form
        terms: dict[int, int] = {}
        self._add(terms, self.const(target), a[0])
        self._add(terms, self.const(source), -a[0])
        self._iterator_terms(terms, source, target, a, sign=1)
        return self._text(terms, b, eq)

    def bounding(self, source: str, target: str, form: _Form) -> str:
        """``u.p + w - (phi_T(t) - phi_S(s))`` is the form."""
        a, b, eq = form
        terms: dict[int, int] = {}
        self._add(terms, self.w, a[0])
        self._add(terms, self.const(target), -a[0])
        self._add(terms, self.const(source), a[0])
        for k in range(self.n_params):
            self._add(terms, self.u + k, a[1 + k])
        self._iterator_terms(terms, source, target, a, sign=-1)
        return self._text(terms, b, eq)

    def _iterator_terms(self, terms: dict[int, int], source: str, target: str,
                        a: tuple[int, ...], sign: int) -> None:
        n_s = len(self.iterators[source])
        start = 1 + self.n_params
        for j in range(n_s):
            self._add(terms, self.coeff(source, j), -sign * a[start + j])
        for j in range(len(self.iterators[target])):
            self._add(terms, self.coeff(target, j), sign * a[start + n_s + j])

    @staticmethod
    def _add(terms: dict[int, int], index: int, value: int) -> None:
        terms[index] = terms.get(index, 0) + value

    def rows(self, z: list[int]) -> dict[str, Row]:
        return {s: Row(tuple(z[self.coeff(s, j)] for j in range(len(its))), z[self.const(s)])
                for s, its in self.iterators.items()}


def _farkas(dep: _Dep, params: tuple[str, ...]) -> list[_Form]:
    """The affine forms ``(c_cst, c_p, c_s, c_t)`` non-negative on the
    dependence, as constraints of isl's coefficient cone (flattened)."""
    cone = dep.relation.wrap().coefficients().flatten()
    n = cone.dim(isl.dim_type.set)
    forms = []
    for constraint in cone.get_constraints():
        coefficients = [constraint.get_coefficient_val(isl.dim_type.set, k).to_python()
                        for k in range(n)]
        constant = constraint.get_constant_val().to_python()
        forms.append((tuple(int(c) for c in coefficients), int(constant),
                      constraint.is_equality()))
    return _remap_params(forms, dep.relation, params)


def _remap_params(forms: list[_Form], relation: isl.Map, params: tuple[str, ...]) -> list[_Form]:
    """Reorder the parameter coefficients to the program's parameter order."""
    space = relation.get_space()
    names = [space.get_dim_name(isl.dim_type.param, k)
             for k in range(space.dim(isl.dim_type.param))]
    if names == list(params):
        return forms
    result = []
    for a, b, eq in forms:
        p = [0] * len(params)
        for k, name in enumerate(names):
            p[params.index(str(name))] = a[1 + k]
        result.append(((a[0], *p, *a[1 + len(names):]), b, eq))
    return result


def _linear(terms: dict[int, int], constant: int, relation: str) -> str:
    """``sum terms[k] * z_k + constant <relation> 0`` as isl text."""
    text = ""
    for k, c in sorted(terms.items()):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        text += f" {sign} {abs(c)}*z{k}" if text else f"{'-' if c < 0 else ''}{abs(c)}*z{k}"
    if constant or not text:
        text += f" {'-' if constant < 0 else '+'} {abs(constant)}" if text else str(constant)
    return f"{text} {relation} 0"


def _problem(size: int, constraints: list[str]) -> isl.Set:
    names = ", ".join(f"z{k}" for k in range(size))
    unique = [c for c in dict.fromkeys(constraints) if c not in ("0 >= 0", "0 = 0")]
    return isl.Set(f"{{ [{names}] : {' and '.join(unique) or '0 = 0'} }}")


def _lexmin(problem: isl.Set) -> list[int] | None:
    if problem.is_empty():
        return None
    point = problem.lexmin().sample_point()
    size = problem.dim(isl.dim_type.set)
    return [int(point.get_coordinate_val(isl.dim_type.set, k).to_python())
            for k in range(size)]


def _difference(dep: _Dep, rows: dict[str, Row], iterators: dict[str, tuple[str, ...]],
                relation: str) -> isl.Map:
    """``{ S[s] -> T[t] : phi_T(t) - phi_S(s) <relation> }`` for the level's
    rows, with ``relation`` one of ``>= 1``, ``= 0``, ``< 0``."""
    space = dep.relation.wrap().get_space()
    aff = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
    s_row, t_row = rows[dep.source], rows[dep.target]
    n_s = len(iterators[dep.source])
    for j, c in enumerate(s_row.coeffs):
        aff = aff.add_coefficient_val(isl.dim_type.in_, j, isl.Val(-c))
    for j, c in enumerate(t_row.coeffs):
        aff = aff.add_coefficient_val(isl.dim_type.in_, n_s + j, isl.Val(c))
    aff = aff.add_constant_val(isl.Val(t_row.const - s_row.const))
    zero = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
    if relation == ">= 1":
        pieces = aff.gt_basic_set(zero)
    elif relation == "= 0":
        pieces = aff.zero_basic_set()
    else:
        pieces = aff.neg_basic_set()
    return isl.Set.from_basic_set(pieces).unwrap()


def _rank(rows: list[tuple[int, ...]]) -> int:
    return len(_echelon([list(map(Fraction, r)) for r in rows]))


def _echelon(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Row echelon form (reduced), without zero rows."""
    rows = [r[:] for r in matrix]
    result: list[list[Fraction]] = []
    n = len(rows[0]) if rows else 0
    for column in range(n):
        pivot = next((r for r in rows if r[column] != 0), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        pivot = [x / pivot[column] for x in pivot]
        rows = [[x - r[column] * p for x, p in zip(r, pivot)] for r in rows]
        result = [[x - r[column] * p for x, p in zip(r, pivot)] for r in result]
        result.append(pivot)
    return result


def _null_space(rows: list[tuple[int, ...]], n: int) -> list[list[int]]:
    """An integer basis of ``{ v : H v = 0 }`` for the rows ``H``."""
    echelon = _echelon([list(map(Fraction, r)) for r in rows])
    pivots = {next(k for k, x in enumerate(r) if x != 0): r for r in echelon}
    basis = []
    for free in (k for k in range(n) if k not in pivots):
        vector = [Fraction(0)] * n
        vector[free] = Fraction(1)
        for column, row in pivots.items():
            vector[column] = -row[free]
        scale = 1
        for entry in vector:
            scale = scale * entry.denominator // gcd(scale, entry.denominator)
        integers = [int(entry * scale) for entry in vector]  # exact: scale clears denominators
        divisor = 0
        for value in integers:
            divisor = gcd(divisor, abs(value))
        basis.append([x // (divisor or 1) for x in integers])
    return basis


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


# -- the schedule tree ------------------------------------------------------------
def build_tree(program: Program, levels: list[Level]) -> isl.Schedule:
    """Bands for consecutive loop levels of one band, sequences for cuts."""
    schedule = isl.Schedule.from_domain(program.domain())
    node = _build(schedule.get_root().child(0), program, [s.name for s in program.statements],
                  levels, 0)
    return node.get_schedule()


def _build(node: isl.ScheduleNode, program: Program, statements: list[str],
           levels: list[Level], start: int) -> isl.ScheduleNode:
    """Insert the levels from ``start`` for ``statements`` below ``node``."""
    k = start
    while k < len(levels) and levels[k].band == -1:
        groups: dict[int, list[str]] = {}
        for s in statements:
            groups.setdefault(levels[k].rows[s].const, []).append(s)
        if len(groups) > 1:
            filters = isl.UnionSetList.alloc(program.context.get_ctx(), len(groups))
            ordered = [groups[c] for c in sorted(groups)]
            for group in ordered:
                filters = filters.add(_domain_of(program, group))
            node = node.insert_sequence(filters)
            for position, group in enumerate(ordered):
                child = _build(node.child(position).child(0), program, group, levels, k + 1)
                node = child.parent().parent()
            return node
        k += 1
    if k == len(levels):
        return node
    band = levels[k].band
    members = []
    while k < len(levels) and levels[k].band == band:
        if not _degenerate(levels[k], statements):
            members.append(levels[k])
        k += 1
    if not members:
        return _build(node, program, statements, levels, k)
    node = node.insert_partial_schedule(_partial(program, statements, members))
    node = node.band_set_permutable(1 if len(members) > 1 else 0)
    for position, level in enumerate(members):
        node = node.band_member_set_coincident(position, level.coincident(statements))
    return _build(node.child(0), program, statements, levels, k).parent()


def _degenerate(level: Level, statements: list[str]) -> bool:
    """A loop level that is the same constant for every statement here."""
    rows = [level.rows[s] for s in statements]
    return all(not any(r.coeffs) for r in rows) and len({r.const for r in rows}) == 1


def _domain_of(program: Program, statements: list[str]) -> isl.UnionSet:
    result = isl.UnionSet.empty(program.context.get_space())
    for s in statements:
        result = result.union(isl.UnionSet.from_set(program.statement(s).domain))
    return result


def _partial(program: Program, statements: list[str],
             members: list[Level]) -> isl.MultiUnionPwAff:
    """The band's partial schedule: per statement, its rows as affine maps."""
    union: isl.UnionMap | None = None
    for s in statements:
        domain = program.statement(s).domain
        space = domain.get_space()
        result = isl.Map.from_domain(domain)
        for level in members:
            row = level.rows[s]
            aff = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(space))
            for j, c in enumerate(row.coeffs):
                aff = aff.set_coefficient_val(isl.dim_type.in_, j, isl.Val(c))
            aff = aff.set_constant_val(isl.Val(row.const))
            result = result.flat_range_product(isl.Map.from_aff(aff).intersect_domain(domain))
        piece = isl.UnionMap.from_map(result)
        union = piece if union is None else union.union(piece)
    assert union is not None
    return isl.MultiUnionPwAff.from_union_map(union)
