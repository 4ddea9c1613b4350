"""``wardplan allocate --sheets``: the printable sheets next to the plan files, read back by poppler."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pytest
from matplotlib import font_manager
from pypdf import PdfReader
from typer.testing import CliRunner

from app.cli import cli
from gis.sheets import devanagari_font
from tests.gis.pdfglyphs import harfbuzz_glyph_names, pdf_glyph_names, pdf_text, render_png

runner = CliRunner()
HINDI = {"1": "सेक्टर एक", "2": "श्रीनगर"}


@pytest.fixture(scope="module")
def chandigarh_args(shared_data: Path) -> list[str]:
    d = shared_data / "chandigarh"
    return [
        str(d / "raw" / "Chandigarh_Wards-SHP.zip"),
        "--exclude",
        "reserve",
        "--merge",
        "5",
        "--population-table",
        str(d / "census2011_wards.csv"),
    ]


def _organisers(args: list[str], tmp_path: Path) -> Path:
    orgs = tmp_path / "organisers.csv"
    made = runner.invoke(cli, ["example-organisers", *args, "--count", "5", "--out", str(orgs)])
    assert made.exit_code == 0, made.output
    return orgs


def _allocate(args: list[str], orgs: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        cli,
        [
            "allocate",
            *args,
            "--organisers",
            str(orgs),
            "--out",
            str(out),
            "--tolerance",
            "0.25",
            "--time-limit",
            "20",
            "--sheets",
            *extra,
        ],
    )
    return result.exit_code, result.output


@pytest.mark.slow  # a city-sized solve
def test_allocate_with_sheets_writes_a_city_sheet_and_a_page_per_co(
    chandigarh_args: list[str], shared_data: Path, tmp_path: Path
) -> None:
    orgs = _organisers(chandigarh_args, tmp_path)
    names = tmp_path / "names.csv"
    names.write_text(
        "ward_id,name_en,name_hi\n" + "".join(f"{w},Sector {w},{h}\n" for w, h in HINDI.items()),
        encoding="utf-8",
    )
    layer = gpd.read_file(shared_data / "chandigarh" / "wards.geojson")
    inside = layer[layer["ward_id"].astype(str) == "1"].geometry.representative_point().iloc[0]
    centres = tmp_path / "centres.csv"
    centres.write_text(f"name,lat,lon\nSector 1 centre,{inside.y},{inside.x}\n", encoding="utf-8")
    out = tmp_path / "plan"
    code, text = _allocate(
        chandigarh_args,
        orgs,
        out,
        "--city",
        "Chandigarh",
        "--ward-names",
        str(names),
        "--community-centres",
        str(centres),
        "--source",
        "Chandigarh Smart City GIS",
        "--licence",
        "ODbL 1.0",
    )
    assert code == 0, text
    assert "city-sheet.pdf" in text
    with (out / "summary.csv").open(encoding="utf-8") as fh:
        summary = list(csv.DictReader(fh))

    city = out / "city-sheet.pdf"
    box = PdfReader(city).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((1190.55, 841.89), abs=0.5)
    text = " ".join(pdf_text(city).split())
    assert "Chandigarh" in text
    assert "Ward boundaries: Chandigarh Smart City GIS (ODbL 1.0)" in text  # --source, --licence
    assert "DataMeet" not in text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["credits"] == "Ward boundaries: Chandigarh Smart City GIS (ODbL 1.0)"
    assert "DRAFT — not approved" in text
    assert "poverty rate: 27.5 %" in text
    for row in summary:
        assert row["organiser_id"] in text
        assert f"{float(row['poor_households']):,.0f}" in text
    assert len(render_png(city, tmp_path / "city")) == 1

    cos = out / "co-sheets.pdf"
    pages = [" ".join(p.split()) for p in pdf_text(cos).split("\f") if p.strip()]
    assert len(PdfReader(cos).pages) == len(summary) == len(pages)
    for page, row in zip(pages, summary, strict=True):
        assert row["organiser_id"] in page
        assert f"Wards: {row['wards']}" in page
        contact = "Sector 1 centre" if "1" in row["ward_ids"].split() else "none inside this"
        assert f"Contact point (community centre): {contact}" in page
    # the bilingual names: English as text, Hindi as HarfBuzz shapes it, on the owning CO's page
    font = str(font_manager.findfont(devanagari_font(), fallback_to_default=False))
    order = [r["organiser_id"] for r in summary]
    for ward, hindi in HINDI.items():
        owner = next(r["organiser_id"] for r in summary if ward in r["ward_ids"].split())
        page = order.index(owner)
        assert f"Sector {ward}" in pages[page]
        glyphs = pdf_glyph_names(cos.read_bytes(), page=page)
        shaped = harfbuzz_glyph_names(font, hindi)
        assert any(glyphs[i : i + len(shaped)] == shaped for i in range(len(glyphs)))


@pytest.mark.slow  # CLI allocate runs on Chandigarh, refused after reading the layer
def test_bad_sheet_inputs_are_refused_naming_file_and_field(
    chandigarh_args: list[str], tmp_path: Path
) -> None:
    orgs = _organisers(chandigarh_args, tmp_path)
    names = tmp_path / "names.csv"
    names.write_text("ward,name_hi\n1,एक\n", encoding="utf-8")
    code, text = _allocate(chandigarh_args, orgs, tmp_path / "a", "--ward-names", str(names))
    assert code == 2
    assert "names.csv lacks column(s) ward_id, name_en" in text
    assert not (tmp_path / "a" / "report.json").exists()  # refused before the solve

    names.write_text("ward_id,name_en,name_hi\n999,Nowhere,कहीं नहीं\n", encoding="utf-8")
    code, text = _allocate(chandigarh_args, orgs, tmp_path / "b", "--ward-names", str(names))
    assert code == 2
    assert "ward 999" in text
    assert "no such ward in the layer" in text

    centres = tmp_path / "centres.csv"
    centres.write_text("name,lat,lon\nHall,north,76.7\n", encoding="utf-8")
    code, text = _allocate(
        chandigarh_args, orgs, tmp_path / "c", "--community-centres", str(centres)
    )
    assert code == 2
    assert "centres.csv" in text
    assert "line 2: lat/lon must be numbers, got 'north', '76.7'" in text
