"""The plan page as a planner sees it: a draft with an edit, over the boundaries in effect."""

from __future__ import annotations

from contextlib import contextmanager

from gridsvc.domain.accounts import Role
from gridsvc.services import plans
from gridsvc.services.tokens import create_token
from tests.browser import chromium
from tests.browser.conftest import SCREENSHOTS, serve, sign_in
from tests.integration.test_plans import _houses, _pair


def test_plan_page_shows_what_a_draft_changes(browser, demo_copy, demo_copy_url):
    draft = plans.create_draft(demo_copy, name="网格调整草案", actor="planner-a")
    a, b = _pair(demo_copy, draft["id"])
    plans.edit(demo_copy, draft["id"], {"op": "transfer", "from": a, "to": b,
                                        "houses": _houses(demo_copy, a, 8)},
               version=1, actor="planner-a")
    token = create_token(demo_copy, role=Role.viewer, name="wall", actor="test-suite")
    with contextmanager(serve)(demo_copy_url, {}) as url:
        sign_in(browser, url, token)
        visit = chromium.visit(browser, f"{url}/maps/plan/{draft['id']}")
        source = browser.page_source
        browser.save_screenshot(str(SCREENSHOTS / "plan-draft.png"))
    assert visit.external == [] and visit.console_errors == []
    assert visit.layers["草案边界 · 网格"] == 39 and visit.layers["现行边界 · 网格"] == 39
    # The two grids the edit moved houses between are marked as changed, nothing else.
    assert source.count('"change": "changed"') == 2
    assert '"change": "new"' not in source and '"change": "retired"' not in source
