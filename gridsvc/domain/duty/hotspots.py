"""Where to patrol at night: hot spots of the incidents at night hours, as proposed points.

Method: grid-cell hot spot counting (Chainey and Ratcliffe 2005, *GIS and Crime Mapping*,
ch. 6: quadrat counts; smoothed here over each square's 3 x 3 neighbourhood so a cluster cut by a
square's edge is not split). Incidents at the chosen local hours (e.g. 0-6) are counted in squares
of ``cell_m`` metres (a local equirectangular frame around the incidents); squares are taken
by their neighbourhood count, highest first, skipping any whose neighbourhood overlaps that of one
already taken (so two proposals never share an incident), while the count is at least ``min_count``.
Each proposal sits at the mean of the incidents in its neighbourhood, and comes with its reason:
the counts by hour of day (all 24, so the night's share shows), a sentence with the night's
counts by hour and the top categories (``reason``, in Chinese for the station), and the
nearest existing patrol point with its distance (a spot already within ``covered_m`` of one is
marked ``covered`` rather than new).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from gridsvc.domain.duty.patrol import distance_m

METRES_PER_DEGREE = 111_320.0


def parse_hours(text: str) -> tuple[int, int]:
    """``"0-6"`` -> (0, 6): hours ``0 <= h < 6``; ``"22-6"`` wraps past midnight.

    >>> parse_hours("0-6"), parse_hours("22-4")
    ((0, 6), (22, 4))
    >>> parse_hours("3-3")
    Traceback (most recent call last):
    ...
    ValueError: hours must be 'from-to' with 0 <= from, to <= 24 and from != to, got '3-3'
    """
    try:
        lo, hi = (int(x) for x in text.split("-"))
    except ValueError:
        lo = hi = -1
    if not (0 <= lo <= 24 and 0 <= hi <= 24 and lo % 24 != hi % 24):
        raise ValueError(f"hours must be 'from-to' with 0 <= from, to <= 24 and from != to, "
                         f"got {text!r}")
    return lo % 24, hi % 24 if hi != 24 else 24


def in_hours(hour: np.ndarray, hours: tuple[int, int]) -> np.ndarray:
    """Which hours of day fall in ``hours`` (wrapping past midnight when from > to)."""
    lo, hi = hours
    return (hour >= lo) & (hour < hi) if lo < hi else (hour >= lo) | (hour < hi)


def propose(lon: np.ndarray, lat: np.ndarray, hour: np.ndarray, category: Sequence[str],
            hours: tuple[int, int], *, cell_m: float = 200.0, top: int = 10,
            min_count: int = 3, points: tuple[np.ndarray, np.ndarray, Sequence[str]] | None = None,
            covered_m: float = 100.0) -> list[dict[str, Any]]:
    """Hot-spot patrol points for the hours ``hours`` (see the module docstring).

    Parameters
    ----------
    lon, lat, hour, category
        The incidents (EPSG:4490 degrees; local hour of day 0-23; category).
    hours
        From :func:`parse_hours`.
    cell_m, top, min_count
        Square size, most proposals, fewest incidents a proposal needs.
    points
        Existing patrol points ``(lon, lat, ids)``, to name the nearest.
    covered_m
        A proposal this close to an existing point is ``covered``.

    Returns
    -------
    list of dict
        ``lon, lat, night_count, counts_by_hour (24), categories, nearest_point,
        nearest_point_m, covered, reason``; the strongest first.

    Examples
    --------
    Five burglaries at 2-3 am at one crossroads and one at noon elsewhere:

    >>> lon = np.array([119.0, 119.0001, 119.0002, 119.0, 119.0001, 119.05])
    >>> lat = np.array([28.0, 28.0001, 28.0, 28.0002, 28.0001, 28.05])
    >>> found = propose(lon, lat, np.array([2, 2, 3, 2, 3, 12]), ["盗窃"] * 6, (0, 6))
    >>> [(p["night_count"], p["counts_by_hour"][2], p["categories"]) for p in found]
    [(5, 3, {'盗窃': 5})]
    """
    lon, lat, hour = (np.asarray(a) for a in (lon, lat, hour))
    night = in_hours(hour.astype(int), hours)
    if not night.any():
        return []
    lat0 = float(np.mean(lat[night]))
    x = lon * METRES_PER_DEGREE * np.cos(np.radians(lat0)) / cell_m
    y = lat * METRES_PER_DEGREE / cell_m
    ix, iy = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    counts = Counter(zip(ix[night].tolist(), iy[night].tolist(), strict=True))
    smooth = Counter()
    for (cx, cy), n in counts.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                smooth[(cx + dx, cy + dy)] += n
    taken: list[tuple[int, int]] = []
    out = []
    # Ties go to the square holding most incidents itself, then to the lowest square.
    for (cx, cy), n in sorted(smooth.items(), key=lambda kv: (-kv[1], -counts[kv[0]], kv[0])):
        if n < min_count or len(out) >= top:
            break
        if any(abs(cx - tx) <= 2 and abs(cy - ty) <= 2 for tx, ty in taken):
            continue
        taken.append((cx, cy))
        near = (np.abs(ix - cx) <= 1) & (np.abs(iy - cy) <= 1)
        out.append(_proposal(lon, lat, hour, category, near, night, points, covered_m, hours))
    return out


def _proposal(lon: np.ndarray, lat: np.ndarray, hour: np.ndarray, category: Sequence[str],
              near: np.ndarray, night: np.ndarray,
              points: tuple[np.ndarray, np.ndarray, Sequence[str]] | None,
              covered_m: float, hours: tuple[int, int]) -> dict[str, Any]:
    here = near & night
    plon, plat = float(lon[here].mean()), float(lat[here].mean())
    by_hour = np.bincount(hour[near].astype(int), minlength=24)[:24]
    cats = Counter(str(category[i]) for i in np.flatnonzero(here)).most_common(3)
    found: dict[str, Any] = {"lon": round(plon, 7), "lat": round(plat, 7),
                             "night_count": int(here.sum()), "counts_by_hour": by_hour.tolist(),
                             "categories": dict(cats), "nearest_point": None,
                             "nearest_point_m": None, "covered": False}
    if points is not None and len(points[2]):
        d = distance_m(np.full(len(points[0]), plon), np.full(len(points[0]), plat),
                       np.asarray(points[0], dtype=float), np.asarray(points[1], dtype=float))
        k = int(np.argmin(d))
        found.update(nearest_point=str(points[2][k]), nearest_point_m=round(float(d[k]), 1),
                     covered=bool(d[k] <= covered_m))
    at_night = np.bincount(hour[here].astype(int), minlength=24)
    found["reason"] = (f"{hours[0]}-{hours[1]}时警情及事件{found['night_count']}起"
                       f"({'、'.join(f'{c}{n}' for c, n in cats)});分时: "
                       + ", ".join(f"{h}时{n}起" for h, n in enumerate(at_night.tolist()) if n))
    return found
