"""Events as Open311 GeoReport v2 sees them: services (the category catalogue), service
definitions (the attributes a report may carry), service requests (events), their status and
the spec's errors.

Pure mapping, no I/O: the router (:mod:`gridsvc.api.routers.open311`) reads and writes events
through the events service and answers with what these functions return, as JSON or XML.

Choices where the spec leaves room:

- ``service_request_id`` is the event's number (``id``); the POST answers it at once, and its
  ``token`` is the same number, so ``tokens/{token}`` always resolves.
- ``status`` is ``closed`` for the final states (closed, rejected) and ``open`` for the rest;
  ``status_notes`` says the state of the loop (立案, 派遣, ...) in words.
- The attributes are ``grade`` (一般 .. 紧急, default general), ``parties`` (free text) and
  ``house`` (a house said the way the dispatcher understands it, an alternative to lat/long;
  ``address_string`` means the same).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from gridsvc.domain.events.catalogue import GRADE_NAMES, Grade
from gridsvc.domain.events.states import FINAL, State
from gridsvc.domain.events.words import STATE_WORDS

#: Open311 coordinates are WGS84 (``lat``, ``long``).
CRS = "EPSG:4326"
#: At most this many ids in one ``service_request_id`` list.
MAX_IDS = 100
#: The longest window a request list may span, and its default (the spec's 90 days).
WINDOW = timedelta(days=90)
#: Free text limits, as the events core takes them.
MAX_TEXT = 4000



class Open311Error(Exception):
    """An error the spec's way: an HTTP status and a description.

    >>> Open311Error(404, "no service 'x'").body()
    [{'code': 404, 'description': "no service 'x'"}]
    """

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        return error_body(self.code, [self.description])


def error_body(code: int, descriptions: Iterable[str]) -> list[dict[str, Any]]:
    """The spec's error array: one ``{code, description}`` per problem (at least one)."""
    out = [{"code": code, "description": d} for d in descriptions]
    return out or [{"code": code, "description": "error"}]


def status_of(state: str) -> str:
    """``closed`` for a final state, else ``open``.

    >>> status_of("closed"), status_of("rejected"), status_of("in_hand")
    ('closed', 'closed', 'open')
    """
    return "closed" if State(state) in FINAL else "open"


def parse_statuses(text: str | None) -> set[str] | None:
    """The ``status`` parameter (``open``, ``closed``, comma delimited); None: any status.

    >>> sorted(parse_statuses("open,closed"))
    ['closed', 'open']
    >>> parse_statuses("done")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridsvc.domain.events.open311.Open311Error: status must be open or closed ... not 'done'
    """
    if text is None or not text.strip():
        return None
    found = {s.strip().lower() for s in text.split(",") if s.strip()}
    bad = found - {"open", "closed"}
    if bad:
        raise Open311Error(400, "status must be open or closed (comma delimited), not "
                           + ", ".join(repr(b) for b in sorted(bad)))
    return found


def parse_ids(text: str | None) -> list[int] | None:
    """The ``service_request_id`` list (comma delimited numbers); None when not given.

    >>> parse_ids("3, 7,3")
    [3, 7]
    >>> parse_ids("E1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridsvc.domain.events.open311.Open311Error: service_request_id must be numbers, ...: 'E1'
    """
    if text is None or not text.strip():
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or len(part) > 18:
            raise Open311Error(400, f"service_request_id must be numbers, comma delimited: "
                               f"{part!r}")
        if int(part) not in out:
            out.append(int(part))
    if len(out) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id at once")
    return out


def window(start: datetime | None, end: datetime | None, now: datetime
           ) -> tuple[datetime, datetime | None]:
    """The ``requested_datetime`` window of a request list: the spec's 90 days ending now when
    neither bound is given, 90 days before ``end`` when only it is, from ``start`` on when
    only it is; a window that ends before it starts or spans more than 90 days is a 400.

    >>> now = datetime(2026, 12, 5)
    >>> window(None, None, now)[0].isoformat()
    '2026-09-06T00:00:00'
    >>> window(datetime(2026, 1, 1), datetime(2026, 6, 1), now)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridsvc.domain.events.open311.Open311Error: start_date and end_date may span at most 90 days
    """
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > WINDOW:
            raise Open311Error(400, f"start_date and end_date may span at most "
                                    f"{WINDOW.days} days")
        return start, end
    if start is not None:
        return start, None
    return (end or now) - WINDOW, end


def service(category: Mapping[str, Any], parents: Mapping[str, str]) -> dict[str, Any]:
    """One entry of ``services.json`` from a catalogue entry (``parents``: code -> name of
    the top-level categories, the ``group``)."""
    parent = category.get("parent_code")
    return {"service_code": category["code"], "service_name": category["name"],
            "description": category.get("description") or "", "metadata": True,
            "type": "realtime", "keywords": category["code"].replace(".", ","),
            "group": parents.get(parent or category["code"], category["name"])}


def services(catalogue: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``services.json``: every category of the catalogue."""
    rows = list(catalogue)
    parents = {c["code"]: c["name"] for c in rows if not c.get("parent_code")}
    return [service(c, parents) for c in rows]


def service_definition(code: str) -> dict[str, Any]:
    """``services/{code}.json``: the attributes a report of any category may carry."""
    grades = [{"key": g.value, "name": f"{GRADE_NAMES[g]} {g.value}"} for g in Grade]
    return {"service_code": code, "attributes": [
        {"variable": True, "code": "grade", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "default general (一般)", "order": 1,
         "description": "等级 grade", "values": grades},
        {"variable": True, "code": "parties", "datatype": "text", "required": False,
         "datatype_description": f"at most {MAX_TEXT} characters", "order": 2,
         "description": "当事人 parties"},
        {"variable": True, "code": "house", "datatype": "string", "required": False,
         "datatype_description": "e.g. 东灌底村203号 (instead of lat/long)", "order": 3,
         "description": "门牌 house"},
    ]}


def _w3(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_request(event: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """A service request from an event dict of the events service (``names``: category code
    -> name)."""
    notes = f"{STATE_WORDS.get(event['state'], '')} {event['state']}".strip()
    if event.get("overdue"):
        notes += " · 超期 overdue"
    return {
        "service_request_id": str(event["id"]), "status": status_of(event["state"]),
        "status_notes": notes, "service_name": names.get(event["category"], event["category"]),
        "service_code": event["category"], "description": event.get("description") or "",
        "agency_responsible": event.get("station_id") or event.get("town_id") or "",
        "service_notice": event.get("business_id") or "",
        "requested_datetime": _w3(event.get("created_at")),
        "updated_datetime": _w3(event.get("updated_at")),
        "expected_datetime": _w3(event.get("expected_at")),
        "address": event.get("grid_id") or "", "address_id": event.get("grid_id") or "",
        "zipcode": "", "lat": event.get("lat"), "long": event.get("lon"), "media_url": "",
    }


def to_event(fields: Mapping[str, str | None]) -> dict[str, Any]:
    """The events service's ``data`` from a POST's fields (``service_code``, ``lat``,
    ``long``, ``address_string``, ``description``, ``attribute[grade]``,
    ``attribute[parties]``, ``attribute[house]``).

    A place is needed: lat and long together, or a house (``address_string`` or the ``house``
    attribute). Raises :class:`Open311Error` (400) naming every missing or bad field.

    >>> to_event({"service_code": "fire", "lat": "28.1", "long": "118.9"})["lon"]
    118.9
    >>> to_event({"service_code": "fire", "address_string": "东灌底村203号"})["house"]
    '东灌底村203号'
    >>> to_event({"lat": "91"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridsvc.domain.events.open311.Open311Error: service_code is required; lat and long must ...
    """
    problems = []
    code = (fields.get("service_code") or "").strip()
    if not code:
        problems.append("service_code is required")
    grade_text = (fields.get("attribute[grade]") or "").strip() or Grade.general.value
    try:
        grade = Grade.parse(grade_text)
    except ValueError as exc:
        problems.append(f"attribute[grade]: {exc}")
        grade = Grade.general
    data: dict[str, Any] = {"category": code, "grade": grade.value,
                            "description": (fields.get("description") or "").strip(),
                            "parties": (fields.get("attribute[parties]") or "").strip()}
    house = (fields.get("address_string") or fields.get("attribute[house]") or "").strip()
    lat, lon = fields.get("lat"), fields.get("long")
    if lat not in (None, "") or lon not in (None, ""):
        try:
            y, x = float(lat or "nan"), float(lon or "nan")
        except ValueError:
            y = x = float("nan")
        if not (-90 <= y <= 90 and -180 <= x <= 180):
            problems.append("lat and long must both be given, lat in [-90, 90] and long in "
                            "[-180, 180]")
        else:
            data.update(lon=x, lat=y, crs=CRS)
    elif house:
        data["house"] = house
    else:
        problems.append("a place is required: lat and long, or address_string")
    for name in ("description", "parties"):
        if len(data[name]) > MAX_TEXT:
            problems.append(f"{name} is longer than {MAX_TEXT} characters")
    if problems:
        raise Open311Error(400, "; ".join(problems))
    return data


def idempotency_key(account: str, fields: Mapping[str, str | None], day: date) -> str:
    """The key of a POST that brought none (``Idempotency-Key`` header): the same account
    sending the same fields on the same day files one request, so a client's retry after a
    lost answer never makes two.

    >>> a = idempotency_key("gw001", {"service_code": "fire", "lat": "1"}, date(2026, 1, 2))
    >>> a == idempotency_key("gw001", {"lat": "1", "service_code": "fire"}, date(2026, 1, 2))
    True
    >>> a == idempotency_key("gw002", {"service_code": "fire", "lat": "1"}, date(2026, 1, 2))
    False
    """
    text = "\x1f".join([account, day.isoformat()] + [
        f"{k}={v}" for k, v in sorted(fields.items()) if v not in (None, "")])
    return "open311-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def to_xml(kind: str, value: Any) -> bytes:
    """The XML form of an answer: ``kind`` is ``services``, ``service_definition``,
    ``service_requests`` or ``errors`` (the spec's root elements; list items are ``service``,
    ``request`` and ``error``, attribute values ``value``).

    >>> to_xml("errors", [{"code": 400, "description": "a < b"}]).decode().split("\\n")[1]
    '<errors><error><code>400</code><description>a &lt; b</description></error></errors>'
    """
    item = {"services": "service", "service_requests": "request", "errors": "error"}
    root = ElementTree.Element(kind)
    if kind == "service_definition":
        _fill(root, value)
    else:
        for entry in value:
            _fill(ElementTree.SubElement(root, item[kind]), entry)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(element: ElementTree.Element, value: Any) -> None:
    children = {"attributes": "attribute", "values": "value"}
    if isinstance(value, Mapping):
        for key, child in value.items():
            sub = ElementTree.SubElement(element, key)
            if isinstance(child, list):
                for entry in child:
                    _fill(ElementTree.SubElement(sub, children.get(key, "item")), entry)
            else:
                _fill(sub, child)
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)
