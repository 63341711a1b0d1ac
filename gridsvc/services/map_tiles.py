"""Vector tiles of cell layers: cached, built once however many screens ask, warmed ahead.

A city's first view needs about a dozen tiles of ~5,000 grids each, 0.1-0.4 s of PostGIS time
apiece on two cores. Three things keep that off the user's wait: tiles are kept in memory (keyed
by plan, plan version and data version, so never stale); a tile being built is built once, the
other requests for it wait for that build (a wall of screens opening the same view); and when a
page that draws a tiled layer is built, the tiles of its first view on a 1920 x 960 map are
started in the background, so they are under way before the browser asks.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Engine

from gridsvc.db import areas as area_repo
from gridsvc.db import maps as repo
from gridsvc.db import objects, rls
from gridsvc.db.models import AREA_KINDS
from gridsvc.errors import InvalidInput, NotFound, Problem

#: Tiles kept (a few KB to a few hundred each: under ~100 MB).
MAX_TILES = 2000
#: The deepest zoom a tile is made for.
MAX_Z = 22
#: The map size the first view is warmed for, in CSS pixels.
WARM_VIEWPORT = (1920, 960)

_tiles: OrderedDict[tuple, bytes] = OrderedDict()
_building: dict[tuple, Future] = {}
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _key(engine: Engine, plan_id: int, kind: str, z: int, x: int, y: int) -> tuple:
    if kind not in AREA_KINDS:
        raise InvalidInput([Problem(f"unknown kind {kind!r}", field="kind")])
    if not (0 <= z <= MAX_Z and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput([Problem(f"no tile {z}/{x}/{y}", field="z")])
    with engine.connect() as conn:
        version = area_repo.plan_version(conn, plan_id)
        if version is None:
            raise NotFound(f"no plan with id {plan_id}")
        # Tiles carry house totals and names of people: one set per view (rls.view_key).
        return (plan_id, version, objects.data_version(conn), rls.view_key(conn), kind, z, x, y)


def _get(engine: Engine, key: tuple) -> bytes:
    with _lock:
        if key in _tiles:
            _tiles.move_to_end(key)
            return _tiles[key]
        future = _building.get(key)
        owner = future is None
        if owner:
            future = _building[key] = Future()
    if not owner:
        return future.result()
    try:
        plan_id, _, _, _, kind, z, x, y = key
        with engine.connect() as conn:
            tile = repo.cell_tile(conn, plan_id, kind, z, x, y)
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        with _lock:
            _building.pop(key, None)
    with _lock:
        _tiles[key] = tile
        while len(_tiles) > MAX_TILES:
            _tiles.popitem(last=False)
    future.set_result(tile)
    return tile


def cell_tile(engine: Engine, plan_id: int, kind: str, z: int, x: int, y: int) -> bytes:
    """The vector tile ``z/x/y`` of a plan's cells of ``kind`` (see
    :func:`gridsvc.db.maps.cell_tile`). Raises InvalidInput for an unknown kind or a tile
    outside the world, NotFound for an unknown plan."""
    return _get(engine, _key(engine, plan_id, kind, z, x, y))


def first_view_tiles(bounds: tuple[float, float, float, float],
                     viewport: tuple[int, int] = WARM_VIEWPORT) -> list[tuple[int, int, int]]:
    """The 512-pixel tiles (as standard ``z, x, y``) a map of ``viewport`` pixels fitted to
    ``bounds`` (lon/lat) loads first, as Leaflet does it: the fitBounds zoom (snapped down to a
    quarter) centred on the bounds, tiles of the rounded zoom covering the whole map.

    >>> first_view_tiles((118.92, 28.13, 119.06, 28.25), (1600, 884))[:2]
    [(12, 3400, 1712), (12, 3400, 1713)]
    """
    x0, y0, x1, y1 = bounds

    def mx(lon: float) -> float:
        return (lon + 180.0) / 360.0

    def my(lat: float) -> float:
        return (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0

    width, height = mx(x1) - mx(x0), my(y0) - my(y1)
    scale = min(viewport[0] / (256.0 * max(width, 1e-12)),
                viewport[1] / (256.0 * max(height, 1e-12)))
    zoom = min(22.0, math.floor(math.log2(scale) * 4) / 4)
    z = max(0, round(zoom) - 1)
    cx, cy = (mx(x0) + mx(x1)) / 2, (my(y0) + my(y1)) / 2
    # Half the map in world units (the world is 256 * 2**zoom pixels wide).
    hw, hh = (v / 2 / (256.0 * 2**zoom) for v in viewport)
    n = 2**z
    xs = range(math.floor((cx - hw) * n), math.ceil((cx + hw) * n))
    ys = range(math.floor((cy - hh) * n), math.ceil((cy + hh) * n))
    return [(z, x % n, y) for x in xs for y in ys if 0 <= y < n]


def warm(engine: Engine, plan_id: int, kind: str,
         bounds: tuple[float, float, float, float]) -> None:
    """Start building the first view's tiles of a layer in the background (errors ignored:
    the browser's own request will report them)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gridsvc-tiles")
    for z, x, y in first_view_tiles(bounds):
        # In a copy of the caller's context: the tiles are built for the caller's account.
        _pool.submit(contextvars.copy_context().run,
                     lambda z=z, x=x, y=y: cell_tile(engine, plan_id, kind, z, x, y))
