"""Ctrl-C while the ``vidnet-sim`` command is still importing the simulator.

The command ends on Ctrl-C with exit code 130 and the one line ``interrupted``
(:mod:`vidnet_sim.cli.output`), but its handling is in place only once its modules are
imported, and importing them (Numba, pandas, the packet core) takes the first second or two
of every command: the console script imports the command before it calls it, and Python
printed a traceback of the import for a Ctrl-C then. :func:`guard`, called first by the
package's ``__init__``, ends such an interrupt the same way until the command starts
(:func:`release`) — in the ``vidnet-sim`` command only (its console script, or ``python -m
vidnet_sim`` / ``vidnet_sim.cli``): a program that imports the library keeps Python's own
handling.

The command's imports also run without the garbage collector (they make about a million
objects that stay, and little garbage): :func:`guard` turns it off and :func:`release` on
again, and the command freezes what the imports left (``vidnet_sim.cli.entry``).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType, TracebackType

from vidnet_sim.errors import EXIT_INTERRUPTED

__all__ = ["guard", "is_command", "release"]

#: The modules ``python -m`` runs as the command.
COMMAND_MODULES = ("vidnet_sim", "vidnet_sim.cli")

_Hook = Callable[[type[BaseException], BaseException, TracebackType | None], object]

#: The hook and the SIGINT handler :func:`guard` replaced (empty: not guarding).
_previous: list[tuple[_Hook, object]] = []
#: Whether SIGINT arrived while guarding: an import it stopped in C code (NumPy's) may fail
#: with another error (``ImportError``), the interrupt's doing all the same.
_seen: list[bool] = []
#: Whether :func:`guard` turned the garbage collector off.
_gc_off: list[bool] = []


def is_command() -> bool:
    """Whether this process is the ``vidnet-sim`` command: its main script is the console
    script (``vidnet-sim``, ``vidnet-sim-script.py``...), or Python was started with ``-m``
    and one of :data:`COMMAND_MODULES`."""
    main = sys.modules.get("__main__")
    script = os.path.basename(getattr(main, "__file__", None) or "")
    if script.startswith("vidnet-sim"):
        return True
    argv = list(getattr(sys, "orig_argv", []))
    at = argv.index("-m") if "-m" in argv else -1
    return 0 <= at < len(argv) - 1 and argv[at + 1] in COMMAND_MODULES


def _on_uncaught(previous: _Hook) -> _Hook:
    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> object:
        if not (issubclass(kind, KeyboardInterrupt) or _seen):
            return previous(kind, value, tb)
        # still importing: no worker, no file of a result exists yet; exit at once, with the
        # command's code (Python would kill itself with SIGINT after the hook)
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    return hook


def _record(signum: int, frame: FrameType | None) -> None:
    _seen.append(True)
    signal.default_int_handler(signum, frame)  # KeyboardInterrupt, as Python's own


def guard() -> None:
    """In the ``vidnet-sim`` command (:func:`is_command`), make a Ctrl-C end the process with
    exit code 130 after the one line ``interrupted`` (instead of a traceback), and keep the
    garbage collector off, until :func:`release`; elsewhere, or when SIGINT is not Python's
    to handle, nothing."""
    handler = signal.getsignal(signal.SIGINT)
    if _previous or handler is not signal.default_int_handler or not is_command():
        return
    _previous.append((sys.excepthook, handler))
    signal.signal(signal.SIGINT, _record)
    sys.excepthook = _on_uncaught(sys.excepthook)
    if gc.isenabled():
        gc.disable()
        _gc_off.append(True)


def release() -> None:
    """Give back the hook and the SIGINT handler :func:`guard` replaced (the command's own
    handling follows), and the garbage collector it turned off."""
    if _gc_off:
        _gc_off.pop()
        gc.enable()
    if _previous:
        hook, handler = _previous.pop()
        sys.excepthook = hook
        signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]


guard()  # on import: the package's __init__ imports this module before any other
