"""Frontend fuzzing: random and mutated TC texts through parse, lower and
dependence analysis (with ``full``, also scheduling and C emission; never
the C compiler).

Every input must end in success or a deliberate ``polytc.errors`` exception
(``PolytcInternalError`` counts as a bug), within a time limit, without
crashing the process.  Inputs run in a worker process
(:class:`polytc.testing.workers.Worker`): the parent sends one text at a time
and waits at most ``timeout`` seconds; a worker that overruns (a hang) or
dies (a crash) is replaced and the input recorded.

Inputs come from a corpus of TC programs (:func:`corpus`), mutated at the
byte level (bit flips, random and non-ASCII bytes, deleted, repeated and
spliced ranges) and the token level (deleted, repeated, swapped and replaced
tokens from TC's vocabulary and extreme literals), plus generated extremes
(deep nesting, long chains, huge literals and ranks) and degenerate
signatures (:func:`degenerate`: no inputs, no outputs, no statements...).
"""
from __future__ import annotations

import ast as pyast
import random
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from polytc.testing.workers import Worker

_TOKEN = re.compile(r"\s+|#[^\n]*|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|[A-Za-z_]\w*|<=>|"
                    r"(?:max|min)=!?|[+*]=!?|->|==|!=|<=|>=|&&|\|\||.", re.S)
VOCABULARY = (
    "def -> { } ( ) , ? : where in exists min max <=> = += *= min= max= +=! *=! min=! max=! "
    "== != <= >= < > && || ! + - * / % . bool uint8 int8 int16 int32 int64 uint64 float "
    "float16 double float64 exp tanh fmax fma norm4d A B C O i j k N M 0 1 2 "
    "0. .5e-7 1e30 1e999 1e-999 2147483647 2147483648 4294967296 9223372036854775808 "
    "99999999999999999999999999999 0x1F 1e ; $ @ ' \" \\ \x00 \u00e9 \u200b \ud800 "
    "\U0001F600").split(" ")
SEED_TEXTS = (
    "def mm(float(M,K) A, float(K,N) B) -> (C) { C(m,n) +=! A(m,k) * B(k,n) }",
    "C(i,j) +=! A(i,k) * B(k,j)",
    "def s(float(N) A) -> (O) { O(i) = (i >= 1) ? A(i - 1) : 0.0 where i in 0:N }",
    "def c(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {\n"
    "  O(n, m, h, w) +=! I(n, c, 2*h + kh, 2*w + kw) * W1(m, c, kh, kw) }",
    "def g(float(V,D) LUT, int32(B) I) -> (O) { O(b, d) = LUT(I(b), d) }",
    "def t(float(N) A) -> (O, float(N) P) { t(i) = A(i) where exists A(i)\n"
    "  O(i) = t(i) * x where x = float(i) / 2.0\n  P(i) max=! A(N - 1 - i) }",
)


@dataclass
class Report:
    """What a frontend fuzz run found."""

    inputs: int = 0
    accepted: int = 0
    seconds: float = 0.0
    rejected: dict[str, int] = field(default_factory=dict)
    bugs: list[tuple[str, str]] = field(default_factory=list)  # (kind and message, input)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [f"{self.inputs} inputs in {self.seconds:.1f} s ({self.rate:.0f} inputs/s), "
                 f"{self.accepted} accepted, {len(self.bugs)} bugs"]
        for kind, count in sorted(self.rejected.items(), key=lambda kv: -kv[1])[:8]:
            lines.append(f"  {count:7d} {kind}")
        seen: set[str] = set()
        for message, text in self.bugs:
            if message.splitlines()[0] not in seen:
                seen.add(message.splitlines()[0])
                lines.append(f"BUG {message.splitlines()[0]}\n  input: {text[:300]!r}")
        return "\n".join(lines)


def corpus(root: Path | None = None) -> list[str]:
    """TC texts: the seeds here plus every string constant in the repository's
    ``tests/tc_programs.py`` and ``tests/test_kernels.py`` that looks like TC."""
    texts = list(SEED_TEXTS)
    root = root or Path(__file__).resolve().parents[2] / "tests"
    for name in ("tc_programs.py", "test_kernels.py"):
        path = root / name
        if not path.is_file():
            continue
        for node in pyast.walk(pyast.parse(path.read_text())):
            if isinstance(node, pyast.Constant) and isinstance(node.value, str) \
                    and "=" in node.value and "(" in node.value and len(node.value) < 5000:
                texts.append(node.value)
    return sorted(set(texts), key=texts.index)


# -- mutations ----------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def mutate_tokens(text: str, rng: random.Random) -> str:
    parts = tokens(text) or [""]
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(len(parts))
        action = rng.randrange(5)
        if action == 0 and len(parts) > 1:
            del parts[k]
        elif action == 1:
            parts.insert(k, parts[k])
        elif action == 2:
            other = rng.randrange(len(parts))
            parts[k], parts[other] = parts[other], parts[k]
        elif action == 3:
            parts[k] = rng.choice(VOCABULARY)
        else:
            parts.insert(k, rng.choice(VOCABULARY) + rng.choice(("", " ")))
    return "".join(parts)


def mutate_bytes(text: str, rng: random.Random, other: str) -> str:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(rng.randint(1, 4)):
        if not data:
            data.extend(b"(")
        k = rng.randrange(len(data))
        action = rng.randrange(6)
        if action == 0:
            data[k] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[k] = rng.randrange(256)
        elif action == 2:
            data[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif action == 3:
            del data[k:k + rng.randint(1, 16)]
        elif action == 4:
            data[k:k] = data[k:k + rng.randint(1, 32)]
        else:
            cut = other.encode("utf-8", "surrogatepass")
            j = rng.randrange(len(cut) + 1)
            data = data[:k] + cut[j:]
    encoding = rng.choice(("utf-8", "latin-1"))
    return data.decode(encoding, "replace") if encoding == "utf-8" else data.decode("latin-1")


def extreme(rng: random.Random) -> str:
    """Generated texts at the edges: deep nesting, long chains, huge literals."""
    n = rng.choice((50, 300, 1000, 5000, 20000))
    kind = rng.randrange(10)
    if kind == 0:
        return "O(i) = " + "(" * n + "A(i)" + ")" * n
    if kind == 1:
        return "O(i) = " + " + ".join(["A(i)"] * n)
    if kind == 2:
        return "O(i) = " + "-" * n + "A(i)"
    if kind == 3:
        return "O(i) = " + "A(i) > 0.0 ? A(i) : " * n + "0.0"
    if kind == 4:
        return f"O(i) = A(i) * {rng.choice(('9' * n, '1e' + '9' * 5, '0.' + '0' * n + '1'))}"
    if kind == 5:  # isl's work grows fast with the rank: rank 50 takes seconds
        dims = ", ".join(f"i{k}" for k in range(rng.choice((8, 16, 24))))
        return f"O({dims}) = A({dims})"
    if kind == 6:
        return f"def f(float({'9' * rng.choice((3, 12, 30, 400))}) A) -> (O) {{ O(i) = A(i) }}"
    if kind == 7:
        return f"O(i) = A(i) where i in 0:{'9' * rng.choice((10, 19, 20, 40))}"
    if kind == 8:
        return "\n".join(f"T{k}(i) = A(i) + {k}.0" for k in range(min(n, 300)))
    return "O(i) = " + "exp(" * n + "A(i)" + ")" * n


#: the parts of degenerate signatures: no inputs, no outputs, no statements,
#: 0-d and zero-extent tensors, outputs never written or listed twice, inputs
#: returned, a tensor declared twice
DEGENERATE_PARAMS = ("", "float a", "float() a", "float(0) a", "float(N) a", "float(N, 0) a",
                     "float(N) a, float(N) a", "int32(N) a, float(M, N) b")
DEGENERATE_RETURNS = ("", "O", "O, O", "a", "O, P", "float(N) O", "float O", "float(0) O")
DEGENERATE_BODIES = ("", "O(i) = a(i)", "O = 1.0", "c(i) = a(i)", "O(i) = 1.0 where i in 0:0",
                     "O() = a()", "O(i) +=! a(i)", "O(i) = a(i)\n  P = 2.0")


def degenerate(rng: random.Random) -> str:
    """A def with an empty or degenerate signature."""
    return (f"def f({rng.choice(DEGENERATE_PARAMS)}) -> ({rng.choice(DEGENERATE_RETURNS)}) "
            f"{{ {rng.choice(DEGENERATE_BODIES)} }}")


def next_input(rng: random.Random, texts: list[str]) -> str:
    choice = rng.randrange(100)
    base = rng.choice(texts)
    if choice == 0:  # the extremes are slow (long texts): rare
        return extreme(rng)
    if choice == 1:
        return degenerate(rng)
    if choice < 50:
        return mutate_tokens(base, rng)
    return mutate_bytes(base, rng, rng.choice(texts))


# -- running inputs ------------------------------------------------------------------
def run_one(text: str, full: bool = False) -> tuple[str, str]:
    """``("accepted" | "rejected" | "bug", detail)`` for one input text."""
    from polytc import frontend, pipeline, poly
    from polytc.errors import PolytcError, PolytcInternalError
    from polytc.options import Options
    try:
        defs = frontend.parse(text)
        entry = defs[0].name.name if len(defs) > 1 else None
        program = frontend.lower(frontend.select(defs, entry, text), text)
        poly.dependences(program)
        if full:
            pipeline.run_stages(text, entry, Options())
        return "accepted", ""
    except PolytcInternalError as error:
        return "bug", f"{type(error).__name__}: {error}"
    except PolytcError as error:
        return "rejected", type(error).__name__
    except Exception as error:  # noqa: BLE001 - exactly what this looks for
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        return "bug", f"{type(error).__name__}: {str(error)[:200]}\n" + "".join(lines[-4:])


def fuzz_frontend(seed: int = 0, inputs: int | None = None, seconds: float | None = None,
                  timeout: float = 5.0, texts: list[str] | None = None,
                  log: Callable[[str], Any] | None = None, full: bool = False) -> Report:
    """Run ``inputs`` inputs (or for ``seconds``) from ``seed``."""
    rng = random.Random(seed)
    texts = texts or corpus()
    report = Report()
    worker = Worker()
    start = time.monotonic()
    try:
        while (inputs is None or report.inputs < inputs) and \
                (seconds is None or time.monotonic() - start < seconds):
            text = next_input(rng, texts)
            status, value = worker.call(run_one, (text, full), timeout)
            outcome, detail = value if status == "ok" else ("bug", f"{status}: {value}")
            report.inputs += 1
            if outcome == "accepted":
                report.accepted += 1
            elif outcome == "rejected":
                report.rejected[detail] = report.rejected.get(detail, 0) + 1
            else:
                report.bugs.append((detail, text))
                if log is not None:
                    log(f"BUG {detail.splitlines()[0]}: {text[:200]!r}")
                if not worker.alive:
                    worker = Worker()
    finally:
        worker.stop()
        report.seconds = time.monotonic() - start
    return report
