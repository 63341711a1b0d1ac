"""Point-to-cell assignment: which cell of a layer covers each point (see ``index``)."""

from gridsvc.domain.assign.index import CellIndex

__all__ = ["CellIndex"]
