"""How the service's SQL maps onto Citus (docs/citus.md): which tables are distributed, by
which key, and which statements are allowed not to filter on it, with why.

Nothing here runs against Citus; :func:`check_statement` is what the query test
(tests/integration/test_citus_queries.py) applies to every statement the repositories send while
the service runs on the demo town: a statement that touches a distributed table must filter on
the distribution key, or match one of :data:`EXCEPTIONS`, each of which says where it would run
and why that is acceptable. A new query on a distributed table therefore fails the test until
someone decides which it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The distribution column of every distributed table: the county's 6-digit division code,
#: the head of every cell code (CJ/T 349), so a county's rows share a shard group.
KEY = "county_code"
#: Tables distributed by :data:`KEY` (co-located): the large ones that grow with time.
DISTRIBUTED = ("incident", "event", "house", "compound_entrance", "check_in")
#: Small tables copied to every worker (joins with them stay on the shard).
REFERENCE = ("area", "plan", "person", "person_area", "office", "compound", "camera",
             "patrol_point", "road")
#: Kept on the coordinator only: written rarely, read by the coordinator.
COORDINATOR = ("audit_log", "api_token", "account", "account_scope", "alembic_version")


@dataclass(frozen=True)
class Allowed:
    """A statement on a distributed table that does not filter on the key.

    Attributes
    ----------
    name
        Which repository function sends it.
    pattern
        A regular expression matched against the statement (whitespace collapsed).
    runs
        ``all shards`` (Citus fans it out and merges: aggregates, per-cell sums) or ``keyed
        later`` (the service knows the county: the predicate is added when the tables are
        distributed; today one database holds one county).
    reason
        Why that is acceptable.
    """

    name: str
    pattern: str
    runs: str
    reason: str


_ALL = "all shards"
_KEYED = "keyed later"
_PLAN_SUM = r"CASE WHEN h\.cells_plan_id = %\(plan\)s THEN h\."
EXCEPTIONS = (
    Allowed("maps.incident_counts", r"CASE WHEN i\.cells_plan_id = %\(plan\)s", _ALL,
            "risk colours: a count per cell over a window, pushed down as a GROUP BY to every "
            "shard (month partitions prune there) and summed by the coordinator"),
    Allowed("maps.incidents", r"FROM incident WHERE occurred_at >= %\(since\)s", _KEYED,
            "the incident map of one county's window"),
    Allowed("maps.incident_categories", r"SELECT DISTINCT category FROM incident", _ALL,
            "the category list: a small DISTINCT merged on the coordinator"),
    Allowed("maps.compounds", r"SELECT c\.business_id AS id, c\.name, c\.village_id", _KEYED,
            "incidents and households per compound of one county (correlated counts)"),
    Allowed("maps.house_totals, staffing.house_sums, coverage.house_points", _PLAN_SUM, _ALL,
            "sums per cell (or each house's cell) for maps and reports: per-shard partial "
            "sums merged by the coordinator"),
    Allowed("maps.rentals", r"FROM house WHERE is_rental", _KEYED,
            "the rental layer of one county's map"),
    Allowed("dispatch.address_records", r"array_to_string\(aliases", _KEYED,
            "the address register of one county, read once per plan version"),
    Allowed("dispatch.incidents_near", r"FROM incident WHERE geom && ST_MakeEnvelope", _KEYED,
            "recent incidents near a caller's house, whose county is known"),
    Allowed("fusion.house_points", r"ST_Y\(house\.geom\) AS \"ST_Y_1\", house\.households",
            _KEYED, "the fusion report of one county: its houses, once per report"),
    Allowed("houses (village register)", r"address_village_id = %\(", _KEYED,
            "one village's houses; a village belongs to one county"),
    Allowed("objects.insert_rows", r"INSERT INTO (incident|house)\b", _KEYED,
            "rows carry their county when inserted: Citus routes each to its shard"),
    Allowed("objects.get_row", r"FROM incident WHERE incident\.business_id = ", _KEYED,
            "one incident by business id (the API's path names the county)"),
    Allowed("plans.source_plans", r"SELECT DISTINCT \w+\.cells_plan_id FROM", _ALL,
            "which plans objects' cells come from: a DISTINCT over every shard"),
    Allowed("plans.repoint", r"UPDATE \w+ SET cells_plan_id = %\(target\)s WHERE "
            r"cells_plan_id = %\(source\)s", _ALL,
            "activation relabels every row of the county on every shard, in the activation's "
            "one distributed (two-phase commit) transaction"),
    Allowed("plan_activation.sync_objects", r"^LOCK TABLE", _ALL,
            "activation locks the moving tables; Citus takes the lock on every shard"),
    Allowed("camera_coverage (entrances)", r"FROM compound_entrance ORDER BY", _KEYED,
            "one county's compound entrances, once per report"),
    Allowed("events.reroute_for_plan (open events)", r"^SELECT e\.id, e\.business_id, "
            r"ST_X\(e\.geom\) AS lon, ST_Y\(e\.geom\) AS lat, e\.town_id", _ALL,
            "activation reads (and locks) the county's open events on every shard, in the "
            "activation's one distributed transaction"),
    Allowed("events.reroute_for_plan", r"^UPDATE event SET cells_plan_id = %\(p\)s WHERE id = "
            r"ANY", _ALL, "activation moves the county's open events to the new plan, in the "
            "activation's one distributed transaction"),
)


def tables_touched(sql: str) -> set[str]:
    """Tables named after FROM, JOIN, UPDATE, INTO or TABLE in a statement.

    >>> sorted(tables_touched("SELECT 1 FROM incident i JOIN area a ON true"))
    ['area', 'incident']
    """
    return {m.lower() for m in re.findall(r"\b(?:FROM|JOIN|UPDATE|INTO|TABLE)\s+\"?(\w+)",
                                          sql, flags=re.IGNORECASE)}


def normalised(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def check_statement(sql: str) -> Allowed | str | None:
    """What makes a statement acceptable on Citus: ``"keyed"`` (it filters on :data:`KEY`),
    ``"no distributed table"``, the matching :class:`Allowed`, or None (not acceptable)."""
    text = normalised(sql)
    if not tables_touched(text) & set(DISTRIBUTED):
        return "no distributed table"
    if re.search(rf"\b{KEY}\s*(=|IN\b|= ANY)", text, flags=re.IGNORECASE):
        return "keyed"
    for allowed in EXCEPTIONS:
        if re.search(allowed.pattern, text, flags=re.IGNORECASE | re.DOTALL):
            return allowed
    return None
