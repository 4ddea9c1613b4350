"""The normalised ward layer every other part of Wardplan works on."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

#: Columns of ``WardLayer.wards``, in order. ``geometry`` is (Multi)Polygon in EPSG:4326.
#: ``ward_id`` is a normalised string ("2.0" -> "2"); ``ward_name``/``zone`` are strings or None;
#: ``population``/``households``/``poor_households`` are floats or NaN where not known.
WARD_COLUMNS = (
    "ward_id",
    "ward_name",
    "zone",
    "population",
    "households",
    "poor_households",
    "geometry",
)

#: The CRS every stored and exchanged layer uses; metric work reprojects with ``gis.crs.metric_crs``.
STORAGE_CRS = "EPSG:4326"


@dataclass(frozen=True)
class SourceFile:
    """A file that went into a layer: its name as given, and the SHA-256 of its bytes."""

    path: str
    sha256: str


@dataclass
class WardLayer:
    """Wards ready to plan on, plus everything that was done to get them there.

    ``warnings`` lists each normalisation applied, in words a GIS cell understands
    ("reprojected EPSG:32643 → EPSG:4326", "repaired 3 invalid rings, area change 0.02 %").
    """

    wards: gpd.GeoDataFrame
    sources: list[SourceFile] = field(default_factory=list)
    source_crs: str = STORAGE_CRS
    warnings: list[str] = field(default_factory=list)
    #: ward id -> where its ``poor_households`` figure came from (a poverty table, a slum layer),
    #: for the wards whose figure was joined from a separate source.
    poverty_sources: dict[str, str] = field(default_factory=dict)
    #: sub-ward unit id ("57/2") -> (parent ward id, part, parts), for wards split by
    #: ``gis.split``; empty when no ward was split.
    parents: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    #: Features without a ward id: absorbed slivers, features left out or given an id by number
    #: (``gis.unnumbered.unnumbered_report``); empty for a layer not read from a file.
    unnumbered: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.wards)


@dataclass(frozen=True)
class FileBytes:
    """A file as received (an upload's part): its name, for messages, and its bytes. Readers of
    tables take it instead of a path, so an upload need not be written to disk to be read."""

    name: str
    data: bytes
