"""Farkas cones of dependences (:mod:`polytc.poly.farkas`)."""
from __future__ import annotations

import islpy as isl

from polytc.poly import farkas


def _cone(forms: list[farkas.Form], size: int) -> isl.Set:
    names = [f"c{k}" for k in range(size)]
    rows = []
    for a, b, eq in forms:
        terms = " + ".join(f"{v}*{n}" for v, n in zip(a, names) if v) or "0"
        rows.append(f"{terms} + {b} {'=' if eq else '>='} 0")
    return isl.Set(f"{{ [{', '.join(names)}] : {' and '.join(rows) or 'true'} }}")


def test_a_statements_own_dependence_has_the_cone_of_its_distances() -> None:
    """On the forms with ``c_s = -c_t`` (all that Pluto's legality and
    bounding conditions of a statement's own dependence use), the cone of the
    distances is the exact cone of the relation."""
    relation = isl.Map("[n] -> { S[t, i] -> S[t', i'] : 0 <= t < n and 1 <= i < n - 1 and "
                       "((t' = t and i' = i + 1) or (t' = t + 1 and i' = i - 1)) and "
                       "1 <= i' < n - 1 and t' < n }")
    n = 2
    exact = farkas._forms(relation.wrap())
    size = 1 + 1 + 2 * n
    same_lines = _cone([((0, 0, 1, 0, 1, 0), 0, True), ((0, 0, 0, 1, 0, 1), 0, True)], size)
    distances = farkas._distance_forms_in_child(relation)
    assert distances is not None
    assert _cone(distances, size).is_equal(_cone(exact, size).intersect(same_lines))
    # phi = t + i is legal (distance (1, -1) gives 0), phi = i alone is not
    cone = _cone(distances, size)
    assert isl.Set("{ [0, 0, -1, -1, 1, 1] }").is_subset(cone)
    assert not isl.Set("{ [0, 0, 0, -1, 0, 1] }").is_subset(cone)


# two sweeps of a 3-D seven-point stencil: S1 -> S0 through seven reads of A
_SEVEN_READS = " or ".join(
    f"(t' = t + 1 and i' = i + {di} and j' = j + {dj} and k' = k + {dk})"
    for di, dj, dk in ((0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1),
                       (0, 0, -1)))
_SWEEP = isl.Map("[n] -> { S1[t, i, j, k] -> S0[t', i', j', k'] : 0 <= t and t' < n and "
                 "0 < i, j, k, i', j', k' < n - 1 and (" + _SEVEN_READS + ") }")


def test_a_large_dependence_is_linearised_piece_by_piece() -> None:
    """A coalesced dependence of many accesses is one large piece (slow to
    linearise); its uncoalesced pieces give the cone of their union: the
    same as isl's, and never smaller than the coalesced piece's."""
    pieces = _SWEEP
    coalesced = pieces.coalesce()
    assert pieces.n_basic_map() == 7 and coalesced.n_basic_map() == 1
    size = 1 + 1 + 2 * 4
    split = farkas.farkas(coalesced, ("n",), pieces)
    assert farkas._too_large(coalesced.wrap())
    union_cone = _cone(farkas._forms(pieces.wrap()), size)
    assert _cone(split, size).is_equal(union_cone)
    assert _cone(farkas._forms(coalesced.wrap()), size).is_subset(_cone(split, size))
    # phi = t (the same for both statements) is legal, phi = i is not
    assert isl.Set("{ [0, 0, -1, 0, 0, 0, 1, 0, 0, 0] }").is_subset(_cone(split, size))
    assert not isl.Set("{ [0, 0, 0, -1, 0, 0, 0, 1, 0, 0] }").is_subset(_cone(split, size))


def test_large_pieces_are_not_linearised_one_by_one() -> None:
    """Pieces past CHILD_PIECE inequalities, or more than MAX_PIECES of them,
    leave the cone to the coalesced relation's paths."""
    assert farkas._piecewise_forms(_SWEEP) is not None
    many = _SWEEP
    for shift in range(farkas.MAX_PIECES):
        many = many.union(_SWEEP.apply_range(isl.Map(
            f"{{ S0[t, i, j, k] -> S0[t + {shift + 2}, i, j, k] }}")))
    assert many.n_basic_map() > farkas.MAX_PIECES
    assert farkas._piecewise_forms(many) is None


def test_problem_reads_a_constraint_matrix() -> None:
    """:func:`farkas.problem` is the conjunction of its constraints; those
    that always hold are dropped, one that never holds empties it."""
    constraints = [farkas.linear({0: 1}, 0, ">="), farkas.linear({0: 1, 2: -2}, 3, ">="),
                   farkas.linear({1: 1, 2: -1}, 0, "="), farkas.linear({}, 0, "="),
                   farkas.linear({}, 4, ">="), farkas.linear({0: 1}, 0, ">=")]
    expected = isl.BasicSet("{ [a, b, c] : a >= 0 and a - 2c + 3 >= 0 and b = c }")
    found = farkas.problem(3, constraints)
    assert found.dim(isl.dim_type.set) == 3
    assert found.set_dim_name(isl.dim_type.set, 0, "a").set_dim_name(
        isl.dim_type.set, 1, "b").set_dim_name(isl.dim_type.set, 2, "c").is_equal(expected)
    assert farkas.problem(3, constraints + [farkas.linear({}, -1, ">=")]).is_empty()
    assert farkas.lexmin(farkas.problem(2, [farkas.linear({0: 1}, -2, ">="),
                                            farkas.linear({1: 1}, 0, ">=")])) == [2, 0]
