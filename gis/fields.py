"""Which source column holds which ward attribute, and how ward ids are normalised.

GIS cells name their columns in many ways (``WARD_NO``, ``Ward Num``, ``wardno`` …). A user may
name the column of any field explicitly with a ``FieldMapping``; every field left as ``None`` is
looked up among the aliases below, comparing names case-, space-, hyphen- and underscore-blind.

The ward id has one extra, deliberately narrow fallback: when no id alias matches, the column
``ward_name`` (any spelling) is used as the id if and only if every value in it is a whole number
(after leaving out the ids the user excluded). Chandigarh's published file keeps its ward numbers
in ``Ward_name``; a column of real names ("Hazarat Ganj") never qualifies, so names are never
silently turned into ids. When the fallback is used the column is not also used as the ward name,
and a warning says so. A bare ``name`` column never serves as id (in KML it is the placemark label).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields

import pandas as pd

from gis.errors import InputError, Issue


@dataclass(frozen=True)
class FieldMapping:
    """Source column names chosen explicitly by the user; ``None`` means "recognise by alias"."""

    ward_id: str | None = None
    ward_name: str | None = None
    zone: str | None = None
    population: str | None = None
    households: str | None = None
    poor_households: str | None = None


#: Accepted column names per field, best first. ``poor_households`` has none: it must be named.
ALIASES: dict[str, tuple[str, ...]] = {
    "ward_id": (
        "ward_id",
        "ward_no",
        "ward_num",
        "ward_number",
        "wardno",
        "wardnum",
        "ward",
    ),
    "ward_name": ("ward_name", "name"),
    "zone": ("zone", "zone_name", "zone_no"),
    "population": ("population", "pop_total", "tot_p", "total_population", "pop"),
    "households": ("households", "no_hh", "total_households", "hh"),
    "poor_households": (),
}

#: Name columns that may carry ward numbers instead (the last-resort id fallback, see module doc).
ID_FALLBACK_ALIASES: tuple[str, ...] = ALIASES["ward_name"][:1]

FIELD_LABELS = {
    "ward_id": "ward id",
    "ward_name": "ward name",
    "zone": "zone",
    "population": "population",
    "households": "households",
    "poor_households": "poor households",
}

_SEPARATORS = re.compile(r"[\s_\-]+")
_WHOLE_FLOAT = re.compile(r"^[+-]?\d+\.0*$")


@dataclass(frozen=True)
class ResolvedFields:
    """The columns actually used: field -> source column (or ``None`` when absent)."""

    columns: dict[str, str | None]
    warnings: tuple[str, ...] = ()

    def __getitem__(self, field_name: str) -> str | None:
        return self.columns[field_name]


def column_key(name: str) -> str:
    """A column name reduced for alias comparison: lower case, no spaces/underscores/hyphens."""
    return _SEPARATORS.sub("", name).casefold()


def find_column(columns: Iterable[str], aliases: Sequence[str]) -> str | None:
    """The column matching the best-ranked alias, or ``None``.

    Raises ``InputError`` when two different columns match the same alias (e.g. ``WARD_NO`` and
    ``Ward No``): guessing between them would be silent.
    """
    available = list(columns)
    for alias in aliases:
        hits = [c for c in available if column_key(c) == column_key(alias)]
        if len(hits) > 1:
            raise InputError(
                f"several columns could be {alias!r}: {', '.join(map(repr, hits))}",
                [Issue("ambiguous-column", "name the column to use explicitly")],
                code="ambiguous-column",
            )
        if hits:
            return hits[0]
    return None


def normalise_id(value: object) -> str | None:
    """A ward id as a stripped string; whole floats lose ".0" ("2.0" -> "2"); blank -> None."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    if not text:
        return None
    if _WHOLE_FLOAT.match(text):
        return text.split(".", 1)[0].lstrip("+")
    return text


def id_key(ward_id: str) -> str:
    """The form in which ward ids are compared: case-insensitive."""
    return ward_id.casefold()


def is_whole_number(value: object) -> bool:
    """True for 5, 5.0, "5", " 5.0 " — the shapes a ward number takes in real files."""
    text = normalise_id(value)
    return text is not None and text.lstrip("+-").isdigit()


def describe_aliases(field_name: str) -> str:
    """The accepted aliases of a field, for error messages."""
    aliases = ALIASES[field_name]
    if not aliases:
        return "none (name the column explicitly)"
    return ", ".join(aliases)


def missing_column_error(
    field_name: str,
    column: str | None,
    available: Sequence[str],
    hints: Sequence[Issue] = (),
    source: str | None = None,
) -> InputError:
    """The error for a missing field column, listing the columns there and the names accepted."""
    label = FIELD_LABELS[field_name]
    title = (
        f"no {label} column found"
        if column is None
        else f"the {label} column {column!r} is not in the file"
    )
    listed = ", ".join(map(repr, available)) or "none"
    issues = [
        Issue("missing-column", f"columns in the file: {listed}", file=source),
        Issue(
            "missing-column",
            f"{label} column names recognised: {describe_aliases(field_name)}",
            file=source,
        ),
        *hints,
    ]
    title = f"{source}: {title}" if source else title
    return InputError(title, issues, code="missing-column")


def resolve_fields(
    frame: pd.DataFrame,
    mapping: FieldMapping,
    *,
    exclude_ids: Collection[str] = (),
    source: str | None = None,
) -> ResolvedFields:
    """Choose the source column of every field: explicit names first, then aliases.

    Raises ``InputError`` when an explicitly named column is missing or no ward id column exists.
    Fields other than the ward id may stay unresolved (``None``): population, for instance, can be
    joined from a separate table later.
    """
    available = [str(c) for c in frame.columns if c != "geometry"]
    chosen: dict[str, str | None] = {}
    for spec in fields(FieldMapping):
        column = getattr(mapping, spec.name)
        if column is not None and column not in available:
            raise missing_column_error(spec.name, column, available, source=source)
        chosen[spec.name] = column

    notes: list[str] = []
    automatic = [name for name, column in chosen.items() if column is None]
    if chosen["ward_id"] is None:
        chosen["ward_id"] = _auto_id_column(frame, available, exclude_ids, notes, source)
    for name in automatic:
        if chosen[name] is None:
            used = {c for c in chosen.values() if c is not None}
            chosen[name] = find_column([c for c in available if c not in used], ALIASES[name])
    recognised = [f"{FIELD_LABELS[n]} ← {chosen[n]!r}" for n in automatic if chosen[n] is not None]
    if recognised:
        notes.insert(0, "columns recognised: " + ", ".join(recognised))
    return ResolvedFields(chosen, tuple(notes))


def _auto_id_column(
    frame: pd.DataFrame,
    available: Sequence[str],
    exclude_ids: Collection[str],
    notes: list[str],
    source: str | None,
) -> str:
    """The id column by alias, else a name column holding only ward numbers (see module doc)."""
    found = find_column(available, ALIASES["ward_id"])
    if found is not None:
        return found
    column = find_column(available, ID_FALLBACK_ALIASES)
    if column is None:
        raise missing_column_error("ward_id", None, available, source=source)
    excluded = {id_key(i) for i in (normalise_id(x) for x in exclude_ids) if i is not None}
    others = {
        index: text
        for index, text in enumerate(normalise_id(v) for v in frame[column].tolist())
        if text is not None and id_key(text) not in excluded and not is_whole_number(text)
    }
    if not others:
        notes.append(
            f"the file has no ward id column; all values of {column!r} are ward numbers, so they "
            "are used as ward ids (and not as ward names)"
        )
        return column
    hints = []
    if len(others) <= max(2, len(frame) // 10):
        listed = ", ".join(f"{text!r} (feature {index})" for index, text in others.items())
        hints.append(
            Issue(
                "missing-column",
                f"{column!r} holds ward numbers except {listed}: if those are not wards, leave "
                "them out (the upload's `exclude` field, `--exclude` on the command line), or "
                "name the id column explicitly",
                file=source,
            )
        )
    raise missing_column_error("ward_id", None, available, hints, source)
