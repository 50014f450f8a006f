"""Written scalars privatised (work in progress)."""
from __future__ import annotations

from polytc.frontend.c.parse import Region, Unit
from polytc.program import Program


def privatise(program: Program, unit: Unit, region: Region) -> Program:
    return program
