"""Progress of a tuning run: a bar on a terminal, one line per batch elsewhere."""
from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, TextIO


class Progress:
    """Shows trials done, the best time (GF/s, x over the default), the last
    time and failures by kind.  ``enabled=False`` shows nothing."""

    def __init__(self, label: str, total: int, flops: float | None, enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.flops = flops
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._bar: Any = None
        if enabled and _is_terminal(self.stream):
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=label, file=self.stream, unit="trial",
                                 dynamic_ncols=True)
            except ImportError:
                self._bar = None

    def update(self, done: int, best: float | None, default: float | None,
               last: float | None, failures: Counter[str], skipped: int) -> None:
        if not self.enabled:
            return
        text = self.describe(best, default, last, failures, skipped)
        if self._bar is not None:
            self._bar.n = done
            self._bar.set_postfix_str(text, refresh=True)
            return
        print(f"[{self.label}] {done}/{self.total}  {text}  "
              f"{time.monotonic() - self.start:.0f} s", file=self.stream, flush=True)

    def describe(self, best: float | None, default: float | None, last: float | None,
                 failures: Counter[str], skipped: int) -> str:
        parts = []
        if best is not None:
            part = f"best {_ms(best)}"
            if self.flops:
                part += f" ({self.flops / best / 1e9:.1f} GF/s"
                part += f", {default / best:.2f}x default)" if default else ")"
            parts.append(part)
        if last is not None:
            parts.append(f"last {_ms(last)}")
        fails = sum(failures.values())
        if fails:
            parts.append(f"fails {fails} (" + ", ".join(
                f"{kind} {n}" for kind, n in sorted(failures.items())) + ")")
        if skipped:
            parts.append(f"skipped {skipped}")
        return "  ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
