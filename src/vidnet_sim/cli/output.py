"""How the command prints and how it ends: consoles that never hard-wrap a pipe, and the one
mapping of exceptions to exit codes and messages.

Ctrl-C ends a command with exit code 130 and the one line ``interrupted``, wherever it lands
(:func:`reported_errors`, :func:`interrupted`).

Errors go to stderr as plain text (``click.echo``), one line per problem, never re-wrapped:
logs and ``grep`` need whole lines. Rich output (tables, coloured warnings) is wrapped to the
terminal's width only when it goes to a terminal; to a pipe or a file, each line is as long as
its content, whatever ``COLUMNS`` says, and ends with it (no trailing spaces).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click
from rich.console import Console

from vidnet_sim.analysis import AnalysisInputError
from vidnet_sim.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID_SCENARIO,
    EXIT_RUNTIME,
    EXIT_USAGE,
    ScenarioError,
    VidnetError,
)
from vidnet_sim.results import ResultsFolderError, ResultsNotFoundError, check_writable
from vidnet_sim.sweep import SweepFolderError

#: Width given to rich when the output is not a terminal: wider than any line it prints, so
#: that nothing is wrapped (rich pads no line to the width).
UNWRAPPED_WIDTH = 1_000_000
#: Smallest width of tables printed to a terminal (a narrower terminal wraps them itself).
MIN_TABLE_WIDTH = 120


class IntRange(click.IntRange):
    """:class:`click.IntRange` named ``integer`` in its messages: ``'abc' is not a valid
    integer.`` (click's own name, ``integer range``, reads as if a range were expected)."""

    name = "integer"


class FloatRange(click.FloatRange):
    """:class:`click.FloatRange` named ``number`` in its messages: ``'x' is not a valid
    number.``; ``nan`` is refused like a value out of the range (click lets it through:
    every comparison with it is false)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if rv != rv:
            self.fail(
                f"{value!r} is not a number in the range {self._describe_range()}.", param, ctx
            )
        return rv


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _TrimmedConsole(Console):
    """A console to a pipe or a file: what it prints is written line by line without the
    trailing spaces rich pads lines with (a table's cells and edges), so that a line of
    only spaces (a table's top or bottom edge, a blank line between its sections) is
    empty. Nothing else changes: the columns stay aligned."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        with self.capture() as captured:
            super().print(*objects, **kwargs)
        text = captured.get()
        self.file.write("\n".join(line.rstrip() for line in text.split("\n")))
        self.file.flush()


def stdout_console() -> Console:
    """A console on stdout: at least :data:`MIN_TABLE_WIDTH` wide on a terminal; elsewhere
    unwrapped, its lines without trailing spaces."""
    if _is_tty(sys.stdout):
        return Console(highlight=False, width=max(MIN_TABLE_WIDTH, Console().width))
    return _TrimmedConsole(highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


def stderr_console() -> Console:
    """A console on stderr for warnings and notes: never hard-wrapped (a terminal wraps long
    lines itself); elsewhere, its lines without trailing spaces."""
    if _is_tty(sys.stderr):
        return Console(stderr=True, highlight=False, soft_wrap=True)
    return _TrimmedConsole(stderr=True, highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


def progress_console() -> Console:
    """The console of a live progress bar (on stderr, used only when it is a terminal)."""
    return Console(stderr=True, highlight=False)


def note(message: str) -> None:
    """Print a line of information (not a result) on stderr, unwrapped."""
    click.echo(message, err=True)


def exit_code(exc: BaseException) -> int:
    """The documented exit code of an exception that ends a command.

    3 for input that cannot be simulated or analysed (:class:`ScenarioError`,
    :class:`AnalysisInputError`), 2 for a results or sweep folder that cannot be used as
    named (a usage error), 1 for anything else (a runtime failure or a bug).
    """
    if isinstance(exc, ScenarioError | AnalysisInputError):
        return EXIT_INVALID_SCENARIO
    if isinstance(exc, SweepFolderError | ResultsNotFoundError | ResultsFolderError):
        return EXIT_USAGE
    return EXIT_RUNTIME


def error_message(exc: BaseException) -> str:
    """The text shown for an exception that ends a command (no traceback): a scenario
    error's paragraph, ``invalid input: …``, ``error: …`` for the project's own errors, or
    ``error: <type>: …`` for anything unexpected."""
    if isinstance(exc, ScenarioError):
        return exc.render()
    if isinstance(exc, AnalysisInputError):
        return f"invalid input: {exc}"
    if isinstance(exc, VidnetError):
        return f"error: {exc}"
    return f"error: {type(exc).__name__}: {exc}"


def stop(code: int, message: str | None = None) -> NoReturn:
    """End the command with exit ``code``, after ``message`` (if any) on stderr."""
    if message:
        click.echo(message, err=True)
    sys.exit(code)


def fail(exc: BaseException, code: int | None = None) -> NoReturn:
    """End the command for ``exc``: its :func:`error_message` on stderr and its
    :func:`exit_code` (or ``code`` where the caller knows better)."""
    stop(exit_code(exc) if code is None else code, error_message(exc))


#: Set by the SIGINT handler of :func:`sigint_recorded` when Ctrl-C arrives.
_sigint = threading.Event()


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is how Ctrl-C surfaced: a ``KeyboardInterrupt``, or any exception
    raised after SIGINT arrived under :func:`sigint_recorded`.

    Python raises ``KeyboardInterrupt`` in the first Python code that runs after the signal;
    while Numba compiles the packet core that is often a callback from LLVM (the object
    cache's, once machine code is generated), where ctypes cannot pass the exception on:
    it reports it as ignored and Numba then fails with ``RuntimeError: no compiled object
    yet``. An exception that follows the signal is the interrupt's doing, not an error."""
    return isinstance(exc, KeyboardInterrupt) or _sigint.is_set()


def _chained(previous: Callable[[int, FrameType | None], Any]) -> Callable[..., None]:
    def on_sigint(signum: int, frame: FrameType | None) -> None:
        _sigint.set()
        previous(signum, frame)

    return on_sigint


def _unraisable_hook(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    def hook(unraisable: Any) -> None:
        # Ctrl-C in a callback from C (LLVM's), which cannot pass it on: not printed (the
        # error that follows is reported as the interrupt). It cannot be raised again from
        # here: Python would raise it in this hook, still inside the callback.
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _sigint.is_set()):
            previous(unraisable)

    return hook


@contextlib.contextmanager
def sigint_recorded() -> Iterator[None]:
    """Meanwhile, a SIGINT is recorded for :func:`interrupted` before Python's handler (or
    the one in force) raises ``KeyboardInterrupt``, and a ``KeyboardInterrupt`` that a
    callback from C cannot raise is not printed as ignored. Nothing changes off the main
    thread or when SIGINT is not handled by Python (ignored, as in a shell's background
    job, or the system's default)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    _sigint.clear()
    previous_hook = sys.unraisablehook
    signal.signal(signal.SIGINT, _chained(previous))
    sys.unraisablehook = _unraisable_hook(previous_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        _sigint.clear()


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn any exception but click's own (usage errors, exits) into :func:`fail`, and
    Ctrl-C (:func:`interrupted`) into exit code ``EXIT_INTERRUPTED`` after one line."""
    with sigint_recorded():
        try:
            yield
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (KeyboardInterrupt, Exception) as exc:
            if interrupted(exc):
                stop(EXIT_INTERRUPTED, "interrupted")
            fail(exc)  # a bug or a resource problem too: one line, no traceback


def writable(folder: Path, named: Path | None = None) -> Path:
    """``folder``, once files can be created in it (made with its missing parents if need
    be); else the command ends with one line naming ``named`` (the folder or file given on
    the command line; default ``folder``) and why, exit code 2 — before anything runs."""
    with reported_errors():
        check_writable(folder, named if named is not None else folder)
    return folder
