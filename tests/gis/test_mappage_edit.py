"""The edit mode's additions to a rendered map page (``gis.mappage.add_edit_mode``) and the edit
links it is served on (``app.services.links``): pure, no browser (the clicks are in
tests/browser/test_plan_edit_map.py)."""

from __future__ import annotations

import json
import re

import pytest

from app.services import links
from gis.mappage import add_edit_mode

PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body><div></div></body><script>x</script></html>"


def test_the_edit_mode_is_added_after_the_map_script_and_its_config_cannot_end_it() -> None:
    evil = "</script><script>window.__pwned=1</script>\u2028"
    page = add_edit_mode(PAGE, {"checkUrl": "/c", "organisers": [["CO-1", evil]]})
    assert page.index('href="/static/wardplan/edit.css"') < page.index("</head>")
    start = page.index('<script src="/static/wardplan/edit.js">')
    assert page.index("<script>x</script>") < start < page.index("</html>")
    call = re.search(r"<script>wardplan\.edit\.start\((.*)\);</script>", page)
    assert call is not None
    assert "</script>" not in call.group(1)
    assert "\u2028" not in call.group(1)
    assert json.loads(call.group(1))["organisers"] == [["CO-1", evil]]  # the name, unchanged
    with pytest.raises(ValueError, match="not a rendered map page"):
        add_edit_mode("<html></html>", {})


def test_an_edit_link_is_bound_to_its_city_plan_actor_and_expiry() -> None:
    secret = b"s" * 32
    link = links.sign_edit(secret, "lucknow", 3, actor="cmmu-1", ttl_s=60, now=1000.0)
    assert link.url == f"/cities/lucknow/plans/3/edit-map?{link.query}"
    assert "sig=" not in link.check_url  # the signature travels as the bearer token
    good = {"expires": link.expires, "actor": "cmmu-1", "sig": link.sig}
    assert links.verify_edit(secret, "lucknow", 3, **good, now=1000.0)
    assert not links.verify_edit(secret, "lucknow", 3, **good, now=1061.0)  # expired
    assert not links.verify_edit(secret, "lucknow", 4, **good, now=1000.0)
    assert not links.verify_edit(secret, "kanpur", 3, **good, now=1000.0)
    assert not links.verify_edit(secret, "lucknow", 3, **{**good, "actor": "x"}, now=1000.0)
    later = {**good, "expires": link.expires + 3600}
    assert not links.verify_edit(secret, "lucknow", 3, **later, now=1000.0)
    assert not links.verify_edit(b"t" * 32, "lucknow", 3, **good, now=1000.0)
    assert not links.verify_edit(secret, "lucknow", 3, **{**good, "sig": "é" * 64}, now=1000.0)
    # a map link's signature is not an edit link's
    view = links.sign(secret, "lucknow", 3, ttl_s=60, exact_homes=True, now=1000.0)
    view_sig = view.url.rsplit("sig=", 1)[1]
    assert not links.verify_edit(secret, "lucknow", 3, **{**good, "sig": view_sig}, now=1000.0)
