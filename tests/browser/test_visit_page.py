"""The phone house-visit page in headless Chromium emulating a phone, with the network toggled.

A grid worker signed in with their own account sees their area's houses nearest first; a visit
made offline waits in localStorage, goes when the browser is back online, and a resend of the
same queued item (as after an answer lost on the way) returns the first visit: one row, never
two.
"""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By
from sqlalchemy import create_engine, text

from tests.browser.conftest import SCREENSHOTS, serve, sign_in
from tests.browser.test_check_in_page import PHONE, network, phone, wait_for  # noqa: F401

QUEUE = "gridsvc.visit.queue"


def test_a_visit_offline_is_queued_sent_online_and_never_twice(phone, demo_copy_url):  # noqa: F811
    from gridsvc.domain.accounts import Role
    from gridsvc.services.tokens import create_token

    db = create_engine(demo_copy_url)
    with db.connect() as conn:
        account = conn.execute(text("SELECT id FROM account WHERE username = 'gw001'")
                               ).scalar_one()
        lon, lat = conn.execute(text(
            "SELECT ST_X(h.geom), ST_Y(h.geom) FROM house h "
            "JOIN account_scope s ON s.kind = 'grid' AND s.area_id = h.grid_id "
            "WHERE s.account_id = :a ORDER BY h.business_id LIMIT 1"), {"a": account}).one()
        before = conn.execute(text("SELECT count(*) FROM house_visit")).scalar_one()
    token = create_token(db, role=Role.reporter, name="phone", actor="test", account_id=account)
    for url in serve(demo_copy_url, {}):
        sign_in(phone, url, token)
        phone.execute_cdp_cmd("Browser.grantPermissions",
                              {"origin": url.rstrip("/"), "permissions": ["geolocation"]})
        phone.execute_cdp_cmd("Emulation.setGeolocationOverride",
                              {"latitude": lat, "longitude": lon, "accuracy": 8})
        phone.get_log("browser")
        phone.get(f"{url}/m/visit")
        wait_for(phone, "return window.gridsvc && window.gridsvc.ready")
        assert "GW001" in phone.find_element(By.ID, "who").text
        nearest = wait_for(phone, "var b = document.querySelector('button.point');"
                                  "return b && b.textContent.indexOf(' 0 m') > 0 && b;")
        house_id = nearest.get_attribute("data-house")
        with db.connect() as conn:
            assert conn.execute(text("SELECT ST_Distance(geom, ST_SetSRID(ST_MakePoint(:x, :y),"
                                     " 4490)) FROM house WHERE business_id = :h"),
                                {"x": lon, "y": lat, "h": house_id}).scalar_one() < 1e-5
        phone.find_element(By.ID, "note").send_keys("门锁坏了 broken lock")

        network(phone, online=False)
        wait_for(phone, "return navigator.onLine === false")
        nearest.click()
        wait_for(phone, f"return JSON.parse(localStorage.getItem('{QUEUE}') || '[]')"
                        ".length === 1")
        assert "离线" in phone.find_element(By.ID, "net").text
        time.sleep(1.0)  # nothing may reach the server while offline
        with db.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM house_visit")).scalar_one() == before
        queued = phone.execute_script(f"return localStorage.getItem('{QUEUE}')")
        phone.save_screenshot(str(SCREENSHOTS / "visit-offline.png"))

        network(phone, online=True)
        sent = wait_for(phone, "var s = window.gridsvc.sent; return s.length === 1 && s[0];")
        assert sent["http"] == 201
        phone.save_screenshot(str(SCREENSHOTS / "visit-sent.png"))
        phone.execute_script(f"localStorage.setItem('{QUEUE}', arguments[0]);"
                             "window.dispatchEvent(new Event('online'));", queued)
        again = wait_for(phone, "var s = window.gridsvc.sent; return s.length === 2 && s[1];")
        assert again["http"] == 200 and again["id"] == sent["id"]
        with db.connect() as conn:
            row = conn.execute(text(
                "SELECT v.house_id, v.note, v.accuracy_m, p.business_id FROM house_visit v "
                "JOIN person p ON p.pk = v.person_pk WHERE v.idempotency_key = :k"),
                {"k": sent["key"]}).one()
            assert conn.execute(text("SELECT count(*) FROM house_visit")).scalar_one() \
                == before + 1
        assert tuple(row) == (house_id, "门锁坏了 broken lock", 8.0, "GW001")
        errors = [e for e in phone.get_log("browser") if e.get("level") == "SEVERE"
                  and "ERR_INTERNET_DISCONNECTED" not in e.get("message", "")]
        assert errors == []
    db.dispose()
