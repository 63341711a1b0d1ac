"""The blocks a districting is made of, as a graph: :class:`BlockGraph`.

Its own module so that the search (:mod:`gridsvc.domain.districting.search`) and the partition
(:mod:`gridsvc.domain.districting.regions`) both use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Share of a boundary's length that counts when the boundary runs along a road.
ROAD_WEIGHT = 0.1


@dataclass(frozen=True)
class BlockGraph:
    """Blocks and their adjacency, in metres.

    Attributes
    ----------
    ids
        One id per block (a village id, or a piece's id); used in messages.
    households
        Households per block (integers >= 0).
    x, y, area
        Centroid (m) and area (m²) per block.
    edges
        ``(m, 2)`` int array of touching block pairs ``i < j``.
    length, road
        Per edge: metres of shared boundary, and of those the metres along a road. An edge of
        length 0 links parts that do not touch (islands linked to their nearest block).
    """

    ids: list[str]
    households: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    edges: np.ndarray
    length: np.ndarray
    road: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def adjacency(self) -> list[list[tuple[int, float]]]:
        """Per block: ``(neighbour, boundary cost)`` pairs; a boundary's cost is its length,
        of which a stretch along a road counts only :data:`ROAD_WEIGHT`."""
        cost = self.length - (1.0 - ROAD_WEIGHT) * np.minimum(self.road, self.length)
        adj: list[list[tuple[int, float]]] = [[] for _ in range(len(self))]
        for (i, j), c in zip(self.edges.tolist(), cost.tolist(), strict=True):
            adj[i].append((j, c))
            adj[j].append((i, c))
        return adj
