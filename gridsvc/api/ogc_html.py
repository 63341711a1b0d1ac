"""HTML views of the OGC API documents (``f=html`` or a browser's ``Accept: text/html``).

Plain pages built from the same JSON documents the API answers with: links, a table of
collections or features, and for features a map drawn with the Leaflet copy the service serves
itself (no internet needed on a police intranet). Every value is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:1200px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
#map{height:420px;margin:1em 0}code{background:#f4f4f4}"""
_LEAFLET = ('<link rel="stylesheet" href="/static/maps/leaflet/dist/leaflet.css">'
            '<script src="/static/maps/leaflet/dist/leaflet.js"></script>')


def _page(title: str, body: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title><style>{_STYLE}</style>{head}</head><body><h1>{escape(title)}</h1>"
            f"{body}</body></html>")


def _links(links: list[dict[str, str]]) -> str:
    items = "".join(
        f'<li><a href="{escape(x["href"])}">{escape(x.get("title") or x["rel"])}</a> '
        f'<small>({escape(x["rel"])}, {escape(x.get("type", ""))})</small></li>' for x in links)
    return f"<ul>{items}</ul>"


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f'<a href="{escape(value)}">{escape(value)}</a>'
    return "" if value is None else escape(str(value))


def document(title: str, doc: dict[str, Any]) -> str:
    """Landing page, conformance, queryables or one collection."""
    parts = []
    if doc.get("description"):
        parts.append(f"<p>{escape(doc['description'])}</p>")
    if doc.get("links"):
        parts.append(_links(doc["links"]))
    if "conformsTo" in doc:
        parts.append(_table([{"class": c} for c in doc["conformsTo"]], ["class"]))
    if "properties" in doc and isinstance(doc["properties"], dict):
        rows = [{"name": k, **{f: v.get(f) for f in ("type", "format", "title")}}
                for k, v in doc["properties"].items()]
        parts.append(_table(rows, ["name", "type", "format", "title"]))
    for key in ("extent", "crs", "storageCrs"):
        if key in doc:
            parts.append(f"<h3>{key}</h3><pre>{escape(json.dumps(doc[key], indent=1))}</pre>")
    return _page(title, "".join(parts))


def collections(doc: dict[str, Any]) -> str:
    rows = [{"id": c["id"], "title": c["title"],
             "items": next(x["href"] for x in c["links"] if x["rel"] == "items"),
             "description": c["description"]} for c in doc["collections"]]
    return _page("Collections", _links(doc["links"])
                 + _table(rows, ["id", "title", "items", "description"]))


def features(title: str, doc: dict[str, Any]) -> str:
    """A page of features (or one feature): a map and a table of their properties."""
    feats = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    rows = [{"id": f.get("id"), **(f.get("properties") or {})} for f in feats]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    counts = ""
    if "numberMatched" in doc:
        counts = (f"<p>{doc['numberReturned']} of {doc['numberMatched']} features"
                  + (f" (plan {doc['plan_id']})" if "plan_id" in doc else "") + "</p>")
    data = json.dumps({"type": "FeatureCollection",
                       "features": [{**f, "links": None} for f in feats]}, ensure_ascii=False)
    data = data.replace("</", "<\\/")  # no closing tag inside the script
    script = ("<div id='map'></div><script>const map=L.map('map');"
              f"const layer=L.geoJSON({data}).addTo(map);"
              "try{map.fitBounds(layer.getBounds())}catch(e){map.setView([30,120],4)}</script>")
    return _page(title, counts + _links(doc.get("links", [])) + script + _table(rows, columns),
                 head=_LEAFLET)
