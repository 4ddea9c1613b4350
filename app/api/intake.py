"""The layer upload's intake fields (issue 15): ward names in Hindi, poverty table, slum layer,
zone layer, ward splitting and features without an id — one dependency of ``POST .../layers``."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import File, Form, UploadFile

from app.core.options import MAX_SLUM_POINT_METRES
from app.services import layers as service
from gis.errors import InputError, Issue
from gis.slum_points import POINT_TOLERANCE_M
from gis.unnumbered import UnnumberedRule, parse_feature_ids, parse_features
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE

OptionalText = Annotated[str | None, Form(max_length=200)]
IdList = Annotated[str | None, Form(max_length=2000)]


def ids(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def split_pairs(text: str | None) -> tuple[tuple[str, int], ...]:
    """``"P/N=3, L=2"`` → ``(("P/N", 3), ("L", 2))``; ``InputError`` for anything else."""
    pairs = []
    for item in ids(text):
        ward, _, units = item.rpartition("=")
        if not ward.strip() or not units.strip().isdigit() or int(units) < 2:
            raise InputError(
                "split_wards: write WARD=UNITS pairs, e.g. 57=3 (2 or more units)",
                [Issue("bad-option", "not WARD=UNITS", field="split_wards", value=item)],
                code="bad-option",
            )
        pairs.append((ward.strip(), int(units)))
    return tuple(pairs)


def read_upload(upload: UploadFile | None, default_name: str) -> service.Upload | None:
    """The uploaded part's bytes (routes are sync: reading runs in the thread pool)."""
    if upload is None:
        return None
    upload.file.seek(0)
    return service.Upload(upload.filename or default_name, upload.file.read())


class IntakeForm:
    """The optional intake parts and fields of a layer upload (FastAPI reads them by name)."""

    def __init__(  # noqa: PLR0913 - one form field or part each
        self,
        ward_names: Annotated[
            UploadFile | None, File(description="CSV ward_id,name_en,name_hi (UTF-8)")
        ] = None,
        poverty_table: Annotated[
            UploadFile | None, File(description="CSV of poor/slum households per ward")
        ] = None,
        slum_layer: Annotated[
            UploadFile | None, File(description="slum polygons or points (any ward-layer format)")
        ] = None,
        zones_layer: Annotated[
            UploadFile | None, File(description="zone polygons: each ward to its main zone")
        ] = None,
        subward_layer: Annotated[
            UploadFile | None,
            File(description="the city's sub-ward polygons: the units of split wards"),
        ] = None,
        zones_field: OptionalText = None,
        poverty_key: OptionalText = None,
        poverty_column: OptionalText = None,
        slum_id_field: OptionalText = None,
        slum_households_field: OptionalText = None,
        slum_population_field: OptionalText = None,
        slum_point_metres: Annotated[
            float,
            Form(ge=0, le=MAX_SLUM_POINT_METRES, allow_inf_nan=False, description="metres"),
        ] = POINT_TOLERANCE_M,
        subward_id_field: OptionalText = None,
        subward_population_field: OptionalText = None,
        subward_households_field: OptionalText = None,
        slum_households_total: Annotated[
            float | None, Form(gt=0, allow_inf_nan=False, description="slum households to spread")
        ] = None,
        household_size: Annotated[
            float, Form(gt=0, le=20, allow_inf_nan=False, description="persons per household")
        ] = DEFAULT_HOUSEHOLD_SIZE,
        split_above: Annotated[
            float | None, Form(gt=0, allow_inf_nan=False, description="poor households per unit")
        ] = None,
        split_wards: Annotated[
            IdList, Form(description="WARD=UNITS pairs, comma-separated")
        ] = None,
        exclude_features: Annotated[
            IdList, Form(description="feature numbers to leave out")
        ] = None,
        feature_ids: Annotated[
            IdList, Form(description="FEATURE=ID pairs, comma-separated")
        ] = None,
        sliver_max_m2: Annotated[
            float | None, Form(ge=0, allow_inf_nan=False, description="sliver limit (m²)")
        ] = None,
    ) -> None:
        self.uploads = (ward_names, poverty_table, slum_layer, zones_layer, subward_layer)
        self.fields = {
            "zones_field": zones_field or None,
            "poverty_key": poverty_key or None,
            "poverty_column": poverty_column or None,
            "slum_id_field": slum_id_field or None,
            "slum_households_field": slum_households_field or None,
            "slum_population_field": slum_population_field or None,
            "slum_households_total": slum_households_total,
            "slum_point_metres": slum_point_metres,
            "subward_id_field": subward_id_field or None,
            "subward_population_field": subward_population_field or None,
            "subward_households_field": subward_households_field or None,
            "household_size": household_size,
            "split_above": split_above,
        }
        self.texts = (split_wards, exclude_features, feature_ids)
        self.sliver_max_m2 = sliver_max_m2

    def options(self, base: service.LayerOptions) -> service.LayerOptions:
        """``base`` with these fields (``InputError`` for a malformed list)."""
        split_wards, exclude_features, feature_ids = self.texts
        return dataclasses.replace(
            base,
            **self.fields,  # type: ignore[arg-type]
            split=split_pairs(split_wards),
            unnumbered=UnnumberedRule(
                self.sliver_max_m2,
                parse_features(ids(exclude_features), "exclude_features"),
                parse_feature_ids(ids(feature_ids), "feature_ids"),
            ),
        )

    def ward_names(self) -> service.Upload | None:
        return read_upload(self.uploads[0], "ward_names.csv")

    def poverty(self) -> service.PovertyUploads:
        _, table, slums, zones, subwards = self.uploads
        return service.PovertyUploads(
            read_upload(table, "poverty.csv"),
            read_upload(slums, "slums"),
            read_upload(zones, "zones"),
            read_upload(subwards, "subwards"),
        )
