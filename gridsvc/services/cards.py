"""Contact cards (警民联系卡) of a village's houses.

A card is built from the current data on every request (nothing is cached): the house's beat
and grid as assigned now, the people linked to those cells now, the office now. So a redrawn
boundary or a new officer shows on the next print without any step in between.

Who is on a house's card
------------------------
- **The community officer**: the first (by id) person with role ``officer`` linked to the
  house's beat; the QR code is their vCard. None: "待配备" and no QR code.
- **The grid workers**: those linked to the house's grid (the first two, by id).
- **The police office**: the officer's own office, else the office whose point lies in the
  house's beat, else the first office of the house's station.
- **The address** is the house's address village (as people say it) and number, sub-number,
  building, unit and room.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from gridsvc.db import prints as repo
from gridsvc.errors import NotFound
from gridsvc.printing.cards import Card
from gridsvc.services.assignment import current_plan


def address(village: str, house: dict[str, Any]) -> str:
    """``岱根村12-1号3幢2单元301室`` from a house row's parts (missing parts left out).

    >>> address("岱根村", {"number": 12, "sub_number": None, "building": None, "unit": None,
    ...                   "room": None})
    '岱根村12号'
    """
    text = f"{village}{house['number']}"
    if house.get("sub_number") is not None:
        text += f"-{house['sub_number']}"
    text += "号"
    for key, unit in (("building", "幢"), ("unit", "单元"), ("room", "室")):
        if house.get(key):
            text += f"{house[key]}{unit}"
    return text


def village_cards(engine: Engine, village_id: str) -> tuple[str, list[Card]]:
    """The village's name and one card per house (address order).

    Raises
    ------
    NotFound
        No plan in effect, or no such village in it.
    """
    plan_id = current_plan(engine)
    with engine.connect() as conn, conn.begin():
        village = repo.cell(conn, plan_id, "village", village_id)
        if village is None:
            raise NotFound(f"no village {village_id!r} in the plan in effect")
        houses = repo.card_rows(conn, village_id)
        beats = sorted({h["beat_id"] for h in houses if h["beat_id"]})
        grids = sorted({h["grid_id"] for h in houses if h["grid_id"]})
        officers: dict[str, dict[str, Any]] = {}
        for p in repo.people_of(conn, "beat", beats):
            if p["role"] == "officer":
                officers.setdefault(p["area_id"], p)
        workers: dict[str, list[dict[str, Any]]] = {}
        for p in repo.people_of(conn, "grid", grids):
            if p["role"] == "grid_worker":
                workers.setdefault(p["area_id"], []).append(p)
        offices = repo.offices(conn)
        places = sorted({h["address_village_id"] for h in houses})
        place_names = repo.names(conn, plan_id, "village", places)
    by_id = {o["id"]: o for o in offices}
    cards = []
    for h in houses:
        officer = officers.get(h["beat_id"])
        office = (by_id.get(officer["office_id"]) if officer and officer["office_id"] else None) \
            or next((o for o in offices if h["beat_id"] and o["beat_id"] == h["beat_id"]), None) \
            or next((o for o in offices if h["station_id"] and o["station_id"] == h["station_id"]),
                    None)
        cards.append(Card(
            address=address(place_names.get(h["address_village_id"], village["name"]), h),
            officer=officer, grid_workers=workers.get(h["grid_id"], [])[:2], office=office))
    return village["name"], cards


def village_cards_pdf(engine: Engine, village_id: str) -> bytes:
    """A village's cards as one print-ready A4 PDF (8 a page, crop marks)."""
    from gridsvc.printing import cards as page

    name, cards = village_cards(engine, village_id)
    return page.pdf(cards, f"{name}警民联系卡")
