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
