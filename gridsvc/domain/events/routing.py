"""Routing (一网分流): which unit handles an event, and who in it, from where and what it is.

:func:`route` is a pure function of the event's cells (both grids: town, village, grid; station,
beat), its category, grade and level, the routing table and the people linked to cells. The
first rule that matches wins; rules are tried from the most specific (longest category prefix,
then a named level before ``*``, then the highest ``min_grade``). When no rule matches, the
town the event lies in handles it (属地兜底), so no event is ever without a handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gridsvc.domain.events.catalogue import Grade

#: Cell kinds a unit can be, and the cell column each reads.
UNIT_KINDS = ("grid", "beat", "village", "town", "station", "county")


@dataclass(frozen=True)
class Rule:
    """One row of the routing table.

    Attributes
    ----------
    category
        A category code or a prefix of one (``dispute`` matches ``dispute.family``); ``*``: any.
    level
        The level handling the event (``grid``, ``village``, ``town``, ``county``) or ``*``.
    min_grade
        The rule applies from this grade up.
    unit_kind
        The kind of cell whose unit handles it (``grid``: the grid's workers, ``beat``: the
        beat's community officer, ``village``: e.g. the village mediation committee, ``town``:
        a town department, ``station``, ``county``).
    unit_name
        What the unit is called after the cell's name, e.g. ``调委会`` or ``综治中心``.
    roles
        Roles of the people of that cell to notify (``grid_worker``, ``officer``, ...); the
        people of the unit's cell with those roles become the handlers.
    also
        Other (kind, roles) whose people are told too, e.g. the beat officer for a dispute.
    """

    category: str
    level: str
    min_grade: Grade
    unit_kind: str
    unit_name: str
    roles: tuple[str, ...] = ()
    also: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, category: str, level: str, grade: Grade) -> bool:
        category_ok = self.category == "*" or category == self.category \
            or category.startswith(self.category + ".")
        return category_ok and self.level in ("*", level) and not grade < self.min_grade

    @property
    def specificity(self) -> tuple[int, int, int]:
        return (0 if self.category == "*" else len(self.category),
                0 if self.level == "*" else 1, self.min_grade.rank)


@dataclass(frozen=True)
class Routing:
    """Who handles an event: the unit (a cell and a name) and the people, with the rule used."""

    unit_kind: str
    unit_id: str | None
    unit_name: str
    handlers: tuple[int, ...]
    informed: tuple[int, ...] = ()
    rule: str = ""
    fallback: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"unit_kind": self.unit_kind, "unit_id": self.unit_id,
                "unit_name": self.unit_name, "handlers": list(self.handlers),
                "informed": list(self.informed), "rule": self.rule, "fallback": self.fallback}


@dataclass(frozen=True)
class Place:
    """The cells an event lies in (business ids; None outside a layer) and their names."""

    cells: Mapping[str, str | None]
    names: Mapping[str, str] = field(default_factory=dict)
    county: str | None = None


#: The routing table a new database starts with (an admin edits it).
DEFAULT_RULES: tuple[Rule, ...] = (
    # Disputes: the grid's workers mediate first, the beat's officer is told (网格员先行调解).
    Rule("dispute", "grid", Grade.general, "grid", "网格员", ("grid_worker",),
         (("beat", ("officer",)),)),
    Rule("dispute", "village", Grade.general, "village", "调委会", ("grid_worker",),
         (("beat", ("officer",)),)),
    # Public order: the beat's community officer, with the grid's workers.
    Rule("order", "*", Grade.general, "beat", "社区民警", ("officer", "auxiliary"),
         (("grid", ("grid_worker",)),)),
    Rule("order", "*", Grade.serious, "station", "派出所", ("officer",),
         (("beat", ("officer",)),)),
    # Fire hazards: found and first handled by the (fire) grid workers, then the town.
    Rule("fire", "grid", Grade.general, "grid", "网格员", ("grid_worker",)),
    Rule("fire", "*", Grade.major, "town", "消防工作站"),
    Rule("safety", "*", Grade.general, "town", "安监办", (), (("grid", ("grid_worker",)),)),
    Rule("other", "grid", Grade.general, "grid", "网格员", ("grid_worker",)),
    # Urgent events go to the town's command centre at once, the station is told.
    Rule("*", "*", Grade.urgent, "town", "综治中心", (), (("station", ("officer",)),)),
    Rule("*", "county", Grade.general, "county", "县综治中心"),
)


def route(place: Place, category: str, grade: Grade, level: str, rules: Sequence[Rule],
          people: Mapping[tuple[str, str], Sequence[tuple[int, str]]]) -> Routing:
    """The unit and people that handle an event.

    Parameters
    ----------
    place
        The event's cells.
    category, grade, level
        What it is, how serious, and the level now handling it (see ``states.LEVELS``).
    rules
        The routing table (any order).
    people
        ``(kind, cell id) -> [(person id, role), ...]``: who is linked to each cell.

    Returns
    -------
    Routing
        A rule whose cell is missing (the event lies outside every grid, say) is passed over;
        when nothing matches, the town (属地兜底), or the county when there is no town either.

    >>> place = Place({"grid": "G1", "beat": "B1", "village": "V1", "town": "T1"})
    >>> people = {("grid", "G1"): [(7, "grid_worker")], ("beat", "B1"): [(3, "officer")]}
    >>> r = route(place, "dispute.family", Grade.general, "grid", DEFAULT_RULES, people)
    >>> (r.unit_kind, r.unit_id, r.handlers, r.informed)
    ('grid', 'G1', (7,), (3,))
    >>> route(place, "unknown", Grade.general, "grid", (), people).unit_kind
    'town'
    """
    for rule in sorted(rules, key=lambda r: r.specificity, reverse=True):
        if not rule.matches(category, level, grade):
            continue
        unit_id = _cell(place, rule.unit_kind)
        if unit_id is None and rule.unit_kind != "county":
            continue
        handlers = _people(people, rule.unit_kind, unit_id, rule.roles)
        informed = tuple(p for kind, roles in rule.also
                         for p in _people(people, kind, _cell(place, kind), roles)
                         if p not in handlers)
        return Routing(rule.unit_kind, unit_id, _name(place, rule.unit_kind, rule.unit_name),
                       handlers, tuple(dict.fromkeys(informed)), _describe(rule))
    town = _cell(place, "town")
    kind = "town" if town is not None else "county"
    return Routing(kind, town if town is not None else place.county,
                   _name(place, kind, "综治中心"), (), (), "属地兜底: no rule matched",
                   fallback=True)


def _cell(place: Place, kind: str) -> str | None:
    return place.county if kind == "county" else place.cells.get(kind)


def _people(people: Mapping[tuple[str, str], Sequence[tuple[int, str]]], kind: str,
            cell: str | None, roles: Sequence[str]) -> tuple[int, ...]:
    if cell is None or not roles:
        return ()
    return tuple(pid for pid, role in people.get((kind, cell), ()) if role in roles)


def _name(place: Place, kind: str, suffix: str) -> str:
    return f"{place.names.get(kind, '')}{suffix}"


def _describe(rule: Rule) -> str:
    return (f"{rule.category} at {rule.level} from {rule.min_grade.value}: "
            f"{rule.unit_kind} {rule.unit_name}")
