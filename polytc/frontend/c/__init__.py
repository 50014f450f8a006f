"""The C frontend: ``#pragma scop`` regions of C to :class:`~polytc.program.Program`.

``preprocess`` (the C preprocessor with polytc's stub headers) -> ``parse``
(pycparser; regions; located diagnostics) -> ``extract`` (domains, original
order) and ``values`` (statement bodies, accesses) -> ``lower`` (the
program) -> ``scalars`` (written scalars privatised where legal).  The
program is the same kind the TC frontend produces: everything after it is
shared.
"""
from __future__ import annotations

import os
from typing import Sequence

from polytc.errors import CDiagnostic, CFrontendError
from polytc.frontend.c.lower import lower_region
from polytc.frontend.c.parse import Region, Unit, parse, regions, whole_body
from polytc.frontend.c.preprocess import CSource, flags, preprocess, read_source
from polytc.frontend.c.scalars import privatise
from polytc.program import Program

__all__ = ["parse_c", "programs", "read_unit", "select_regions", "region_program",
           "Unit", "Region"]


def read_unit(source: CSource, *, defines: Sequence[str] = (),
              include_dirs: Sequence[str | os.PathLike[str]] = (),
              filename: str | None = None) -> Unit:
    """Preprocess and parse ``source`` (C text or a path)."""
    text = read_source(source, filename)
    return parse(preprocess(text, flags(defines, include_dirs)))


def select_regions(unit: Unit, function: str | None = None) -> list[Region]:
    """The regions of the file (of ``function``); a named function without
    pragmas is one region: its body after the declarations."""
    found = regions(unit, function)
    if function is not None and not found:
        for ext in unit.ast.ext:
            if getattr(getattr(ext, "decl", None), "name", None) == function \
                    and getattr(ext, "body", None) is not None:
                return [whole_body(ext)]
        raise CFrontendError([CDiagnostic(f"no function named '{function}' with a body",
                                          unit.source.name, 0, 0)])
    return found


def region_program(unit: Unit, region: Region, arrays: bool = True) -> Program:
    """The program of one region, its written scalars (and arrays, unless
    ``arrays`` is False) privatised where legal."""
    return privatise(lower_region(unit, region), unit, region, arrays=arrays)


def programs(source: CSource, function: str | None = None, *, defines: Sequence[str] = (),
             include_dirs: Sequence[str | os.PathLike[str]] = (),
             filename: str | None = None) -> list[Program]:
    """The program of every region of ``source`` (of ``function``)."""
    unit = read_unit(source, defines=defines, include_dirs=include_dirs, filename=filename)
    return [region_program(unit, r) for r in select_regions(unit, function)]


def parse_c(source: CSource, function: str | None = None, *, defines: Sequence[str] = (),
            include_dirs: Sequence[str | os.PathLike[str]] = (),
            filename: str | None = None) -> Program:
    """The :class:`Program` of the one region of ``source`` (C text or a
    path), or of ``function``'s region (its body, without pragmas).

    :arg defines: ``NAME`` or ``NAME=VALUE``, as ``-D`` takes them.
    :arg include_dirs: directories, as ``-I`` takes them.
    """
    unit = read_unit(source, defines=defines, include_dirs=include_dirs, filename=filename)
    return region_program(unit, only_region(unit, function))


def only_region(unit: Unit, function: str | None) -> Region:
    """The single region of the file (or function); otherwise an error."""
    found = select_regions(unit, function)
    if len(found) != 1:
        where = f"function '{function}'" if function else unit.source.name
        raise CFrontendError([CDiagnostic(
            f"{where} has {len(found)} #pragma scop regions; one is needed here",
            unit.source.name, 0, 0,
            hint="name the function= whose region to take; polytc.transform_c rewrites "
                 "every region of a file")])
    return found[0]
