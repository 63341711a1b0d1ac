"""Layers of cells in a known CRS: assignment, and nearest cell with distances in metres."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from pyproj import CRS, Transformer

from gridsvc.domain.assign.index import CellIndex


def metric_crs_for(crs: CRS, bounds: tuple[float, float, float, float]) -> CRS | None:
    """A CRS in metres for measuring distances near ``bounds`` (given in ``crs``).

    None when ``crs`` is already projected in metres. For a geographic CRS: an azimuthal
    equidistant projection centred on the bounds (distances from the centre are exact, and
    within a city's extent the error elsewhere stays far below a metre per kilometre).
    """
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return None
    if not crs.is_geographic:
        return CRS.from_user_input("EPSG:3857") if crs.is_projected else None
    lon = (bounds[0] + bounds[2]) / 2
    lat = (bounds[1] + bounds[3]) / 2
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m")


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
    crs: CRS
    index: CellIndex
    _metric: tuple[Transformer, CellIndex] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, kind: str, ids: Sequence[str], geoms: Sequence[shapely.Geometry],
              crs: CRS | str | int) -> Layer:
        return cls(kind, CRS.from_user_input(crs), CellIndex.build(ids, geoms))

    @property
    def ids(self) -> np.ndarray:
        return self.index.ids

    def assign(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index into :attr:`ids` of the cell covering each point; -1 for none."""
        return self.index.assign(x, y)

    def nearest(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest cell (index into :attr:`ids`) and the distance to it in metres."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if self._metric is None:
            target = metric_crs_for(self.crs, tuple(shapely.total_bounds(self.index.geoms)))
            if target is None:
                self._metric = (None, self.index)  # type: ignore[assignment]
            else:
                to_m = Transformer.from_crs(self.crs, target, always_xy=True)
                geoms = shapely.transform(self.index.geoms, lambda c: np.column_stack(
                    to_m.transform(c[:, 0], c[:, 1])))
                self._metric = (to_m, CellIndex.build(self.index.ids, geoms))
        to_m, metric = self._metric
        if to_m is not None:
            x, y = to_m.transform(x, y)
        return metric.nearest(x, y)


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
