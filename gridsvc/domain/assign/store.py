"""A layer's index saved to a folder and opened again without rebuilding it.

Building the index of a 10,000-cell city takes about half a second, reading and checking its
file another tenth: more than a whole assignment of a million points. Saved once, the index
opens in milliseconds: its arrays are ``.npy`` files opened memory-mapped (the operating system
reads only the pages a query touches, and processes on one machine share them), the ids, the
values as the file typed them and the cells' geometries (WKB) an Arrow IPC file. The outline
used for the nearest cell is saved too.

Layout of the folder: ``index.json`` (format, kind, CRS, grid, counts), one ``.npy`` per array,
``cells.arrow``. :func:`save` writes into the folder given, which the caller makes fresh (and
renames into place, so a folder is whole or absent); :func:`load` trusts it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gridsvc.domain.assign.index import CellIndex, _Edges
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.assign.nearest import OutlineEdges
from gridsvc.domain.geo.lazy_crs import LazyCRS

#: Bumped whenever the layout or the meaning of a saved array changes: older folders are
#: then simply not found.
FORMAT = 1
_INDEX_ARRAYS = ("state", "slot", "cand_ptr", "cand_cell", "cand_edge_start",
                 "cand_edge_count")
_EDGE_ARRAYS = ("ax", "ay", "bx", "by", "cell", "side")
_OUTLINE_ARRAYS = ("ax", "ay", "bx", "by", "cell")


def save(folder: Path, layer: Layer, values: pa.Array, merged: int = 0) -> None:
    """Save ``layer`` (its index, ids, geometries and outline) and the ids' ``values``.

    Parameters
    ----------
    folder
        An empty folder.
    values
        The ids as the cells file typed them, in the order of ``layer.ids``.
    merged
        Features merged into another with the same id (reported again on load).
    """
    index = layer.index
    arrays: dict[str, np.ndarray] = {name: getattr(index, name) for name in _INDEX_ARRAYS}
    arrays |= {f"edges_{n}": getattr(index.edges, n) for n in _EDGE_ARRAYS}
    arrays |= {f"outline_{n}": getattr(index.outline, n) for n in _OUTLINE_ARRAYS}
    import shapely

    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    cells = pa.table({"id": pa.array(index.ids.tolist(), pa.string()), "value": values,
                      "wkb": pa.array(shapely.to_wkb(index.geoms).tolist(), pa.binary())})
    with pa.OSFile(str(folder / "cells.arrow"), "wb") as sink, \
            pa.ipc.new_file(sink, cells.schema) as writer:
        writer.write_table(cells)
    meta = {"format": FORMAT, "kind": layer.kind, "crs": layer.crs.to_json_dict(),
            "x0": index.x0, "y0": index.y0, "size": index.size, "nx": index.nx,
            "ny": index.ny, "merged": merged, "bounds": list(index.bounds)}
    (folder / "index.json").write_text(json.dumps(meta))


def load(folder: Path) -> tuple[Layer, pa.Array, int]:
    """Open a folder written by :func:`save`: the layer, the values and the merged count.

    Raises
    ------
    ValueError
        When the folder holds another format.
    """
    meta: dict[str, Any] = json.loads((folder / "index.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder} holds index format {meta.get('format')}, not {FORMAT}")

    def array(name: str) -> np.ndarray:
        # A plain ndarray over the mapped file: np.memmap's own indexing goes through Python
        # and its results are memmaps too, which costs on every lookup.
        return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False))

    with pa.memory_map(str(folder / "cells.arrow")) as source:
        cells = pa.ipc.open_file(source).read_all()
    ids = np.array(cells.column("id").to_pylist(), dtype=object)
    wkb = cells.column("wkb")

    def geoms() -> np.ndarray:  # shapely and GEOS only for the points that need them
        import shapely

        return shapely.from_wkb(np.array(wkb.to_pylist(), dtype=object))

    edges = _Edges(*(array(f"edges_{n}") for n in _EDGE_ARRAYS))
    bounds = meta.get("bounds")
    index = CellIndex(ids, None, float(meta["x0"]), float(meta["y0"]), float(meta["size"]),
                      int(meta["nx"]), int(meta["ny"]),
                      *(array(name) for name in _INDEX_ARRAYS), edges, _load_geoms=geoms,
                      _bounds=tuple(float(v) for v in bounds) if bounds else None)
    index._outline = OutlineEdges(*(array(f"outline_{n}") for n in _OUTLINE_ARRAYS))
    # The CRS document as saved (pyproj's own): read by pyproj only if something asks.
    layer = Layer(meta["kind"], LazyCRS(meta["crs"]), index, source=folder)
    return layer, cells.column("value").combine_chunks(), int(meta["merged"])


_opened: dict[Path, Layer] = {}
_opened_lock = threading.Lock()


def opened(folder: Path) -> Layer:
    """The layer saved in ``folder``, opened once per process (how a pickled layer with a
    ``source`` is unpickled: a Dask worker opens a cached index once, whatever the tasks)."""
    with _opened_lock:
        layer = _opened.get(folder)
        if layer is None:
            layer = _opened[folder] = load(folder)[0]
        return layer
