"""Balanced districting: N contiguous regions of blocks, households within a tolerance.

- :mod:`~gridsvc.domain.districting.regions`: :func:`partition` and :func:`apportion`, the
  method and its objective.
- :mod:`~gridsvc.domain.districting.graph`: :class:`BlockGraph`, the blocks and their adjacency.
- :mod:`~gridsvc.domain.districting.search`: start partitions and the local search.
- :mod:`~gridsvc.domain.districting.blocks`: blocks cut from a parent cell (villages, or house
  clusters along roads), and the regions' geometries.
"""

from gridsvc.domain.districting.graph import BlockGraph
from gridsvc.domain.districting.regions import TOLERANCE, Districting, apportion, partition

__all__ = ["TOLERANCE", "BlockGraph", "Districting", "apportion", "partition"]
