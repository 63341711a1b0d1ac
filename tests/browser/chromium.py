"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) with the network closed.

Every request that is not to the loopback interface is sent to a proxy that does not exist
(port 9 on loopback, where nothing listens), so it fails, and the DevTools performance log
records it, so a test can say exactly which request tried to leave the machine. Also used by
``bench/maps.py`` for page weight and time to first render.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}


def available() -> bool:
    """True when both chromium and chromedriver are installed."""
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def start(width: int = 1600, height: int = 1000, mobile: bool = False) -> webdriver.Chrome:
    """A headless Chromium; with ``mobile``, emulating a small phone (``width`` x ``height``
    CSS pixels, pixel ratio 3, touch events, a phone's user agent)."""
    options = webdriver.ChromeOptions()
    if mobile:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0,
                              "touch": True},
            "userAgent": "Mozilla/5.0 (Linux; Android 12; Phone) AppleWebKit/537.36 "
                         "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"})
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                f"--window-size={width},{height}", "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=127.0.0.1;localhost;[::1]",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-default-apps", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


@dataclass
class Visit:
    """What one page load did."""

    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)
    ready_ms: float | None = None
    transfer_bytes: int = 0
    decoded_bytes: int = 0

    @property
    def external(self) -> list[str]:
        """Requests that tried to leave the machine."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in LOCAL_SCHEMES:
                continue
            if parts.hostname not in LOOPBACK:
                out.append(url)
        return out


def visit(driver: webdriver.Chrome, url: str, timeout: float = 30.0) -> Visit:
    """Load ``url``, wait for the page's ``window.gridsvc.ready``, and collect what happened."""
    driver.get_log("performance")  # drop entries of earlier pages
    driver.get_log("browser")
    driver.get(url)
    deadline = time.monotonic() + timeout
    probe = None
    while time.monotonic() < deadline:
        probe = driver.execute_script("return window.gridsvc || null")
        if probe and probe.get("ready"):
            break
        time.sleep(0.05)
    result = Visit(url)
    if probe:
        result.layers = probe.get("layers", {})
        result.ready_ms = probe.get("ready")
    sizes = driver.execute_script("""
        var all = performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource'));
        var t = 0, d = 0;
        all.forEach(function(e) { t += e.transferSize || 0; d += e.decodedBodySize || 0; });
        return [t, d];""")
    result.transfer_bytes, result.decoded_bytes = int(sizes[0]), int(sizes[1])
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            result.requests.append(message["params"]["request"]["url"])
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            result.console_errors.append(entry.get("message", ""))
    return result
