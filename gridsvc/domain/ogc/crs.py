"""Coordinate reference systems of the OGC API (Part 2, CRS by reference): URIs, axis order.

OGC URIs name a CRS *with its axis order as the EPSG registry defines it*:
``http://www.opengis.net/def/crs/EPSG/0/4326`` and ``.../EPSG/0/4490`` are latitude first, and so
are the CGCS2000 Gauss-Kruger zones (EPSG:4534-4554 are northing, easting), while
``.../OGC/1.3/CRS84`` (the default of every response) and EPSG:3857 are x (east) first. Storage
is EPSG:4490 longitude/latitude; an answer in a north-first CRS swaps the axes, and a bbox or
geometry sent in one is swapped on the way in.
CGCS2000 and WGS84 differ by centimetres: like the rest of gridsvc, EPSG:4326 and CRS84 are read
as CGCS2000 without a datum shift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyproj
from pyproj.exceptions import CRSError

from gridsvc.errors import InvalidInput, Problem

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
#: The CRS the cells and points are stored in.
STORAGE_SRID = 4490

_CURIE = re.compile(r"^\[?EPSG:(?:0:)?(\d+)\]?$", re.IGNORECASE)
_URI = re.compile(r"^<?https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)>?$", re.IGNORECASE)
_CRS84 = re.compile(r"^<?(https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84|\[?OGC:CRS84\]?|"
                    r"CRS84)>?$", re.IGNORECASE)


@dataclass(frozen=True)
class Crs:
    """A CRS the API offers.

    Attributes
    ----------
    uri
        Its OGC URI, as listed in ``crs`` and sent in ``Content-Crs``.
    srid
        The EPSG code PostGIS transforms to (4326 for CRS84).
    lat_first
        True when the first axis points north (latitude or northing first: EPSG:4326,
        EPSG:4490, the CGCS2000 Gauss-Kruger zones).
    decimals
        Decimals written in answers: 7 for degrees (about 1 cm), 3 for metres.
    """

    uri: str
    srid: int
    lat_first: bool
    decimals: int

    @property
    def geographic(self) -> bool:
        """True for degrees (CRS84, EPSG:4326, EPSG:4490)."""
        return self.decimals == 7

    @property
    def same_as_storage(self) -> bool:
        """True when the coordinates are the stored ones up to axis order (no transform)."""
        return self.srid in (4326, STORAGE_SRID)

    def header(self) -> str:
        """The ``Content-Crs`` header value: the URI in angle brackets."""
        return f"<{self.uri}>"


@lru_cache(maxsize=64)
def epsg(code: int) -> Crs | None:
    """The OGC CRS of an EPSG code, axis order as the registry says; None for an unknown code.

    >>> epsg(4326).lat_first, epsg(3857).lat_first, epsg(4549).lat_first
    (True, False, True)
    """
    try:
        found = pyproj.CRS.from_epsg(code)
    except CRSError:
        return None
    north_first = found.axis_info[0].direction in ("north", "south")
    return Crs(EPSG_URI.format(code=code), code, north_first,
               7 if found.is_geographic else 3)


DEFAULT = Crs(CRS84, 4326, False, 7)


def offered(local_metric: str | None) -> list[Crs]:
    """The CRSs every collection offers: CRS84 (the default), EPSG:4490 (storage), EPSG:4326,
    EPSG:3857 and the local metric zone (``"EPSG:4549"``, see
    :func:`gridsvc.domain.coords.local_metric_crs`) when known.

    >>> [c.srid for c in offered("EPSG:4549")]
    [4326, 4490, 4326, 3857, 4549]
    """
    codes = [STORAGE_SRID, 4326, 3857]
    if local_metric:
        codes.append(int(local_metric.split(":")[1]))
    return [DEFAULT, *(c for c in map(epsg, codes) if c is not None)]


def parse(value: str, allowed: Iterable[Crs], *, field: str) -> Crs:
    """The offered CRS named by ``value``: an OGC URI (in angle brackets or not), a safe CURIE
    (``[EPSG:4326]``) or ``EPSG:4326``.

    Raises
    ------
    InvalidInput
        The value names no CRS, or one that is not offered; the problem lists the offered URIs.

    >>> parse("http://www.opengis.net/def/crs/EPSG/0/4326", offered(None), field="crs").lat_first
    True
    >>> parse("[OGC:CRS84]", offered(None), field="crs") == DEFAULT
    True
    """
    allowed = list(allowed)
    text = value.strip()
    found: Crs | None = None
    if _CRS84.match(text):
        found = DEFAULT
    elif m := (_URI.match(text) or _CURIE.match(text)):
        found = epsg(int(m.group(1)))
    if found is None or found not in allowed:
        listed = ", ".join(c.uri for c in allowed)
        what = "is not a CRS URI" if found is None else "is not offered"
        raise InvalidInput([Problem(f"{value!r} {what}; offered: {listed}", field=field)])
    return found


def swap_axes(geometry: Any) -> Any:
    """A GeoJSON geometry (or bbox list) with x and y swapped at every position.

    >>> swap_axes({"type": "Point", "coordinates": [30.0, 120.0]})
    {'type': 'Point', 'coordinates': [120.0, 30.0]}
    """
    if isinstance(geometry, dict):
        out = dict(geometry)
        if "coordinates" in out:
            out["coordinates"] = _swap(out["coordinates"])
        if "geometries" in out:
            out["geometries"] = [swap_axes(g) for g in out["geometries"]]
        return out
    return _swap(geometry)


def _swap(coords: Any) -> Any:
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return [coords[1], coords[0], *coords[2:]]
    if isinstance(coords, list | tuple):
        return [_swap(c) for c in coords]
    return coords


def swap_bbox(bbox: list[float]) -> list[float]:
    """A 2D or 3D bbox with x and y swapped (lat/lon order to lon/lat and back).

    >>> swap_bbox([28.0, 119.0, 29.0, 120.0])
    [119.0, 28.0, 120.0, 29.0]
    """
    if len(bbox) == 6:
        return [bbox[1], bbox[0], bbox[2], bbox[4], bbox[3], bbox[5]]
    return [bbox[1], bbox[0], bbox[3], bbox[2]]
