"""The stages of long work (compile, setup, prove): each stage's seconds and the
process's peak memory at its end, and a live indicator on a terminal.

The API records stages into the active :class:`Recorder` (a fresh one when
nobody is watching): Python stages with ``begin``, native ones through a
``zkml._native.Progress`` handle that the Rust pipeline fills at its stage
boundaries (``native/src/progress.rs``). The CLI wraps a command in
:func:`shown`, which draws a progress bar with the stage names on stderr once
the work has run for about 2 s, and only when stdout and stderr are both a
terminal::

    with progress.shown("prove", enabled=not quiet) as rec:
        result = api.prove(...)
    result.stages  # [Stage("load_build", 0.01, 81_000_000), ...]
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zkml import _native

if TYPE_CHECKING:
    from rich.console import Console

DELAY_SECONDS = 2.0
"""Work shorter than this shows no indicator."""

# The stages each command goes through, in order: the bar's length (a command
# may skip one; the bar then ends a step early).
PLANS: dict[str, tuple[str, ...]] = {
    "compile": ("load_model", "quantize", "measure_error", "lower", "load_circuit", "synthesize", "write"),
    "setup": ("load_build", "load_circuit", "synthesize", "generate_keys", "write_key", "write"),
    "setup --ptau": ("check_ptau", "export_r1cs", "zkey_new", "import_zkey"),
    # zkml.prove: the native side reads the circuit and the key while Python
    # checks the build; load_circuit and load_key are the waits for them.
    "prove": ("load_build", "check_build", "quantize_input", "load_circuit", "synthesize", "load_key", "evaluate",
              "quotient", "msm", "write"),
    # zkml.Prover's first proof (it loads everything when it is made; later
    # proofs from quantize_input on).
    "Prover": ("load_build", "load_circuit", "load_key", "quantize_input", "synthesize", "evaluate", "quotient",
               "msm", "write"),
}


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    peak_rss_bytes: int
    """The process's peak resident set size when the stage ended (0 where the
    platform does not say)."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 6), "peak_rss_bytes": self.peak_rss_bytes}


def peak_rss_bytes() -> int:
    """``getrusage``'s ``ru_maxrss`` in bytes (Linux counts KiB, macOS bytes); 0 without it."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


class Recorder:
    """The stages of one command so far. Written by the thread that does the
    work; `snapshot` may be called from any thread."""

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self._current: tuple[str, float] | None = None
        self._native: _native.Progress | None = None
        self._lock = threading.Lock()

    def begin(self, name: str) -> None:
        """Ends the current Python stage, if any, and starts `name`."""
        now = time.perf_counter()
        with self._lock:
            self._close(now)
            self._current = (name, now)

    def end(self) -> None:
        """Ends the current Python stage, if any."""
        now = time.perf_counter()
        with self._lock:
            self._close(now)

    def _close(self, now: float) -> None:
        if self._current is not None:
            name, started = self._current
            self.stages.append(Stage(name, now - started, peak_rss_bytes()))
            self._current = None

    @contextlib.contextmanager
    def native(self) -> Iterator[_native.Progress]:
        """A handle to pass as ``progress=`` to one native call; its stages
        join this record when the call returns (or fails)."""
        self.end()
        handle = _native.Progress()
        with self._lock:
            self._native = handle
        try:
            yield handle
        finally:
            with self._lock:
                self.stages.extend(Stage(*s) for s in handle.stages())
                self._native = None

    def snapshot(self) -> tuple[list[Stage], tuple[str, float] | None]:
        """(the finished stages, (name, seconds so far) of the one running now or None)."""
        with self._lock:
            done = list(self.stages)
            if self._native is not None:
                done.extend(Stage(*s) for s in self._native.stages())
                return done, self._native.current()
            if self._current is not None:
                return done, (self._current[0], time.perf_counter() - self._current[1])
            return done, None


_ACTIVE: ContextVar[Recorder | None] = ContextVar("zkml_progress", default=None)


def recorder() -> Recorder:
    """The recorder of the command being watched (see `shown`), else a new one."""
    active = _ACTIVE.get()
    return active if active is not None else Recorder()


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """`recorder()`, made the active one inside (for work that calls other API functions)."""
    active = _ACTIVE.get()
    if active is not None:
        yield active
        return
    rec = Recorder()
    token = _ACTIVE.set(rec)
    try:
        yield rec
    finally:
        _ACTIVE.reset(token)


def on_terminal() -> bool:
    """Both stdout and stderr are a terminal (the indicator draws on stderr)."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


@contextlib.contextmanager
def shown(command: str, enabled: bool = True, console: Console | None = None,
          delay: float = DELAY_SECONDS, interval: float = 0.1) -> Iterator[Recorder]:
    """Record the stages of the work inside (the API's calls pick up the
    recorder yielded here) and, if `enabled`, draw them on `console` (default:
    stderr, and only when stdout and stderr are both a terminal) once the work
    has run for `delay` seconds: a bar with the current stage's name, and a
    line per finished stage with its seconds and the peak memory so far. The
    bar is cleared at the end; the lines stay. `command` names a plan in
    `PLANS` (the bar's steps)."""
    rec = Recorder()
    token = _ACTIVE.set(rec)
    display = None
    if enabled and (console is not None or on_terminal()):
        display = _Display(rec, command, console, delay, interval)
        display.start()
    try:
        yield rec
    finally:
        rec.end()
        _ACTIVE.reset(token)
        if display is not None:
            display.stop()


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class _Display(threading.Thread):
    def __init__(self, rec: Recorder, command: str, console: Console | None, delay: float, interval: float):
        super().__init__(name="zkml-progress", daemon=True)
        self.rec, self.command, self.console = rec, command, console
        self.delay, self.interval = delay, interval
        self._stop_event = threading.Event()
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        if self._stop_event.wait(self.delay):
            return  # short work: nothing drawn
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        console = self.console if self.console is not None else Console(stderr=True)
        if not console.is_terminal:
            return
        plan = PLANS.get(self.command, ())
        bar = Progress(SpinnerColumn(), TextColumn(f"[bold]{self.command}[/bold]"), BarColumn(),
                       TextColumn("{task.completed}/{task.total} [cyan]{task.description}[/cyan] {task.fields[now]}"),
                       TextColumn("[yellow]{task.fields[total_seconds]}[/yellow]"),
                       console=console, transient=True, auto_refresh=False)
        task = bar.add_task("", total=len(plan) or None, now="", total_seconds="")

        def draw(printed: int) -> int:
            """Prints the stages finished since the last frame, updates the bar; returns how many are printed."""
            done, current = self.rec.snapshot()
            for s in done[printed:]:
                bar.console.print(f"  [green]✓[/green] {s.name:<15} {s.seconds:8.2f} s   "
                                  f"peak {human_bytes(s.peak_rss_bytes)}", highlight=False)
            name, now = (current[0], f"{current[1]:.1f} s") if current is not None else ("", "")
            total = max(len(plan), len(done) + (current is not None)) or None
            bar.update(task, description=name, completed=len(done), total=total, now=now,
                       total_seconds=f"{time.perf_counter() - self._t0:.0f} s total")
            return len(done)

        printed = draw(0)
        with bar:
            while True:
                stopping = self._stop_event.wait(self.interval)
                printed = draw(printed)
                bar.refresh()
                if stopping:
                    return
