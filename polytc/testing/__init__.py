"""Testing tools for polytc: a reference interpreter for TC
(:func:`interpret`), random TC programs (:mod:`polytc.testing.strategies`)
and the fuzzers (``python -m polytc.testing.fuzz``)."""
from polytc.testing.interpreter import InterpreterError, interpret

__all__ = ["interpret", "InterpreterError"]
