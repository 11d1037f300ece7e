"""Progress of a long loop, the same everywhere: a tqdm bar (with the time left) on a terminal; off a
terminal (CI, a log file, a cluster job) no bar, and instead one log line a minute with the count
done and an estimate of the time left, so a 20-minute loop is never 20 silent minutes."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("dupbench.progress")

EVERY_S = 60.0


def time_left(done: int, total: int | None, elapsed: float) -> str:
    if not total or not done:
        return ""
    left = elapsed / done * (total - done)
    return f", ~{left / 60:.1f} min left" if left >= 60 else f", ~{left:.0f} s left"


class Progress:
    """`with Progress("encode", total=n) as bar: ... bar.update(k)`; `terminal` overrides the check
    of stderr (tests)."""

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        unit: str = "it",
        every_s: float = EVERY_S,
        terminal: bool | None = None,
    ) -> None:
        self.desc, self.total, self.unit, self.every_s = desc, total, unit, every_s
        self.done = 0
        self.start = self.last = time.monotonic()
        self.bar: Any = None
        if sys.stderr.isatty() if terminal is None else terminal:
            from tqdm import tqdm

            # No monitor thread (it only retunes a stalled bar's refresh): a process with no thread of its
            # own may fork its workers (dupbench/images/decode.py, fork_is_safe).
            tqdm.monitor_interval = 0
            self.bar = tqdm(desc=desc, total=total, unit=unit, leave=False, file=sys.stderr)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            elapsed = now - self.start
            log.info(
                "%s: %d%s %s in %.0f s%s",
                self.desc,
                self.done,
                of,
                self.unit,
                elapsed,
                time_left(self.done, self.total, elapsed),
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    items: Iterable[T],
    desc: str,
    unit: str = "it",
    total: int | None = None,
    every_s: float = EVERY_S,
    terminal: bool | None = None,
) -> Iterator[T]:
    """Yield `items`, showing how far the loop is."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(desc, total, unit, every_s, terminal) as bar:
        for item in items:
            yield item
            bar.update()


class Tally:
    """A known number of long steps that each print a line of their own (a benchmark's runs, seconds to
    minutes each): every line ends with the count done and an estimate of the time left, on a terminal
    or in a log file alike. `tell(text)` after each step."""

    def __init__(self, total: int, unit: str = "runs") -> None:
        self.total, self.unit, self.done = total, unit, 0
        self.start = time.monotonic()

    def tell(self, text: str) -> None:
        self.done += 1
        left = time_left(self.done, self.total, time.monotonic() - self.start)
        print(f"{text} [{self.done}/{self.total} {self.unit}{left}]", flush=True)
