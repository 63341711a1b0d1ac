"""The running service (``gridsvc serve`` as a user starts it) and a headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.browser import chromium
from tests.conftest import ARTIFACTS, start_serve

SCREENSHOTS = ARTIFACTS / "maps"


def serve(database_url: str, extra_env: dict[str, str]) -> Iterator[str]:
    """Run ``gridsvc serve`` on a database as a user would; yields its base URL."""
    proc, url = start_serve({**os.environ, "GRIDSVC_DATABASE_URL": database_url, **extra_env})
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def live_url(pg, engine) -> Iterator[str]:
    """Base URL of ``gridsvc serve`` on the suite's database (demo town loaded)."""
    yield from serve(pg.url(), {})


@pytest.fixture(scope="session")
def live_url_tiled(pg, engine) -> Iterator[str]:
    """The same, drawing every cell layer from vector tiles (as for a city)."""
    yield from serve(pg.url(), {"GRIDSVC_MAP_TILE_ABOVE": "0"})


@pytest.fixture(scope="session")
def browser():
    if not chromium.available():
        pytest.fail("chromium and chromedriver are needed: make test installs them "
                    "(scripts/setup.sh --test)")
    driver = chromium.start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser, base_url: str, token: str) -> None:
    """Sign in through the /login form, as a person would."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(f"{base_url}/login?next=/healthz")
    browser.find_element(By.TAG_NAME, "summary").click()  # the token form is folded away
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "submit-token").click()
    WebDriverWait(browser, 20).until(lambda b: "/login" not in b.current_url)
