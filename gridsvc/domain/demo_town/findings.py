"""What the generator made on purpose, written to expected_findings.json for the fusion tests.

Areas are in square metres in EPSG:4549 (the metric CRS of the generator); points are lon/lat in
EPSG:4490 rounded to 1e-7 degree and lie inside the thing they represent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

from . import names
from .cells import Cells
from .geometry import METRIC_CRS
from .incidents import HOT_SPOT, HOT_SPOT_RADIUS_M

STRADDLE_MIN_SHARE = 0.01


def _lonlat(xy, to_geographic: Callable) -> dict[str, float]:
    p = to_geographic([shapely.Point(xy)])[0]
    return {"lon": round(p.x, 7), "lat": round(p.y, 7)}


def findings(
    seed: int,
    cells: Cells,
    tables: dict[str, pd.DataFrame],
    house: pd.DataFrame,
    incidents: pd.DataFrame,
    market_xy: np.ndarray,
    to_geographic: Callable,
) -> dict:
    """The expected findings (see data/README.md): beat gap, beat overlap, straddling grids,
    the incident hot spot, the dispatcher example and the totals.

    Parameters
    ----------
    tables : dict
        Cell tables by layer, rows in cell-index order, with households and residents.
    house : pandas.DataFrame
        House table with x, y, atom and the house columns.
    to_geographic : callable
        Metric geometries to rounded EPSG:4490 geometries.
    """
    beat_ids = tables["beats"]["id"].to_numpy()
    grid_ids = tables["grids"]["id"].to_numpy()
    village_ids = tables["villages"]["id"].to_numpy()
    house_atom = house["atom"].to_numpy()

    def spot(atom: int, beats: list[str]) -> dict:
        poly = cells.atoms[atom]
        return {
            "beat_ids": sorted(beats),
            "area_m2": round(float(poly.area), 1),
            **_lonlat(poly.representative_point(), to_geographic),
            "houses": int((house_atom == atom).sum()),
            "grid_id": str(grid_ids[cells.grid_of_atom[atom]]),
            "village_id": str(village_ids[cells.village_of_atom[atom]]),
        }

    gap = cells.gap_atom
    around_gap = sorted({str(beat_ids[cells.beat_of_atom[b]]) for b in cells.neighbours[gap]})
    overlap = cells.overlap_atom
    overlap_beats = [beat_ids[cells.beat_of_atom[overlap]], beat_ids[cells.overlap_beat]]

    shares = cells.beat_shares(len(beat_ids))
    straddling = []
    for g in np.argsort(grid_ids):
        inside = np.flatnonzero(shares[g] > STRADDLE_MIN_SHARE)
        if len(inside) >= 2:
            straddling.append(
                {
                    "grid_id": str(grid_ids[g]),
                    "beat_ids": sorted(str(beat_ids[b]) for b in inside),
                    "shares": {str(beat_ids[b]): round(float(shares[g, b]), 4) for b in inside},
                }
            )

    d = np.hypot(incidents["x"] - market_xy[0], incidents["y"] - market_xy[1])
    hot = incidents[d <= HOT_SPOT_RADIUS_M]
    east = house[
        (house["village_id"] == village_ids[names_index(tables, names.EAST_WEST_PAIR[1])])
        & (house["number"] == 203)
    ].sort_values("sub_number", na_position="first")
    example = east.iloc[0]
    return {
        "seed": int(seed),
        "area_crs": METRIC_CRS,
        "beat_gaps": [spot(gap, around_gap)],
        "beat_overlaps": [spot(overlap, [str(b) for b in overlap_beats])],
        "straddle_min_share": STRADDLE_MIN_SHARE,
        "straddling_grids": straddling,
        "hot_spots": [
            {
                "name": names.MARKET_NAME,
                **_lonlat(market_xy, to_geographic),
                "radius_m": HOT_SPOT_RADIUS_M,
                "planted_incidents": HOT_SPOT,
                "incidents": len(hot),
                "categories": {c: int(n) for c, n in hot["category"].value_counts().items()},
            }
        ],
        "dispatcher_example": {
            "village": names.EAST_WEST_PAIR[1],
            "village_id": str(example["village_id"]),
            "number": 203,
            "house_id": str(example["id"]),
            "sub_house_id": str(east.iloc[1]["id"]),
            "grid_id": str(grid_ids[cells.grid_of_atom[example["atom"]]]),
            "beat_ids": [str(beat_ids[b]) for b in cells.beats_of_atom()[example["atom"]]],
        },
        "totals": {
            "houses": len(house),
            "households": int(house["households"].sum()),
            "registered": int(house["registered"].sum()),
            "residents": int(house["residents"].sum()),
            "floating": int(house["floating"].sum()),
            "rental_houses": int(house["is_rental"].sum()),
            "incidents": len(incidents),
        },
    }


def names_index(tables: dict[str, pd.DataFrame], village_name: str) -> int:
    """Village index of a village name."""
    return int(np.flatnonzero(tables["villages"]["name"].to_numpy() == village_name)[0])
