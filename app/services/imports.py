"""Import a state in one step: a manifest (CSV or XLSX) and the files it names (a folder or a zip).

One manifest row per city: state, district, city, ward file, census table, field options, COs in
post, CMMs in post (and, optionally, city name, LGD code and an organisers CSV). Each city is stored
all or nothing in a savepoint of its own, through the same services as a single upload (the layer,
the roster); one city's bad file does not stop the others. The answer lists, per city, what was
stored, what the upload repaired and what was refused, with the reasons.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from sqlalchemy.orm import Session

from app.core.errors import DomainError
from app.services import audit, cities, layers, organisers
from app.services.layers import LayerOptions, Upload
from gis.errors import InputError, Issue
from gis.fields import FieldMapping

REQUIRED: Final = ("state", "district", "city", "ward_file")
OPTIONAL: Final = (
    "census_table",
    "field_options",
    "cos_in_post",
    "cmms_in_post",
    "city_name",
    "lgd_code",
    "organisers",
)
#: The field options a row may set (``key=value; …``), as in a single upload's form.
MAPPING_KEYS: Final = (
    "id_field",
    "name_field",
    "zone_field",
    "population_field",
    "households_field",
    "poor_households_field",
)
#: Largest file a manifest may name (bytes).
MAX_FILE: Final = 200 * 1024 * 1024
MANIFEST_NAMES: Final = ("manifest.csv", "manifest.xlsx")


class RowRefused(Exception):
    """A manifest row that cannot be stored; its reasons are listed in the answer."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class CityOutcome:
    row: int
    city: str
    stored: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "refused" if self.refused else "stored"


@dataclass(frozen=True)
class StateImport:
    state: str
    manifest: str
    cities: list[CityOutcome]


# -- where the files are ---------------------------------------------------------------------------


class Files:
    """The files a manifest names, from a folder or a zip; names are relative, ``/``-separated."""

    def __init__(self, read: Callable[[str], bytes | None]):
        self._read = read

    def read(self, name: str) -> bytes:
        data = self._read(str(PurePosixPath(name.strip().replace("\\", "/"))))
        if data is None:
            raise RowRefused([f"file {name!r} is not in the folder or zip"])
        return data

    @classmethod
    def folder(cls, root: Path) -> Files:
        base = root.resolve()

        def read(name: str) -> bytes | None:
            path = (base / name).resolve()
            if not path.is_relative_to(base) or not path.is_file():
                return None
            if path.stat().st_size > MAX_FILE:
                raise RowRefused([f"file {name!r} is larger than {MAX_FILE // 2**20} MiB"])
            return path.read_bytes()

        return cls(read)

    @classmethod
    def archive(cls, data: bytes, label: str) -> Files:
        try:
            bundle = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise InputError(
                f"{label} is not a zip archive",
                [Issue("bad-zip", str(exc), file=label)],
                code="bad-zip",
            ) from exc
        members = {i.filename: i for i in bundle.infolist() if not i.is_dir()}

        def read(name: str) -> bytes | None:
            info = members.get(name)
            if info is None:
                return None
            if info.file_size > MAX_FILE:
                raise RowRefused([f"file {name!r} is larger than {MAX_FILE // 2**20} MiB"])
            return bundle.read(info)

        return cls(read)


# -- the manifest ------------------------------------------------------------------------------------


def read_manifest(data: bytes, label: str) -> list[dict[str, str]]:
    """The manifest's rows as ``{column: text}`` (columns lowercased, spaces as ``_``)."""
    if label.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data, label)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{label} is not UTF-8 text",
                [Issue("bad-encoding", str(exc), file=label)],
                code="bad-manifest",
            ) from exc
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError(
            f"{label} is empty", [Issue("empty", "no rows", file=label)], code="bad-manifest"
        )
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if missing or unknown:
        issues = [
            Issue("missing-column", "a manifest needs it", file=label, field=c) for c in missing
        ]
        issues += [
            Issue("unknown-column", "not a manifest column", file=label, field=c) for c in unknown
        ]
        raise InputError(
            f"{label}: columns {', '.join(REQUIRED)} are required; optional: {', '.join(OPTIONAL)}",
            issues,
            code="bad-manifest",
        )
    return [
        {h: (r[k].strip() if k < len(r) else "") for k, h in enumerate(header) if h}
        for r in rows[1:]
    ]


def _xlsx_rows(data: bytes, label: str) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(
            f"{label} is not an XLSX workbook",
            [Issue("bad-xlsx", type(exc).__name__, file=label)],
            code="bad-manifest",
        ) from exc
    sheet = book.worksheets[0]
    rows = [
        ["" if v is None else _cell(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    book.close()
    return rows


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def layer_options(text: str) -> LayerOptions:
    """``id_field=WARD_NO; population_field=TOT_P; exclude=0|99; crs=EPSG:32643; table_key=ward``."""
    mapping: dict[str, str] = {}
    extra: dict[str, str] = {}
    bad: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not value:
            bad.append(f"field option {part!r} is not key=value")
        elif key in MAPPING_KEYS:
            mapping[key.removesuffix("_field")] = value
        elif key in ("crs", "table_key", "exclude", "merge"):
            extra[key] = value
        else:
            bad.append(f"unknown field option {key!r}")
    if bad:
        raise RowRefused(bad)
    return LayerOptions(
        mapping=FieldMapping(
            ward_id=mapping.get("id"),
            ward_name=mapping.get("name"),
            zone=mapping.get("zone"),
            population=mapping.get("population"),
            households=mapping.get("households"),
            poor_households=mapping.get("poor_households"),
        ),
        crs=extra.get("crs"),
        exclude_ids=_ids(extra.get("exclude", "")),
        merge_ids=_ids(extra.get("merge", "")),
        table_key=extra.get("table_key"),
    )


def _ids(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split("|") if v.strip())


def _count(row: dict[str, str], key: str) -> int | None:
    text = row.get(key, "")
    if not text:
        return None
    try:
        value = int(float(text))
    except ValueError:
        raise RowRefused([f"{key} {text!r} is not a whole number"]) from None
    if value != float(text) or value < 0:
        raise RowRefused([f"{key} {text!r} is not a whole number ≥ 0"])
    return value


# -- the import ---------------------------------------------------------------------------------------


def import_state(
    session: Session,
    state_code: str,
    manifest: Upload,
    files: Files,
    *,
    state_name: str | None = None,
    actor: str,
) -> StateImport:
    """Store every city of the manifest that can be stored; refuse, with reasons, the others."""
    state = (
        cities.ensure_state(session, state_code, state_name, actor=actor)
        if state_name
        else cities.get_state(session, state_code)
    )
    rows = read_manifest(manifest.data, manifest.filename)
    outcomes = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        outcome = CityOutcome(number, row.get("city", ""))
        try:
            with session.begin_nested():
                _import_row(session, state.code, state.name, row, files, outcome, actor)
        except RowRefused as exc:
            outcome.stored, outcome.refused = [], exc.reasons
        except InputError as exc:
            outcome.stored, outcome.refused = [], _reasons(exc)
        except DomainError as exc:
            outcome.stored, outcome.refused = [], [exc.detail or exc.title]
        outcomes.append(outcome)
    audit.record(
        session,
        actor,
        "state.import",
        "state",
        state.id,
        manifest=manifest.filename,
        stored=[o.city for o in outcomes if o.status == "stored"],
        refused={o.city: o.refused for o in outcomes if o.refused},
    )
    session.flush()
    return StateImport(state.code, manifest.filename, outcomes)


def _reasons(exc: InputError) -> list[str]:
    """The refusal's title and its first issues, each naming the file, feature, field and value."""
    shown = [
        str(i) + (f" (value {i.value!r})" if i.value is not None else "") for i in exc.issues[:10]
    ]
    more = [f"… and {len(exc.issues) - 10} more"] if len(exc.issues) > 10 else []
    return [exc.title, *shown, *more]


def _import_row(
    session: Session,
    state_code: str,
    state_name: str,
    row: dict[str, str],
    files: Files,
    outcome: CityOutcome,
    actor: str,
) -> None:
    """One city: its place and posts, its ward layer, its roster; raises to refuse it all."""
    reasons = [f"{c} is empty" for c in REQUIRED if not row.get(c)]
    given = row.get("state", "")
    if given and given.upper() != state_code and given.lower() != state_name.lower():
        reasons.append(f"state {given!r} is not {state_name} ({state_code})")
    if reasons:
        raise RowRefused(reasons)
    code = row["city"]
    options = layer_options(row.get("field_options", ""))
    fields = cities.CityFields(
        row.get("city_name") or None,
        _count(row, "lgd_code"),
        _count(row, "cos_in_post"),
        _count(row, "cmms_in_post"),
    )
    place = cities.Place(state_code, row["district"], fields.name)
    ward_file = files.read(row["ward_file"])
    table = row.get("census_table")
    stored = layers.upload_layer(
        session,
        code,
        Upload(PurePosixPath(row["ward_file"]).name, ward_file),
        population_table=Upload(PurePosixPath(table).name, files.read(table)) if table else None,
        options=options,
        place=place,
        actor=actor,
    )
    if fields != cities.CityFields():  # the row's name, LGD code or posts, for an existing city too
        cities.update_city(session, code, fields, actor=actor)
    files_named = f"{row['ward_file']}" + (f" and {table}" if table else "")
    if stored.identical:  # the same files and options as the city's current version
        outcome.stored.append(
            f"ward layer unchanged: {files_named} identical to version {stored.layer.version} "
            f"({stored.ward_count} wards); nothing new stored"
        )
    else:
        outcome.stored.append(
            f"ward layer version {stored.layer.version}: {stored.ward_count} wards "
            f"from {files_named}"
        )
        outcome.repaired.extend(stored.warnings)
    if row.get("organisers"):
        name = row["organisers"]
        result = organisers.import_organisers(
            session, code, Upload(PurePosixPath(name).name, files.read(name)), actor=actor
        )
        outcome.stored.append(f"{len(result.active)} organisers from {name}")
    posts = (("COs", fields.cos_in_post), ("CMMs", fields.cmms_in_post))
    if any(v is not None for _, v in posts):
        outcome.stored.append(
            ", ".join(f"{what} in post: {v}" for what, v in posts if v is not None)
        )


def manifest_in(files: Files, given: Upload | None) -> Upload:
    """The manifest sent on its own, or the one the folder or zip holds at its top level."""
    if given is not None:
        return given
    for name in MANIFEST_NAMES:
        try:
            return Upload(name, files.read(name))
        except RowRefused:
            continue
    raise InputError(
        "no manifest: send one, or put manifest.csv or manifest.xlsx in the folder or zip",
        [Issue("no-manifest", "not found", file=", ".join(MANIFEST_NAMES))],
        code="bad-manifest",
    )
