"""Exact unit parsers and formatters (vidnet_sim.scenario.units)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidnet_sim.errors import UnitError
from vidnet_sim.scenario.units import (
    format_length,
    format_rate,
    format_size,
    format_time,
    parse_count,
    parse_length,
    parse_rate,
    parse_size,
    parse_time,
)

Parser = Callable[[object], int]
Formatter = Callable[[int], str]


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("4Mbps", 4_000_000),
        ("10Gbps", 10_000_000_000),
        ("2.5Gbit/s", 2_500_000_000),
        ("100kbps", 100_000),
        ("1bps", 1),
        ("64kbit/s", 64_000),
        ("1Tbps", 10**12),
        ("4 Mbps", 4_000_000),
        (" 1.5Mbit/s ", 1_500_000),
        ("0bps", 0),
        ("1e3bps", 1000),
    ],
)
def test_parse_rate(text: str, bps: int) -> None:
    assert parse_rate(text) == bps
    assert type(parse_rate(text)) is int


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("1500B", 1500),
        ("64KiB", 65_536),
        ("1MB", 1_000_000),
        ("1MiB", 1_048_576),
        ("2GB", 2_000_000_000),
        ("1.5KB", 1500),
        ("1.5kB", 1500),
        ("1TiB", 2**40),
        ("0B", 0),
    ],
)
def test_parse_size(text: str, nbytes: int) -> None:
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(
    ("text", "ps"),
    [
        ("40ms", 40_000_000_000),
        ("4.9us", 4_900_000),
        ("4.9µs", 4_900_000),  # micro sign
        ("4.9μs", 4_900_000),  # Greek mu
        ("2h", 7_200 * 10**12),
        ("1.5min", 90 * 10**12),
        ("0s", 0),
        ("1ps", 1),
        ("3ns", 3_000),
        ("0.000001s", 1_000_000),
        ("0.1s", 100_000_000_000),
    ],
)
def test_parse_time(text: str, ps: int) -> None:
    assert parse_time(text) == ps


@pytest.mark.parametrize(
    ("text", "metres"), [("3km", 3000), ("250m", 250), ("1.2km", 1200), ("0m", 0)]
)
def test_parse_length(text: str, metres: int) -> None:
    assert parse_length(text) == metres


def test_decimals_are_exact_not_float() -> None:
    # 4.9 is not representable in binary: a float path gives 4899999.999...
    assert parse_time("4.9us") == 4_900_000
    assert parse_rate("2.5Gbit/s") == 2_500_000_000
    assert parse_time("0.3s") == 300_000_000_000
    assert parse_time("123456.789012345ms") == 123_456_789_012_345


@pytest.mark.parametrize(
    ("parser", "text", "expected"),
    [
        (parse_rate, "4mbps", "unknown unit 'mbps' in '4mbps': did you mean 'Mbps'?"),
        (parse_rate, "10gbps", "did you mean 'Gbps'?"),
        (parse_rate, "1KBPS", "did you mean 'kbps'?"),
        (parse_rate, "4MBps", "did you mean 'Mbps' (rates are in bits per second)?"),
        (parse_rate, "4Mb/s", "did you mean 'Mbps'?"),
        (parse_time, "5MS", "unknown unit 'MS' in '5MS': did you mean 'ms'?"),
        (parse_time, "5sec", "did you mean 's'?"),
        (parse_time, "5m", "did you mean 'min' (minutes) or 'ms' (milliseconds)?"),
        (parse_size, "1500b", "'b' is bits; did you mean '1500B' (bytes)?"),
        (parse_size, "64kb", "did you mean '64kB' (bytes)?"),
        (parse_size, "1mib", "did you mean 'MiB'?"),
        (parse_length, "3KM", "did you mean 'km'?"),
    ],
)
def test_unknown_unit_suggestions(parser: Parser, text: str, expected: str) -> None:
    with pytest.raises(UnitError) as info:
        parser(text)
    assert expected in str(info.value)


def test_unknown_unit_without_close_match_lists_units() -> None:
    with pytest.raises(UnitError, match=r"unknown unit 'xyz' in '10 xyz': expected one of ps, ns"):
        parse_time("10 xyz")


def test_missing_number() -> None:
    with pytest.raises(UnitError) as info:
        parse_rate("mbps")
    assert str(info.value) == "expected a rate like '10Gbps' or '2.5Mbps', got 'mbps'"


@pytest.mark.parametrize(
    ("parser", "value", "hint"),
    [
        (parse_rate, 1000, "did you mean '1kbps' (1000 bit/s)?"),
        (parse_rate, "10", "write e.g. '10Mbps' or '10Gbps'"),
        (parse_size, 1500, "did you mean '1500B'?"),
        (parse_time, 40, "write e.g. '40ms' or '40s'"),
        (parse_time, 2.5, "write e.g. '2.5ms' or '2.5s'"),
        (parse_length, "300", "did you mean '300m'?"),
    ],
)
def test_bare_numbers_need_a_unit(parser: Parser, value: object, hint: str) -> None:
    with pytest.raises(UnitError) as info:
        parser(value)
    message = str(info.value)
    assert "a unit is required" in message
    assert hint in message
    assert f"got {value!r}" in message


@pytest.mark.parametrize("value", [None, True, ["1s"], {"s": 1}])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(UnitError, match="expected a time like"):
        parse_time(value)


@pytest.mark.parametrize(
    ("parser", "text"),
    [(parse_rate, "-4Mbps"), (parse_size, "-1B"), (parse_time, "-1ms"), (parse_length, "-3km")],
)
def test_negative_values_are_refused(parser: Parser, text: str) -> None:
    with pytest.raises(UnitError) as info:
        parser(text)
    assert "must not be negative" in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("parser", "text", "unit"),
    [
        (parse_time, "0.5ps", "picoseconds"),
        (parse_size, "0.3B", "bytes"),
        (parse_rate, "0.5bps", "bit/s"),
        (parse_length, "1.2345km", "metres"),
        (parse_size, "1.0001KiB", "bytes"),
    ],
)
def test_non_whole_values_are_refused(parser: Parser, text: str, unit: str) -> None:
    with pytest.raises(UnitError) as info:
        parser(text)
    assert f"{text!r} is not a whole number of {unit}" in str(info.value)


def test_unit_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="did you mean 'Gbps'"):
        parse_rate("1gbps")


def test_parse_count() -> None:
    assert parse_count(64) == 64
    assert parse_count("64") == 64
    for bad in (-1, "x", 1.5, True):
        with pytest.raises(UnitError):
            parse_count(bad)


@pytest.mark.parametrize(
    ("formatter", "value", "text"),
    [
        (format_rate, 4_000_000, "4Mbps"),
        (format_rate, 2_500_000_000, "2.5Gbps"),
        (format_rate, 1_234_567, "1.234567Mbps"),
        (format_rate, 999, "999bps"),
        (format_rate, 0, "0bps"),
        (format_time, 40_000_000_000, "40ms"),
        (format_time, 4_900_000, "4.9us"),
        (format_time, 7_200 * 10**12, "2h"),
        (format_time, 300 * 10**12, "5min"),
        (format_time, 90 * 10**12, "90s"),
        (format_time, 1, "1ps"),
        (format_time, 0, "0s"),
        (format_size, 65_536, "64KiB"),
        (format_size, 1400, "1400B"),
        (format_size, 147_000, "147kB"),
        (format_size, 1_500_000, "1.5MB"),
        (format_length, 1250, "1.25km"),
        (format_length, 250, "250m"),
    ],
)
def test_format(formatter: Formatter, value: int, text: str) -> None:
    assert formatter(value) == text


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_format_parse_round_trip(value: int) -> None:
    assert parse_rate(format_rate(value)) == value
    assert parse_time(format_time(value)) == value
    assert parse_size(format_size(value)) == value
    assert parse_length(format_length(value)) == value
