"""The cells of the demo town as sets of atoms: villages, towns, grids and beats.

The governance tree is nested by construction: villages are grown over all atoms from the village
centres, towns are grown over the village adjacency graph, and a few villages are split into two
grids. Beats are grown independently over all atoms, so several grids straddle beats; then one
atom is taken out of a beat (the deliberate gap) and one atom is given to a second beat (the
deliberate overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from .geometry import (
    RegionGrowthError,
    SmoothField,
    adjacency,
    connected,
    grow_regions,
    is_simple_region,
    union_atoms,
)
from .settlement import MOUNTAIN, ROAD, XIANG_SEAT, ZHEN_SEAT

ATTEMPTS = 30
KIND_TARGET = {ZHEN_SEAT: 0.55, XIANG_SEAT: 0.8, ROAD: 0.85, MOUNTAIN: 1.5}


@dataclass
class Cells:
    """Atoms and the cells built from them (metric coordinates).

    Attributes
    ----------
    village_of_atom, grid_of_atom, beat_of_atom : numpy.ndarray
        Cell index of every atom; ``beat_of_atom`` is -1 for the gap atom.
    town_of_village, village_of_grid : numpy.ndarray
        Parent index of every village and grid.
    overlap_atom, overlap_beat : int
        The atom that also belongs to a second beat, and that beat.
    gap_atom : int
        The atom that belongs to no beat.
    """

    atoms: np.ndarray
    outline: Polygon
    neighbours: list[np.ndarray]
    village_of_atom: np.ndarray | None = None
    town_of_village: np.ndarray | None = None
    grid_of_atom: np.ndarray | None = None
    village_of_grid: np.ndarray | None = None
    beat_of_atom: np.ndarray | None = None
    gap_atom: int = -1
    overlap_atom: int = -1
    overlap_beat: int = -1

    def __post_init__(self):
        self.centroids = shapely.get_coordinates(shapely.centroid(self.atoms))
        self.areas = shapely.area(self.atoms)

    @classmethod
    def from_atoms(cls, atoms: np.ndarray, outline: Polygon) -> Cells:
        """Build the adjacency graph of `atoms`."""
        return cls(atoms=atoms, outline=outline, neighbours=adjacency(atoms))

    def atom_at(self, xy: np.ndarray) -> np.ndarray:
        """Index of the atom under each point (nearest atom for the rare point on an edge)."""
        return shapely.STRtree(self.atoms).nearest(shapely.points(xy))

    def polygons(self, labels: np.ndarray, n: int) -> np.ndarray:
        """Coverage union of the atoms of every label 0..n-1."""
        return np.array([union_atoms(self.atoms, np.flatnonzero(labels == k)) for k in range(n)])

    def beat_polygons(self, n_beats: int) -> np.ndarray:
        """Beat polygons, the overlap atom included in its second beat."""
        out = []
        for b in range(n_beats):
            idx = np.flatnonzero(self.beat_of_atom == b)
            if b == self.overlap_beat:
                idx = np.r_[idx, self.overlap_atom]
            out.append(union_atoms(self.atoms, idx))
        return np.array(out)

    def beats_of_atom(self) -> list[tuple[int, ...]]:
        """The beats covering every atom: () for the gap, two for the overlap atom."""
        out = [(int(b),) if b >= 0 else () for b in self.beat_of_atom]
        if self.overlap_atom >= 0:
            out[self.overlap_atom] = tuple(sorted((*out[self.overlap_atom], self.overlap_beat)))
        return out

    def _noise(self, rng: np.random.Generator, strength: float) -> np.ndarray:
        bend = SmoothField(rng, (5000.0, 3000.0, 1800.0, 1100.0))
        x, y = self.centroids.T
        return np.exp(strength * bend(x, y)) * rng.uniform(0.97, 1.03, len(self.atoms))

    def _grow(self, members, seeds, targets, weights, rng, capacity=None, crossing_cost=0.0):
        """Grow regions until all are simple polygons; returns labels of `members`."""
        for _ in range(ATTEMPTS):
            noise = self._noise(rng, 0.35)
            try:
                labels = grow_regions(
                    self.neighbours,
                    self.centroids,
                    members,
                    seeds,
                    targets,
                    weights,
                    noise,
                    capacity,
                    self.village_of_atom,
                    crossing_cost,
                )
            except RegionGrowthError:
                continue
            polys = [union_atoms(self.atoms, members[labels == k]) for k in range(len(seeds))]
            if all(is_simple_region(p) for p in polys):
                return labels
        raise RegionGrowthError("no partition into simple regions found")

    def grow_villages(self, centres: np.ndarray, kinds: list[str], rng: np.random.Generator):
        """One village per centre, grown over all atoms, sized by the kind of village."""
        seeds = self.atom_at(centres)
        targets = np.array([KIND_TARGET[k] for k in kinds]) * rng.uniform(0.8, 1.25, len(kinds))
        members = np.arange(len(self.atoms))
        self.village_of_atom = self._grow(members, seeds, targets, self.areas, rng)

    def group_towns(self, centres: np.ndarray, sizes: tuple[int, int], rng: np.random.Generator):
        """Group villages into the 镇 (around village 0) and the 乡 (around village 1).

        The 乡 is grown alone over the village adjacency graph to exactly ``sizes[1]`` villages,
        nearest (noisy distance) first, and the 镇 is the rest; growing both at once can box one
        in before it reaches its size.
        """
        n = len(centres)
        a = np.repeat(np.arange(len(self.atoms)), [len(nb) for nb in self.neighbours])
        b = np.concatenate(self.neighbours)
        va, vb = self.village_of_atom[a], self.village_of_atom[b]
        pairs = np.unique(np.c_[va, vb][va != vb], axis=0)
        graph = [pairs[pairs[:, 0] == v, 1] for v in range(n)]
        distance = np.hypot(*(centres - centres[1]).T)
        for _ in range(ATTEMPTS):
            priority = distance * rng.uniform(0.75, 1.25, n)
            towns = np.zeros(n, dtype=int)
            towns[1] = 1
            frontier = set(graph[1].tolist()) - {0}
            while towns.sum() < sizes[1] and frontier:
                v = min(frontier, key=lambda k: (priority[k], k))
                frontier.discard(v)
                towns[v] = 1
                frontier |= {int(k) for k in graph[v] if k != 0 and towns[k] == 0}
            town_atoms = towns[self.village_of_atom]
            if (
                towns.sum() == sizes[1]
                and connected(graph, np.flatnonzero(towns == 0))
                and all(
                    is_simple_region(union_atoms(self.atoms, np.flatnonzero(town_atoms == t)))
                    for t in (0, 1)
                )
            ):
                self.town_of_village = towns
                return
        raise RegionGrowthError("no contiguous pair of towns found")

    def split_grids(self, expected: np.ndarray, n_split: int, rng: np.random.Generator):
        """One grid per village, two grids in the `n_split` villages with most expected houses."""
        n_villages = int(self.village_of_atom.max()) + 1
        houses = np.bincount(self.village_of_atom, weights=expected, minlength=n_villages)
        split = set(np.argsort(-houses, kind="stable")[:n_split].tolist())
        grid_of_atom = np.full(len(self.atoms), -1)
        village_of_grid = []
        for v in range(n_villages):
            members = np.flatnonzero(self.village_of_atom == v)
            if v not in split:
                grid_of_atom[members] = len(village_of_grid)
                village_of_grid.append(v)
                continue
            c = self.centroids[members]
            first = members[np.argmax(np.hypot(*(c - c.mean(axis=0)).T))]
            second = members[np.argmax(np.hypot(*(c - self.centroids[first]).T))]
            # Balance the two grids by households, with a little weight on land area.
            weights = expected / max(expected[members].sum(), 1e-9)
            weights = weights + 0.3 * self.areas / self.areas[members].sum()
            labels = self._grow(members, np.array([first, second]), np.ones(2), weights, rng)
            for k in (0, 1):
                grid_of_atom[members[labels == k]] = len(village_of_grid)
                village_of_grid.append(v)
        self.grid_of_atom = grid_of_atom
        self.village_of_grid = np.array(village_of_grid)

    def grow_beats(
        self, n_beats: int, expected: np.ndarray, rng: np.random.Generator, crossing_cost=0.0
    ):
        """Beats grown over all atoms, ignoring grids, balanced by households and land area."""
        members = np.arange(len(self.atoms))
        weights = 0.7 * expected / expected.sum() + 0.3 * self.areas / self.areas.sum()
        for _ in range(ATTEMPTS):
            # Farthest-point seeds spread the beats over the whole town.
            seeds = [int(rng.integers(len(self.atoms)))]
            for _ in range(n_beats - 1):
                d = np.min(
                    [np.hypot(*(self.centroids - self.centroids[s]).T) for s in seeds], axis=0
                )
                seeds.append(int(np.argmax(d * rng.uniform(0.7, 1.0, len(d)))))
            labels = self._grow(
                members, np.array(seeds), np.ones(n_beats), weights, rng, None, crossing_cost
            )
            self.beat_of_atom = labels
            if len(self.straddling_grids(n_beats)) >= 4:
                return
        raise RegionGrowthError("beats do not straddle enough grids")

    def beat_shares(self, n_beats: int) -> np.ndarray:
        """(n_grids, n_beats) share of every grid's area in every beat (covers semantics)."""
        n_grids = len(self.village_of_grid)
        shares = np.zeros((n_grids, n_beats))
        for atom, beats in enumerate(self.beats_of_atom()):
            for b in beats:
                shares[self.grid_of_atom[atom], b] += self.areas[atom]
        return shares / np.bincount(self.grid_of_atom, weights=self.areas)[:, None]

    def straddling_grids(self, n_beats: int, min_share: float = 0.01) -> list[int]:
        """Grids with more than `min_share` of their area in each of two or more beats."""
        shares = self.beat_shares(n_beats)
        return np.flatnonzero((shares > min_share).sum(axis=1) >= 2).tolist()

    def carve_gap_and_overlap(self, expected: np.ndarray, rng: np.random.Generator):
        """Take one atom out of a beat (gap) and give another atom to a second beat (overlap).

        Both atoms lie on a beat boundary, away from the outer border (not on it, nor next to an
        atom on it), in a settled place, far from each other; every beat stays one hole-free
        polygon.
        """
        on_border = shapely.intersects(self.atoms, self.outline.exterior)
        near_border = on_border.copy()
        for a in np.flatnonzero(on_border):
            near_border[self.neighbours[a]] = True
        beat = self.beat_of_atom
        candidates = [
            a
            for a in rng.permutation(len(self.atoms))
            if not near_border[a]
            and 1.0 <= expected[a] <= 20.0
            and any(beat[b] != beat[a] for b in self.neighbours[a])
        ]
        for a in candidates:
            rest = np.flatnonzero((beat == beat[a]) & (np.arange(len(beat)) != a))
            if connected(self.neighbours, rest) and is_simple_region(union_atoms(self.atoms, rest)):
                self.gap_atom = int(a)
                break
        else:
            raise RegionGrowthError("no place for the beat gap")
        far = np.hypot(*(self.centroids - self.centroids[self.gap_atom]).T) > 3000.0
        for a in candidates:
            others = sorted({int(beat[b]) for b in self.neighbours[a] if beat[b] != beat[a]})
            if not far[a] or not others:
                continue
            second = others[0]
            grown = np.r_[np.flatnonzero(beat == second), a]
            if is_simple_region(union_atoms(self.atoms, grown)):
                self.overlap_atom, self.overlap_beat = int(a), second
                break
        else:
            raise RegionGrowthError("no place for the beat overlap")
        self.beat_of_atom = beat.copy()
        self.beat_of_atom[self.gap_atom] = -1
