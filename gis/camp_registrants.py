"""Expected camp registrants per ward from a ward table (CSV), instead of a share of the estimate.

The table is read and joined as the population and poverty tables are (:mod:`gis.tables`): a ward
number column (or, without one, a ward name column) matched forgivingly and out loud
(:mod:`gis.matching`), every pairing that was not exact reported. The registrants column is named,
or recognised by alias. Every ward of the layer needs a figure: a ward left without one is refused,
listed beside the rows that matched no ward and the likeliest pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from gis.attributes import ValueProblem, clean_text, echo, parse_count
from gis.errors import InputError, Issue
from gis.fields import find_column, id_key, normalise_id
from gis.layer import FileBytes
from gis.matching import match_ids, match_names, name_key, side_by_side
from gis.tables import KEY_ALIASES, NAME_ALIASES, _listing, _parse_csv, _read_text

#: Registrants column names recognised, best first.
REGISTRANT_ALIASES = (
    "registrants",
    "expected_registrants",
    "workers",
    "unorganised_workers",
    "identified_workers",
    "registrations",
)


@dataclass(frozen=True)
class WardRegistrants:
    """``by_ward``: ward id → expected registrants, for every ward of the layer."""

    by_ward: dict[str, float]
    notes: list[str]
    column: str


def _refuse(label: str, issues: list[Issue], title: str) -> InputError:
    return InputError(f"{label}: {title}", issues, code="invalid-table")


def _column(header: list[str], label: str, column: str | None) -> str:
    if column is not None and column not in header:
        issue = Issue(
            "missing-column",
            f"the registrants column {column!r} is not in the table; its columns are "
            f"{', '.join(map(repr, header))}",
            file=label,
            field="registrants_column",
            value=column,
        )
        raise _refuse(label, [issue], f"no column {column!r}")
    found = column or find_column(header, REGISTRANT_ALIASES)
    if found is None:
        issue = Issue(
            "missing-column",
            f"no registrants column: name it, or call it one of {', '.join(REGISTRANT_ALIASES)}; "
            f"the table's columns are {', '.join(map(repr, header))}",
            file=label,
            field="registrants_column",
        )
        raise _refuse(label, [issue], "no registrants column found")
    return found


def read_ward_registrants(
    wards: gpd.GeoDataFrame, table: Path | FileBytes, *, column: str | None = None
) -> WardRegistrants:
    """Every ward's expected registrants from ``table`` (a file, or its bytes as received);
    ``InputError`` naming line, column and value for a bad row, and the unjoined wards and rows
    when some ward gets no figure."""
    label = table.name
    _, text = _read_text(table, label)
    header, records = _parse_csv(text, label)
    value_col = _column(header, label, column)
    key_col = find_column(header, KEY_ALIASES)
    by_name = key_col is None
    if by_name:
        key_col = find_column(header, NAME_ALIASES)
    if key_col is None:
        issue = Issue(
            "missing-column",
            f"no ward number ({', '.join(KEY_ALIASES)}) or ward name column; the table's columns "
            f"are {', '.join(map(repr, header))}",
            file=label,
        )
        raise _refuse(label, [issue], "no ward column found")
    keys, values = _rows(header, records, key_col, value_col, by_name, label)
    ids = [str(w) for w in wards["ward_id"]]
    names = [clean_text(n) for n in wards["ward_name"]]
    matching = match_names(names, keys) if by_name else match_ids(ids, keys)
    lacking = matching.unmatched_wards(len(ids))
    if lacking:
        free = [keys[r] for r in matching.unmatched_rows(len(keys))]
        shown = [ids[w] for w in lacking]
        issues = [
            Issue("unmatched", line, file=label)
            for line in side_by_side(shown, free, matching.likely)
        ]
        title = f"{len(lacking)} ward(s) have no registrants in the table"
        raise InputError(f"{label}: {title}", issues, code="unmatched-join")
    notes = [
        f"registrants from {label}: {value_col!r} joined by {'name' if by_name else 'number'} on {key_col!r}"
    ]
    if matching.inexact:
        notes.append(
            _listing(f"{len(matching.inexact)} pairing(s) were not exact", matching.inexact)
        )
    extra = [keys[r] for r in matching.unmatched_rows(len(keys))]
    if extra:
        notes.append(_listing(f"{len(extra)} table row(s) match no ward", extra))
    by_ward = {ids[w]: values[r] for r, w in matching.pairs.items()}
    return WardRegistrants(by_ward, notes, value_col)


def _rows(
    header: list[str],
    records: list[tuple[int, list[str]]],
    key_col: str,
    value_col: str,
    by_name: bool,
    label: str,
) -> tuple[list[str], list[float]]:
    ki, vi = header.index(key_col), header.index(value_col)
    keys: list[str] = []
    values: list[float] = []
    issues: list[Issue] = []
    seen: dict[str, int] = {}

    def bad(line: int, col: str, value: str, message: str) -> None:
        issues.append(
            Issue("bad-row", f"line {line}: {message}", file=label, field=col, value=echo(value))
        )

    for line, record in records:
        raw_key = record[ki] if ki < len(record) else ""
        raw_value = record[vi] if vi < len(record) else ""
        ward = clean_text(raw_key) if by_name else normalise_id(raw_key)
        if ward is None:
            bad(line, key_col, raw_key, "has no ward")
            continue
        k = name_key(ward) if by_name else id_key(ward)
        if k in seen:
            bad(line, key_col, raw_key, f"ward {ward} appears again (first on line {seen[k]})")
            continue
        seen[k] = line
        try:
            number = parse_count(raw_value)
        except ValueProblem as exc:
            bad(line, value_col, raw_value, str(exc))
            continue
        if math.isnan(number):
            bad(line, value_col, raw_value, "is empty: give the ward's expected registrants")
            continue
        keys.append(ward)
        values.append(number)
    if issues:
        raise _refuse(label, issues, f"{len(issues)} problem(s) in the table")
    return keys, values
