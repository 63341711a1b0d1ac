"""The duty and responsibility-field map pages in headless Chromium, network closed."""

from __future__ import annotations

import pytest

from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, sign_in

PAGES = {
    # The last full shift's patrol points by status (missed red), beats with who is on duty.
    "duty": ("/maps/duty?hotspots_until=2026-10-31", ["警务区", "必巡点 · 已巡", "必巡点 · 漏巡",
                                                       "异常打卡"]),
    "fields": ("/maps/fields/S01", ["现状责任田", "建议责任田"]),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_duty_pages_draw_offline(browser, live_url, make_token, name):
    sign_in(browser, live_url, make_token("viewer"))
    path, layers = PAGES[name]
    visit = chromium.visit(browser, live_url + path)
    browser.save_screenshot(str(SCREENSHOTS / f"duty-{name}.png"))
    assert visit.ready_ms is not None, f"{name}: the page never finished drawing"
    assert visit.external == []
    assert visit.console_errors == []
    for layer in layers:
        assert visit.layers.get(layer, 0) > 0, f"{name}: {layer!r} missing: {visit.layers}"
    if name == "fields":
        assert visit.layers["建议责任田"] == 30
