"""Exact parsers and formatters for the quantities of a scenario file.

Every parser takes a string such as ``'10Gbps'``, ``'1500B'``, ``'4.9us'`` or ``'3km'`` and
returns a Python ``int`` in the base unit of its kind:

=========  ==========  ===================================================================
kind       base unit   units (case-sensitive)
=========  ==========  ===================================================================
rate       bit/s       ``bps kbps Mbps Gbps Tbps`` and ``bit/s kbit/s Mbit/s Gbit/s Tbit/s``
size       byte        ``B``; ``kB``/``KB`` ``MB GB TB`` (powers of 1000);
                       ``KiB MiB GiB TiB`` (powers of 1024)
time       picosecond  ``ps ns us µs ms s min h``
length     metre       ``m km``
=========  ==========  ===================================================================

Numbers are decimal (``2.5``, ``.5``, ``1e3``) and are converted exactly with
:class:`fractions.Fraction`, never through a float: ``'4.9us'`` is exactly 4 900 000 ps. A value
that is not a whole number of the base unit (``'0.5ps'``, ``'0.3B'``) is an error, as is a
negative value or a bare number without unit (a bare ``1000`` could mean bit/s or Mbit/s).
A space between number and unit is allowed. Every error is a
:class:`~vidnet_sim.errors.UnitError` whose message names the input and, where it can guess,
the unit that was probably meant (``'mbps'`` → ``'Mbps'``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from vidnet_sim.errors import UnitError

__all__ = [
    "count_words",
    "duration_words",
    "format_length",
    "format_rate",
    "format_size",
    "format_time",
    "parse_count",
    "parse_length",
    "parse_rate",
    "parse_size",
    "parse_time",
    "percent_words",
    "power_words",
    "rate_words",
]

#: Picoseconds per unit of time.
PS_PER_NS = 10**3
PS_PER_US = 10**6
PS_PER_MS = 10**9
PS_PER_S = 10**12
PS_PER_MIN = 60 * PS_PER_S
PS_PER_H = 3600 * PS_PER_S


class _QuantityError(UnitError):
    """A :class:`UnitError` that also keeps its message without the offending input.

    The scenario loader shows the input itself (``got '4mbps': ...``) and uses ``detail``.
    """

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class _Kind:
    name: str  # "rate", "size", ...
    base: str  # the base unit's plural, for "not a whole number of ..."
    example: str  # "a rate like '10Gbps' or '2.5Mbps'"
    units: dict[str, int]
    aliases: dict[str, str]  # common misspellings -> suggestion text


_RATE = _Kind(
    name="rate",
    base="bit/s",
    example="a rate like '10Gbps' or '2.5Mbps'",
    units={
        "bps": 1,
        "kbps": 10**3,
        "Mbps": 10**6,
        "Gbps": 10**9,
        "Tbps": 10**12,
        "bit/s": 1,
        "kbit/s": 10**3,
        "Mbit/s": 10**6,
        "Gbit/s": 10**9,
        "Tbit/s": 10**12,
    },
    aliases={
        "b/s": "'bps'",
        "kb/s": "'kbps'",
        "Kb/s": "'kbps'",
        "Mb/s": "'Mbps'",
        "Gb/s": "'Gbps'",
        "Tb/s": "'Tbps'",
        "KBps": "'kbps' (rates are in bits per second)",
        "kBps": "'kbps' (rates are in bits per second)",
        "MBps": "'Mbps' (rates are in bits per second)",
        "GBps": "'Gbps' (rates are in bits per second)",
        "MB/s": "'Mbps' (rates are in bits per second)",
        "GB/s": "'Gbps' (rates are in bits per second)",
        "bit": "'bps'",
    },
)

_SIZE = _Kind(
    name="size",
    base="bytes",
    example="a size like '1500B', '64KiB' or '1MB'",
    units={
        "B": 1,
        "kB": 10**3,
        "KB": 10**3,
        "MB": 10**6,
        "GB": 10**9,
        "TB": 10**12,
        "KiB": 2**10,
        "MiB": 2**20,
        "GiB": 2**30,
        "TiB": 2**40,
    },
    aliases={
        "bytes": "'B'",
        "byte": "'B'",
        "Bytes": "'B'",
        "Byte": "'B'",
        "octets": "'B'",
    },
)

_TIME = _Kind(
    name="time",
    base="picoseconds (ps)",
    example="a time like '40ms', '4.9us' or '2h'",
    units={
        "ps": 1,
        "ns": PS_PER_NS,
        "us": PS_PER_US,
        "\u00b5s": PS_PER_US,  # MICRO SIGN
        "\u03bcs": PS_PER_US,  # GREEK SMALL LETTER MU
        "ms": PS_PER_MS,
        "s": PS_PER_S,
        "min": PS_PER_MIN,
        "h": PS_PER_H,
    },
    aliases={
        "m": "'min' (minutes) or 'ms' (milliseconds)",
        "sec": "'s'",
        "secs": "'s'",
        "second": "'s'",
        "seconds": "'s'",
        "msec": "'ms'",
        "msecs": "'ms'",
        "usec": "'us'",
        "usecs": "'us'",
        "nsec": "'ns'",
        "nsecs": "'ns'",
        "mins": "'min'",
        "minute": "'min'",
        "minutes": "'min'",
        "hr": "'h'",
        "hrs": "'h'",
        "hour": "'h'",
        "hours": "'h'",
        "d": "'h' (24h for a day)",
        "day": "'h' (24h for a day)",
        "days": "'h' (24h for a day)",
    },
)

_LENGTH = _Kind(
    name="length",
    base="metres",
    example="a length like '250m' or '3km'",
    units={"m": 1, "km": 1000},
    aliases={
        "metre": "'m'",
        "metres": "'m'",
        "meter": "'m'",
        "meters": "'m'",
        "kms": "'km'",
        "mi": "'km' (lengths are metric)",
        "ft": "'m' (lengths are metric)",
    },
)

# A decimal number (optionally signed, optional exponent), optional spaces, then the unit.
_QUANTITY = re.compile(
    r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?)\s*(?P<unit>\S.*?)?",
)


def _suggest(kind: _Kind, unit: str, number: str) -> str | None:
    """Return the text of a 'did you mean' for an unknown unit, or None."""
    if kind is _SIZE and unit.endswith("b"):
        as_bytes = unit[:-1] + "B"
        if as_bytes in kind.units:
            return f"'{unit}' is bits; did you mean '{number}{as_bytes}' (bytes)?"
    if unit in kind.aliases:
        return f"did you mean {kind.aliases[unit]}?"
    for known in kind.units:
        if known.lower() == unit.lower():
            return f"did you mean '{known}'?"
    close = difflib.get_close_matches(unit, list(kind.units), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return None


def _unit_required(kind: _Kind, number: str) -> str:
    """Return the message for a number given without unit."""
    rate_guess = f"write e.g. '{number}Mbps' or '{number}Gbps'"
    if number.isdigit() and int(number) >= 1000:
        rate_guess = f"did you mean '{format_rate(int(number))}' ({number} bit/s)?"
    guess = {
        "rate": rate_guess,
        "size": f"did you mean '{number}B'?",
        "time": f"write e.g. '{number}ms' or '{number}s'",
        "length": f"did you mean '{number}m'?",
    }[kind.name]
    return f"a unit is required (a bare number is ambiguous); {guess}"


def _parse(value: object, kind: _Kind) -> int:
    """Parse ``value`` as a quantity of ``kind``; return it in the base unit."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float):
            detail = _unit_required(kind, repr(value))
            raise _QuantityError(f"expected {kind.example}, got {value!r}: {detail}", detail)
        detail = f"expected {kind.example} (a string with a unit)"
        raise _QuantityError(f"{detail}, got {value!r}", detail)
    text = value.strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        detail = f"expected {kind.example}"
        raise _QuantityError(f"{detail}, got {value!r}", detail)
    number, unit = match["num"], match["unit"]
    if unit is None:
        detail = _unit_required(kind, number)
        raise _QuantityError(f"expected {kind.example}, got {value!r}: {detail}", detail)
    if unit not in kind.units:
        units = ", ".join(dict.fromkeys(kind.units))
        hint = _suggest(kind, unit, number.lstrip("+"))
        tail = hint if hint is not None else f"expected one of {units}"
        raise _QuantityError(
            f"unknown unit '{unit}' in {value!r}: {tail}", f"unknown unit '{unit}': {tail}"
        )
    amount = Fraction(number) * kind.units[unit]
    if amount < 0:
        detail = f"a {kind.name} must not be negative"
        raise _QuantityError(f"{detail}, got {value!r}", detail)
    if amount.denominator != 1:
        detail = f"not a whole number of {kind.base}"
        raise _QuantityError(f"{value!r} is {detail}", detail)
    return int(amount)


def parse_rate(value: object) -> int:
    """Parse a bit rate such as ``'10Gbps'``, ``'2.5Gbit/s'`` or ``'64kbit/s'``; return bit/s.

    SI prefixes k, M, G, T are decimal. A bare number is refused: ``1000`` could mean bit/s
    as well as Mbit/s.
    """
    return _parse(value, _RATE)


def parse_size(value: object) -> int:
    """Parse a size such as ``'1500B'``, ``'1.5KB'``, ``'64KiB'`` or ``'1MB'``; return bytes.

    ``kB``/``KB``, ``MB``, ``GB``, ``TB`` are powers of 1000, ``KiB``, ``MiB``, ``GiB``, ``TiB``
    powers of 1024. A lower-case ``b`` means bits and is refused with a suggestion.
    """
    return _parse(value, _SIZE)


def parse_time(value: object) -> int:
    """Parse a time or duration such as ``'40ms'``, ``'4.9us'`` or ``'2h'``; return picoseconds.

    Units: ``ps ns us µs ms s min h`` (``µs`` with either the micro sign or the Greek mu).
    """
    return _parse(value, _TIME)


def parse_length(value: object) -> int:
    """Parse a length such as ``'250m'``, ``'3km'`` or ``'1.2km'``; return whole metres."""
    return _parse(value, _LENGTH)


def parse_count(value: object) -> int:
    """Parse a plain non-negative count (``int`` or a string of digits); return it.

    Unlike the unit parsers, a count has no unit: ``64`` and ``'64'`` are both 64.
    """
    if isinstance(value, bool):
        raise _QuantityError(f"expected a whole number, got {value!r}", "expected a whole number")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        count = int(value)
    else:
        raise _QuantityError(f"expected a whole number, got {value!r}", "expected a whole number")
    if count < 0:
        detail = "a count must not be negative"
        raise _QuantityError(f"{detail}, got {value!r}", detail)
    return count


def _decimal(numerator: int, scale: int) -> str:
    """Return ``numerator / scale`` (scale a power of ten) as a short exact decimal string."""
    whole, frac = divmod(numerator, scale)
    if frac == 0:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def _format_decimal(value: int, units: list[tuple[str, int]], zero: str) -> str:
    """Format with the largest power-of-ten unit not larger than ``value``."""
    if value < 0:
        return "-" + _format_decimal(-value, units, zero)
    if value == 0:
        return zero
    for name, scale in units:
        if value >= scale:
            return _decimal(value, scale) + name
    name, scale = units[-1]
    return _decimal(value, scale) + name


def format_rate(bps: int) -> str:
    """Format a rate in bit/s exactly: ``4_000_000`` → ``'4Mbps'``, ``2.5e9`` → ``'2.5Gbps'``."""
    units = [("Tbps", 10**12), ("Gbps", 10**9), ("Mbps", 10**6), ("kbps", 10**3), ("bps", 1)]
    return _format_decimal(int(bps), units, "0bps")


#: The units of a rate written for people, largest first: (name, bit/s).
_RATE_WORDS: tuple[tuple[str, float], ...] = (
    ("Tbit/s", 1e12),
    ("Gbit/s", 1e9),
    ("Mbit/s", 1e6),
    ("kbit/s", 1e3),
    ("bit/s", 1.0),
)


def rate_words(bps: float, digits: int = 4) -> str:
    """A rate as people write it, in ``digits`` significant digits and the largest unit that
    keeps it a plain number: ``100 Mbit/s``, ``2.5 Gbit/s``, ``64 kbit/s`` (where
    :func:`format_rate` writes the scenario's ``'100Mbps'``); 999.96 Mbit/s in 4 digits is
    ``1 Gbit/s``, never ``1e+03 Mbit/s``."""
    for name, scale in _RATE_WORDS:
        shown = f"{bps / scale:.{digits}g}"
        if abs(float(shown)) >= 1 or scale == 1.0:
            return f"{shown} {name}"
    raise AssertionError("unreachable: the last unit takes every rate")


def _rounded(x: float, digits: int) -> str:
    """``x`` (finite, at least 0) in ``digits`` significant digits without an exponent; a
    whole part longer than that rounded and grouped in thousands (``254,000``; 999.6 in
    three digits ``1,000``, not Python's ``1e+03``)."""
    shown = f"{x:.{digits}g}"
    if x >= 10**digits or (x >= 1 and "e" in shown):
        return f"{round(x, digits - 1 - math.floor(math.log10(x))):,.0f}"
    return shown


#: The units of a duration written for people, largest first: (singular, plural, ps); a
#: year of 365.25 days.
_TIME_WORDS: tuple[tuple[str, str, float], ...] = (
    ("year", "years", 365.25 * 24 * PS_PER_H),
    ("day", "days", 24.0 * PS_PER_H),
    ("hour", "hours", float(PS_PER_H)),
    ("min", "min", float(PS_PER_MIN)),
    ("s", "s", float(PS_PER_S)),
    ("ms", "ms", float(PS_PER_MS)),
    ("us", "us", float(PS_PER_US)),
    ("ns", "ns", float(PS_PER_NS)),
    ("ps", "ps", 1.0),
)


def duration_words(ps: float, digits: int = 3) -> str:
    """A duration as people say it, in ``digits`` significant digits and the largest unit
    that keeps it at least 1: ``53.4 days``, ``254 years``, ``1 s``, ``2.5 ms`` (where
    :func:`format_time` writes the scenario's exact ``'1s'``, and a float ``9.26e+04
    days``); a whole part longer than ``digits`` is rounded (``254,000 years``)."""
    if ps == 0:
        return "0 s"
    for one, many, scale in _TIME_WORDS:
        shown = _rounded(abs(ps) / scale, digits)
        if float(shown.replace(",", "")) >= 1 or scale == 1.0:
            sign = "-" if ps < 0 else ""
            return f"{sign}{shown} {one if shown == '1' else many}"
    raise AssertionError("unreachable: the last unit takes every duration")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_words(exponent: int) -> str:
    """A power of ten as people write it: ``10¹²``, ``10⁻⁵``."""
    return f"10{str(exponent).translate(_SUPERSCRIPT)}"


def count_words(n: float, digits: int = 3) -> str:
    """A count as people write it: whole and grouped in thousands below a million
    (``12,345``), else in ``digits`` significant digits times a power of ten (``2·10¹²``,
    ``1.1·10¹²``), never Python's ``2e+12``; a count that rounds to a million is ``10⁶``,
    not ``1,000,000``."""
    if round(abs(n)) < 10**6:
        return f"{n:,.0f}"
    exponent = math.floor(math.log10(abs(n)))
    mantissa = f"{n / 10**exponent:.{digits}g}"
    if abs(float(mantissa)) >= 10:  # 9.999 rounded up to 10
        exponent, mantissa = exponent + 1, f"{n / 10 ** (exponent + 1):.{digits}g}"
    power = power_words(exponent)
    return power if mantissa == "1" else f"{mantissa}·{power}"


def percent_words(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage, spelt as the documentation spells it: ``95 %`` (a space
    before the sign), ``24.1 %`` with ``decimals=1``; ``–`` for NaN (nothing to show)."""
    if math.isnan(fraction):
        return "–"
    return f"{100 * fraction:.{decimals}f} %"


#: The units of an exact time, largest first: seconds at most (above, :func:`format_time`
#: writes whole minutes and hours; a scenario's event times read in seconds as written).
_SECOND_UNITS = [
    ("s", PS_PER_S),
    ("ms", PS_PER_MS),
    ("us", PS_PER_US),
    ("ns", PS_PER_NS),
    ("ps", 1),
]

#: The same units after a space, as prose and tables write them (``4.05 s``).
_SPACED_SECOND_UNITS = [(f" {name}", scale) for name, scale in _SECOND_UNITS]


def exact_time_words(ps: int) -> str:
    """A time exactly, in seconds or the largest smaller unit it reaches, as a table of a
    run's epochs shows the scenario's own event times: ``0 s``, ``50 ms``, ``4.05 s``,
    ``125 s``, ``3600.0005 s`` (where :func:`duration_words` rounds and goes on to minutes,
    hours and days, and :func:`format_time` writes ``'2min'``)."""
    return _format_decimal(int(ps), _SPACED_SECOND_UNITS, "0 s")


def format_time(ps: int) -> str:
    """Format a time in ps exactly: ``40 * 10**9`` → ``'40ms'``, ``4_900_000`` → ``'4.9us'``.

    Whole hours and whole minutes (from one minute up) are written ``'2h'``, ``'5min'``.
    """
    ps = int(ps)
    if ps != 0 and ps % PS_PER_H == 0:
        return f"{ps // PS_PER_H}h"
    if ps != 0 and ps % PS_PER_MIN == 0:
        return f"{ps // PS_PER_MIN}min"
    return _format_decimal(ps, _SECOND_UNITS, "0s")


def format_size(nbytes: int) -> str:
    """Format a size in bytes exactly: ``65536`` → ``'64KiB'``, ``1400`` → ``'1400B'``.

    Whole multiples of 1024 use binary prefixes; below 10 000 bytes plain ``B``; otherwise the
    largest decimal prefix (``'147kB'``, ``'1.5MB'``).
    """
    nbytes = int(nbytes)
    if nbytes < 0:
        return "-" + format_size(-nbytes)
    for name, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale}{name}"
    if nbytes < 10_000:
        return f"{nbytes}B"
    units = [("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)]
    return _format_decimal(nbytes, units, "0B")


def format_length(metres: int) -> str:
    """Format a length in metres: ``3000`` → ``'3km'``, ``250`` → ``'250m'``."""
    return _format_decimal(int(metres), [("km", 1000), ("m", 1)], "0m")
