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


#: The duty layers of the command centre's map: main duty per station, beat officers on or off
#: duty, this shift's patrol points (shown) and the last shift's (one click away).
DUTY_LAYERS = {"值班 · 主班": 1, "值班 · 警务区民警": 5}
PATROL_NOW, PATROL_LAST = "巡逻 · 本班", "巡逻 · 上一班"

#: Each drawn point of a patrol layer: its status, the colour it was given, and the pixel the
#: canvas shows at its centre (points outside the view: null).
PIXELS = """
var name = arguments[0], l = window.gridsvcPage.layer(name), map = window.gridsvcPage.map, out = [];
var rect = map.getContainer().getBoundingClientRect();
l.eachLayer(function(m) {
    var canvas = m._renderer && m._renderer._container, px = null;
    var p = map.latLngToContainerPoint(m.getLatLng());
    if (canvas && map.getBounds().contains(m.getLatLng())) {
        var c = canvas.getBoundingClientRect(), k = canvas.width / c.width;
        var x = Math.round((p.x + rect.left - c.left) * k);
        var y = Math.round((p.y + rect.top - c.top) * k);
        px = Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
    }
    out.push([m.gridsvcKey, m.options.fillColor, px]);
});
return out;
"""


def test_the_command_centre_map_shows_who_is_on_duty_and_missed_points_red(
        browser, live_url, make_token):
    from selenium.webdriver.common.by import By

    sign_in(browser, live_url, make_token("viewer"))
    visit = chromium.visit(browser, live_url + "/maps/coverage")
    assert visit.ready_ms is not None and visit.external == [] and visit.console_errors == []
    for layer, count in DUTY_LAYERS.items():
        assert visit.layers.get(layer) == count, f"{layer!r}: {visit.layers}"
    # The coverage page's own layers are still there.
    assert visit.layers["警务区"] == 5 and visit.layers["必巡点"] == 120
    assert visit.layers[PATROL_NOW] > 0 and visit.layers[PATROL_LAST] > 0
    # The last shift is one click away in the layer control, as a person would switch it on.
    box = browser.find_element(
        By.XPATH, f"//label[contains(., '{PATROL_LAST}')]//input[@type='checkbox']")
    assert not box.is_selected()
    box.click()
    browser.execute_script("window.gridsvcPage.map.invalidateSize()")
    drawn = browser.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "requestAnimationFrame(function() { requestAnimationFrame(function() { done(1); }); });")
    assert drawn == 1
    browser.save_screenshot(str(SCREENSHOTS / "duty-coverage.png"))
    points = browser.execute_script(PIXELS, PATROL_LAST)
    statuses = {s for s, _, _ in points}
    assert {"missed", "visited"} <= statuses, statuses
    assert all(c == "#d50000" for s, c, _ in points if s == "missed")
    assert all(c == "#2e7d32" for s, c, _ in points if s == "visited")

    def red(px):
        return px is not None and px[0] > 180 and px[1] < 80 and px[2] < 80

    def green(px):
        return px is not None and px[1] > 90 and px[0] < 90 and px[2] < 90

    # What the canvas drew at the points' centres: missed red, visited green (a point drawn
    # over by a neighbour may show the neighbour's colour, so most, not all).
    missed = [px for s, _, px in points if s == "missed" and px is not None]
    visited = [px for s, _, px in points if s == "visited" and px is not None]
    assert missed and sum(map(red, missed)) >= 0.8 * len(missed), missed
    assert visited and sum(map(green, visited)) >= 0.8 * len(visited), visited[:5]
