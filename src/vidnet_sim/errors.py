"""Exceptions and the CLI's documented exit codes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

#: Exit codes of the ``vidnet-sim`` command (documented in the README).
EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INVALID_SCENARIO = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + the signal's number, as shells report it

#: The most problems a :class:`ScenarioError` shows; the rest are counted.
MAX_SHOWN_PROBLEMS = 20
#: The most places shown for one problem found at several places.
MAX_SHOWN_PLACES = 10
#: The longest line of a problem shown (a name or value may be any length).
MAX_SHOWN_LINE = 1000


class VidnetError(Exception):
    """Base class of every error vidnet-sim raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a scenario: where, what was given, what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(VidnetError):
    """A scenario (file, field values or their consequences) that cannot be simulated.

    Carries every problem found, each with the dotted path of the field at fault,
    so that a user can fix them all in one go.
    """

    def __init__(self, problems: Sequence[Problem] | Problem | str, source: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self.render())

    def with_source(self, source: str) -> ScenarioError:
        """This error, naming ``source`` (the scenario file) unless it already names one."""
        return self if self.source else ScenarioError(self.problems, source)

    def render(self) -> str:
        """Return the error paragraph shown to the user.

        A problem found at several places is said once, with its places (the first
        :data:`MAX_SHOWN_PLACES`); the first :data:`MAX_SHOWN_PROBLEMS` problems are shown and
        the rest counted, so that a file with thousands of mistakes still gives a short
        message."""
        places: dict[str, dict[str, None]] = {}  # message -> its distinct paths, in order
        for p in self.problems:
            places.setdefault(p.message, {})[p.path] = None
        n = sum(len(paths) for paths in places.values())
        head = f"invalid scenario {self.source}" if self.source else "invalid scenario"
        lines = [f"{head}: {n} problem{'s' if n != 1 else ''}"]
        shown = 0
        for message, paths in itertools.islice(places.items(), MAX_SHOWN_PROBLEMS):
            named = [p for p in paths if p][:MAX_SHOWN_PLACES]
            more = len([p for p in paths if p]) - len(named)
            where = ", ".join(named) + (f" and {more} more places" if more else "")
            line = f"  - {where}: {message}" if where else f"  - {message}"
            cut = len(line) > MAX_SHOWN_LINE
            lines.append(line[: MAX_SHOWN_LINE - 3] + "..." if cut else line)
            shown += len(paths)
        if n > shown:
            rest = len(places) - MAX_SHOWN_PROBLEMS
            lines.append(
                f"  ... and {n - shown} more problem{'s' if n - shown != 1 else ''}"
                + (f" ({rest} different)" if rest != n - shown else "")
                + ": fix the ones above and validate again"
            )
        return "\n".join(lines)


class UnitError(ValueError):
    """A quantity string that does not parse as the expected unit (rate, size, time, length)."""
