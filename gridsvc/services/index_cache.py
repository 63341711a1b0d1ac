"""The index of a cells file, cached on disk and keyed by the file's content.

``gridsvc assign --cells`` run again on the same cells file (the usual case: one city's grids,
many files of points) opens the index saved by the first run instead of reading, checking and
indexing the cells again (:mod:`gridsvc.domain.assign.store`). The key is a BLAKE2 hash of the
file's bytes (a Shapefile's sidecar files included), the id field and the index format, so an
edited file, even one with the same name, size and time, gets a new index; the entry of the old
content is left to age out. At most :data:`MAX_ENTRIES` indexes are kept, the least recently
used removed first.

Where: ``--index-cache DIR``, else ``$GRIDSVC_INDEX_CACHE``, else
``$XDG_CACHE_HOME/gridsvc/cells-index`` (``~/.cache/gridsvc/cells-index``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from gridsvc.domain.assign import store
from gridsvc.domain.assign.kernel import Target
from gridsvc.domain.assign.layers import Layer
from gridsvc.domain.io.arrow_io import arrow_array

#: Indexes kept; a 10,000-cell city's takes about 150 MB.
MAX_ENTRIES = 8
_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")
log = logging.getLogger(__name__)
_saving: list[threading.Thread] = []


def default_dir() -> Path:
    """Where indexes are cached when no folder is given."""
    if os.environ.get("GRIDSVC_INDEX_CACHE"):
        return Path(os.environ["GRIDSVC_INDEX_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gridsvc" / "cells-index"


def file_key(path: Path, id_field: str, crs: str | None = None) -> str:
    """The cache key of a cells file: its bytes (and a Shapefile's sidecars), the id field,
    the CRS it is read in (None: its own) and the index format."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"format {store.FORMAT}\nid {id_field}\ncrs {crs}\n".encode())
    files = [path]
    if path.suffix.lower() == ".shp":
        files += [p for s in _SIDECARS for p in (path.with_suffix(s),) if p.exists()]
    for file in files:
        digest.update(f"{file.suffix.lower()}\n".encode())
        with file.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def cells_target(path: Path, cell_id: str, names: tuple[str, str, str],
                 cache: Path | None, *, crs: str | None = None) -> tuple[Target, int, bool]:
    """The target (index and output values) of a cells file, from the cache when it holds
    one for this content.

    Parameters
    ----------
    crs
        The cells' CRS when it overrides their file's (e.g. ``gcj02``).
    cache
        The cache folder; None builds the index for this run only (coarser buckets, see
        ``CellIndex.build(one_off=True)``) and saves nothing.

    Returns
    -------
    target, merged, cached
        ``merged``: features merged into another with the same id; ``cached``: whether the
        index came from the cache.

    Raises
    ------
    InvalidInput
        As :func:`gridsvc.domain.cells_file.read_cells_file`; nothing is cached then.
    """
    if cache is None:
        layer, values, merged = _build(path, cell_id, crs, one_off=True)
        return Target(layer, values, *names), merged, False
    folder = cache / file_key(path, cell_id, crs)
    if (folder / "index.json").exists():
        try:
            layer, values, merged = store.load(folder)
        except (OSError, ValueError) as exc:  # a damaged entry: build it again
            log.warning("index cache entry %s unreadable (%s): rebuilding", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            os.utime(folder)  # recently used
            return Target(layer, values, *names), merged, True
    layer, values, merged = _build(path, cell_id, crs, one_off=False)
    # Saved beside the assignment (numpy and file writes release the GIL): the caller waits
    # for it with wait_saved() before it ends.
    saver = threading.Thread(target=_save, args=(cache, folder, layer, values, merged),
                             name="gridsvc-index-save")
    saver.start()
    _saving.append(saver)
    return Target(layer, values, *names), merged, False


def wait_saved() -> None:
    """Wait until every index being saved by this process is on disk."""
    while _saving:
        _saving.pop().join()


def _build(path: Path, cell_id: str, crs: str | None, one_off: bool):
    from gridsvc.domain.io.cells_file import read_cells_file

    found = read_cells_file(path, cell_id, crs)
    layer = Layer.build(path.stem, found.ids, found.geoms, found.crs, one_off=one_off)
    # The output says each id as the file typed it; the layer keeps its ids sorted as text.
    position = {ident: k for k, ident in enumerate(found.ids.tolist())}
    values = found.values.take(arrow_array(np.array(
        [position[i] for i in layer.ids.tolist()], dtype=np.int64)))
    return layer, values, found.merged


def _save(cache: Path, folder: Path, layer: Layer, values, merged: int) -> None:
    """Write the entry beside its place and rename it in (a reader sees all or nothing; of
    two processes saving the same entry, the first rename wins), then drop old entries."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache))
    except OSError as exc:
        log.warning("index cache %s not writable (%s): index not cached", cache, exc)
        return
    try:
        store.save(tmp, layer, values, merged)
        os.rename(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "index.json").exists():
            log.warning("index not cached in %s: %s", cache, exc)
        return
    _prune(cache)


def _prune(cache: Path) -> None:
    entries = sorted((p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)
