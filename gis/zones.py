"""Zones from a separate layer: each ward goes to the zone it overlaps most.

Cities often keep zones (administrative zones, circles) as their own polygon file. Each ward is
assigned the zone covering the largest part of its area (measured in the local UTM zone); a ward
split between zones (its largest share below ``SPLIT_SHARE``) is reported with every share, and a
ward in no zone is reported and left without one. The zone layer's values replace the ward layer's
own zone column, and every change is reported.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd

from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.io import read_ward_layer
from gis.layer import FileBytes, SourceFile, WardLayer

#: Zone name columns recognised in a zone layer, best first.
ZONE_ALIASES = ("zone", "zone_name", "zone_no", "zone_id", "name")
#: A ward whose largest zone share is below this is reported as split between zones.
SPLIT_SHARE = 0.99
_SHOWN = 10


def read_zones(
    path: Path | FileBytes, zone_field: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """The zone polygons (``zone``, geometry; EPSG:4326) and the file's SHA-256.

    Read by the ward layer reader (same checks and repairs); the zone column is the one named,
    else the first of ``ZONE_ALIASES`` the file has. One zone may be several features.
    """
    candidates = [zone_field] if zone_field is not None else list(ZONE_ALIASES)
    last_error: InputError | None = None
    for column in candidates:
        try:
            layer = read_ward_layer(path, mapping=FieldMapping(ward_id=column), merge_ids=())
        except InputError as exc:
            if exc.code != "missing-column":
                raise
            last_error = exc
            continue
        return layer.wards.rename(columns={"ward_id": "zone_name"}), layer.sources[0].sha256
    assert last_error is not None
    hint = Issue(
        "missing-column",
        f"zone column names recognised: {', '.join(ZONE_ALIASES)} (or name it: --zones-field, "
        "the upload's `zones_field`)",
        file=path.name,
    )
    raise InputError(last_error.title, [*last_error.issues, hint], code=last_error.code)


def zone_shares(wards: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> list[dict[str, float]]:
    """Per ward (by position): zone -> share of the ward's area in it, largest first."""
    metric = wards.estimate_utm_crs()
    w = gpd.GeoDataFrame({"ward": range(len(wards))}, geometry=wards.geometry.to_crs(metric).values)
    z = gpd.GeoDataFrame(
        {"zone": zones["zone_name"].to_numpy()}, geometry=zones.geometry.to_crs(metric).values
    )
    w, z = w.set_crs(metric), z.set_crs(metric)
    areas = w.area.to_numpy()
    pieces = gpd.overlay(w, z, how="intersection", keep_geom_type=True)
    pieces["share"] = pieces.area / areas[pieces["ward"].to_numpy()]
    totals = pieces.groupby(["ward", "zone"])["share"].sum()
    shares: list[dict[str, float]] = [{} for _ in range(len(wards))]
    for (ward, zone), share in totals.items():
        shares[int(ward)][str(zone)] = float(share)
    return [dict(sorted(s.items(), key=lambda kv: -kv[1])) for s in shares]


def assign_zones(
    layer: WardLayer, path: Path | FileBytes, zone_field: str | None = None
) -> WardLayer:
    """A copy of ``layer`` whose ``zone`` is the zone each ward overlaps most (see module doc)."""
    zones, digest = read_zones(path, zone_field)
    shares = zone_shares(layer.wards, zones)
    wards = layer.wards.copy()
    ids = [str(w) for w in wards["ward_id"]]
    chosen = [next(iter(s), None) for s in shares]
    changed = [
        f"{w} {old!r} → {new!r}"
        for w, old, new in zip(ids, wards["zone"], chosen, strict=True)
        if old is not None and old == old and new is not None and str(old) != new
    ]
    wards["zone"] = chosen
    notes = [f"zones from {path.name}: each ward in the zone it overlaps most ({len(zones)} zones)"]
    split = [
        f"{w} ({', '.join(f'{z} {100 * v:.0f} %' for z, v in s.items())})"
        for w, s in zip(ids, shares, strict=True)
        if s and next(iter(s.values())) < SPLIT_SHARE
    ]
    if split:
        notes.append(_listing(f"{len(split)} ward(s) lie in several zones", split))
    outside = [w for w, s in zip(ids, shares, strict=True) if not s]
    if outside:
        notes.append(_listing(f"{len(outside)} ward(s) lie in no zone (left without one)", outside))
    if changed:
        notes.append(_listing(f"{path.name} changed the zone of {len(changed)} ward(s)", changed))
    return replace(
        layer,
        wards=wards,
        sources=[*layer.sources, SourceFile(path.name, digest)],
        warnings=[*layer.warnings, *notes],
    )


def _listing(title: str, items: list[str]) -> str:
    more = f" … and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return f"{title}: {', '.join(items[:_SHOWN])}{more}"
