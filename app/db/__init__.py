"""PostGIS persistence: ORM tables (:mod:`app.db.models`) and session ownership (:mod:`app.db.session`)."""
