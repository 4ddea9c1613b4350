"""Features without a ward id: an explicit rule, reported like every repair.

Real ward layers carry stray features with no id (no number, no name): digitising slivers of a few
hundred m² left between wards. The rule:

- the user may give such a feature an id (``feature_ids``: feature number → id; with ``merge`` the
  feature then joins that ward) or leave it out (``exclude_features``), by its 0-based feature
  number as every message shows it;
- a feature still without an id is a **sliver** when its area is below the sliver limit — by
  default the larger of ``DEFAULT_SLIVER_M2`` (0.1 ha) and ``SMALLEST_WARD_SHARE`` (1 %) of the
  smallest ward's area, or a limit the user states (``sliver_max_m2``; 0 absorbs nothing). A sliver
  is absorbed into the neighbouring ward with the longest shared boundary, and this is reported;
- a larger feature without an id is refused, naming its number, its area and both remedies.

Areas and boundary lengths are measured in the layer's local UTM zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import InputError, Issue
from gis.fields import normalise_id
from gis.geometry import geometry_problem, polygonal

#: Slivers are smaller than this many m² (0.1 ha) …
DEFAULT_SLIVER_M2 = 1_000.0
#: … or than this share of the smallest ward, whichever is larger.
SMALLEST_WARD_SHARE = 0.01
#: A sliver and a ward closer than this (metres) share boundary.
TOUCH_METRES = 1.0


@dataclass(frozen=True)
class UnnumberedRule:
    """What to do with features that have no ward id (see the module doc)."""

    sliver_max_m2: float | None = None
    exclude_features: tuple[int, ...] = ()
    feature_ids: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Sliver:
    """A feature set aside to be absorbed once the wards are in the storage CRS."""

    feature: int
    geometry: BaseGeometry
    area_m2: float


@dataclass
class SetAside:
    """The result of :func:`set_aside`: the features kept, slivers, and refusals."""

    work: gpd.GeoDataFrame
    slivers: list[Sliver]
    issues: list[Issue]
    limit_m2: float
    #: What the options did, for the report: features left out by number, features given an id.
    excluded: list[dict[str, object]] = field(default_factory=list)
    given_ids: list[dict[str, object]] = field(default_factory=list)


def unnumbered_report(aside: SetAside, absorbed: list[dict[str, object]]) -> dict[str, object]:
    """The features without an id as ``report.json`` states them: the sliver limit, the slivers
    absorbed (each with its area, the ward and the shared boundary), the features left out by
    number and those given an id as asked. Counts and areas in m². (A larger feature without an
    id refuses the file, naming it and its area, so a read layer holds none.)"""

    def total(rows: list[dict[str, object]]) -> float:
        return round(sum(a for r in rows if isinstance(a := r["area_m2"], float)), 1)

    return {
        "sliver_limit_m2": round(aside.limit_m2, 1) if absorbed else None,
        "absorbed": {"count": len(absorbed), "area_m2": total(absorbed), "features": absorbed},
        "excluded": {
            "count": len(aside.excluded),
            "area_m2": total(aside.excluded),
            "features": aside.excluded,
        },
        "given_ids": aside.given_ids,
    }


def parse_feature_ids(
    items: Iterable[str], source: str = "feature_ids"
) -> tuple[tuple[int, str], ...]:
    """``["27=12", "31 = W-5"]`` → ``((27, "12"), (31, "W-5"))``; raises ``InputError``."""
    pairs: list[tuple[int, str]] = []
    bad: list[Issue] = []
    for item in items:
        number, _, ward = item.partition("=")
        ward_id = normalise_id(ward)
        if not number.strip().isdigit() or ward_id is None:
            bad.append(
                Issue("bad-option", "write FEATURE=ID, e.g. 27=12", field=source, value=item)
            )
            continue
        pairs.append((int(number), ward_id))
    if bad:
        raise InputError(f"{source}: {len(bad)} value(s) not FEATURE=ID", bad, code="bad-option")
    return tuple(pairs)


def parse_features(items: Iterable[str], source: str = "exclude_features") -> tuple[int, ...]:
    """``["27", "31"]`` → ``(27, 31)``; raises ``InputError`` for anything not a feature number."""
    bad = [i for i in items if not i.strip().isdigit()]
    if bad:
        issues = [Issue("bad-option", "not a feature number", field=source, value=b) for b in bad]
        raise InputError(
            f"{source}: {len(bad)} value(s) not a feature number", issues, code="bad-option"
        )
    return tuple(int(i) for i in items)


def set_aside(
    work: gpd.GeoDataFrame, rule: UnnumberedRule, label: str, notes: list[str]
) -> SetAside:
    """Apply ``feature_ids`` and ``exclude_features``, then take out slivers and refuse the rest.

    ``work`` is the reader's working frame (``feature``, ``ward_id``, counts, geometry, in the
    file's CRS). Returns the frame without the features set aside.
    """
    issues = _unknown_features(work, rule, label)
    given: list[dict[str, object]] = []
    excluded: list[dict[str, object]] = []
    work = _give_ids(work, rule, notes, given)
    work = _drop_features(work, rule, notes, excluded)
    missing = work["ward_id"].isna().reset_index(drop=True)
    if not missing.any():
        return SetAside(work, [], issues, 0.0, excluded, given)
    areas = _areas_m2(work)
    limit = _limit(rule, areas, missing)
    slivers: list[Sliver] = []
    for position in [i for i, flag in enumerate(missing) if flag]:
        feature = int(work["feature"].iloc[position])
        area = float(areas.iloc[position])
        if not math.isfinite(area):
            continue  # not measurable (no CRS, a bad geometry): refused by the reader's checks
        if area < limit:
            slivers.append(Sliver(feature, work.geometry.iloc[position], area))
        else:
            issues.append(_refusal(feature, area, limit, label))
    taken = {s.feature for s in slivers} | {i.feature for i in issues if i.code == "missing-id"}
    kept = work[~work["feature"].isin(taken)].reset_index(drop=True)
    return SetAside(kept, slivers, issues, limit, excluded, given)


def _unknown_features(work: gpd.GeoDataFrame, rule: UnnumberedRule, label: str) -> list[Issue]:
    known = set(work["feature"])
    named = [*rule.exclude_features, *(f for f, _ in rule.feature_ids)]
    return [
        Issue(
            "unknown-feature",
            f"feature {f} was named in an option, but the file has features 0–{len(work) - 1}",
            file=label,
            value=str(f),
        )
        for f in sorted(set(named) - known)
    ]


def _give_ids(
    work: gpd.GeoDataFrame, rule: UnnumberedRule, notes: list[str], given: list[dict[str, object]]
) -> gpd.GeoDataFrame:
    if not rule.feature_ids:
        return work
    work = work.copy()
    for feature, ward_id in rule.feature_ids:
        mask = work["feature"] == feature
        if not mask.any():
            continue
        old = work.loc[mask, "ward_id"].iloc[0]
        work.loc[mask, "ward_id"] = ward_id
        was = "had no id" if old is None else f"had id {old!r}"
        notes.append(f"feature {feature} ({was}) was given ward id {ward_id!r} as asked")
        given.append({"feature": feature, "had_id": old, "ward_id": ward_id})
    return work


def _drop_features(
    work: gpd.GeoDataFrame,
    rule: UnnumberedRule,
    notes: list[str],
    excluded: list[dict[str, object]],
) -> gpd.GeoDataFrame:
    wanted = set(rule.exclude_features)
    dropped = work[work["feature"].isin(wanted)]
    if dropped.empty:
        return work
    listed = ", ".join(
        f"{f} ({'no id' if w is None else f'id {w!r}'})"
        for f, w in zip(dropped["feature"], dropped["ward_id"], strict=True)
    )
    notes.append(f"excluded {len(dropped)} feature(s) by number: {listed}")
    areas = _areas_m2(dropped)
    excluded.extend(
        {"feature": int(f), "ward_id": w, "area_m2": None if math.isnan(a) else round(a, 1)}
        for f, w, a in zip(dropped["feature"], dropped["ward_id"], areas, strict=True)
    )
    return work[~work["feature"].isin(wanted)].reset_index(drop=True)


def _areas_m2(work: gpd.GeoDataFrame) -> pd.Series[float]:
    """Each feature's area in m² (NaN where the geometry or the CRS does not allow it)."""
    usable = [shapely.make_valid(g) if geometry_problem(g) is None else None for g in work.geometry]
    frame = gpd.GeoSeries(usable, crs=work.crs)
    try:
        metric = frame.to_crs(frame.estimate_utm_crs())
    except (ValueError, RuntimeError):
        return pd.Series([math.nan] * len(work), dtype="float64")
    return pd.Series([math.nan if g is None else g.area for g in metric], dtype="float64")


def _limit(rule: UnnumberedRule, areas: pd.Series[float], missing: pd.Series[bool]) -> float:
    if rule.sliver_max_m2 is not None:
        return rule.sliver_max_m2
    wards = areas[~missing].dropna()
    smallest = float(wards.min()) if len(wards) else 0.0
    return max(DEFAULT_SLIVER_M2, SMALLEST_WARD_SHARE * smallest)


def _refusal(feature: int, area: float, limit: float, label: str) -> Issue:
    return Issue(
        "missing-id",
        f"has no ward id and covers {area:,.0f} m², more than a sliver (limit {limit:,.0f} m²): "
        f"give it an id with --feature-id {feature}=ID (the upload's `feature_ids`; add --merge ID "
        f"to join it to that ward), or leave it out with --exclude-feature {feature} "
        "(`exclude_features`)",
        file=label,
        feature=feature,
    )


def absorb(
    wards: gpd.GeoDataFrame,
    slivers: list[Sliver],
    source_crs: object,
    label: str,
    limit: float,
    notes: list[str],
    absorbed: list[dict[str, object]] | None = None,
) -> gpd.GeoDataFrame:
    """Union each sliver into the ward with which it shares the longest boundary (reported; and
    recorded in ``absorbed`` for the report, see :func:`unnumbered_report`).

    ``wards`` are in the storage CRS; the slivers' geometries are in ``source_crs``.
    """
    if not slivers:
        return wards
    wards = wards.copy()
    pieces = gpd.GeoSeries([s.geometry for s in slivers], crs=source_crs).to_crs(wards.crs)
    metric_crs = wards.estimate_utm_crs()
    metric_wards = wards.geometry.to_crs(metric_crs)
    isolated: list[Issue] = []
    for sliver, piece in zip(slivers, pieces, strict=True):
        piece = shapely.make_valid(piece)
        metric_piece = gpd.GeoSeries([piece], crs=wards.crs).to_crs(metric_crs).iloc[0]
        position, shared = _longest_boundary(metric_piece, metric_wards)
        if position is None:
            isolated.append(_isolated(sliver, label))
            continue
        column = wards.geometry.name
        merged = polygonal(shapely.make_valid(shapely.union(wards.geometry.iloc[position], piece)))
        wards.iloc[position, wards.columns.get_loc(column)] = merged
        ward_id = wards["ward_id"].iloc[position]
        notes.append(
            f"absorbed feature {sliver.feature} (no ward id, {sliver.area_m2:,.0f} m², below the "
            f"sliver limit of {limit:,.0f} m²) into ward {ward_id}, the neighbour with the "
            f"longest shared boundary ({shared:,.0f} m)"
        )
        if absorbed is not None:
            absorbed.append(
                {
                    "feature": sliver.feature,
                    "area_m2": round(sliver.area_m2, 1),
                    "into_ward": str(ward_id),
                    "shared_boundary_m": round(shared, 1),
                }
            )
    if isolated:
        raise InputError(
            f"{label}: {len(isolated)} sliver(s) touch no ward", isolated, code="invalid-layer"
        )
    return wards


def _longest_boundary(piece: BaseGeometry, wards: gpd.GeoSeries) -> tuple[int | None, float]:
    boundary = piece.boundary
    best: tuple[int | None, float] = (None, 0.0)
    for position in wards.sindex.query(piece, predicate="dwithin", distance=TOUCH_METRES):
        ward = wards.iloc[int(position)]
        shared = boundary.intersection(ward.buffer(TOUCH_METRES)).length
        if shared > best[1]:
            best = (int(position), float(shared))
    return best


def _isolated(sliver: Sliver, label: str) -> Issue:
    return Issue(
        "missing-id",
        f"has no ward id and ({sliver.area_m2:,.0f} m²) shares no boundary with any ward: leave it "
        f"out with --exclude-feature {sliver.feature} (`exclude_features`) or give it an id with "
        f"--feature-id {sliver.feature}=ID (`feature_ids`)",
        file=label,
        feature=sliver.feature,
    )
