"""Layers of cells in a known CRS: assignment, and nearest cell with distances in metres."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gridsvc.domain.assign.index import CellIndex
from gridsvc.domain.assign.nearest import closest_points, nearest_edges
from gridsvc.domain.geo.lazy_crs import linear_unit

if TYPE_CHECKING:  # pyproj and shapely load when used: assigning needs neither
    import shapely
    from pyproj import CRS, Geod

    from gridsvc.domain.geo.lazy_crs import LazyCRS


@cache
def _geod() -> Geod:
    """CGCS2000's ellipsoid (WGS84's differs by 0.1 mm)."""
    from pyproj import Geod

    return Geod(ellps="GRS80")


@dataclass
class Layer:
    """One layer (e.g. the grids of a plan) indexed for assignment.

    Attributes
    ----------
    kind
        What the cells are ("grid", "beat", or a file's name in file mode).
    crs
        The CRS of the cells and of the coordinates given to :meth:`assign`.
    index
        The :class:`CellIndex`; ``index.ids`` are the business ids.
    """

    kind: str
    crs: CRS | LazyCRS
    index: CellIndex
    #: The folder the layer was opened from (:func:`gridsvc.domain.assign.store.load`), if any:
    #: a pickled layer then travels as this path and is opened (once per process) where it
    #: lands, sharing the saved arrays' pages with every process on that machine.
    source: Path | None = field(default=None, compare=False)

    def __reduce__(self) -> tuple:
        if self.source is None:
            return (Layer, (self.kind, self.crs, self.index))
        from gridsvc.domain.assign.store import opened

        return (opened, (self.source,))

    def detached(self) -> Layer:
        """The same layer pickled whole (for processes that cannot see :attr:`source`)."""
        return Layer(self.kind, self.crs, self.index)

    @classmethod
    def build(cls, kind: str, ids: Sequence[str], geoms: Sequence[shapely.Geometry],
              crs: CRS | str | int, one_off: bool = False) -> Layer:
        """Index cells; ``one_off`` as in :meth:`CellIndex.build`."""
        from pyproj import CRS

        return cls(kind, CRS.from_user_input(crs), CellIndex.build(ids, geoms, one_off=one_off))

    @property
    def ids(self) -> np.ndarray:
        return self.index.ids

    def assign(self, x: np.ndarray, y: np.ndarray, *, threads: int | None = None
               ) -> np.ndarray:
        """Index into :attr:`ids` of the cell covering each point; -1 for none (``threads`` as
        in :meth:`CellIndex.assign`)."""
        return self.index.assign(x, y, threads=threads)

    def nearest(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest cell (index into :attr:`ids`, lowest on ties) and the distance in metres.

        In a geographic CRS the nearest cell is searched with longitudes scaled by the cosine
        of the layer's middle latitude (an equirectangular view: over a city the ranking can
        only differ between cells within a fraction of a percent of the same distance), and
        the distance is then measured on the ellipsoid from the point to the cell's nearest
        point in that view. In a projected CRS both are planar, in the CRS's unit converted to
        metres. A covered point gets its cell at 0 m; NaN gives -1 at NaN.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if not self.crs.is_geographic:
            unit = linear_unit(self.crs)
            best, dist = self.index.nearest(x, y)
            return best, dist * unit
        best = np.asarray(self.index.assign(x, y), dtype=np.int64).copy()
        dist = np.where(best >= 0, 0.0, np.nan)
        out = np.flatnonzero(best < 0)
        if len(out):
            scale = self._scale
            ox, oy = x[out], y[out]
            best[out], edge, _ = nearest_edges(self.index.outline, self.index.outline_tree(scale),
                                               ox, oy)
            qx, qy = closest_points(self.index.outline, edge, ox, oy, scale)
            found = edge >= 0
            metres = np.full(len(out), np.nan)
            metres[found] = _geod().inv(ox[found], oy[found], qx[found], qy[found])[2]
            dist[out] = metres
        return best, dist

    def prepare_nearest(self) -> None:
        """Make now what :meth:`nearest` needs: the outline's k-d tree and, in degrees, the
        ellipsoid (pyproj loaded: a tenth of a second). Called in a thread beside the
        assignment once points are known to lie outside the cells, it is ready when the first
        part needs it."""
        if self.crs.is_geographic:
            _geod()
            self.index.outline_tree(self._scale)
        else:
            self.index.outline_tree()

    @cached_property
    def _scale(self) -> float:
        """The cosine of the layer's middle latitude: longitudes times it make an
        equirectangular view in which planar distances rank cells."""
        _, ymin, _, ymax = self.index.bounds
        return float(np.cos(np.radians((ymin + ymax) / 2)))


@dataclass
class LayerSet:
    """Several layers assigned at once (e.g. town, village, grid, station and beat of a plan)."""

    layers: Mapping[str, Layer]

    def assign(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Per layer, the business id covering each point (None where no cell does)."""
        out = {}
        for kind, layer in self.layers.items():
            idx = layer.assign(x, y)
            ids = np.append(layer.ids, None)  # index -1 -> None
            out[kind] = ids[idx]
        return out

    @cached_property
    def service_bounds(self) -> tuple[float, float, float, float] | None:
        """The bounding box of the top cells (towns, stations): the service area, if any."""
        import shapely

        geoms = [lay.index.geoms for kind, lay in self.layers.items()
                 if kind in ("town", "station")]
        return tuple(shapely.total_bounds(np.concatenate(geoms))) if geoms else None

    def assign_one(self, x: float, y: float) -> dict[str, str | None]:
        """Per layer, the business id covering one point (None where no cell does)."""
        out: dict[str, str | None] = {}
        for kind, layer in self.layers.items():
            i = layer.index.assign_one(x, y)
            out[kind] = None if i < 0 else layer.ids[i]
        return out
