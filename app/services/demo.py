"""The database demo: Lucknow's raw ward layer and census table, 20 illustrative COs, one plan.

``load_demo`` goes through the same services as the HTTP routes (upload → organisers → plan).
The COs are illustrative (no real CO list is public): drawn with seed 2017 in proportion to ward
population, and named "Illustrative CO NN".
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.services import cities, layers, organisers, plans, solving
from app.services.frames import stored_layer
from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE
from gis.organisers import illustrative_organisers, organisers_csv

CITY = "lucknow"
ACTOR = "demo"
#: Lucknow's place: Uttar Pradesh (LGD state code 9), Lucknow district.
STATE, STATE_NAME, STATE_LGD, DISTRICT = "UP", "Uttar Pradesh", 9, "Lucknow"


def load_demo(
    session: Session,
    data_dir: Path,
    organisers_count: int = 20,
    *,
    time_limit: float = 120.0,
    seed: int = 2017,
) -> int:
    """Load Lucknow into the database and plan it with ``tolerance="auto"``; returns the plan id.

    ``data_dir`` is the shared data folder (holding ``lucknow/raw/Lucknow_ward_boundary-SHP.zip``
    and ``lucknow/census2011_wards.csv``). Each call stores a new layer version and plan.
    """
    lucknow = data_dir / "lucknow"
    raw = lucknow / "raw" / "Lucknow_ward_boundary-SHP.zip"
    census = lucknow / "census2011_wards.csv"
    _place_lucknow(session)
    stored = layers.upload_layer(
        session,
        CITY,
        layers.Upload(raw.name, raw.read_bytes()),
        population_table=layers.Upload(census.name, census.read_bytes()),
        options=layers.LayerOptions(
            exclude_ids=("0",), source=DATAMEET_SOURCE, licence=DATAMEET_LICENCE
        ),
        actor=ACTOR,
    )
    wards = stored_layer(session, stored.layer).wards
    cos = illustrative_organisers(wards, organisers_count, seed=seed)
    organisers.import_organisers(
        session,
        CITY,
        layers.Upload("organisers_illustrative.csv", organisers_csv(cos)),
        actor=ACTOR,
    )
    config = solving.solve_config(
        {"tolerance": "auto", "time_limit": time_limit},
        default_time_limit=time_limit,
        max_time_limit=time_limit,
        solver="highs",
    )
    return plans.create_plan(session, CITY, config, actor=ACTOR).plan.id


def _place_lucknow(session: Session) -> None:
    """Lucknow in Lucknow district of Uttar Pradesh: created there, or moved there (a database from
    before the hierarchy filed it under a placeholder)."""
    cities.ensure_state(session, STATE, STATE_NAME, STATE_LGD, actor=ACTOR)
    place = cities.Place(STATE, DISTRICT, "Lucknow")
    if cities.city_state_code(session, CITY) is None:
        cities.create_city(session, CITY, place, actor=ACTOR)
    else:
        cities.update_city(session, CITY, cities.CityFields(), move_to=place, actor=ACTOR)
