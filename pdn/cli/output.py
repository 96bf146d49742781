"""How commands talk to the user: rich progress and tables on a terminal, plain lines otherwise
(a log, a pipe, CI), flushed so they are seen live. rich is imported only on a terminal."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from pdn.toolchain.builder import format_duration


def is_terminal() -> bool:
    return sys.stdout.isatty()


def progress(line: str) -> None:
    """One line of progress; `[phase] message` lines get their phase highlighted."""
    if is_terminal():
        from rich.console import Console  # noqa: PLC0415
        from rich.markup import escape  # noqa: PLC0415

        if line.startswith("[") and "] " in line:
            phase, rest = line[1:].split("] ", 1)
            Console().print(f"[bold cyan]\\[{escape(phase)}][/] {escape(rest)}", highlight=False)
            return
        Console().print(escape(line), highlight=False)
        return
    print(line, flush=True)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table on a terminal; aligned plain columns otherwise."""
    if is_terminal():
        from rich.console import Console  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415

        shown = Table(title=title, title_justify="left")
        for column in columns:
            shown.add_column(column, overflow="fold")
        for row in rows:
            shown.add_row(*row)
        Console().print(shown)
        return
    widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns) - 1)]
    for row in rows:
        cells = [f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:-1])]
        print("  ".join([*cells, row[-1]]).rstrip(), flush=True)


class BuildProgress:
    """Long work with an estimate from the last time (`pdn toolchain build`): a progress bar on
    a terminal, a line every HEARTBEAT seconds otherwise."""

    HEARTBEAT = 30.0

    def __init__(self) -> None:
        self._rich: Any = None
        self._task: Any = None
        self._label = ""
        self._started = 0.0
        self._estimate: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BuildProgress:
        if is_terminal():
            from rich.progress import (  # noqa: PLC0415
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("of ~"),
                TimeRemainingColumn(compact=True),
            )
            self._rich.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._end_task()
        if self._rich is not None:
            self._rich.__exit__(kind, error, trace)

    def line(self, message: str) -> None:
        if self._rich is not None:
            self._rich.console.print(message, highlight=False, markup=False)
        else:
            print(message, flush=True)

    def start(self, label: str, estimate: float | None) -> None:
        """A step begins; estimate: how long it took the last time, if known."""
        self._end_task()
        self._label, self._started, self._estimate = label, time.monotonic(), estimate
        self._stop.clear()
        if self._rich is not None:
            self._task = self._rich.add_task(label, total=estimate or None)
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def finish(self, message: str) -> None:
        self._end_task()
        self.line(message)

    def _end_task(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._rich is not None and self._task is not None:
            self._rich.remove_task(self._task)
            self._task = None

    def _tick(self) -> None:
        interval = 0.5 if self._rich is not None else self.HEARTBEAT
        while not self._stop.wait(interval):
            elapsed = time.monotonic() - self._started
            if self._rich is not None:
                done = min(elapsed, (self._estimate or elapsed) * 0.99)
                self._rich.update(self._task, completed=done)
                continue
            about = (
                f", about {format_duration(self._estimate)} the last time" if self._estimate else ""
            )
            print(
                f"{self._label}: still building ({format_duration(elapsed)} elapsed{about})",
                flush=True,
            )


class HostProgress:
    """Per host, a bar of its steps and the task it is in, fed by ansible-runner's events (on a
    terminal); otherwise a line per finished step."""

    def __init__(self, steps: dict[str, list[str]]) -> None:
        self.steps = steps
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> HostProgress:
        if is_terminal():
            from rich.progress import (  # noqa: PLC0415
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.fields[host]:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )
            self._bar.start()
            for host, steps in self.steps.items():
                self._tasks[host] = self._bar.add_task("waiting", total=len(steps), host=host)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def event(self, event: dict[str, Any]) -> None:
        """runner_on_start: the task a host is in now."""
        data = event.get("event_data") or {}
        host = data.get("host")
        if self._bar is None or event.get("event") != "runner_on_start" or host not in self._tasks:
            return
        with self._lock:
            self._bar.update(self._tasks[host], description=str(data.get("task", "")))

    def step(self, host: str, step: str, ok: bool, changed: int, detail: str) -> None:
        said = "done" if ok else f"FAILED: {detail}"
        if self._bar is None:
            print(f"[{host}] {step}: {said} (changed {changed})", flush=True)
            return
        with self._lock:
            self._bar.update(
                self._tasks[host], advance=1 if ok else 0, description=f"{step}: {said}"
            )

    def skip(self, host: str, count: int) -> None:
        if self._bar is not None and count:
            self._bar.update(self._tasks[host], advance=count)
