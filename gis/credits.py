"""Whose data a map or a sheet shows: the uploader states the ward layer's source and licence.

A city's own GIS cell layer must not be printed with someone else's credit, so nothing is claimed
by default: with no source stated, the outputs carry no data credit at all.
"""

from __future__ import annotations

#: The credit of the bundled sample data (``../shared/data``), which the demo states on upload.
DATAMEET_SOURCE = "DataMeet Municipal_Spatial_Data; population: Census of India 2011"
DATAMEET_LICENCE = "CC BY-SA 2.5 India"

#: Longest source or licence text stored (a credit line, not a document).
MAX_LENGTH = 300


def data_credit(source: str | None, licence: str | None) -> str:
    """The credit line for a layer: "Ward boundaries: SOURCE (LICENCE)"; "" when no source is
    stated (a licence alone credits no one)."""
    source = (source or "").strip()
    licence = (licence or "").strip()
    if not source:
        return ""
    return f"Ward boundaries: {source} ({licence or 'licence not stated'})"
