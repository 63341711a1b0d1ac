"""The running service (``gridsvc serve`` as a user starts it), a headless Chromium (a desktop
one and a small phone), and signing in through the /login form."""

from __future__ import annotations

import os
import urllib.parse
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


#: The small phone the phone pages are tried on (CSS pixels).
PHONE = (360, 640)


@pytest.fixture(scope="module")
def phone():
    """Headless Chromium emulating a small phone (:data:`PHONE`, touch, mobile), one per
    module: a module's tests share its sign-in."""
    if not chromium.available():
        pytest.fail("chromium and chromedriver are needed: make test installs them "
                    "(scripts/setup.sh --test)")
    driver = chromium.start(*PHONE, mobile=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser, base_url: str, token: str | None = None, *, username: str | None = None,
            password: str | None = None, then: str | None = None) -> None:
    """Sign in through the /login form, as a person would, with a token (the folded token
    form) or a name and password (the demo accounts' password when none is given).

    With ``then`` (a page that needs sign-in, e.g. ``/me``), the browser first opens it signed
    out and must be sent to /login, and after signing in it must be back on that page;
    without, it signs in at ``/login?next=/healthz``.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    if then is None:
        browser.get(f"{base_url}/login?next=/healthz")
    else:
        browser.get(base_url + then)
        assert urllib.parse.urlsplit(browser.current_url).path == "/login", (
            f"{then} did not send a signed-out browser to /login")
    if token is not None:
        browser.find_element(By.TAG_NAME, "summary").click()  # the token form is folded away
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "submit-token").click()
    else:
        from gridsvc.domain.accounts.demo import DEMO_PASSWORD

        assert username is not None, "give a token or a username"
        browser.find_element(By.ID, "username").send_keys(username)
        browser.find_element(By.ID, "password").send_keys(password or DEMO_PASSWORD)
        browser.find_element(By.ID, "submit").click()
    if then is None:
        WebDriverWait(browser, 20).until(lambda b: "/login" not in b.current_url)
    else:
        path = urllib.parse.urlsplit(then).path
        WebDriverWait(browser, 20).until(
            lambda b: urllib.parse.urlsplit(b.current_url).path == path)
