"""Camp venues read and placed in wards, the illustrative generator, the iCalendar file parsed back,
and the bilingual PDFs read back (Devanagari glyphs as HarfBuzz shapes them)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path

import geopandas as gpd
import icalendar
import pytest
from matplotlib import font_manager
from pypdf import PdfReader

from gis import sheets
from gis.camp_files import Camp, CampHours, camps_calendar
from gis.camp_sheets import HINDI_NOTICE_TITLE, camp_notices, camp_schedule, hindi_date
from gis.camps import Venue, illustrative_venues, place_venues, read_venues, write_venues_csv
from gis.errors import InputError
from gis.export import dissolve_areas
from gis.organisers import representative_points
from tests.app.hostile import listening
from tests.gis.conftest import _read_clean_wards as read_clean_wards
from tests.gis.pdfglyphs import harfbuzz_glyph_names, pdf_glyph_names, pdf_text, render_png

START, END = date(2027, 4, 1), date(2027, 5, 15)
DATES = [(date(2027, 4, 1),), (date(2027, 4, 1),), (date(2027, 4, 2), date(2027, 4, 3))]


@pytest.fixture(scope="module")
def wards(shared_data: Path) -> gpd.GeoDataFrame:
    return read_clean_wards(shared_data / "chandigarh" / "wards.geojson").copy()


def test_generated_venues_lie_in_their_wards_and_read_back(
    wards: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    venues = illustrative_venues(wards, start=START, end=END, seed=7, closed_share=0.5)
    assert len(venues) == len(wards)
    assert venues == illustrative_venues(wards, start=START, end=END, seed=7, closed_share=0.5)
    assert any(v.capacity_per_day is not None for v in venues)
    assert any(v.unavailable for v in venues)
    assert all(START <= d <= END for v in venues for d in v.unavailable)
    path = write_venues_csv(venues, tmp_path / "venues.csv")
    back = read_venues(path, wards)
    assert [(v.venue_id, v.ward_id, v.inside) for v in back] == [
        (v.venue_id, v.ward_id, True) for v in venues
    ]
    assert [v.unavailable for v in back] == [v.unavailable for v in venues]
    assert [v.capacity_per_day for v in back] == [v.capacity_per_day for v in venues]


def test_bad_venue_rows_are_refused_naming_line_field_and_value(
    wards: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    inside = representative_points(wards).iloc[0]
    path = tmp_path / "venues.csv"
    path.write_text(
        "name,lat,lon,capacity_per_day,unavailable\n"
        f"Hall A,{inside.y},{inside.x},lots,\n"
        f"Hall B,{inside.y},{inside.x},200,2027-04-31\n"
        f"Hall C,{inside.x},{inside.y},,\n"
        "Hall D,12.0,77.0,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_venues(path, wards)
    text = str(caught.value)
    assert "venues.csv" in text
    assert "line 2: capacity_per_day 'lots'" in text
    assert "line 3: unavailable date '2027-04-31'" in text
    assert "line 4" in text
    assert "swapped" in text
    assert "line 5" in text
    assert "km from the nearest ward" in text


def test_missing_columns_are_named(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "venues.csv"
    path.write_text("name,latitude,longitude\nHall,30.7,76.8\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        read_venues(path, wards)


def test_venues_from_a_gis_point_file(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    points = representative_points(wards).iloc[:3]
    frame = gpd.GeoDataFrame(
        {"Name": ["Hall 1", "Hall 2", "Hall 3"], "capacity_per_day": [100, None, 250]},
        geometry=list(points),
        crs="EPSG:4326",
    ).to_crs("EPSG:32643")  # any CRS the file declares
    path = tmp_path / "venues.geojson"
    frame.to_file(path, driver="GeoJSON")
    venues = read_venues(path, wards)
    assert [v.name for v in venues] == ["Hall 1", "Hall 2", "Hall 3"]
    assert [v.ward_id for v in venues] == [str(w) for w in wards["ward_id"].iloc[:3]]
    assert [v.capacity_per_day for v in venues] == [100.0, None, 250.0]
    bad = gpd.GeoDataFrame({"name": ["Area"]}, geometry=[wards.geometry.iloc[0]], crs="EPSG:4326")
    bad.to_file(tmp_path / "bad.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match="not a point"):
        read_venues(tmp_path / "bad.geojson", wards)


def _camps(wards: gpd.GeoDataFrame) -> tuple[list[Camp], gpd.GeoDataFrame, gpd.GeoDataFrame]:
    venues = illustrative_venues(wards, start=START, end=END, seed=1)
    ids = [str(w) for w in wards["ward_id"]]
    groups = [ids[:10], ids[10:18], ids[18:]]
    camps = [
        Camp(f"C0{k + 1}", venues[ids.index(g[0])], tuple(g), 250.0 * (k + 1), 300.0, dates)
        for k, (g, dates) in enumerate(
            zip(
                groups,
                [(date(2027, 4, 1),), (date(2027, 4, 1),), (date(2027, 4, 2), date(2027, 4, 3))],
                strict=True,
            )
        )
    ]
    mapping = {w: c.camp_id for c in camps for w in c.ward_ids}
    plan = wards.copy()
    plan["camp_id"] = [mapping[w] for w in ids]
    clusters = dissolve_areas(wards, mapping).rename(columns={"organiser_id": "camp_id"})
    return camps, plan, clusters


def test_icalendar_file_parses_back_with_one_event_per_camp_day(wards: gpd.GeoDataFrame) -> None:
    camps, _, _ = _camps(wards)
    data = camps_calendar(camps, CampHours(time(9, 30), time(16, 0)), city="Chandigarh")
    cal = icalendar.Calendar.from_ical(data)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 4  # 1 + 1 + 2 camp days
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Kolkata"]
    first = events[0]
    start = first.decoded("DTSTART")
    assert start == datetime(2027, 4, 1, 9, 30, tzinfo=start.tzinfo)
    assert start.utcoffset().total_seconds() == 5.5 * 3600
    assert first.decoded("DTEND").time() == time(16, 0)
    assert "पंजीयन शिविर" in str(first["SUMMARY"])
    assert ", ".join(camps[0].ward_ids) in str(first["DESCRIPTION"])
    assert len({str(e["UID"]) for e in events}) == 4
    days = sorted(e.decoded("DTSTART").date() for e in events if "C03" in str(e["SUMMARY"]))
    assert days == [date(2027, 4, 2), date(2027, 4, 3)]


def _font_path() -> str:
    return str(font_manager.findfont(sheets.devanagari_font(), fallback_to_default=False))


def test_notices_one_page_per_camp_in_hindi_and_english(
    wards: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    camps, plan, _ = _camps(wards)
    pdf = tmp_path / "notices.pdf"
    info = sheets.SheetInfo(city="Chandigarh")
    pdf.write_bytes(camp_notices(plan, camps, CampHours(), info))
    assert len(PdfReader(pdf).pages) == 3
    pages = [" ".join(p.split()) for p in pdf_text(pdf).split("\f") if p.strip()]
    assert "Thursday 1 April 2027" in pages[0]
    assert "Friday 2 April 2027" in pages[2]
    assert "Saturday 3 April 2027" in pages[2]
    assert "10:00–17:00" in pages[1]
    assert camps[1].venue.name in pages[1]
    assert ", ".join(camps[1].ward_ids) in pages[1]
    glyphs = pdf_glyph_names(pdf.read_bytes(), page=2)
    for hindi in (HINDI_NOTICE_TITLE, hindi_date(date(2027, 4, 3))):
        shaped = harfbuzz_glyph_names(_font_path(), hindi)
        assert any(glyphs[i : i + len(shaped)] == shaped for i in range(len(glyphs))), hindi
    assert len(render_png(pdf, tmp_path / "notice", dpi=30)) == 3


def test_schedule_has_the_map_and_every_camp_day(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    camps, plan, clusters = _camps(wards)
    pdf = tmp_path / "schedule.pdf"
    info = sheets.SheetInfo(city="Chandigarh", parameters={"Teams / दल": "2"})
    pdf.write_bytes(camp_schedule(plan, clusters, camps, CampHours(), info))
    reader = PdfReader(pdf)
    assert len(reader.pages) == 2
    assert float(reader.pages[0].mediabox.width) > float(
        reader.pages[0].mediabox.height
    )  # A3 landscape
    text = " ".join(pdf_text(pdf).split())
    assert "registration camps" in text
    for label in ("Thu 01 Apr", "Fri 02 Apr", "Sat 03 Apr", "C03 (2/2)"):
        assert label in text


def test_venue_points_are_read_in_the_sandbox(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    """A venue point file is an upload like any other: its GeoJSON's legacy ``crs`` link (the key
    spelled with escapes, so a byte search misses it) makes no request to the listener, and a
    file that is not GeoJSON at all is refused naming the file."""
    points = representative_points(wards).iloc[:2]
    doc = json.loads(
        gpd.GeoDataFrame(
            {"name": ["Hall 1", "Hall 2"]}, geometry=list(points), crs="EPSG:4326"
        ).to_json()
    )
    with listening() as listener:
        text = json.dumps(doc)[:-1] + (
            ', "\\u0063rs": {"type": "link", "properties": '
            f'{{"href": "{listener.url}/crs", "type": "proj4"}}}}}}'
        )
        path = tmp_path / "venues.geojson"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(InputError):  # refused or read: the parse must not reach out
            read_venues(path, wards)
        assert listener.requests == [], listener.requests
    junk = tmp_path / "halls.geojson"
    junk.write_bytes(b"\x00\x01 not a geojson")
    with pytest.raises(InputError) as refused:
        read_venues(junk, wards)
    assert "halls.geojson" in str(refused.value) or any(
        i.file == "halls.geojson" for i in refused.value.issues
    )


def _outcome(read: Callable[[list[str]], object]) -> tuple[object, ...]:
    """What a read gives: its result and warnings, or its refusal's title, code and issues."""
    warnings: list[str] = []
    try:
        return ("read", read(warnings), warnings)
    except InputError as exc:
        return ("refused", exc.title, exc.code, exc.issues)


@pytest.mark.parametrize("case", ["generated", "far-and-twice", "none"])
def test_placed_venues_are_checked_as_their_csv_rows_are(
    wards: gpd.GeoDataFrame, tmp_path: Path, case: str
) -> None:
    """``place_venues`` (no file) answers what ``read_venues`` answers for the same venues written
    as a CSV: the same placed venues (capacities, closed days, rounding) and warnings, or the same
    refusal, word for word."""
    venues = illustrative_venues(wards, start=START, end=END, seed=3, closed_share=0.5)
    far = Venue("V-far", "Mumbai hall", 72.87, 19.07, "")
    twice = Venue(venues[0].venue_id, "Again", venues[1].lon, venues[1].lat, "")
    given = {"generated": venues, "far-and-twice": [*venues[:3], far, twice], "none": []}[case]
    path = write_venues_csv(given, tmp_path / "community_centres.csv")
    expected = _outcome(lambda w: read_venues(path, wards, warnings=w))
    got = _outcome(lambda w: place_venues(given, wards, label=path.name, warnings=w))
    assert got == expected
    assert got[0] == ("read" if case == "generated" else "refused")
