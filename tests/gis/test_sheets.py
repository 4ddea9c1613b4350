"""Printable sheets: rendered to PDF, read back with poppler, and the Devanagari checked glyph by glyph.

The shaping test compares the glyphs the PDF draws with HarfBuzz's shaping of the same string in
the same font. It fails for a renderer that draws one glyph per code point: run it under
matplotlib 3.10 (``uv run --with matplotlib==3.10.8 pytest tests/gis/test_sheets.py -k shaped``)
and the PDF holds ka, virama, ssa … where HarfBuzz has the conjunct k.ssa.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from matplotlib import font_manager
from pypdf import PdfReader
from shapely.geometry import Point

from gis import co_sheets, hindi, sheets
from gis.errors import InputError
from gis.export import dissolve_areas, plan_wards
from gis.maps import DATA_CREDITS
from gis.organisers import illustrative_organisers, organiser_distances_km
from tests.gis.conftest import _read_clean_wards as read_clean_wards
from tests.gis.pdfglyphs import (
    harfbuzz_glyph_names,
    pdf_glyph_names,
    pdf_text,
    render_png,
    unshaped_glyph_names,
)

SHAPING_TEST = "क्षेत्र सामुदायिक आयोजक — वार्ड श्रीनगर"
A3 = (1190.55, 841.89)  # points, landscape
A4 = (595.28, 841.89)
HINDI_NAME = "श्रीनगर"


def _font_path() -> str:
    return str(font_manager.findfont(sheets.devanagari_font(), fallback_to_default=False))


def test_devanagari_is_shaped_as_harfbuzz_shapes_it() -> None:
    path = _font_path()
    shaped = harfbuzz_glyph_names(path, SHAPING_TEST)
    unshaped = unshaped_glyph_names(path, SHAPING_TEST)
    assert shaped != unshaped  # the check tells the two apart: conjuncts and reordered matras
    assert "kadeva_viramadeva_ssadeva" in shaped  # क्ष as one glyph
    drawn = pdf_glyph_names(sheets.text_pdf(SHAPING_TEST))
    assert drawn == shaped


#: Strings officials copy: the letter's words, conjuncts (क्ष, श्र, प्र, न्ध), the ि matra drawn before
#: its consonant, reph (र्ड, र्ता), nukta (ज़), and Latin beside Devanagari.
COPIED = (
    SHAPING_TEST,
    hindi.CMM,
    hindi.COS,
    hindi.CITY_SHEET_TITLE,
    hindi.CO_SHEET_TITLE,
    "सिविल लाइन्स — किशोरी लाल ज़िला प्रबन्धक",
    "Ward 12 इब्राहिमपुर (Ibrahimpur)",
)


@pytest.mark.parametrize("text", COPIED)
def test_hindi_copies_and_searches_exactly(text: str, tmp_path: Path) -> None:
    """pdftotext (what copy-and-paste and search read) returns the string drawn, character for
    character; the glyphs stay HarfBuzz's shaping."""
    pdf = tmp_path / "text.pdf"
    pdf.write_bytes(sheets.text_pdf(text))
    assert pdf_text(pdf).strip() == text
    if not any(c.isascii() and c.isalnum() for c in text):  # one font: HarfBuzz's glyphs
        assert pdf_glyph_names(pdf.read_bytes()) == harfbuzz_glyph_names(_font_path(), text)


@pytest.fixture(scope="module")
def lucknow_plan(shared_data: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Lucknow with each ward given to the nearest of 20 illustrative homes (a sheet needs no
    optimal plan), bilingual names, and the estimate column the sheets print."""
    wards = read_clean_wards(shared_data / "lucknow" / "wards.geojson").copy()
    organisers = illustrative_organisers(wards, 20, seed=2017)
    nearest = np.asarray(organiser_distances_km(wards, organisers)).argmin(axis=1)
    assignment = {
        str(w): organisers[j].organiser_id for w, j in zip(wards["ward_id"], nearest, strict=True)
    }
    wards["name_en"] = wards["ward_name"]
    wards["name_hi"] = [HINDI_NAME if i % 2 == 0 else None for i in range(len(wards))]
    wards["poor_households_est"] = wards["population"] * 0.275 / 4.66
    areas = dissolve_areas(
        wards, assignment, organisers=organisers, sum_columns=["poor_households_est"]
    )
    return plan_wards(wards, assignment), areas


INFO = sheets.SheetInfo(
    city="Lucknow",
    parameters={"poverty rate": "27.5 %", "tolerance": "±10 %", "status": "optimal, gap 0.05 %"},
    printed_on=date(2026, 11, 25),
    credits=DATA_CREDITS,  # the bundled data's credit, as the demo states it
)


def _page_size(pdf: Path, page: int = 0) -> tuple[float, float]:
    box = PdfReader(pdf).pages[page].mediabox
    return float(box.width), float(box.height)


@pytest.fixture(scope="module")
def draft_city_sheet(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Lucknow's city sheet of the plan above with INFO (not approved), drawn once for the module."""
    pw, areas = lucknow_plan
    pdf = tmp_path_factory.mktemp("city-sheet") / "city-sheet.pdf"
    pdf.write_bytes(sheets.city_sheet(pw, areas, INFO))
    return pdf


def test_city_sheet_is_an_a3_landscape_page_with_every_co_and_the_credits(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], draft_city_sheet: Path, tmp_path: Path
) -> None:
    areas = lucknow_plan[1]
    pdf = draft_city_sheet
    assert _page_size(pdf) == pytest.approx(A3, abs=0.5)
    (png,) = render_png(pdf, tmp_path / "city", dpi=50)
    assert png.stat().st_size > 10_000
    text = " ".join(pdf_text(pdf).split())
    for oid in areas["organiser_id"]:
        assert oid in text
    assert DATA_CREDITS in text
    assert "DRAFT — not approved" in text
    assert "poverty rate: 27.5 %" in text
    assert "km" in text  # the scale bar


@pytest.mark.slow  # Lucknow's whole plan drawn again and read back (the A3 test is fast)
def test_an_approved_plan_says_so_on_its_sheet(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    pw, areas = lucknow_plan
    info = sheets.SheetInfo(city="Lucknow", approved_on=date(2026, 11, 20), approved_by="CMMU")
    pdf = tmp_path / "approved.pdf"
    pdf.write_bytes(sheets.city_sheet(pw, areas, info))
    text = " ".join(pdf_text(pdf).split())
    assert "APPROVED on 2026-11-20 by CMMU" in text
    assert "DRAFT" not in text


@pytest.mark.slow  # Lucknow's plan drawn as one A4 page per CO and read back
def test_co_sheets_one_a4_page_per_co_with_its_wards_names_and_contact_point(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    pw, areas = lucknow_plan
    first = areas.iloc[0]
    inside = first.geometry.representative_point()
    centres = gpd.GeoDataFrame(
        {"name": ["Community centre Aminabad", "Far away"]},
        geometry=[inside, Point(0.0, 0.0)],
        crs="EPSG:4326",
    )
    chosen = [str(first["organiser_id"]), str(areas.iloc[1]["organiser_id"])]
    pdf = tmp_path / "co-sheets.pdf"
    pdf.write_bytes(
        co_sheets.organiser_sheets(pw, areas, INFO, centres=centres, organiser_ids=chosen)
    )
    assert len(PdfReader(pdf).pages) == 2
    assert _page_size(pdf, 1) == pytest.approx(A4, abs=0.5)
    pages = [" ".join(p.split()) for p in pdf_text(pdf).split("\f") if p.strip()]
    assert "Contact point (community centre): Community centre Aminabad" in pages[0]
    assert "Contact point (community centre): none inside this area" in pages[1]
    for page, oid in zip(pages, chosen, strict=True):
        mine = pw[pw["organiser_id"] == oid]
        assert oid in page
        for name in mine["name_en"].dropna():
            assert str(name) in page
    hindi_rows = pw[(pw["organiser_id"] == chosen[0]) & pw["name_hi"].notna()]
    glyphs = pdf_glyph_names(pdf.read_bytes(), page=0)
    shaped_name = harfbuzz_glyph_names(_font_path(), HINDI_NAME)
    runs = sum(glyphs[i : i + len(shaped_name)] == shaped_name for i in range(len(glyphs)))
    assert runs == len(hindi_rows)
    assert len(render_png(pdf, tmp_path / "co", dpi=40)) == 2


def test_a_co_sheet_for_an_organiser_not_in_the_plan_is_refused(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    pw, areas = lucknow_plan
    with pytest.raises(KeyError, match="CO-99"):
        co_sheets.organiser_sheets(pw, areas, INFO, organiser_ids=["CO-99"])


@pytest.mark.parametrize(
    ("span", "expected"), [(12_000.0, 2000.0), (30_000.0, 5000.0), (4_000.0, 500.0), (9.0, 1.0)]
)
def test_scale_bar_length_is_round_and_at_most_a_fifth(span: float, expected: float) -> None:
    assert sheets.nice_length(span) == expected


def test_ward_names_table_with_bom_blank_cells_and_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text(
        "\ufeffward_id,name_en,name_hi\n1,Aminabad,अमीनाबाद\n2,Chowk,\n", encoding="utf-8"
    )
    names = sheets.read_ward_names(path, ["1", "2", "3"])
    assert names.loc["1", "name_hi"] == "अमीनाबाद"
    assert names.loc["2", "name_hi"] is None
    path.write_text("ward_id,name_en,name_hi\n1,A,\n1,B,\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad ward name") as caught:
        sheets.read_ward_names(path)
    assert [(i.code, i.ward_id, i.field) for i in caught.value.issues] == [
        ("duplicate-id", "1", "ward_id")
    ]


def test_centres_outside_wgs84_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "centres.csv"
    path.write_text("name,lat,lon\nHall,126.8,80.9\nOk,26.85,80.95\n", encoding="utf-8")
    with pytest.raises(InputError, match="1 bad community centre") as caught:
        sheets.read_centres(path)
    assert "126.8, 80.9 is not a WGS 84 position" in str(caught.value)
    path.write_text("name,lat,lon\nOk,26.85,80.95\n", encoding="utf-8")
    centres = sheets.read_centres(path)
    assert list(centres["name"]) == ["Ok"]
    assert (centres.geometry.x[0], centres.geometry.y[0]) == (80.95, 26.85)


def test_without_actual_text_the_shaped_glyphs_do_not_give_the_text_back(tmp_path: Path) -> None:
    """What the sheets printed before ``gis.pdftext``: the ToUnicode map of shaped glyphs alone
    (matplotlib's) gives duplicated clusters, so the check above can fail."""
    import io

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    with sheets._style():
        figure = Figure(figsize=(8, 1))
        figure.text(0.02, 0.35, SHAPING_TEST, size=20)
        buffer = io.BytesIO()
        with PdfPages(buffer) as pages:
            pages.savefig(figure)
    pdf = tmp_path / "plain.pdf"
    pdf.write_bytes(buffer.getvalue())
    assert pdf_text(pdf).strip() != SHAPING_TEST


#: 10 mm, in points: no text nearer the paper's edge than this (most printers need 5 mm).
PRINTABLE_MARGIN_PT = 10 / 25.4 * 72
LONG = "Shri Gyaneshwar Prasad Srivastava Memorial Community Organiser for the Old City Wards"


def _word_boxes(pdf: Path) -> list[tuple[int, str, float, float, float, float, float, float]]:
    """Every word pdftotext finds: (page, word, xmin, ymin, xmax, ymax, page width, height)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode("utf-8")
    boxes = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", html, flags=re.S)):
        width, height = (float(v) for v in re.findall(r'(?:width|height)="([\d.]+)"', page)[:2])
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            page,
        ):
            boxes.append((number, word, float(x0), float(y0), float(x1), float(y1), width, height))
    return boxes


def _assert_inside_margins(pdf: Path) -> int:
    boxes = _word_boxes(pdf)
    m = PRINTABLE_MARGIN_PT
    outside = [b for b in boxes if b[2] < m or b[3] < m or b[4] > b[6] - m or b[5] > b[7] - m]
    assert outside == [], outside[:5]
    return len(boxes)


def _long_named(
    plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, sheets.SheetInfo]:
    pw, areas = plan[0].copy(), plan[1].copy()
    areas["name"] = [f"{LONG} {i}" for i in range(len(areas))]
    pw["name_en"] = [f"{LONG} ward {w}" for w in pw["ward_id"]]
    pw["name_hi"] = [f"{hindi.CO} {HINDI_NAME} पुराना शहर वार्ड संख्या {w}" for w in pw["ward_id"]]
    info = sheets.SheetInfo(
        city="Lucknow Nagar Nigam (Lucknow Municipal Corporation), Lucknow District, Uttar Pradesh",
        parameters={
            "solver": "feasible within 4.17 % after 60 s (objective 335,118.4, bound 321,580.2); "
            "the time limit ended the search before the bound met the plan",
            "check": "passed (coverage, one connected area per CO, balance)",
            "a_value_with_no_spaces": "x" * 300,
        },
        printed_on=date(2026, 11, 25),
        credits="Ward boundaries: " + "Lucknow Municipal Corporation GIS cell " * 6 + "(CC BY 4.0)",
    )
    return pw, areas, info


@pytest.mark.slow  # Lucknow's A3 and A4 sheets drawn three times and read back word by word
def test_every_text_is_inside_the_printable_margins_at_any_name_length(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    """Long city, CO and ward names, a long solver line, a 300-character word and a long credit:
    every word pdftotext finds on the A3 and the A4 sheets lies 10 mm or more inside the paper."""
    pw, areas, info = _long_named(lucknow_plan)
    city = tmp_path / "city.pdf"
    city.write_bytes(sheets.city_sheet(pw, areas, info))
    assert _assert_inside_margins(city) > 200
    co = tmp_path / "co.pdf"
    chosen = [str(o) for o in areas["organiser_id"][:3]]
    co.write_bytes(co_sheets.organiser_sheets(pw, areas, info, organiser_ids=chosen))
    assert _assert_inside_margins(co) > 100
    text = " ".join(pdf_text(co).split())
    assert "bound 321,580.2" in text  # wrapped, not cut
    # the same sheets as drawn before: the solver line ran off the A4 page
    short = sheets.SheetInfo(city="Lucknow", parameters=info.parameters, printed_on=info.printed_on)
    co.write_bytes(
        co_sheets.organiser_sheets(
            lucknow_plan[0], lucknow_plan[1], short, organiser_ids=chosen[:1]
        )
    )
    assert _assert_inside_margins(co) > 50


def test_a_sheet_says_what_is_missing_and_how_to_add_it(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    pw = lucknow_plan[0].drop(columns=["name_en", "name_hi", "ward_name"], errors="ignore")
    areas = lucknow_plan[1]
    pdf = tmp_path / "co.pdf"
    pdf.write_bytes(
        co_sheets.organiser_sheets(pw, areas, INFO, organiser_ids=[str(areas["organiser_id"][0])])
    )
    text = " ".join(pdf_text(pdf).split())
    assert "Ward names: none given. Add them with a CSV ward_id,name_en,name_hi" in text
    assert "--ward-names" in text
    assert (
        "Contact point (community centre): none recorded. Add the city's community centres" in text
    )
    assert "—" not in text.split("Contact point (community centre):")[1][:3]
    assert " नाम " not in f" {text} "  # no empty name columns


def test_a3_ward_numbers_are_not_covered_by_co_labels(
    lucknow_plan: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], draft_city_sheet: Path
) -> None:
    """On the city sheet, no ward number's box (as pdftotext reads it) overlaps a CO id's box."""
    pw, areas = lucknow_plan
    boxes = _word_boxes(draft_city_sheet)
    ids = set(areas["organiser_id"])
    numbers = set(pw["ward_id"])
    table_left = 0.60 * A3[0]
    labels = [b for b in boxes if b[1] in ids and b[2] < table_left]
    wards = [b for b in boxes if b[1] in numbers and b[2] < table_left]
    assert len(labels) == len(ids)
    assert len(wards) >= len(numbers) - 2  # the scale bar's figures may share a number
    pad = 1.5  # the white box around a CO id, in points
    covered = [
        (w[1], label[1])
        for w in wards
        for label in labels
        if w[2] < label[4] + pad
        and label[2] - pad < w[4]
        and w[3] < label[5] + pad
        and label[3] - pad < w[5]
    ]
    assert covered == []
