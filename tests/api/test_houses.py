"""/api/v1/houses: paging through a village's houses, and numbering its new ones."""

from __future__ import annotations

import shapely
from sqlalchemy import text

from gridsvc.db import objects


def _village(engine) -> tuple[str, int]:
    """The demo village with the most houses, and its house count."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT address_village_id v, count(*) n FROM house GROUP BY 1 "
            "ORDER BY 2 DESC, 1 LIMIT 1")).one()
    return row.v, row.n


def test_list_houses_pages_through_a_village(client, auth, engine):
    village, n = _village(engine)
    first = client.get("/api/v1/houses", params={"village_id": village, "limit": 7},
                       headers=auth("dispatcher"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["total"] == n and len(body["items"]) == min(7, n)
    item = body["items"][0]
    assert set(item) == {"id", "village_id", "number", "sub_number", "building", "unit", "room",
                         "households", "residents", "floating", "is_rental", "rental_stars",
                         "grid_id", "beat_id", "lon", "lat"}
    assert all(i["village_id"] == village for i in body["items"])
    seen = []
    for offset in range(0, n, 1000):
        page = client.get("/api/v1/houses", headers=auth("planner"), params={
            "village_id": village, "limit": 1000, "offset": offset}).json()
        seen += [i["id"] for i in page["items"]]
    assert len(seen) == len(set(seen)) == n
    assert seen[:7] == [i["id"] for i in body["items"]]


def test_list_houses_needs_dispatcher(client, auth, engine):
    village, _ = _village(engine)
    r = client.get("/api/v1/houses", params={"village_id": village}, headers=auth("viewer"))
    assert r.status_code == 403


def test_list_houses_rejects_bad_paging_and_unknown_village(client, auth, engine):
    village, _ = _village(engine)
    r = client.get("/api/v1/houses", params={"village_id": village, "limit": 1001},
                   headers=auth("dispatcher"))
    assert r.status_code == 422
    r = client.get("/api/v1/houses", params={"village_id": "NO-SUCH"},
                   headers=auth("dispatcher"))
    assert r.status_code == 404 and "NO-SUCH" in r.json()["detail"]


def test_numbering_dry_run_on_a_numbered_village_changes_nothing(client, auth, engine):
    village, _ = _village(engine)
    r = client.post("/api/v1/houses/numbering", params={"village_id": village},
                    headers=auth("planner"))
    assert r.status_code == 200, r.text
    assert r.json() == {"village_id": village, "committed": False, "changes": []}


def test_numbering_needs_planner(client, auth, engine):
    village, _ = _village(engine)
    r = client.post("/api/v1/houses/numbering", params={"village_id": village},
                    headers=auth("dispatcher"))
    assert r.status_code == 403


def test_numbering_commit_numbers_a_new_house_and_audits(client, auth, engine):
    village, _ = _village(engine)
    with engine.connect() as conn:
        top, lon, lat = conn.execute(text(
            "SELECT max(number), min(ST_X(geom)), max(ST_Y(geom)) FROM house "
            "WHERE address_village_id = :v"), {"v": village}).one()
    with engine.begin() as conn:
        objects.insert_rows(conn, "house", [{
            "business_id": "HAPI1", "address_village_id": village, "village_id": village,
            "number": 0, "geom": shapely.Point(lon, lat)}])
    try:
        dry = client.post("/api/v1/houses/numbering", params={"village_id": village},
                          headers=auth("planner")).json()
        assert dry["changes"] == [{"house_id": "HAPI1", "old": 0, "new": top + 1}]
        done = client.post("/api/v1/houses/numbering", headers=auth("planner"),
                           params={"village_id": village, "commit": "true"})
        assert done.status_code == 200, done.text
        assert done.json()["changes"] == dry["changes"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT number FROM house WHERE business_id = 'HAPI1'")
                                ).scalar_one() == top + 1
            actor, after = conn.execute(text(
                "SELECT actor, after FROM audit_log WHERE action = 'house.number' "
                "AND object_id = :v ORDER BY id DESC LIMIT 1"), {"v": village}).one()
        assert actor == "test-planner" and after == [{"house_id": "HAPI1", "number": top + 1}]
    finally:
        with engine.begin() as conn:
            objects.delete_by_business_ids(conn, "house", ["HAPI1"])
