"""A grid worker's first page on a small phone: signed in with name and password, their own grid
on the map with its houses and people, one column with no sideways scrolling, touch targets of
44 px, popups on tap (nothing needs hover), and nothing loaded from outside the machine."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from tests.browser import chromium
from tests.browser.conftest import PHONE, SCREENSHOTS, sign_in


def test_grid_worker_signs_in_on_a_phone_and_sees_their_grid(phone, live_url, engine):
    with engine.connect() as conn:
        grids = conn.execute(text(
            "SELECT s.area_id FROM account_scope s JOIN account a ON a.id = s.account_id "
            "WHERE a.username = 'gw001'")).scalars().all()
        houses = conn.execute(text("SELECT count(*) FROM house WHERE grid_id = ANY(:g)"),
                              {"g": grids}).scalar()
    sign_in(phone, live_url, username="gw001", then="/me")

    visit = chromium.visit(phone, f"{live_url}/me")
    phone.save_screenshot(str(SCREENSHOTS / "me-phone.png"))
    assert visit.ready_ms is not None, "the page never finished drawing"
    assert visit.external == [] and visit.console_errors == []
    assert visit.layers == {"cells": len(grids), "houses": houses}
    assert phone.execute_script("return window.innerWidth") == PHONE[0]
    assert phone.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    # Everything one taps is at least 44 CSS pixels high (Leaflet's zoom buttons included).
    small = phone.execute_script("""
        return Array.from(document.querySelectorAll('a, button, summary, input'))
          .filter(e => e.offsetParent !== null)
          .map(e => [e.textContent.trim().slice(0, 20), e.getBoundingClientRect().height])
          .filter(([_, h]) => h < 44);""")
    assert small == []
    page = phone.find_element(By.TAG_NAME, "body").text
    assert "我的事件" in page and "我的巡逻" in page  # where the next issues' work goes
    assert phone.find_elements(By.CSS_SELECTOR, "a.tel")  # phones can be called with a tap
    # A tap on a house opens its popup (no hover needed).
    phone.execute_script("document.querySelector('.leaflet-interactive:not(.leaflet-"
                         "marker-icon)').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    WebDriverWait(phone, 5).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content"))
    phone.save_screenshot(str(SCREENSHOTS / "me-phone-popup.png"))
