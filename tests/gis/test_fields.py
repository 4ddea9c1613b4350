"""Column recognition and id normalisation."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from gis.errors import InputError
from gis.fields import FieldMapping, find_column, normalise_id, resolve_fields


@pytest.mark.parametrize(
    "column",
    ["ward_id", "Ward_No", "WARD_NO", "Ward Num", "wardnum", "ward_num", "ward_number", "ward"],
)
def test_id_aliases(column: str) -> None:
    frame = pd.DataFrame({column: [1], "other": ["x"]})
    assert resolve_fields(frame, FieldMapping())["ward_id"] == column


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("ward_name", "Ward Name"),
        ("ward_name", "name"),
        ("zone", "Zone_Name"),
        ("zone", "zone_no"),
        ("population", "POP_TOTAL"),
        ("population", "TOT_P"),
        ("population", "total_population"),
        ("households", "no_hh"),
        ("households", "HH"),
    ],
)
def test_other_aliases(field: str, column: str) -> None:
    frame = pd.DataFrame({"ward_no": [1], column: [5]})
    assert resolve_fields(frame, FieldMapping())[field] == column


def test_poor_households_only_when_named() -> None:
    frame = pd.DataFrame({"ward_no": [1], "poor_households": [5]})
    assert resolve_fields(frame, FieldMapping())["poor_households"] is None
    named = resolve_fields(frame, FieldMapping(poor_households="poor_households"))
    assert named["poor_households"] == "poor_households"


def test_best_alias_wins_and_is_reported() -> None:
    frame = pd.DataFrame({"ward": [1], "Ward_No": [2], "Zone": ["A"], "ZONE_NAME": ["B"]})
    resolved = resolve_fields(frame, FieldMapping())
    assert (resolved["ward_id"], resolved["zone"]) == ("Ward_No", "Zone")
    assert resolved.warnings[0] == "columns recognised: ward id ← 'Ward_No', zone ← 'Zone'"


def test_two_spellings_of_one_alias_are_ambiguous() -> None:
    frame = pd.DataFrame({"WARD_NO": [1], "ward no": [2]})
    with pytest.raises(InputError, match="several columns could be 'ward_no'"):
        resolve_fields(frame, FieldMapping())


def test_ward_name_as_id_only_when_numeric() -> None:
    numbers = pd.DataFrame({"Ward_name": ["1", "2", "3"]})
    resolved = resolve_fields(numbers, FieldMapping())
    assert resolved["ward_id"] == "Ward_name"
    assert resolved["ward_name"] is None
    assert any("are used as ward ids" in w for w in resolved.warnings)

    names = pd.DataFrame({"Ward_name": ["Aliganj", "Chowk", "Hazarat Ganj"]})
    with pytest.raises(InputError, match="no ward id column"):
        resolve_fields(names, FieldMapping())


def test_ward_name_as_id_after_exclusion() -> None:
    frame = pd.DataFrame({"Ward_name": ["1", "reserve", "2"]})
    with pytest.raises(InputError, match="except 'reserve' \\(feature 1\\)"):
        resolve_fields(frame, FieldMapping())
    assert resolve_fields(frame, FieldMapping(), exclude_ids=["Reserve"])["ward_id"] == "Ward_name"


def test_explicit_missing_column_lists_available() -> None:
    frame = gpd.GeoDataFrame({"WARD_NO": [1], "POP": [2]}, geometry=[None])
    with pytest.raises(InputError) as error:
        resolve_fields(frame, FieldMapping(population="persons"), source="w.geojson")
    text = str(error.value)
    assert "w.geojson: the population column 'persons' is not in the file" in text
    assert "'WARD_NO', 'POP'" in text
    assert "'geometry'" not in text
    assert "pop_total, tot_p" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (2.0, "2"),
        ("2.0", "2"),
        (" 17 ", "17"),
        (5, "5"),
        ("12A", "12A"),
        ("", None),
        (None, None),
        (float("nan"), None),
        ("2.5", "2.5"),
        ("2.00", "2"),
    ],
)
def test_normalise_id(raw: object, expected: str | None) -> None:
    assert normalise_id(raw) == expected


def test_find_column_ignores_case_spaces_underscores() -> None:
    assert find_column(["Ward  Num", "x"], ["ward_num"]) == "Ward  Num"
    assert find_column(["x"], ["ward_num"]) is None
