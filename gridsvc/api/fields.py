"""What the API accepts, as types shared by the routers: each parameter and body field says
its real range in the OpenAPI document, and a value out of it is a 422 naming the field before
any query runs (PostgreSQL would answer ``integer out of range`` or refuse a NUL byte: a 500).

Text anywhere (a parameter, a body field, a list item) is :data:`Text`: no NUL character and
no lone UTF-16 surrogate (neither can be stored), declared in the schema by :data:`NO_NUL`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

#: Largest PostgreSQL ``integer`` (plan ids, versions) and ``bigint`` (other primary keys).
INT32_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
#: JSON Schema pattern of text without NUL characters.
NO_NUL = "^[^\\x00]*$"
#: Business ids (``area.business_id``, ``house.business_id``, ...) are ``varchar(64)``.
ID_LENGTH = 64
#: A CRS as the API takes it: an EPSG code, ``EPSG:4326``, an alias (gcj02, bd09), a PROJ
#: string or WKT. All of these are printable ASCII; anything else is refused at the edge.
CRS_PATTERN = "^[ -~]+$"
CRS_LENGTH = 4000

Kind = Literal["town", "village", "grid", "station", "beat"]


def clean_text(value: str) -> str:
    """``value`` unchanged, or a ValueError when PostgreSQL could not store it.

    >>> clean_text("东灌底村")
    '东灌底村'
    >>> clean_text("a\\x00b")
    Traceback (most recent call last):
    ...
    ValueError: must not contain NUL characters (\\u0000)
    """
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it has a lone surrogate)") from None
    return value


class _NoNulPattern:
    """Adds :data:`NO_NUL` to a string's JSON Schema (the check itself is :func:`clean_text`)."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", NO_NUL)
        return schema


Text = Annotated[str, AfterValidator(clean_text), _NoNulPattern()]


def text(max_length: int, min_length: int = 0) -> Any:
    """:data:`Text` of ``min_length`` to ``max_length`` characters (the column's length)."""
    return Annotated[Text, StringConstraints(min_length=min_length, max_length=max_length)]


#: A business id in a body or query (``varchar(64)``).
Id = text(ID_LENGTH, 1)

#: A plan's id in the path (``/plans/{plan_id}``).
PlanId = Annotated[int, Path(ge=1, le=INT32_MAX, description="the plan's id")]


def plan_query(description: str = "a plan's id; default: the one in effect") -> Any:
    """An optional plan id in the query (None: the default that ``description`` says)."""
    return Annotated[int | None, Query(ge=1, le=INT32_MAX, description=description)]

#: A business id in the path (a cell, an incident, ...).
BusinessId = Annotated[Text, Path(min_length=1, max_length=ID_LENGTH)]


class Geometry(BaseModel):
    """A GeoJSON geometry object (RFC 7946, section 3.1); a Feature is not a geometry. Foreign
    members (such as the ``crs`` that ``/api/v1/areas`` writes) are allowed and ignored."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection"]
    coordinates: list[Any] | None = None
    geometries: list[Geometry] | None = None
    bbox: list[float] | None = None


def crs_field(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments of ``Query``/``Field`` for a CRS parameter (see :data:`CRS_PATTERN`)."""
    return {"min_length": 1, "max_length": CRS_LENGTH, "pattern": CRS_PATTERN, **kwargs}
