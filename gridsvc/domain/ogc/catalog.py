"""The collections the OGC API serves: one entry each in :data:`COLLECTIONS`.

A collection is a table (``area`` rows of one cell kind, or a layer table) with its geometry,
its properties (JSON name, column or SQL expression, JSON Schema type) and, when it has one, the
temporal property ``datetime`` filters on. Serving another layer is one more entry: the SQL, the
queryables, the OpenAPI description and the HTML pages all follow from it.
A table needs a primary key (``key``: ``pk`` for most, ``id`` for events), ``business_id`` (the
feature id, the order of pages) and ``geom`` (EPSG:4490). Column names and expressions here are
trusted SQL written by us, never taken from a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridsvc.domain.events.states import OPEN

__all__ = ["CELL_COLUMNS", "COLLECTIONS", "Collection", "Prop", "by_id"]


@dataclass(frozen=True)
class Prop:
    """A property of the features: ``name`` in JSON, ``column`` in the table.

    ``type`` is a JSON Schema type (``string``, ``integer``, ``number``, ``boolean``,
    ``array``); ``format`` is ``date-time`` for instants. ``expr`` makes a derived property: an
    SQL expression over the row, ``{t}`` standing for the table's alias (it is read-only and
    filters like any other, but no index serves it).
    """

    name: str
    type: str
    title: str
    column: str | None = None
    format: str | None = None
    expr: str | None = None

    def sql(self, alias: str = "t") -> str:
        """SQL of the value in the row aliased ``alias``.

        >>> Prop("n", "integer", "n", column="households").sql()
        't.households'
        >>> Prop("big", "boolean", "big", expr="({t}.households > 9)").sql("h")
        '(h.households > 9)'
        """
        if self.expr is not None:
            return self.expr.format(t=alias)
        return f"{alias}.{self.column or self.name}"


@dataclass(frozen=True)
class Collection:
    """One collection.

    Attributes
    ----------
    id, title, description
        As listed at ``/ogc/collections``.
    table
        The table the features come from.
    geometry
        GeoJSON geometry type of every feature.
    properties
        The properties, in the order they are written.
    cell_kind
        For a cell collection, the ``area.kind`` (its rows are those of one plan); None for a
        layer table.
    temporal
        The property ``datetime`` selects on (an instant per feature), or None.
    read_role
        The role needed to read it (roles of :class:`gridsvc.domain.accounts.Role`, by name), as the
        layer's own API asks; rows are further limited by the account's scope in the database.
    key
        The table's primary key column (a page's rows are picked by it before they are written).
    """

    id: str
    title: str
    description: str
    table: str
    geometry: str
    properties: tuple[Prop, ...]
    cell_kind: str | None = None
    temporal: str | None = None
    read_role: str = "viewer"
    key: str = "pk"

    @property
    def editable(self) -> bool:
        """Cells of a draft plan can be created, replaced, updated and deleted."""
        return self.cell_kind is not None

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name == name), None)


def _s(name: str, title: str) -> Prop:
    return Prop(name, "string", title)


def _i(name: str, title: str) -> Prop:
    return Prop(name, "integer", title)


#: The cells a point was assigned to (``AssignedCells``): business ids of each kind.
CELL_COLUMNS = (
    _s("town_id", "town (乡镇/街道)"), _s("village_id", "village (行政村/社区)"),
    _s("grid_id", "grid (网格)"), _s("station_id", "police station (派出所)"),
    _s("beat_id", "beat (警务区)"),
)

_CELL_PROPS = (
    _s("code", "statistical / CJ/T 349 code"), _s("name", "name"),
    _s("parent_id", "business id of the parent cell"),
    _i("households", "households"), _i("residents", "residents"),
)

_CELLS = {
    "towns": ("town", "Towns (乡镇/街道)", "Level 1 of the governance tree."),
    "villages": ("village", "Villages (行政村/社区)", "Level 2 of the governance tree; "
                 "parent_id is the town."),
    "grids": ("grid", "Grids (网格)", "Level 3 of the governance tree; parent_id is the "
              "village."),
    "stations": ("station", "Police stations (派出所)", "Level 1 of the police tree."),
    "beats": ("beat", "Beats (警务区/警格)", "Level 2 of the police tree; parent_id is the "
              "station."),
}
#: An event is overdue while it is open and its deadline has passed (as /api/v1/events says);
#: never null (no deadline: not overdue), so GIS clients get a plain true/false field.
_OVERDUE = ("(coalesce({t}.expected_at < now(), false) AND {t}.state IN ("
            + ", ".join(f"'{s.value}'" for s in sorted(OPEN)) + "))")

_CELL_NOTE = (" Cells of the plan in effect; `datetime` gives the plan in effect at that "
              "instant and `plan` any plan (drafts can be edited).")

COLLECTIONS: tuple[Collection, ...] = (
    *(Collection(cid, title, desc + _CELL_NOTE, "area", "MultiPolygon", _CELL_PROPS,
                 cell_kind=kind)
      for cid, (kind, title, desc) in _CELLS.items()),
    Collection("offices", "Police offices (警务室)", "Police offices with opening hours.",
               "office", "Point", (_s("name", "name"), _s("opening_hours", "opening hours"),
                                   _s("phone", "phone"), *CELL_COLUMNS)),
    Collection("cameras", "Cameras (监控点位)", "Cameras: heading, field of view and range.",
               "camera", "Point", (_s("name", "name"),
                                   Prop("heading_deg", "number", "heading (degrees)"),
                                   Prop("fov_deg", "number", "field of view (degrees)"),
                                   Prop("range_m", "number", "range (m)"), *CELL_COLUMNS)),
    Collection("patrol_points", "Patrol points (必巡点)", "Must-patrol points; level 1 set by "
               "the station, 2 by the beat.", "patrol_point", "Point",
               (_s("name", "name"), _i("level", "level"), *CELL_COLUMNS)),
    Collection("compounds", "Compounds (小区)", "Residential compounds with their risk colour "
               "and the 三无 flags.", "compound", "MultiPolygon",
               (_s("name", "name"), _s("village_id", "village"),
                _s("risk_colour", "risk colour (red, orange, green)"),
                Prop("no_property_management", "boolean", "no property management"),
                Prop("no_competent_department", "boolean", "no competent department"),
                Prop("no_security", "boolean", "no security"),
                _i("households", "households"))),
    Collection("compound_entrances", "Compound entrances (小区出入口)", "Gates of compounds.",
               "compound_entrance", "Point",
               (_s("compound_id", "compound"), _s("name", "name"),
                _s("kind", "main, side or vehicle"), *CELL_COLUMNS)),
    Collection("houses", "Houses (门牌)", "Numbered houses; only those in your scope.",
               "house", "Point",
               (_s("address_village_id", "village of the address"), _i("number", "number"),
                _i("sub_number", "sub-number"), _s("building", "building"), _s("unit", "unit"),
                _s("room", "room"), Prop("aliases", "array", "other names"),
                _i("households", "households"), _i("registered", "registered residents"),
                _i("residents", "residents"), _i("floating", "floating residents"),
                Prop("is_rental", "boolean", "rental"), _i("rental_stars", "rental stars"),
                _s("compound_id", "compound"), *CELL_COLUMNS),
               read_role="dispatcher"),
    Collection("incidents", "Incidents (警情)", "Police incidents with the cells they had at "
               "their time; `datetime` selects on occurred_at. Only those in your scope.",
               "incident", "Point",
               (Prop("occurred_at", "string", "time", format="date-time"),
                _s("category", "category"), _s("summary", "summary"), *CELL_COLUMNS),
               temporal="occurred_at"),
    Collection("events", "Events (事件)", "Reported events (矛盾纠纷, 安全隐患, ...) where they "
               "are in the loop, with the cells they were routed to; `datetime` selects on "
               "reported_at (an instant or an interval). Only those in your scope, and those "
               "you reported. Read-only: events change through /api/v1/events.",
               "event", "Point",
               (_s("category", "category code"),
                _s("grade", "grade (general, major, serious, urgent)"),
                _s("state", "state in the loop"),
                _s("level", "level handling it (grid, village, town, county)"),
                Prop("reported_at", "string", "reported at", column="created_at",
                     format="date-time"),
                Prop("occurred_at", "string", "occurred at", format="date-time"),
                Prop("expected_at", "string", "deadline of the current step",
                     format="date-time"),
                Prop("overdue", "boolean", "open and past its deadline", expr=_OVERDUE),
                Prop("late", "boolean", "a deadline was missed before it was handled"),
                *CELL_COLUMNS),
               temporal="reported_at", key="id"),
    Collection("roads", "Roads", "The road layer (walking distances).", "road",
               "MultiLineString", (_s("name", "name"), _s("road_class", "class"))),
)

_BY_ID = {c.id: c for c in COLLECTIONS}


def by_id(collection_id: str) -> Collection | None:
    """The collection called ``collection_id``, or None.

    >>> by_id("grids").cell_kind
    'grid'
    >>> by_id("nope") is None
    True
    """
    return _BY_ID.get(collection_id)
