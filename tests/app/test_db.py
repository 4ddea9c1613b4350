"""The ORM tables on the real PostGIS: round trips, constraints, and session_scope's transactions.

Every test runs inside a transaction that is rolled back afterwards (``session_factory``), so
session_scope's commits and rollbacks act on savepoints and nothing persists.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from decimal import Decimal

import pytest
import shapely
from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import City, District, Organiser, Plan, State, Ward, WardLayer, Zone
from app.db.session import session_scope

# "Hazratganj" (हज़रतगंज) with ज़ as one code point (U+095B) and as ज + nukta (U+091C U+093C, what
# NFC and NFD both give, U+095B being a composition exclusion): each must come back exactly as
# stored, byte for byte, never normalised into the other.
HAZRATGANJ_PRECOMPOSED = "\u0939\u095b\u0930\u0924\u0917\u0902\u091c"
HAZRATGANJ_DECOMPOSED = unicodedata.normalize("NFD", HAZRATGANJ_PRECOMPOSED)
CHARBAGH = "चारबाग"

# Two small squares in Lucknow (lon, lat), the second one made of two parts.
WARD_1_WKT = "MULTIPOLYGON (((80.94 26.85, 80.95 26.85, 80.95 26.86, 80.94 26.86, 80.94 26.85)))"
WARD_2_WKT = (
    "MULTIPOLYGON (((80.95 26.85, 80.96 26.85, 80.96 26.86, 80.95 26.86, 80.95 26.85)), "
    "((80.97 26.85, 80.975 26.85, 80.975 26.855, 80.97 26.855, 80.97 26.85)))"
)


def _city(session: Session, code: str = "lucknow") -> City:
    state = State(code=f"UP-{code}", name=f"Uttar Pradesh ({code})")
    district = District(state=state, name="Lucknow", code="lucknow")
    city = City(district=district, code=code, name="Lucknow Nagar Nigam")
    session.add(city)
    session.flush()
    return city


def _layer(session: Session, city: City, version: int = 1) -> WardLayer:
    layer = WardLayer(
        city=city,
        version=version,
        uploaded_by="gis-cell@lucknow",
        source_filename="Lucknow_ward_boundary-SHP.zip",
        sha256=hashlib.sha256(b"layer %d" % version).hexdigest(),
        source_crs="EPSG:32644",
        validation_report={"warnings": [f"reprojected EPSG:32644 → EPSG:4326 ({CHARBAGH})"]},
        field_mapping={"ward_id": "Ward_No", "name": "Ward_Name"},
    )
    session.add(layer)
    session.flush()
    return layer


def _ward(layer: WardLayer, ward_id: str, name: str, wkt: str, **kw: object) -> Ward:
    return Ward(
        layer=layer,
        ward_id=ward_id,
        name=name,
        population=kw.pop("population", 25_000),
        households=kw.pop("households", 5_300),
        geom=WKTElement(wkt, srid=4326),
        **kw,
    )


def test_city_layer_and_wards_round_trip(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        city = _city(session)
        zone = Zone(city=city, name="Zone 1")
        session.add(zone)
        layer = _layer(session, city)
        session.add_all(
            [
                _ward(layer, "1", HAZRATGANJ_PRECOMPOSED, WARD_1_WKT, zone=zone),
                _ward(
                    layer, "2", CHARBAGH, WARD_2_WKT, poor_households=Decimal("1457.50"), zone=zone
                ),
                _ward(layer, "3", HAZRATGANJ_DECOMPOSED, WARD_1_WKT.replace("80.94", "80.93")),
            ]
        )
        session.flush()
        city.current_layer_id = layer.id
        city_id, layer_id = city.id, layer.id

    with session_factory() as session:  # a fresh session: everything read from the database
        city = session.get_one(City, city_id)
        assert city.current_layer is not None
        assert city.current_layer.id == layer_id
        layer = session.get_one(WardLayer, layer_id)
        assert layer.created_at.tzinfo is not None
        assert layer.validation_report == {
            "warnings": [f"reprojected EPSG:32644 → EPSG:4326 ({CHARBAGH})"]
        }
        assert layer.field_mapping == {"ward_id": "Ward_No", "name": "Ward_Name"}

        wards = {w.ward_id: w for w in layer.wards}
        assert set(wards) == {"1", "2", "3"}
        names = {key: w.name for key, w in wards.items()}
        assert names["1"] is not None
        assert names["3"] is not None
        assert names["1"].encode() == HAZRATGANJ_PRECOMPOSED.encode()
        assert names["3"].encode() == HAZRATGANJ_DECOMPOSED.encode()
        assert names["1"] != names["3"]  # not normalised on the way
        assert names["2"] == CHARBAGH
        assert wards["2"].poor_households == Decimal("1457.50")
        assert wards["1"].poor_households is None
        assert wards["1"].zone is not None
        assert wards["1"].zone.name == "Zone 1"

        # Geometry: exact coordinates back, SRID 4326, a positive area, a valid MultiPolygon.
        assert to_shape(wards["1"].geom) == shapely.from_wkt(WARD_1_WKT)
        assert to_shape(wards["2"].geom) == shapely.from_wkt(WARD_2_WKT)
        rows = session.execute(
            select(
                Ward.ward_id,
                func.ST_SRID(Ward.geom),
                func.ST_Area(func.geography(Ward.geom)),
                func.ST_GeometryType(Ward.geom),
                func.ST_IsValid(Ward.geom),
            ).where(Ward.layer_id == layer_id)
        ).all()
        assert len(rows) == 3
        for _ward_id, srid, area_m2, geometry_type, valid in rows:
            assert srid == 4326
            assert area_m2 > 0
            assert geometry_type == "ST_MultiPolygon"
            assert valid
        by_id = {r[0]: r[2] for r in rows}
        assert 1.0e6 < by_id["1"] < 1.2e6  # ~1 km × 1.1 km at 26.85° N


def test_ward_id_unique_within_a_layer(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        city = _city(session)
        first, second = _layer(session, city, 1), _layer(session, city, 2)
        # The same ward id in another version of the layer is fine.
        session.add_all(
            [
                _ward(first, "7", HAZRATGANJ_PRECOMPOSED, WARD_1_WKT),
                _ward(second, "7", HAZRATGANJ_PRECOMPOSED, WARD_1_WKT),
            ]
        )
        first_id = first.id

    def add_duplicate(session: Session) -> None:
        session.add(_ward(session.get_one(WardLayer, first_id), "7", CHARBAGH, WARD_2_WKT))

    assert _violated_constraint(session_factory, add_duplicate) == "uq_ward_layer_id_ward_id"

    with session_factory() as session:
        count = session.scalar(select(func.count()).select_from(Ward).where(Ward.ward_id == "7"))
        assert count == 2
        assert session.get_one(WardLayer, first_id).wards[0].name == HAZRATGANJ_PRECOMPOSED


def _unit_of_work(factory: sessionmaker[Session], work: Callable[[Session], None]) -> None:
    with session_scope(factory) as session:
        work(session)
        session.flush()


def _violated_constraint(factory: sessionmaker[Session], work: Callable[[Session], None]) -> str:
    """Run ``work`` in a unit of work that must fail on a constraint; return the constraint's name."""
    with pytest.raises(IntegrityError) as caught:
        _unit_of_work(factory, work)
    diag = getattr(caught.value.orig, "diag", None)  # psycopg's error details
    assert diag is not None, caught.value
    return str(diag.constraint_name)


def _count(connection: Connection, table: str) -> int:
    return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_error_rolls_back_the_whole_unit_of_work(
    session_factory: sessionmaker[Session], db_connection: Connection
) -> None:
    tables = ("state", "district", "city", "ward_layer", "ward")
    before = {t: _count(db_connection, t) for t in tables}

    # An error raised by the caller after rows were flushed...
    def interrupted_upload(session: Session) -> None:
        layer = _layer(session, _city(session))
        session.add(_ward(layer, "1", HAZRATGANJ_PRECOMPOSED, WARD_1_WKT))
        session.flush()
        assert _count(db_connection, "ward") == before["ward"] + 1  # really written, then undone
        raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError, match="upload interrupted"):
        _unit_of_work(session_factory, interrupted_upload)
    assert {t: _count(db_connection, t) for t in tables} == before

    # ...and an error raised by the database (a duplicate ward id in one upload): all or nothing.
    def upload_with_duplicate(session: Session) -> None:
        layer = _layer(session, _city(session))
        session.add(_ward(layer, "1", HAZRATGANJ_PRECOMPOSED, WARD_1_WKT))
        session.flush()
        session.add(_ward(layer, "1", CHARBAGH, WARD_2_WKT))

    assert (
        _violated_constraint(session_factory, upload_with_duplicate) == "uq_ward_layer_id_ward_id"
    )
    assert {t: _count(db_connection, t) for t in tables} == before


def _plan(city: City, layer: WardLayer, **overrides: object) -> Plan:
    fields: dict[str, object] = {
        "city_id": city.id,
        "layer_id": layer.id,
        "parameters": {"tolerance": 0.1, "poverty_rate": 0.275},
        "input_hashes": {"layer": layer.sha256},
        "solver": "highs",
        "solver_version": "1.x",
        "seed": 2017,
        "status": "optimal",
        "objective": 1234.5,
        "bound": 1234.0,
        "gap": 0.0004,
        "tolerance_used": 0.1,
        "seconds": 12.5,
        "created_by": "cmmu@lucknow",
    } | overrides
    return Plan(**fields)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"status": "done"}, "ck_plan_status_known"),
        ({"gap": -0.01}, "ck_plan_gap_non_negative"),
        ({"seconds": -1.0}, "ck_plan_seconds_non_negative"),
        ({"approved_by": "cmmu"}, "ck_plan_approval_complete"),
        (
            {"status": "infeasible", "approved_by": "cmmu", "approved_at": func.now()},
            "ck_plan_approved_has_plan",
        ),
    ],
)
def test_plan_checks(
    session_factory: sessionmaker[Session], overrides: dict[str, object], constraint: str
) -> None:
    with session_scope(session_factory) as session:
        city = _city(session)
        layer = _layer(session, city)
        session.add(_plan(city, layer))  # the valid plan is accepted

    def add_plan(session: Session) -> None:
        session.add(_plan(city, layer, **overrides))

    assert _violated_constraint(session_factory, add_plan) == constraint


def test_layers_belong_to_their_city(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        lucknow, kanpur = _city(session, "lucknow"), _city(session, "kanpur")
        kanpur_layer = _layer(session, kanpur)
        lucknow_id, kanpur_layer_id = lucknow.id, kanpur_layer.id

    def point_lucknow_at_kanpur_layer(session: Session) -> None:
        session.get_one(City, lucknow_id).current_layer_id = kanpur_layer_id

    def plan_lucknow_on_kanpur_layer(session: Session) -> None:
        session.add(
            _plan(session.get_one(City, lucknow_id), session.get_one(WardLayer, kanpur_layer_id))
        )

    assert (
        _violated_constraint(session_factory, point_lucknow_at_kanpur_layer)
        == "fk_city_current_layer_ward_layer"
    )
    assert (
        _violated_constraint(session_factory, plan_lucknow_on_kanpur_layer)
        == "fk_plan_city_id_layer_id_ward_layer"
    )


def test_organiser_home_point(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        city = _city(session)
        session.add_all(
            [
                Organiser(
                    city=city,
                    organiser_id="CO-01",
                    name="सामुदायिक संगठनकर्ता 01",
                    home=WKTElement("POINT (80.9462 26.8467)", srid=4326),
                ),
                Organiser(city=city, organiser_id="CO-02", name="CO 02", home_ward="12"),
            ]
        )
        city_id = city.id

    with session_factory() as session:
        homes: dict[str, str | None] = dict(
            session.execute(
                select(Organiser.organiser_id, func.ST_AsText(Organiser.home)).where(
                    Organiser.city_id == city_id
                )
            ).all()
        )
        assert homes == {"CO-01": "POINT(80.9462 26.8467)", "CO-02": None}
        co1 = session.scalars(select(Organiser).where(Organiser.organiser_id == "CO-01")).one()
        assert co1.active
        assert co1.retired_at is None
        assert co1.name == "सामुदायिक संगठनकर्ता 01"

    def add_homeless(session: Session) -> None:
        session.add(Organiser(city_id=city_id, organiser_id="CO-03", name="CO 03"))

    def add_retired_but_active(session: Session) -> None:
        session.add(
            Organiser(
                city_id=city_id,
                organiser_id="CO-04",
                name="CO 04",
                home_ward="1",
                retired_at=func.now(),
            )
        )

    assert _violated_constraint(session_factory, add_homeless) == "ck_organiser_home_known"
    assert (
        _violated_constraint(session_factory, add_retired_but_active)
        == "ck_organiser_retired_iff_inactive"
    )
