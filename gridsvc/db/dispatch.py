"""SQL for the dispatcher: the address register, and recent incidents near a point."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, text

from gridsvc.db.models import SRID


def address_records(conn: Connection, plan_id: int) -> dict[str, list[dict[str, Any]]]:
    """Villages and towns of a plan, and every house, as plain records for the address book.

    A house's ``village_id`` is the village of its address; the cells it lies in are
    ``town_id, cell_village_id, grid_id, station_id, beat_id`` (for scopes)."""
    villages = conn.execute(text(
        "SELECT business_id AS id, name, parent_id AS town_id FROM area "
        "WHERE plan_id = :p AND kind = 'village' ORDER BY business_id"), {"p": plan_id})
    towns = conn.execute(text(
        "SELECT business_id AS id, name FROM area WHERE plan_id = :p AND kind = 'town' "
        "ORDER BY business_id"), {"p": plan_id})
    houses = conn.execute(text(
        "SELECT business_id AS id, address_village_id AS village_id, number, sub_number, "
        "building, unit, room, array_to_string(aliases, '|') AS aliases, households, "
        "registered, residents, floating, is_rental, rental_stars, compound_id, "
        "town_id, village_id AS cell_village_id, grid_id, station_id, beat_id, "
        "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM house ORDER BY business_id"))
    return {"villages": [dict(r._mapping) for r in villages],
            "towns": [dict(r._mapping) for r in towns],
            "houses": [dict(r._mapping) for r in houses]}


def incidents_near(conn: Connection, lon: float, lat: float, radius_m: float, days: int,
                   limit: int = 50) -> list[dict[str, Any]]:
    """Incidents within ``radius_m`` metres (on the ellipsoid) in the last ``days`` days,
    newest first, with the cells they had at their time. A box in degrees, slightly larger
    than the circle, lets the GiST index find the candidates; the geodesic distance decides."""
    dlat = radius_m / 110_000.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    rows = conn.execute(text(f"""
        SELECT business_id AS id, occurred_at, category, summary,
               town_id, village_id, grid_id, station_id, beat_id,
               ST_X(geom) AS lon, ST_Y(geom) AS lat,
               ST_Distance(geom::geography, ST_SetSRID(ST_Point(:x, :y), {SRID})::geography)
                 AS distance_m
        FROM incident
        WHERE geom && ST_MakeEnvelope(:x - :dlon, :y - :dlat, :x + :dlon, :y + :dlat, {SRID})
          AND occurred_at >= now() - make_interval(days => :days)
          AND ST_DWithin(geom::geography, ST_SetSRID(ST_Point(:x, :y), {SRID})::geography, :r)
        ORDER BY occurred_at DESC LIMIT :limit"""),
        {"x": lon, "y": lat, "dlon": dlon, "dlat": dlat, "days": days, "r": radius_m,
         "limit": limit})
    return [dict(r._mapping) for r in rows]
