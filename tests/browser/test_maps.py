"""Every map page in a real headless Chromium, from the running service, network closed.

A page fails on any console error, any request that tries to leave the machine, or a missing
layer (``window.gridsvc.layers``, set by the page once its layers are on the map). A screenshot
of each page is saved under ``test-artifacts/maps/``.
"""

from __future__ import annotations

import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, sign_in

PAGES = {
    "coverage": ("/maps/coverage", {"乡镇/街道": 2, "村/社区": 30, "网格": 39, "派出所": 1,
                                    "警务区": 5, "警务室": 2, "警务室15分钟步行圈": 2,
                                    "15分钟步行可达道路": ...,  # stretches of road: any
                                    "道路": 34,
                                    "监控点位": 300, "必巡点": 120}),
    "risk": ("/maps/risk?since=2026-08-02&until=2026-10-31",
             {"网格 · 分色预警": 39, "流动人口等级": 39, "小区 · 分色预警": 20, "出租房屋": 635}),
    "incidents": ("/maps/incidents?since=2025-11-01&until=2026-10-31",
                  {"警务区": 5, "警情热力": 1500, "警情点": 1500}),
    "incidents-theft": ("/maps/incidents?since=2025-11-01&until=2026-10-31&category="
                        + urllib.parse.quote("盗窃"), {"警情热力": 299, "警情点": 299}),
    "plan": ("/maps/plan/{plan}", {"草案边界 · 网格": 39, "草案边界 · 警务区": 5}),
}


@pytest.fixture(scope="module")
def signed_in(browser, live_url, make_token):
    """The browser signed in through /login as a person would (viewer token, HttpOnly cookie)."""
    # No session yet: the page sends the browser to the sign-in form, keeping where it was
    # going, and comes back to it.
    sign_in(browser, live_url, make_token("viewer"), then="/maps/coverage")
    return browser


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_offline_with_every_layer(signed_in, live_url, engine, name):
    from gridsvc.db.areas import current_plan_id

    with engine.connect() as conn:
        plan = current_plan_id(conn)
    path, layers = PAGES[name]
    visit = chromium.visit(signed_in, live_url + path.format(plan=plan))
    signed_in.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    assert visit.ready_ms is not None, f"{name}: the page never finished drawing"
    assert visit.external == [], f"{name}: requests tried to leave the machine"
    assert visit.console_errors == []
    for layer, count in layers.items():
        found = visit.layers.get(layer)
        if count is ...:
            assert found and found > 0, f"{name}: layer {layer!r} missing or empty"
        else:
            assert found == count, f"{name}: layer {layer!r}: {visit.layers}"


@pytest.mark.parametrize("name", ["coverage", "risk"])
def test_tiled_pages_draw_every_cell_from_vector_tiles(browser, live_url_tiled, make_token,
                                                        engine, name):
    from gridsvc.db.areas import current_plan_id

    sign_in(browser, live_url_tiled, make_token("viewer"))
    path = PAGES[name][0]
    visit = chromium.visit(browser, live_url_tiled + path)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}-tiled.png"))
    assert any("/maps/tiles/" in u for u in visit.requests)
    assert visit.external == [] and visit.console_errors == []
    grid = "网格" if name == "coverage" else "网格 · 分色预警"
    assert visit.layers[grid] == 39  # every grid id seen in the loaded tiles
    if name == "coverage":
        assert visit.layers["警务区"] == 5
        # The server warms exactly the tiles Leaflet asks for first (for this map's size).
        from gridsvc.db.maps import layer_stats
        from gridsvc.services.map_tiles import first_view_tiles

        with engine.connect() as conn:
            plan = current_plan_id(conn)
            s = layer_stats(conn, plan, "grid")
        size = browser.execute_script(
            "var m = document.querySelector('.folium-map'); return [m.clientWidth, m.clientHeight]")
        asked = {tuple(int(v) for v in u.split("/maps/tiles/")[1].split("?")[0]
                       .removesuffix(".pbf").split("/")[2:])
                 for u in visit.requests if f"/maps/tiles/{plan}/grid/" in u}
        assert asked == set(first_view_tiles((s["x0"], s["y0"], s["x1"], s["y1"]), tuple(size)))


def test_session_cookie_is_http_only(signed_in, live_url):
    signed_in.get(f"{live_url}/login")
    assert "gridsvc_session" not in signed_in.execute_script("return document.cookie")
    assert signed_in.get_cookie("gridsvc_session")["httpOnly"] is True


def test_openapi_page_is_offline(signed_in, live_url):
    signed_in.get_log("performance")
    signed_in.get(f"{live_url}/docs")
    signed_in.implicitly_wait(10)
    assert signed_in.find_element(By.CSS_SELECTOR, ".swagger-ui .info")
    signed_in.implicitly_wait(0)
    visit = chromium.visit(signed_in, f"{live_url}/docs", timeout=1)
    assert visit.external == []
    assert visit.console_errors == []


def test_the_harness_does_block_and_record_external_requests(browser):
    # The guard of every other test: a page that reaches for the internet is caught.
    page = ("data:text/html,<script>window.gridsvc={ready:1,layers:{}}</script>"
            "<img id='x' src='http://203.0.113.7/tile.png'>")
    visit = chromium.visit(browser, page, timeout=5)
    assert visit.external == ["http://203.0.113.7/tile.png"]
    assert browser.execute_script("return document.getElementById('x').naturalWidth") == 0
