"""What a user reads after a slip on the command line: one line that names the option, the
value given and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main

SCENARIO = """
name = "tiny"
[simulation]
duration = "200ms"
[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"
kind = "recorder"
[[links]]
a = "edge"
b = "nvr"
rate = "1Gbps"
[[cameras]]
name = "north"
count = 2
attach = "edge"
destinations = ["nvr"]
[sla.video]
latency_p99 = "50ms"
"""


def last_line(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines()[-1]


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "{f}", "--seed", "abc"], "'--seed': 'abc' is not a valid integer."),
        (["run", "{f}", "--seed", "1.5"], "'--seed': '1.5' is not a valid integer."),
        (["run", "{f}", "--sample", "half"], "'--sample': 'half' is not a valid number."),
        (["curve", "{f}", "--vary", "bitrate", "--steps", "x", "--from", "1", "--to", "2"],
         "'--steps': 'x' is not a valid integer."),
    ],
)  # fmt: skip
def test_a_number_option_given_text_says_a_number_was_expected(
    file: Path, args: list[str], expected: str
) -> None:
    code, line = last_line(*(a.format(f=file) for a in args))
    assert code == 2 and line == f"Error: Invalid value for {expected}", line
