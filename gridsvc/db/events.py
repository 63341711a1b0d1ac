"""SQL of the events work: the catalogue, routing table and limits, events, their history and
photos, and the figures. Run as the app role, the policies decide which events come back."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.model_events import OPEN_SQL
from gridsvc.domain.events.catalogue import Grade
from gridsvc.domain.events.limits import Limit
from gridsvc.domain.events.routing import Rule
from gridsvc.domain.events.states import State

CELL_KINDS = ("town", "village", "grid", "station", "beat")
#: An event as the service answers it: ``(key, SQL on e)`` (``e``: the event table).
EVENT_FIELDS = (
    ("id", "e.id"), ("business_id", "e.business_id"), ("category", "e.category"),
    ("grade", "e.grade"), ("state", "e.state"), ("level", "e.level"),
    ("description", "e.description"), ("parties", "e.parties"), ("house_id", "e.house_id"),
    ("compound_id", "e.compound_id"), ("lon", "ST_X(e.geom)"), ("lat", "ST_Y(e.geom)"),
    ("town_id", "e.town_id"), ("village_id", "e.village_id"), ("grid_id", "e.grid_id"),
    ("station_id", "e.station_id"), ("beat_id", "e.beat_id"),
    ("cells_plan_id", "e.cells_plan_id"), ("src_x", "e.src_x"), ("src_y", "e.src_y"),
    ("src_crs", "e.src_crs"), ("reporter", "e.reporter"),
    ("reporter_account_id", "e.reporter_account_id"), ("routing", "e.routing"),
    ("unit_kind", "e.unit_kind"), ("unit_id", "e.unit_id"), ("expected_at", "e.expected_at"),
    ("overdue", f"(e.expected_at < now() AND e.{OPEN_SQL})"), ("late", "e.late"),
    ("near_boundary", "e.near_boundary"), ("occurred_at", "e.occurred_at"),
    ("created_at", "e.created_at"), ("updated_at", "e.updated_at"),
    ("handled_at", "e.handled_at"), ("finished_at", "e.finished_at"), ("version", "e.version"))
COLUMNS = ", ".join(sql if sql == f"e.{key}" else f"{sql} AS {key}" for key, sql in EVENT_FIELDS)
#: Lock key of the overdue sweep (``pg_try_advisory_xact_lock``): one sweep at a time.
SWEEP_LOCK = 0x6576_656E_7473  # "events"


# -- catalogue, routing table, limits ----------------------------------------------------------

def categories(conn: Connection, *, active_only: bool = False) -> list[dict[str, Any]]:
    """The catalogue, parents first."""
    where = "WHERE active" if active_only else ""
    rows = conn.execute(text(f"""
        SELECT code, name, parent_code, description, active FROM event_category {where}
        ORDER BY coalesce(parent_code, code), parent_code NULLS FIRST, code"""))
    return [dict(r._mapping) for r in rows]


def upsert_category(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(text("""
        INSERT INTO event_category (code, name, parent_code, description, active)
        VALUES (:code, :name, :parent_code, :description, :active)
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
            parent_code = EXCLUDED.parent_code, description = EXCLUDED.description,
            active = EXCLUDED.active"""), row)


def rules(conn: Connection) -> list[Rule]:
    rows = conn.execute(text("SELECT * FROM event_rule ORDER BY id"))
    return [Rule(r.category, r.level, Grade(r.min_grade), r.unit_kind, r.unit_name,
                 tuple(r.roles), tuple((k, tuple(roles)) for k, roles in r.also)) for r in rows]


def replace_rules(conn: Connection, new: list[Rule]) -> None:
    conn.execute(text("DELETE FROM event_rule"))
    if new:
        conn.execute(text("""
            INSERT INTO event_rule (category, level, min_grade, unit_kind, unit_name, roles, also)
            VALUES (:category, :level, :min_grade, :unit_kind, :unit_name, :roles,
                    CAST(:also AS jsonb))"""),
            [{"category": r.category, "level": r.level, "min_grade": r.min_grade.value,
              "unit_kind": r.unit_kind, "unit_name": r.unit_name, "roles": list(r.roles),
              "also": _json([[k, list(roles)] for k, roles in r.also])} for r in new])


def limits(conn: Connection) -> list[Limit]:
    rows = conn.execute(text("SELECT category, grade, state, hours FROM event_limit ORDER BY id"))
    return [Limit(r.category, Grade(r.grade), State(r.state), r.hours) for r in rows]


def set_limit(conn: Connection, category: str, grade: str, state: str, hours: float | None
              ) -> None:
    """Set one limit (``hours`` None: drop it)."""
    params = {"category": category, "grade": grade, "state": state, "hours": hours}
    if hours is None:
        conn.execute(text("DELETE FROM event_limit WHERE category = :category "
                          "AND grade = :grade AND state = :state"), params)
        return
    conn.execute(text("""
        INSERT INTO event_limit (category, grade, state, hours)
        VALUES (:category, :grade, :state, :hours)
        ON CONFLICT (category, grade, state) DO UPDATE SET hours = EXCLUDED.hours"""), params)


# -- places and people -------------------------------------------------------------------------

def cell_people(conn: Connection, cells: set[tuple[str, str]]
                ) -> tuple[dict[tuple[str, str], list[tuple[int, str]]], dict[int, dict]]:
    """People linked to these cells: ``(kind, id) -> [(person pk, role)]`` and who each is
    (``pk -> {id, name, role}``), whoever the caller is (a security-definer function)."""
    if not cells:
        return {}, {}
    kinds, ids = zip(*sorted(cells), strict=True)
    rows = conn.execute(text("SELECT * FROM gridsvc_cell_people(:k, :i)"),
                        {"k": list(kinds), "i": list(ids)})
    links: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    who: dict[int, dict] = {}
    for r in rows:
        links[(r.kind, r.area_id)].append((r.person_pk, r.role))
        who[r.person_pk] = {"id": r.person_id, "name": r.name, "role": r.role}
    return dict(links), who


def visible_people(conn: Connection, pks: set[int]) -> set[int]:
    """Which of these people the caller may see (the ``person`` policy's rule)."""
    return set(conn.execute(text("SELECT gridsvc_visible_people(CAST(:p AS bigint[]))"),
                            {"p": sorted(pks)}).scalar_one() or ())


def config_version(conn: Connection) -> int:
    """The version of the catalogue, routing table and limits (moves with each change)."""
    return conn.execute(text("SELECT version FROM event_config")).scalar_one()


def intake_facts(conn: Connection, key: str | None, category: str, plan_id: int,
                 cells: dict[str, str | None], x: float, y: float, metres: float
                 ) -> dict[str, Any]:
    """Everything a report reads, in one round trip.

    Returns
    -------
    dict
        ``at`` (the transaction's time), ``id`` (a new event id), ``seen`` (the event already
        made with this idempotency key, or None), ``known`` (the category is an active one),
        ``config`` (:func:`config_version`), ``plan_version`` (of ``plan_id``), ``names``
        (``(kind, id) -> name`` of the cells), ``near`` (the point lies within ``metres`` of
        the edge of its grid, beat or village), ``people`` (as :func:`cell_people`) and
        ``visible`` (which of those people the caller may see).
    """
    present = sorted((k, v) for k, v in cells.items() if v is not None)
    kinds = [k for k, _ in present]
    ids = [v for _, v in present]
    row = conn.execute(text("""
        WITH c AS (
            SELECT kind, business_id, name,
                   kind IN ('grid', 'beat', 'village') AND :m > 0 AND ST_DWithin(
                       ST_Boundary(geom)::geography,
                       ST_SetSRID(ST_MakePoint(:x, :y), 4490)::geography, :m) AS near
            FROM area WHERE plan_id = CAST(:plan AS integer)
            AND (kind || ':' || business_id) = ANY(CAST(:keys AS text[]))),
        p AS (SELECT * FROM gridsvc_cell_people(CAST(:kinds AS text[]), CAST(:ids AS text[])))
        SELECT now() AS at, nextval(pg_get_serial_sequence('event', 'id')) AS id,
            (SELECT id FROM event WHERE idempotency_key = :k) AS seen,
            EXISTS (SELECT 1 FROM event_category WHERE code = :c AND active) AS known,
            (SELECT version FROM event_config) AS config,
            (SELECT version FROM plan WHERE id = CAST(:plan AS integer)) AS plan_version,
            (SELECT json_agg(json_build_array(kind, business_id, name, near)) FROM c) AS cells,
            (SELECT json_agg(json_build_array(kind, area_id, person_pk, person_id, name, role))
               FROM p) AS people,
            gridsvc_visible_people(CAST((SELECT coalesce(array_agg(DISTINCT person_pk), '{}')
                                         FROM p) AS bigint[])) AS visible"""),
        {"k": key, "c": category.strip(), "plan": plan_id, "x": x, "y": y, "m": metres,
         "keys": [f"{k}:{v}" for k, v in present], "kinds": kinds, "ids": ids}).one()
    links: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    who: dict[int, dict] = {}
    for kind, area_id, pk, person_id, name, role in row.people or ():
        links[(kind, area_id)].append((pk, role))
        who[pk] = {"id": person_id, "name": name, "role": role}
    return {"at": row.at, "id": row.id, "seen": row.seen, "known": bool(row.known),
            "config": row.config, "plan_version": row.plan_version,
            "names": {(k, i): n for k, i, n, _ in row.cells or ()},
            "near": any(near for *_, near in row.cells or ()),
            "people": (dict(links), who), "visible": set(row.visible or ())}


def report(conn: Connection, event: dict[str, Any], first: dict[str, Any],
           entry: dict[str, Any]) -> tuple[int, datetime] | None:
    """Insert a reported event, the first row of its history and its audit entry in one round
    trip (``gridsvc_event_report``); ``(transition id, its time)``, or None when the event's
    idempotency key is taken (the first one stands, nothing is written)."""
    row = conn.execute(text(
        "SELECT * FROM gridsvc_event_report(CAST(:ev AS jsonb), CAST(:tr AS jsonb), "
        "CAST(:au AS jsonb))"),
        {"ev": _json(event), "tr": _json(first), "au": _json(entry)}).first()
    return None if row is None else (row[0], row[1])


def compound_point(conn: Connection, compound_id: str) -> tuple[float, float] | None:
    """A point inside a compound (one the caller may see), or None."""
    row = conn.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM compound
        WHERE business_id = :id) s"""), {"id": compound_id}).first()
    return None if row is None else (float(row[0]), float(row[1]))


# -- events ------------------------------------------------------------------------------------

def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def id_by_key(conn: Connection, key: str) -> int | None:
    return conn.execute(text("SELECT id FROM event WHERE idempotency_key = :k"),
                        {"k": key}).scalar_one_or_none()


def now(conn: Connection) -> datetime:
    """The transaction's time (every row it writes carries the same)."""
    return conn.execute(text("SELECT now()")).scalar_one()


def insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert many events with their ids, times and state already set (the demo's year)."""
    if not rows:
        return
    conn.execute(text("""
        INSERT INTO event (id, business_id, category, grade, state, level, description, parties,
            house_id, reporter, reporter_account_id, routing, unit_kind, unit_id, occurred_at,
            created_at, updated_at, expected_at, late, handled_at, finished_at, version,
            idempotency_key, geom, town_id, village_id, grid_id, station_id, beat_id, src_x,
            src_y, src_crs, cells_plan_id)
        VALUES (:id, :business_id, :category, :grade, :state, :level, :description, :parties,
            :house_id, :reporter, :reporter_account_id, CAST(:routing AS jsonb), :unit_kind,
            :unit_id, :occurred_at, :created_at, :updated_at, :expected_at, :late, :handled_at,
            :finished_at, :version, :idempotency_key, ST_SetSRID(ST_MakePoint(:x, :y), 4490),
            :town_id, :village_id, :grid_id, :station_id, :beat_id, :x, :y, 'EPSG:4490',
            :cells_plan_id)"""), [{**r, "routing": _json(r["routing"])} for r in rows])


def next_ids(conn: Connection, n: int) -> list[int]:
    return list(conn.execute(text(
        "SELECT nextval(pg_get_serial_sequence('event', 'id')) FROM generate_series(1, :n)"),
        {"n": n}).scalars())


def demo_places(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """Houses of a plan with their cells (where the demo's events happen)."""
    rows = conn.execute(text("""
        SELECT business_id AS house_id, ST_X(geom) AS x, ST_Y(geom) AS y, town_id, village_id,
               grid_id, station_id, beat_id FROM house
        WHERE cells_plan_id = :p AND grid_id IS NOT NULL ORDER BY business_id"""),
                        {"p": plan_id})
    return [dict(r._mapping) for r in rows]


def grid_reporters(conn: Connection) -> dict[str, tuple[int, str]]:
    """``grid id -> (account id, username)`` of the first grid worker with an account."""
    rows = conn.execute(text("""
        SELECT DISTINCT ON (pa.area_id) pa.area_id, a.id, a.username
        FROM person_area pa JOIN person p ON p.pk = pa.person_pk
        JOIN account a ON a.person_pk = p.pk
        WHERE pa.kind = 'grid' AND p.role = 'grid_worker'
        ORDER BY pa.area_id, a.username"""))
    return {r.area_id: (r.id, r.username) for r in rows}


def has_demo(conn: Connection) -> bool:
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM event WHERE idempotency_key LIKE 'demo:%')")).scalar_one()


def get(conn: Connection, event_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """One event the caller may see (``lock``: FOR UPDATE, for a change)."""
    row = conn.execute(text(f"SELECT {COLUMNS} FROM event e WHERE e.id = :id"
                            + (" FOR UPDATE" if lock else "")), {"id": event_id}).first()
    return None if row is None else dict(row._mapping)


def update(conn: Connection, event_id: int, values: dict[str, Any]) -> None:
    """Set columns of one event, bump its version and ``updated_at``."""
    sets = ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k == "routing" else f"{k} = :{k}"
                     for k in values)
    params = {**values, "id": event_id}
    if "routing" in values:
        params["routing"] = _json(values["routing"])
    conn.execute(text(f"UPDATE event SET {sets}, version = version + 1, updated_at = now() "
                      "WHERE id = :id"), params)


def update_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk form of :func:`update` for the sweep and re-routing: each row has ``id``, ``state``,
    ``level``, ``routing``, ``unit_kind``, ``unit_id``, ``expected_at``, ``late`` and the five
    cell ids with ``cells_plan_id``."""
    if not rows:
        return
    # One JSON document, not a dozen arrays: psycopg escapes the strings of a text[]
    # parameter in Python, which for thousands of routing documents took seconds.
    cols = ["state", "level", "unit_kind", "unit_id", "town_id", "village_id", "grid_id",
            "station_id", "beat_id"]
    doc = _json([{**{c: r[c] for c in cols}, "id": r["id"], "routing": r["routing"],
                  "expected_at": r["expected_at"], "late": r["late"],
                  "plan": r["cells_plan_id"]} for r in rows])
    conn.execute(text(f"""
        UPDATE event e SET {', '.join(f'{c} = u.{c}' for c in cols)},
            routing = u.routing, expected_at = u.expected_at, late = u.late,
            cells_plan_id = u.plan, version = e.version + 1, updated_at = now()
        FROM jsonb_to_recordset(CAST(:doc AS jsonb)) AS u(id bigint,
            {', '.join(f'{c} text' for c in cols)}, routing jsonb, expected_at timestamptz,
            late boolean, plan integer)
        WHERE e.id = u.id"""), {"doc": doc})


def relabel_plan(conn: Connection, ids: list[int], plan_id: int) -> None:
    """Events whose cells are the same under ``plan_id``: only their plan id changes."""
    if ids:
        conn.execute(text("UPDATE event SET cells_plan_id = :p WHERE id = ANY(:ids)"),
                     {"p": plan_id, "ids": ids})


def add_transitions(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Append history rows (``event_id, actor, account_id, action, from_state, to_state,
    from_level, to_level``, optional ``note, reason, attachments, details``); their ids."""
    if not rows:
        return []
    full = [{"note": None, "reason": None, "attachments": [], "account_id": None, **r,
             "details": _json(r.get("details") or {})} for r in rows]
    if len(full) == 1:
        return [conn.execute(text("""
            INSERT INTO event_transition (event_id, actor, account_id, action, from_state,
                to_state, from_level, to_level, note, reason, attachments, details)
            VALUES (:event_id, :actor, :account_id, :action, :from_state, :to_state,
                :from_level, :to_level, :note, :reason, CAST(:attachments AS bigint[]),
                CAST(:details AS jsonb)) RETURNING id"""), full[0]).scalar_one()]
    cols = ("event_id", "actor", "account_id", "action", "from_state", "to_state",
            "from_level", "to_level", "note", "reason", "details", "at")
    types = ("bigint", "text", "bigint", "text", "text", "text", "text", "text", "text",
             "text", "jsonb", "timestamptz")
    doc = _json([{c: (r.get("details") or {}) if c == "details" else r.get(c) for c in cols}
                 for r in rows])
    # A row without ``at`` (the sweep, re-routing) happens now; the demo gives its own times.
    result = conn.execute(text(f"""
        INSERT INTO event_transition ({', '.join(cols)})
        SELECT {', '.join(cols[:-1])}, coalesce(at, clock_timestamp())
        FROM jsonb_to_recordset(CAST(:doc AS jsonb)) AS u({', '.join(
            f'{c} {t}' for c, t in zip(cols, types, strict=True))})
        RETURNING id"""), {"doc": doc})
    return [r[0] for r in result]


def history(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(text("""
        SELECT id, at, actor, action, from_state, to_state, from_level, to_level, note, reason,
               attachments, details FROM event_transition WHERE event_id = :id ORDER BY id"""),
                        {"id": event_id})
    return [dict(r._mapping) for r in rows]


def photos(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(text("""
        SELECT id, sha256, media_type, size, uploaded_by, created_at FROM event_photo
        WHERE event_id = :id ORDER BY id"""), {"id": event_id})
    return [dict(r._mapping) for r in rows]


def add_photo(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(text("""
        INSERT INTO event_photo (event_id, sha256, media_type, size, uploaded_by, account_id)
        VALUES (:event_id, :sha256, :media_type, :size, :uploaded_by, :account_id)
        RETURNING id"""), row).scalar_one()


def photo(conn: Connection, event_id: int, photo_id: int) -> dict[str, Any] | None:
    row = conn.execute(text("""
        SELECT id, sha256, media_type, size FROM event_photo
        WHERE id = :p AND event_id = :e"""), {"p": photo_id, "e": event_id}).first()
    return None if row is None else dict(row._mapping)


def search(conn: Connection, where: list[str], params: dict[str, Any], *, order: str,
           limit: int, offset: int) -> tuple[list[dict[str, Any]], int, set[int]]:
    """Events matching every condition of ``where`` (SQL on ``e``): a page, the total, and
    which people named in the page's routings the caller may see, in one round trip (the
    count and the people are computed once beside the page). Edge case: a page past the end
    has no row to carry the total, so it is counted on its own."""
    clause = " AND ".join(where) or "true"
    rows = conn.execute(text(f"""
        WITH page AS MATERIALIZED (
            SELECT {COLUMNS} FROM event e WHERE {clause}
            ORDER BY {order} LIMIT :limit OFFSET :offset)
        SELECT page.*, (SELECT count(*) FROM event e WHERE {clause}) AS _total,
            -- in a subquery of its own: run once, not once per row of the page
            (SELECT {_visible_sql('page')}) AS _visible
        FROM page ORDER BY {order.replace('e.', 'page.')}"""),
                        {**params, "limit": limit, "offset": offset}).all()
    if not rows:
        total = 0 if offset == 0 else conn.execute(
            text(f"SELECT count(*) FROM event e WHERE {clause}"), params).scalar_one()
        return [], total, set()
    items = [dict(r._mapping) for r in rows]
    total, visible = items[0]["_total"], set(items[0]["_visible"] or ())
    for item in items:
        del item["_total"], item["_visible"]
    return items, total, visible


def _visible_sql(page: str) -> str:
    """SQL of the people named in the routings of ``page`` whom the caller may see (the
    ``person`` policy's rule), once for the page."""
    return f"""gridsvc_visible_people(ARRAY(
                SELECT DISTINCT (p->>'pk')::bigint FROM {page},
                    jsonb_array_elements(CASE WHEN jsonb_typeof({page}.routing->'people')
                        = 'array' THEN {page}.routing->'people' ELSE '[]' END) p))"""


def search_json(conn: Connection, where: list[str], params: dict[str, Any], *, order: str,
                limit: int, offset: int) -> tuple[list[str], int]:
    """:func:`search` with each event written as JSON by the database (the routing's
    ``people`` cut to those the caller may see, ``overdue`` false when unknown): the page's
    JSON texts and the total."""
    clause = " AND ".join(where) or "true"
    # One jsonpath filter per row (a subquery over each routing's people cost more than the
    # rest of the page).
    routing = """CASE WHEN jsonb_typeof(page.routing->'people') = 'array' THEN
        jsonb_set(page.routing, '{people}', jsonb_path_query_array(
            page.routing->'people', '$[*] ? (@.pk == $v[*])', (SELECT v FROM vis)))
        ELSE page.routing END"""
    fields = ", ".join(
        f"'{key}', " + (routing if key == "routing" else
                        "coalesce(page.overdue, false)" if key == "overdue" else f"page.{key}")
        for key, _ in EVENT_FIELDS)
    rows = conn.execute(text(f"""
        WITH page AS MATERIALIZED (
            SELECT {COLUMNS} FROM event e WHERE {clause}
            ORDER BY {order} LIMIT :limit OFFSET :offset),
        -- materialized: computed once for the page, not once per person of each routing
        vis AS MATERIALIZED (SELECT jsonb_build_object('v', to_jsonb({_visible_sql('page')})) AS v)
        SELECT json_build_object({fields})::text AS doc,
            (SELECT count(*) FROM event e WHERE {clause}) AS total
        FROM page
        ORDER BY {order.replace('e.', 'page.')}"""),
                        {**params, "limit": limit, "offset": offset}).all()
    if not rows:
        total = 0 if offset == 0 else conn.execute(
            text(f"SELECT count(*) FROM event e WHERE {clause}"), params).scalar_one()
        return [], total
    return [r.doc for r in rows], rows[0].total


def changes_since(conn: Connection, after_id: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(text(f"""
        SELECT t.id, t.at, t.action, t.from_state, t.to_state, t.actor, e.id AS event_id,
               e.business_id, e.state, e.level, e.grade, e.category, e.grid_id,
               ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.expected_at,
               (e.expected_at < now() AND e.{OPEN_SQL}) AS overdue
        FROM event_transition t JOIN event e ON e.id = t.event_id
        WHERE t.id > :after ORDER BY t.id LIMIT :limit"""), {"after": after_id, "limit": limit})
    return [dict(r._mapping) for r in rows]


def overdue_to_escalate(conn: Connection, at: datetime, limit: int) -> list[dict[str, Any]]:
    """Open events past their deadline below the top level, locked, skipping those another
    transaction holds (a person handling one right now: the next sweep gets it)."""
    rows = conn.execute(text(f"""
        SELECT {COLUMNS} FROM event e
        WHERE e.{OPEN_SQL} AND e.expected_at < :at AND e.level <> 'county'
        ORDER BY e.expected_at LIMIT :limit FOR UPDATE SKIP LOCKED"""),
                        {"at": at, "limit": limit})
    return [dict(r._mapping) for r in rows]


def mark_late_at_top(conn: Connection, at: datetime) -> int:
    """Overdue events at the top level cannot climb: they are marked late."""
    return conn.execute(text(f"""
        UPDATE event SET late = true WHERE {OPEN_SQL} AND expected_at < :at
        AND level = 'county' AND NOT late"""), {"at": at}).rowcount


_BRIEF_KEYS = ("unit_kind", "unit_id", "unit_name", "handlers", "fallback")


def _brief_sql(doc: str) -> str:
    """SQL of a routing's brief (the keys a history row keeps), as the service's ``_brief``."""
    return "jsonb_build_object(" + ", ".join(f"'{k}', {doc}->'{k}'" for k in _BRIEF_KEYS) + ")"


def open_for_reroute(conn: Connection) -> list[dict[str, Any]]:
    """Every open event, locked (a plan taking effect moves them), with only what re-routing
    reads: its point, cells, plan, category, grade, level and its routing's brief."""
    rows = conn.execute(text(f"""
        SELECT e.id, e.business_id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.town_id,
               e.village_id, e.grid_id, e.station_id, e.beat_id, e.cells_plan_id, e.category,
               e.grade, e.level, {_brief_sql('e.routing')} AS brief
        FROM event e WHERE e.{OPEN_SQL} ORDER BY e.id FOR NO KEY UPDATE"""))
    return [dict(r._mapping) for r in rows]


def reroute_many(conn: Connection, plan_id: int, rows: list[list[Any]],
                 routings: list[dict[str, Any]], *, actor: str, note: str) -> None:
    """Move events to new cells under ``plan_id`` with a new routing, and write each a
    ``reroute`` history row naming the cells, plan and routing before, in one statement.

    ``rows`` are ``[event id, town, village, grid, station, beat, i]``, ``i`` indexing
    ``routings`` (events of the same cells, category, grade and level share one: each is sent
    once). State, level and deadline stay as they are.
    """
    if not rows:
        return
    cells = ("town", "village", "grid", "station", "beat")
    # The routing of a row by its index into the array (folded into a constant once): a join
    # with the array's elements was planned as a nested loop over both.
    routing = "(CAST(:routings AS jsonb) -> d.r)"
    cells_of = ", ".join(f"'{k}', {{0}}.{k}_id" for k in cells)
    conn.execute(text(f"""
        WITH d AS (
            SELECT (u->>0)::bigint AS id,
                   {', '.join(f"u->>{i + 1} AS {k}_id" for i, k in enumerate(cells))},
                   (u->>6)::int AS r
            FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS u),
        old AS (SELECT e.id, e.state, e.level, e.cells_plan_id, e.routing,
                       {', '.join(f'e.{k}_id' for k in cells)}
                FROM event e JOIN d ON d.id = e.id),
        upd AS (
            UPDATE event e SET {', '.join(f'{k}_id = d.{k}_id' for k in cells)},
                routing = {routing}, unit_kind = {routing}->>'unit_kind',
                unit_id = {routing}->>'unit_id', cells_plan_id = :plan,
                version = e.version + 1, updated_at = now()
            FROM d WHERE e.id = d.id)
        INSERT INTO event_transition (event_id, actor, action, from_state, to_state,
            from_level, to_level, note, details)
        SELECT d.id, :actor, 'reroute', o.state, o.state, o.level, o.level, :note,
            jsonb_build_object('cells_before', jsonb_build_object({cells_of.format('o')}),
                'cells', jsonb_build_object({cells_of.format('d')}),
                'plan_before', o.cells_plan_id, 'plan', CAST(:plan AS integer),
                'routing_before', {_brief_sql('o.routing')},
                'routing', {_brief_sql(routing)})
        FROM d JOIN old o ON o.id = d.id ORDER BY d.id"""),
        {"rows": _json(rows), "routings": _json(routings), "plan": plan_id, "actor": actor,
         "note": note})


def names_of(conn: Connection, plan_id: int, keys: set[tuple[str, str]]
             ) -> dict[tuple[str, str], str]:
    """``(kind, id) -> name`` of cells of a plan."""
    if not keys:
        return {}
    rows = conn.execute(text("""
        SELECT kind, business_id, name FROM area WHERE plan_id = CAST(:plan AS integer)
        AND (kind || ':' || business_id) = ANY(:keys)"""),
                        {"plan": plan_id, "keys": [f"{k}:{v}" for k, v in keys]})
    return {(r.kind, r.business_id): r.name for r in rows}


def daily_counts(conn: Connection, column: str, start: datetime, end: datetime
                 ) -> list[dict[str, Any]]:
    """Per value of ``column`` (a cell column): reported, resolved (handled), open at the end
    of the day and overdue then, for the day [start, end)."""
    rows = conn.execute(text(f"""
        SELECT {column} AS cell,
            count(*) FILTER (WHERE created_at >= :start) AS reported,
            count(*) FILTER (WHERE handled_at >= :start AND handled_at < :end) AS resolved,
            count(*) FILTER (WHERE finished_at IS NULL OR finished_at >= :end) AS open,
            count(*) FILTER (WHERE (finished_at IS NULL OR finished_at >= :end)
                             AND expected_at < LEAST(CAST(:end AS timestamptz), now()))
                AS overdue
        FROM event WHERE created_at < :end
            AND (finished_at IS NULL OR finished_at >= :start OR handled_at >= :start)
        GROUP BY {column} ORDER BY {column} NULLS LAST"""), {"start": start, "end": end})
    return [dict(r._mapping) for r in rows]


def figure_counts(conn: Connection, group: str, where: list[str], params: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """Counts behind the assessment figures per ``group`` (an SQL expression on ``e``)."""
    clause = " AND ".join(where) or "true"
    rows = conn.execute(text(f"""
        SELECT {group} AS key, count(*) AS reported,
            count(*) FILTER (WHERE state = 'rejected') AS rejected,
            count(*) FILTER (WHERE handled_at IS NOT NULL) AS handled,
            count(*) FILTER (WHERE handled_at IS NOT NULL AND NOT late) AS handled_on_time,
            count(*) FILTER (WHERE state = 'closed') AS closed,
            count(*) FILTER (WHERE {OPEN_SQL}) AS open,
            count(*) FILTER (WHERE {OPEN_SQL} AND expected_at < now()) AS overdue
        FROM event e WHERE {clause} GROUP BY 1 ORDER BY 1 NULLS LAST"""), params)
    return [dict(r._mapping) for r in rows]


def try_sweep_lock(conn: Connection) -> bool:
    """Take the sweep's transaction lock, or False when another process is sweeping."""
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                             {"k": SWEEP_LOCK}).scalar_one())
