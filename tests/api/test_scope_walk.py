"""Every route of the OpenAPI, walked as accounts of different scopes: no row from outside the
account's scope comes back, in lists, items, reports, maps, tiles, exports or errors; an id
outside the scope answers exactly as an id that does not exist (404, never 403).

The routes come from ``/openapi.json`` itself, so a new route joins the walk without a line
here. "Outside the scope" is what PostgreSQL's policies hide from the account (its rows are
listed as the owner and as ``gridsvc_app`` bound to the account): the walk proves that no path
(in-memory indexes, caches, pages, tiles) shows more than the database would.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from gridsvc.api.app import create_app
from gridsvc.db import rls
from gridsvc.domain.accounts import Role
from gridsvc.services.tokens import create_token

pytestmark = [pytest.mark.db, pytest.mark.slow]

#: The accounts: a grid worker, an officer of another beat, the station leader, the command
#: centre and a planner.
ACCOUNTS = ["gw001", "off08", "leader-s01", "command", "planner"]
#: Scoped tables and the columns whose values must not leak (business ids, names, phones).
LEAKS = {"house": ["business_id"], "incident": ["business_id"],
         "patrol_point": ["business_id"], "camera": ["business_id"],
         "compound_entrance": ["business_id"], "compound": ["business_id"],
         "event": ["business_id"], "person": ["business_id", "name", "phone"]}
TOKEN = re.compile(r"[A-Za-z0-9_\-]+|[\u4e00-\u9fff]+")
NO_SUCH = "no-such-id-0"


@pytest.fixture(scope="module")
def walk_engine(pg, demo_template) -> Iterator[Engine]:
    """A private copy of the demo database: the walk calls every write route too."""
    import psycopg
    from psycopg import sql

    name = f"walk_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(demo_template)))
    eng = create_engine(pg.url(name))
    yield eng
    eng.dispose()
    pg.drop_database(name)


@pytest.fixture(scope="module")
def walk_client(settings, walk_engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, walk_engine), follow_redirects=False) as c:
        yield c


class View:
    """What one account may and may not see, from the database itself."""

    def __init__(self, owner: Engine, username: str) -> None:
        with owner.connect() as conn:
            row = conn.execute(text("SELECT id, role FROM account WHERE username = :u"),
                               {"u": username}).one()
        self.username, self.account_id = username, row.id
        token = create_token(owner, role=Role.parse(row.role), name=f"walk-{username}",
                             actor="test-suite", account_id=row.id)
        self.headers = {"Authorization": f"Bearer {token}"}
        app = rls.bind_accounts(create_engine(owner.url.set(username=rls.APP_ROLE,
                                                            password=None)))
        self.hidden: dict[str, set[str]] = {}
        self.hidden_rows: dict[str, list[dict[str, Any]]] = {}
        try:
            for table, columns in LEAKS.items():
                cols = ", ".join(columns)
                extra = ", ST_X(geom) AS lon, ST_Y(geom) AS lat" if table == "house" else ""
                query = f"SELECT {cols}{extra} FROM {table} ORDER BY business_id"
                with owner.connect() as conn:
                    every = [dict(r._mapping) for r in conn.execute(text(query))]
                with rls.acting_as(row.id), app.connect() as conn:
                    seen = {r[0] for r in conn.execute(text(
                        f"SELECT business_id FROM {table}"))}
                self.hidden_rows[table] = [r for r in every if r["business_id"] not in seen]
                self.hidden[table] = {str(r[c]) for r in self.hidden_rows[table]
                                      for c in columns if r[c]}
        finally:
            app.dispose()
        # A name shared with a person in scope (or a cell) says nothing: keep ids and phones.
        self.forbidden = set().union(*self.hidden.values())

    def leaks(self, body: str, asked: str) -> set[str]:
        """Hidden values in ``body``, but those the caller sent (``asked``: an error may
        quote what it was given)."""
        return (set(TOKEN.findall(body)) - set(TOKEN.findall(asked))) & self.forbidden


@pytest.fixture(scope="module")
def views(walk_engine) -> dict[str, View]:
    return {u: View(walk_engine, u) for u in ACCOUNTS}


@pytest.fixture(scope="module")
def samples(walk_engine) -> dict[str, Any]:
    """Values for parameters that name public things (plans, cells, tiles)."""
    with walk_engine.connect() as conn:
        plan = conn.execute(text("SELECT gridsvc_current_plan()")).scalar_one()
        villages = conn.execute(text("SELECT business_id, name FROM area WHERE plan_id = :p "
                                     "AND kind = 'village' ORDER BY business_id"),
                                {"p": plan}).all()
        lon, lat = conn.execute(text("SELECT ST_X(ST_Centroid(ST_Extent(geom))), "
                                     "ST_Y(ST_Centroid(ST_Extent(geom))) FROM area "
                                     "WHERE plan_id = :p"), {"p": plan}).one()
    z = 13
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return {"plan_id": plan, "kind": "grid", "z": z, "x": x, "y": y,
            "villages": [v for v, _ in villages], "village_names": dict(villages)}


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]


def _path_variants(path: str, op: dict[str, Any], view: View, samples: dict[str, Any]
                   ) -> list[tuple[str, str | None]]:
    """URLs for the path: public parameters filled with real values, each other parameter with
    a value that does not exist and with hidden rows' ids. Returns ``(url, probe)``, probe
    being the kind of hidden id used (None for the plain and the no-such-id call)."""
    names = re.findall(r"\{([^}]+)\}", path)
    fixed = {n: samples[n] for n in names if n in ("plan_id", "kind", "z", "x", "y")}
    if "area_id" in names:
        fixed["area_id"] = samples["villages"][0]
        fixed["kind"] = "village"
    free = [n for n in names if n not in fixed]
    if not free:
        return [(path.format(**fixed), None)]
    out = [(path.format(**fixed, **dict.fromkeys(free, NO_SUCH)), None)]
    for table, rows in view.hidden_rows.items():
        if rows:
            out.append((path.format(**fixed, **dict.fromkeys(free, rows[0]["business_id"])),
                        table))
    return out


def _query_variants(op: dict[str, Any], view: View, samples: dict[str, Any]
                    ) -> list[dict[str, str]]:
    """Required query parameters (and ``village_id``, ``q``, ``lon``/``lat``) aimed at hidden
    rows where they can be."""
    params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
    names = {p["name"] for p in params}
    required = {p["name"] for p in params if p.get("required")}
    houses = view.hidden_rows["house"]
    base: dict[str, str] = {}
    for name in required - {"village_id", "q", "lon", "lat"}:
        base[name] = "grid" if name == "kind" else "1"
    variants = [dict(base)]
    if "village_id" in names:
        variants = [{**base, "village_id": v} for v in samples["villages"][:: max(
            1, len(samples["villages"]) // 6)]]
    if "q" in names:
        said = [f"{samples['village_names'].get(v, '')}1号" for v in samples["villages"][:3]]
        variants = [{**base, "q": q} for q in said]
    if {"lon", "lat"} <= names:
        points = [(h["lon"], h["lat"]) for h in houses[:: max(1, len(houses) // 5)]] or [
            (118.99, 28.19)]
        variants = [{**base, "lon": str(x), "lat": str(y), "crs": "4490"} for x, y in points]
    return variants


@pytest.mark.parametrize("username", ACCOUNTS)
def test_no_route_shows_a_row_outside_the_scope(walk_client, views, samples, username):
    view = views[username]
    if username == "gw001":
        assert view.hidden["house"] and view.hidden["person"]  # the walk can catch a leak
    checked = 0
    answered: set[tuple[str, str, int]] = set()
    for path, method, op in _operations(walk_client):
        if path == "/healthz":
            continue
        for url, probe in _path_variants(path, op, view, samples):
            for query in _query_variants(op, view, samples):
                kwargs: dict[str, Any] = {"params": query, "headers": view.headers}
                if "requestBody" in op:
                    kwargs["json"] = {}
                r = walk_client.request(method.upper(), url, **kwargs)
                where = f"{username} {method.upper()} {url} {query} -> {r.status_code}"
                assert r.status_code < 500, f"{where}: {r.text[:300]}"
                body = r.content.decode("utf-8", "ignore")
                leaked = view.leaks(body, f"{url} {' '.join(query.values())}")
                assert not leaked, f"{where} shows rows outside the scope: {sorted(leaked)[:5]}"
                if probe is not None:
                    # An id outside the scope answers as one that does not exist.
                    same = walk_client.request(method.upper(), url.replace(
                        view.hidden_rows[probe][0]["business_id"], NO_SUCH), **kwargs)
                    assert r.status_code == same.status_code, where
                    assert r.status_code != 403 or same.status_code == 403, where
                checked += 1
                answered.add((method, path, r.status_code))
    ok = {(m, p) for m, p, code in answered if code < 300}
    # The walk reaches the routes' data, not only their refusals.
    assert checked > 40 and len(ok) > 15, sorted(answered)


def _duty_reports() -> list[tuple[str, dict[str, str]]]:
    """Duty routes with the parameters that reach their data (the walk above fills only
    required parameters, with values that are mostly refused)."""
    day = (date.today() - timedelta(days=1)).isoformat()
    out: list[tuple[str, dict[str, str]]] = [
        ("/api/v1/patrol/coverage", {"day": day}),
        ("/api/v1/patrol/coverage", {"day": day, "all_check_ins": "true"}),
        ("/api/v1/patrol/coverage", {"day": day, "format": "csv", "all_check_ins": "true"}),
        ("/api/v1/patrol/hotspots", {"until": "2026-10-31", "weeks": "26"}),
        ("/api/v1/patrol/hotspots", {}),
        ("/api/v1/patrol/points", {}),
        ("/maps/duty", {"day": day}),
        ("/maps/coverage", {}),  # with its duty layers: who is on duty, this and last shift
        ("/me", {}),
        ("/patrol/check-in", {}),
    ]
    for station in ("S01", "S02"):
        out += [("/api/v1/onduty", {"cell_kind": "station", "cell_id": station}),
                ("/api/v1/onduty", {"cell_kind": "station", "cell_id": station,
                                     "at": f"{day}T03:00:00"}),
                (f"/api/v1/duty/stations/{station}/fields", {}),
                (f"/api/v1/duty/stations/{station}/fields", {"propose": "true"}),
                (f"/api/v1/duty/stations/{station}/groups", {}),
                (f"/api/v1/duty/stations/{station}/changes", {}),
                (f"/api/v1/patrol/stations/{station}/requirements", {}),
                (f"/maps/fields/{station}", {}),
                ("/maps/duty", {"day": day, "station_id": station})]
    return out


@pytest.mark.parametrize("username", ACCOUNTS)
def test_duty_reports_maps_and_on_duty_answers_show_no_one_outside_the_scope(
        walk_client, views, username):
    view = views[username]
    reached = 0
    for url, query in _duty_reports():
        r = walk_client.get(url, params=query, headers=view.headers)
        where = f"{username} GET {url} {query} -> {r.status_code}"
        assert r.status_code < 500, f"{where}: {r.text[:300]}"
        leaked = view.leaks(r.content.decode("utf-8", "ignore"),
                            f"{url} {' '.join(query.values())}")
        assert not leaked, f"{where} shows rows outside the scope: {sorted(leaked)[:5]}"
        reached += r.status_code == 200
    assert reached >= len(_duty_reports()) // 2, username


def test_an_incident_outside_the_scope_is_404_not_403(walk_client, views):
    view = views["gw001"]
    hidden = view.hidden_rows["incident"][0]["business_id"]
    r = walk_client.get(f"/api/v1/incidents/{hidden}", headers=view.headers)
    assert r.status_code == 404
    command = views["command"]
    assert walk_client.get(f"/api/v1/incidents/{hidden}", headers=command.headers
                           ).status_code == 200
