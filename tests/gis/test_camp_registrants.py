"""Expected camp registrants from a ward table, joined onto Lucknow's real ward layer as the census
and poverty tables are: ward numbers written differently, a comment line, a bad value, a ward
left without a row, a table without a registrants column. The tables are built from Lucknow's
census table (registrants = 5 % of each ward's households)."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest

from gis.camp_registrants import read_ward_registrants
from gis.errors import InputError
from gis.io import read_ward_layer


@pytest.fixture(scope="module")
def wards(shared_data: Path) -> gpd.GeoDataFrame:
    raw = shared_data / "lucknow" / "raw" / "Lucknow_ward_boundary-SHP.zip"
    return read_ward_layer(raw, exclude_ids=["0"]).wards


@pytest.fixture(scope="module")
def census(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "lucknow" / "census2011_wards.csv"
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    return list(csv.DictReader(lines))


def _table(path: Path, rows: list[tuple[str, str]], header: str = "ward,workers") -> Path:
    body = "".join(f"{key},{value}\n" for key, value in rows)
    path.write_text(f"# registrants per ward\n{header}\n{body}", encoding="utf-8")
    return path


def _registrants(census: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (f"Ward {int(r['census_ward_no']):02d}", f"{int(r['households']) * 0.05:.2f}")
        for r in census
    ]


def test_every_ward_gets_its_row_written_differently(
    wards: gpd.GeoDataFrame, census: list[dict[str, str]], tmp_path: Path
) -> None:
    table = _table(tmp_path / "workers.csv", _registrants(census))
    got = read_ward_registrants(wards, table)
    assert got.column == "workers"
    assert len(got.by_ward) == 110
    assert set(got.by_ward) == {str(w) for w in wards["ward_id"]}
    households = {str(int(r["census_ward_no"])): int(r["households"]) for r in census}
    for ward, value in got.by_ward.items():
        assert value == pytest.approx(households[ward] * 0.05, abs=0.006)
    assert any("not exact" in n and "'Ward 01'" in n for n in got.notes), got.notes


def test_a_bad_value_is_refused_with_its_line_column_and_value(
    wards: gpd.GeoDataFrame, census: list[dict[str, str]], tmp_path: Path
) -> None:
    rows = _registrants(census)
    rows[4] = (rows[4][0], "many")
    with pytest.raises(InputError) as caught:
        read_ward_registrants(wards, _table(tmp_path / "bad.csv", rows))
    (issue,) = caught.value.issues
    assert (issue.file, issue.field, issue.value) == ("bad.csv", "workers", "'many'")
    assert "line 7" in issue.message  # comment, header, then the fifth row


def test_a_ward_without_a_row_is_refused_beside_the_unmatched_rows(
    wards: gpd.GeoDataFrame, census: list[dict[str, str]], tmp_path: Path
) -> None:
    rows = _registrants(census)
    rows[9] = ("Ward 910", rows[9][1])
    with pytest.raises(InputError) as caught:
        read_ward_registrants(wards, _table(tmp_path / "gap.csv", rows))
    assert caught.value.code == "unmatched-join"
    text = " ".join(i.message for i in caught.value.issues)
    assert "10" in text
    assert "Ward 910" in text


def test_a_table_without_a_registrants_column_names_its_columns(
    wards: gpd.GeoDataFrame, census: list[dict[str, str]], tmp_path: Path
) -> None:
    table = _table(tmp_path / "t.csv", _registrants(census), header="ward,people")
    with pytest.raises(InputError) as caught:
        read_ward_registrants(wards, table)
    message = caught.value.issues[0].message
    assert "'people'" in message
    assert "registrants" in message
    named = read_ward_registrants(wards, table, column="people")
    assert len(named.by_ward) == 110
    with pytest.raises(InputError) as missing:
        read_ward_registrants(wards, table, column="votes")
    assert missing.value.issues[0].value == "votes"
