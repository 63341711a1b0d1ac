"""A grid worker reports from a phone with no signal: headless Chromium with mobile emulation,
the network cut by DevTools, a report made, the network back, exactly one event in the
database; a resend of the same queued report (its answer lost) still makes one. Also a report by
house text, and the page's phone manners (one column, 44 px targets, nothing from outside)."""

from __future__ import annotations

import json
import time
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import text

from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, sign_in


def network(driver, *, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def events_with(engine, description: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT e.id, e.category, e.grade, a.username FROM event e "
            "JOIN account a ON a.id = e.reporter_account_id WHERE e.description = :d"),
            {"d": description})]


def outbox(driver) -> list[dict]:
    return driver.execute_script("return JSON.parse(localStorage.getItem("
                                 "'gridsvc.outbox.v1') || '[]')")


def fill(driver, description: str, *, category: str = "dispute.neighbour",
         grade: str = "major") -> None:
    Select(driver.find_element(By.ID, "category")).select_by_value(category)
    Select(driver.find_element(By.ID, "grade")).select_by_value(grade)
    driver.find_element(By.ID, "description").send_keys(description)
    driver.find_element(By.ID, "parties").send_keys("张三, 李四")


def photo_file(folder) -> str:
    """A small real JPEG (as a phone camera would give, only smaller)."""
    from PIL import Image

    path = folder / "photo.jpg"
    Image.new("RGB", (640, 480), (200, 120, 40)).save(path, "JPEG")
    return str(path)


def test_a_report_made_offline_is_filed_once_when_the_signal_returns(phone, live_url, engine,
                                                                    tmp_path):
    with engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(h.geom), ST_Y(h.geom) FROM house h WHERE h.grid_id IN ("
            "SELECT s.area_id FROM account_scope s JOIN account a ON a.id = s.account_id "
            "WHERE a.username = 'gw001') ORDER BY h.business_id LIMIT 1")).one()
    sign_in(phone, live_url, username="gw001", then="/m/report")
    phone.execute_script("localStorage.clear()")
    phone.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": live_url, "permissions": ["geolocation"]})
    phone.execute_cdp_cmd("Emulation.setGeolocationOverride", {
        "latitude": lat, "longitude": lon, "accuracy": 8})

    visit = chromium.visit(phone, f"{live_url}/m/report")
    assert visit.ready_ms is not None and visit.external == [] and visit.console_errors == []
    assert phone.execute_script("return document.documentElement.scrollWidth <= "
                                "window.innerWidth")
    small = phone.execute_script("""
        return Array.from(document.querySelectorAll('a, button, select, input, textarea'))
          .filter(e => e.offsetParent !== null)
          .map(e => [e.id || e.textContent.trim().slice(0, 20),
                     e.getBoundingClientRect().height])
          .filter(([_, h]) => h < 44);""")
    assert small == []

    # No signal: the report waits in the phone.
    network(phone, offline=True)
    description = f"邻里纠纷 offline {uuid.uuid4().hex[:8]}"
    fill(phone, description)
    phone.find_element(By.ID, "locate").click()
    WebDriverWait(phone, 10).until(
        lambda b: f"{lat:.6f}" in b.find_element(By.ID, "where").text)
    phone.find_element(By.ID, "photo").send_keys(photo_file(tmp_path))
    WebDriverWait(phone, 10).until(
        lambda b: b.find_element(By.ID, "preview").get_attribute("hidden") is None)
    phone.find_element(By.ID, "submit").click()
    WebDriverWait(phone, 5).until(lambda b: len(outbox(b)) == 1)
    queued = outbox(phone)
    time.sleep(2.5)  # a retry or two fail while offline
    assert events_with(engine, description) == []
    assert len(outbox(phone)) == 1 and outbox(phone)[0]["key"] == queued[0]["key"]
    assert outbox(phone)[0]["tries"] >= 1
    phone.save_screenshot(str(SCREENSHOTS / "report-offline.png"))

    # The signal returns: sent at once, exactly one event, and it shows among my events.
    network(phone, offline=False)
    WebDriverWait(phone, 30).until(lambda b: outbox(b) == [])
    [event] = events_with(engine, description)
    assert event["username"] == "gw001" and event["category"] == "dispute.neighbour"
    assert event["grade"] == "major"
    with engine.connect() as conn:  # the photo went after the event
        assert conn.execute(text("SELECT count(*) FROM event_photo WHERE event_id = :e"),
                            {"e": event["id"]}).scalar() == 1
    WebDriverWait(phone, 10).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, f"#mine li[data-id='{event['id']}']"))
    phone.save_screenshot(str(SCREENSHOTS / "report-sent.png"))

    # The answer was lost (the phone never heard it): the same queued item goes again.
    phone.execute_script("localStorage.setItem('gridsvc.outbox.v1', arguments[0]);"
                         "window.gridsvc.flush();", json.dumps(queued))
    WebDriverWait(phone, 30).until(lambda b: outbox(b) == [])
    assert len(events_with(engine, description)) == 1


def test_a_report_by_house_text(phone, live_url, engine):
    """Signed in by the previous test's session (the module shares the phone)."""
    with engine.connect() as conn:
        village, number = conn.execute(text(
            "SELECT v.name, h.number FROM house h JOIN area v ON v.kind = 'village' "
            "AND v.business_id = h.village_id WHERE h.grid_id IN ("
            "SELECT s.area_id FROM account_scope s JOIN account a ON a.id = s.account_id "
            "WHERE a.username = 'gw001') AND h.sub_number IS NULL "
            "ORDER BY h.business_id LIMIT 1")).one()
    chromium.visit(phone, f"{live_url}/m/report")
    phone.execute_script("localStorage.clear()")
    description = f"消防通道堵塞 {uuid.uuid4().hex[:8]}"
    fill(phone, description, category="fire", grade="general")
    phone.find_element(By.ID, "house").send_keys(f"{village}{number}号")
    phone.find_element(By.ID, "submit").click()
    WebDriverWait(phone, 30).until(lambda b: outbox(b) == [])
    [event] = events_with(engine, description)
    assert event["category"] == "fire"

    # A phone shared by two people: a report another account left waits for them, it is not
    # filed under the person signed in now.
    theirs = {"key": uuid.uuid4().hex, "user": "gw002", "tries": 0, "next": 0,
              "body": {"category": "fire", "grade": "general", "description": description
                       + " gw002", "house": f"{village}{number}号"}}
    phone.execute_script("localStorage.setItem('gridsvc.outbox.v1', arguments[0]);"
                         "return window.gridsvc.flush();", json.dumps([theirs]))
    time.sleep(1)
    assert [i["key"] for i in outbox(phone)] == [theirs["key"]]
    assert events_with(engine, description + " gw002") == []
    assert "gw002" in phone.find_element(By.ID, "outbox").text
    phone.execute_script("localStorage.clear()")


def test_a_later_photo_of_one_of_my_events(phone, live_url, engine, tmp_path):
    """A tap on "add a photo" under one of my events, a photo chosen: it is attached once."""
    chromium.visit(phone, f"{live_url}/m/report")
    phone.execute_script("localStorage.clear()")
    button = phone.find_element(By.CSS_SELECTOR, "#mine button.add-photo")
    event_id = int(button.get_attribute("data-id"))
    assert button.size["height"] >= 44

    def photos() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM event_photo WHERE event_id = :e"),
                                {"e": event_id}).scalar()

    before = photos()
    button.click()
    phone.find_element(By.ID, "more-photo").send_keys(photo_file(tmp_path))
    WebDriverWait(phone, 30).until(lambda b: photos() == before + 1 and outbox(b) == [])


def test_the_page_opens_with_no_signal_and_its_report_goes_later(phone, live_url, engine):
    """The service worker keeps the page: reopened offline, a report is made and filed once
    the signal returns (signed in by the first test's session)."""
    chromium.visit(phone, f"{live_url}/m/report")
    WebDriverWait(phone, 20).until(lambda b: b.execute_script(
        "return !!(navigator.serviceWorker && navigator.serviceWorker.controller)")
        or b.refresh() or False)
    phone.execute_script("localStorage.clear()")
    network(phone, offline=True)
    try:
        visit = chromium.visit(phone, f"{live_url}/m/report")
        assert visit.ready_ms is not None, "the page did not open offline"
        assert not phone.execute_script("return navigator.onLine")
        description = f"离线打开 {uuid.uuid4().hex[:8]}"
        fill(phone, description, category="safety", grade="general")
        phone.find_element(By.ID, "house").send_keys("东灌底村203号")
        phone.find_element(By.ID, "submit").click()
        WebDriverWait(phone, 5).until(lambda b: len(outbox(b)) == 1)
        time.sleep(1.5)
        assert events_with(engine, description) == []
    finally:
        network(phone, offline=False)
    WebDriverWait(phone, 30).until(lambda b: outbox(b) == [])
    assert len(events_with(engine, description)) == 1
