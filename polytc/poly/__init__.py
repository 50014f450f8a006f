"""Polyhedral analysis and scheduling: dependences and schedules as isl values.

* :func:`dependences` -- flow, anti and output dependences of a program.
* :func:`pluto_schedule` -- our Pluto-style scheduler (the default).
* :func:`isl_schedule` -- isl's scheduler, the second opinion.
* :func:`identity_schedule` -- the textual order, parallel loops marked.
* :func:`fuse_streams` -- matrix-vector sweeps over one matrix, fused by rows.
* :func:`check`, :func:`fusion_legality` -- legality, explained.
* :func:`to_schedule` -- a user's schedule (tree, union map or text).
* :func:`flag_violations`, :func:`with_true_coincidence` -- band flags
  against the dependences.
* :func:`summarize`, :func:`loop_nest` -- readable views of a schedule tree.
"""
from __future__ import annotations

from polytc.poly.bands import flag_violations, with_true_coincidence
from polytc.poly.dependences import Dependences, dependences, original_order
from polytc.poly.identity import coincident_members, identity_schedule
from polytc.poly.isl_scheduler import isl_schedule
from polytc.poly.legality import (FusionVerdict, IllegalScheduleError, LegalityReport,
                                  Violation, check, fusion_legality)
from polytc.poly.pluto import pluto_schedule
from polytc.poly.streams import fuse_streams
from polytc.poly.summary import ScheduleSummary, loop_nest, summarize
from polytc.poly.user_schedule import to_schedule

check_legality = check

__all__ = ["Dependences", "dependences", "original_order", "identity_schedule",
           "coincident_members", "pluto_schedule", "fuse_streams", "isl_schedule", "check",
           "check_legality", "fusion_legality", "FusionVerdict", "IllegalScheduleError",
           "LegalityReport", "Violation", "to_schedule", "flag_violations",
           "with_true_coincidence", "summarize", "loop_nest", "ScheduleSummary"]
