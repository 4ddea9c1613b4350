"""The file side of reading a ward layer: size and format sniffed from the bytes, archive and
content checks, and the GDAL read itself (in the sandboxed child, see ``gis.sandbox``).

Steps 1 and 2 of :mod:`gis.io`'s pipeline; what comes back is the layer as the file holds it, before
any normalisation.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.parsers import expat

import geopandas as gpd
import pyogrio
import shapely

from gis.archive import extract_shapefile
from gis.attributes import (
    echo,
)
from gis.errors import InputError, Issue
from gis.layer import FileBytes
from gis.sandbox import parse_in_sandbox
from gis.text import (
    dbf_is_utf8,
    dbf_nul_issues,
    declared_encoding,
    geojson_text_issues,
    names_utf8,
    utf8_note,
)

#: Largest upload accepted (bytes of the file as uploaded).
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
_SUFFIX = {"geojson": ".geojson", "kml": ".kml", "gpkg": ".gpkg"}
_FORMAT_NAMES = "a zipped shapefile (.zip), GeoJSON, KML or GeoPackage"
_KML_REFUSED = (b"<!doctype", b"<!entity", b"<networklink")
#: Content that makes GDAL open something else than the file: a VRT (any driver probes for it in
#: the header) or a GDALG pipeline (a JSON file GDAL runs); both may name URLs and local files.
_INDIRECTIONS = (b"<ogrvrtdatasource", b"gdal_streamed_alg")
#: Formats GDAL is told to use by a driver prefix (the others are pinned by their content).
_DRIVER_PREFIX = {"geojson": "GeoJSON:", "gpkg": "GPKG:"}
#: GDAL settings for reading untrusted files: ``/vsicurl/`` may open no URL at all (a VRT or
#: pipeline that slipped through could otherwise fetch one).
NO_NETWORK_GDAL_CONFIG = {"CPL_VSIL_CURL_ALLOWED_FILENAME": "/wardplan-reads-no-urls"}
#: GDAL drivers a parse may use, per format sniffed from the bytes (``GDAL_SKIP`` drops the rest).
ALLOWED_DRIVERS: dict[str, tuple[str, ...]] = {
    "geojson": ("GeoJSON",),
    "gpkg": ("GPKG",),
    "kml": ("KML", "LIBKML"),
    "zip": ("ESRI Shapefile",),
}
_GEOJSON_CRS = re.compile(r"^urn:ogc:def:crs:(?:OGC:1\.3:CRS84|EPSG::\d{4,6})$|^EPSG:\d{4,6}$")


@dataclass
class _Source:
    """A layer as read from the file, before any normalisation."""

    frame: gpd.GeoDataFrame
    declares_crs: bool
    warnings: list[str] = field(default_factory=list)


# --- the file -----------------------------------------------------------------------------------


def file_error(label: str, message: str, code: str = "bad-file") -> InputError:
    """A whole-file problem."""
    return InputError(f"{label}: {message}", [Issue(code, message, file=label)], code=code)


def _sha256(path: Path | FileBytes, label: str) -> str:
    """The SHA-256 of the file (a path, or bytes as received), refused if missing or too large."""
    if isinstance(path, FileBytes):
        _check_size(len(path.data), label)
        return hashlib.sha256(path.data).hexdigest()
    if not path.is_file():
        raise file_error(label, "no such file", "missing-file")
    _check_size(path.stat().st_size, label)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _check_size(size: int, label: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        raise file_error(label, f"the file is {size} bytes; the limit is {limit} MB", "too-large")


def file_sha256(path: Path | FileBytes, label: str) -> str:
    """The SHA-256 of a file given as a path or as the bytes received (refused if missing or too
    large), so a reader of either needs no copy on disk to name its source."""
    return _sha256(path, label)


def _head(path: Path | FileBytes) -> bytes:
    if isinstance(path, FileBytes):
        return path.data[:4096]
    with path.open("rb") as fh:
        return fh.read(4096)


def sniff_format(path: Path | FileBytes, label: str) -> str:
    """``zip``, ``gpkg``, ``kml`` or ``geojson``, decided from the first bytes of the file."""
    head = _head(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"\x00\x00\x27\x0a"):
        raise file_error(
            label,
            "this is a bare .shp; upload a .zip holding the .shp with its .shx, .dbf and .prj",
            "unsupported-format",
        )
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"<") and b"<kml" in head.lower():
        return "kml"
    raise file_error(label, f"not {_FORMAT_NAMES}", "unsupported-format")


def _read_sandboxed(path: Path | FileBytes, label: str, *, crs_given: bool) -> _Source:
    """``_read_source`` run in a sandboxed child process (``gis.sandbox``), with GDAL allowed
    only the drivers of the format the bytes show. Bytes as received are handed to the sandbox,
    which gives them to GDAL in its own private folder."""
    drivers = ALLOWED_DRIVERS[sniff_format(path, label)]
    parsed = parse_in_sandbox(path, label=label, crs_given=crs_given, drivers=drivers)
    return _Source(parsed.frame, parsed.declares_crs, parsed.warnings)


def _read_source(path: Path, tmp: Path, label: str, *, crs_given: bool) -> _Source:
    kind = sniff_format(path, label)
    if kind == "zip":
        return _read_zip(path, tmp, label, crs_given=crs_given)
    staged = tmp / f"upload{_SUFFIX[kind]}"
    shutil.copyfile(path, staged)
    _check_indirection(staged, label)
    declares_crs = True
    if kind == "geojson":
        _raise_text_issues(geojson_text_issues(staged.read_bytes(), label), label)
        declares_crs = _check_geojson_crs(staged, label)
    elif kind == "kml":
        _check_kml(staged, label)
    gdal_path = _DRIVER_PREFIX.get(kind, "") + str(staged)
    layer = _choose_layer(gdal_path, kind, label, tmp)
    frame, notes = _read_frame(gdal_path, label, tmp, layer=layer)
    if kind == "gpkg" and frame.crs is None:
        declares_crs = False
    return _Source(frame, declares_crs, notes)


def _read_zip(path: Path, tmp: Path, label: str, *, crs_given: bool) -> _Source:
    staged = tmp / "upload.zip"
    shutil.copyfile(path, staged)
    dest = tmp / "extracted"
    dest.mkdir()
    found = extract_shapefile(staged, dest, label=label, crs_given=crs_given)
    dbf = found.shp.with_suffix(".dbf")
    _raise_text_issues(dbf_nul_issues(dbf, label), label)
    declared = declared_encoding(found.shp) if found.has_cpg else None
    if dbf_is_utf8(dbf) and not names_utf8(declared):
        frame, notes = _read_frame(found.shp, label, tmp, encoding="UTF-8")
        notes.append(utf8_note(declared))
    else:
        frame, notes = _read_frame(found.shp, label, tmp)
        if not found.has_cpg:
            frame, more = _fix_encoding(frame, found.shp, label, tmp)
            notes.extend(more)
    declares = found.has_prj and frame.crs is not None
    return _Source(frame, declares, found.warnings + notes)


def _raise_text_issues(issues: list[Issue], label: str) -> None:
    if issues:
        raise InputError(
            f"{label}: {len(issues)} text value(s) cannot be kept exactly", issues, code="bad-text"
        )


def _check_geojson_crs(staged: Path, label: str) -> bool:
    """Whether the GeoJSON declares a CRS; refuses a ``crs`` member GDAL would have to fetch.

    Also refuses an escaped NUL (``\\u0000``): GDAL would silently cut the text there.
    """
    data = staged.read_bytes()
    if b"\\u0000" in data:
        raise file_error(
            label,
            "the GeoJSON contains a NUL character (\\u0000), which is not accepted in any text",
            "bad-geojson",
        )
    if b'"crs"' not in data:
        return False
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise file_error(label, "the GeoJSON is not valid JSON", "bad-geojson") from None
    member = doc.get("crs") if isinstance(doc, dict) else None
    if member is None:
        return False
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if member.get("type") != "name" or not isinstance(name, str) or not _GEOJSON_CRS.match(name):
        raise file_error(
            label,
            f"the GeoJSON 'crs' member {echo(json.dumps(member))} is not accepted: use a named CRS "
            "such as urn:ogc:def:crs:OGC:1.3:CRS84, or drop the member (WGS 84 is the default)",
            "bad-crs",
        )
    return True


def _check_indirection(staged: Path, label: str) -> None:
    """Refuse a file whose content would make GDAL read another dataset (see ``_INDIRECTIONS``)."""
    lowered = staged.read_bytes().lower()
    for marker in _INDIRECTIONS:
        if marker in lowered:
            raise file_error(
                label,
                f"the file contains {marker.decode().lstrip('<')!r}: GDAL virtual datasets and "
                "pipelines are not accepted; upload the ward layer itself",
                "unsupported-format",
            )


def _check_kml(staged: Path, label: str) -> None:
    """Refuse DTDs, entities and network links, then parse the XML (no DTD, no entities): it
    must be well formed with ``kml`` as its one root element, so no other driver can claim it."""
    lowered = staged.read_bytes().lower()
    for marker in _KML_REFUSED:
        if marker in lowered:
            what = marker.decode().lstrip("<")
            raise file_error(
                label,
                f"the KML contains {what!r}, which is not accepted (save a plain KML)",
                "bad-kml",
            )
    elements: list[str] = []

    def start(name: str, _attrs: object) -> None:
        local = name.rsplit(":", 1)[-1]
        if not elements and local != "kml":
            raise _KmlRefused(f"its root element is {echo(name)}, not kml")
        if local.casefold() == "networklink":
            raise _KmlRefused("it contains a NetworkLink, which is not accepted")
        elements.append(local)

    def refuse(*_args: object) -> Any:
        raise _KmlRefused("it declares a DTD or entities, which are not accepted")

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        with staged.open("rb") as fh:
            parser.ParseFile(fh)
    except _KmlRefused as exc:
        raise file_error(label, f"the KML was refused: {exc}", "bad-kml") from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code)
        raise file_error(
            label, f"the KML is not well-formed XML ({reason}, line {exc.lineno})", "bad-kml"
        ) from None


class _KmlRefused(Exception):
    pass


@cache
def _no_network() -> None:
    """Apply ``NO_NETWORK_GDAL_CONFIG`` (process-wide, once): nothing this process reads with GDAL
    needs ``/vsicurl/``, and the OGC API client in the tests uses plain HTTP, not ``/vsicurl/``."""
    pyogrio.set_gdal_config_options(NO_NETWORK_GDAL_CONFIG)


def _choose_layer(staged: str, kind: str, label: str, tmp: Path) -> str | None:
    """The one ward layer of a GeoPackage or KML; ``None`` for single-layer formats."""
    if kind == "geojson":
        return None
    _no_network()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # _read_frame reports what GDAL says about the layer
        try:
            layers = [(str(name), str(gtype)) for name, gtype in pyogrio.list_layers(staged)]
            if kind == "gpkg":
                usable = [name for name, gtype in layers if "polygon" in gtype.lower()]
            else:
                usable = [name for name, _ in layers if _feature_count(staged, name) != 0]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _gdal_error(label, tmp, exc) from None
    if len(usable) == 1:
        return usable[0]
    listed = ", ".join(f"{name!r} ({gtype})" for name, gtype in layers) or "none"
    if not usable:
        raise file_error(label, f"no polygon layer in the file (layers: {listed})", "no-layer")
    raise file_error(
        label,
        f"{len(usable)} candidate layers ({', '.join(map(repr, usable))}); upload a file holding "
        f"only the ward layer (layers: {listed})",
        "several-layers",
    )


def _feature_count(staged: str, layer: str) -> int:
    return int(pyogrio.read_info(staged, layer=layer)["features"])


def _read_frame(
    shp_or_file: Path | str,
    label: str,
    tmp: Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read with pyogrio; warnings GDAL raises while reading are returned as notes, not leaked.

    ``shp_or_file`` is always a path the server made (with a driver prefix where GDAL has one).
    """
    _no_network()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # A geometry GEOS cannot build (a ring of two points) becomes None, refused per
            # feature by geometry_problem instead of failing the whole read.
            frame = pyogrio.read_dataframe(
                shp_or_file, layer=layer, encoding=encoding, on_invalid="ignore"
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _gdal_error(label, tmp, exc) from None
        except (
            pyogrio.errors.GeometryError,
            pyogrio.errors.FieldError,
            shapely.errors.GEOSException,
        ) as exc:
            raise _gdal_error(label, tmp, exc) from None
    notes = [f"reader: {_scrub(str(w.message), tmp)}" for w in caught]
    if not isinstance(frame, gpd.GeoDataFrame):
        raise file_error(label, "the file has no geometry column", "no-geometry")
    return frame, notes


def _scrub(message: str, tmp: Path) -> str:
    """A GDAL message without our temporary paths, truncated."""
    cleaned = message.replace(str(tmp) + "/", "").replace(str(tmp), "")
    return cleaned if len(cleaned) <= 300 else cleaned[:299] + "…"


def _gdal_error(label: str, tmp: Path, exc: Exception) -> InputError:
    return file_error(label, f"could not be read: {_scrub(str(exc), tmp)}", "unreadable")


def _fix_encoding(
    frame: gpd.GeoDataFrame, shp: Path, label: str, tmp: Path
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A shapefile without .cpg is decoded as Latin-1; if its text is really UTF-8, re-read it."""
    texts = [
        v for c in frame.columns if c != "geometry" for v in frame[c].tolist() if isinstance(v, str)
    ]
    foreign = [v for v in texts if not v.isascii()]
    if not foreign:
        return frame, []
    if all(_is_utf8_mojibake(v) for v in foreign):
        frame, notes = _read_frame(shp, label, tmp, encoding="UTF-8")
        return frame, [
            *notes,
            "the shapefile has no .cpg file; its text is UTF-8 and was read as such "
            "(add a .cpg file containing 'UTF-8' to make this explicit)",
        ]
    return frame, [
        "the shapefile has no .cpg file; text was decoded as Latin-1 (ISO-8859-1): check that "
        "names are right, and add a .cpg file naming the encoding (e.g. 'UTF-8')"
    ]


def _is_utf8_mojibake(text: str) -> bool:
    try:
        text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


# --- CRS ----------------------------------------------------------------------------------------
