"""Open311 GeoReport v2 over the events, against ``gridsvc serve`` on a private demo copy.

Reads go through a real Open311 client from PyPI, ``georeport`` (services, service definition,
requests, one request; JSON and XML); it signs in the way such clients can, HTTP Basic from a
``.netrc`` with the gridsvc token as the password. ``georeport`` cannot file requests, so the
POST is plain HTTP exactly as the spec describes it (a form with ``api_key``, ``service_code``,
``lat``/``long`` or ``address_string``, ``description`` and ``attribute[...]``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from georeport import GeoReport
from sqlalchemy import create_engine, text

from gridsvc.domain.accounts import Role
from gridsvc.services.tokens import create_token
from tests.conftest import start_serve

pytestmark = [pytest.mark.db]


@pytest.fixture
def served(demo_copy_url) -> Iterator[tuple[str, object]]:
    """``gridsvc serve`` on a private demo copy: its base URL and an owner engine on it."""
    env = {**os.environ, "GRIDSVC_DATABASE_URL": demo_copy_url, "GRIDSVC_MAP_PREWARM": "false"}
    proc, url = start_serve(env)
    eng = create_engine(demo_copy_url)
    try:
        yield url, eng
    finally:
        eng.dispose()
        proc.terminate()
        proc.communicate(timeout=30)


def token_of(eng, username: str) -> str:
    with eng.connect() as conn:
        row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                           {"u": username}).one()
    return create_token(eng, role=Role.parse(row.role), name=f"open311-{username}",
                        actor="test-suite", account_id=row.id)


def house_of(eng, username: str) -> tuple[float, float]:
    """A house point in the account's grid (WGS84 and CGCS2000 agree to centimetres)."""
    with eng.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT ST_X(h.geom), ST_Y(h.geom) FROM house h WHERE h.grid_id IN ("
            "SELECT s.area_id FROM account_scope s JOIN account a ON a.id = s.account_id "
            "WHERE a.username = :u) ORDER BY h.business_id LIMIT 1"), {"u": username}).one())


def other_village_worker(eng, username: str) -> str:
    """A grid worker whose grids are all in other villages than ``username``'s."""
    with eng.connect() as conn:
        return conn.execute(text("""
            WITH villages AS (
              SELECT a.username, g.parent_id FROM account a
              JOIN account_scope s ON s.account_id = a.id
              JOIN area g ON g.kind = 'grid' AND g.business_id = s.area_id
              WHERE a.role = 'reporter')
            SELECT username FROM villages GROUP BY username
            HAVING bool_and(parent_id NOT IN (SELECT parent_id FROM villages
                                              WHERE username = :u))
            ORDER BY username LIMIT 1"""), {"u": username}).scalar_one()


def netrc_for(tmp_path, url: str, token: str) -> str:
    path = tmp_path / "netrc"
    path.write_text(f"machine {urlsplit(url).hostname} login open311 password {token}\n")
    path.chmod(0o600)
    return str(path)


def test_an_open311_client_reads_what_a_grid_worker_files(served, tmp_path, monkeypatch):
    url, eng = served
    base = f"{url}/open311/v2"
    token = token_of(eng, "gw001")
    monkeypatch.setenv("NETRC", netrc_for(tmp_path, url, token))
    client = GeoReport(base)

    services = {s["service_code"]: s for s in client.get_service_list()}
    assert services["dispute.family"]["group"] == "矛盾纠纷"
    assert services["fire"]["metadata"] is True and services["fire"]["type"] == "realtime"
    definition = client.get_service_definition("dispute.family")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert set(attributes) == {"grade", "parties", "house"}
    assert [v["key"] for v in attributes["grade"]["values"]] == [
        "general", "major", "serious", "urgent"]

    lon, lat = house_of(eng, "gw001")
    form = {"api_key": token, "service_code": "dispute.neighbour", "lat": f"{lat:.7f}",
            "long": f"{lon:.7f}", "description": "两户为宅基地边界争吵",
            "attribute[grade]": "major", "attribute[parties]": "张三, 李四"}
    first = requests.post(f"{base}/requests.json", data=form, timeout=30)
    assert first.status_code == 201, first.text
    [filed] = first.json()
    request_id = filed["service_request_id"]
    assert filed["token"] == request_id
    # The answer was lost and the client sends the same form again: still one request.
    again = requests.post(f"{base}/requests.json", data=form, timeout=30)
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == request_id
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event WHERE description = :d"),
                            {"d": form["description"]}).scalar() == 1

    got = client.get_service_request(request_id)
    assert got["status"] == "open" and got["service_code"] == "dispute.neighbour"
    assert got["service_name"] == "邻里" and got["description"] == form["description"]
    assert abs(got["lat"] - lat) < 1e-5 and abs(got["long"] - lon) < 1e-5
    assert got["requested_datetime"] and got["expected_datetime"]
    listed = client.get_service_requests(service_code="dispute", status="open")
    assert request_id in {r["service_request_id"] for r in listed}
    assert all(r["status"] == "closed" for r in client.get_service_requests(status="closed"))
    by_id = client.get_service_requests(service_request_id=f"{request_id},999999999")
    assert [r["service_request_id"] for r in by_id] == [request_id]
    tokens = requests.get(f"{base}/tokens/{request_id}.json", params={"api_key": token},
                          timeout=30).json()
    assert tokens == [{"service_request_id": request_id, "token": request_id}]

    xml = GeoReport(base, output_format="xml")
    assert "dispute.family" in {s["service_code"] for s in xml.get_service_list()}
    assert xml.get_service_definition("fire")["service_code"] == "fire"
    assert xml.get_service_request(request_id)["service_request_id"] == request_id

    # A grid worker of another village may not read it (outside their scope: not found).
    stranger = token_of(eng, other_village_worker(eng, "gw001"))
    hidden = requests.get(f"{base}/requests/{request_id}.json", params={"api_key": stranger},
                          timeout=30)
    assert hidden.status_code == 404
    assert hidden.json()[0]["code"] == 404


def test_errors_are_the_spec_s_array(served):
    url, eng = served
    base = f"{url}/open311/v2"
    plain = requests.Session()
    plain.trust_env = False  # no .netrc: really no credential
    token = token_of(eng, "gw001")
    with eng.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM event")).scalar()

    def check(response: requests.Response, code: int) -> list[dict]:
        assert response.status_code == code, response.text
        body = response.json()
        assert body and all(set(e) == {"code", "description"} and e["code"] == code
                            for e in body)
        return body

    check(plain.get(f"{base}/services.json", timeout=30), 401)
    check(plain.get(f"{base}/services.json", params={"api_key": "gst_wrong"}, timeout=30), 401)
    check(plain.get(f"{base}/services/nothing.json", params={"api_key": token}, timeout=30),
          404)
    check(plain.get(f"{base}/requests/999999999.json", params={"api_key": token}, timeout=30),
          404)
    check(plain.get(f"{base}/requests.json", params={"api_key": token, "status": "done"},
                    timeout=30), 400)
    check(plain.get(f"{base}/requests.json", params={"api_key": token, "start_date": "x"},
                    timeout=30), 400)
    check(plain.get(f"{base}/requests.json", timeout=30, params={
        "api_key": token, "start_date": "2026-01-01T00:00:00Z",
        "end_date": "2026-06-01T00:00:00Z"}), 400)  # more than the spec's 90 days
    missing = check(plain.post(f"{base}/requests.json", data={"api_key": token}, timeout=30),
                    400)
    assert "service_code" in missing[0]["description"] and "place" in missing[0]["description"]
    check(plain.post(f"{base}/requests.json", timeout=30, data={
        "api_key": token, "service_code": "nothing", "lat": "28.2", "long": "119.0",
        "description": "x"}), 404)
    viewer = create_token(eng, role=Role.viewer, name="open311-viewer", actor="test-suite")
    check(plain.post(f"{base}/requests.json", timeout=30, data={
        "api_key": viewer, "service_code": "fire", "lat": "28.2", "long": "119.0",
        "description": "x"}), 403)
    xml = plain.get(f"{base}/requests/999999999.xml", params={"api_key": token}, timeout=30)
    assert xml.status_code == 404 and xml.headers["content-type"].startswith("application/xml")
    assert "<errors><error><code>404</code>" in xml.text
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar() == before
