"""Names of the schedule-tree marks the tiling pass leaves for code generation."""
from __future__ import annotations

PARALLEL = "parallel"  # above a band member emitted as ``omp parallel for``
UNEVEN = "uneven"  # with PARALLEL: static blocks would be uneven, ``schedule(dynamic, 1)``
SIMD = "simd"          # above an innermost parallel loop: ``omp simd``
PROMOTE = "promote"    # above a reduction loop: keep the accumulated block local
PACK_PREFIX = "pack:"  # below a cache tile band: copy these tensors' tiles contiguously
ISOLATE = "isolate"    # isl's AST option name for the full-block part of a band
REDUCE_PREFIX = "reduce:"  # above a loop run as a vector reduction of these statements
ARRAY_REDUCE_PREFIX = "reduce-array:"  # above a band whose outer loop runs in parallel
# with a private copy per thread of these tensors (``name=op``, comma-separated)
