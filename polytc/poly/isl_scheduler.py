"""isl's own scheduler as polytc's second opinion.

Input: a :class:`~polytc.program.Program` with domains ``D_S`` and its
:class:`~polytc.poly.dependences.Dependences` ``flow``, ``anti``, ``output``.
Output: an ``isl.Schedule`` tree ``theta`` computed by
``isl_schedule_constraints_compute_schedule`` such that

* **validity** — for every dependence ``s -> t`` in ``flow ∪ anti ∪ output``,
  ``theta(s) <<_lex theta(t)``;
* **coincidence** — the same union; a band member is flagged ``coincident``
  when every such dependence not carried by an outer row has distance 0 along
  it, i.e. the loop is parallel (codegen turns the outermost one into
  ``omp parallel for``).  isl tries coincidence first for each row and drops it
  for a row where it cannot be had (``schedule_outer_coincidence`` is off);
* **proximity** — what isl's objective keeps short.  The default is the flow
  (read-after-write) dependences alone: they are where values are reused.
  Anti and output dependences of a reduction (``S[k] -> S[k'] : k < k'``)
  have distances up to the trip count, so as proximity they force a
  parametric bound that drowns the real reuse (under isl's default
  clustering they cut two chained matmuls' shared band from ``m, n`` to
  ``m``; under the ``smart`` policy below both choices agree on our tests).
  ``proximity="flow+rar"`` adds read-after-read pairs *between different
  statements* (input reuse), which lets isl fuse sibling consumers of one
  tensor; ``"all"`` uses the validity union.

Fusion policies map to isl options (isl 0.26 manual, "Scheduling"):

========  ==================================================================
``none``  ``schedule_serialize_sccs=1``: every strongly connected component
          of the dependence graph is scheduled on its own and the SCCs are
          put in a sequence in topological order (Pluto's nofuse).
``smart`` isl's incremental clustering (``schedule_whole_component=0``, the
          isl default) with ``schedule_maximize_coincidence=1``: SCCs are
          scheduled alone first, then clusters are merged along proximity
          edges only when the merged band has at least as many leading
          coincident (parallel) members as the most parallel of the merged
          clusters (isl's ``ok_to_merge_coincident``).  So a consumer fuses into its
          producer's outer parallel loops (matmul + bias + relu share
          ``i, n``) but a stencil pair that could only fuse with a shift,
          losing parallelism, stays distributed.  Plain isl defaults (no
          ``maximize_coincidence``) merge more eagerly and trade parallel
          loops for fusion (softmax's ``e(n, d)`` loses its parallel ``d``);
          use ``isl_options={"schedule_maximize_coincidence": 0}`` for that.
``max``   ``schedule_whole_component=1``: each weakly connected component is
          scheduled as a whole, Pluto-style, so statements stay fused as
          long as a common band exists (with shifts such as ``2D + d`` and at
          the cost of coincident members).
========  ==================================================================

isl's options live on the (shared) ``isl.Context``; they are set for the
call and restored afterwards, so the context is unchanged on return — which
also means calls on one context must not run concurrently.  isl's work is
bounded by ``max_operations``, and the limit and counter are always reset.
Schedule coefficients are bounded by 10 (isl's ``schedule_max_coefficient``;
isl leaves them unbounded): parts of isl's search do not count operations,
and unbounded they ran for minutes.  Those parts are bounded in time too:
isl schedules in a forked child given :data:`SECONDS` (fuzz seed 777002500
ran for minutes with both bounds above).  When isl exceeds either bound, the
schedule follows the program's original order
(:func:`~polytc.poly.identity.identity_schedule`, always legal) and a
:class:`~polytc.errors.SchedulerFallbackWarning` says so.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import islpy as isl

from polytc.errors import OptionError, PolytcInternalError, SchedulerFallbackWarning
from polytc.isl_util import operation_budget
from polytc.poly.child import in_child
from polytc.poly.dependences import Dependences, original_order
from polytc.poly.identity import identity_schedule
from polytc.program import Program

FUSION_POLICIES = ("none", "smart", "max")
PROXIMITY_CHOICES = ("flow", "flow+rar", "all")
DEFAULT_MAX_OPERATIONS = 2_000_000
#: wall-clock seconds isl's scheduler may take (see the module docstring)
SECONDS = 15.0

# Every option a policy touches is pinned, so the result does not depend on
# what someone else left on the shared context.
_POLICY_OPTIONS: dict[str, dict[str, int]] = {
    "none": {"schedule_serialize_sccs": 1, "schedule_whole_component": 0,
             "schedule_maximize_coincidence": 0},
    "smart": {"schedule_serialize_sccs": 0, "schedule_whole_component": 0,
              "schedule_maximize_coincidence": 1},
    "max": {"schedule_serialize_sccs": 0, "schedule_whole_component": 1,
            "schedule_maximize_coincidence": 0},
}
# isl's own defaults for the remaining scheduler options (isl 0.26), but one.
_PINNED_DEFAULTS: dict[str, int] = {
    "schedule_algorithm": 0,
    "schedule_outer_coincidence": 0,
    "schedule_maximize_band_depth": 0,
    "schedule_separate_components": 1,
    "schedule_carry_self_first": 1,
    "schedule_split_scaled": 1,
    "schedule_treat_coalescing": 1,
    # not isl's default (-1, unbounded): with it isl's ILP ran for minutes
    # on fuzz seed 20240856 (fuse=max) without counting operations; 10 -> 7 s
    "schedule_max_coefficient": 10,
    "schedule_max_constant_term": -1,
}
ISL_OPTIONS = tuple(sorted({*_PINNED_DEFAULTS, *_POLICY_OPTIONS["smart"]}))


def isl_schedule(program: Program, deps: Dependences, *, fuse: str = "smart",
                 proximity: str = "flow", max_operations: int = DEFAULT_MAX_OPERATIONS,
                 isl_options: Mapping[str, int] | None = None) -> isl.Schedule:
    """isl's schedule of ``program`` under ``deps`` (see the module docstring).

    :arg fuse: ``"none"``, ``"smart"`` or ``"max"``.
    :arg proximity: ``"flow"``, ``"flow+rar"`` or ``"all"``.
    :arg max_operations: isl's operation budget for the computation
        (``0`` means unbounded).
    :arg isl_options: overrides of isl scheduler options by name
        (``ISL_OPTIONS``), applied after the policy's.
    :raises OptionError: an unknown policy, proximity or option name.
    """
    options = _options(fuse, isl_options)
    ctx = program.context.get_ctx()
    try:
        constraints = _constraints(program, deps, _proximity(program, deps, proximity))
    except isl.Error as error:
        raise PolytcInternalError("computing isl's schedule", str(error)) from error

    def compute() -> str:
        try:
            return json.dumps({"schedule": str(constraints.compute_schedule())})
        except isl.Error as error:
            return json.dumps({"error": str(error)})
    with _isl_options(ctx, options), operation_budget(ctx, max_operations):
        text = in_child(compute, SECONDS, "computing isl's schedule")
    if text is None:
        return _fallback(program, deps, f"isl's scheduler took more than {SECONDS:.0f} s "
                         "(scheduler='pluto' may do better)")
    result = json.loads(text)
    if "error" in result:
        if max_operations > 0 and "maximal number of operations" in result["error"]:
            return _fallback(program, deps, f"isl's scheduler exceeded its operation budget "
                             f"(max_operations={max_operations}, fuse={fuse!r}: raise it, or "
                             "use scheduler='pluto')")
        if "unable to carry dependences" in result["error"]:  # bounded coefficients: no row
            return _fallback(program, deps, "isl's scheduler found no schedule within its "
                             f"coefficient bound (fuse={fuse!r}: scheduler='pluto' may do better)")
        raise PolytcInternalError("computing isl's schedule", result["error"])
    try:
        return isl.Schedule.read_from_str(ctx, result["schedule"])
    except isl.Error as error:  # pragma: no cover - isl reads what it printed
        raise PolytcInternalError("reading isl's schedule back", str(error)) from error


def _fallback(program: Program, deps: Dependences, reason: str) -> isl.Schedule:
    warnings.warn(SchedulerFallbackWarning(
        f"[{SchedulerFallbackWarning.id}] {reason}; the kernel follows the program's original "
        "order"), stacklevel=3)
    return identity_schedule(program, deps)


def _options(fuse: str, overrides: Mapping[str, int] | None) -> dict[str, int]:
    if fuse not in FUSION_POLICIES:
        raise OptionError(f"fusion policy {fuse!r} is not one of {', '.join(FUSION_POLICIES)}")
    options = {**_PINNED_DEFAULTS, **_POLICY_OPTIONS[fuse]}
    for name, value in (overrides or {}).items():
        if name not in ISL_OPTIONS:
            raise OptionError(f"isl scheduler option {name!r} is not one of "
                              f"{', '.join(ISL_OPTIONS)}")
        options[name] = int(value)
    return options


def _constraints(program: Program, deps: Dependences,
                 proximity: isl.UnionMap) -> isl.ScheduleConstraints:
    """validity = coincidence = flow ∪ anti ∪ output, on the program's domain."""
    dependences = deps.all
    return (isl.ScheduleConstraints.on_domain(program.domain())
            .set_context(program.context)
            .set_validity(dependences)
            .set_coincidence(dependences)
            .set_proximity(proximity))


def _proximity(program: Program, deps: Dependences, choice: str) -> isl.UnionMap:
    if choice == "flow":
        return deps.flow
    if choice == "all":
        return deps.all
    if choice == "flow+rar":
        return deps.flow.union(read_after_read(program)).coalesce()
    raise OptionError(f"proximity {choice!r} is not one of {', '.join(PROXIMITY_CHOICES)}")


def read_after_read(program: Program) -> isl.UnionMap:
    """``{ s -> t : s, t read one element, s before t in textual order, and
    s, t are instances of different statements }`` — input reuse."""
    reads = program.reads()
    pairs = reads.apply_range(reads.reverse())
    order = original_order(program)
    pairs = pairs.intersect(order.lex_lt_union_map(order))
    different = isl.UnionMap.empty(program.context.get_space())
    for source in program.statements:
        for target in program.statements:
            if source.name != target.name:
                universe = isl.Map.from_domain_and_range(source.domain, target.domain)
                different = different.union(isl.UnionMap.from_map(universe))
    return pairs.intersect(different).coalesce()


@contextmanager
def _isl_options(ctx: isl.Context, options: Mapping[str, int]) -> Iterator[None]:
    """Set isl scheduler ``options`` on ``ctx`` and restore them afterwards."""
    saved = {name: int(getattr(ctx, f"get_{name}")()) for name in options}
    try:
        for name, value in options.items():
            getattr(ctx, f"set_{name}")(value)
        yield
    finally:
        for name, value in saved.items():
            getattr(ctx, f"set_{name}")(value)
