"""The C preprocessor run, with polytc's own stub system headers.

C input is preprocessed as a compiler would (``-I``/``-D`` passed through in
order) but against the headers in ``include/`` next to this module instead of
the system's: they declare only the types and macros a parser needs, so
pycparser reads any file without GNU extensions from glibc (research note
§2.2: the stubs parse 30/30 PolyBench kernels, glibc's headers 0/30).  Line
markers are kept, so positions refer to the user's file.  ``#pragma`` lines
survive preprocessing; ``scop``/``endscop`` delimit the regions.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from polytc.errors import CDiagnostic, CPreprocessError

STUBS = Path(__file__).with_name("include")
STDIN = "<stdin>"
#: GNU spellings user code may use that pycparser does not read
_GNU_DEFINES = ("__attribute__(x)=", "__extension__=", "__restrict=restrict",
                "__restrict__=restrict", "__inline=inline", "__inline__=inline",
                "__asm__(x)=", "__volatile__=volatile", "__const=const")

CSource = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True, slots=True)
class Source:
    """The user's C: its text, the name diagnostics show, and the name the
    preprocessor's line markers give it."""

    text: str
    name: str
    cpp_name: str
    path: Path | None = None

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) of the text, without its newline."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Preprocessed:
    """The preprocessor's output for ``source`` and the flags that shaped it."""

    source: Source
    text: str
    flags: tuple[str, ...]


def read_source(source: CSource, filename: str | None = None) -> Source:
    """``source`` as a :class:`Source`: a path (a ``PathLike``, or a string
    without a newline naming an existing file) or C text."""
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as error:
            raise CPreprocessError([CDiagnostic(f"cannot read {path}: {error.strerror}",
                                                str(path), 0, 0)]) from None
        return Source(text, filename or str(path), str(path), path)
    if not isinstance(source, str):
        raise TypeError(f"C source must be a str or a path, not {type(source).__name__}")
    if "\n" not in source and source.strip().endswith((".c", ".h", ".i")):
        raise CPreprocessError([CDiagnostic(f"no such file: {source}", source, 0, 0,
                                            hint="pass C text or the path of a C file")])
    return Source(source, filename or "<string>", STDIN)


def flags(defines: Sequence[str] = (), include_dirs: Sequence[str | os.PathLike[str]] = ()
          ) -> tuple[str, ...]:
    """The user's ``-I``/``-D`` flags, in the order a compiler takes them."""
    result = [f"-I{os.fspath(d)}" for d in include_dirs]
    for define in defines:
        if not isinstance(define, str) or not define or define.startswith("-"):
            raise CPreprocessError([CDiagnostic(
                f"bad define {define!r}", "<command line>", 0, 0,
                hint="defines are 'NAME' or 'NAME=VALUE', as after -D")])
        result.append(f"-D{define}")
    return tuple(result)


def compiler() -> str:
    """The C compiler whose preprocessor runs: ``$CC``, else ``cc``."""
    return os.environ.get("CC") or "cc"


def preprocess(source: Source, user_flags: tuple[str, ...]) -> Preprocessed:
    """Run the preprocessor on ``source`` with ``user_flags`` (from :func:`flags`)."""
    cc = shlex.split(compiler())
    if not cc or shutil.which(cc[0]) is None:
        raise CPreprocessError([CDiagnostic(
            f"no C compiler to preprocess with ({compiler()!r} not found)", source.name, 0, 0,
            hint="install gcc or clang, or set CC")])
    command = cc + ["-E", "-std=c99", "-nostdinc", "-isystem", str(STUBS)]
    command += [f"-D{d}" for d in _GNU_DEFINES] + list(user_flags)
    if source.path is not None:
        command.append(str(source.path))
        stdin = None
    else:
        command += ["-x", "c", "-"]
        stdin = source.text
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CPreprocessError(_diagnostics(result.stderr, source), result.stderr)
    return Preprocessed(source, result.stdout, user_flags)


def _diagnostics(stderr: str, source: Source) -> list[CDiagnostic]:
    """cpp's ``file:line:col: error: message`` lines as diagnostics."""
    found = []
    for line in stderr.splitlines():
        parts = line.split(":", 4)
        if len(parts) < 5 or "error" not in parts[3] or not parts[1].isdigit():
            continue
        file = source.name if parts[0] == source.cpp_name else parts[0]
        number, column = int(parts[1]), int(parts[2]) if parts[2].isdigit() else 1
        text = source.line(number) if parts[0] == source.cpp_name else ""
        message = parts[4].strip()
        hint = ""
        if "No such file" in message:
            hint = (f"polytc preprocesses with its own minimal system headers ({STUBS}); "
                    "pass the directory of other headers with -I / include_dirs=")
        found.append(CDiagnostic(message, file, number, column, text, hint=hint))
    return found or [CDiagnostic("the C preprocessor failed: " + stderr.strip(), source.name,
                                 0, 0)]
