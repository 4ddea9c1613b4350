"""Hostile and broken ward files, made from the real ones in ``../shared/data``, and a listener.

Every builder starts from a real file (Chandigarh's normalised GeoJSON, Lucknow's raw zipped
shapefile, a KML written from Chandigarh's wards) and breaks one thing, the way a careless tool or an
attacker would. ``Listener`` is a TCP server on 127.0.0.1 that records every connection: files
point at it, and after the upload it must have seen nothing.
"""

from __future__ import annotations

import json
import socket
import stat
import threading
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import geopandas as gpd

#: Lucknow's raw zip: members in a sub-folder with spaces, no .cpg, a .qpj beside the .prj.
LUCKNOW_ZIP = "lucknow/raw/Lucknow_ward_boundary-SHP.zip"
#: The first wards of Chandigarh's normalised layer: small enough to upload many times.
SMALL_WARDS = 6


class Listener:
    """A TCP server on 127.0.0.1 in a thread, recording the first bytes of every connection."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.requests.append(conn.recv(2048) or b"(connected, sent nothing)")
                except OSError:
                    self.requests.append(b"(connected)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


@contextmanager
def listening() -> Iterator[Listener]:
    listener = Listener()
    try:
        yield listener
    finally:
        listener.close()


@dataclass
class Base:
    """The real files every hostile file is made from."""

    geojson: dict[str, Any]
    zip_members: list[tuple[zipfile.ZipInfo, bytes]]
    kml: bytes
    data: Path

    def geojson_bytes(self, **extra: Any) -> bytes:
        return json.dumps({**self.geojson, **extra}, ensure_ascii=False).encode()

    def features(self) -> list[dict[str, Any]]:
        return json.loads(json.dumps(self.geojson["features"]))

    def with_features(self, features: list[dict[str, Any]]) -> bytes:
        return json.dumps({**self.geojson, "features": features}, ensure_ascii=False).encode()

    def with_property(self, index: int, key: str, value: Any) -> bytes:
        features = self.features()
        features[index]["properties"][key] = value
        return self.with_features(features)

    def with_geometry(self, index: int, geometry: Any) -> bytes:
        features = self.features()
        features[index]["geometry"] = geometry
        return self.with_features(features)

    def zip(self, *extra: tuple[str | zipfile.ZipInfo, bytes], drop: tuple[str, ...] = ()) -> bytes:
        """Lucknow's zip with ``extra`` members appended and members ending in ``drop`` left out."""
        out = BytesIO()
        with (
            warnings.catch_warnings(),  # duplicate names are one of the tricks
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf,
        ):
            warnings.simplefilter("ignore", UserWarning)
            for info, data in self.zip_members:
                if not info.filename.lower().endswith(drop or ("\0",)):
                    zf.writestr(info, data)
            for name, data in extra:
                zf.writestr(name, data)
        return out.getvalue()


def load_base(data: Path, tmp: Path) -> Base:
    full = json.loads((data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    small = {**full, "features": full["features"][:SMALL_WARDS]}
    with zipfile.ZipFile(data / LUCKNOW_ZIP) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist() if not info.is_dir()]
    frame = gpd.GeoDataFrame.from_features(small["features"], crs="EPSG:4326")
    kml_path = tmp / "chandigarh.kml"
    frame.to_file(kml_path, driver="KML", engine="pyogrio")
    return Base(small, members, kml_path.read_bytes(), data)


# --- archive tricks ----------------------------------------------------------------------------------


def patch_sizes(archive: bytes, member: str, size: int) -> bytes:
    """Make the local and central headers of ``member`` declare ``size`` inflated bytes."""
    data = bytearray(archive)
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local != -1 and data[local + 30 : local + 30 + len(name)] != name:
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1 and data[central + 46 : central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    assert local != -1, member
    assert central != -1, member
    data[local + 22 : local + 26] = size.to_bytes(4, "little")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    return bytes(data)


def patch_method(archive: bytes, method: int) -> bytes:
    """Every member declares compression ``method`` (99 = AES, which nothing here reads)."""
    data = bytearray(archive)
    for magic, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(magic)
        while at != -1:
            data[at + offset : at + offset + 2] = method.to_bytes(2, "little")
            at = data.find(magic, at + 4)
    return bytes(data)


def symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def mark_encrypted(archive: bytes, member: str) -> bytes:
    """Set the "encrypted" flag of ``member`` in its local and central headers (``zipfile``
    clears flags it is given when writing)."""
    data = bytearray(archive)
    name = member.encode()
    for magic, flags, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = data.find(magic)
        while at != -1 and data[at + name_at : at + name_at + len(name)] != name:
            at = data.find(magic, at + 4)
        assert at != -1, member
        data[at + flags] |= 0x1
    return bytes(data)


def deflated(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


# --- documents that point elsewhere --------------------------------------------------------------------


def kml_document(body: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{head}'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'
    ).encode()


def vrt(url: str) -> str:
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="w"><SrcDataSource>/vsicurl/{url}/w.geojson'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    )


def gdalg(url: str) -> bytes:
    """A GDAL pipeline (GDALG) posing as GeoJSON: GDAL 3.12 runs it and fetches ``url``."""
    command = f"gdal vector pipeline ! read /vsicurl/{url}/x.geojson ! write --of stream streamed"
    return json.dumps({"type": "gdal_streamed_alg", "command_line": command}).encode()
