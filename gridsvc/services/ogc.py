"""OGC API Features: collections, pages of features, and edits of a draft plan's cells.

Reads go through the engine the service was given, so the database's row-level security
limits houses, incidents and events to the signed-in account's scope. A cell collection
shows one plan: the one named by ``plan`` (path or query), else the one in effect at the
``datetime`` instant, else the one in effect today. Writes (create, replace, update, delete)
are plan edits made by :func:`gridsvc.services.plans.edit`, with its checks, versions and
audit; they are refused on anything but a draft.

Versions: ``If-Match`` may carry the draft's version (``"7"``, the ETag of
``/api/v1/plans/{id}``: any other edit since then is a conflict) or a feature's ETag (only a
change of that feature since it was read is a conflict: 412). Without ``If-Match`` (QGIS sends
none) the edit applies to the draft as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import ogc as repo
from gridsvc.domain.geo.coords import local_metric_crs
from gridsvc.domain.ogc import crs as crs_mod
from gridsvc.domain.ogc import documents as docs
from gridsvc.domain.ogc import filters
from gridsvc.domain.ogc.catalog import COLLECTIONS, Collection, by_id
from gridsvc.domain.ogc.crs import Crs
from gridsvc.domain.ogc.query import Interval, parse_items, parse_properties
from gridsvc.errors import Conflict, InvalidInput, NotFound, Problem
from gridsvc.services import plans

TITLE = "gridsvc: police and governance grids"
DESCRIPTION = ("Cells (towns, villages, grids, police stations, beats) of any plan and the "
               "layers assigned to them, as OGC API Features (Parts 1-4).")
#: Properties of a cell that an OGC write may set (the rest are derived by gridsvc).
_WRITABLE = {"name", "parent_id"}
#: Properties of a cell that gridsvc derives (numbering, house counts).
_DERIVED = {"code", "households", "residents"}

_local_crs: dict[tuple[str, int | None], str | None] = {}


class PreconditionFailed(Conflict):
    """``If-Match`` names a feature's ETag and the feature has changed since (HTTP 412)."""


@dataclass(frozen=True)
class Page:
    """A page of features: the GeoJSON bytes, the CRS they are in, and the plan shown."""

    body: bytes
    crs: Crs
    plan_id: int | None


def collection_or_404(collection_id: str) -> Collection:
    found = by_id(collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}; collections: "
                       f"{', '.join(c.id for c in COLLECTIONS)}")
    return found


def _offered(conn: Connection, engine: Engine) -> list[Crs]:
    """The CRSs offered: the fixed ones and the metric zone of the plan in effect (cached:
    the zone of an area of work does not move)."""
    plan_id = area_repo.current_plan_id(conn)
    key = (str(engine.url), plan_id)
    if key not in _local_crs:
        centre = area_repo.plan_centre(conn, plan_id) if plan_id is not None else None
        _local_crs[key] = local_metric_crs(*centre) if centre else None
    return crs_mod.offered(_local_crs[key])


def _plan(conn: Connection, c: Collection, plan: int | None, when: Interval | None
          ) -> int | None:
    """The plan a cell collection shows (None for a layer table, or when no plan was in
    effect at ``when``: no cells then)."""
    if c.cell_kind is None:
        return None
    if plan is not None:
        if area_repo.get_plan(conn, plan) is None:
            raise NotFound(f"no plan with id {plan}")
        return plan
    if when is not None:
        if not when.is_instant:
            raise InvalidInput([Problem(
                "cells are shown as one plan: give an instant (the plan in effect then), "
                "not an interval", field="datetime")])
        return area_repo.current_plan_id(conn, when.day)
    return area_repo.current_plan_id(conn)


def _one_plan(path_plan: int | None, query_plan: int | None) -> int | None:
    if path_plan is not None and query_plan is not None and path_plan != query_plan:
        raise InvalidInput([Problem(f"the path names plan {path_plan} and the query plan "
                                    f"{query_plan}", field="plan")])
    return path_plan if path_plan is not None else query_plan


def collections(engine: Engine, links: docs.Links, plan: int | None) -> dict[str, Any]:
    """Every collection with its extent (in the plan shown, for cells)."""
    with engine.connect() as conn:
        offered = _offered(conn, engine)
        described = [_describe(conn, links, c, plan, offered) for c in COLLECTIONS]
    return docs.collections(links, described)


def collection(engine: Engine, links: docs.Links, collection_id: str, plan: int | None
               ) -> dict[str, Any]:
    c = collection_or_404(collection_id)
    with engine.connect() as conn:
        return _describe(conn, links, c, plan, _offered(conn, engine))


def _describe(conn: Connection, links: docs.Links, c: Collection, plan: int | None,
              offered: list[Crs]) -> dict[str, Any]:
    bbox, interval = repo.extent(conn, c, _plan(conn, c, plan, None))
    return docs.collection(links, c, offered=offered, bbox=bbox, interval=interval)


def queryables(links: docs.Links, collection_id: str) -> dict[str, Any]:
    return docs.queryables(links, collection_or_404(collection_id))


def schema(links: docs.Links, collection_id: str) -> dict[str, Any]:
    return docs.schema(links, collection_or_404(collection_id))


def items(engine: Engine, links: docs.Links, collection_id: str,
          params: Sequence[tuple[str, str]], plan: int | None = None) -> Page:
    """A page of features as GeoJSON bytes, with ``numberMatched`` (a true count),
    ``numberReturned`` and ``next``/``prev`` links.

    Parameters
    ----------
    params
        The request's query parameters in order (see :mod:`gridsvc.domain.ogc.query`).
    plan
        The plan named by the path (``/ogc/plans/{id}``), if any.

    Raises
    ------
    InvalidInput
        A bad parameter or filter (HTTP 400), each problem naming it.
    NotFound
        No such collection or plan.
    """
    c = collection_or_404(collection_id)
    multi: dict[str, list[str]] = {}
    for k, v in params:
        multi.setdefault(k, []).append(v)
    with engine.connect() as conn:
        query = parse_items(multi, c, _offered(conn, engine))
        cql = (filters.to_sql(filters.parse(query.filter, query.filter_lang), c,
                              query.filter_crs) if query.filter else None)
        plan_id = _plan(conn, c, _one_plan(plan, query.plan), query.datetime)
        where, values = repo.conditions(c, query, plan_id, cql)
        rows = repo.page(conn, c, where, values, crs=query.crs, properties=query.properties,
                         limit=query.limit, offset=query.offset)
        if query.offset == 0 and len(rows) < query.limit:
            matched = len(rows)  # the whole result is on this page: no need to count
        else:
            matched = repo.count(conn, c, where, values)
    head = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(rows),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds")}
    if plan_id is not None:
        head["plan_id"] = plan_id
    head["links"] = docs.page_links(links, c, params, offset=query.offset, limit=query.limit,
                                    returned=len(rows), matched=matched)
    body = (orjson.dumps(head)[:-1] + b',"features":[' + ",".join(rows).encode() + b"]}")
    return Page(body, query.crs, plan_id)


def item(engine: Engine, links: docs.Links, collection_id: str, feature_id: str,
         params: Sequence[tuple[str, str]], plan: int | None = None
         ) -> tuple[bytes, str, Crs]:
    """One feature (GeoJSON bytes), its ETag and the CRS it is in.

    Only ``crs``, ``plan``, ``datetime`` (cells: the plan in effect then), ``properties`` and
    ``f`` apply; any other parameter is a 400.
    """
    c = collection_or_404(collection_id)
    allowed = ("crs", "plan", "datetime", "f", "properties")
    multi: dict[str, list[str]] = {}
    for k, v in params:
        multi.setdefault(k, []).append(v)
    unknown = [k for k in multi if k not in allowed]
    if unknown:
        raise InvalidInput([Problem(f"unknown parameter; parameters of a feature are "
                                    f"{', '.join(allowed)}", field=k) for k in unknown])
    with engine.connect() as conn:
        query = parse_items({k: v for k, v in multi.items() if k != "properties"}, c,
                            _offered(conn, engine))
        props = parse_properties(multi["properties"][0], c) if multi.get("properties") else None
        plan_id = _plan(conn, c, _one_plan(plan, query.plan), query.datetime)
        found = repo.feature(conn, c, plan_id, feature_id, crs=query.crs, properties=props)
    if found is None:
        where = f" in plan {plan_id}" if plan_id is not None else ""
        raise NotFound(f"no feature {feature_id!r} in {c.id}{where}")
    feature = orjson.loads(found[0])
    feature["links"] = docs.item_links(links, c, feature_id)
    return orjson.dumps(feature), f'"{found[1]}"', query.crs


# -- writes -----------------------------------------------------------------------------------
def _draft(conn: Connection, c: Collection, plan: int | None) -> dict[str, Any]:
    if c.cell_kind is None:
        raise InvalidInput([Problem(f"{c.id} is read-only here: only the cells of a draft "
                                    "plan can be edited", field="collection")])
    if plan is None:
        current = area_repo.current_plan_id(conn)
        raise Conflict(
            f"plan {current} is the plan in effect and is never edited in place: make a draft "
            "(POST /api/v1/plans) and edit it at /ogc/plans/{draft id}/collections/"
            f"{c.id}/items (or ?plan={{draft id}})")
    found = area_repo.get_plan(conn, plan)
    if found is None:
        raise NotFound(f"no plan with id {plan}")
    if found["status"] != "draft":
        raise Conflict(f"plan {plan} is {found['status']}: only a draft can be edited; make a "
                       "draft from it (POST /api/v1/plans with from_plan) and edit that")
    return found


def _geometry(engine: Engine, feature: dict[str, Any], content_crs: str | None
              ) -> tuple[dict[str, Any], str]:
    """The feature's geometry as GeoJSON in x-first order, and the CRS name the plan edit
    reads it in (``Content-Crs``, CRS84 by default)."""
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise InvalidInput([Problem("give the cell's geometry (a GeoJSON Polygon or "
                                    "MultiPolygon)", field="geometry")])
    with engine.connect() as conn:
        offered = _offered(conn, engine)
    crs = (crs_mod.parse(content_crs, offered, field="Content-Crs") if content_crs
           else crs_mod.DEFAULT)
    if crs.lat_first:
        geometry = crs_mod.swap_axes(geometry)
    return geometry, f"EPSG:{crs.srid}"


def _check_properties(feature: dict[str, Any], current: dict[str, Any] | None,
                      writable: set[str]) -> None:
    """Refuse a property a plan edit cannot set: a changed one of an existing cell
    (``current``), or a derived one given for a new cell. Unchanged values, nulls and names
    that are not properties (GIS clients send what they read) pass."""
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput([Problem("properties must be an object", field="properties")])
    problems = []
    for name, value in props.items():
        if name in writable or value is None:
            continue
        if (name in _DERIVED if current is None
                else name in current and not _same(current[name], value)):
            problems.append(Problem(
                f"{name} is kept by gridsvc: only the geometry (and, for a new cell, name and "
                "parent_id) can be set here", field=name))
    if problems:
        raise InvalidInput(problems)


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def _version(conn: Connection, c: Collection, plan: dict[str, Any], feature_id: str | None,
             if_match: str | None) -> int:
    """The draft version the edit is made on, from ``If-Match`` (see the module's text)."""
    if if_match is None or if_match.strip() == "*":
        return plan["version"]
    value = if_match.strip().removeprefix("W/").strip('"')
    if value.isdigit():
        return int(value)
    if feature_id is None:
        raise InvalidInput([Problem("If-Match of a new feature is the draft's version, like "
                                    '"3"', field="If-Match")])
    current = repo.etag(conn, c, plan["id"], feature_id)
    if current is None:
        raise NotFound(f"no feature {feature_id!r} in {c.id} of plan {plan['id']}")
    if current != value:
        raise PreconditionFailed(
            f"{c.id} {feature_id} has changed since you read it (ETag {if_match} is no longer "
            "current): read it again and make your edit on that")
    return plan["version"]


def write(engine: Engine, collection_id: str, plan: int | None, *, action: str,
          feature_id: str | None, feature: dict[str, Any] | None, content_crs: str | None,
          if_match: str | None, actor: str, idempotency_key: str | None = None
          ) -> dict[str, Any]:
    """Create, replace, update or delete a cell of a draft, as one plan edit.

    Parameters
    ----------
    action
        ``create`` (POST: a new cell; ``properties.parent_id`` names its parent, ``name`` is
        optional), ``replace`` (PUT) or ``update`` (PATCH) of a cell's geometry, ``delete``
        (retire the cell).
    feature
        The GeoJSON feature sent (None for delete). Properties gridsvc derives (code,
        households, ...) may be sent unchanged, as GIS clients do, but not changed.
    content_crs
        The ``Content-Crs`` header (CRS84 when None).
    idempotency_key
        For create: a retry with the same key (by the same caller, on the same draft) answers
        with the cell the first request made instead of adding another.

    Returns
    -------
    dict
        ``id`` (the feature's, new for create), ``etag`` (its new ETag, None after delete)
        and ``edit`` (the answer of :func:`gridsvc.services.plans.edit`: new version, cells
        changed, check results; for a replayed create ``{"replayed": true, ...}``).

    Raises
    ------
    Conflict
        The plan is not a draft (or none is named: the plan in effect), or ``If-Match`` names
        an older version of the draft.
    PreconditionFailed
        ``If-Match`` names an ETag the feature no longer has.
    InvalidInput
        A bad geometry or property, or anything the plan edit refuses.
    NotFound
        No such collection, plan or feature.
    """
    c = collection_or_404(collection_id)
    with engine.connect() as conn:
        draft = _draft(conn, c, plan)
        if action == "create" and idempotency_key:
            made = repo.created_with_key(conn, draft["id"], actor, idempotency_key)
            if made is not None:
                tag = repo.etag(conn, c, draft["id"], made)
                return {"id": made, "etag": f'"{tag}"' if tag else None, "edit": {
                    "plan_id": draft["id"], "version": draft["version"], "replayed": True,
                    "cells": [{"kind": c.cell_kind, "id": made, "change": "added"}]}}
        current = None
        if feature_id is not None:
            current = _current(conn, c, draft["id"], feature_id)
        version = _version(conn, c, draft, feature_id, if_match)
    op: dict[str, Any] = {"kind": c.cell_kind, "via": "ogc"}
    if action == "delete":
        op.update(op="retire", id=feature_id)
    else:
        feature = feature or {}
        # PATCH is a JSON merge patch ({"geometry": ...}, as QGIS sends); the others a Feature.
        if action != "update" and feature.get("type") != "Feature":
            raise InvalidInput([Problem("send a GeoJSON Feature", field="type")])
        if action == "create":
            _check_properties(feature, None, _WRITABLE)
            props = feature.get("properties") or {}
            op.update(op="create", parent_id=props.get("parent_id"), name=props.get("name"))
            if idempotency_key:
                op["idempotency_key"] = idempotency_key
        else:
            _check_properties(feature, current, set())
            if action == "update" and feature.get("geometry") is None:
                raise InvalidInput([Problem("only the geometry of a cell can change here: "
                                            "send it", field="geometry")])
            op.update(op="replace", id=feature_id)
        op["geometry"], op["crs"] = _geometry(engine, feature, content_crs)
    done = plans.edit(engine, draft["id"], op, version=version, actor=actor)
    if action == "create":
        feature_id = next(x["id"] for x in done["cells"] if x["change"] == "added")
    etag = None
    if action != "delete":
        with engine.connect() as conn:
            tag = repo.etag(conn, c, draft["id"], feature_id)  # type: ignore[arg-type]
        etag = f'"{tag}"' if tag else None
    return {"id": feature_id, "etag": etag, "edit": done}


def _current(conn: Connection, c: Collection, plan_id: int, feature_id: str) -> dict[str, Any]:
    found = repo.feature(conn, c, plan_id, feature_id, crs=crs_mod.DEFAULT)
    if found is None:
        raise NotFound(f"no feature {feature_id!r} in {c.id} of plan {plan_id}")
    return orjson.loads(found[0])["properties"]


def allowed_methods(engine: Engine, collection_id: str, plan: int | None, *, item: bool
                    ) -> list[str]:
    """The methods a client may use on ``/items`` (or one item): writes only on the cells
    of a draft (what QGIS asks with OPTIONS before it offers editing)."""
    c = collection_or_404(collection_id)
    methods = ["GET", "HEAD", "OPTIONS"]
    if c.editable and plan is not None:
        with engine.connect() as conn:
            found = area_repo.get_plan(conn, plan)
        if found is not None and found["status"] == "draft":
            methods += ["PUT", "PATCH", "DELETE"] if item else ["POST"]
    return methods
