"""Legality of a schedule, and of fusing statements, with explanations.

Input: a :class:`~polytc.program.Program` with domain ``D = ∪_S D_S``, its
dependences ``δ = flow ∪ anti ∪ output`` (source instance → target
instance, see :mod:`polytc.poly.dependences`), and a schedule ``θ`` (a tree,
a union map or their text; read by
:func:`polytc.poly.user_schedule.to_schedule`, which pads time vectors with
zeros to one length ``n`` and rejects a schedule that does not cover ``D``).

Contract of :func:`check`: ``θ`` is legal iff every dependence runs forward,

    ∀ (s → t) ∈ δ :  θ(s) ≺ θ(t)        (strict lexicographic order on Z^n).

For each kind and statement pair ``S → T`` the violated instance pairs are

    V = δ_{S→T} ∖ { s → t : θ_S(s) ≺ θ_T(t) }      (``θ_S.lex_lt_map(θ_T)``)

restricted to the program's context; each non-empty ``V`` is one
:class:`Violation`, with a witness: its lexicographically smallest parameter
values, then its smallest instance pair.

The tensor of a dependence is determined by its kind and statements: every
statement writes exactly one tensor, so a flow or output dependence is on the
tensor its source writes, an anti dependence on the tensor its target writes.

Contract of :func:`fusion_legality`: statements ``F`` (in textual order
``F_0, F_1, …``) can share their outer ``d`` loops iff the schedule

    θ(F_r[i_1 … i_m]) = [g, i_1 … i_d, r, i_{d+1} … i_m, 0 …]
    θ(S[i_1 … i_m])   = [p_S, i_1 … i_m, 0 …]            for S ∉ F

is legal, where ``g`` is the slot of the fused nest and ``p_S`` the slot of
the other statements: those before ``F_0`` or after the last member keep
their place, and a statement between members goes after the fused nest when
the dependence graph has a path to it from a member, before it otherwise
(the most permissive placement).  Fusion with loop shifting or permutation is
out of scope: such statements are reported not fusable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import islpy as isl

from polytc.errors import PolytcInternalError, ScheduleError
from polytc.poly.bands import FlagViolation, flag_violations
from polytc.poly.dependences import Dependences, _named, dependences
from polytc.poly.user_schedule import UserSchedule, padded, to_schedule
from polytc.program import Program, Statement

KINDS = ("flow", "anti", "output")


@dataclass(frozen=True, slots=True)
class Violation:
    """One dependence the schedule does not respect.

    :ivar kind: ``flow``, ``anti`` or ``output``.
    :ivar source, target: the statements the dependence runs between.
    :ivar tensor: the tensor whose accesses create it.
    :ivar dependence: the violated instance pairs ``source[…] -> target[…]``.
    :ivar witness: one of them, for fixed parameter values (a single pair).
    :ivar message: one sentence naming all of the above.
    :ivar band, member, claim: for a false band flag (the order itself is
        legal): the band's tree position, the member and the flag
        (``permutable`` or ``coincident``); None otherwise.
    """

    kind: str
    source: str
    target: str
    tensor: str
    dependence: isl.Map = field(compare=False)
    witness: isl.Map = field(compare=False)
    message: str
    band: tuple[int, ...] | None = None
    member: int | None = None
    claim: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class LegalityReport:
    """The verdict of :func:`check`: legal iff ``violations`` is empty."""

    legal: bool
    violations: tuple[Violation, ...] = ()

    def raise_if_illegal(self) -> None:
        """Raise :class:`IllegalScheduleError` listing the violations."""
        if not self.legal:
            raise IllegalScheduleError(self.violations)

    def __str__(self) -> str:
        if self.legal:
            return "legal schedule: every dependence runs forward"
        lines = [f"illegal schedule: {len(self.violations)} violated dependence(s)"]
        lines.extend(f"  - {v.message}" for v in self.violations)
        return "\n".join(lines)


class IllegalScheduleError(ScheduleError):
    """A schedule reverses (or runs at the same time) some dependent pair.

    :ivar violations: every violated dependence, as :class:`Violation` values.
    :ivar dependence, statements, witness: those of the first violation.
    :ivar band, member, claim: the first violation's false band flag, if any.
    """

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        first = violations[0]
        self.dependence = first.dependence
        self.statements = (first.source, first.target)
        self.witness = first.witness
        self.band, self.member, self.claim = first.band, first.member, first.claim
        super().__init__(str(LegalityReport(False, violations)))


@dataclass(frozen=True, slots=True)
class FusionVerdict:
    """The verdict of :func:`fusion_legality`.

    :ivar fusable: whether ``statements`` can share their outer ``depth`` loops.
    :ivar reason: one sentence; when not fusable it names the dependence
        (kind, tensor, statements, an instance pair) that forbids it.
    :ivar violations: what :func:`check` found for the fused schedule.
    :ivar schedule: the fused candidate schedule that was checked.
    """

    fusable: bool
    depth: int
    statements: tuple[str, ...]
    reason: str
    violations: tuple[Violation, ...] = ()
    schedule: isl.UnionMap | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.reason


# -- check ------------------------------------------------------------------
def check(program: Program, schedule: UserSchedule,
          deps: Dependences | None = None) -> LegalityReport:
    """Whether ``schedule`` runs every dependence of ``program`` forward
    (``deps``, when given, must be ``dependences(program)``)."""
    deps = dependences(program) if deps is None else deps
    tree = to_schedule(program, schedule)
    times = _statement_times(program, tree)
    violations = []
    for kind in KINDS:
        for dep in _maps(getattr(deps, kind)):
            violation = _violation(program, kind, dep, times)
            if violation is not None:
                violations.append(violation)
    if not violations:  # the order is legal: are the bands what they claim?
        violations = [_flag_violation(program, flag, deps)
                      for flag in flag_violations(tree, deps.all)]
    return LegalityReport(not violations, tuple(violations))


def _flag_violation(program: Program, flag: FlagViolation, deps: Dependences) -> Violation:
    """The first dependence kind and statement pair behind ``flag``, with a
    witness pair and the distance along the member."""
    for kind in KINDS:
        for dep in _maps(getattr(deps, kind).intersect(flag.pairs)):
            dep = dep.intersect_params(program.context)
            if dep.is_empty():
                continue
            source = dep.get_tuple_name(isl.dim_type.in_)
            target = dep.get_tuple_name(isl.dim_type.out)
            tensor = _tensor(program, kind, source, target)
            witness = _witness(dep.coalesce())
            point = witness.wrap().sample_point()
            src, dst = _instances(program, witness, point)
            params = _param_text(program, point)
            values = {m.get_tuple_name(isl.dim_type.in_): m for m in _maps(flag.values)}
            distance = _value_at(witness.range(), values) - _value_at(witness.domain(), values)
            where = ".".join(map(str, flag.path)) or "the root"
            message = (f"the band at tree position {where} claims its member {flag.member} "
                       f"({_member_text(values, (source, target))}) is {flag.claim}, but the "
                       f"{kind} dependence on {tensor} from {src} to {dst}{params} has "
                       f"distance {distance} along it")
            return Violation(kind, source, target, tensor, dep, witness, message,
                             flag.path, flag.member, flag.claim)
    raise PolytcInternalError("checking band flags", "no dependence behind a false flag")


def _value_at(instance: isl.Set, values: dict[str, isl.Map]) -> int:
    point = instance.apply(values[instance.get_tuple_name()]).sample_point()
    return int(point.get_coordinate_val(isl.dim_type.set, 0).to_python())


def _member_text(values: dict[str, isl.Map], statements: tuple[str, ...]) -> str:
    """The member's schedule of ``statements``, without domain constraints."""
    texts = []
    for name in dict.fromkeys(statements):
        relation = values[name]
        texts.append(str(relation.gist_domain(relation.domain())).split("->", 1)[-1].strip()
                     if relation.dim(isl.dim_type.param) else str(relation))
    return "; ".join(texts)


def respects(program: Program, schedule: UserSchedule, deps: isl.UnionMap) -> bool:
    """Whether ``schedule`` runs every dependence in ``deps`` forward (the
    quick form of :func:`check`, for passes that try a transformation)."""
    times = _statement_times(program, schedule)
    return all(_backward(program, dep, times).is_empty() for dep in _maps(deps))


def _statement_times(program: Program, schedule: UserSchedule) -> dict[str, isl.Map]:
    """``θ_S`` for every statement ``S``: instances of ``D_S`` → padded time."""
    tree = to_schedule(program, schedule)
    try:
        schedule_map = padded(tree.get_map())
    except isl.Error as error:
        raise ScheduleError(f"isl could not flatten the schedule tree into a map: {error}") \
            from None
    return {m.get_tuple_name(isl.dim_type.in_): m for m in _maps(schedule_map)}


def _violation(program: Program, kind: str, dep: isl.Map,
               times: dict[str, isl.Map]) -> Violation | None:
    source = dep.get_tuple_name(isl.dim_type.in_)
    target = dep.get_tuple_name(isl.dim_type.out)
    violated = _backward(program, dep, times).coalesce()
    if violated.is_empty():
        return None
    tensor = _tensor(program, kind, source, target)
    witness = _witness(violated)
    message = _message(program, kind, tensor, witness, times)
    return Violation(kind, source, target, tensor, violated, witness, message)


def _backward(program: Program, dep: isl.Map, times: dict[str, isl.Map]) -> isl.Map:
    """The instance pairs of ``dep`` that ``times`` does not run forward."""
    source = dep.get_tuple_name(isl.dim_type.in_)
    target = dep.get_tuple_name(isl.dim_type.out)
    forward = times[source].lex_lt_map(times[target])
    return dep.intersect_params(program.context).subtract(forward)


def _tensor(program: Program, kind: str, source: str, target: str) -> str:
    writer = target if kind == "anti" else source
    return program.statement(writer).tensor


def _witness(violated: isl.Map) -> isl.Map:
    """A single pair of ``violated``: smallest parameters, then smallest pair."""
    params = violated.params()
    n = params.dim(isl.dim_type.param)
    values = _smallest(params.move_dims(isl.dim_type.set, 0, isl.dim_type.param, 0, n))
    fixed = violated
    for position in range(n):
        value = values.get_coordinate_val(isl.dim_type.set, position)
        fixed = fixed.fix_val(isl.dim_type.param, position, value)
    pair = _smallest(fixed.wrap())
    return isl.Set.from_point(pair).unwrap()


def _smallest(points: isl.Set) -> isl.Point:
    """The lexicographic minimum of ``points``, or any point when the set is
    unbounded below."""
    try:
        return points.lexmin().sample_point()
    except isl.Error:
        return points.sample_point()


def _message(program: Program, kind: str, tensor: str, witness: isl.Map,
             times: dict[str, isl.Map]) -> str:
    point = witness.wrap().sample_point()
    source, target = _instances(program, witness, point)
    params = _param_text(program, point)
    source_time = _time_at(witness.domain(), times)
    target_time = _time_at(witness.range(), times)
    head = f"{kind} dependence on {tensor} from {source} to {target}{params}"
    if source_time == target_time:
        return (f"{head} is not ordered: the schedule runs source and target at the "
                f"same time {source_time}")
    return (f"{head} is reversed: the schedule runs the target first "
            f"(at {target_time}, the source at {source_time})")


def _instances(program: Program, witness: isl.Map, point: isl.Point) -> tuple[str, str]:
    source = program.statement(witness.get_tuple_name(isl.dim_type.in_))
    target = program.statement(witness.get_tuple_name(isl.dim_type.out))
    values = [int(point.get_coordinate_val(isl.dim_type.set, i).to_python())
              for i in range(len(source.iterators) + len(target.iterators))]
    split = len(source.iterators)
    return _instance(source, values[:split]), _instance(target, values[split:])


def _instance(statement: Statement, values: Sequence[int]) -> str:
    coordinates = ", ".join(f"{it}={v}" for it, v in zip(statement.iterators, values))
    return f"{statement.name}[{coordinates}]"


def _param_text(program: Program, point: isl.Point) -> str:
    space = point.get_space()
    pairs = []
    for i in range(space.dim(isl.dim_type.param)):
        value = point.get_coordinate_val(isl.dim_type.param, i).to_python()
        pairs.append((str(space.get_dim_name(isl.dim_type.param, i)), int(value)))
    order = {name: k for k, name in enumerate(program.params)}
    pairs.sort(key=lambda pair: order.get(pair[0], len(order)))
    return f" ({', '.join(f'{n}={v}' for n, v in pairs)})" if pairs else ""


def _time_at(instance: isl.Set, times: dict[str, isl.Map]) -> str:
    time = instance.apply(times[instance.get_tuple_name()]).sample_point()
    n = time.get_space().dim(isl.dim_type.set)
    values = [str(time.get_coordinate_val(isl.dim_type.set, i).to_python()) for i in range(n)]
    return f"[{', '.join(values)}]"


# -- fusion -----------------------------------------------------------------
def fusion_legality(program: Program, statements: Sequence[str], depth: int,
                    deps: Dependences | None = None) -> FusionVerdict:
    """Whether ``statements`` can share their outer ``depth`` loops, keeping
    each one's loop order and without shifting (the module docstring gives
    the candidate schedule this checks)."""
    group = _fusion_group(program, statements, depth)
    deps = dependences(program) if deps is None else deps
    candidate = _fused_schedule(program, group, depth, deps)
    report = check(program, candidate, deps)
    names = tuple(s.name for s in group)
    loops = _loops_text(group[0], depth)
    if report.legal:
        reason = f"{_names_text(names)} can share their outer {loops} without shifting"
        return FusionVerdict(True, depth, names, reason, (), candidate)
    reason = (f"{_names_text(names)} cannot share their outer {loops} without shifting: "
              f"{report.violations[0].message}")
    return FusionVerdict(False, depth, names, reason, report.violations, candidate)


def _fusion_group(program: Program, statements: Sequence[str],
                  depth: int) -> list[Statement]:
    """The named statements in textual order, after checking the request."""
    known = {s.name for s in program.statements}
    unknown = [name for name in statements if name not in known]
    if unknown:
        raise ScheduleError(f"cannot check fusion of {', '.join(unknown)}: program "
                            f"{program.name} has statements {', '.join(sorted(known))}")
    if not statements or len(set(statements)) != len(statements):
        raise ScheduleError(f"fusion needs distinct statement names, got {list(statements)}")
    if depth < 0:
        raise ScheduleError(f"fusion depth must be at least 0, got {depth}")
    group = [s for s in program.statements if s.name in set(statements)]
    for statement in group:
        if len(statement.iterators) < depth:
            raise ScheduleError(
                f"cannot fuse {depth} loops: statement {statement.name} has only "
                f"{len(statement.iterators)} ({', '.join(statement.iterators) or 'none'})")
    return group


def _fused_schedule(program: Program, group: list[Statement], depth: int,
                    deps: Dependences) -> isl.UnionMap:
    slots = _slots(program, group, deps)
    ranks = {s.name: r for r, s in enumerate(group)}
    result = isl.UnionMap.empty(program.context.get_space())
    for statement in program.statements:
        its = [f"x{k}" for k in range(len(statement.iterators))]  # isl reads 'and', 'mod'...
        if statement.name in ranks:
            terms = [str(slots[statement.name])] + its[:depth] + \
                [str(ranks[statement.name])] + its[depth:]
        else:
            terms = [str(slots[statement.name])] + its
        text = f"{{ {statement.name}[{', '.join(its)}] -> [{', '.join(terms)}] }}"
        result = result.union(isl.UnionMap.from_map(_named(isl.Map(text), statement)))
    return padded(result)


def _slots(program: Program, group: list[Statement], deps: Dependences) -> dict[str, int]:
    """The outer (scalar) slot of every statement: the fused group shares one;
    a statement between members goes after it iff a member reaches it."""
    names = [s.name for s in program.statements]
    members = {s.name for s in group}
    first, last = names.index(group[0].name), names.index(group[-1].name)
    reached = _reached(names, members, deps)
    before = names[:first] + [n for n in names[first:last + 1]
                              if n not in members and n not in reached]
    after = [n for n in names[first:last + 1] if n in reached and n not in members] + \
        names[last + 1:]
    slots = {name: k for k, name in enumerate(before)}
    slots.update({name: len(before) for name in members})
    slots.update({name: len(before) + 1 + k for k, name in enumerate(after)})
    return slots


def _reached(names: list[str], members: set[str], deps: Dependences) -> set[str]:
    """Statements a dependence path from a member reaches (members excluded
    unless reached through others); dependences run forward in text order."""
    edges = {(m.get_tuple_name(isl.dim_type.in_), m.get_tuple_name(isl.dim_type.out))
             for m in _maps(deps.all)}
    reached: set[str] = set()
    for name in names:
        if any((src, name) in edges for src in members | reached):
            reached.add(name)
    return reached - members


def _loops_text(statement: Statement, depth: int) -> str:
    if depth == 0:
        return "0 loops"
    loops = ", ".join(statement.iterators[:depth])
    return f"{depth} loop{'s' if depth > 1 else ''} ({loops} of {statement.name})"


def _names_text(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _maps(union: isl.UnionMap) -> list[isl.Map]:
    maps = union.get_map_list()
    return [maps.get_at(i) for i in range(maps.n_map())]
