"""The plan page: a draft's boundaries over the active ones, the changed cells filled."""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from gridsvc.maps.cells import add_cells
from gridsvc.maps.page import Page, add_legend, new_page

CHANGE_COLOURS = {"changed": "#ff6f00", "new": "#2e7d32", "retired": "#616161", "same": None}
FIELDS = ["name", "code", "change", "households", "residents"]


def _draft_style(feature: dict[str, Any]) -> dict[str, Any]:
    fill = CHANGE_COLOURS.get(feature["properties"]["change"])
    return {"color": "#d50000", "weight": 2, "fillColor": fill or "#ffffff",
            "fillOpacity": 0.35 if fill else 0.0}


def _active_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"color": "#455a64", "weight": 2, "dashArray": "5 5", "fillOpacity": 0.0}


def plan_map(draft: dict[str, gpd.GeoDataFrame], active: dict[str, gpd.GeoDataFrame],
             title: str, map_settings: Any) -> Page:
    """Build the plan page.

    Parameters
    ----------
    draft, active
        Kind -> cells (EPSG:4490) with ``name, code, households, residents``; the draft's also
        with ``change``: ``changed`` (geometry differs from the active cell with the same id),
        ``new``, ``retired`` (in the active plan only; drawn from the active geometry) or
        ``same``.
    title
        The plan's name and status, shown in the legend.
    """
    frames = [f for f in [*draft.values(), *active.values()] if len(f)]
    bounds = gpd.pd.concat(frames).total_bounds if frames else (119.0, 28.0, 119.1, 28.1)
    page = new_page(tuple(bounds), map_settings, "plan")
    w = page.words
    for kind in ("village", "station", "beat", "grid"):
        if kind in active and len(active[kind]):
            add_cells(page, active[kind], kind, ["name", "code"], style=_active_style,
                      name=f'{w["active"]} · {w[kind]}', show=kind in ("beat", "grid"),
                      labels=False)
    for kind in ("village", "station", "beat", "grid"):
        if kind in draft and len(draft[kind]):
            add_cells(page, draft[kind], kind, FIELDS, style=_draft_style,
                      name=f'{w["draft"]} · {w[kind]}', show=kind in ("beat", "grid"))
    add_legend(page, f'{w["plan_title"]}: {title}', [
        ("#d50000", w["draft"]), ("#455a64", w["active"]),
        (CHANGE_COLOURS["changed"], w["changed"]), (CHANGE_COLOURS["new"], "new / 新增"),
        (CHANGE_COLOURS["retired"], "retired / 撤销")])
    return page
