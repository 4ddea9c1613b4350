"""The shape of the codes places are known by (in URLs and in the database): one definition for
the HTTP schemas and the services."""

from __future__ import annotations

from typing import Final

#: A city's stable short name, as it appears in URLs.
CITY_CODE_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
