"""Small isl helpers shared by the stages."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import islpy as isl

from polytc import isl_clock


def lift(pa: isl.PwAff, space: isl.Space) -> isl.PwAff:
    """A PwAff on the parameters as a PwAff on the set space ``space``,
    constant along its dimensions."""
    space = space.align_params(pa.get_space())
    lifted = pa.align_params(space).add_dims(isl.dim_type.in_, space.dim(isl.dim_type.set))
    if space.has_tuple_id(isl.dim_type.set):
        lifted = lifted.set_tuple_id(isl.dim_type.in_, space.get_tuple_id(isl.dim_type.set))
    return lifted


def lift_set(params_set: isl.Set, space: isl.Space) -> isl.Set:
    """The parameter set ``params_set`` as a set on ``space``."""
    return isl.Set.universe(space).intersect_params(params_set.align_params(space))


def param_names(space: isl.Space) -> list[str]:
    return [str(space.get_dim_name(isl.dim_type.param, i))
            for i in range(space.dim(isl.dim_type.param))]


def simplify(pa: isl.PwAff, context: isl.Set) -> isl.PwAff:
    """``pa`` on ``context``, as a single affine piece when one piece's
    expression (or its max with 0) equals ``pa`` everywhere on ``context``."""
    pa = pa.gist_params(context).coalesce()
    pieces: list[isl.Aff] = []
    pa.foreach_piece(lambda _set, aff: pieces.append(aff))
    if len(pieces) <= 1 and pa.domain().is_equal(isl.Set.universe(pa.domain().get_space())):
        return pa
    for aff in pieces:
        whole = isl.PwAff.from_aff(aff)
        for candidate in (whole, whole.max(whole * 0)):
            if context.is_subset(candidate.eq_set(pa)):
                return candidate.coalesce()
    return pa


def extend(pa: isl.PwAff) -> isl.PwAff:
    """``pa`` made total when one affine expression equals it wherever it is
    defined (TC's symbolic solution); otherwise ``pa`` unchanged."""
    total = simplify(pa, pa.domain())
    return total if total.domain().is_equal(isl.Set.universe(total.domain().get_space())) else pa


def extent_text(pa: isl.PwAff) -> str:
    """A short text of a parameter expression: ``N - 2`` for
    ``[N] -> { [(-2 + N)] }``; the full isl text when it is piecewise."""
    text = str(pa.coalesce())
    body = text[text.index("{") + 1:text.rindex("}")].strip()
    if body.startswith("[(") and body.endswith(")]") and ";" not in body and ":" not in body:
        return body[2:-2]
    return text


_T = TypeVar("_T")
_C = TypeVar("_C", isl.Map, isl.Set, isl.UnionMap, isl.UnionSet, isl.PwAff)
_active: list[isl.Context] = []  # contexts inside an operation budget


@contextmanager
def operation_budget(ctx: isl.Context, limit: int, seconds: float | None = None
                     ) -> Iterator[None]:
    """isl counts operations from zero with at most ``limit`` (0: no limit)
    allowed during the block, and at most ``seconds`` of CPU time where
    given (:func:`polytc.isl_clock.cpu_limit`); the previous limit and a
    fresh count are restored afterwards.  Inside another budget on ``ctx`` it
    does nothing: isl's count cannot be read, and resetting it would give
    the outer budget a fresh start (the outer one bounds both)."""
    if ctx in _active:
        yield
        return
    saved = ctx.get_max_operations()
    ctx.reset_operations()
    ctx.set_max_operations(max(0, limit))
    _active.append(ctx)
    try:
        with isl_clock.cpu_limit(ctx, seconds):
            yield
    finally:
        _active.remove(ctx)
        ctx.set_max_operations(saved)
        ctx.reset_operations()


def within_budget(ctx: isl.Context, operations: int, thunk: Callable[[], _T],
                  seconds: float | None = None) -> _T | None:
    """``thunk()`` within :func:`operation_budget`; None when either limit
    trips (any other isl error propagates)."""
    with operation_budget(ctx, operations, seconds):
        try:
            return thunk()
        except isl.Error:
            if over_budget(ctx):  # before the budget's end resets the count
                return None
            raise


def over_budget(ctx: isl.Context) -> bool:
    """Whether isl's operation or CPU-time limit has tripped (isl stops
    counting there: every later operation fails until the count is reset or
    the abort withdrawn)."""
    try:
        isl.Set("{ [0] }", context=ctx).is_empty()
    except isl.Error:
        return True
    return False


#: a map of more basic maps than this is coalesced in a forked child: isl's
#: coalescing crashed the process (a segmentation fault) on a random
#: program's dependence of 37 pieces (fuzz seed 9165027678); the PolyBench
#: and benchmark kernels' largest has 19
MAX_PIECES_IN_PROCESS = 32
#: CPU seconds a child may take to coalesce one map
COALESCE_SECONDS = 5.0


def coalesced(value: _C) -> _C:
    """``value.coalesce()``, or ``value`` itself where isl's coalescing fails
    (it is a simplification: "original tableau does not correspond to
    original basic map" on the dependences of fuzz seed 9131029833); a
    tripped operation budget still raises.  A union map is coalesced map by
    map, those of many pieces in a child process (:data:`MAX_PIECES_IN_PROCESS`)."""
    if isinstance(value, isl.UnionMap) and any(
            m.n_basic_map() > MAX_PIECES_IN_PROCESS for m in map_list(value)):
        result = isl.UnionMap.empty(value.get_space())
        for piece in map_list(value):
            result = result.union(isl.UnionMap.from_map(coalesced(piece)))
        return result
    if isinstance(value, isl.Map) and value.n_basic_map() > MAX_PIECES_IN_PROCESS:
        return _coalesced_in_child(value)
    try:
        return value.coalesce()
    except isl.Error:
        if over_budget(value.get_ctx()):
            raise
        return value


def _coalesced_in_child(value: isl.Map) -> isl.Map:
    """``value.coalesce()`` computed in a forked child, or ``value`` where
    the child failed, crashed or ran out of time."""
    from polytc.errors import PolytcInternalError
    from polytc.poly.child import in_child
    try:
        text = in_child(lambda: str(value.coalesce()), COALESCE_SECONDS, "coalescing a map")
    except PolytcInternalError:
        return value
    if text is None:
        return value
    return isl.Map.read_from_str(value.get_ctx(), text)


def map_list(union: isl.UnionMap) -> list[isl.Map]:
    """The maps of ``union``, one per space."""
    maps = union.get_map_list()
    return [maps.get_at(i) for i in range(maps.n_map())]


def set_list(union: isl.UnionSet) -> list[isl.Set]:
    """The sets of ``union``, one per space."""
    sets = union.get_set_list()
    return [sets.get_at(i) for i in range(sets.n_set())]


def condition_text(condition: isl.Set) -> str:
    """The constraints of a set of sizes as isl prints them (``N >= 5``,
    ``D > 0 or N = 0``); ``true`` for every size."""
    text = str(condition.coalesce())
    body = text[text.index("{") + 1:text.rindex("}")].strip()
    body = body[1:].strip() if body.startswith(":") else body
    return body or "true"


def affine_rows(relation: isl.Map) -> list[list[int]] | None:
    """Input-dimension coefficients of each output of a single-piece affine map."""
    if not relation.is_single_valued():
        return None
    function = isl.PwMultiAff.from_map(relation)
    if function.n_piece() != 1:
        return None
    pieces: list[isl.MultiAff] = []
    function.foreach_piece(lambda _set, piece: pieces.append(piece))
    n_in = relation.dim(isl.dim_type.in_)
    return [[pieces[0].get_at(out).get_coefficient_val(isl.dim_type.in_, d).to_python()
             for d in range(n_in)] for out in range(relation.dim(isl.dim_type.out))]
