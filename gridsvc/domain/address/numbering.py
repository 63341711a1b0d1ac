"""House numbering inside a village: west to east, north to south, in serpentine rows.

The rule (DESIGN.md): buildings inside a village are numbered west to east, north to south, and a
new building takes the next free number instead of renumbering the village. Houses are cut into
horizontal bands (rows) of ``row_height_m`` from the northernmost house down; the first row is
walked west to east, the next east to west, and so on (a serpentine, the way a numbering team
walks a village, so consecutive numbers stay neighbours at the row ends too).

Pure numpy: coordinates come in metres; :func:`to_local_metres` makes them from lon/lat.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

#: Numbers at or below this mean "not numbered yet" (the ``house.number`` column is NOT NULL,
#: so a house waiting for its number is stored with 0).
UNNUMBERED = 0


def to_local_metres(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat degrees to a local metric frame centred on their centroid.

    An equirectangular approximation: ``x = R * dlon * cos(lat0)``, ``y = R * dlat`` (radians,
    ``R`` the mean Earth radius, ``lat0`` the mean latitude). Across a village (a few km) the
    scale error is far below a metre per km, which is plenty to tell rows and their order apart;
    it is not meant for areas hundreds of km wide. Works for EPSG:4490 and WGS84 alike.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, same length.

    Returns
    -------
    x, y : numpy.ndarray
        Metres east and north of the centroid. Empty input gives empty arrays.

    Examples
    --------
    >>> x, y = to_local_metres([120.0, 120.001], [30.0, 30.0])
    >>> [round(float(v), 1) for v in x], [float(v) for v in y]
    ([-48.1, 48.1], [0.0, 0.0])
    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        raise ValueError(f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}")
    if lon_a.size == 0:
        return np.empty(0), np.empty(0)
    lon0, lat0 = lon_a.mean(), lat_a.mean()
    x = EARTH_RADIUS_M * np.radians(lon_a - lon0) * np.cos(np.radians(lat0))
    y = EARTH_RADIUS_M * np.radians(lat_a - lat0)
    return x, y


def serpentine_order(x: ArrayLike, y: ArrayLike, row_height_m: float = 80.0) -> np.ndarray:
    """Indices of points in serpentine order: rows north to south, alternating direction.

    Row ``k`` holds the points with ``k * h <= ymax - y < (k + 1) * h`` (``h`` the row height,
    ``ymax`` the northernmost point), so a point on a band edge belongs to the row south of it.
    Empty bands are skipped: directions alternate over the rows that have points, the first
    (northernmost) one going west to east.

    Parameters
    ----------
    x, y
        Coordinates in metres (x east, y north), same length.
    row_height_m
        Height of a row, metres; must be positive.

    Returns
    -------
    numpy.ndarray
        A permutation of ``range(n)`` (int64): the first index is the first point walked.
        Points with the same position along their row (same x, or the very same point) keep
        their input order.

    Examples
    --------
    Two rows of two houses: the north row west to east, then the south row east to west.

    >>> serpentine_order([0, 10, 0, 10], [100, 100, 0, 0], row_height_m=50)
    array([0, 1, 3, 2])
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of one length: {xa.shape} vs {ya.shape}")
    if not row_height_m > 0:
        raise ValueError(f"row_height_m must be positive, got {row_height_m}")
    if xa.size == 0:
        return np.empty(0, dtype=np.int64)
    band = np.floor((ya.max() - ya) / row_height_m).astype(np.int64)
    # Dense rank of occupied bands: a gap between rows must not flip the walking direction.
    row = np.unique(band, return_inverse=True)[1].reshape(-1)
    along = np.where(row % 2 == 0, xa, -xa)
    # lexsort: the last key is the primary one; the input index settles any remaining tie.
    return np.lexsort((np.arange(xa.size), along, row)).astype(np.int64)


def number_houses(existing: ArrayLike, x: ArrayLike, y: ArrayLike,
                  row_height_m: float = 80.0) -> np.ndarray:
    """House numbers for a village: keep the numbers given, give new houses the next free ones.

    Parameters
    ----------
    existing
        Current numbers (int); ``0`` or less (e.g. ``-1``) means "not numbered yet".
    x, y
        Coordinates in metres (see :func:`to_local_metres`), same length as ``existing``.
    row_height_m
        Row height for :func:`serpentine_order`.

    Returns
    -------
    numpy.ndarray
        The numbers (int64), aligned with the input.

    Notes
    -----
    - Houses with a number keep it; the village is never renumbered.
    - Unnumbered houses get ``max(existing) + 1, + 2, ...`` in the order the serpentine walk over
      **all** the village's houses meets them (so rows are the village's rows, not rows of the new
      houses alone). With no numbered house, that is ``1..n`` in serpentine order.
    - Gaps below the maximum are not reused: a freed number may still be on a sign or in a
      register, so giving it to another house would make an address ambiguous.
    - Duplicates among existing numbers are left as they are (e.g. two houses 12); sub-numbers
      (12-1, 12-2) are a different column and never touched here.
    - Ties in position are broken by input order.

    Examples
    --------
    >>> number_houses([0, 0, 0, 0], [0, 10, 0, 10], [100, 100, 0, 0], row_height_m=50)
    array([1, 2, 4, 3])
    >>> number_houses([7, 0, 3, -1], [0, 10, 0, 10], [100, 100, 0, 0], row_height_m=50)
    array([7, 8, 3, 9])
    """
    numbers = np.asarray(existing, dtype=np.int64)
    if numbers.ndim != 1 or numbers.shape != np.shape(x):
        raise ValueError(f"existing must be 1-D and as long as x: {numbers.shape} vs "
                         f"{np.shape(x)}")
    order = serpentine_order(x, y, row_height_m)
    result = numbers.copy()
    new = order[numbers[order] <= UNNUMBERED]
    start = int(numbers.max(initial=UNNUMBERED))
    result[new] = start + 1 + np.arange(new.size, dtype=np.int64)
    return result
