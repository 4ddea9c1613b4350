"""Joins that forgive and explain: ward numbers written differently, joins by name, and the
side-by-side refusal when rows and wards stay unmatched (issue 15, item 1)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from gis.errors import InputError
from gis.io import read_ward_layer
from gis.layer import WardLayer
from gis.matching import match_ids, match_names, number_key
from gis.tables import join_population_table


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("08", 8),
        ("8", 8),
        ("8.0", 8),
        ("Ward 8", 8),
        ("W-08", 8),
        ("ward no. 8", 8),
        ("वार्ड 8", 8),
        ("१२", 12),
        ("A12", None),
        ("12a", None),
        ("reserve", None),
    ],
)
def test_number_key(text: str, number: int | None) -> None:
    assert number_key(text) == number


def test_ids_match_as_numbers_and_say_how() -> None:
    m = match_ids(["01", "02", "W-3", "x", "A1"], ["1", "2", "3", "X", "a1"])
    assert m.pairs == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}
    assert m.inexact == [
        "ward '01' = table '1' (same number, written with leading zeros in the layer)",
        "ward '02' = table '2' (same number, written with leading zeros in the layer)",
        "ward 'W-3' = table '3' (same number, written with the prefix 'W-' in the layer)",
    ]


def test_non_numbers_never_match_approximately() -> None:
    m = match_ids(["A12", "B7"], ["A-12", "b 7"])
    assert m.pairs == {}
    assert m.inexact == []


def test_a_number_written_twice_is_not_guessed() -> None:
    m = match_ids(["8", "08", "9"], ["08.0", "009"])
    # "08.0" is normalised by the table reader, not here: "8" and "08" both write 8.
    assert 0 not in m.pairs
    assert m.pairs == {1: 2}
    assert m.likely == [
        "ward '8' ↔ table '08.0' (same number 8, not unique on one side)",
        "ward '08' ↔ table '08.0' (same number 8, not unique on one side)",
    ]
    assert number_key("08.0") == 8


def test_names_match_in_english_and_hindi_and_say_how() -> None:
    m = match_names(
        ["Hazratganj", "हज़रतगंज", "Aminabad", "Chowk"], ["Hazrat Ganj", "हजरतगंज", "Aminabaad"]
    )
    assert m.pairs == {0: 0, 1: 1, 2: 2}
    assert m.inexact == [
        "ward 'Hazratganj' = table 'Hazrat Ganj' (same name after normalising spelling)",
        "ward 'हज़रतगंज' = table 'हजरतगंज' (same name after normalising spelling)",
        "ward 'Aminabad' = table 'Aminabaad' (approximate: 94% similar)",
    ]


# --- the join on a real city ----------------------------------------------------------------------


def padded_layer(shared_data: Path, tmp_path: Path, fmt: str = "{:02d}") -> WardLayer:
    """Chandigarh's 26 wards with ids written zero-padded and no population."""
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")
    frame["ward_id"] = [fmt.format(int(w)) for w in frame["ward_id"]]
    frame = frame[["ward_id", "geometry"]]
    path = tmp_path / "padded.geojson"
    frame.to_file(path, driver="GeoJSON")
    return read_ward_layer(path)


def test_zero_padded_layer_joins_the_unpadded_census(shared_data: Path, tmp_path: Path) -> None:
    layer = padded_layer(shared_data, tmp_path)
    joined = join_population_table(layer, shared_data / "chandigarh/census2011_wards.csv")

    assert joined.wards["population"].sum() == 961_587
    assert joined.wards.loc[joined.wards["ward_id"] == "05", "population"].item() == 39_075
    assert list(joined.wards["ward_id"]) == list(layer.wards["ward_id"])  # the layer's ids stay
    note = next(w for w in joined.warnings if "pairing(s) were not exact" in w)
    assert note.startswith("9 pairing(s) were not exact: ward '01' = table '1' (same number")
    assert "leading zeros in the layer" in note
    assert "2 table row(s) match no ward: 27, 28" in joined.warnings


def test_unmatched_rows_and_wards_are_listed_side_by_side(
    shared_data: Path, tmp_path: Path
) -> None:
    layer = padded_layer(shared_data, tmp_path, fmt="C{:d}")  # "C5": not a number
    with pytest.raises(InputError) as error:
        join_population_table(layer, shared_data / "chandigarh/census2011_wards.csv")
    text = str(error.value)
    assert error.value.code == "unmatched-join"
    assert "26 ward(s) got no figure from the table and 28 table row(s) match no ward" in text
    assert "wards without a row" in text
    assert "table rows without a ward" in text
    lines = [i.message for i in error.value.issues]
    assert lines[1].split() == ["C1", "1"]
    assert any("--table-key" in line for line in lines)


def test_table_with_names_and_no_numbers_joins_by_name(shared_data: Path, tmp_path: Path) -> None:
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")[["ward_id", "geometry"]]
    # ward 7's name carries a zero-width joiner, as some keyboards type it
    frame["ward_name"] = [("सेक्\u200dटर " if w == "7" else "सेक्टर ") + w for w in frame["ward_id"]]
    path = tmp_path / "named.geojson"
    frame.to_file(path, driver="GeoJSON")
    layer = read_ward_layer(path)
    table = tmp_path / "names.csv"
    rows = "\n".join(f"सेक्टर {w},{1000 + int(w)}" for w in frame["ward_id"])
    table.write_text(f"ward_name_hi,population\n{rows}\n", encoding="utf-8")

    joined = join_population_table(layer, table)

    assert joined.wards.loc[joined.wards["ward_id"] == "7", "population"].item() == 1007
    assert joined.wards["population"].notna().all()
    assert any("by ward name on name ← 'ward_name_hi'" in w for w in joined.warnings)
    note = next(w for w in joined.warnings if "pairing(s) were not exact" in w)
    # the invisible joiner is shown escaped, so the user sees why the names differed
    assert note.startswith("1 pairing(s) were not exact: ward 'सेक्\\u200dटर 7' = table 'सेक्टर 7'")


def test_names_table_without_layer_names_is_refused(shared_data: Path, tmp_path: Path) -> None:
    layer = padded_layer(shared_data, tmp_path)
    table = tmp_path / "names.csv"
    table.write_text("name,population\nSector 1,10\n", encoding="utf-8")
    with pytest.raises(InputError, match="nothing to join the ward names to"):
        join_population_table(layer, table)
