"""Exceptions and the CLI's documented exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Exit codes of the ``vidnet-sim`` command (documented in the README).
EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INVALID_SCENARIO = 3
EXIT_PARTIAL = 4


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
        """Return the error paragraph shown to the user."""
        head = f"invalid scenario {self.source}" if self.source else "invalid scenario"
        n = len(self.problems)
        lines = [f"{head}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class UnitError(ValueError):
    """A quantity string that does not parse as the expected unit (rate, size, time, length)."""
