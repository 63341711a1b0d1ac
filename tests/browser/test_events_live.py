"""The command centre's live events map: open it, file an event through the API, and its marker
appears without a reload (server-sent events); a transition recolours it; the day's summary per
grid is a table and a chart. The page and its feed need sign-in."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, sign_in


def _post_report(base_url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/v1/events", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Idempotency-Key": uuid.uuid4().hex})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _reported(browser, grid_id: str) -> int:
    """The summary's 上报 of a grid (0 when the grid has no row yet)."""
    rows = browser.find_elements(By.CSS_SELECTOR, f"#summary tr[data-cell='{grid_id}']")
    return int(rows[0].find_elements(By.TAG_NAME, "td")[1].text) if rows else 0


def test_a_new_event_appears_on_the_live_map_without_a_reload(browser, live_url, engine):
    from gridsvc.domain.accounts import Role
    from gridsvc.services import events as events_service
    from gridsvc.services.tokens import create_token

    # Signed out: the feed answers 401, and the page sends the browser to sign in.
    try:
        urllib.request.urlopen(f"{live_url}/maps/events/stream", timeout=10)
        raise AssertionError("the feed answered without sign-in")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    sign_in(browser, live_url, username="command", then="/maps/events")
    visit = chromium.visit(browser, f"{live_url}/maps/events")
    assert visit.ready_ms is not None and visit.external == [] and visit.console_errors == []
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "status").text.startswith("实时"))
    browser.execute_script("window.notReloaded = true")

    with engine.connect() as conn:
        account_id, lon, lat, grid_id = conn.execute(text(
            "SELECT a.id, ST_X(h.geom), ST_Y(h.geom), h.grid_id FROM account a "
            "JOIN account_scope s ON s.account_id = a.id JOIN house h ON h.grid_id = s.area_id "
            "WHERE a.username = 'gw001' ORDER BY h.business_id LIMIT 1")).one()
    reported_before = _reported(browser, grid_id)
    token = create_token(engine, role=Role.reporter, name="live-test", actor="test-suite",
                         account_id=account_id)
    event = _post_report(live_url, token, {
        "category": "order", "grade": "serious", "description": "夜间聚集 live",
        "lon": lon, "lat": lat})

    WebDriverWait(browser, 15).until(
        lambda b: event["id"] in b.execute_script("return window.gridsvc.markers()"))
    assert browser.execute_script("return window.notReloaded") is True
    shown = browser.execute_script("return window.gridsvc.marker(arguments[0])", event["id"])
    assert shown["state"] == "reported" and shown["grid_id"] == event["grid_id"]

    events_service.transition(engine, event["id"], "accept", actor="test-suite", account_id=None,
               note="立案", reason=None, version=event["version"])
    WebDriverWait(browser, 15).until(lambda b: b.execute_script(
        "return window.gridsvc.marker(arguments[0]).state", event["id"]) == "accepted")
    browser.save_screenshot(str(SCREENSHOTS / "events-live.png"))

    # The day's summary follows, still without a reload: the new event is counted.
    assert event["grid_id"] == grid_id
    WebDriverWait(browser, 15).until(lambda b: _reported(b, grid_id) == reported_before + 1)
    assert browser.find_elements(By.CSS_SELECTOR, "svg#chart rect")
    assert browser.execute_script("return window.notReloaded") is True
