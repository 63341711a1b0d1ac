"""Houses (门牌): SQL for reading a village's houses and writing their numbers.

A house belongs to the village of its **address** (``house.address_village_id``), which is what
its number is part of; the covering cell (``house.village_id``) may differ near a boundary.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select, update

from gridsvc.db.models import Area, House

#: Columns of a house as listed by :func:`list_houses` (``id`` is the business id and
#: ``village_id`` the address village).
LIST_COLUMNS = ("id", "village_id", "number", "sub_number", "building", "unit", "room",
                "households", "residents", "floating", "is_rental", "rental_stars", "grid_id",
                "beat_id", "lon", "lat")


def village_exists(conn: Connection, village_id: str) -> bool:
    """Whether a village with this business id exists in any plan, or any house names it."""
    in_plans = select(Area.pk).where(Area.kind == "village", Area.business_id == village_id)
    in_houses = select(House.pk).where(House.address_village_id == village_id)
    return bool(conn.execute(select(exists(in_plans) | exists(in_houses))).scalar_one())


def village_houses(conn: Connection, village_id: str, *, lock: bool = False
                   ) -> list[dict[str, Any]]:
    """The houses of a village: ``business_id, number, sub_number, lon, lat``.

    Ordered by business id, so ties in the numbering fall the same way on every run. With
    ``lock``, the rows are locked (``FOR UPDATE``) until the transaction ends, so two numberings
    of one village run one after the other and the second sees the first one's numbers.
    """
    query = (
        select(House.business_id, House.number, House.sub_number,
               func.ST_X(House.geom).label("lon"), func.ST_Y(House.geom).label("lat"))
        .where(House.address_village_id == village_id)
        .order_by(House.business_id))
    if lock:
        query = query.with_for_update()
    return [dict(r._mapping) for r in conn.execute(query)]


def set_numbers(conn: Connection, numbers: dict[str, int]) -> int:
    """Set ``house.number`` by business id, in one executemany; returns rows updated."""
    if not numbers:
        return 0
    table = House.__table__
    stmt = (update(table).where(table.c.business_id == bindparam("b_id"))
            .values(number=bindparam("b_number")))
    rows = [{"b_id": k, "b_number": int(v)} for k, v in numbers.items()]
    return conn.execute(stmt, rows).rowcount


def count_houses(conn: Connection, village_id: str) -> int:
    """How many houses have their address in the village."""
    return conn.execute(select(func.count()).select_from(House)
                        .where(House.address_village_id == village_id)).scalar_one()


def list_houses(conn: Connection, village_id: str, limit: int, offset: int
                ) -> list[dict[str, Any]]:
    """One page of a village's houses (columns :data:`LIST_COLUMNS`).

    Ordered by number, then sub-number (none first), then business id: the order of the
    village register, and stable from page to page.
    """
    rows = conn.execute(
        select(House.business_id.label("id"), House.address_village_id.label("village_id"),
               House.number, House.sub_number, House.building, House.unit, House.room,
               House.households, House.residents, House.floating, House.is_rental,
               House.rental_stars, House.grid_id, House.beat_id,
               func.ST_X(House.geom).label("lon"), func.ST_Y(House.geom).label("lat"))
        .where(House.address_village_id == village_id)
        .order_by(House.number, House.sub_number.asc().nulls_first(), House.business_id)
        .limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows]


def address_keys(conn: Connection, village_ids: Collection[str]
                 ) -> dict[tuple[Any, ...], str]:
    """The address keys of the register's numbered houses in these villages -> business ids.

    A key is ``(address village, number, sub_number, building, unit, room)``; houses numbered 0
    (not numbered yet) have no address to clash with and are left out.
    """
    if not village_ids:
        return {}
    rows = conn.execute(
        select(House.address_village_id, House.number, House.sub_number, House.building,
               House.unit, House.room, House.business_id)
        .where(House.address_village_id.in_(list(village_ids)), House.number != 0)
        .order_by(House.business_id))
    keys: dict[tuple[Any, ...], str] = {}
    for r in rows:
        keys.setdefault(tuple(r[:6]), r.business_id)
    return keys


def taken_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    """Which of these business ids houses already have."""
    if not ids:
        return set()
    return set(conn.execute(select(House.business_id)
                            .where(House.business_id.in_(list(ids)))).scalars())
