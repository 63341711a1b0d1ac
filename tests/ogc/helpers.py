"""Helpers of the OGC tests: counts taken by the owner, independently of the service."""

from __future__ import annotations

from sqlalchemy import text


def scoped_events(engine, username: str, where: str = "TRUE", **params) -> int:
    """Events the account may see, counted by the owner with the scope spelled out (not
    through the policy the service relies on): a cell of the event in the account's scope,
    or reported by it."""
    with engine.connect() as conn:
        return conn.execute(text(f"""
            SELECT count(*) FROM event e, account a
             WHERE a.username = :u AND ({where})
               AND (e.reporter_account_id = a.id OR EXISTS (
                    SELECT 1 FROM account_scope s WHERE s.account_id = a.id AND (
                        s.kind = 'all' OR (s.kind = 'town' AND e.town_id = s.area_id)
                        OR (s.kind = 'village' AND e.village_id = s.area_id)
                        OR (s.kind = 'grid' AND e.grid_id = s.area_id)
                        OR (s.kind = 'station' AND e.station_id = s.area_id)
                        OR (s.kind = 'beat' AND e.beat_id = s.area_id))))"""),
            {"u": username, **params}).scalar_one()
