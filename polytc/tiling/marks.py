"""Names of the schedule-tree marks the tiling pass leaves for code generation."""
from __future__ import annotations

from dataclasses import dataclass

PARALLEL = "parallel"  # above a band member emitted as ``omp parallel for``
UNEVEN = "uneven"  # with PARALLEL: static blocks would be uneven, ``schedule(dynamic, 1)``
SIMD = "simd"          # above an innermost parallel loop: ``omp simd``
PROMOTE = "promote"    # above a reduction loop: keep the accumulated block local
PACK_PREFIX = "pack:"  # below a cache tile band: copy these tensors' tiles contiguously
ISOLATE = "isolate"    # isl's AST option name for the full-block part of a band
REDUCE_PREFIX = "reduce:"  # above a loop run as a vector reduction of these statements
ARRAY_REDUCE_PREFIX = "reduce-array:"  # above a band whose outer loop runs in parallel
# with a private copy per thread of these tensors (``name=op``, comma-separated)


@dataclass(frozen=True)
class PackEntry:
    """A tensor a ``pack:`` mark names: the dimension its copy puts last
    (None: as it is) and the reads the copy serves, each as (statement,
    place among that statement's reads of the tensor); None: every read.
    As text: ``B``, ``W@0``, ``A@0/S1.1`` (syrk's ``A(j, k)``, where
    ``A(i, k)`` is read in place)."""

    tensor: str
    last: int | None = None
    reads: frozenset[tuple[str, int]] | None = None

    def text(self) -> str:
        served = "" if self.reads is None else \
            "".join(f"/{statement}.{place}" for statement, place in sorted(self.reads))
        return self.tensor + ("" if self.last is None else f"@{self.last}") + served

    @staticmethod
    def parse(text: str) -> PackEntry:
        head, *served = text.split("/")
        tensor, _, last = head.partition("@")
        reads = frozenset((statement, int(place)) for statement, _, place in
                          (entry.rpartition(".") for entry in served))
        return PackEntry(tensor, int(last) if last else None, reads if served else None)

    def serves(self, statement: str, place: int) -> bool:
        """Whether the copy serves that read of the tensor."""
        return self.reads is None or (statement, place) in self.reads


def pack_mark(entries: list[PackEntry]) -> str:
    """The name of a ``pack:`` mark of ``entries``."""
    return PACK_PREFIX + ",".join(entry.text() for entry in entries)


def pack_entries(name: str) -> list[PackEntry]:
    """The entries of a ``pack:`` mark's name."""
    return [PackEntry.parse(text) for text in name[len(PACK_PREFIX):].split(",") if text]
