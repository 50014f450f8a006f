"""What :func:`polytc.tune` returns."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class TuningResult:
    """The outcome of a tuning run.

    :ivar options: the :func:`polytc.compile` options kept (the defaults
        when no candidate beat them beyond the measured noise).
    :ivar time: their time in seconds (minimum of the final interleaved
        re-measurements, or of the search's samples after an interrupt).
    :ivar default_time: the default options' time, measured the same way.
    :ivar record: the record written to the records file (a dict).
    :ivar trials: trials in the study after this run (all runs together);
        ``new_trials``: those this run added (skipped configurations excluded).
    :ivar history: ``(trial number, seconds or None)`` of every trial in the
        study (None: failed or skipped).
    :ivar failures: failure kind -> count, this run.
    :ivar interrupted: the run was stopped with Ctrl-C.
    """

    options: dict[str, Any]
    time: float
    default_time: float
    record: dict[str, Any]
    study_name: str
    storage: str
    trials: int
    new_trials: int
    history: tuple[tuple[int, float | None], ...] = ()
    failures: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    duplicates: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    flops: float | None = None
    label: str = ""

    @property
    def speedup(self) -> float:
        """Default time / tuned time."""
        return self.default_time / self.time if self.time > 0 else 1.0

    @property
    def tuned(self) -> bool:
        """Whether options other than the defaults were kept."""
        return bool(self.record.get("provenance", {}).get("beats_default"))

    def best_so_far(self) -> list[tuple[int, float]]:
        """(trial number, best time up to it) after each successful trial."""
        best, points = float("inf"), []
        for number, value in self.history:
            if value is not None and value < best:
                best = value
            if best < float("inf"):
                points.append((number, best))
        return points

    def plot(self, ax: Any = None) -> "Figure":
        """A matplotlib Figure of the best time so far against the trial
        number, every trial's time as a dot and the default's as a line
        (matplotlib: ``pip install 'polytc[plot]'``)."""
        from polytc.plot import style
        style.require()
        from matplotlib.figure import Figure
        figure = Figure(figsize=(6.4, 4.0)) if ax is None else ax.figure
        ax = ax or figure.add_subplot()
        measured = [(n, v * 1e3) for n, v in self.history if v is not None]
        if measured:
            ax.scatter(*zip(*measured), s=10, color="#bbbbbb", label="trial")
        best = self.best_so_far()
        if best:
            ax.step([n for n, _ in best], [v * 1e3 for _, v in best], where="post",
                    color="#1f77b4", label="best so far")
        ax.axhline(self.default_time * 1e3, color="#d62728", linestyle="dashed",
                   label=f"default options ({self.default_time * 1e3:.3g} ms)")
        ax.set_xlabel("trial")
        ax.set_ylabel("time (ms)")
        ax.set_yscale("log")
        ax.set_title(f"{self.label or self.study_name}: {self.speedup:.2f}x the default")
        ax.legend(loc="upper right", fontsize="small")
        return figure

    def summary(self) -> str:
        """A few lines for people: best vs default, trials, failures, where."""
        lines = [f"default options  {self.default_time * 1e3:10.3f} ms"
                 + _rate(self.flops, self.default_time),
                 f"tuned            {self.time * 1e3:10.3f} ms" + _rate(self.flops, self.time)
                 + f"  {self.speedup:.2f}x" + ("" if self.tuned else "  (defaults kept)"),
                 f"trials           {self.new_trials} this run, {self.trials} in the study "
                 f"({self.skipped} skipped before compiling, {self.duplicates} duplicate C)"]
        if self.failures:
            lines.append("failures         " + ", ".join(f"{kind} {count}" for kind, count
                                                      in sorted(self.failures.items())))
        lines.append(f"options          {self.options}")
        lines.append(f"study            {self.study_name} in {self.storage}")
        if self.interrupted:
            lines.append("interrupted: the best so far was kept; run again to resume")
        return "\n".join(lines)


def _rate(flops: float | None, seconds: float) -> str:
    return f"  {flops / seconds / 1e9:8.2f} GF/s" if flops and seconds > 0 else ""
