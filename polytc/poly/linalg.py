"""Exact rational linear algebra on small integer matrices (schedule rows)."""
from __future__ import annotations

from fractions import Fraction
from math import gcd

def rank(rows: list[tuple[int, ...]]) -> int:
    return len(echelon([list(map(Fraction, r)) for r in rows]))


def echelon(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
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


def null_space(rows: list[tuple[int, ...]], n: int) -> list[list[int]]:
    """An integer basis of ``{ v : H v = 0 }`` for the rows ``H``."""
    reduced = echelon([list(map(Fraction, r)) for r in rows])
    pivots = {next(k for k, x in enumerate(r) if x != 0): r for r in reduced}
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
