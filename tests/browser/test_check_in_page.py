"""The phone check-in page in headless Chromium emulating a phone, with the network toggled.

The page queues a check-in in localStorage while offline, sends it when the browser is back
online, and a resend of the same queued item (as after an answer lost on the way) returns the
first check-in: one row in the database, never two.
"""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import create_engine, text

from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, serve, sign_in

PHONE = {"width": 412, "height": 915, "deviceScaleFactor": 2.625, "mobile": True}
UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0 Mobile Safari/537.36")


@pytest.fixture
def phone():
    if not chromium.available():
        pytest.fail("chromium and chromedriver are needed: make test installs them")
    driver = chromium.start(412, 915)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled",
                           {"enabled": True, "maxTouchPoints": 5})
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": UA})
    driver.execute_cdp_cmd("Network.enable", {})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def network(driver, online: bool) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": not online, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": -1})


def wait_for(driver, script: str, timeout: float = 30) -> object:
    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def test_check_in_offline_is_queued_sent_online_and_never_twice(phone, demo_copy_url):
    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    db = create_engine(demo_copy_url)
    token = create_token(db, role=Role.handler, name="phone", actor="test")
    with db.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM patrol_point "
                                     "WHERE business_id = 'PP001'")).one()
        before = conn.execute(text("SELECT count(*) FROM patrol_check_in")).scalar_one()
    for url in serve(demo_copy_url, {}):
        sign_in(phone, url, token)
        origin = url.rstrip("/")
        phone.execute_cdp_cmd("Browser.grantPermissions",
                              {"origin": origin, "permissions": ["geolocation"]})
        phone.execute_cdp_cmd("Emulation.setGeolocationOverride",
                              {"latitude": lat, "longitude": lon, "accuracy": 6})
        phone.get_log("browser")  # drop the sign-in pages' entries
        phone.get(f"{url}/patrol/check-in?station_id=S01")
        wait_for(phone, "return window.gridsvc && window.gridsvc.ready")
        assert phone.execute_script("return window.innerWidth") == PHONE["width"]
        assert phone.execute_script("return navigator.maxTouchPoints") > 0
        nearest = wait_for(phone, "var b = document.querySelector('button.point');"
                                  "return b && b.textContent.indexOf(' m') > 0 && b;")
        assert nearest.get_attribute("data-point") == "PP001"
        phone.find_element(By.ID, "person").send_keys("OFF01")

        network(phone, online=False)
        wait_for(phone, "return navigator.onLine === false")
        nearest.click()
        wait_for(phone, "return JSON.parse(localStorage.getItem('gridsvc.checkin.queue')"
                        " || '[]').length === 1")
        assert "离线" in phone.find_element(By.ID, "net").text
        time.sleep(1.0)  # nothing may reach the server while offline
        with db.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM patrol_check_in")).scalar_one() \
                == before
        queued = phone.execute_script("return localStorage.getItem('gridsvc.checkin.queue')")
        phone.save_screenshot(str(SCREENSHOTS / "check-in-offline.png"))

        network(phone, online=True)
        sent = wait_for(phone, "var s = window.gridsvc.sent; return s.length === 1 && s[0];")
        assert sent["http"] == 201 and sent["status"] in {"on_time", "late", "not_due"}
        assert phone.execute_script(
            "return JSON.parse(localStorage.getItem('gridsvc.checkin.queue')).length") == 0
        phone.save_screenshot(str(SCREENSHOTS / "check-in-sent.png"))

        # The answer was lost: the same queued item goes again. The server answers with the
        # first check-in, and the database still holds one.
        phone.execute_script("localStorage.setItem('gridsvc.checkin.queue', arguments[0]);"
                             "window.dispatchEvent(new Event('online'));", queued)
        again = wait_for(phone, "var s = window.gridsvc.sent; return s.length === 2 && s[1];")
        assert again["http"] == 200 and again["id"] == sent["id"]
        with db.connect() as conn:
            same_key = conn.execute(text("SELECT count(*) FROM patrol_check_in "
                                         "WHERE idempotency_key = :k"),
                                    {"k": sent["key"]}).scalar_one()
            assert conn.execute(text("SELECT count(*) FROM patrol_check_in")).scalar_one() \
                == before + 1
        assert same_key == 1
        errors = [e for e in phone.get_log("browser") if e.get("level") == "SEVERE"
                  and "ERR_INTERNET_DISCONNECTED" not in e.get("message", "")]
        assert errors == []
    db.dispose()
