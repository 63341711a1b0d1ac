"""One error shape for every 4xx: ``{"detail": str, "problems": [{message, feature, field}]}``,
with ``field`` naming the parameter or body field of a validation error."""

from __future__ import annotations

import pytest


def _shape(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "problems"} and isinstance(body["detail"], str)
    for p in body["problems"]:
        assert set(p) == {"message", "feature", "field"} and p["message"]
    return body


@pytest.mark.parametrize(("method", "path", "kwargs", "role", "field"), [
    ("get", "/api/v1/houses", {}, "dispatcher", "village_id"),
    ("get", "/api/v1/houses?village_id=V102207&limit=0", {}, "dispatcher", "limit"),
    ("get", "/api/v1/plans/abc", {}, "viewer", "plan_id"),
    ("get", "/api/v1/areas?kind=county", {}, "viewer", "kind"),
    ("get", "/api/v1/staffing?as_of=yesterday", {}, "viewer", "as_of"),
    ("post", "/api/v1/plans", {"json": {"name": ""}}, "planner", "name"),
    ("post", "/api/v1/plans", {"json": {"name": "d", "from_plan": "one"}}, "planner",
     "from_plan"),
    ("post", "/api/v1/plans/1/edits", {"json": {"op": "merge", "ids": ["G1", 7]}}, "planner",
     "ids[1]"),
    ("post", "/api/v1/plans", {}, "planner", "body"),
])
def test_validation_errors_name_the_field(client, auth, method, path, kwargs, role, field):
    body = _shape(client.request(method.upper(), path, headers=auth(role), **kwargs), 422)
    assert [p["field"] for p in body["problems"]] == [field]
    assert field in body["detail"]


def test_a_body_that_is_not_json(client, auth):
    r = client.post("/api/v1/plans", content=b"{name:", headers={
        **auth("planner"), "Content-Type": "application/json"})
    body = _shape(r, 422)
    assert "not valid JSON" in body["problems"][0]["message"]


def test_http_errors_have_the_shape_too(client, auth):
    no_token = _shape(client.get("/api/v1/staffing"), 401)
    assert no_token["problems"] == [] and "token" in no_token["detail"]
    assert _shape(client.get("/api/v1/audit", headers=auth("viewer")), 403)["problems"] == []
    _shape(client.get("/api/v1/no-such-route", headers=auth("viewer")), 404)
    _shape(client.delete("/api/v1/staffing", headers=auth("viewer")), 405)
    _shape(client.get("/api/v1/plans/999999", headers=auth("viewer")), 404)


def test_openapi_declares_the_shape_for_422(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Error"]["required"] == ["detail", "problems"]
    refs = {op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            for item in spec["paths"].values() for op in item.values()
            if "422" in op.get("responses", {}) and "content" in op["responses"]["422"]}
    assert refs == {"#/components/schemas/Error"}
