"""The weekly bulletin (警情公告, 破案公告) of a beat, police office or station (pure).

What a bulletin shows, and what it never shows
-----------------------------------------------
- **Counts only, by category and by village**: a bulletin is posted on a wall, so it names no
  house number, no person and no exact place. The map colours whole villages (clipped to the
  area) by the week's incidents, never a dot per incident (a dot would point at a house).
- **The week** is an ISO week (Monday to Sunday) in the local time zone; the **previous weeks**
  are the ``k`` weeks before it (default 4). The change is this week against their mean.
- **Leading categories** are the week's top categories by count (ties by name); each gets the
  admin's prevention advice for it, when there is one.
- **Cases solved** (破案) are the area's incidents marked solved with a solving date in the week;
  ``None`` when nothing of the area was ever marked solved ("not recorded" on the page), which
  is not the same as zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import shapely
from shapely import affinity

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
#: Area kinds a bulletin is made for, and their Chinese names.
KINDS = {"beat": "警务区", "office": "警务室", "station": "派出所"}


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www`` (e.g. ``2026-W48`` -> 2026-11-23).

    Raises
    ------
    ValueError
        Not that shape, a year outside 1900..9000, or a week the year does not have
        (``2025-W53``: 2025 has 52).

    >>> parse_week("2026-W48")
    datetime.date(2026, 11, 23)
    """
    m = WEEK.match(text.strip())
    if not m:
        raise ValueError(f"write the week as YYYY-Www, e.g. 2026-W48 (got {text!r})")
    year, week = int(m[1]), int(m[2])
    if not 1900 <= year <= 9000:
        raise ValueError(f"the year {year} is outside 1900..9000")
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None


def week_label(monday: date) -> str:
    """``2026年第48周（11月23日—11月29日）``: how the page names the week."""
    year, week, _ = monday.isocalendar()
    sunday = monday + timedelta(days=6)
    return (f"{year}年第{week}周（{monday.month}月{monday.day}日—"
            f"{sunday.month}月{sunday.day}日）")


@dataclass
class Bulletin:
    """Everything printed on one bulletin (built by :func:`build`)."""

    kind: str
    area_id: str
    area_name: str
    week: str
    monday: date
    previous_weeks: int
    total: int
    previous: list[int]
    categories: list[dict[str, Any]]
    villages: list[dict[str, Any]]
    leading: list[str]
    advice: dict[str, str]
    solved: int | None
    office: dict[str, Any] | None = None
    map: dict[str, Any] = field(default_factory=dict)

    @property
    def previous_mean(self) -> float:
        return sum(self.previous) / len(self.previous) if self.previous else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able content (the map as its shapes)."""
        return {"kind": self.kind, "area_id": self.area_id, "area_name": self.area_name,
                "week": self.week, "monday": self.monday.isoformat(),
                "previous_weeks": self.previous_weeks, "total": self.total,
                "previous": self.previous, "previous_mean": round(self.previous_mean, 2),
                "change": change(self.total, self.previous_mean),
                "categories": self.categories, "villages": self.villages,
                "leading": self.leading, "advice": self.advice, "solved": self.solved,
                "office": self.office}


def change(now: float, before: float) -> float | None:
    """Relative change in percent, one decimal; None when there was nothing before.

    >>> change(6, 4), change(0, 0), change(3, 0)
    (50.0, None, None)
    """
    return None if before == 0 else round(100.0 * (now - before) / before, 1)


def build(*, kind: str, area_id: str, area_name: str, monday: date, previous_weeks: int,
          counts: Iterable[tuple[str | None, str, int, int]], village_names: dict[str, str],
          advice: dict[str, str], solved: int | None, leading_top: int = 3) -> Bulletin:
    """Assemble a bulletin from incident counts.

    Parameters
    ----------
    counts
        Rows ``(village_id, category, weeks_before, n)``: ``weeks_before`` 0 is the week
        itself, 1..``previous_weeks`` the weeks before it; other rows are ignored. A village
        of None (an incident outside every village) is shown as "其他区域".
    village_names
        Names by village id (an unknown id is shown as the id).
    advice
        Advice by category; categories without advice get none.
    solved
        Cases solved in the week, or None when not recorded.
    """
    this_cat: dict[str, int] = {}
    prev_cat: dict[str, int] = {}
    this_vil: dict[str | None, int] = {}
    prev_vil: dict[str | None, int] = {}
    previous = [0] * previous_weeks
    for village, category, before, n in counts:
        if before == 0:
            this_cat[category] = this_cat.get(category, 0) + n
            this_vil[village] = this_vil.get(village, 0) + n
        elif 1 <= before <= previous_weeks:
            prev_cat[category] = prev_cat.get(category, 0) + n
            prev_vil[village] = prev_vil.get(village, 0) + n
            previous[before - 1] += n
    k = max(previous_weeks, 1)
    categories = [
        {"category": c, "count": this_cat.get(c, 0),
         "previous_mean": round(prev_cat.get(c, 0) / k, 2),
         "change": change(this_cat.get(c, 0), prev_cat.get(c, 0) / k)}
        for c in sorted(set(this_cat) | set(prev_cat),
                        key=lambda c: (-this_cat.get(c, 0), -prev_cat.get(c, 0), c))]
    villages = [
        {"village_id": v, "name": village_names.get(v, v) if v else "其他区域",
         "count": this_vil.get(v, 0), "previous_mean": round(prev_vil.get(v, 0) / k, 2)}
        for v in sorted(set(this_vil) | set(prev_vil),
                        key=lambda v: (-this_vil.get(v, 0), -prev_vil.get(v, 0), v or "~"))]
    leading = [c["category"] for c in categories if c["count"] > 0][:leading_top]
    year, week, _ = monday.isocalendar()
    return Bulletin(kind=kind, area_id=area_id, area_name=area_name,
                    week=f"{year}-W{week:02d}", monday=monday, previous_weeks=previous_weeks,
                    total=sum(this_cat.values()), previous=previous, categories=categories,
                    villages=villages, leading=leading,
                    advice={c: advice[c] for c in leading if c in advice}, solved=solved)


#: Fill colours of the map, from no incident to the most (light to dark red).
RAMP = ("#f4f4f4", "#fde0c5", "#facba6", "#f59e72", "#e8604c", "#c1272d")


def density_colour(count: int, most: int) -> str:
    """The fill of a village with ``count`` of the week's incidents when the most is ``most``.

    >>> density_colour(0, 5), density_colour(5, 5)
    ('#f4f4f4', '#c1272d')
    """
    if count <= 0 or most <= 0:
        return RAMP[0]
    step = min(len(RAMP) - 1, 1 + int((len(RAMP) - 2) * (count - 1) / max(most - 1, 1) + 0.5))
    return RAMP[step]


def _rings(geom: Any) -> list[list[tuple[float, float]]]:
    rings: list[list[tuple[float, float]]] = []
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "Polygon" and not part.is_empty:
            rings.append([(round(x, 1), round(y, 1)) for x, y in part.exterior.coords])
            rings += [[(round(x, 1), round(y, 1)) for x, y in r.coords] for r in part.interiors]
        elif hasattr(part, "geoms"):
            rings += _rings(part)
    return rings


def map_shapes(area: Any, villages: Sequence[tuple[str, str, Any, int]], width: float,
               height: float, pad: float = 4.0) -> dict[str, Any]:
    """The map's shapes fitted into a ``width`` x ``height`` box (y down, as in SVG).

    Parameters
    ----------
    area
        The area's outline (a shapely geometry, lon/lat or metres: only its shape matters;
        lon/lat is stretched by cos(latitude) so the map is not squashed).
    villages
        ``(village_id, name, geometry, count)``; each is clipped to the area.

    Returns
    -------
    dict
        ``outline`` (rings), ``villages`` (``id, name, count, fill, ink`` (the label's colour,
        white on the darkest fills), ``rings, label``) and
        ``most``. An empty area gives no shapes.
    """
    if area is None or area.is_empty:
        return {"outline": [], "villages": [], "most": 0, "width": width, "height": height}
    minx, miny, maxx, maxy = area.bounds
    xscale = 1.0
    if -180 <= minx <= 180 and -90 <= miny <= maxy <= 90:
        import math
        xscale = math.cos(math.radians((miny + maxy) / 2))
    w = max((maxx - minx) * xscale, 1e-9)
    h = max(maxy - miny, 1e-9)
    s = min((width - 2 * pad) / w, (height - 2 * pad) / h)
    ox = (width - w * s) / 2
    oy = (height - h * s) / 2

    def fit(g: Any) -> Any:
        g = affinity.translate(g, -minx, -maxy)
        return affinity.affine_transform(g, [xscale * s, 0, 0, -s, ox, oy])

    most = max((n for *_, n in villages), default=0)
    shapes = []
    for vid, name, geom, n in villages:
        piece = shapely.intersection(geom, area) if geom is not None else None
        if piece is None or piece.is_empty or piece.area <= 0:
            continue
        # Simplified to half a unit (about 0.13 mm on a 78 mm map): finer detail does not
        # print, and every vertex costs time when thousands of bulletins are drawn.
        fitted = shapely.simplify(fit(piece), 0.5, preserve_topology=True)
        label = fitted.representative_point() if fitted.area > 60 else None
        if label is not None:
            # Kept inside the box by half a name's width, so no name is cut at the edge.
            half = 4.0 * len(name)
            label = (round(min(max(label.x, half), width - half), 1),
                     round(min(max(label.y, 8.0), height - 2.0), 1))
        fill = density_colour(n, most)
        shapes.append({"id": vid, "name": name, "count": n, "fill": fill,
                       "ink": "#ffffff" if fill in RAMP[-2:] else "#222222",
                       "rings": _rings(fitted), "label": label})
    outline = shapely.simplify(fit(area), 0.5, preserve_topology=True)
    return {"outline": _rings(outline), "villages": shapes, "most": most,
            "width": width, "height": height}
