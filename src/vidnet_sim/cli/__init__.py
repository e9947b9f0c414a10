"""The ``vidnet-sim`` command: a thin layer over the library.

Results (and ``--json``) go to stdout; errors, logs and progress bars to stderr, never
hard-wrapped when they do not go to a terminal (:mod:`vidnet_sim.cli.output`). Exit codes:
0 ok, 1 runtime failure, 2 usage error, 3 invalid scenario, 4 partial results, 130
interrupted (Ctrl-C).

Each command lives in a module of its own (``run``, ``sweep``, ``analysis``, ``whatif``);
this module gathers them into the :func:`main` group. Only this package imports click and rich.
"""

from __future__ import annotations

import gc

import click

from vidnet_sim import __version__
from vidnet_sim._command_start import release
from vidnet_sim.cli import analysis, run, sweep, whatif

__all__ = ["entry", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vidnet-sim")
def main() -> None:
    """Exact packet simulation for sizing city camera and service networks."""


for _command in (
    run.validate,
    run.run,
    sweep.sweep,
    sweep.compare,
    analysis.curve,
    analysis.capacity,
    analysis.size,
    whatif.whatif,
    analysis.report,
):
    main.add_command(_command)


def entry() -> None:
    """The ``vidnet-sim`` console script: :func:`main` with the heap of the imports frozen,
    then the heap frozen again before exit.

    The imports leave a heap of about a million objects (NumPy, pandas, Numba, the
    library), which every full garbage collection of the command would walk again (0.15 to
    0.25 s of a 2.4 s run with cached kernels); loading the Numba kernels adds a large heap
    of compiler objects, which the interpreter's final collection would walk (about 0.5 s
    with cached kernels, 1.5 s after a compile) unless it is frozen first."""
    release()  # the commands' own handling of Ctrl-C from here on
    gc.freeze()
    try:
        main()
    finally:
        gc.freeze()
