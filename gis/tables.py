"""Joining a census-style table (CSV) onto a ward layer by ward number, or by ward name.

Ward numbers match when they are the same number written differently (``08``/``8``/``Ward 8``);
a table with ward names and no numbers is joined by name (English or Hindi). Every pairing that
was not exact is reported (``gis.matching``). When rows and wards stay unmatched and some ward is
left without any figure, the join is refused with both lists side by side and the likeliest pairs.

The usual real workflow is "boundaries from the GIS cell, population from a separate table". The
table is a CSV, UTF-8 (a BOM is fine); lines whose first non-blank character is ``#`` are comments.
Row numbers in messages are 1-based line numbers of the file, comments included, so a person can
find them in a text editor.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd

from gis.attributes import ValueProblem, clean_text, echo, parse_count
from gis.errors import InputError, Issue
from gis.fields import ALIASES, FIELD_LABELS, find_column, id_key, normalise_id
from gis.layer import FileBytes, SourceFile, WardLayer
from gis.matching import Matching, match_ids, match_names, name_key, side_by_side

#: Largest table accepted.
MAX_TABLE_BYTES = 20 * 1024 * 1024
#: Key column names recognised, best first.
KEY_ALIASES = ("census_ward_no", *ALIASES["ward_id"])
#: Ward name columns recognised when the table has no ward number column, best first.
NAME_ALIASES = (
    "ward_name",
    "name",
    "ward_name_en",
    "name_en",
    "ward_name_hi",
    "name_hi",
    "ward_name_hindi",
)
VALUE_FIELDS = ("population", "households", "poor_households")
_SHOWN = 10


@dataclass(frozen=True)
class _Row:
    line: int
    key: str
    values: dict[str, float]


def join_population_table(
    layer: WardLayer,
    table: Path | FileBytes,
    *,
    key: str | None = None,
    population: str | None = None,
    households: str | None = None,
    poor_households: str | None = None,
) -> WardLayer:
    """A copy of ``layer`` with population/households/poor households taken from ``table``.

    Column names left as ``None`` are recognised by alias (``poor_households`` only when named).
    Table values fill the layer's columns and override them (a warning names each overridden
    ward); an empty table cell leaves the layer's value alone. Table rows matching no ward and
    wards without a row are reported as warnings. Raises ``InputError`` for a missing column,
    duplicate keys and values that are not counts.
    """
    label = table.name
    digest, text = _read_text(table, label)
    header, records = _parse_csv(text, label)
    columns = _columns(header, label, key, population, households, poor_households)
    rows = _rows(header, records, columns, label)
    wards, notes, _ = _apply(layer, rows, columns, label)
    return replace(
        layer,
        wards=wards,
        sources=[*layer.sources, SourceFile(label, digest)],
        warnings=[*layer.warnings, *notes],
    )


def _error(label: str, issues: list[Issue], title: str) -> InputError:
    return InputError(f"{label}: {title}", issues, code="invalid-table")


def _read_text(table: Path | FileBytes, label: str) -> tuple[str, str]:
    if isinstance(table, FileBytes):
        data, size = table.data, len(table.data)
    else:
        if not table.is_file():
            issue = Issue("missing-file", "no such file", file=label)
            raise _error(label, [issue], "no such file")
        size = table.stat().st_size
        data = table.read_bytes() if size <= MAX_TABLE_BYTES else b""
    if size > MAX_TABLE_BYTES:
        limit = MAX_TABLE_BYTES // (1024 * 1024)
        raise _error(label, [Issue("too-large", f"limit {limit} MB", file=label)], "too large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issue = Issue("bad-encoding", f"not UTF-8 (byte {exc.start}); save as UTF-8", file=label)
        raise _error(label, [issue], "not UTF-8 text") from None
    return hashlib.sha256(data).hexdigest(), text


def _parse_csv(text: str, label: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and data records, each with its 1-based line number; comments and blanks skipped."""
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise _error(label, [Issue("empty", "no header row", file=label)], "the table is empty")
    parsed = list(csv.reader(line for _, line in lines))
    header = [h.strip() for h in parsed[0]]
    return header, [(lines[i][0], rec) for i, rec in enumerate(parsed[1:], start=1)]


def _columns(
    header: list[str],
    label: str,
    key: str | None,
    population: str | None,
    households: str | None,
    poor_households: str | None,
) -> dict[str, str]:
    """field -> table column, for the key (or, without one, the ``name``) and each value field."""
    explicit = {
        "key": key,
        "population": population,
        "households": households,
        "poor_households": poor_households,
    }
    chosen: dict[str, str] = {}
    for name, column in explicit.items():
        if column is not None and column not in header:
            raise _missing(label, header, name, column)
        aliases = KEY_ALIASES if name == "key" else ALIASES[name]
        found = column if column is not None else find_column(header, aliases)
        if found is not None:
            chosen[name] = found
    if "key" not in chosen:
        name_column = find_column(header, NAME_ALIASES)
        if name_column is None:
            raise _missing(label, header, "key", None)
        chosen["name"] = name_column
    if len(chosen) == 1:
        raise _missing(label, header, "population", None)
    return chosen


def _missing(label: str, header: list[str], name: str, column: str | None) -> InputError:
    what = "ward number" if name == "key" else FIELD_LABELS[name]
    aliases = KEY_ALIASES if name == "key" else ALIASES[name]
    accepted = ", ".join(aliases) or "none (name the column)"
    issues = [
        Issue(
            "missing-column", f"columns in the table: {', '.join(map(repr, header))}", file=label
        ),
        Issue("missing-column", f"{what} column names recognised: {accepted}", file=label),
    ]
    if column is not None:
        return _error(label, issues, f"the {what} column {column!r} is not in the table")
    if name == "key":
        issues.append(
            Issue(
                "missing-column",
                f"without a ward number column the table is joined by ward name; name columns "
                f"recognised: {', '.join(NAME_ALIASES)}",
                file=label,
            )
        )
        return _error(label, issues, "no ward number column found")
    return _error(label, issues, "no population, households or poor households column found")


def _rows(
    header: list[str], records: list[tuple[int, list[str]]], columns: dict[str, str], label: str
) -> list[_Row]:
    index = {name: header.index(column) for name, column in columns.items()}
    by_name = "name" in columns
    key_field = "name" if by_name else "key"
    issues: list[Issue] = []
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    for line, record in records:
        cells = {name: record[i] if i < len(record) else "" for name, i in index.items()}
        ward = clean_text(cells[key_field]) if by_name else normalise_id(cells[key_field])
        if ward is None:
            what = "ward name" if by_name else "ward number"
            issues.append(_row_issue(label, line, columns[key_field], "", f"has no {what}"))
            continue
        seen = name_key(ward) if by_name else id_key(ward)
        if seen in first_line:
            message = f"ward {ward} appears again (first on line {first_line[seen]})"
            issues.append(_row_issue(label, line, columns[key_field], cells[key_field], message))
            continue
        first_line[seen] = line
        values: dict[str, float] = {}
        for name in VALUE_FIELDS:
            if name not in cells:
                continue
            try:
                values[name] = parse_count(cells[name])
            except ValueProblem as exc:
                issues.append(_row_issue(label, line, columns[name], cells[name], str(exc)))
        rows.append(_Row(line, ward, values))
    if issues:
        raise _error(label, issues, f"{len(issues)} problem(s) in the table")
    return rows


def _row_issue(label: str, line: int, column: str, value: str, message: str) -> Issue:
    return Issue("bad-row", f"line {line}: {message}", file=label, field=column, value=echo(value))


def _apply(
    layer: WardLayer, rows: list[_Row], columns: dict[str, str], label: str
) -> tuple[gpd.GeoDataFrame, list[str], Matching]:
    wards = layer.wards.copy()
    matching = _match(wards, rows, columns, label)
    notes: list[str] = []
    overridden: list[str] = []
    for r, position in matching.pairs.items():
        for name, value in rows[r].values.items():
            if math.isnan(value):
                continue
            old = float(wards[name].iloc[position])
            if not math.isnan(old) and old != value:
                overridden.append(f"{wards['ward_id'].iloc[position]} {name} {old:g} → {value:g}")
            wards.iloc[position, wards.columns.get_loc(name)] = value
    order = sorted(columns, key=lambda name: name not in ("key", "name"))
    used = ", ".join(f"{name} ← {columns[name]!r}" for name in order)
    how = "by ward name" if "name" in columns else "by ward number"
    notes.append(f"joined {label} {how} on {used}")
    if matching.inexact:
        notes.append(
            _listing(f"{len(matching.inexact)} pairing(s) were not exact", matching.inexact)
        )
    if overridden:
        notes.append(_listing(f"{label} replaced {len(overridden)} layer value(s)", overridden))
    unmatched = [rows[r].key for r in matching.unmatched_rows(len(rows))]
    if unmatched:
        notes.append(_listing(f"{len(unmatched)} table row(s) match no ward", unmatched))
    lacking = [str(wards["ward_id"].iloc[w]) for w in matching.unmatched_wards(len(wards))]
    if lacking:
        notes.append(_listing(f"{len(lacking)} ward(s) have no row in {label}", lacking))
    _refuse_unjoined(wards, matching, rows, columns, label)
    return wards, notes, matching


def _match(
    wards: gpd.GeoDataFrame, rows: list[_Row], columns: dict[str, str], label: str
) -> Matching:
    keys = [row.key for row in rows]
    if "key" in columns:
        return match_ids([str(w) for w in wards["ward_id"]], keys)
    names = [clean_text(n) for n in wards["ward_name"]]
    if not any(names):
        issue = Issue(
            "missing-column",
            f"the table has ward names ({columns['name']!r}) but no ward numbers, and the layer "
            "has no ward names to join them to: name the table's ward number column "
            "(--table-key, the upload's `table_key`) or the layer's name column (--name-field)",
            file=label,
        )
        raise _error(label, [issue], "nothing to join the ward names to")
    return match_names(names, keys)


def _refuse_unjoined(
    wards: gpd.GeoDataFrame,
    matching: Matching,
    rows: list[_Row],
    columns: dict[str, str],
    label: str,
) -> None:
    """Refuse when wards are left with no figure at all while table rows found no ward."""
    free_rows = matching.unmatched_rows(len(rows))
    empty = [
        w
        for w in matching.unmatched_wards(len(wards))
        if all(math.isnan(float(wards[c].iloc[w])) for c in VALUE_FIELDS)
    ]
    if not empty or not free_rows:
        return
    by_name = "name" in columns
    shown = [
        str(wards["ward_name" if by_name else "ward_id"].iloc[w] or wards["ward_id"].iloc[w])
        for w in empty
    ]
    lines = side_by_side(shown, [rows[r].key for r in free_rows], matching.likely)
    hint = (
        "if the table's ward numbers are in another column, name it with --table-key (the "
        "upload's `table_key`); leave out features that are not wards with --exclude "
        "(`exclude`); or correct the ids in the table"
    )
    issues = [Issue("unmatched", line, file=label) for line in lines]
    issues.append(Issue("unmatched", hint, file=label))
    title = (
        f"{len(empty)} ward(s) got no figure from the table and {len(free_rows)} table row(s) "
        "match no ward"
    )
    raise InputError(f"{label}: {title}", issues, code="unmatched-join")


def _listing(title: str, items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    more = f" … and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return f"{title}: {shown}{more}"


#: Ward-level poverty columns recognised in a poverty table, best first: households …
POOR_ALIASES = (
    "poor_households",
    "slum_households",
    "bpl_households",
    "poor_hh",
    "slum_hh",
    "bpl_hh",
)
#: … or persons, divided by the household size.
POOR_PERSONS_ALIASES = ("slum_population", "slum_pop", "poor_population", "bpl_population")


def join_poverty_table(
    layer: WardLayer,
    table: Path | FileBytes,
    *,
    household_size: float,
    key: str | None = None,
    column: str | None = None,
) -> WardLayer:
    """A copy of ``layer`` whose ``poor_households`` come from a ward-level poverty table.

    The table is read and joined like the census table (ward number or name, forgiving and
    reported). Its figure is poor or slum households (``POOR_ALIASES``), or slum/poor persons
    (``POOR_PERSONS_ALIASES``) divided by ``household_size``. ``column`` names it explicitly (a
    persons column is recognised by its name containing "pop"). Each joined ward's source is
    recorded in ``poverty_sources``; wards without a row keep the flat estimate.
    """
    label = table.name
    digest, text = _read_text(table, label)
    header, records = _parse_csv(text, label)
    columns = _poverty_columns(header, label, key, column)
    persons = columns["poor_households"] in header and _is_persons(columns["poor_households"])
    rows = _rows(header, records, columns, label)
    if persons:
        rows = [
            replace(r, values={n: v / household_size for n, v in r.values.items()}) for r in rows
        ]
    wards, notes, matching = _apply(layer, rows, columns, label)
    figure = columns["poor_households"]
    how = f"{figure} ÷ household size {household_size:g}" if persons else figure
    sources = {
        str(wards["ward_id"].iloc[w]): f"poverty table {label} ({how})"
        for r, w in matching.pairs.items()
        if not math.isnan(rows[r].values.get("poor_households", math.nan))
    }
    if persons:
        notes.append(f"{label}: poor households = {figure} ÷ household size {household_size:g}")
    return replace(
        layer,
        wards=wards,
        sources=[*layer.sources, SourceFile(label, digest)],
        warnings=[*layer.warnings, *notes],
        poverty_sources={**layer.poverty_sources, **sources},
    )


def _is_persons(column: str) -> bool:
    return "pop" in column.casefold() or column in POOR_PERSONS_ALIASES


def _poverty_columns(
    header: list[str], label: str, key: str | None, column: str | None
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for name, explicit in (("key", key), ("poor_households", column)):
        if explicit is not None and explicit not in header:
            raise _missing(label, header, "key" if name == "key" else "poor_households", explicit)
    found_key = key or find_column(header, KEY_ALIASES)
    if found_key is not None:
        chosen["key"] = found_key
    else:
        name_column = find_column(header, NAME_ALIASES)
        if name_column is None:
            raise _missing(label, header, "key", None)
        chosen["name"] = name_column
    figure = column or find_column(header, (*POOR_ALIASES, *POOR_PERSONS_ALIASES))
    if figure is None:
        listed = ", ".join((*POOR_ALIASES, *POOR_PERSONS_ALIASES))
        issues = [
            Issue("missing-column", f"columns in the table: {', '.join(map(repr, header))}"),
            Issue("missing-column", f"poverty column names recognised: {listed}", file=label),
        ]
        raise _error(label, issues, "no poverty column found (poor or slum households/persons)")
    chosen["poor_households"] = figure
    return chosen
