"""Polyhedral analysis and scheduling: dependences and schedules as isl values.

The Pluto-style scheduler and isl's scheduler as a second opinion arrive with
the scheduling issue; today :func:`identity_schedule` keeps the textual order
and marks the parallel loops of each nest.
"""
from __future__ import annotations

from polytc.poly.dependences import Dependences, dependences, original_order
from polytc.poly.identity import coincident_members, identity_schedule

__all__ = ["Dependences", "dependences", "original_order", "identity_schedule",
           "coincident_members"]
