"""The allocation order's pure parts: the CMMs' portfolios by the letter's rule, one row per CO
from a plan's wards, and the PDF's pages (no database)."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from openpyxl import load_workbook
from pypdf import PdfReader

from gis import allocation_order as order
from gis.portfolios import COMPONENTS, default_portfolios
from tests.gis.pdfglyphs import pdf_text


def test_portfolios_follow_the_letter() -> None:
    assert default_portfolios(0) == []
    assert default_portfolios(1) == [tuple(range(7))]
    two = default_portfolios(2)
    three = default_portfolios(3)
    for division in (two, three):  # each component exactly once
        assert sorted(c for p in division for c in p) == list(range(7))
    assert [COMPONENTS[c][0] for c in three[2]] == ["MIS and monitoring & evaluation"]
    assert "Innovative & special projects" in [COMPONENTS[c][0] for c in two[0]]
    assert default_portfolios(4)[3] == ()  # a fourth CMM: the CMMU assigns


def _wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "ward_id": ["10", "2", "1", "3"],
            "organiser_id": ["CO-2", "CO-1", "CO-1", "CO-2"],
            "poor_households_est": [100.0, 50.5, 49.5, 20.0],
        },
        geometry=[shapely.box(k, 0, k + 1, 1) for k in range(4)],
        crs="EPSG:4326",
    )


def test_rows_list_each_cos_wards_in_number_order_with_their_households() -> None:
    rows = order.order_rows(
        _wards(),
        {"1": "Aliganj", "2": None, "3": "चौक", "10": None},
        {"CO-1": "Centre A"},
        {"CO-1": "1", "CO-2": None},
        {"CO-2": "Two", "CO-1": "एक"},
    )
    assert [r.organiser_id for r in rows] == ["CO-1", "CO-2"]
    assert rows[0].wards == ("1 Aliganj", "2")
    assert rows[1].wards == ("3 चौक", "10")
    assert [r.poor_households for r in rows] == [100.0, 120.0]
    assert (rows[0].contact, rows[1].contact) == ("Centre A", "—")
    assert (rows[0].home_ward, rows[1].home_ward) == ("1", "—")
    assert rows[0].co == "एक (CO-1)"


@pytest.mark.parametrize("count", [3, 60])
def test_the_pdf_pages_the_table_and_adds_the_map(count: int) -> None:
    rows = [
        order.OrderRow(f"CO-{k}", f"CO {k}", tuple(f"{w} Ward" for w in range(9)), 3000.0, "—", "1")
        for k in range(count)
    ]
    info = order.OrderInfo("Test", "plan 1, version 1 (solved)", "DRAFT — not approved", False)
    areas = gpd.GeoDataFrame(
        {"organiser_id": ["CO-0"]}, geometry=[shapely.box(80.9, 26.8, 81.0, 26.9)], crs="EPSG:4326"
    )
    pages = len(PdfReader(io.BytesIO(order.allocation_order_pdf(info, rows, areas))).pages)
    assert pages == len(order._pages(rows, order.LINES_PER_PAGE)) + 1
    assert (pages > 2) == (count == 60)
    book = load_workbook(io.BytesIO(order.allocation_order_xlsx(info, rows))).active
    assert book is not None
    assert book.max_row == 8 + count


def test_the_portfolio_table_names_the_stored_cmms(tmp_path: Path) -> None:
    rows = [order.OrderRow("CO-1", "One", ("1 Ward",), 3000.0, "—", "1")]
    blank = order.OrderInfo(
        "Test", "plan 1", "DRAFT", False, portfolios=tuple(default_portfolios(2))
    )
    named = order.OrderInfo(
        "Test",
        "plan 1",
        "DRAFT",
        False,
        portfolios=tuple(default_portfolios(2)),
        cmms=("अनीता सिंह (CMM-1)\n+91 522 400 1001", "Rakesh Yadav (CMM-2)\ncmm2@example.org"),
    )
    texts = []
    for info in (blank, named):
        path = tmp_path / "order.pdf"
        path.write_bytes(order.allocation_order_pdf(info, rows))
        texts.append(pdf_text(path))
    assert "Name / नाम:" in texts[0]  # no names stored: blanks to fill in
    assert "Name / नाम:" not in texts[1]
    for shown in ("अनीता सिंह (CMM-1)", "+91 522 400 1001", "Rakesh Yadav (CMM-2)"):
        assert shown in texts[1], shown
        assert shown not in texts[0]
    book = load_workbook(io.BytesIO(order.allocation_order_xlsx(named, rows))).active
    assert book is not None
    cmm_rows = [r for r in book.iter_rows(values_only=True) if str(r[0]).startswith("CMM ")]
    assert [r[3:5] for r in cmm_rows] == [
        ("अनीता सिंह (CMM-1)", "+91 522 400 1001"),
        ("Rakesh Yadav (CMM-2)", "cmm2@example.org"),
    ]
