"""join_population_table with the real census tables and small hand-made ones."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gis.errors import InputError
from gis.io import read_ward_layer
from gis.layer import WardLayer
from gis.tables import join_population_table


@pytest.fixture
def lucknow(shared_data: Path) -> WardLayer:
    return read_ward_layer(
        shared_data / "lucknow/raw/Lucknow_ward_boundary-SHP.zip", exclude_ids=["0"]
    )


def test_lucknow_census_join(lucknow: WardLayer, shared_data: Path) -> None:
    joined = join_population_table(lucknow, shared_data / "lucknow/census2011_wards.csv")

    assert len(joined) == 110
    assert joined.wards["population"].sum() == 2_817_105
    assert joined.wards.loc[joined.wards["ward_id"] == "2", "population"].item() == 41_971
    assert joined.wards["households"].notna().all()
    assert [s.path for s in joined.sources] == [
        "Lucknow_ward_boundary-SHP.zip",
        "census2011_wards.csv",
    ]
    assert any("census_ward_no" in w for w in joined.warnings)
    assert not any("match no ward" in w or "have no row" in w for w in joined.warnings)
    assert lucknow.wards["population"].isna().all()  # the input layer is not modified


def test_chandigarh_out_growths_reported(shared_data: Path) -> None:
    layer = read_ward_layer(
        shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip",
        exclude_ids=["reserve"],
        merge_ids=["5"],
    )
    joined = join_population_table(layer, shared_data / "chandigarh/census2011_wards.csv")

    assert joined.wards["population"].sum() == 961_587
    assert joined.wards.loc[joined.wards["ward_id"] == "5", "population"].item() == 39_075
    assert "2 table row(s) match no ward: 27, 28" in joined.warnings
    assert any(w.startswith("census2011_wards.csv replaced") for w in joined.warnings)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path: Path, shared_data: Path) -> WardLayer:
    layer = read_ward_layer(shared_data / "lucknow/wards.gpkg")
    return WardLayer(wards=layer.wards.head(3).copy(), sources=layer.sources)


def test_wards_without_row_and_blank_cells(small: WardLayer, tmp_path: Path) -> None:
    table = write(tmp_path, "# comment\nward_no,population,households\n1,100,20\n2,,30\n")
    joined = join_population_table(small, table)

    assert list(joined.wards["population"]) == [100, small.wards["population"].iloc[1], 17988]
    assert list(joined.wards["households"][:2]) == [20, 30]
    assert math.isnan(joined.wards["households"].iloc[2])
    assert "1 ward(s) have no row in table.csv: 3" in joined.warnings


def test_duplicate_key_names_lines(small: WardLayer, tmp_path: Path) -> None:
    table = write(tmp_path, "# c\nward,population\n1,10\n2,20\n1.0,30\n")
    with pytest.raises(InputError) as error:
        join_population_table(small, table)
    assert "line 5: ward 1 appears again (first on line 3)" in str(error.value)


def test_non_numeric_value_names_line_field_value(small: WardLayer, tmp_path: Path) -> None:
    table = write(tmp_path, "ward_id,TOT_P\n1,10\n2,abc\n3,-4\n")
    with pytest.raises(InputError) as error:
        join_population_table(small, table)
    first, second = error.value.issues
    assert (first.field, first.value) == ("TOT_P", "'abc'")
    assert "line 3" in first.message
    assert "line 4" in second.message
    assert "negative" in second.message


def test_missing_key_column_lists_columns(small: WardLayer, tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        join_population_table(small, write(tmp_path, "code,population\n1,10\n"))
    assert "no ward number column" in str(error.value)
    assert "'code', 'population'" in str(error.value)


def test_explicit_columns(small: WardLayer, tmp_path: Path) -> None:
    table = write(tmp_path, "code,persons,bpl_hh\n1,10,3\n2,20,4\n3,30,5\n")
    joined = join_population_table(
        small, table, key="code", population="persons", poor_households="bpl_hh"
    )
    assert list(joined.wards["population"]) == [10, 20, 30]
    assert list(joined.wards["poor_households"]) == [3, 4, 5]
