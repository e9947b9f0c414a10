"""Every command and Python example in README.md and docs/*.md runs, so a doc cannot drift.

Fenced ``bash``, ``console`` and ``python`` blocks are extracted from each Markdown file. A
``vidnet-sim`` command runs in a real process (the console script) in a copy of a workspace
that holds the repository's scenarios with short simulated durations; simulating commands get a
short ``--duration`` (and analyses two replications), and every output folder lands inside the
test's temporary folder. The command must exit with code 0. Python blocks run in order per
file, in one namespace, in the same workspace; a command that the file already ran there (the
same words, shortened) runs once.

A block that cannot run in a test (an install, a cluster submission, a benchmark of minutes)
is marked in the Markdown by an HTML comment on the line just before it::

    <!-- doc-test: skip (the reason) -->

Each marked block is reported as a skipped test with its reason, so nothing is left out
silently; a command other than ``vidnet-sim`` in an unmarked block fails the test.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from vidnet_sim.scenario import parse_scenario_dict

#: The repository (the ``repo`` fixture; parametrisation needs it at import).
REPO = Path(__file__).resolve().parent.parent

#: The Markdown files whose examples must run.
DOC_FILES = [
    "README.md",
    *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")),
]

#: Languages whose blocks run.
RUN_LANGUAGES = {"bash", "console", "python"}

#: Simulated time of every example (the example scenarios warm up for 1 s).
SHORT_DURATION = "1.5s"
#: Commands that simulate (they take ``--duration``), and the analyses among them (they also
#: take ``--replications``).
SIMULATING = {"run", "curve", "capacity", "size"}
ANALYSES = {"curve", "capacity", "size"}

FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"^<!-- doc-test: skip \((?P<reason>[^)]+)\) -->$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    file: str
    line: int  # line of the opening fence, from 1
    language: str
    text: str
    skip: str | None  # the reason given by a doc-test skip marker

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(file: str) -> list[Block]:
    """The fenced blocks of ``file`` (relative to the repository), in order."""
    lines = (REPO / file).read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        marker = SKIP.match(lines[start - 1].strip()) if start > 0 else None
        out.append(
            Block(
                file, start + 1, m.group(1), "\n".join(body), marker["reason"] if marker else None
            )
        )
        i += 1
    return out


def runnable(file: str) -> list[Block]:
    return [b for b in blocks(file) if b.language in RUN_LANGUAGES and b.skip is None]


def marked(file: str) -> list[Block]:
    return [b for b in blocks(file) if b.language in RUN_LANGUAGES and b.skip is not None]


def commands(block: Block) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments dropped, a
    ``console`` block's ``$`` prompts only."""
    text = block.text.replace("\\\n", " ")
    out: list[list[str]] = []
    for line in text.splitlines():
        if block.language == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        words = shlex.split(line, comments=True)
        if words:
            out.append(words)
    return out


def shorten(args: list[str]) -> list[str]:
    """``vidnet-sim`` arguments with a short ``--duration`` and two replications where the
    command simulates."""
    out: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--duration", "--replications"):
            skip_next = True
            continue
        if arg.startswith(("--duration=", "--replications=")):
            continue
        out.append(arg)
    if out and out[0] in SIMULATING:
        out += ["--duration", SHORT_DURATION]
    if out and out[0] in ANALYSES:
        out += ["--replications", "2"]
    return out


def short_scenario(text: str) -> str:
    """A scenario's text with ``simulation.duration`` set to :data:`SHORT_DURATION` and a
    sweep's replications set to 2 (the fewest a comparison can test)."""
    head, sep, rest = text.partition("[simulation]")
    if sep:
        rest = re.sub(
            r'^duration = "[^"]*"', f'duration = "{SHORT_DURATION}"', rest, count=1, flags=re.M
        )
    return re.sub(r"^replications = \d+", "replications = 2", head + sep + rest, flags=re.M)


@pytest.fixture(scope="session")
def doc_workspace(
    tmp_path_factory: pytest.TempPathFactory, src_env: dict[str, str], vidnet_sim_argv: list[str]
) -> Path:
    """A folder holding the repository's scenarios, shortened, and the results of a run of
    the small-town example (the docs read ``results/small-town``)."""
    root = tmp_path_factory.mktemp("doc-workspace")
    (root / "scenarios").mkdir()
    for src in (REPO / "scenarios").iterdir():
        dest = root / "scenarios" / src.name
        if src.suffix == ".toml":
            dest.write_text(short_scenario(src.read_text(encoding="utf-8")), encoding="utf-8")
        elif src.is_file():
            shutil.copy(src, dest)
        else:
            shutil.copytree(src, dest)
    done = subprocess.run(
        [*vidnet_sim_argv, "run", "scenarios/small-town.toml"],
        cwd=root,
        env=src_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return root


def run_shell_block(
    block: Block,
    cwd: Path,
    argv: list[str],
    env: dict[str, str],
    ran: set[tuple[str, ...]] | None = None,
) -> None:
    """Run the block's commands in ``cwd``. A command in ``ran`` (the commands already run
    in this workspace, shortened; this block's are added) is not run again: it would check
    nothing new. Running a command again over its own output (a sizing or a curve reusing
    its stored runs, a sweep resuming) is tested by the commands' own tests."""
    for words in commands(block):
        where = f"{block.id}: {shlex.join(words)}"
        if words[0] != "vidnet-sim":
            pytest.fail(f"{where}: only vidnet-sim commands run; mark the block doc-test: skip")
        if any(w in ("&&", "||", "|", ";", ">", "<") for w in words):
            pytest.fail(f"{where}: a shell pipeline; split the block or mark it doc-test: skip")
        args = shorten(words[1:])
        if ran is not None:
            if tuple(args) in ran:
                continue
            ran.add(tuple(args))
        done = subprocess.run(
            [*argv, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{where}: exit code {done.returncode}\n{done.stderr}"
        if args[0] == "compare":  # a documented comparison must compare something
            assert "no row was tested" not in done.stdout, f"{where}: {done.stdout}"


def run_python_block(block: Block, namespace: dict[str, object]) -> None:
    code = compile(block.text, f"{block.file}, block at line {block.line}", "exec")
    exec(code, namespace)


#: The files with something to run (the others only have marked blocks, TOML or output).
RUN_FILES = [f for f in DOC_FILES if runnable(f)]


@pytest.mark.long
@pytest.mark.parametrize("file", RUN_FILES)
def test_examples_run(
    file: str,
    doc_workspace: Path,
    src_env: dict[str, str],
    vidnet_sim_argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every unmarked command and Python block of ``file`` runs, in order, without error."""
    todo = runnable(file)
    cwd = tmp_path / "work"
    shutil.copytree(doc_workspace, cwd)
    monkeypatch.chdir(cwd)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    ran: set[tuple[str, ...]] = set()
    for block in todo:
        if block.language == "python":
            run_python_block(block, namespace)
        else:
            run_shell_block(block, cwd, vidnet_sim_argv, src_env, ran)


MARKED = [b for f in DOC_FILES for b in marked(f)]


@pytest.mark.parametrize("block", MARKED, ids=[b.id for b in MARKED])
def test_marked_blocks_are_reported(block: Block) -> None:
    """A block marked ``doc-test: skip`` is reported as skipped, with its reason."""
    pytest.skip(f"{block.id} not run: {block.skip}")


def test_extraction_finds_the_examples() -> None:
    """The extractor sees the README's blocks and markers (a broken parser would skip all)."""
    readme = blocks("README.md")
    assert readme[0].language == "bash" and readme[0].skip is not None
    assert "pip install" in readme[0].text
    cmds = [c for b in runnable("README.md") if b.language == "bash" for c in commands(b)]
    assert ["vidnet-sim", "validate", "scenarios/small-town.toml"] in cmds
    assert any(b.language == "python" for b in runnable("README.md"))
    assert len(cmds) >= 8


def test_shortening() -> None:
    """Simulating commands get the short duration (replacing the doc's), others none."""
    assert shorten(["run", "a.toml", "--duration", "60s", "--year", "3"]) == [
        "run",
        "a.toml",
        "--year",
        "3",
        "--duration",
        SHORT_DURATION,
    ]
    assert shorten(["curve", "a.toml", "--replications=5"]) == [
        "curve",
        "a.toml",
        "--duration",
        SHORT_DURATION,
        "--replications",
        "2",
    ]
    assert shorten(["validate", "a.toml"]) == ["validate", "a.toml"]
    text = '[simulation]\nduration = "20s"\n[[events]]\nduration = "5s"\n'
    assert short_scenario(text) == f'[simulation]\nduration = "{SHORT_DURATION}"\n' + (
        '[[events]]\nduration = "5s"\n'
    )


def test_every_doc_file_is_covered() -> None:
    """README.md and every file under docs/ are in the list the examples test walks."""
    assert "README.md" in DOC_FILES
    assert set(DOC_FILES) >= {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}


def test_a_command_that_fails_fails_the_test(
    doc_workspace: Path, src_env: dict[str, str], vidnet_sim_argv: list[str]
) -> None:
    """A documented command that exits with an error (here a usage error) fails the test."""
    bad = Block("README.md", 1, "bash", "vidnet-sim validate scenarios/x.toml --nope", None)
    with pytest.raises(AssertionError, match="exit code 2"):
        run_shell_block(bad, doc_workspace, vidnet_sim_argv, src_env)
    # a command already run in the workspace is not run again; the others are
    ran: set[tuple[str, ...]] = {("validate", "scenarios/x.toml", "--nope")}
    run_shell_block(bad, doc_workspace, vidnet_sim_argv, src_env, ran)
    twice = Block("README.md", 1, "bash", "vidnet-sim validate scenarios/y.toml --nope", None)
    with pytest.raises(AssertionError, match="exit code 2"):
        run_shell_block(twice, doc_workspace, vidnet_sim_argv, src_env, ran)
    assert ("validate", "scenarios/y.toml", "--nope") in ran
    other = Block("README.md", 1, "bash", "pip install .", None)
    with pytest.raises(pytest.fail.Exception, match="mark the block doc-test: skip"):
        run_shell_block(other, doc_workspace, vidnet_sim_argv, src_env)


SCENARIO_EXAMPLES = [
    b
    for f in DOC_FILES
    for b in blocks(f)
    if b.language == "toml" and re.search(r"^\[simulation\]", b.text, flags=re.M)
]


@pytest.mark.parametrize("block", SCENARIO_EXAMPLES, ids=[b.id for b in SCENARIO_EXAMPLES])
def test_scenario_examples_are_valid(block: Block) -> None:
    """A TOML block that is a whole scenario (it has ``[simulation]``) is a valid one."""
    if block.skip is not None:
        pytest.skip(f"{block.id} not checked: {block.skip}")
    parse_scenario_dict(tomllib.loads(block.text), source=block.id)


def test_the_readme_has_a_whole_scenario() -> None:
    assert any(b.file == "README.md" for b in SCENARIO_EXAMPLES)


def test_the_readme_s_recorded_run_of_the_shared_city_is_what_run_prints(
    tmp_path: Path, src_env: dict[str, str], vidnet_sim_argv: list[str]
) -> None:
    """The README's recorded output of `vidnet-sim run scenarios/mid-city-services.toml`
    (its header, class rows and epoch rows, trimmed of the group rows) is what the command
    prints, line for line: the whole 10 s, the numbers exact (the runs are deterministic).
    The recorded table had lost two columns (the mean and the frame mean) without a test
    noticing."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lead = "prints, per class and group (trimmed here), then per epoch:\n\n```\n"
    start = readme.index(lead) + len(lead)
    recorded = readme[start : readme.index("```\n", start)].splitlines()
    scenario = REPO / "scenarios" / "mid-city-services.toml"
    done = subprocess.run(
        [*vidnet_sim_argv, "run", str(scenario), "--out", str(tmp_path / "out")],
        env=src_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    missing = [line for line in recorded if line not in ("", "...") and line not in printed]
    assert not missing, "\n".join(missing)
    assert len(recorded) > 20
