"""The search space of a tuning study: :class:`polytc.Options` as Optuna parameters.

Parameters (every study of one kernel and size uses the same space):

=============  =========================================================  ==================
name           values                                                     option
=============  =========================================================  ==================
scheduler      pluto, isl                                                 ``scheduler``
fuse           smart, max, none (programs of several statements only)    ``fuse``
tiling         auto (the cache model), none, 1 or 2 levels               ``tile``
t1_m, t2_m     a tile size per band member ``m`` and level (1 outermost)  ``tile``
unroll         auto, none, block                                          ``unroll``
rows, width    register block rows, vector-loop width (block only)       ``unroll``
pack           copy vector tiles contiguously                             ``pack``
vectorize      ``omp simd`` loops                                         ``vectorize``
parallel       OpenMP loops (when tuning for several threads)            ``parallel``
=============  =========================================================  ==================

A tile tuple lists the members of every tiled band in the scheduler's order
(see :meth:`polytc.tiling.transform._TilingPass.cache_sizes`), so member
``m`` is taken to run over each statement's ``m``-th iterator when the
footprint of a tile is estimated.  :meth:`SearchSpace.skip_reason` refuses,
without compiling, configurations that cannot fit: a register block with
more accumulators than vector registers (less a reserve of 4), an inner tile
larger than its outer tile, an innermost tile whose estimated footprint
exceeds the L2 cache, or an outer tile exceeding the L3 cache.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import islpy as isl

from polytc import dtypes
from polytc.program import Binary, Call, Program, walk
from polytc.tiling.model import data_cache_sizes, vector_registers

TILES = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
         3072, 4096)
ROWS = (1, 2, 3, 4, 6, 8, 12, 16)
RESERVED_REGISTERS = 4
DEFAULT_PARAMS: dict[str, Any] = {"scheduler": "pluto", "fuse": "smart", "tiling": "auto",
                                  "unroll": "auto", "pack": True, "vectorize": True,
                                  "parallel": True}
#: an access's footprint model: (tensor, element bytes, per tensor dim the
#: |coefficient| of each statement iterator, or None when not affine)
_Access = tuple[str, int, tuple[tuple[int, ...], ...] | None]


@dataclass(frozen=True)
class _Statement:
    extents: tuple[int, ...]
    accesses: tuple[_Access, ...]
    operations: int  # arithmetic operations per instance


@dataclass(frozen=True)
class SearchSpace:
    """The space of one kernel at fixed sizes (see the module docstring)."""

    members: int
    tiles: tuple[int, ...]
    widths: tuple[int, ...]
    fusion: bool
    parallel: bool
    registers: int
    lanes: int
    caches: tuple[tuple[int, int], ...]
    statements: tuple[_Statement, ...]

    @staticmethod
    def of(program: Program, sizes: dict[str, int], threads: int) -> "SearchSpace":
        """The space of ``program`` (lowered, parametric) at ``sizes``."""
        compute = [s for s in program.statements if s.kind == "compute"]
        element = max((max(1, dtypes.bits(t.dtype) // 8) for t in program.tensors
                       if t.role != "input"), default=4)
        count, width = vector_registers()
        lanes = max(1, width // element)
        largest = max([1, *sizes.values()])
        tiles = tuple(t for t in TILES if t <= max(largest, 1)) or (1,)
        statements = tuple(_statement(program, s, sizes) for s in compute)
        return SearchSpace(
            members=max((len(s.iterators) for s in compute), default=1), tiles=tiles,
            widths=(lanes, 2 * lanes, 3 * lanes, 4 * lanes), fusion=len(compute) > 1,
            parallel=threads > 1, registers=count, lanes=lanes,
            caches=tuple(sorted(data_cache_sizes().items())), statements=statements)

    def digest(self) -> str:
        """A hash of the parameters and their choices."""
        data = [self.members, self.tiles, self.widths, self.fusion, self.parallel]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:12]

    # -- Optuna ------------------------------------------------------------
    def suggest(self, trial: Any) -> dict[str, Any]:
        """The parameters of ``trial`` (an ``optuna.Trial``), asked in order."""
        params: dict[str, Any] = {"scheduler": trial.suggest_categorical("scheduler",
                                                                         ["pluto", "isl"])}
        if self.fusion:
            params["fuse"] = trial.suggest_categorical("fuse", ["smart", "max", "none"])
        params["tiling"] = trial.suggest_categorical("tiling", ["auto", "none", "1", "2"])
        levels = int(params["tiling"]) if params["tiling"].isdigit() else 0
        for level in range(1, levels + 1):
            for m in range(self.members):
                params[f"t{level}_{m}"] = trial.suggest_categorical(f"t{level}_{m}",
                                                                    list(self.tiles))
        params["unroll"] = trial.suggest_categorical("unroll", ["auto", "none", "block"])
        if params["unroll"] == "block":
            params["rows"] = trial.suggest_categorical("rows", list(ROWS))
            params["width"] = trial.suggest_categorical("width", list(self.widths))
        params["pack"] = trial.suggest_categorical("pack", [True, False])
        params["vectorize"] = trial.suggest_categorical("vectorize", [True, False])
        if self.parallel:
            params["parallel"] = trial.suggest_categorical("parallel", [True, False])
        return params

    def default_params(self) -> dict[str, Any]:
        """The parameters of the default options (every study's first trial)."""
        return {name: value for name, value in DEFAULT_PARAMS.items()
                if (name != "fuse" or self.fusion) and (name != "parallel" or self.parallel)}

    def seed_params(self) -> list[dict[str, Any]]:
        """The first trials of every study: the default options, then each
        of them changed alone (no cache tiles, no register blocks, no copies,
        isl's scheduler, each other fusion policy, no ``simd``), in that
        order.  One option off often wins alone (a row sum with isl's
        scheduler and no register blocks, 1.3x; gemm 1024^3 without cache
        tiles), and 60 trials of TPE over the whole space found such a
        configuration in one suite run and missed it in the next."""
        default = self.default_params()
        changes: list[dict[str, Any]] = [{"tiling": "none"}, {"unroll": "none"},
                                         {"pack": False}, {"scheduler": "isl"}]
        if self.fusion:
            changes += [{"fuse": "max"}, {"fuse": "none"}]
        changes.append({"vectorize": False})
        return [default] + [{**default, **change} for change in changes]

    def options(self, params: dict[str, Any]) -> dict[str, Any]:
        """The :func:`polytc.compile` transformation options of ``params``."""
        options: dict[str, Any] = {"scheduler": params["scheduler"],
                                   "fuse": params.get("fuse", "smart"),
                                   "pack": params["pack"], "vectorize": params["vectorize"],
                                   "parallel": params.get("parallel", True)}
        tiling = params["tiling"]
        if tiling in ("auto", "none"):
            options["tile"] = None if tiling == "none" else "auto"
        else:
            options["tile"] = [tuple(params[f"t{level}_{m}"] for m in range(self.members))
                               for level in range(1, int(tiling) + 1)]
        unroll = params["unroll"]
        options["unroll"] = {"auto": "auto", "none": None}.get(unroll) if unroll != "block" \
            else (params["rows"], params["width"])
        return options

    # -- what cannot fit ---------------------------------------------------
    def skip_reason(self, params: dict[str, Any]) -> str | None:
        """Why ``params`` cannot fit registers or caches (None when it may)."""
        if params["unroll"] == "block":
            accumulators = params["rows"] * math.ceil(params["width"] / self.lanes)
            if accumulators > self.registers - RESERVED_REGISTERS:
                return f"registers: {accumulators} accumulators > " \
                       f"{self.registers - RESERVED_REGISTERS}"
        if not params["tiling"].isdigit():
            return None
        levels = [tuple(params[f"t{level}_{m}"] for m in range(self.members))
                  for level in range(1, int(params["tiling"]) + 1)]
        if len(levels) == 2 and any(i > o for o, i in zip(*levels)):
            return "tiles: an inner tile is larger than its outer tile"
        caches = dict(self.caches)
        checks = [(levels[-1], 2, caches.get(2))]
        if len(levels) == 2:
            checks.append((levels[0], 3, caches.get(3)))
        for sizes, level, capacity in checks:
            need = self.footprint(sizes)
            if capacity and need > capacity:
                return f"cache: a level-{len(levels) if level == 2 else 1} tile needs " \
                       f"~{need // 1024} KiB > L{level} {capacity // 1024} KiB"
        return None

    def flops(self) -> float:
        """Arithmetic operations of one run (instances from the domains' boxes)."""
        return float(sum(s.operations * math.prod(s.extents) for s in self.statements))

    def footprint(self, tile: tuple[int, ...]) -> int:
        """Estimated bytes one tile of sizes ``tile`` touches (the largest
        over statements)."""
        best = 0
        for statement in self.statements:
            spans = [min(t, e) - 1 for t, e in zip(tile, statement.extents)]
            spans += [e - 1 for e in statement.extents[len(spans):]]
            total, seen = 0, set()
            for tensor, element, rows in statement.accesses:
                if rows is None or (tensor, rows) in seen:
                    continue
                seen.add((tensor, rows))
                elements = 1
                for row in rows:
                    elements *= 1 + sum(c * s for c, s in zip(row, spans))
                total += elements * element
            best = max(best, total)
        return best


def _statement(program: Program, statement: Any, sizes: dict[str, int]) -> _Statement:
    domain = _fixed(statement.domain, sizes)
    extents = []
    for position in range(domain.dim(isl.dim_type.set)):
        try:
            low = domain.dim_min_val(position).to_python()
            high = domain.dim_max_val(position).to_python()
            extents.append(max(1, int(high) - int(low) + 1))
        except (isl.Error, TypeError, ValueError):
            extents.append(max([1, *sizes.values()]))
    accesses = [(statement.tensor, statement.write)]
    accesses += [(read.tensor, read.access) for read in statement.reads]
    models: list[_Access] = []
    for tensor, access in accesses:
        element = max(1, dtypes.bits(program.tensor(tensor).dtype) // 8)
        models.append((tensor, element, _coefficients(access)))
    operations = sum(isinstance(node, (Binary, Call)) for node in walk(statement.body))
    return _Statement(tuple(extents), tuple(models), operations + (statement.op != "="))


def _fixed(domain: isl.Set, sizes: dict[str, int]) -> isl.Set:
    for name, value in sizes.items():
        position = domain.find_dim_by_name(isl.dim_type.param, name)
        if position >= 0:
            domain = domain.fix_val(isl.dim_type.param, position,
                                    isl.Val.int_from_si(domain.get_ctx(), value))
    return domain


def _coefficients(access: Any) -> tuple[tuple[int, ...], ...] | None:
    """|coefficient| of each input dimension in each output dimension of an
    affine access map, or None."""
    try:
        pieces: list[isl.MultiAff] = []
        isl.PwMultiAff.from_map(access).foreach_piece(lambda _, piece: pieces.append(piece))
        if len(pieces) != 1:
            return None
        multi = pieces[0]
        n_in = multi.dim(isl.dim_type.in_)
        return tuple(tuple(abs(int(multi.get_at(d).get_coefficient_val(isl.dim_type.in_, i)
                                   .to_python())) for i in range(n_in))
                     for d in range(multi.dim(isl.dim_type.out)))
    except (isl.Error, TypeError, ValueError, AttributeError):
        return None
