"""A state's import folder built from the real layers in ``../shared/data``: a manifest (CSV or
XLSX), each city's ward file, census table and illustrative CO roster, and one city whose ward
file is deliberately bad (Chandigarh's wards with ward 4's population made negative)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv

HEADER = [
    "state",
    "district",
    "city",
    "city_name",
    "ward_file",
    "census_table",
    "field_options",
    "cos_in_post",
    "cmms_in_post",
    "organisers",
]
#: city code → (district, name, COs in the illustrative roster, COs in post, CMMs in post)
GOOD = {
    "lucknow": ("Lucknow", "Lucknow Nagar Nigam", 6, 4, 2),
    "chandigarh": ("Chandigarh", "Chandigarh Municipal Corporation", 3, 3, 1),
    "mumbai": ("Mumbai City", "Brihanmumbai Municipal Corporation", 4, 1, 1),
    "bangalore": ("Bengaluru Urban", "Bruhat Bengaluru Mahanagara Palike", 5, 7, 1),
}
BAD = "chandigarh-east"


@dataclass(frozen=True)
class StateFolder:
    root: Path
    cities: list[str]  # the good ones, in manifest order

    def zip(self, path: Path, *, with_manifest: bool = True) -> Path:
        with zipfile.ZipFile(path, "w") as bundle:
            for file in sorted(self.root.rglob("*")):
                name = file.relative_to(self.root).as_posix()
                if file.is_file() and (with_manifest or not name.startswith("manifest")):
                    bundle.write(file, name)
        return path


def build(shared: Path, root: Path, cities: list[str]) -> StateFolder:
    """The folder for ``cities`` (codes of GOOD) and the bad city, with manifest.csv."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for code in cities:
        district, name, cos, in_post, cmms = GOOD[code]
        ward_file, census, options, wards = _files(shared, root, code)
        roster = write_organisers_csv(
            illustrative_organisers(wards, cos, seed=2017), root / code / "organisers.csv"
        )
        rows.append(
            [
                *("State of Tests", district, code, name, ward_file, census, options),
                *(in_post, cmms, roster.relative_to(root).as_posix()),
            ]
        )
    bad = json.loads((shared / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    bad["features"][3]["properties"]["population"] = -250
    (root / BAD).mkdir(exist_ok=True)
    (root / BAD / "wards.geojson").write_text(json.dumps(bad), encoding="utf-8")
    rows.append(
        ["TS", "Chandigarh", BAD, "Chandigarh East", f"{BAD}/wards.geojson", "", "", 2, 0, ""]
    )
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return StateFolder(root, list(cities))


def _files(shared: Path, root: Path, code: str) -> tuple[str, str, str, object]:
    """Copy the city's ward file (and census table); returns their names, options, wards."""
    (root / code).mkdir(exist_ok=True)
    if code == "lucknow":
        raw = shared / "lucknow" / "raw" / "Lucknow_ward_boundary-SHP.zip"
        shutil.copy(raw, root / code / raw.name)
        shutil.copy(shared / "lucknow" / "census2011_wards.csv", root / code / "census.csv")
        wards = read_ward_layer(raw, exclude_ids=["0"]).wards
        return f"{code}/{raw.name}", f"{code}/census.csv", "exclude=0", wards
    source = shared / ("mumbai_admin_wards" if code == "mumbai" else code) / "wards.geojson"
    shutil.copy(source, root / code / "wards.geojson")
    return f"{code}/wards.geojson", "", "", read_ward_layer(source).wards


def as_xlsx(manifest_csv: Path) -> bytes:
    """The same manifest as an XLSX workbook (numbers as numbers)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    with manifest_csv.open(encoding="utf-8") as fh:
        for row in csv.reader(fh):
            sheet.append([int(v) if v.isdigit() else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
