"""The map pages over HTTP: sign-in, offline assets, thresholds, basemap offset, errors."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from gridsvc.api.app import create_app
from gridsvc.db.objects import offices
from gridsvc.domain.geo.coords import wgs84_to_gcj02

PAGES = ["/maps/coverage", "/maps/risk", "/maps/incidents"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_token_and_send_browsers_to_sign_in(client, path):
    assert client.get(path).status_code == 401
    sent = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_only_local_assets(client, auth, path):
    page = client.get(path, headers=auth("viewer"))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    sources = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/static/maps/") for s in sources)
    for source in sources:
        assert client.get(source).status_code == 200, source


def test_login_sets_an_http_only_cookie_and_refuses_bad_tokens(settings, engine, make_token):
    with TestClient(create_app(settings, engine)) as browser:
        bad = browser.post("/login", data={"token": "gs_nope", "next": "/maps/risk"})
        assert bad.status_code == 401 and "invalid token" in bad.text
        good = browser.post("/login", data={"token": make_token("viewer"),
                                            "next": "/maps/risk"}, follow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/maps/risk"
        cookie = good.headers["set-cookie"]
        assert "gridsvc_session=" in cookie and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert browser.get("/maps/coverage").status_code == 200  # the cookie is enough
        browser.post("/logout")
        assert browser.get("/maps/coverage").status_code == 401


def test_login_never_redirects_off_site(settings, engine, make_token):
    # Its own client: the shared one must not keep a session cookie for other tests.
    with TestClient(create_app(settings, engine)) as browser:
        done = browser.post("/login", data={"token": make_token("viewer"),
                                            "next": "//evil.example/x"}, follow_redirects=False)
    assert done.headers["location"] == "/maps/coverage"


def test_risk_thresholds_come_from_the_query_and_show_in_the_legend(client, auth):
    page = client.get("/maps/risk?red=40&orange=12&since=2026-08-02&until=2026-10-31",
                      headers=auth("viewer"))
    assert page.status_code == 200
    for text in ("≥ 40", "12–40", "2026-08-02 – 2026-10-31"):  # as the legend's script has it
        assert json.dumps(text)[1:-1] in page.text, text
    wrong = client.get("/maps/risk?red=10&orange=20", headers=auth("viewer"))
    assert wrong.status_code == 422 and "red (10) must be above orange (20)" in wrong.text


def test_incident_filters_are_checked(client, auth):
    assert client.get("/maps/incidents?category=nope", headers=auth("viewer")).status_code == 422
    backwards = client.get("/maps/incidents?since=2026-10-01&until=2026-09-01",
                           headers=auth("viewer"))
    assert backwards.status_code == 422 and "since" in backwards.text


def test_unknown_plan_is_404(client, auth):
    assert client.get("/maps/plan/999999", headers=auth("viewer")).status_code == 404


def test_gcj02_basemap_shifts_the_data_and_english_labels(settings, engine, auth):
    tiles = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    custom = settings.model_copy(update={"map": settings.map.model_copy(
        update={"tiles": tiles, "tiles_crs": "gcj02", "language": "en"})})
    with TestClient(create_app(custom, engine)) as c:
        page = c.get("/maps/coverage", headers=auth("viewer")).text
    assert tiles in page and '"Grids"' in page
    with engine.connect() as conn:
        office = offices(conn)[0]
    lon, lat = (float(v) for v in wgs84_to_gcj02(office["lon"], office["lat"]))
    # The office point is drawn at its GCJ-02 position (hundreds of metres from WGS84).
    assert f"[{round(lon, 5)}, {round(lat, 5)}]" in page.replace("\n", "")
    assert f"[{round(office['lon'], 5)}, {round(office['lat'], 5)}]" not in page


def test_vector_tiles(client, auth, engine):
    from gridsvc.db.areas import current_plan_id

    with engine.connect() as conn:
        plan = current_plan_id(conn)
    # The demo town at zoom 12 (lon 119.0, lat 28.2): a Mapbox vector tile with its grids.
    url = f"/maps/tiles/{plan}/grid/12/3401/1713.pbf"
    assert client.get(url).status_code == 401
    tile = client.get(url, headers={**auth("viewer"), "Accept-Encoding": "gzip"})
    assert tile.status_code == 200
    assert tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert tile.headers["content-encoding"] == "gzip"
    assert b"cells" in tile.content and "第1网格".encode() in tile.content
    empty = client.get(f"/maps/tiles/{plan}/grid/12/0/0.pbf", headers=auth("viewer"))
    assert empty.status_code == 200 and empty.content == b""
    assert client.get(f"/maps/tiles/{plan}/nope/12/3401/1713.pbf",
                      headers=auth("viewer")).status_code == 422
    outside = client.get(f"/maps/tiles/{plan}/grid/3/9/0.pbf", headers=auth("viewer"))
    assert outside.status_code == 422
    assert client.get("/maps/tiles/999999/grid/12/3401/1713.pbf",
                      headers=auth("viewer")).status_code == 404


def test_the_coverage_page_is_built_at_start_up(settings, engine):
    import time

    from gridsvc.services import maps as service

    service._PAGES.clear()
    with TestClient(create_app(settings, engine)):
        deadline = time.monotonic() + 30
        while not any(k[0] == "coverage" for k in service._PAGES):
            assert time.monotonic() < deadline, "the pre-warm never built the coverage page"
            time.sleep(0.05)
    off = settings.model_copy(update={"map": settings.map.model_copy(update={"prewarm": False})})
    service._PAGES.clear()
    with TestClient(create_app(off, engine)):
        time.sleep(1.0)
    assert not service._PAGES


def test_openapi_page_loads_nothing_from_outside(client):
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    # Swagger UI would send the spec's URL to validator.swagger.io from a non-local host.
    assert '"validatorUrl": null' in page
