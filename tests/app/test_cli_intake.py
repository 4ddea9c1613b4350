"""The raw files of issue 15 through the command line, each planned and re-checked: zero-padded
ward ids against an unpadded census table, and an unnumbered sliver beside a duplicated ward."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
from typer.testing import CliRunner

from app.cli import cli

runner = CliRunner()


def run(*args: str | Path | int) -> tuple[int, str]:
    result = runner.invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    """``frame`` as a zipped shapefile (with .cpg), as a GIS cell would send it."""
    shp = folder / name
    shp.mkdir()
    frame.to_file(shp / f"{name}.shp", engine="pyogrio", encoding="UTF-8")
    out = folder / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(shp.iterdir()):
            zf.write(file, file.name)
    return out


def plan(tmp_path: Path, wards_args: list[str | Path], count: int = 3) -> dict[str, object]:
    """``example-organisers`` then ``allocate``; the plan must pass its check. Returns the report."""
    orgs = tmp_path / "organisers.csv"
    code, text = run("example-organisers", *wards_args, "--count", count, "--out", orgs)
    assert code == 0, text
    out = tmp_path / "plan"
    code, text = run(
        "allocate",
        *wards_args,
        "--organisers",
        orgs,
        "--out",
        out,
        "--tolerance",
        "0.3",
        "--time-limit",
        "20",
    )
    assert code == 0, text
    assert "check: passed" in text
    report: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


def test_zero_padded_shapefile_plans_with_the_unpadded_census(
    shared_data: Path, tmp_path: Path
) -> None:
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")
    frame["ward_no"] = [f"{int(w):02d}" for w in frame["ward_id"]]
    wards = zipped_shapefile(frame[["ward_no", "geometry"]], tmp_path, "padded")
    census = shared_data / "chandigarh/census2011_wards.csv"
    args: list[str | Path] = [wards, "--population-table", census]

    code, text = run("requirement", *args)
    assert code == 0, text
    assert "population: 961,587" in text
    assert "9 pairing(s) were not exact: ward '01' = table '1'" in text

    report = plan(tmp_path, args)
    assert report["wards"] == 26
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert any("leading zeros in the layer" in w for w in warnings)
