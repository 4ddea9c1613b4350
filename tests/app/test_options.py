"""One parameter model (issue 16): the command line, the API and stored jobs build the same
``LayerOptions`` / ``PlanOptions``, with one set of defaults and ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.api.intake import IntakeForm
from app.api.layers import LayerFieldsForm
from app.api.schemas import PlanParameters
from app.cli import cli
from app.cli.options import PLAN_PARAMETERS, build_plan_options, layer_request
from app.core.options import LayerOptions, PlanOptions, parse_tolerance
from app.services import solving
from gis.errors import InputError
from gis.fields import FieldMapping
from gis.subward import SubwardRequest


@pytest.mark.parametrize(
    ("text", "value"), [("0.1", 0.1), ("10%", 0.1), (" auto ", None), ("1.5", 1.5), (0.25, 0.25)]
)
def test_tolerance_is_read_one_way(text: str | float, value: float | None) -> None:
    assert parse_tolerance(text) == (None if value is None else pytest.approx(value))


@pytest.mark.parametrize("text", ["lots", "-0.1", "10", "1000%", "nan"])
def test_tolerance_out_of_range_is_refused_naming_it(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_tolerance(text)
    assert caught.value.code == "bad-option"
    assert caught.value.issues[0].field == "tolerance"
    assert caught.value.issues[0].value == text


def test_plan_and_layer_options_validate_themselves() -> None:
    with pytest.raises(InputError, match="gurobi"):
        PlanOptions(solver="gurobi")
    with pytest.raises(InputError, match="snap_metres"):
        PlanOptions(snap_metres=-1)
    with pytest.raises(InputError, match="split_above"):
        LayerOptions(split_above=0)
    with pytest.raises(InputError, match="split"):
        LayerOptions(split=(("57", 1),))
    with pytest.raises(InputError, match="slum_households_total"):
        LayerOptions(slum_households_total=float("inf"))
    with pytest.raises(TypeError):
        LayerOptions(FieldMapping())  # type: ignore[misc]  # keyword-only


def test_cli_and_api_make_the_same_plan_options() -> None:
    """The API's defaults (a body with only a tolerance, as a stored job keeps it) and the command
    line's defaults give equal options."""
    cli_values = {p.name: p.default for p in PLAN_PARAMETERS}
    cli_values.update(tolerance="20%", time_limit=30.0)
    from_cli = build_plan_options(cli_values)
    body = PlanParameters(tolerance=0.2, time_limit=30).model_dump(mode="json")
    from_api = solving.solve_config(body, default_time_limit=60, max_time_limit=60, solver="highs")
    assert from_cli == from_api
    assert from_api == solving.solve_config(
        {"tolerance": 0.2, "time_limit": 30},
        default_time_limit=60,
        max_time_limit=60,
        solver="highs",
    )
    with pytest.raises(solving.TimeLimitTooLong):
        solving.solve_config(body, default_time_limit=10, max_time_limit=10, solver="highs")


def test_cli_and_api_make_the_same_layer_options() -> None:
    values = {
        "id_field": "WARD_NO",
        "population_field": "POP",
        "crs": "EPSG:32644",
        "exclude": ["0", "99"],
        "merge": ["12"],
        "source": "DataMeet",
    }
    from_cli = layer_request(Path("wards.zip"), values, {}).options
    from_api = LayerFieldsForm(
        id_field="WARD_NO",
        population_field="POP",
        crs="EPSG:32644",
        exclude="0, 99",
        merge="12",
        source="DataMeet",
    ).options()
    assert from_cli == from_api
    assert from_cli.mapping.ward_id == "WARD_NO"
    assert from_cli.exclude_ids == ("0", "99")


def test_cli_and_api_make_the_same_intake_options() -> None:
    """The slum point tolerance and the sub-ward layer's columns, from both entry points."""
    values = {
        "slum_point_metres": 250.0,
        "subward_id_field": "BLOCK",
        "subward_population_field": "POP",
        "split_above": 3000.0,
    }
    from_cli = layer_request(Path("wards.zip"), values, {}).options
    form = IntakeForm(
        slum_point_metres=250.0,
        subward_id_field="BLOCK",
        subward_population_field="POP",
        split_above=3000.0,
    )
    assert form.options(LayerOptions()) == from_cli
    assert from_cli.subward_request(Path("blocks.gpkg")) == SubwardRequest(
        Path("blocks.gpkg"), "BLOCK", "POP", None
    )
    assert from_cli.slum_request(Path("s.geojson")).point_tolerance_m == 250.0  # type: ignore[union-attr]
    with pytest.raises(InputError, match="slum_point_metres"):
        LayerOptions(slum_point_metres=-1)


def test_a_bad_option_ends_the_command_naming_it(tmp_path: Path) -> None:
    wards = tmp_path / "w.geojson"
    wards.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    runner = CliRunner()
    for args, shown in (
        (["--split-above", "0"], "--split-above 0.0: give a positive number"),
        (["--split-ward", "57=1"], "--split-ward 57=1: write WARD=UNITS"),
        (["--sliver-max-m2", "-1"], "--sliver-max-m2 -1.0: give an area in m²"),
    ):
        result = runner.invoke(cli, ["requirement", str(wards), *args])
        assert result.exit_code == 2, result.output
        assert shown in result.output
