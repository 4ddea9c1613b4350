"""Compression ratio caps of uploaded zips (``gis.archive.MAX_RATIO`` per member,
``MAX_TOTAL_RATIO`` for the archive), on Lucknow's real zipped shapefile."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gis.errors import InputError
from gis.io import read_ward_layer

LUCKNOW_ZIP = "lucknow/raw/Lucknow_ward_boundary-SHP.zip"


def lucknow_with(shared_data: Path, folder: Path, extra: dict[str, bytes]) -> Path:
    out = folder / "wards.zip"
    with (
        zipfile.ZipFile(shared_data / LUCKNOW_ZIP) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            if not info.is_dir():
                dst.writestr(info, src.read(info))
        for name, data in extra.items():
            dst.writestr(name, data)
    return out


def test_a_member_inflating_1000_to_1_is_refused(shared_data: Path, tmp_path: Path) -> None:
    archive = lucknow_with(shared_data, tmp_path, {"notes.txt": b"\0" * 5_000_000})
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("notes.txt")
        assert info.file_size / info.compress_size > 1000
    with pytest.raises(InputError) as caught:
        read_ward_layer(archive, exclude_ids=["0"])
    assert caught.value.code == "bad-archive"
    assert "member 'notes.txt' inflates to more than 100 times" in str(caught.value)


def test_the_whole_archive_has_a_ratio_cap_too(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each member under the member cap, the archive over its own (lowered here to 1.2:1; the
    real zip inflates 1.6:1, less than the 1 MiB from which ratios count, lowered too)."""
    monkeypatch.setattr("gis.archive.MAX_TOTAL_RATIO", 1.2)
    monkeypatch.setattr("gis.archive.RATIO_FLOOR", 1000)
    archive = lucknow_with(shared_data, tmp_path, {})
    with pytest.raises(InputError) as caught:
        read_ward_layer(archive, exclude_ids=["0"])
    assert "the archive inflates to more than 1.2 times" in str(caught.value)


def test_the_real_zip_is_within_both_caps(shared_data: Path, tmp_path: Path) -> None:
    layer = read_ward_layer(lucknow_with(shared_data, tmp_path, {}), exclude_ids=["0"])
    assert len(layer) == 110
