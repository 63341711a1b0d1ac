"""Names, codes and ids of the cells, from the geography the generator built.

Id scheme (business ids, stable for a given seed):

========  ==============================  =============================================
layer     id                              code
========  ==============================  =============================================
town      "T" + 3 town digits (T102)      county 331181 + 3 digits (9 digits)
village   "V" + 3 town + 3 village digits  town code + 3 digits (12 digits): 社区 001..,
                                          村 201.. in reading order
grid      "G" + 9 digits (G102201001)     village code + 3-digit sequence (15 digits)
station   "S01"                           331181 + "51" + "0100" (12 digits)
beat      "B01".."B05", west to east      station code + 2 digits (14 digits)
========  ==============================  =============================================

"Reading order" is north to south in bands, west to east within a band (see
`geometry.reading_order`): 2 km bands for villages, 500 m for grids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import names
from .cells import Cells
from .geometry import reading_order


def name_villages(
    cells: Cells, centres: np.ndarray, houses: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """A name for every village index.

    Village 0 is the 镇 seat and village 1 the 乡 seat. "西灌底村"/"东灌底村" go to the pair of
    neighbouring 镇 villages lying west/east of each other with the most houses (the east one must
    have over 230 houses: dispatcher examples use house 203 there); the other names are dealt out
    at random within each town.
    """
    towns = cells.town_of_village
    n = len(towns)
    out = [""] * n
    out[0], out[1] = names.ZHEN.centre_village, names.XIANG.centre_village
    a = np.repeat(np.arange(len(cells.atoms)), [len(nb) for nb in cells.neighbours])
    b = np.concatenate(cells.neighbours)
    va, vb = cells.village_of_atom[a], cells.village_of_atom[b]
    best, pair = -1, None
    for w, e in np.unique(np.c_[va, vb][va != vb], axis=0):
        dx, dy = centres[e] - centres[w]
        if min(w, e) < 2 or towns[w] != 0 or towns[e] != 0 or dx < 2 * abs(dy):
            continue
        if min(houses[w], houses[e]) > best and houses[e] > 230:
            best, pair = min(houses[w], houses[e]), (int(w), int(e))
    if pair is None:
        raise ValueError("no west/east pair of villages for 西灌底村/东灌底村")
    out[pair[0]], out[pair[1]] = names.EAST_WEST_PAIR
    for t, spec in enumerate(names.TOWNS):
        free = [v for v in range(n) if towns[v] == t and not out[v]]
        pool = [s for s in spec.villages if s not in names.EAST_WEST_PAIR]
        for v, name in zip(free, rng.permutation(np.array(pool)), strict=True):
            out[v] = str(name)
    return out


def village_table(cells: Cells, village_names: list[str], polygons: np.ndarray) -> pd.DataFrame:
    """Ids, codes, names and parents of the villages, indexed by village index."""
    c = np.array([p.centroid.coords[0] for p in polygons])
    rows = [None] * len(village_names)
    for t, spec in enumerate(names.TOWNS):
        members = np.flatnonzero(cells.town_of_village == t)
        members = members[reading_order(c[members, 0], c[members, 1], 2000.0)]
        community = [v for v in members if village_names[v].endswith("社区")]
        villages = [v for v in members if not village_names[v].endswith("社区")]
        for seq, v in [*enumerate(community, 1), *enumerate(villages, 201)]:
            rows[v] = {
                "id": f"V{spec.code3}{seq:03d}",
                "code": f"{spec.code}{seq:03d}",
                "name": village_names[v],
                "parent_id": spec.id,
            }
    return pd.DataFrame(rows)


def grid_table(cells: Cells, villages: pd.DataFrame, polygons: np.ndarray) -> pd.DataFrame:
    """Ids, codes, names and parents of the grids, indexed by grid index."""
    c = np.array([p.centroid.coords[0] for p in polygons])
    rows = [None] * len(polygons)
    for v, village in villages.iterrows():
        members = np.flatnonzero(cells.village_of_grid == v)
        members = members[reading_order(c[members, 0], c[members, 1], 500.0)]
        for seq, g in enumerate(members, 1):
            rows[g] = {
                "id": f"G{village['id'][1:]}{seq:03d}",
                "code": f"{village['code']}{seq:03d}",
                "name": f"{village['name']}第{seq}网格",
                "parent_id": village["id"],
            }
    return pd.DataFrame(rows)


def beat_table(polygons: np.ndarray) -> pd.DataFrame:
    """Ids, codes, names of the beats (numbered west to east), indexed by beat index."""
    x = np.array([p.centroid.x for p in polygons])
    rank = np.empty(len(x), dtype=int)
    rank[np.argsort(x, kind="stable")] = np.arange(len(x))
    return pd.DataFrame(
        {
            "id": [f"B{k + 1:02d}" for k in rank],
            "code": [f"{names.STATION_CODE}{k + 1:02d}" for k in rank],
            "name": [f"{names.STATION_SHORT_NAME}第{names.CN_DIGITS[k]}警务区" for k in rank],
            "parent_id": names.STATION_ID,
        }
    )


def town_table() -> pd.DataFrame:
    """Ids, codes, names and levels of the two towns, indexed by town index (镇 first)."""
    return pd.DataFrame(
        {
            "id": [t.id for t in names.TOWNS],
            "code": [t.code for t in names.TOWNS],
            "name": [t.name for t in names.TOWNS],
            "parent_id": None,
            "level": [t.level for t in names.TOWNS],
        }
    )


def station_table() -> pd.DataFrame:
    """The one station."""
    return pd.DataFrame(
        {
            "id": [names.STATION_ID],
            "code": [names.STATION_CODE],
            "name": [names.STATION_NAME],
            "parent_id": [None],
        }
    )
