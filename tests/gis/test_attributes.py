"""Single values: counts in any script, the plausibility cap, and mojibake detection."""

from __future__ import annotations

import pytest

from gis.attributes import MAX_COUNT, ValueProblem, mojibake, parse_count


@pytest.mark.parametrize(
    ("value", "expected"),
    [("१२३४", 1234.0), ("१२,३४५", 12345.0), ("28,17,105", 2817105.0), (MAX_COUNT, MAX_COUNT)],
)
def test_counts_in_any_script_and_grouping(value: object, expected: float) -> None:
    assert parse_count(value) == expected


def test_count_above_the_cap_is_implausible() -> None:
    with pytest.raises(ValueProblem, match="implausible"):
        parse_count(MAX_COUNT + 1)


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_utf8_read_as_a_western_codepage_is_mojibake(codec: str) -> None:
    name = "हज़रतगंज"
    garbled = name.encode("utf-8").decode(codec)
    assert garbled != name
    assert mojibake(garbled) == name


@pytest.mark.parametrize("text", ["Café Ward", "Sector 17", "हज़रतगंज", "Señora", "Zürich"])
def test_real_text_is_not_mojibake(text: str) -> None:
    assert mojibake(text) is None
