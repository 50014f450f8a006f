"""The one error hierarchy of polytc.

Every failure a user can cause is a :class:`PolytcError`.  Errors about TC
text carry the :class:`Span` of the offending source and render as::

    line 2, column 10: undefined variable 'X' used here
        B(i) = X(i)
               ^

A broken invariant of polytc itself raises :class:`PolytcInternalError`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` into a source text."""

    start: int
    end: int

    def to(self, other: "Span") -> "Span":
        """The smallest span covering ``self`` and ``other``."""
        return Span(min(self.start, other.start), max(self.end, other.end))


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``source``."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def caret_excerpt(source: str, span: Span) -> str:
    """The source line holding ``span.start`` with ``^~~`` under the span."""
    start = max(0, min(span.start, len(source)))
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end < 0:
        line_end = len(source)
    text = source[line_start:line_end].expandtabs(1)
    width = max(1, min(span.end, line_end) - start)
    marker = " " * (start - line_start) + "^" + "~" * (width - 1)
    return f"    {text}\n    {marker}"


class PolytcError(Exception):
    """Root of every error polytc raises on purpose."""


class PolytcInternalError(PolytcError):
    """An invariant of polytc broke: this is a polytc bug, please report it."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        self.detail = message
        super().__init__(f"internal error while {stage}: {message} "
                         "(this is a polytc bug, please report it)")


class SourceError(PolytcError):
    """An error located in TC source text.

    :ivar message: the message without position.
    :ivar span: the offending range of :attr:`source`.
    :ivar line, column: 1-based position of ``span.start``.
    """

    def __init__(self, message: str, span: Span | None = None, source: str = "") -> None:
        self.message = message
        self.span = span
        self.source = source
        if span is not None:
            self.line, self.column = line_and_column(source, span.start)
        else:
            self.line, self.column = 0, 0
        super().__init__(self._render())

    def _render(self) -> str:
        if self.span is None:
            return self.message
        return (f"line {self.line}, column {self.column}: {self.message}\n"
                f"{caret_excerpt(self.source, self.span)}")


class TcSyntaxError(SourceError):
    """The text is not TC: an unexpected character or token."""


class TcSemanticError(SourceError):
    """Well-formed TC that means nothing: names, ranks, types, operators."""


class UnknownNameError(TcSemanticError):
    """A name is used that nothing defines."""


class UnboundIndexError(TcSemanticError):
    """An index variable has no range: neither a read nor a ``where`` bounds it."""


class NonAffineIndexError(TcSemanticError):
    """A subscript or range bound that must be affine is not."""


class RankMismatchError(TcSemanticError):
    """A tensor is used with a number of subscripts other than its rank."""


class TypeMismatchError(TcSemanticError):
    """An operand has the wrong type (float subscript, non-bool condition, narrowing)."""


class ArityError(TcSemanticError):
    """A builtin is called with the wrong number of arguments."""


class RedefinitionError(TcSemanticError):
    """A name is defined twice."""


class InputWriteError(TcSemanticError):
    """A statement writes one of the def's inputs (TC inputs are immutable)."""


class ReadBeforeWriteError(TcSemanticError):
    """A tensor is read before any statement writes it."""


class MissingReductionError(TcSemanticError):
    """A statement has a reduction index but assigns with ``=``."""


class UninitializedReductionError(TcSemanticError):
    """``op=`` accumulates onto a tensor that no earlier statement wrote."""


class RangeInferenceError(SourceError):
    """Index ranges could not be inferred, or came out empty or unsafe."""


class OutOfBoundsError(RangeInferenceError):
    """A read may fall outside its tensor for some sizes; polytc refuses it."""


class ScheduleError(PolytcError):
    """A schedule is illegal or could not be computed."""


class CompileError(PolytcError):
    """The C compiler failed.

    :ivar command: the command line that failed.
    :ivar stderr: what the compiler printed.
    :ivar source_path: where the rejected C source was kept.
    """

    def __init__(self, message: str, command: list[str] | None = None,
                 stderr: str = "", source_path: str | None = None) -> None:
        self.command = command or []
        self.stderr = stderr
        self.source_path = source_path
        detail = message
        if self.command:
            detail += "\n  command: " + " ".join(self.command)
        if source_path:
            detail += f"\n  source kept at: {source_path}"
        if stderr:
            detail += "\n" + stderr.strip()
        super().__init__(detail)


class CompilerNotFoundError(CompileError):
    """No C compiler could be found or run."""


class ArgumentError(PolytcError, TypeError):
    """A kernel was called with arrays of the wrong number, dtype, rank or shape."""


class KernelRuntimeError(PolytcError):
    """The compiled kernel reported a failure while running (a gather out of range)."""


class GraphError(PolytcError, ValueError):
    """The ops of a :class:`polytc.Graph` do not fit together: an unknown
    input, output or op name, a cycle, or a producer and a consumer that
    disagree on a tensor's rank, extents or type.

    :ivar ops: the names of the ops involved (producer first).
    """

    def __init__(self, message: str, ops: tuple[str, ...] = ()) -> None:
        self.ops = ops
        super().__init__(message)


class OptionError(PolytcError, ValueError):
    """An option passed to :func:`polytc.compile` has no meaning."""


class MissingExtraError(PolytcError, ImportError):
    """An optional capability needs a package that is not installed; the
    message names the ``pip install`` to run (e.g. ``polytc[plot]``)."""


class PlotError(PolytcError, ValueError):
    """A picture cannot be drawn as asked: a size without a value, an unknown
    statement or dimension, or more points than a readable picture holds."""


@dataclass(frozen=True, slots=True)
class CDiagnostic:
    """One problem in C input: ``file:line:column`` (1-based), the source
    line, the width of the construct under the caret, and a hint."""

    message: str
    file: str
    line: int
    column: int
    source_line: str = ""
    width: int = 1
    hint: str = ""

    def render(self) -> str:
        lines = [f"{self.file}:{self.line}:{self.column}: error: {self.message}"]
        if self.source_line:
            text = self.source_line.expandtabs(1)
            start = max(0, min(self.column - 1, len(text)))
            width = max(1, min(self.width, len(text) - start))
            lines.append(f"    {text}")
            lines.append("    " + " " * start + "^" + "~" * (width - 1))
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class CFrontendError(PolytcError):
    """C input that polytc does not take (or cannot read).  Every problem
    found in a region is reported at once.

    :ivar diagnostics: the problems, in source order.
    :ivar file, line, column, message, hint: the first one's.
    """

    def __init__(self, diagnostics: list[CDiagnostic] | tuple[CDiagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else CDiagnostic("invalid C input", "", 0, 0)
        self.file, self.line, self.column = first.file, first.line, first.column
        self.message, self.hint = first.message, first.hint
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class CPreprocessError(CFrontendError):
    """The C preprocessor rejected the input (its messages are kept in ``stderr``)."""

    def __init__(self, diagnostics: list[CDiagnostic], stderr: str = "") -> None:
        self.stderr = stderr
        super().__init__(diagnostics)


# -- warnings -----------------------------------------------------------------
class PolytcWarning(UserWarning):
    """Base of polytc's warnings.  Each subclass has an ``id``, named in its
    message; silence one with ``warnings.filterwarnings("ignore",
    category=polytc.errors.<Class>)`` or all of them with
    ``category=polytc.errors.PolytcWarning`` (``-W ignore::<module.Class>`` on
    the command line)."""

    id = "polytc"


class NarrowedRangeWarning(PolytcWarning):
    """Range inference gave an index fewer values than the extent of a tensor
    dimension it indexes directly (TC's rules allow it; a padded convolution
    that guards its reads then runs only part of its window)."""

    id = "narrowed-range"


class SchedulerFallbackWarning(PolytcWarning):
    """The scheduler asked for could not finish within its bounds; the
    kernel follows the program's original order instead (still correct)."""

    id = "scheduler-fallback"


class PrivatisationFallbackWarning(PolytcWarning):
    """A privatised array's copies would have needed a buffer for every
    iteration (the schedule does not keep them within one); the region was
    made again with the array shared, as written."""

    id = "privatisation-fallback"


class TransformFallbackWarning(PolytcWarning):
    """Tiling and code generation needed more isl work or more C than their
    bounds allow; the kernel was made again with less register tiling or
    tiling (still correct, maybe slower)."""

    id = "transform-fallback"
