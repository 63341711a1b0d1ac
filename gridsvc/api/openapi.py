"""The OpenAPI document, finished so that it tells the truth about every operation.

FastAPI writes the parameters, bodies and successful responses from the routes (their real
ranges come from :mod:`gridsvc.api.fields`); :func:`finish` then adds what routes share, in one
place, so that a route added later gets it without a line of its own:

- **Security.** Every operation needs a bearer token (or the session cookie), unless it says
  otherwise with ``openapi_extra=PUBLIC`` (``security: []``).
- **Errors.** Each operation declares the error responses it can give, all in the one shape of
  :data:`gridsvc.api.errors.ERROR_SCHEMA` (which replaces FastAPI's ``HTTPValidationError``):
  401 and 403 when it needs a token; 404 (an id, or a plan in effect on a date, that does not
  exist) when it needs a token; 409 (a stale version, or a state that forbids the change) for
  every method but GET; 400 (a body that is not UTF-8) when it takes JSON, 413 and 415 when
  it takes a body that is not JSON (an upload); 422
  when it takes any input; 503 (the database is away) for all. A route may declare any of
  these itself (``responses=``): its own description wins, and gets the shape.
- **Links**, so a stateful client (or fuzzer) reaches real objects: by convention, an
  operation ``POST /things`` answering 201 with the new object's ``id`` links to every
  operation on ``/things/{param}...``; :data:`LINKS` adds the others (lists to their items,
  a plan to its map, a read of a draft to its edits with the ``ETag`` as ``If-Match``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gridsvc.api.errors import ERROR_SCHEMA, PROBLEM_SCHEMA

ERROR_REF = "#/components/schemas/Error"
#: ``openapi_extra`` of an operation that needs no token.
PUBLIC: dict[str, Any] = {"security": []}
SECURITY_SCHEMES = {"bearer": {
    "type": "http", "scheme": "bearer",
    "description": "a token from `gridsvc token create`; browsers may use the session cookie "
                   "that POST /login sets"}}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch")
_JSON = re.compile(r"^application/(.+\+)?json$")

#: Error responses and when an operation declares them (see the module's docstring).
ERRORS: dict[str, str] = {
    "401": "no valid bearer token or session",
    "403": "the token's role is too low for this operation",
    "404": "what the request names (an id, or a plan in effect on the date asked) does not "
           "exist",
    "400": "the body cannot be read (not UTF-8)",
    "409": "the change clashes with the current state (a stale version, a plan that is not "
           "a draft)",
    "413": "the upload is larger than the service's limit",
    "415": "the body's Content-Type is not one of those listed",
    "422": "the input is invalid: each problem names its parameter or field",
    "503": "the database is unavailable: try again shortly",
}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link from one operation's response to another operation.

    ``parameters`` maps the target's parameter (``name`` or ``header.name``) to a runtime
    expression, e.g. ``"$response.body#/0/id"``; ``body`` gives fields of the target's JSON
    body the same way; ``name`` defaults to the target's operationId.
    """

    source: tuple[str, str, str]  # method, path, status
    target: tuple[str, str]  # method, path
    parameters: dict[str, str] = field(default_factory=dict)
    description: str = ""
    name: str = ""
    body: dict[str, Any] | None = None


def _plan_ops(source: tuple[str, str, str], plan_id: str, etag: str | None = None
              ) -> list[Link]:
    """Links from ``source`` to what one can do with a plan whose id is ``plan_id``."""
    base = "/api/v1/plans/{plan_id}"
    reads = [("get", base), ("get", base + "/impact"), ("get", "/maps/plan/{plan_id}"),
             ("post", base + "/validate"), ("post", base + "/restore")]
    links = [Link(source, op, {"plan_id": plan_id}) for op in reads]
    versioned = {"plan_id": plan_id, **({"header.if-match": etag} if etag else {})}
    links += [Link(source, ("post", base + tail), versioned)
              for tail in ("/edits", "/activate", "/retire")]
    links.append(Link(source, ("get", "/api/v1/areas"), {"plan_id": plan_id}))
    return links


#: Links that the ``POST /things`` convention does not give.
LINKS: list[Link] = [
    *_plan_ops(("get", "/api/v1/plans", "200"), "$response.body#/0/id"),
    *_plan_ops(("post", "/api/v1/plans", "201"), "$response.body#/id", "$response.header.ETag"),
    *_plan_ops(("post", "/api/v1/plans/proposals", "201"), "$response.body#/plan_id"),
    *_plan_ops(("get", "/api/v1/plans/{plan_id}", "200"), "$request.path.plan_id",
               "$response.header.ETag"),
    *_plan_ops(("post", "/api/v1/plans/{plan_id}/edits", "200"), "$request.path.plan_id",
               "$response.header.ETag"),
    Link(("get", "/api/v1/plans/{plan_id}", "200"), ("get", "/api/v1/plans/{plan_id}/impact"),
         {"plan_id": "$request.path.plan_id", "against": "$response.body#/based_on_id"},
         "the draft against the plan it was made from", "impact_against_base"),
    Link(("get", "/api/v1/areas", "200"), ("get", "/api/v1/areas/{kind}/{area_id}"),
         {"kind": "$request.query.kind", "area_id": "$response.body#/features/0/id"}),
    Link(("get", "/api/v1/areas", "200"), ("get", "/api/v1/houses"),
         {"village_id": "$response.body#/features/0/id"}, "the houses of a village"),
    Link(("get", "/api/v1/houses", "200"), ("post", "/api/v1/houses/numbering"),
         {"village_id": "$request.query.village_id"}),
    Link(("get", "/api/v1/houses", "200"), ("get", "/api/v1/dispatch"),
         {"q": "$response.body#/items/0/id"}, "a house by its id, as a caller might say it"),
    Link(("get", "/api/v1/areas", "200"), ("post", "/api/v1/plans/proposals"), body={
        "parent_kind": "$request.query.kind", "parent_id": "$response.body#/features/0/id"},
         description="balanced grids or beats in a town, village or station area"),
    Link(("post", "/api/v1/incidents", "201"), ("get", "/maps/incidents"),
         {"category": "$response.body#/category"}),
    *(Link(("get", "/api/v1/events", "200"), (method, path),
           {"event_id": "$response.body#/items/0/id"})
      for method, path in (("get", "/api/v1/events/{event_id}"),
                           ("post", "/api/v1/events/{event_id}/transitions"),
                           ("patch", "/api/v1/events/{event_id}"))),
]


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    """Finish FastAPI's OpenAPI document ``schema`` in place and return it."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    schema["security"] = [{"bearer": []}]
    for _, method, operation in _operations(schema):
        _declare_errors(method, operation, secured=operation.get("security") != [])
    _link(schema)
    return schema


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in schema.get("paths", {}).items()
            for method, op in item.items() if method in _METHODS]


def _declare_errors(method: str, operation: dict[str, Any], *, secured: bool) -> None:
    body = operation.get("requestBody", {}).get("content", {})
    codes = {"503"}
    if secured:
        codes |= {"401", "403", "404"}
    if method != "get":
        codes.add("409")
    if operation.get("parameters") or body:
        codes.add("422")
    if any(_JSON.match(media) for media in body):
        codes.add("400")
    if any(not _JSON.match(media) for media in body):
        codes |= {"413", "415"}
    responses = operation.setdefault("responses", {})
    for code in sorted(codes | {c for c in responses if c in ERRORS}):
        response = responses.setdefault(code, {"description": ERRORS[code]})
        content = response.setdefault("content", {})
        if not content or "$ref" in content.get("application/json", {}).get("schema", {}):
            content["application/json"] = {"schema": {"$ref": ERROR_REF}}


def _link(schema: dict[str, Any]) -> None:
    """Add :data:`LINKS` and the ``POST /things`` -> ``/things/{param}`` convention."""
    paths = schema.get("paths", {})
    links = list(LINKS)
    for path, item in paths.items():
        if "201" not in item.get("post", {}).get("responses", {}):
            continue
        for target, target_item in paths.items():
            found = re.match(re.escape(path) + r"/\{([^}/]+)\}", target)
            if found:
                links += [Link(("post", path, "201"), (method, target),
                               {found.group(1): "$response.body#/id"})
                          for method in target_item if method in _METHODS]
    for link in links:
        method, path, status = link.source
        source = paths.get(path, {}).get(method)
        target = paths.get(link.target[1], {}).get(link.target[0])
        if source is None or target is None or status not in source.get("responses", {}):
            continue  # an operation not served (a router left out): no dangling link
        entry: dict[str, Any] = {"operationId": target["operationId"],
                                 "parameters": link.parameters}
        if link.body:
            entry["requestBody"] = link.body
        if link.description:
            entry["description"] = link.description
        name = link.name or target["operationId"]
        source["responses"][status].setdefault("links", {}).setdefault(name, entry)
