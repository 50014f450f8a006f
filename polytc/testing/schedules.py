"""Random schedules of a program, for differential testing of ``schedule=``.

:func:`random_schedule` builds, from a seed, either a *legal* schedule (the
identity or Pluto tree transformed by a few random interchanges, skews,
shifts, tilings, distributions and fusions of :mod:`polytc.poly.transform`,
each kept only when :func:`polytc.poly.check` accepts it), given as a tree
or as a union map, or an *illegal* one: a band flag the dependences
contradict (``permutable`` on a band that is not, ``coincident`` on a member
that carries a dependence) or a member that carries a dependence run
backwards.  A compiled legal schedule must compute what the interpreter
computes; an illegal one must be refused with
:class:`~polytc.poly.legality.IllegalScheduleError`.
"""
from __future__ import annotations

import random
from typing import Callable

import islpy as isl

from polytc import poly
from polytc.errors import PolytcError
from polytc.poly import transform
from polytc.poly.bands import loop_coincidence
from polytc.program import Program

KINDS = ("legal", "illegal")


def random_schedule(program: Program, kind: str, seed: int) -> str | None:
    """The text of a random ``kind`` schedule of ``program`` (None when
    ``kind`` is ``illegal`` and no dependence lets a schedule be wrong)."""
    rng = random.Random(seed)
    deps = poly.dependences(program)
    if kind == "legal":
        return _legal(program, deps, rng)
    if kind == "illegal":
        return _illegal(program, deps, rng)
    raise ValueError(f"schedule kind {kind!r} is not one of {KINDS}")


def _legal(program: Program, deps: poly.Dependences, rng: random.Random) -> str:
    start = poly.identity_schedule(program, deps) if rng.random() < 0.5 else \
        poly.pluto_schedule(program, deps, fuse=rng.choice(("smart", "max", "none")))
    tree = start
    for _ in range(rng.randint(1, 3)):
        candidate = _transformed(tree, rng)
        if candidate is not None and poly.check(program, candidate, deps).legal:
            tree = candidate
    if rng.random() < 0.3:
        return str(tree.get_map())  # the union-map form: rebuilt into bands by polytc
    return str(tree)


def _transformed(tree: isl.Schedule, rng: random.Random) -> isl.Schedule | None:
    """``tree`` after one random transformation, or None when it does not apply."""
    nodes = transform.bands(tree)
    if not nodes:
        return None
    band = rng.randrange(len(nodes))
    n = nodes[band].band_n_member()
    names = sorted({str(s.get_tuple_name()) for s in _sets(nodes[band].get_domain())})
    moves: list[Callable[[], isl.Schedule]] = [
        lambda: transform.tile(tree, band, [rng.randint(2, 5) for _ in range(n)]),
        lambda: transform.shift(tree, band, rng.randrange(n),
                                {rng.choice(names): rng.randint(-2, 2)})]
    if n > 1:
        a, b = rng.sample(range(n), 2)
        moves += [lambda: transform.interchange(tree, band, a, b),
                  lambda: transform.skew(tree, band, a, b, rng.choice((1, -1, 2)))]
    if len(names) > 1:
        moves.append(lambda: transform.distribute(tree, band))
    if len(nodes) > 1 and band + 1 < len(nodes):
        moves.append(lambda: transform.fuse(tree, [band, band + 1], 1))
    try:
        return rng.choice(moves)()
    except (PolytcError, isl.Error):  # does not apply here (fuse of non-siblings, ...)
        return None


def _illegal(program: Program, deps: poly.Dependences, rng: random.Random) -> str | None:
    tree = poly.identity_schedule(program, deps)
    candidates: list[str] = []
    for node in transform.bands(tree):
        flags = loop_coincidence(node, deps.all)
        for member, parallel in enumerate(flags):
            if parallel:
                continue
            lying = node.band_member_set_coincident(member, 1)
            candidates.append(str(lying.get_schedule()))
            negated = node.band_get_partial_schedule()
            negated = negated.set_at(member, negated.get_at(member).neg())
            reversed_tree = node.delete().insert_partial_schedule(negated).get_schedule()
            candidates.append(str(reversed_tree.get_map()))
        if node.band_n_member() > 1 and not node.band_get_permutable():
            candidates.append(str(node.band_set_permutable(1).get_schedule()))
    rng.shuffle(candidates)
    for text in candidates:
        try:
            if not poly.check(program, text, deps).legal:
                return text
        except PolytcError:
            continue
    return None


def _sets(union: isl.UnionSet) -> list[isl.Set]:
    sets = union.get_set_list()
    return [sets.get_at(i) for i in range(sets.n_set())]
