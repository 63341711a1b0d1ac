"""Loading the demo town (``data/demo_town/``), idempotently."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridsvc.db import accounts as account_repo
from gridsvc.db import areas as area_repo
from gridsvc.db import audit, objects
from gridsvc.domain.accounts import demo
from gridsvc.domain.accounts.credentials import hash_password
from gridsvc.domain.io.cells_io import TARGET_CRS, FieldMap, read_cells
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services import duty_demo, events, visits
from gridsvc.services.assignment import layers_from_frames, set_cells
from gridsvc.services.print_demo import demo_solved
from gridsvc.settings import DutySettings

log = logging.getLogger(__name__)

SOURCE = "demo"
#: The demo plan is in effect from this date, before the first demo incident.
EFFECTIVE_FROM = date(2025, 1, 1)
#: Cell layers in load order (parents first).
AREA_FILES = {"town": "towns", "village": "villages", "grid": "grids",
              "station": "stations", "beat": "beats"}
#: Point and other layers: file stem -> (table, columns taken from the file).
OBJECT_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "offices": ("office", ("name", "opening_hours", "phone")),
    "compounds": ("compound", ("name", "village_id", "risk_colour", "no_property_management",
                               "no_competent_department", "no_security", "households")),
    "houses": ("house", ("number", "sub_number", "building", "unit", "room", "households",
                         "registered", "residents", "floating", "is_rental", "rental_stars",
                         "compound_id")),
    "incidents": ("incident", ("occurred_at", "category", "summary")),
    "patrol_points": ("patrol_point", ("name", "level")),
    "cameras": ("camera", ("name", "heading_deg", "fov_deg", "range_m")),
    "roads": ("road", ("name", "road_class")),
    "compound_entrances": ("compound_entrance", ("compound_id", "name", "kind")),
}


@dataclass
class DemoLoadResult:
    plan_id: int
    loaded: bool
    counts: dict[str, int] = field(default_factory=dict)


def content_hash(demo_dir: Path) -> str:
    """SHA-256 over the names and bytes of the demo files: equal hashes, equal data."""
    digest = hashlib.sha256()
    for path in sorted(demo_dir.iterdir()):
        if path.is_file() and path.suffix in (".geojson", ".csv"):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _value(v: Any) -> Any:
    """A pandas/numpy cell as a plain Python value (NaN/NaT -> None)."""
    if v is None or (not isinstance(v, str | list | tuple) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _object_rows(demo_dir: Path, stem: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    gdf = gpd.read_file(demo_dir / f"{stem}.geojson", engine="pyogrio")
    gdf = gdf.to_crs(TARGET_CRS) if gdf.crs is not None else gdf.set_crs(TARGET_CRS)
    missing = [c for c in ("id", *columns) if c not in gdf.columns]
    if missing:
        raise InvalidInput([Problem(f"missing in {stem}.geojson", field=c) for c in missing])
    if stem == "incidents":
        gdf["occurred_at"] = pd.to_datetime(gdf["occurred_at"], format="ISO8601")
    rows = []
    for rec, geom in zip(gdf[["id", *columns]].to_dict("records"), gdf.geometry, strict=True):
        row = {c: _value(rec[c]) for c in columns}
        row["business_id"] = str(rec["id"])
        if stem in ("compounds",):
            geom = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
        if stem == "roads":
            geom = geom if geom.geom_type == "MultiLineString" else shapely.MultiLineString([geom])
        row["geom"] = geom
        rows.append(row)
    if stem == "houses":
        village = gdf["village_id"].astype(str).tolist()
        aliases = gdf["aliases"].fillna("").astype(str).tolist()
        for row, v, a in zip(rows, village, aliases, strict=True):
            row["address_village_id"] = v
            row["aliases"] = [x for x in a.split("|") if x]
    return rows


def _people(demo_dir: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    df = pd.read_csv(demo_dir / "people.csv", dtype=str, keep_default_na=False)
    rows, links = [], []
    for rec in df.to_dict("records"):
        rows.append({"business_id": rec["id"], "name": rec["name"], "role": rec["role"],
                     "phone": rec["phone"] or None, "office_id": rec["office_id"] or None})
        for kind, column in (("beat", "beat_ids"), ("grid", "grid_ids")):
            links += [(rec["id"], kind, a) for a in rec[column].split("|") if a]
    return rows, links


def _delete_previous(conn: Connection, plan_id: int, tables: dict[str, list[str]]) -> None:
    for table, ids in tables.items():
        objects.delete_by_business_ids(conn, table, ids)
    area_repo.delete_plan(conn, plan_id)


def _today(duty: DutySettings | None) -> date:
    """Today in the stations' time zone (the demo's visits run up to it)."""
    return datetime.now(ZoneInfo((duty or DutySettings()).zone)).date()


def load_demo(engine: Engine, demo_dir: Path, *, actor: str,
              duty: DutySettings | None = None) -> DemoLoadResult:
    """Load the demo town into its own active plan, in one transaction; then its duty groups,
    rotations, patrol rounds and recent check-ins (:mod:`gridsvc.services.duty_demo`, with
    ``duty`` settings, default from the environment), and a year of house visits
    (:func:`gridsvc.services.visits.demo_visits`).

    Idempotent: when the same files are loaded already, nothing happens. When different demo
    files were loaded before (a newer generator), that plan and the objects with the new files'
    ids are replaced.

    Raises
    ------
    InvalidInput
        When a file is missing or malformed; nothing is written.
    """
    if not (demo_dir / "towns.geojson").exists():
        raise InvalidInput([Problem(f"no demo town in {demo_dir}: run "
                                    "'python data/generate_demo_town.py' first")])
    digest = content_hash(demo_dir)
    with engine.connect() as conn:
        previous = area_repo.find_plan_by_source(conn, SOURCE)
    if previous is not None and previous["content_hash"] == digest:
        log.info("demo town already loaded (plan %s)", previous["id"])
        with engine.begin() as conn:
            demo_accounts(conn, previous["id"], actor=actor)
            events.load_demo_events(conn, previous["id"], actor=actor)
            visits.demo_visits(conn, today=_today(duty))
        duty_demo.load(engine, duty or DutySettings(), actor=actor)
        return DemoLoadResult(previous["id"], loaded=False)

    fields = FieldMap("id", "name", "code", "parent_id")
    cells = {kind: read_cells(demo_dir / f"{stem}.geojson", fields)
             for kind, stem in AREA_FILES.items()}
    rows = {table: _object_rows(demo_dir, stem, cols)
            for stem, (table, cols) in OBJECT_FILES.items()}
    people, links = _people(demo_dir)
    rows["person"] = people

    with engine.begin() as conn:
        if previous is not None:
            _delete_previous(conn, previous["id"],
                             {t: [r["business_id"] for r in rs] for t, rs in rows.items()})
        plan_id = area_repo.create_plan(
            conn, name="八都 demo town", status="active", effective_from=EFFECTIVE_FROM,
            source=SOURCE, content_hash=digest, created_by=actor,
            note="Synthetic town written by data/generate_demo_town.py")
        for kind, gdf in cells.items():
            area_repo.insert_areas(conn, plan_id, kind, [
                {**r, "geom": r.pop("geometry")} for r in gdf.to_dict("records")])
        layers = layers_from_frames(cells)
        for table in objects.ASSIGNED:
            set_cells(layers, rows[table], plan_id)
        for table, table_rows in rows.items():
            objects.insert_rows(conn, table, table_rows)
        objects.link_people(conn, links)
        objects.analyze(conn, ["area", *rows, "person_area"])
        counts = {**{k: len(v) for k, v in cells.items()}, **{k: len(v) for k, v in rows.items()}}
        counts["account"] = demo_accounts(conn, plan_id, actor=actor)
        counts["event"] = events.load_demo_events(conn, plan_id, actor=actor)
        counts["incident_solved"] = demo_solved(conn, rows["incident"], actor=actor)
        counts["house_visit"] = visits.demo_visits(conn, today=_today(duty))
        audit.record(conn, actor=actor, action="demo.load", object_kind="plan",
                     object_id=str(plan_id),
                     before={"plan_id": previous["id"]} if previous else None,
                     after={"content_hash": digest, "counts": counts})
    counts.update(duty_demo.load(engine, duty or DutySettings(), actor=actor, replace=True))
    return DemoLoadResult(plan_id, loaded=True, counts=counts)


def demo_accounts(conn: Connection, plan_id: int, *, actor: str) -> int:
    """Make the demo town's accounts that do not exist yet: one per person (scope: the cells
    they are linked to) and the offices' (:mod:`gridsvc.domain.accounts.demo`), all with the
    shared :data:`~gridsvc.domain.accounts.demo.DEMO_PASSWORD`. Returns how many were made.

    Accounts are matched by name, so a reload keeps them (and their password changes); the
    password is hashed once for all of them (one salt: a demo, not a secret store).
    """
    people = defaultdict(list)
    for link in objects.people_links(conn):
        people[(link["id"], link["name"], link["role"])].append((link["kind"], link["area_id"]))
    wanted = [demo.person_account(pid, name, role, links)
              for (pid, name, role), links in sorted(people.items())]
    stations = [(c["id"], c["properties"]["name"])
                for c in area_repo.area_features(conn, plan_id, "station")]
    wanted += demo.office_accounts(stations)
    taken = account_repo.existing_usernames(conn, [a.username for a in wanted])
    wanted = [a for a in wanted if a.username not in taken]
    if not wanted:
        return 0
    password_hash = hash_password(demo.DEMO_PASSWORD)
    pks = account_repo.person_pks(conn, [a.person_id for a in wanted if a.person_id])
    for a in wanted:
        account_id = account_repo.insert_account(
            conn, username=a.username, display_name=a.display_name, role=a.role.name,
            person_pk=pks.get(a.person_id) if a.person_id else None,
            password_hash=password_hash)
        account_repo.set_scope(conn, account_id, list(a.scope))
    audit.record(conn, actor=actor, action="account.create", object_kind="account",
                 object_id="demo", after={"accounts": [a.username for a in wanted]})
    return len(wanted)
