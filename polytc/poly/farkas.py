"""The integer program behind each Pluto hyperplane.

Unknowns ``z`` are laid out by :class:`Layout`; constraints are linear
forms over ``z0, z1, ...`` (:data:`Linear`), read by isl as one constraint
matrix (:func:`problem`) and solved with isl's lexicographic minimum.
:func:`farkas` turns a dependence into the cone of affine forms that are
non-negative on it (Farkas' lemma, computed by isl's ``coefficients()``);
the legality and bounding conditions are linear maps of the unknowns into
that cone.
"""
from __future__ import annotations

import json
from typing import Sequence

import islpy as isl

from polytc.errors import ScheduleError
from polytc.poly.child import in_child

from polytc.poly.schedule_tree import Row

Form = tuple[tuple[int, ...], int, bool]  # coefficients, constant, is an equality
#: ``sum coefficient * z_k + constant >= 0`` (``= 0`` where the flag is set):
#: the terms as (k, coefficient) pairs in order of k, the constant, the flag
Linear = tuple[tuple[tuple[int, int], ...], int, bool]


class Layout:
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

    def sum_constraint(self) -> Linear:
        """``U = u_1 + ... + u_P``."""
        terms = {0: 1}
        for k in range(self.n_params):
            terms[self.u + k] = -1
        return linear(terms, 0, "=")

    def coeff(self, statement: str, j: int) -> int:
        n = len(self.iterators[statement])
        return self.offset[statement] + (n - 1 - j)

    def const(self, statement: str) -> int:
        return self.offset[statement] + len(self.iterators[statement])

    def dot(self, statement: str, vector: Sequence[int]) -> dict[int, int]:
        """The form ``vector . c_S`` over the unknowns."""
        return {self.coeff(statement, j): v for j, v in enumerate(vector) if v}

    @staticmethod
    def _constraint(terms: dict[int, int], constant: int, equality: bool) -> Linear:
        return linear(terms, constant, "=" if equality else ">=")

    def legality(self, source: str, target: str, form: Form) -> Linear:
        """``phi_T(t) - phi_S(s)`` is the form ``(c_cst, c_p, c_s, c_t)``."""
        a, b, eq = form
        terms: dict[int, int] = {}
        self._add(terms, self.const(target), a[0])
        self._add(terms, self.const(source), -a[0])
        self._iterator_terms(terms, source, target, a, sign=1)
        return self._constraint(terms, b, eq)

    def bounding(self, source: str, target: str, form: Form) -> Linear:
        """``u.p + w - (phi_T(t) - phi_S(s))`` is the form."""
        a, b, eq = form
        terms: dict[int, int] = {}
        self._add(terms, self.w, a[0])
        self._add(terms, self.const(target), -a[0])
        self._add(terms, self.const(source), a[0])
        for k in range(self.n_params):
            self._add(terms, self.u + k, a[1 + k])
        self._iterator_terms(terms, source, target, a, sign=-1)
        return self._constraint(terms, b, eq)

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


#: a dependence with a piece of more inequalities than this, or more
#: inequalities than MAX_INEQUALITIES over all its pieces, is linearised on
#: an over-approximation: its simple hull without local variables (isl
#: eliminates one Farkas multiplier per inequality: exact cones of 15
#: pieces of up to 19 inequalities ran for minutes on fuzz seed 777002826,
#: the hull took 0.3 s).  Legality on a superset implies legality on the
#: dependence; the price is a hyperplane the hull may forbid.
LARGE_PIECE = 16
MAX_INEQUALITIES = 64
#: the most uncoalesced pieces :func:`farkas` linearises one by one
MAX_PIECES = 32
#: the cone of a piece (or hull) with more inequalities than CHILD_PIECE is
#: computed in a child process limited to FARKAS_SECONDS (isl's operation
#: budget does not count that work; fuzz seed 9134028348: one piece of 16
#: inequalities over 10 dimensions took 132 s; PolyBench's 533 cones, 6 of
#: them past 12 inequalities, take 1 ms at most)
CHILD_PIECE = 12
FARKAS_SECONDS = 5.0
#: a dependence that is large only with its redundant constraints (the
#: context's ``n >= 0`` took a seidel-2d dependence past LARGE_PIECE, and the
#: hull forbade its skew ``t + i``) gets its exact cone without them, in a
#: child limited to REDUCED_SECONDS, else the hull (fuzz seed 9134028348:
#: such exact cones took 160 s in all)
REDUCED_SECONDS = 1.0


class FarkasTimeout(ScheduleError):
    """Linearising a dependence took longer than :data:`FARKAS_SECONDS`."""


def farkas(relation: isl.Map, params: tuple[str, ...],
           pieces: isl.Map | None = None) -> list[Form]:
    """The affine forms ``(c_cst, c_p, c_s, c_t)`` non-negative on the
    dependence ``relation`` (or on its hull, when it is large), as the
    constraints of isl's coefficient cone (flattened; parameters in the
    order ``params``).  ``pieces``: the same pairs uncoalesced; where
    ``relation`` is large and they are small, the cone is theirs.

    :raises FarkasTimeout: the cone took longer than :data:`FARKAS_SECONDS`."""
    points = relation.wrap()
    if _too_large(points):
        split = _piecewise_forms(pieces) if pieces is not None else None
        if split is not None and pieces is not None:
            return _remap_params(split, pieces, params)
        reduced = _without_redundancies(points)
        if not _too_large(reduced):
            forms = _forms_in_child(relation, reduced, REDUCED_SECONDS, required=False)
            if forms is not None:
                return _remap_params(forms, relation, params)
        if _self_dependence(relation):
            forms = _distance_forms_in_child(relation)
            if forms is not None:
                return _remap_params(forms, relation, params)
        points = isl.Set.from_basic_set(points.remove_divs().simple_hull())
    sizes = [_inequalities(piece) for piece in points.get_basic_sets()]
    large = bool(sizes) and max(sizes) > CHILD_PIECE
    forms = _forms_in_child(relation, points, FARKAS_SECONDS) if large else _forms(points)
    assert forms is not None
    return _remap_params(forms, relation, params)


def _piecewise_forms(pieces: isl.Map) -> list[Form] | None:
    """The forms non-negative on every piece of ``pieces`` (the union's cone
    is the intersection of the pieces' cones: their constraints together),
    None where some piece is itself large or there are more than
    MAX_PIECES.  A coalesced dependence of many accesses is one large
    piece: heat-3d's seven reads of ``A`` made one of 27 inequalities whose
    cone took 0.3 s; its seven pieces of 8 took 4 ms in all.  Each piece's
    rational points lie in the coalesced piece's, so this cone is never
    smaller than that one."""
    points = [piece.wrap() for piece in pieces.get_basic_maps()]
    points = [p for p in points if not p.is_empty()]
    if len(points) > MAX_PIECES or any(_inequalities(p) > CHILD_PIECE for p in points):
        return None
    return list(dict.fromkeys(form for piece in points
                              for form in _forms(isl.Set.from_basic_set(piece))))


def _self_dependence(relation: isl.Map) -> bool:
    """From a statement to itself."""
    return relation.get_tuple_name(isl.dim_type.in_) == relation.get_tuple_name(isl.dim_type.out) \
        and relation.dim(isl.dim_type.in_) == relation.dim(isl.dim_type.out)


def _distance_forms_in_child(relation: isl.Map) -> list[Form] | None:
    """For a dependence of a statement on itself: the forms
    ``(c_cst, c_p, c_s, c_t)`` with ``c_s = -c_t`` that are non-negative on
    it, exactly, from the cone of its distance set (``t - s``, a set of the
    statement's dimension, however many constraints the relation has: a 3-D
    in-place stencil's dependences are too large for their own cone, and
    their hull forbids the skews ``t + i``).  Pluto's conditions on a
    statement's own dependence, ``phi(t) - phi(s) >= 0`` and ``u.p + w -
    (phi(t) - phi(s)) >= 0``, only use such forms.  None when it takes
    longer than REDUCED_SECONDS."""
    cone = _forms_in_child(relation, relation.deltas(), REDUCED_SECONDS, required=False)
    if cone is None:
        return None
    n = relation.dim(isl.dim_type.in_)
    head = 1 + relation.dim(isl.dim_type.param)  # c_cst, c_p
    forms: list[Form] = [((*a[:head], *([0] * n), *a[head:]), b, eq) for a, b, eq in cone]
    for j in range(n):  # c_s = -c_t, member by member
        unit = tuple(int(k == j) for k in range(n))
        forms.append(((*([0] * head), *unit, *unit), 0, True))
    return forms


def _too_large(points: isl.Set) -> bool:
    sizes = [_inequalities(piece) for piece in points.get_basic_sets()]
    return bool(sizes) and (max(sizes) > LARGE_PIECE or sum(sizes) > MAX_INEQUALITIES)


def _without_redundancies(points: isl.Set) -> isl.Set:
    """``points`` with each piece's redundant constraints dropped."""
    pieces = [piece.remove_redundancies() for piece in points.get_basic_sets()]
    result = isl.Set.empty(points.get_space())
    for piece in pieces:
        result = result.union(isl.Set.from_basic_set(piece))
    return result


def _forms(points: isl.Set) -> list[Form]:
    cone = _coefficient_cone(points)
    n = cone.dim(isl.dim_type.set)
    forms = []
    for constraint in cone.get_constraints():
        coefficients = [constraint.get_coefficient_val(isl.dim_type.set, k).to_python()
                        for k in range(n)]
        constant = constraint.get_constant_val().to_python()
        forms.append((tuple(int(c) for c in coefficients), int(constant),
                      constraint.is_equality()))
    return forms


def _inequalities(piece: isl.BasicSet) -> int:
    return sum(1 for c in piece.get_constraints() if not c.is_equality())


def _forms_in_child(relation: isl.Map, points: isl.Set, seconds: float,
                    required: bool = True) -> list[Form] | None:
    """:func:`_forms` of ``points`` (``relation``, reduced, or its hull)
    computed in a forked child, killed after ``seconds``: then None, or
    where ``required``, :class:`FarkasTimeout`."""
    text = in_child(lambda: json.dumps(_forms(points)), seconds,
                    "linearising a dependence (Farkas)")
    if text is None and not required:
        return None
    if text is None:
        source = relation.get_tuple_name(isl.dim_type.in_)
        target = relation.get_tuple_name(isl.dim_type.out)
        raise FarkasTimeout(f"linearising the dependence {source} -> {target} (Farkas) took "
                            f"more than {seconds:.0f} s")
    return [(tuple(c), k, bool(e)) for c, k, e in json.loads(text)]


def _coefficient_cone(points: isl.Set) -> isl.BasicSet:
    """isl's cone of affine forms non-negative on ``points``, flattened to
    ``[c_cst, c_params..., c_dims...]``.  isl refuses sets with local
    variables (a subscript ``l / 2``): then each piece is lifted (its local
    variables become extra dimensions), its cone computed, the forms that do
    not use the extra dimensions kept, and the pieces' cones intersected
    (lifting the whole union at once took minutes on fuzz seed 20240830)."""
    pieces = points.get_basic_sets()
    if all(piece.dim(isl.dim_type.div) == 0 for piece in pieces):
        return points.coefficients().flatten()
    cone = None
    for piece in pieces:
        part = _piece_cone(piece)
        cone = part if cone is None else cone.intersect(part)
    assert cone is not None
    return cone


def _piece_cone(piece: isl.BasicSet) -> isl.BasicSet:
    extra = piece.dim(isl.dim_type.div)
    lifted = piece.lift() if extra else piece
    cone = lifted.coefficients().flatten()
    first = cone.dim(isl.dim_type.set) - extra
    for k in range(first, first + extra):
        cone = cone.fix_val(isl.dim_type.set, k, 0)
    return cone.project_out(isl.dim_type.set, first, extra)


def _remap_params(forms: list[Form], relation: isl.Map, params: tuple[str, ...]) -> list[Form]:
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


def linear(terms: dict[int, int], constant: int, relation: str) -> Linear:
    """``sum terms[k] * z_k + constant <relation> 0``, ``relation`` one of
    ``>=`` and ``=``."""
    if relation not in (">=", "="):
        raise ValueError(f"relation {relation!r}: expected '>=' or '='")
    return tuple((k, c) for k, c in sorted(terms.items()) if c), constant, relation == "="


def problem(size: int, constraints: list[Linear]) -> isl.BasicSet:
    """The conjunction of ``constraints`` over ``z0 .. z<size-1>``.  A basic
    set: intersecting two is cheap, where isl's general set intersection
    simplifies its result (23.8 s for one Pluto problem of fuzz seed
    777002500 whose lexicographic minimum then took 4 s).  It is read as a
    constraint matrix (PolyLib's format), in time linear in its size: isl's
    reader of ``{ [z0, ...] : c1 and c2 ... }`` intersects one constraint at
    a time (deriche's 53 problems took 1.3 s to read that way, 0.06 s so)."""
    rows = []
    for terms, constant, equality in dict.fromkeys(constraints):
        if not terms and (constant == 0 or (constant > 0 and not equality)):
            continue  # always true
        row = [0] * size
        for k, c in terms:
            row[k] = c
        rows.append(f"{0 if equality else 1} {' '.join(map(str, row))} {constant}")
    text = "\n".join([f"{len(rows)} {size + 2}", *rows])
    return isl.BasicSet.read_from_str(isl.DEFAULT_CONTEXT, text)


def lexmin(problem: isl.BasicSet) -> list[int] | None:
    if problem.is_empty():
        return None
    point = problem.lexmin().sample_point()
    size = problem.dim(isl.dim_type.set)
    return [int(point.get_coordinate_val(isl.dim_type.set, k).to_python())
            for k in range(size)]
