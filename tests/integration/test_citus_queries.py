"""Every statement the service sends on a table Citus would distribute filters on the
distribution key, or is a listed exception with its reason (gridsvc.db.citus, docs/citus.md).

The statements are captured with SQLAlchemy's ``before_cursor_execute`` event while the service
functions run on a private copy of the demo town: maps, dispatch, houses, reports, incidents,
a plan's impact and its activation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, text

from gridsvc.db.citus import DISTRIBUTED, EXCEPTIONS, check_statement, normalised
from gridsvc.settings import MapSettings

pytestmark = pytest.mark.db


def _run_service(engine, village: str, said: str) -> None:
    from gridsvc.services import (
        camera_coverage,
        coverage,
        dispatch,
        fusion,
        houses,
        incidents,
        lookup,
        maps,
        plan_activation,
        plan_impact,
        plans,
        staffing,
    )

    settings = MapSettings()
    maps.risk_page(engine, settings, days=3650, inline=True)
    maps.incidents_page(engine, settings, days=3650, inline=True)
    maps.coverage_page(engine, settings, inline=True)
    dispatch.DispatchService(engine, lookup.LookupService(engine)).dispatch(said)
    houses.list_houses(engine, village)
    houses.plan_numbering(engine, village)
    staffing.staffing_report(engine)
    coverage.office_coverage(engine)
    camera_coverage.camera_coverage_report(engine)
    fusion.fusion_report(engine)
    made = incidents.create_incident(engine, occurred_at=datetime(2026, 3, 5, 9, tzinfo=UTC),
                                     category="theft", lon=119.0, lat=28.2, crs="4490",
                                     actor="test")
    incidents.get_incident(engine, made["id"])
    draft = plans.create_draft(engine, name="citus check", actor="test")
    plan_impact.impact(engine, draft["id"])
    plan_activation.activate(engine, draft["id"], actor="test", commit=False,
                             effective_from=date.today())


def test_statements_on_distributed_tables_filter_on_the_key_or_are_listed(demo_copy):
    with demo_copy.connect() as conn:
        village, name, number = conn.execute(text(
            "SELECT h.address_village_id, a.name, h.number FROM house h JOIN area a ON "
            "a.kind = 'village' AND a.business_id = h.address_village_id LIMIT 1")).one()
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(demo_copy, "before_cursor_execute", capture)
    try:
        _run_service(demo_copy, village, f"{name}{number}号")
    finally:
        event.remove(demo_copy, "before_cursor_execute", capture)
    verdicts = [(s, check_statement(s)) for s in seen]
    touching = [(s, v) for s, v in verdicts if v != "no distributed table"]
    unlisted = [normalised(s)[:300] for s, v in touching if v is None]
    assert not unlisted, "statements on distributed tables " + f"{DISTRIBUTED} without the " \
        "key and not listed in gridsvc.db.citus.EXCEPTIONS:\n" + "\n".join(unlisted)
    assert len(touching) >= 15
    # Every exception is still used: a stale entry would hide nothing but mislead the reader.
    used = {v.name for _, v in touching if not isinstance(v, str)}
    assert used == {a.name for a in EXCEPTIONS}, {a.name for a in EXCEPTIONS} - used
