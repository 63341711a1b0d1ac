"""A CRS as a file states it (a PROJJSON document), made a pyproj CRS only when asked.

Importing pyproj and parsing a CRS costs tens of milliseconds, a tenth of a cached
``gridsvc assign --cells`` run. In that run the points file and the cells' index usually state
the same CRS, in the same PROJJSON document (both written by pyproj): the points are then in
the cells' CRS and need no conversion, whatever the CRS is, and nothing needs pyproj.
:class:`LazyCRS` answers that question (:meth:`LazyCRS.same_document`) and whether the CRS is
geographic from the document itself; anything else goes to the pyproj CRS, made on first use,
so a LazyCRS serves wherever a ``pyproj.CRS`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyproj import CRS

# PROJJSON object types whose kind is certain from the document alone.
_GEOGRAPHIC, _PROJECTED = "GeographicCRS", "ProjectedCRS"


class LazyCRS:
    """A PROJJSON document standing for the pyproj CRS it describes.

    Parameters
    ----------
    document
        The PROJJSON, as read (e.g. from GeoParquet metadata); not changed.

    Raises
    ------
    pyproj.exceptions.CRSError
        Only when the pyproj CRS is made (first use beyond :meth:`same_document` and
        :attr:`is_geographic`), if the document is not one pyproj reads. Callers that must
        report a bad CRS early call :meth:`check`.

    Examples
    --------
    >>> a = LazyCRS({"type": "ProjectedCRS", "name": "CGCS2000 / 3-degree Gauss-Kruger CM 120",
    ...              "id": {"authority": "EPSG", "code": 4549}})
    >>> a.same_document(LazyCRS(dict(a.document))), a.is_geographic
    (True, False)
    """

    __slots__ = ("_crs", "document")

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._crs: CRS | None = None

    @property
    def crs(self) -> CRS:
        """The pyproj CRS (made on first use)."""
        if self._crs is None:
            from pyproj import CRS

            self._crs = CRS.from_json_dict(self.document)
        return self._crs

    def check(self) -> LazyCRS:
        """Make the pyproj CRS now (raising ``CRSError`` for a bad document); self."""
        _ = self.crs
        return self

    def same_document(self, other: object) -> bool:
        """Whether ``other`` is a LazyCRS of the same document (then surely the same CRS)."""
        return isinstance(other, LazyCRS) and other.document == self.document

    @property
    def is_geographic(self) -> bool:
        kind = self.document.get("type")
        if kind == _GEOGRAPHIC:
            return True
        if kind == _PROJECTED:
            return False
        return self.crs.is_geographic

    def equals(self, other: Any, ignore_axis_order: bool = False) -> bool:
        """As ``pyproj.CRS.equals``; without pyproj for the same document."""
        if self.same_document(other):
            return True
        return self.crs.equals(as_pyproj(other), ignore_axis_order=ignore_axis_order)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in LazyCRS.__slots__:
            raise AttributeError(name)
        return getattr(self.crs, name)

    def __eq__(self, other: object) -> bool:
        return self.same_document(other) or self.crs == as_pyproj(other)

    def __hash__(self) -> int:
        return hash(self.crs)

    def __str__(self) -> str:
        return str(self.crs)

    def __repr__(self) -> str:
        return repr(self.crs)

    def __reduce__(self) -> tuple:
        return (LazyCRS, (self.document,))


def linear_unit(crs: Any) -> float:
    """Metres per unit of the first axis of a projected CRS (1.0 when it states no axes); a
    :class:`LazyCRS` whose document says ``metre`` or gives the factor answers without pyproj.

    >>> linear_unit(LazyCRS({"type": "ProjectedCRS", "coordinate_system": {
    ...     "axis": [{"name": "Easting", "unit": "metre"}]}}))
    1.0
    """
    if isinstance(crs, LazyCRS):
        axes = crs.document.get("coordinate_system", {}).get("axis") or []
        unit = axes[0].get("unit") if axes and isinstance(axes[0], dict) else None
        if unit == "metre":
            return 1.0
        if isinstance(unit, dict) and unit.get("type") == "LinearUnit" and isinstance(
                unit.get("conversion_factor"), int | float):
            return float(unit["conversion_factor"])
        crs = crs.crs
    return crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0


def as_pyproj(crs: Any) -> Any:
    """``crs`` itself, or the pyproj CRS of a :class:`LazyCRS`."""
    return crs.crs if isinstance(crs, LazyCRS) else crs
