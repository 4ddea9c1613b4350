"""Text kept exactly: what would make GDAL change a name silently is found before it reads.

- A NUL inside a text value would end it early (GDAL's strings end at NUL): a DBF character field
  holding one (beyond trailing padding), a raw NUL byte in a GeoJSON, an escaped ``\\u0000``.
- An unpaired surrogate escape in a GeoJSON string (``"\\ud800"``) would become U+FFFD.
- A DBF's bytes decide its encoding when they are valid UTF-8 (``dbf_is_utf8``): a ``.cpg``
  saying 1252 over UTF-8 Devanagari would otherwise give mojibake.

Each refusal names the feature (0-based) and the field.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gis.errors import Issue

#: An escape that may spell a NUL or a surrogate in JSON text.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DBF_HEADER = struct.Struct("<xxxxIHH")
_MAX_ISSUES = 100


def string_problem(text: str) -> str | None:
    """Why a string cannot be kept exactly (NUL, unpaired surrogate), or ``None``."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which would cut the text short"
    found = _SURROGATE.search(text)
    if found:
        return (
            f"contains an unpaired surrogate (U+{ord(found.group()):04X}), which is not a "
            "character and cannot be stored"
        )
    return None


def client_text_problem(text: str) -> str | None:
    """Why a client's text (an id, a name) is refused: NUL, unpaired surrogates, control and
    bidi characters, or U+FFFD (what bytes that were not UTF-8 became); else ``None``."""
    from gis.attributes import text_problem

    problem = string_problem(text) or text_problem(text)
    if problem is None and "\ufffd" in text:
        problem = "contains U+FFFD, the mark of bytes that were not UTF-8"
    return problem


def geojson_text_issues(data: bytes, label: str) -> list[Issue]:
    """NULs (raw or escaped) and unpaired surrogate escapes in a GeoJSON's strings."""
    issues: list[Issue] = []
    if b"\x00" in data:
        at = data.index(b"\x00")
        issues.append(
            Issue(
                "bad-text",
                f"the file contains a raw NUL byte (at byte {at}), which would cut a text short",
                file=label,
            )
        )
        return issues
    if not _RISKY_ESCAPE.search(data):
        return issues
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return issues  # GDAL's own reader reports what is wrong with the JSON
    for feature, key, text in _geojson_strings(doc):
        problem = string_problem(text)
        if problem:
            issues.append(
                Issue(
                    "bad-text", f"{_named(key)} {problem}", file=label, feature=feature, field=key
                )
            )
            if len(issues) >= _MAX_ISSUES:
                break
    return issues


def _named(key: str | None) -> str:
    return "a property name" if key is None else "the value"


def _geojson_strings(doc: Any) -> Iterator[tuple[int | None, str | None, str]]:
    """(feature index, property, text) of every string in the document's features, then of the
    rest of the document (feature ``None``)."""
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(features, list):
        for index, feature in enumerate(features):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict):
                for key, value in props.items():
                    if string_problem(key):
                        yield index, None, key
                    for text in _strings(value):
                        yield index, _safe_key(key), text
    rest = {k: v for k, v in doc.items() if k != "features"} if isinstance(doc, dict) else doc
    for text in _strings(rest):
        yield None, None, text


def _safe_key(key: str) -> str:
    return key if string_problem(key) is None else key.encode("utf-8", "backslashreplace").decode()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def dbf_fields(dbf: Path) -> tuple[list[tuple[str, str, int]], int, int, int]:
    """The DBF's (name, type, length) fields, record count, header length and record length."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return [], 0, 0, 0
        records, header_len, record_len = _DBF_HEADER.unpack_from(head)
        fields = []
        while len(descriptor := fh.read(32)) == 32 and descriptor[0] != 0x0D:
            name = descriptor[:11].split(b"\x00", 1)[0].decode("latin-1")
            fields.append((name, chr(descriptor[11]), descriptor[16]))
    return fields, records, header_len, record_len


def dbf_text_values(dbf: Path) -> Iterator[tuple[int, str, bytes]]:
    """(record, field, raw bytes) of every character field of the DBF, padding kept."""
    fields, records, header_len, record_len = dbf_fields(dbf)
    if not fields or record_len <= 1:
        return
    with dbf.open("rb") as fh:
        fh.seek(header_len)
        for record in range(records):
            row = fh.read(record_len)
            if len(row) < record_len:
                return
            offset = 1  # the deletion flag
            for name, kind, length in fields:
                if kind == "C":
                    yield record, name, row[offset : offset + length]
                offset += length


def dbf_nul_issues(dbf: Path, label: str) -> list[Issue]:
    """A NUL inside a character value (not only as trailing padding) would cut the text."""
    issues = []
    for record, name, raw in dbf_text_values(dbf):
        if b"\x00" in raw.rstrip(b"\x00 "):
            shown = raw.rstrip(b"\x00 ").decode("latin-1").replace("\x00", "\\x00")
            issues.append(
                Issue(
                    "bad-text",
                    "the value contains a NUL character (U+0000), which would cut the text short",
                    file=label,
                    feature=record,
                    field=name,
                    value=shown[:100],
                )
            )
            if len(issues) >= _MAX_ISSUES:
                break
    return issues


def dbf_is_utf8(dbf: Path) -> bool:
    """Whether the DBF's non-ASCII text is all valid UTF-8 (and there is some).

    Windows-1252 or Latin-1 text is valid UTF-8 only when it happens to hold a lead byte followed
    by the right number of continuation bytes ("Ã©"), which real names do not: such text is
    read as UTF-8, and the choice is reported.
    """
    seen = False
    for _record, _name, raw in dbf_text_values(dbf):
        value = raw.rstrip(b"\x00 ")
        if value.isascii():
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return False
        seen = True
    return seen


def declared_encoding(shp: Path) -> str:
    with shp.with_suffix(".cpg").open("rb") as fh:
        return fh.read(64).decode("latin-1").strip()


def names_utf8(declared: str | None) -> bool:
    return declared is not None and declared.upper().replace("-", "").replace("_", "") in {
        "UTF8",
        "65001",
    }


def utf8_note(declared: str | None) -> str:
    if declared is None:
        return (
            "the shapefile has no .cpg file; its text is UTF-8 and was read as such "
            "(add a .cpg file containing 'UTF-8' to make this explicit)"
        )
    return (
        f"the shapefile's .cpg says {declared!r}, but its text is valid UTF-8 (which text in "
        f"{declared!r} practically never is): it was read as UTF-8; correct the .cpg to "
        "'UTF-8'"
    )


def frame_text_issues(frame: Any, label: str) -> list[Issue]:
    """Every string GDAL gave, in any column, must be storable exactly (no NUL, no surrogate)."""
    issues = []
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        problem = string_problem(str(column))
        if problem:
            issues.append(Issue("bad-text", f"a column name {problem}", file=label))
            continue
        for index, value in enumerate(frame[column].tolist()):
            problem = string_problem(value) if isinstance(value, str) else None
            if problem:
                issues.append(
                    Issue(
                        "bad-text", f"the value {problem}", file=label, feature=index, field=column
                    )
                )
    return issues
