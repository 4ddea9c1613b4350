"""Wards too large for one CO cut into sub-ward units (issue 15): which wards, into how many, and
how — the city's own sub-ward layer when given (``gis.subward``), else compact bisection
(``gis.split``); with a slum layer the units' poor households come from the slums again."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.options import LayerOptions
from gis.errors import InputError, Issue
from gis.formats import file_sha256
from gis.layer import SourceFile, WardLayer
from gis.slums import SlumRequest, join_slum_layer, read_slums
from gis.split import parts_needed, split_wards
from gis.subward import SubwardRequest, read_subwards


def split_layer(
    layer: WardLayer,
    opts: LayerOptions,
    loads: Sequence[float],
    slums: SlumRequest | None,
    subwards: SubwardRequest | None,
) -> WardLayer:
    """``layer`` with the wards above ``opts.split_above`` poor households (``loads``, by ward
    position) and those named in ``opts.split`` cut into units."""
    ids = [str(w) for w in layer.wards["ward_id"]]
    parts = dict(opts.split)
    if opts.split_above is not None:
        parts = {**parts_needed(list(loads), ids, opts.split_above), **parts}
    unknown = sorted(set(parts) - set(ids))
    if unknown:
        raise InputError(
            "wards to split are not in the layer",
            [Issue("unknown-ward", "no such ward to split", ward_id=w) for w in unknown],
            code="unknown-ward",
        )
    if not any(k > 1 for k in parts.values()):
        if subwards is not None:  # still a source of the layer (an identical upload is known)
            digest = file_sha256(subwards.path, subwards.path.name)
            layer.sources.append(SourceFile(subwards.path.name, digest))
            layer.warnings.append(
                f"{subwards.path.name}: no ward needed splitting, so the sub-ward layer was "
                "not used"
            )
        return layer
    units = None if subwards is None else read_subwards(subwards)
    if slums is None:
        return split_wards(layer, parts, subwards=units)
    slum_frame, _, _ = read_slums(slums, opts.household_size)
    split = split_wards(layer, parts, slum_frame, units)
    return join_slum_layer(split, slums, opts.household_size)
