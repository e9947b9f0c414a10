"""Read a packet trace (CSV or Parquet) into exact integer arrays for a trace source, and the
traces of a camera group replaying them (:func:`load_camera_traces`).

A trace has one row per packet and two columns (others are ignored):

- ``time``: seconds as a decimal (``0.000001``), relative to the source's ``start``, converted
  exactly to picoseconds (never through a float); or ``time_ps``: integer picoseconds.
- ``size``: payload bytes, an integer > 0 (headers are added by the simulator).

Times must be non-negative and non-decreasing. CSV files need a header line; ``.parquet`` and
``.pq`` files are read as Parquet (a floating-point ``time`` column there is read through its
shortest decimal representation, ``0.1`` → 100 000 000 000 ps).

A camera group's traces are either one file with a third column, ``camera`` (each distinct
value one camera; its rows, in file order, its trace), or a folder of trace files, one camera
per file in the order of their names.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vidnet_sim.errors import ScenarioError
from vidnet_sim.scenario.units import format_time

__all__ = [
    "CameraTraces",
    "TraceError",
    "load_camera_traces",
    "load_trace",
    "resolve_trace_paths",
    "trace_period_ps",
]

I64 = npt.NDArray[np.int64]

_PS_PER_S = 10**12
_INT64_MAX = 2**63 - 1
# Seconds that the vectorised path converts: up to 6 integer digits (no int64 overflow) and at
# most 12 decimals (whole picoseconds). Anything else goes through the exact per-row path.
_FAST_SECONDS = r"\d{1,6}(?:\.\d{0,12})?"
_FAST_INT = r"\d{1,18}"
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_INTEGER = re.compile(r"[+-]?\d+")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_TRACE_SUFFIXES = (".csv", *_PARQUET_SUFFIXES)
_KEPT = ("time", "time_ps", "size", "camera")


class TraceError(ScenarioError):
    """A trace file that cannot be replayed: missing, unreadable, or with bad rows."""

    def __init__(self, message: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message, source=str(path))
        self.message = message
        self.path = str(path)


def load_trace(path: str | os.PathLike[str]) -> tuple[I64, I64]:
    """Read a trace file; return ``(times_ps, payload_sizes_bytes)``, both ``int64``.

    Raises :class:`TraceError` (a :class:`~vidnet_sim.errors.ScenarioError`) naming the file
    and, for bad values, the first bad row.
    """
    path = Path(path)
    columns, names, row = _read(path)
    fail = _failer(path)
    times, sizes = _times_sizes(path, columns, names, row, fail)
    _check_sorted(times, np.arange(len(times)), row, fail, "")
    return times, sizes


def _read(path: Path) -> tuple[dict[str, Column], list[str], Row]:
    if not path.exists():
        raise TraceError(f"trace file not found: {path}", path)
    if not path.is_file():
        raise TraceError(f"trace path is not a file: {path}", path)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return _read_parquet(path)
    return _read_csv(path)


def _failer(path: Path) -> Callable[[str], TraceError]:
    def fail(message: str) -> TraceError:
        return TraceError(message, path)

    return fail


def _times_sizes(
    path: Path,
    columns: dict[str, Column],
    names: list[str],
    row: Row,
    fail: Callable[[str], TraceError],
    also: tuple[tuple[str, str], ...] = (),
) -> tuple[I64, I64]:
    """The checked ``time``/``time_ps`` and ``size`` columns (any order of rows); ``also``
    lists further required columns, ``(name, what it holds)``."""
    has_time, has_time_ps = "time" in names, "time_ps" in names
    missing = [f"{name!r} ({what})" for name, what in also if name not in names]
    if not has_time and not has_time_ps:
        missing.append("'time' (seconds) or 'time_ps' (picoseconds)")
    if "size" not in names:
        missing.append("'size' (payload bytes)")
    if missing:
        found = ", ".join(repr(n) for n in names) or "none"
        hint = ""
        csv = path.suffix.lower() not in _PARQUET_SUFFIXES
        if csv and any(_DECIMAL.fullmatch(n) for n in names):
            hint = " (the first line must be a header, e.g. 'time,size')"
        raise fail(f"missing column {' and '.join(missing)}; found columns: {found}{hint}")
    if has_time and has_time_ps:
        raise fail("give either a 'time' or a 'time_ps' column, not both")

    n = len(columns["size"])
    if n == 0:
        raise fail("the trace is empty (no rows)")
    if has_time:
        times = _seconds_to_ps(columns["time"], row, fail)
    else:
        times = _to_int(columns["time_ps"], "time_ps", row, fail)
    sizes = _to_int(columns["size"], "size", row, fail)

    negative = np.flatnonzero(times < 0)
    if negative.size:
        i = int(negative[0])
        raise fail(f"{row(i)}: time must not be negative, got {format_time(int(times[i]))}")
    bad_size = np.flatnonzero(sizes <= 0)
    if bad_size.size:
        i = int(bad_size[0])
        raise fail(f"{row(i)}: size must be a positive number of bytes, got {int(sizes[i])}")
    return times, sizes


def _check_sorted(
    times: I64, rows: npt.NDArray[np.intp], row: Row, fail: Callable[[str], TraceError], who: str
) -> None:
    """Times of the rows ``rows`` (in file order) must not decrease; ``who`` names whose
    times they are (``" of camera 'a'"``)."""
    decreasing = np.flatnonzero(np.diff(times[rows]) < 0)
    if decreasing.size:
        j = int(decreasing[0]) + 1
        i, before = int(rows[j]), int(rows[j - 1])
        raise fail(
            f"times{who} must be sorted (non-decreasing): {row(i)} has time "
            f"{format_time(int(times[i]))}, earlier than {format_time(int(times[before]))} "
            f"in {'the row before' if before == i - 1 else row(before)}"
        )


def trace_period_ps(t: I64) -> int:
    """Loop period of a trace: its last time plus one mean gap between its packets (at least
    1 ps); a looped replay repeats every period."""
    if len(t) < 2:
        return max(1, int(t[-1]) + 1)
    span = int(t[-1] - t[0])
    return max(1, int(t[-1]) + math.ceil(span / (len(t) - 1)))


# --------------------------------------------------------------------------- camera groups
@dataclass(frozen=True, eq=False)
class CameraTraces:
    """The recorded traces of a camera group, one per camera, in the group's order.

    ``labels`` name each camera's trace: its ``camera`` value (one file for the group) or its
    file name (a folder of files)."""

    labels: tuple[str, ...]
    times: tuple[I64, ...]
    sizes: tuple[I64, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def mean_payload_bps(self) -> int:
        """Mean payload bit rate of one camera: each trace's payload bits over its loop
        period (:func:`trace_period_ps`), averaged over the cameras, rounded to the nearest
        bit/s."""
        rates = [
            Fraction(8 * int(s.sum()) * _PS_PER_S, trace_period_ps(t))
            for t, s in zip(self.times, self.sizes, strict=True)
        ]
        return max(1, round(sum(rates, Fraction(0)) / len(rates)))


def load_camera_traces(path: str | os.PathLike[str], folder: bool = False) -> CameraTraces:
    """Read a camera group's traces: one file with a ``camera`` column (``folder`` false) or
    a folder of trace files, one camera per file, sorted by file name.

    In one file, each distinct ``camera`` value is one camera, in the order of the values
    (numerical when every value is a whole number, else by text); each camera's rows keep
    their file order and its times must not decrease. Results are cached while the files are
    unchanged. Raises :class:`TraceError` naming the file (and row) at fault.
    """
    path = Path(path)
    if folder:
        if not path.exists():
            raise TraceError(f"trace folder not found: {path}", path)
        if not path.is_dir():
            raise TraceError(f"trace_dir is not a folder: {path} (give one file as trace)", path)
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _TRACE_SUFFIXES
        )
        if not files:
            raise TraceError(
                f"no trace files ({', '.join(_TRACE_SUFFIXES)}) in the folder {path}", path
            )
        stamp = tuple((p.name, *_stamp(p)) for p in files)
        return _folder_traces(path, stamp)
    if path.is_dir():
        raise TraceError(
            f"trace is a folder: {path} (give one file with a 'camera' column, or use "
            "trace_dir for a folder of files)",
            path,
        )
    if not path.exists():
        raise TraceError(f"trace file not found: {path}", path)
    return _group_file_traces(path, _stamp(path))


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=8)
def _folder_traces(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> CameraTraces:
    traces = [load_trace(path / name) for name, _, _ in stamp]
    return CameraTraces(
        tuple(name for name, _, _ in stamp),
        tuple(t for t, _ in traces),
        tuple(s for _, s in traces),
    )


@functools.lru_cache(maxsize=8)
def _group_file_traces(path: Path, stamp: tuple[int, int]) -> CameraTraces:
    columns, names, row = _read(path)
    fail = _failer(path)
    times, sizes = _times_sizes(
        path, columns, names, row, fail, also=(("camera", "one value per camera"),)
    )
    cameras = _camera_values(columns["camera"], row, fail)
    found, inverse = np.unique(cameras, return_inverse=True)
    labels = sorted((str(c) for c in found), key=_camera_order)
    rank = {label: k for k, label in enumerate(labels)}
    codes = np.array([rank[str(c)] for c in found], dtype=np.int64)[inverse.reshape(-1)]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    per_camera = [order[bounds[k] : bounds[k + 1]] for k in range(len(labels))]
    for label, rows in zip(labels, per_camera, strict=True):
        _check_sorted(times, rows, row, fail, f" of camera {label!r}")
    return CameraTraces(
        tuple(labels),
        tuple(times[rows] for rows in per_camera),
        tuple(sizes[rows] for rows in per_camera),
    )


def _camera_values(
    column: Column, row: Row, fail: Callable[[str], TraceError]
) -> npt.NDArray[np.str_]:
    """The ``camera`` column as text (whole numbers as their digits), none empty."""
    import pyarrow.compute as pc

    if isinstance(column, np.ndarray):
        return column.astype(str)
    text = pc.utf8_trim_whitespace(column)
    empty = np.flatnonzero(np.asarray(pc.equal(text, "").to_numpy(zero_copy_only=False), bool))
    if empty.size:
        raise fail(f"{row(int(empty[0]))}: camera is empty (each row names its camera)")
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=str)


def _camera_order(label: str) -> tuple[int, int, str]:
    """Whole numbers first, by value; then text."""
    return (0, int(label), "") if _INTEGER.fullmatch(label) else (1, 0, label)


# --------------------------------------------------------------------------- paths
#: The keys holding trace paths, by section of a scenario (or of a growth entry).
TRACE_PATH_KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("file",),
    "cameras": ("trace", "trace_dir"),
}


def resolve_trace_paths(table: dict[str, Any], base: Path) -> dict[str, Any]:
    """``table`` (raw scenario data, or a growth entry) with the relative trace paths of its
    sources (``file``) and camera groups (``trace``, ``trace_dir``) made absolute against
    ``base``; ``table`` itself when there are none. Absolute paths are kept, so resolving
    twice changes nothing."""
    out = table
    for section, keys in TRACE_PATH_KEYS.items():
        items = table.get(section)
        if not isinstance(items, list):
            continue
        resolved = [
            {**item, **{k: str(base / item[k]) for k in keys if _is_path(item.get(k))}}
            if isinstance(item, dict) and any(_is_path(item.get(k)) for k in keys)
            else item
            for item in items
        ]
        if resolved != items:
            out = {**out, section: resolved}
    return out


def _is_path(value: object) -> bool:
    return isinstance(value, str) and bool(value)


# --------------------------------------------------------------------------- readers
# A column is either an int64 array (already exact) or a pyarrow string array (exact decimals,
# converted below). pyarrow has no type stubs, hence ``Any``.
Column = I64 | Any
Row = Callable[[int], str]


def _read_csv(path: Path) -> tuple[dict[str, Column], list[str], Row]:
    """Read every column as strings; rows are numbered from the first data row."""
    import pyarrow as pa

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    except pd.errors.EmptyDataError:
        raise TraceError(f"the trace is empty: {path}", path) from None
    except (ValueError, UnicodeDecodeError, OSError, pa.ArrowException) as exc:
        raise TraceError(f"cannot read trace {path} as CSV: {exc}", path) from None
    names = [str(c).strip() for c in frame.columns]
    columns: dict[str, Column] = {}
    for raw_name, name in zip(frame.columns, names, strict=True):
        if name in _KEPT and name not in columns:
            columns[name] = pa.array(frame[raw_name], type=pa.large_string())
    return columns, names, lambda i: f"row {i + 1} (line {i + 2})"


def _read_parquet(path: Path) -> tuple[dict[str, Column], list[str], Row]:
    """Read a Parquet trace; integer columns stay integers, others become exact strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise TraceError(f"cannot read trace {path} as Parquet: {exc}", path) from None
    names = [str(n) for n in table.column_names]
    columns: dict[str, Column] = {}
    for name in _KEPT:
        if name not in names:
            continue
        column = table.column(name).combine_chunks()
        kind = column.type
        if column.null_count:
            first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise TraceError(f"row {first + 1}: {name} is empty", path)
        if pa.types.is_integer(kind):
            values = column.to_numpy().astype(np.int64)
            if name == "time":  # whole seconds
                if values.size and int(np.abs(values).max()) > _INT64_MAX // _PS_PER_S:
                    raise TraceError("time: seconds too large for int64 picoseconds", path)
                values = values * _PS_PER_S
            columns[name] = values
        elif pa.types.is_floating(kind):  # through the shortest decimal that round-trips
            floats = column.to_numpy()
            columns[name] = pa.array([repr(float(x)) for x in floats], type=pa.large_string())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = column.cast(pa.large_string())
        else:  # decimals and anything else: through their exact text
            columns[name] = pa.array([str(x) for x in column.to_pylist()], type=pa.large_string())
    return columns, names, lambda i: f"row {i + 1}"


# --------------------------------------------------------------------------- conversions
def _fast_rows(text: Any, pattern: str) -> npt.NDArray[np.bool_]:
    import pyarrow.compute as pc

    mask = pc.match_substring_regex(text, "^(?:" + pattern + ")$")
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _seconds_to_ps(column: Column, what_row: Row, fail: Callable[[str], TraceError]) -> I64:
    """Convert decimal seconds (strings) to int64 picoseconds, exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, np.ndarray):
        return column  # already picoseconds (integer seconds from Parquet)
    text = pc.utf8_trim_whitespace(column)
    fast = _fast_rows(text, _FAST_SECONDS)
    out = np.zeros(len(text), dtype=np.int64)
    if fast.any():
        good = text.filter(pa.array(fast))
        dot, empty = pa.scalar(".", pa.large_string()), pa.scalar("", pa.large_string())
        dotted = pc.if_else(
            pc.match_substring(good, "."), good, pc.binary_join_element_wise(good, dot, empty)
        )
        parts = pc.split_pattern(dotted, ".", max_splits=1)
        whole = pc.cast(pc.list_element(parts, 0), pa.int64()).to_numpy()
        frac = pc.utf8_rpad(pc.list_element(parts, 1), width=12, padding="0")
        out[fast] = whole * _PS_PER_S + pc.cast(frac, pa.int64()).to_numpy()
    slow = np.flatnonzero(~fast)
    for i, value in zip(slow, text.take(pa.array(slow)).to_pylist(), strict=True):
        out[i] = _exact_seconds(str(value), what_row(int(i)), fail)
    return out


def _exact_seconds(text: str, where: str, fail: Callable[[str], TraceError]) -> int:
    if not _DECIMAL.fullmatch(text):
        raise fail(f"{where}: time {text!r} is not a number of seconds")
    ps = Fraction(text) * _PS_PER_S
    if ps < 0:
        raise fail(f"{where}: time must not be negative, got {text!r}")
    if ps.denominator != 1:
        raise fail(f"{where}: time {text!r} s is not a whole number of picoseconds")
    if ps > _INT64_MAX:
        raise fail(f"{where}: time {text!r} s is too large (at most about 106 days)")
    return int(ps)


def _to_int(column: Column, name: str, what_row: Row, fail: Callable[[str], TraceError]) -> I64:
    """Convert a column of integer strings (or an integer array) to int64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, np.ndarray):
        return column
    text = pc.utf8_trim_whitespace(column)
    fast = _fast_rows(text, _FAST_INT)
    out = np.zeros(len(text), dtype=np.int64)
    if fast.any():
        out[fast] = pc.cast(text.filter(pa.array(fast)), pa.int64()).to_numpy()
    slow = np.flatnonzero(~fast)
    for i, value in zip(slow, text.take(pa.array(slow)).to_pylist(), strict=True):
        where = what_row(int(i))
        if not _INTEGER.fullmatch(str(value)):
            raise fail(f"{where}: {name} must be a whole number, got {value!r}")
        number = int(value)
        if abs(number) > _INT64_MAX:
            raise fail(f"{where}: {name} {value} is too large")
        out[i] = number
    return out
