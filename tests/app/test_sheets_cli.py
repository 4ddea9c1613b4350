"""``wardplan allocate --sheets``: the printable sheets next to the plan files, read back by poppler."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from app.cli import cli
from app.planning import DATA_CREDITS
from tests.gis.pdfglyphs import pdf_text, render_png

runner = CliRunner()


def test_allocate_with_sheets_writes_a_city_sheet_and_a_page_per_co(
    shared_data: Path, tmp_path: Path
) -> None:
    d = shared_data / "chandigarh"
    args = [
        str(d / "raw" / "Chandigarh_Wards-SHP.zip"),
        "--exclude",
        "reserve",
        "--merge",
        "5",
        "--population-table",
        str(d / "census2011_wards.csv"),
    ]
    orgs = tmp_path / "organisers.csv"
    made = runner.invoke(cli, ["example-organisers", *args, "--count", "5", "--out", str(orgs)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "plan"
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
            "--city",
            "Chandigarh",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "city-sheet.pdf" in result.output
    with (out / "summary.csv").open(encoding="utf-8") as fh:
        summary = list(csv.DictReader(fh))

    city = out / "city-sheet.pdf"
    box = PdfReader(city).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((1190.55, 841.89), abs=0.5)
    text = " ".join(pdf_text(city).split())
    assert "Chandigarh" in text
    assert DATA_CREDITS in text
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
