"""Safe extraction of an uploaded zipped shapefile into a directory the server made.

Everything is checked before a byte reaches GDAL: member names (no absolute paths, no ``..``, no
symlinks, no duplicates), encryption, nested archives, member count and the inflated size (counted
while inflating, so an archive that lies about its sizes is still stopped). Junk that archivers add
(``__MACOSX/``, ``._*``, ``.DS_Store``, ``Thumbs.db``) is skipped with a warning.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gis.errors import InputError, Issue

#: Inflated bytes allowed for one archive (all members together).
MAX_INFLATED_BYTES = 500 * 1024 * 1024
#: Inflated bytes per compressed byte allowed for one member, and for the whole archive (as
#: GeoNode's ``validate_safe_zip``): real ward layers stay under 20:1 (a DBF's padding), a zip
#: bomb is far above. Checked on the sizes the archive declares and again on the bytes inflated.
MAX_RATIO = 100
MAX_TOTAL_RATIO = 50
#: Ratios are only checked beyond this many inflated bytes (tiny members compress oddly).
RATIO_FLOOR = 1024 * 1024
#: Members allowed in one archive.
MAX_MEMBERS = 200
#: Shapefile sidecars that must sit next to the ``.shp``.
REQUIRED_SIDECARS = (".shx", ".dbf")

_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_ARCHIVE_SUFFIXES = {".zip", ".kmz", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz"}
_CHUNK = 1024 * 1024
_SHP_MAGIC = b"\x00\x00\x27\x0a"


@dataclass
class ExtractedShapefile:
    """The ``.shp`` found in an archive, which sidecars it has, and what was skipped."""

    shp: Path
    has_prj: bool
    has_cpg: bool
    warnings: list[str] = field(default_factory=list)


def extract_shapefile(
    archive: Path, dest: Path, *, label: str, crs_given: bool
) -> ExtractedShapefile:
    """Extract ``archive`` into ``dest`` and return its one shapefile.

    ``label`` is the file name shown to the user. Raises ``InputError`` for an unsafe or broken
    archive, for zero or several ``.shp`` files, and for missing ``.shx``/``.dbf`` (or ``.prj``
    unless the caller names the CRS).
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members, skipped = _safe_members(zf, label)
            _inflate(zf, members, dest, label)
    except zipfile.BadZipFile as exc:
        raise _archive_error(label, f"the zip archive is corrupt ({exc})") from None
    except (zlib.error, EOFError) as exc:
        raise _archive_error(label, f"the zip archive is corrupt ({exc})") from None
    except NotImplementedError:
        raise _archive_error(
            label, "the zip uses a compression method that is not supported; use plain Deflate"
        ) from None
    warnings = []
    if skipped:
        warnings.append(
            f"ignored {len(skipped)} archiver junk file(s) in the zip: {', '.join(skipped[:5])}"
            + (" …" if len(skipped) > 5 else "")
        )
    shp = _single_shp(dest, label)
    sidecars = {p.suffix.lower() for p in shp.parent.iterdir() if p.stem == shp.stem}
    missing = [s for s in REQUIRED_SIDECARS if s not in sidecars]
    if ".prj" not in sidecars and not crs_given:
        missing.append(".prj")
    if missing:
        raise _missing_sidecars(label, shp, dest, missing)
    with shp.open("rb") as fh:
        if fh.read(4) != _SHP_MAGIC:
            rel = shp.relative_to(dest)
            raise _archive_error(label, f"{rel} is not a shapefile (wrong file header)")
    fixed = _fixed_names(shp, dest)
    return ExtractedShapefile(fixed, ".prj" in sidecars, ".cpg" in sidecars, warnings)


def _fixed_names(shp: Path, dest: Path) -> Path:
    """Move the shapefile and its sidecars to ``<dest>-layer/wards.<ext>`` and return the .shp.

    Member names are chosen by whoever made the zip; GDAL (through pyogrio) gives meaning to
    parts of a path ("!", "://", ".zip"), so it only ever sees a name the server made.
    """
    fixed = dest.with_name(dest.name + "-layer")
    fixed.mkdir()
    for part in shp.parent.iterdir():
        if part.stem == shp.stem and part.is_file():
            part.rename(fixed / f"wards{part.suffix.lower()}")
    return fixed / "wards.shp"


def _archive_error(label: str, message: str) -> InputError:
    return InputError(
        f"{label}: the archive was refused",
        [Issue("bad-archive", message, file=label)],
        code="bad-archive",
    )


def _is_junk(name: PurePosixPath) -> bool:
    return (
        "__MACOSX" in name.parts
        or name.name.startswith("._")
        or name.name.casefold() in _JUNK_NAMES
    )


def _safe_members(zf: zipfile.ZipFile, label: str) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """The members to extract (directories and junk left out); refuses anything unsafe."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _archive_error(label, f"{len(infos)} members, more than the {MAX_MEMBERS} allowed")
    members: list[zipfile.ZipInfo] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for info in infos:
        name = _member_path(info, label)
        if info.is_dir():
            continue
        if _is_junk(name):
            skipped.append(info.filename)
            continue
        key = str(name).casefold()
        if key in seen:
            raise _archive_error(label, f"member {info.filename!r} appears more than once")
        seen.add(key)
        members.append(info)
    declared = sum(i.file_size for i in members)
    if declared > MAX_INFLATED_BYTES:
        raise _archive_error(label, _too_big(declared))
    for info in members:
        _check_ratio(label, info.filename, info.file_size, info.compress_size, MAX_RATIO)
    compressed = sum(i.compress_size for i in members)
    _check_ratio(label, None, declared, compressed, MAX_TOTAL_RATIO)
    return members, skipped


def _check_ratio(
    label: str, member: str | None, inflated: int, compressed: int, limit: float
) -> None:
    """Refuse ``inflated`` bytes from ``compressed`` beyond ``limit``:1 (past ``RATIO_FLOOR``)."""
    if inflated <= RATIO_FLOOR or inflated <= limit * max(compressed, 1):
        return
    what = f"member {member!r}" if member is not None else "the archive"
    raise _archive_error(
        label,
        f"{what} inflates to more than {limit:g} times its compressed size "
        f"({inflated:,} bytes or more from {compressed:,}): refused as a possible zip bomb",
    )


def _member_path(info: zipfile.ZipInfo, label: str) -> PurePosixPath:
    """The member's relative path; refuses absolute, traversing, linked, encrypted and nested."""
    raw = info.filename
    name = PurePosixPath(raw.replace("\\", "/"))
    if name.is_absolute() or (name.parts and name.parts[0].endswith(":")):
        raise _archive_error(label, f"member {raw!r} has an absolute path")
    if ".." in name.parts:
        raise _archive_error(label, f"member {raw!r} points outside the archive ('..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _archive_error(label, f"member {raw!r} is a symbolic link")
    if info.flag_bits & 0x1:
        raise _archive_error(label, f"member {raw!r} is encrypted; upload an unencrypted zip")
    if not info.is_dir() and not _is_junk(name) and name.suffix.casefold() in _ARCHIVE_SUFFIXES:
        raise _archive_error(label, f"member {raw!r} is an archive inside the archive; unpack it")
    return name


def _too_big(size: int) -> str:
    return (
        f"inflates to more than {MAX_INFLATED_BYTES // (1024 * 1024)} MB "
        f"({size // (1024 * 1024)} MB or more)"
    )


def _inflate(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], dest: Path, label: str) -> None:
    """Write ``members`` under ``dest``, counting real inflated bytes against the cap."""
    total = 0
    compressed = sum(i.compress_size for i in members)
    for info in members:
        target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("xb") as out:
                written = 0
                while chunk := src.read(_CHUNK):
                    total += len(chunk)
                    written += len(chunk)
                    if total > MAX_INFLATED_BYTES:
                        raise _archive_error(label, _too_big(total))
                    _check_ratio(label, info.filename, written, info.compress_size, MAX_RATIO)
                    _check_ratio(label, None, total, compressed, MAX_TOTAL_RATIO)
                    out.write(chunk)
        except OSError as exc:
            # A member named like a folder of another ("a" and "a/b.shp"), a name too long for
            # the file system …: the archive cannot be laid out as files, so it is refused.
            reason = exc.strerror or type(exc).__name__
            raise _archive_error(
                label, f"member {info.filename!r} cannot be extracted ({reason})"
            ) from None


def _single_shp(dest: Path, label: str) -> Path:
    found = sorted(p for p in dest.rglob("*") if p.is_file() and p.suffix.casefold() == ".shp")
    if len(found) == 1:
        return found[0]
    if not found:
        present = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
        listed = ", ".join(present[:20]) or "nothing"
        raise _archive_error(label, f"no .shp file in the zip (it holds: {listed})")
    listed = ", ".join(str(p.relative_to(dest)) for p in found)
    raise _archive_error(
        label, f"{len(found)} shapefiles in one zip ({listed}); upload one ward layer per zip"
    )


def _missing_sidecars(label: str, shp: Path, dest: Path, missing: list[str]) -> InputError:
    rel = shp.relative_to(dest)
    issues = [
        Issue(
            "missing-sidecar",
            f"{rel.with_suffix(ext)} is missing"
            + (" (or name the CRS, e.g. crs='EPSG:4326')" if ext == ".prj" else ""),
            file=label,
        )
        for ext in missing
    ]
    return InputError(
        f"{label}: the shapefile {rel} is incomplete ({', '.join(missing)} missing)",
        issues,
        code="missing-sidecar",
    )
