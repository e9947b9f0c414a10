"""How the command prints and how it ends: consoles that never hard-wrap a pipe, and the one
mapping of exceptions to exit codes and messages.

Errors go to stderr as plain text (``click.echo``), one line per problem, never re-wrapped:
logs and ``grep`` need whole lines. Rich output (tables, coloured warnings) is wrapped to the
terminal's width only when it goes to a terminal; to a pipe or a file, each line is as long as
its content, whatever ``COLUMNS`` says.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import NoReturn

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
from vidnet_sim.results import ResultsFolderError, ResultsNotFoundError
from vidnet_sim.sweep import SweepFolderError

#: Width given to rich when the output is not a terminal: wider than any line it prints, so
#: that nothing is wrapped (rich pads no line to the width).
UNWRAPPED_WIDTH = 1_000_000
#: Smallest width of tables printed to a terminal (a narrower terminal wraps them itself).
MIN_TABLE_WIDTH = 120


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def stdout_console() -> Console:
    """A console on stdout: at least :data:`MIN_TABLE_WIDTH` wide on a terminal, unwrapped
    elsewhere."""
    if _is_tty(sys.stdout):
        return Console(highlight=False, width=max(MIN_TABLE_WIDTH, Console().width))
    return Console(highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


def stderr_console() -> Console:
    """A console on stderr for warnings and notes: never hard-wrapped (a terminal wraps long
    lines itself)."""
    if _is_tty(sys.stderr):
        return Console(stderr=True, highlight=False, soft_wrap=True)
    return Console(stderr=True, highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


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


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn any exception but click's own (usage errors, exits) into :func:`fail`, and
    Ctrl-C into exit code ``EXIT_INTERRUPTED`` after one line."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        stop(EXIT_INTERRUPTED, "interrupted")
    except Exception as exc:  # a bug or a resource problem too: one line, no traceback
        fail(exc)
