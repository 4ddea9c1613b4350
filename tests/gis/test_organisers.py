"""Organisers: reading the CSV (and refusing bad ones), distances, the demo generator."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Point

from gis.errors import InputError
from gis.layer import FileBytes, WardLayer
from gis.organisers import (
    CSV_COLUMNS,
    Organiser,
    check_organiser,
    illustrative_organisers,
    organiser_distances_km,
    read_organisers,
    representative_points,
    write_organisers_csv,
)

# Hazratganj, central Lucknow, and Charbagh station.
HAZRATGANJ = (26.8500, 80.9462)
CHARBAGH = (26.8319, 80.9190)


@pytest.fixture
def lucknow(load_clean_layer: Callable[[str], WardLayer]) -> gpd.GeoDataFrame:
    return load_clean_layer("lucknow").wards


def _csv(tmp_path: Path, text: str, name: str = "organisers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(path: Path, wards: gpd.GeoDataFrame) -> InputError:
    with pytest.raises(InputError) as caught:
        read_organisers(path, wards)
    return caught.value


def _ward_containing(wards: gpd.GeoDataFrame, lon: float, lat: float) -> list[str]:
    hits = wards[wards.geometry.intersects(Point(lon, lat))]
    return [str(v) for v in hits["ward_id"]]


def test_reads_lat_lon_homes_and_finds_their_wards(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    path = _csv(
        tmp_path,
        "organiser_id,name,lat,lon\n"
        f"CO-1,Asha Verma,{HAZRATGANJ[0]},{HAZRATGANJ[1]}\n"
        f'CO-2,"Singh, Ravi",{CHARBAGH[0]},{CHARBAGH[1]}\n',
    )
    warnings: list[str] = []
    organisers = read_organisers(path, lucknow, warnings=warnings)
    assert [o.organiser_id for o in organisers] == ["CO-1", "CO-2"]
    assert organisers[1].name == "Singh, Ravi"
    assert (organisers[0].lat, organisers[0].lon) == HAZRATGANJ
    assert organisers[0].home_ward in _ward_containing(lucknow, HAZRATGANJ[1], HAZRATGANJ[0])
    assert warnings == []


def test_home_ward_gives_a_home_inside_that_ward(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    path = _csv(tmp_path, "organiser_id,name,home_ward\nCO-1,A,12\nCO-2,B,45.0\n")
    organisers = read_organisers(path, lucknow)
    assert [o.home_ward for o in organisers] == ["12", "45"]
    for o in organisers:
        assert o.home_ward in _ward_containing(lucknow, o.lon, o.lat)
    distances = organiser_distances_km(lucknow, organisers)
    row_12 = list(lucknow["ward_id"]).index("12")
    assert distances[row_12][0] == pytest.approx(0.0, abs=1e-3)


def test_header_case_spaces_and_excel_bom_are_accepted(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffOrganiser_ID , Name ,Home_Ward\r\nCO-1,A,12\r\n\r\n".encode())
    assert [o.organiser_id for o in read_organisers(path, lucknow)] == ["CO-1"]


def test_missing_columns_lists_what_exists(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    error = _refusal(_csv(tmp_path, "id,full name,latitude,longitude\nCO-1,A,26.8,80.9\n"), lucknow)
    assert error.code == "invalid-csv"
    (issue,) = error.issues
    assert issue.file == "organisers.csv"
    assert "organiser_id" in issue.message
    assert "lat and lon, or home_ward" in issue.message
    assert "'latitude'" in issue.message
    assert "'full name'" in issue.message


def test_optional_phone_and_email_columns_give_each_cos_contact(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    text = (
        "organiser_id,name,home_ward,Phone,email\n"
        "CO-1,A,12,+91 522 400 2001,co1@example.org\n"
        "CO-2,B,45,,\n"
        "CO-3,C,13,0522-4002003\n"
    )
    found = read_organisers(_csv(tmp_path, text), lucknow)
    assert [(o.phone, o.email) for o in found] == [
        ("+91 522 400 2001", "co1@example.org"),
        (None, None),
        ("0522-4002003", None),
    ]
    plain = read_organisers(_csv(tmp_path, "organiser_id,name,home_ward\nCO-1,A,12\n"), lucknow)
    assert plain == [Organiser("CO-1", "A", found[0].lon, found[0].lat, "12")]


def test_a_bad_phone_or_email_is_refused_with_line_field_value(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    text = (
        "organiser_id,name,home_ward,phone,email\n"
        "CO-1,A,12,+91 522 400 2001,\n"
        "CO-2,B,45,call the office,\n"
        "CO-3,C,13,,co3.example.org\n"
    )
    error = _refusal(_csv(tmp_path, text, "roster.csv"), lucknow)
    assert error.code == "invalid-organisers"
    found = {(i.code, i.file, i.field, i.value, i.message.split(":")[0]) for i in error.issues}
    assert found == {
        ("bad-phone", "roster.csv", "phone", "call the office", "line 3"),
        ("bad-email", "roster.csv", "email", "co3.example.org", "line 4"),
    }


def test_duplicate_ids_name_both_lines(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    text = "organiser_id,name,home_ward\nCO-1,A,12\nCO-2,B,13\nCO-1,C,14\n"
    (issue,) = _refusal(_csv(tmp_path, text), lucknow).issues
    assert issue.code == "duplicate-organiser"
    assert (issue.field, issue.value) == ("organiser_id", "CO-1")
    assert issue.message.startswith("line 4:")
    assert "line 2" in issue.message


def test_non_numeric_coordinate_is_reported_with_line_field_value(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    text = (
        f"organiser_id,name,lat,lon\nCO-1,A,{HAZRATGANJ[0]},{HAZRATGANJ[1]}\nCO-2,B,26°50',80.9\n"
    )
    (issue,) = _refusal(_csv(tmp_path, text), lucknow).issues
    assert issue.code == "not-a-number"
    assert (issue.file, issue.field, issue.value) == ("organisers.csv", "lat", "26°50'")
    assert issue.message.startswith("line 3:")


def test_swapped_coordinates_get_a_hint(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    text = f"organiser_id,name,lat,lon\nCO-1,A,{HAZRATGANJ[1]},{HAZRATGANJ[0]}\n"
    issues = _refusal(_csv(tmp_path, text), lucknow).issues
    assert {i.field for i in issues} == {"lat", "lon"}
    assert all("swapped" in i.message and i.code == "outside-india" for i in issues)


def test_coordinates_outside_india_are_refused(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    text = "organiser_id,name,lat,lon\nCO-1,A,51.5,-0.12\n"
    issues = _refusal(_csv(tmp_path, text), lucknow).issues
    assert {i.field for i in issues} == {"lat", "lon"}
    assert not any("swapped" in i.message for i in issues)


def test_unknown_home_ward_is_refused(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    (issue,) = _refusal(_csv(tmp_path, "organiser_id,name,home_ward\nCO-1,A,999\n"), lucknow).issues
    assert (issue.code, issue.field, issue.value) == ("unknown-ward", "home_ward", "999")


def test_every_problem_is_reported_at_once(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    text = "organiser_id,name,lat,lon,home_ward\n,A,,,\nCO-2,,x,80.9,\nCO-3,C,,,777\nCO-4,D,1,2,3\n"
    issues = _refusal(_csv(tmp_path, text), lucknow).issues
    lines = sorted({int(i.message.split(":")[0].removeprefix("line ")) for i in issues})
    assert lines == [2, 3, 4, 5]
    assert {"missing-value", "missing-home", "not-a-number", "unknown-ward", "outside-india"} <= {
        i.code for i in issues
    }


def test_unquoted_comma_is_reported(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    text = "organiser_id,name,home_ward\nCO-1,Singh, Ravi,12\n"
    (issue,) = _refusal(_csv(tmp_path, text), lucknow).issues
    assert issue.code == "extra-fields"
    assert issue.message.startswith("line 2:")


def test_empty_file_and_header_only_are_refused(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    assert _refusal(_csv(tmp_path, ""), lucknow).issues[0].code == "empty-file"
    header_only = _csv(tmp_path, "organiser_id,name,home_ward\n", "h.csv")
    assert _refusal(header_only, lucknow).issues[0].code == "no-organisers"


def _west_edge(wards: gpd.GeoDataFrame) -> tuple[float, float]:
    """The westernmost vertex of the city (lon, lat)."""
    coords = [xy for g in wards.geometry for xy in g.exterior.coords]
    return min(coords)


def test_home_just_outside_the_city_is_accepted_with_a_warning(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    lon, lat = _west_edge(lucknow)
    path = _csv(tmp_path, f"organiser_id,name,lat,lon\nCO-1,A,{lat},{lon - 0.02}\n")
    warnings: list[str] = []
    (organiser,) = read_organisers(path, lucknow, warnings=warnings)
    assert organiser.home_ward is None
    (warning,) = warnings
    assert warning.startswith("organisers.csv, line 2:")
    assert "outside every ward" in warning


def test_home_far_outside_the_city_is_refused(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    lon, lat = _west_edge(lucknow)
    path = _csv(tmp_path, f"organiser_id,name,lat,lon\nCO-1,A,{lat},{lon - 0.2}\n")
    (issue,) = _refusal(path, lucknow).issues
    assert issue.code == "home-far-outside"
    assert "km from the nearest ward" in issue.message


def test_home_not_in_its_stated_ward_warns_and_uses_coordinates(
    tmp_path: Path, lucknow: gpd.GeoDataFrame
) -> None:
    (in_ward,) = _ward_containing(lucknow, HAZRATGANJ[1], HAZRATGANJ[0])
    other = "1" if in_ward != "1" else "2"
    path = _csv(
        tmp_path,
        f"organiser_id,name,lat,lon,home_ward\nCO-1,A,{HAZRATGANJ[0]},{HAZRATGANJ[1]},{other}\n",
    )
    warnings: list[str] = []
    (organiser,) = read_organisers(path, lucknow, warnings=warnings)
    assert organiser.home_ward == in_ward
    assert len(warnings) == 1
    assert f"not in home_ward {other}" in warnings[0]


def test_distances_are_kilometres_on_the_ground(lucknow: gpd.GeoDataFrame) -> None:
    homes = [Organiser("a", "A", HAZRATGANJ[1], HAZRATGANJ[0]), Organiser("b", "B", 81.0, 26.9)]
    distances = organiser_distances_km(lucknow, homes)
    assert len(distances) == len(lucknow)
    assert all(len(row) == 2 for row in distances)
    points = representative_points(lucknow)
    geod = Geod(ellps="WGS84")
    for i in (0, 50, 109):
        for j, home in enumerate(homes):
            _, _, metres = geod.inv(points.iloc[i].x, points.iloc[i].y, home.lon, home.lat)
            assert distances[i][j] == pytest.approx(metres / 1000, rel=2e-3, abs=0.01)


def test_illustrative_organisers_are_deterministic_and_inside_wards(
    lucknow: gpd.GeoDataFrame,
) -> None:
    first = illustrative_organisers(lucknow, 12, seed=7)
    assert first == illustrative_organisers(lucknow, 12, seed=7)
    assert first != illustrative_organisers(lucknow, 12, seed=8)
    assert [o.organiser_id for o in first] == [f"CO-{k:02d}" for k in range(1, 13)]
    assert [o.name for o in first] == [f"Illustrative CO {k:02d}" for k in range(1, 13)]
    assert len({o.home_ward for o in first}) == 12  # without replacement
    geometry = dict(zip(lucknow["ward_id"], lucknow.geometry, strict=True))
    for o in first:
        assert geometry[o.home_ward].contains(Point(o.lon, o.lat))


def test_illustrative_organisers_follow_population(lucknow: gpd.GeoDataFrame) -> None:
    population = dict(zip(lucknow["ward_id"], lucknow["population"], strict=True))
    draws = [o.home_ward for s in range(40) for o in illustrative_organisers(lucknow, 5, seed=s)]
    mean_drawn = sum(population[str(w)] for w in draws) / len(draws)
    assert mean_drawn > lucknow["population"].mean()


def test_more_organisers_than_wards_reuses_wards(
    load_clean_layer: Callable[[str], WardLayer],
) -> None:
    chandigarh = load_clean_layer("chandigarh").wards
    organisers = illustrative_organisers(chandigarh, len(chandigarh) + 4)
    assert len({o.home_ward for o in organisers}) == len(chandigarh)
    assert organisers[-1].organiser_id == "CO-30"


def test_illustrative_needs_a_positive_count(lucknow: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="at least one"):
        illustrative_organisers(lucknow, 0)


def test_written_csv_reads_back_identically(tmp_path: Path, lucknow: gpd.GeoDataFrame) -> None:
    organisers = illustrative_organisers(lucknow, 15, seed=3)
    path = write_organisers_csv(organisers, tmp_path / "out" / "organisers.csv")
    warnings: list[str] = []
    assert read_organisers(path, lucknow, warnings=warnings) == organisers
    assert warnings == []


def _outcome(read: Callable[[list[str]], object]) -> tuple[object, ...]:
    """What a read gives: its result and warnings, or its refusal's title, code and issues."""
    warnings: list[str] = []
    try:
        return ("read", read(warnings), warnings)
    except InputError as exc:
        return ("refused", exc.title, exc.code, exc.issues)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"lat": str(HAZRATGANJ[0]), "lon": str(HAZRATGANJ[1])}, "read"),
        ({"home_ward": "12"}, "read"),
        ({"lat": str(HAZRATGANJ[0]), "lon": str(HAZRATGANJ[1]), "home_ward": "1"}, "read"),
        ({"home_ward": "999"}, "refused"),
        ({"lat": str(HAZRATGANJ[1]), "lon": str(HAZRATGANJ[0])}, "refused"),
        ({"lat": "nan", "lon": "80.9"}, "refused"),
        ({"lat": "26.85"}, "refused"),
        ({"name": " ", "home_ward": "12"}, "refused"),
        ({}, "refused"),
    ],
    ids=[
        "lat-lon",
        "ward",
        "both",
        "unknown-ward",
        "swapped",
        "nan",
        "no-lon",
        "no-name",
        "no-home",
    ],
)
def test_one_organiser_is_checked_as_its_csv_row_is(
    lucknow: gpd.GeoDataFrame, values: dict[str, str], kind: str
) -> None:
    """``check_organiser`` (no file) answers what ``read_organisers`` answers for the same CO
    as a one-row CSV: the organiser and warnings, or the same refusal, word for word."""
    values = {"organiser_id": "CO-1", "name": "Asha Verma", **values}
    text = io.StringIO(newline="")
    csv.writer(text).writerows([CSV_COLUMNS, [values.get(c, "") for c in CSV_COLUMNS]])
    data = FileBytes("organiser.csv", text.getvalue().encode())
    expected = _outcome(lambda w: read_organisers(data, lucknow, warnings=w))
    got = _outcome(lambda w: [check_organiser(values, lucknow, label="organiser.csv", warnings=w)])
    assert got == expected
    assert got[0] == kind
