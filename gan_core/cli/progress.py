"""Terminal progress for the CLI with tqdm: the training bar and bars for long steps (loading, statistics)."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

from ..metric_names import IMAGES_PER_SECOND, LOSS_D, LOSS_G, QUALITY
from ..timefmt import UNKNOWN, format_seconds

NON_TTY_SECONDS = 10.0  # a log file (stderr not a terminal) gets one line per this many seconds, not a redraw
TTY_SECONDS = 0.2  # redraw interval on a terminal
MIN_COLUMNS = 20  # narrower reported terminal widths are taken as unknown
TRAIN_FORMAT = "{percentage:3.0f}%|{bar}| {n}/{total} steps | ETA {eta_text}{stats}"
TASK_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {elapsed}"


class _Bar(tqdm):
    """tqdm with extra fields for the format (eta_text, stats) and no monitor thread (the CLI updates it itself)."""

    monitor_interval = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.eta_text, self.stats = UNKNOWN, ""
        super().__init__(*args, **kwargs)
        if self.dynamic_ncols:  # a terminal of unknown size (a bare pty) reports 0 x 0: tqdm then shows nothing
            measure = self.dynamic_ncols
            self.dynamic_ncols = lambda fp: _usable_size(*measure(fp))
            self.ncols, self.nrows = self.dynamic_ncols(self.fp)
            self.refresh()

    @property
    def format_dict(self) -> dict[str, Any]:
        return {**super().format_dict, "eta_text": self.eta_text, "stats": self.stats}


def _usable_size(columns: int | None, rows: int | None) -> tuple[int | None, int | None]:
    """A terminal size tqdm can use; None (whole lines, 20 rows) for the parts that are unknown or too small."""
    return (columns if columns and columns >= MIN_COLUMNS else None), (rows if rows and rows > 1 else None)


class _Lines:
    """A stream for tqdm when stderr is not a terminal: each redraw ("\\r" + text) becomes one line of a log."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> None:
        text = text.replace("\r", "").rstrip()  # tqdm pads with spaces to erase the previous, longer line
        if text and text != self.last:  # close() redraws the final state, which the last update may have shown
            self.stream.write(text + "\n")
            self.last = text

    def flush(self) -> None:
        self.stream.flush()


def _is_tty(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _bar(stream: IO[str] | None, **kwargs: Any) -> _Bar:
    stream = stream or sys.stderr
    tty = _is_tty(stream)
    # miniters=0: every update may redraw, limited only by mininterval (tqdm's dynamic miniters would skip some).
    return _Bar(file=stream if tty else _Lines(stream), mininterval=TTY_SECONDS if tty else NON_TTY_SECONDS,
                miniters=0, dynamic_ncols=tty, ascii=not tty, **kwargs)


def train_stats(metrics: dict[str, float]) -> str:
    """' | 1,234 img/s | D 0.693 G 0.712 | quality 0.12' from what is known; unknown values are left out."""
    parts = []
    if IMAGES_PER_SECOND in metrics:
        parts.append(f"{metrics[IMAGES_PER_SECOND]:,.0f} img/s")
    if LOSS_D in metrics and LOSS_G in metrics:
        parts.append(f"D {metrics[LOSS_D]:.3f} G {metrics[LOSS_G]:.3f}")
    if QUALITY in metrics:
        parts.append(f"quality {metrics[QUALITY]:.2f}")
    return "".join(f" | {p}" for p in parts)


class TrainProgress:
    """The training bar: percentage, step n/total, ETA from training time (scoring pauses excluded), images/second,
    losses and the newest quality score. On a terminal it redraws; otherwise one line every NON_TTY_SECONDS."""

    def __init__(self, total: int, step: int = 0, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = _bar(self.stream, total=total, initial=step, bar_format=TRAIN_FORMAT)
        self.latest: dict[str, float] = {}  # newest value of each shown metric
        self.seen = 0  # history entries read so far (history only grows)

    def update(self, step: int, total: int, seconds: float, history: list[dict[str, float]],
               force: bool = False) -> None:
        """Show step of total after `seconds` of training; metrics from the history entries not read yet."""
        for entry in history[self.seen:]:
            self.latest.update((k, entry[k]) for k in (IMAGES_PER_SECOND, LOSS_D, LOSS_G, QUALITY) if k in entry)
        self.seen = len(history)
        bar = self.bar
        bar.total = total
        bar.eta_text = format_seconds((total - step) * seconds / step) if step > 0 and seconds > 0 else UNKNOWN
        bar.stats = train_stats(self.latest)
        if force:
            bar.n = step
            bar.refresh()
        else:
            bar.update(step - bar.n)  # redraws when mininterval has passed

    def write(self, text: str) -> None:
        """A message line (an alert) above the bar; on a terminal the bar is redrawn below it, whole."""
        self.bar.write(text, file=self.stream)

    def close(self) -> None:
        """Show the final state (one last line when not on a terminal) and end the bar."""
        self.bar.close()


class TaskProgress:
    """progress(fraction, message) callbacks (data loading, real statistics, the coverage classifier) as bars.

    A message arriving with a fraction no higher than the current one starts a new step: the current bar is
    completed and a new one begins (steps report rising fractions; a new step restarts at 0)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.bar: _Bar | None = None
        self.fraction = 0.0
        self.message = ""

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.bar is not None and fraction <= self.fraction and message != self.message:
            self.done()
        if self.bar is None:
            self.bar = _bar(self.stream, total=100, bar_format=TASK_FORMAT, desc=message)
            self.fraction = 0.0
        self.bar.set_description_str(message, refresh=False)
        self.fraction, self.message = fraction, message
        self.bar.update(round(100 * fraction) - self.bar.n)

    def done(self) -> None:
        """Complete and close the current bar, if any (the step it shows has finished)."""
        if self.bar is not None:
            self.bar.n = 100
            self.bar.close()
            self.bar = None

    def __enter__(self) -> TaskProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.done()
        elif self.bar is not None:  # failed: leave the bar where it stopped
            self.bar.close()
            self.bar = None
