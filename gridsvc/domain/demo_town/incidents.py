"""One year of incidents (警情) with daily, weekly and seasonal rhythm and a market hot spot.

Most incidents happen at or near houses (a house drawn in proportion to its residents), traffic
accidents on the county and township roads, and about 150 thefts and disputes around the town-seat
market. Days are weighted by weekday (disputes, noise and accidents rise at weekends), season
(noise in summer, fires in winter) and the Spring Festival (17 Feb 2026), when workers come home;
hours follow a per-category profile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd

from . import names
from .roads import Road, points_along

START = date(2025, 11, 1)
DAYS = 365
SPRING_FESTIVAL = date(2026, 2, 17)
TOTAL = 1500
HOT_SPOT = 150
HOT_SPOT_RADIUS_M = 120.0

_DAY = (0, 0, 0, 0, 0, 0, 1, 3, 5, 7, 8, 8, 7, 7, 8, 8, 8, 8, 9, 9, 8, 6, 3, 1)
HOURLY = {
    "盗窃": (6, 6, 6, 5, 4, 2, 2, 3, 4, 5, 6, 6, 5, 5, 6, 6, 6, 5, 5, 5, 5, 5, 6, 6),
    "噪音扰民": (4, 2, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 2, 4, 8, 12, 14, 12, 8),
    "交通事故": (1, 1, 0, 0, 0, 1, 4, 9, 9, 5, 4, 5, 6, 5, 5, 6, 8, 10, 9, 6, 4, 3, 2, 1),
    "火警": (1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 4, 8, 6, 3, 3, 3, 4, 8, 7, 4, 3, 2, 2, 1),
    "诈骗": (0, 0, 0, 0, 0, 0, 0, 2, 6, 9, 9, 8, 6, 6, 8, 9, 8, 7, 5, 4, 3, 2, 1, 0),
}


def _day_weights(category: str) -> np.ndarray:
    days = [START + timedelta(days=k) for k in range(DAYS)]
    w = np.ones(DAYS)
    weekend = np.array([d.weekday() >= 5 for d in days])
    month = np.array([d.month for d in days])
    festival = np.array([abs((d - SPRING_FESTIVAL).days) <= 10 for d in days])
    if category in ("纠纷", "噪音扰民", "交通事故"):
        w[weekend] *= 1.35
    if category == "诈骗":
        w[weekend] *= 0.8
    if category in ("噪音扰民", "纠纷", "求助"):
        w[np.isin(month, (6, 7, 8))] *= 1.25
    if category == "火警":
        w[np.isin(month, (12, 1, 2))] *= 1.8
    if category in ("纠纷", "盗窃", "火警", "交通事故"):
        w[festival] *= 1.7
    return w / w.sum()


def _timestamps(category: str, n: int, rng: np.random.Generator) -> list[str]:
    day = rng.choice(DAYS, n, p=_day_weights(category))
    hours = np.asarray(HOURLY.get(category, _DAY), dtype=float) + 0.3
    hour = rng.choice(24, n, p=hours / hours.sum())
    minute = rng.integers(0, 60, n)
    second = rng.integers(0, 60, n)
    return [
        f"{START + timedelta(days=int(d))}T{h:02d}:{m:02d}:{s:02d}+08:00"
        for d, h, m, s in zip(day, hour, minute, second, strict=True)
    ]


def make_incidents(
    houses: pd.DataFrame,
    roads: list[Road],
    market_xy: np.ndarray,
    village_names: list[str],
    is_clear: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The incidents, sorted by time, with ids "INC00001".. in that order.

    Parameters
    ----------
    houses : pandas.DataFrame
        Columns x, y, village (index), number, sub_number, residents.
    roads : list of Road
    market_xy : numpy.ndarray
        Centre of the hot spot.
    village_names : list of str
    is_clear : callable
        ``is_clear(xy)`` -> bool array: the point keeps clear of cell boundaries.
    rng : numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Columns id, occurred_at, category, summary, x, y.
    """
    rows = []
    hot = rng.permutation(["盗窃"] * (HOT_SPOT * 3 // 5) + ["纠纷"] * (HOT_SPOT * 2 // 5))
    rest = rng.choice(
        names.INCIDENT_CATEGORIES, TOTAL - HOT_SPOT, p=np.array(names.INCIDENT_SHARES)
    )
    weight = houses["residents"].to_numpy() + 1.0
    main = [r for r in roads if r.road_class == "county"]
    main += [r for r in roads if r.road_class == "township"]
    for k, category in enumerate([*hot, *rest]):
        while True:
            if k < HOT_SPOT:
                r = HOT_SPOT_RADIUS_M * np.sqrt(rng.random())
                a = rng.uniform(0, 2 * np.pi)
                xy = market_xy + r * np.array([np.cos(a), np.sin(a)])
                place = names.MARKET_NAME + ("门口" if r > 80 else "内")
            elif category == "交通事故":
                county = rng.random() < 0.7
                road = main[0] if county else main[int(rng.integers(1, len(main)))]
                xy = points_along([road.line], 1, rng, 0.01, 0.99)[0][0] + rng.normal(0, 2, 2)
                place = road.name
            else:
                h = int(rng.choice(len(houses), p=weight / weight.sum()))
                house = houses.iloc[h]
                xy = np.array([house.x, house.y]) + rng.normal(0, 12, 2)
                village = village_names[int(house.village)]
                place = village
                if rng.random() < 0.4:
                    sub = f"-{int(house.sub_number)}" if pd.notna(house.sub_number) else ""
                    place = f"{village}{int(house.number)}{sub}号"
            if is_clear(xy[None, :])[0]:
                break
        template = names.INCIDENT_SUMMARIES[category]
        summary = template[int(rng.integers(len(template)))].format(place=place)
        rows.append({"category": category, "summary": summary, "x": xy[0], "y": xy[1]})
    out = pd.DataFrame(rows)
    out.insert(0, "occurred_at", _times_by_category(out["category"].to_numpy(), rng))
    out = out.sort_values(["occurred_at", "x"], kind="stable").reset_index(drop=True)
    out.insert(0, "id", [f"INC{k + 1:05d}" for k in range(len(out))])
    return out


def _times_by_category(categories: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Draw all timestamps of a category at once, written back in the original order."""
    out: list[str] = [""] * len(categories)
    for category in names.INCIDENT_CATEGORIES:
        idx = np.flatnonzero(categories == category)
        for i, stamp in zip(idx, _timestamps(category, len(idx), rng), strict=True):
            out[i] = stamp
    return out
