"""Assembly of the demo town: runs the steps in order and builds the layer tables.

The steps draw from one `numpy.random.Generator` in a fixed order, so a seed fully determines
the town. Everything is computed in the metric CRS and converted to EPSG:4490 (coordinates
rounded to 1e-7 degree) at the very end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from . import names
from .cells import Cells
from .entrances import entrance_rng, place_entrances
from .features import (
    compound_buildings,
    draw_clear,
    place_cameras,
    place_compounds,
    place_offices,
    place_patrol_points,
)
from .findings import findings
from .geometry import as_multipolygon, make_atoms, make_outline, project_lonlat
from .houses import N_HOUSES, compound_addresses, house_aliases, number_houses, populate
from .incidents import make_incidents
from .model import LAYERS, DemoTown, as_written, frame, to_geographic
from .people import make_people
from .roads import Road, county_road, town_streets, township_roads, village_road
from .settlement import (
    MOUNTAIN,
    ROAD,
    XIANG_SEAT,
    ZHEN_SEAT,
    HousePlacer,
    expected_houses,
    house_mixture,
    place_village_centres,
    segments,
)
from .tables import beat_table, grid_table, name_villages, station_table, town_table, village_table

DEFAULT_SEED = 20261123
CENTRE_LONLAT = (119.0, 28.2)
TOWN_AREA_M2 = 244e6
N_ATOMS = 4000
N_BEATS = 5
N_TWO_GRID_VILLAGES = 9
BEAT_CROSSING_COST_M = 4000.0
"""Extra priority for a beat growing into another village: beats partly follow village lines."""
STAY_SHARE = {ZHEN_SEAT: 0.84, XIANG_SEAT: 0.78, ROAD: 0.74, MOUNTAIN: 0.62}
"""Share of registered people living at home, by kind of village (the rest work away)."""


def _points(df: pd.DataFrame) -> np.ndarray:
    return shapely.points(df[["x", "y"]].to_numpy())


@dataclass
class _Layout:
    outline: shapely.Polygon
    county: shapely.LineString
    roads: list[Road]
    centres: np.ndarray
    kinds: list[str]


def _layout(rng: np.random.Generator) -> _Layout:
    """Outline, roads and village centres: villages settle along the roads."""
    centre = project_lonlat(*CENTRE_LONLAT)
    axis = float(rng.uniform(10.0, 30.0))
    outline = make_outline(rng, centre, TOWN_AREA_M2, axis)
    county = county_road(outline, axis, rng)
    township = township_roads(county, outline, rng)
    centres, kinds = place_village_centres(outline, county, township, rng)
    roads = [Road("county", county, name=names.COUNTY_ROAD_NAME)]
    roads += [Road("township", line) for line in township]
    streets = town_streets(county, centres[0], rng)
    roads += [Road("village", s, name=n) for s, n in zip(streets, names.TOWN_STREETS, strict=True)]
    network = shapely.union_all([county, *township])
    for v in range(2, len(centres)):
        roads.append(Road("village", village_road(centres[v], network, outline, rng), village=v))
    return _Layout(outline, county, roads, centres, kinds)


def _cells(layout: _Layout, rng: np.random.Generator) -> tuple[Cells, list]:
    """Villages, towns, grids and beats as sets of atoms; returns the cells and the mixture."""
    cells = Cells.from_atoms(make_atoms(layout.outline, N_ATOMS, rng), layout.outline)
    cells.grow_villages(layout.centres, layout.kinds, rng)
    cells.group_towns(layout.centres, (names.ZHEN.n_villages, names.XIANG.n_villages), rng)
    mixture = house_mixture(layout.centres, layout.kinds, layout.roads, rng)
    expected = expected_houses(cells.atoms, mixture, N_HOUSES, rng)
    cells.split_grids(expected, N_TWO_GRID_VILLAGES, rng)
    cells.grow_beats(N_BEATS, expected, rng, BEAT_CROSSING_COST_M)
    cells.carve_gap_and_overlap(expected, rng)
    return cells, mixture


def _place(layout, cells, polys, mixture, rng):
    """Compounds, offices and house points, all clear of cell boundaries."""
    compounds = place_compounds(
        polys["villages"][0].geoms[0], layout.county, layout.centres[0], layout.roads, rng
    )
    no_go = shapely.union_all(shapely.buffer(compounds["geometry"].to_numpy(), 4.0))
    boundaries = segments([*polys["villages"], *polys["grids"], *polys["beats"]])
    placer = HousePlacer(layout.outline, boundaries, layout.roads, no_go)
    offices = place_offices(placer, layout.centres[:2], rng)
    candidates, owner = compound_buildings(compounds)
    xy, compound = [], []
    for k in range(len(compounds)):
        got = placer.add(candidates[owner == k], len(candidates), check_no_go=False)
        xy.append(got)
        compound.append(np.full(len(got), k))
    free = placer.fill(mixture, N_HOUSES - sum(len(g) for g in xy), rng)
    xy = np.concatenate([*xy, free])
    compound = np.concatenate([*compound, np.full(len(free), -1)])
    return placer, compounds, offices, xy, compound


def _houses(layout, cells, xy, compound, village_names, villages, rng) -> pd.DataFrame:
    """The house table in metric coordinates (x, y), sorted and with ids."""
    atom = cells.atom_at(xy)
    village = cells.village_of_atom[atom]
    east = village_names.index(names.EAST_WEST_PAIR[1])
    number, sub = number_houses(as_written(xy), village, rng, forced={east: 203})
    kind = np.array(layout.kinds)[village]
    seat = village == 0
    near_county = shapely.distance(shapely.points(xy), layout.county) < 200.0
    # Rooms are let in the town seat, in compounds and along the county road.
    rental_weight = 1.0 + 5.0 * seat + 2.0 * (kind == XIANG_SEAT) + 2.0 * near_county
    rental_weight += 3.0 * (compound >= 0)
    building, unit, room = compound_addresses(xy, compound, rng)
    apartment = np.array([r is not None for r in room])
    stay = np.array([STAY_SHARE[k] for k in kind])
    people = populate(stay, rental_weight, seat + 0.01, apartment, rng)
    central = np.hypot(*(xy - layout.centres[0]).T) < 400.0
    near_seat = np.flatnonzero(seat & (compound < 0) & central)
    house = pd.DataFrame(
        {
            "village": village,
            "village_id": villages["id"].to_numpy()[village],
            "number": number,
            "sub_number": pd.array([1 if s else None for s in sub], dtype="Int64"),
            "building": building,
            "unit": unit,
            "room": room,
            "aliases": house_aliases(village, village_names, near_seat, rng),
            "compound_id": [f"C{c + 1:02d}" if c >= 0 else None for c in compound],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "atom": atom,
        }
    )
    house = pd.concat([house, people], axis=1)
    house["rental_stars"] = pd.array(
        [
            int(s) if r else None
            for s, r in zip(house["rental_stars"], house["is_rental"], strict=True)
        ],
        dtype="Int64",
    )
    house = house.sort_values(
        ["village_id", "number", "sub_number"], kind="stable", na_position="first"
    ).reset_index(drop=True)
    house.insert(0, "id", [f"H{k + 1:06d}" for k in range(len(house))])
    return house


def _sums(labels: np.ndarray, house: pd.DataFrame, index: np.ndarray, n: int) -> pd.DataFrame:
    """Households and residents per cell; house ``index[k]`` counts for cell ``labels[k]``."""
    return pd.DataFrame(
        {
            col: np.bincount(labels, weights=house[col].to_numpy()[index], minlength=n).astype(int)
            for col in ("households", "residents")
        }
    )


def _name_roads(
    layout: _Layout, cells: Cells, village_names: list[str], village_codes: list[str]
) -> pd.DataFrame:
    """Names and ids of the roads (sorts `layout.roads` into id order)."""
    for road in layout.roads:
        if road.village is not None:
            road.name = names.short(village_names[road.village]) + "村道"
    # County, township roads, streets, then village roads in village-code order.
    code = dict(enumerate(village_codes))
    layout.roads.sort(
        key=lambda r: (
            ("county", "township", "village").index(r.road_class),
            "" if r.village is None else code[r.village],
        )
    )
    for k, road in enumerate(r for r in layout.roads if r.road_class == "township"):
        ends = cells.village_of_atom[cells.atom_at(shapely.get_coordinates(road.line)[[0, -1]])]
        a, b = (names.short(village_names[v])[0] for v in ends)
        road.name = f"Y30{k + 1}{a}{b}线"
    out = pd.DataFrame(
        {
            "id": [f"R{k + 1:02d}" for k in range(len(layout.roads))],
            "name": [r.name for r in layout.roads],
            "road_class": [r.road_class for r in layout.roads],
        }
    )
    return out


def generate(seed: int = DEFAULT_SEED) -> DemoTown:
    """Generate the demo town.

    Parameters
    ----------
    seed : int
        Seed of the random generator used throughout (and, mixed with a constant, of the
        entrances' own one); the same seed gives the same town.

    Returns
    -------
    DemoTown
    """
    rng = np.random.default_rng(seed)
    layout = _layout(rng)
    cells, mixture = _cells(layout, rng)
    n_villages, n_grids = len(layout.centres), len(cells.village_of_grid)
    polys = {
        "villages": cells.polygons(cells.village_of_atom, n_villages),
        "grids": cells.polygons(cells.grid_of_atom, n_grids),
        "towns": cells.polygons(cells.town_of_village[cells.village_of_atom], 2),
        "beats": cells.beat_polygons(N_BEATS),
        "stations": cells.polygons(np.zeros(len(cells.atoms), dtype=int), 1),
    }
    placer, compounds, offices, xy, compound = _place(layout, cells, polys, mixture, rng)

    counts = np.bincount(cells.village_of_atom[cells.atom_at(xy)], minlength=n_villages)
    village_names = name_villages(cells, layout.centres, counts, rng)
    tables = {
        "villages": village_table(cells, village_names, polys["villages"]),
        "towns": town_table(),
        "stations": station_table(),
        "beats": beat_table(polys["beats"]),
    }
    tables["grids"] = grid_table(cells, tables["villages"], polys["grids"])
    house = _houses(layout, cells, xy, compound, village_names, tables["villages"], rng)

    # Cell sums: a house counts for every cell that covers it (two beats in the overlap, none in
    # the gap).
    atom = house["atom"].to_numpy()
    every = np.arange(len(house))
    labels = {
        "villages": cells.village_of_atom[atom],
        "grids": cells.grid_of_atom[atom],
        "towns": cells.town_of_village[cells.village_of_atom[atom]],
        "stations": np.zeros(len(house), dtype=int),
    }
    for layer, label in labels.items():
        sums = _sums(label, house, every, len(tables[layer]))
        tables[layer] = pd.concat([tables[layer], sums], axis=1)
    covering = cells.beats_of_atom()
    pairs = np.array([(b, h) for h, a in enumerate(atom) for b in covering[a]])
    tables["beats"] = pd.concat(
        [tables["beats"], _sums(pairs[:, 0], house, pairs[:, 1], N_BEATS)], axis=1
    )
    compounds["id"] = [f"C{k + 1:02d}" for k in range(len(compounds))]
    compounds["village_id"] = tables["villages"]["id"].iloc[0]
    compounds["households"] = [
        int(house.loc[house["compound_id"] == c, "households"].sum()) for c in compounds["id"]
    ]

    # Point features.
    def market(m: int) -> np.ndarray:
        return layout.centres[0] + rng.normal(0.0, 60.0, (m, 2))

    def village_at(p: np.ndarray) -> np.ndarray:
        return cells.village_of_atom[cells.atom_at(p)]

    def is_clear(p: np.ndarray) -> np.ndarray:
        return placer.clear(p, check_roads=False, check_no_go=False)

    market_xy = draw_clear(placer, market, 1, check_no_go=False)[0]
    roads = _name_roads(layout, cells, village_names, tables["villages"]["code"].tolist())
    patrol = place_patrol_points(
        placer, layout.centres[:2], layout.centres, village_names, village_at, layout.roads, rng
    )
    patrol.loc[patrol["name"] == names.MARKET_NAME, ["x", "y"]] = market_xy
    cameras = place_cameras(placer, layout.roads, layout.centres[:2], rng)
    # Entrances draw from their own generator: the main one's sequence stays as it was.
    entrances = place_entrances(compounds, shapely.union_all([r.line for r in layout.roads]),
                                is_clear, entrance_rng(seed))
    incidents = make_incidents(house, layout.roads, market_xy, village_names, is_clear, rng)

    # People.
    beat_ids = tables["beats"]["id"].to_numpy()
    shares = cells.beat_shares(N_BEATS)
    main_beat = {
        g: beat_ids[int(np.argmax(s))] for g, s in zip(tables["grids"]["id"], shares, strict=True)
    }
    office_atoms = cells.atom_at(offices[["x", "y"]].to_numpy())
    office_of_beat = {
        beat_ids[b]: oid
        for oid, a in zip(offices["id"], office_atoms, strict=True)
        for b in covering[a]
    }
    nearest = {
        beat_ids[b]: offices["id"].iloc[int(np.argmin(shapely.distance(poly, _points(offices))))]
        for b, poly in enumerate(polys["beats"])
    }
    people = make_people(
        tables["beats"].sort_values("id"),
        tables["grids"].sort_values("id"),
        tables["villages"].sort_values("id"),
        office_of_beat,
        nearest,
        main_beat,
        rng,
    )

    expected = findings(seed, cells, tables, house, incidents, market_xy, to_geographic)
    geoms = {
        **polys,
        "offices": _points(offices),
        "houses": _points(house),
        "compounds": [as_multipolygon(p) for p in compounds["geometry"]],
        "roads": [r.line for r in layout.roads],
        "incidents": _points(incidents),
        "patrol_points": _points(patrol),
        "cameras": _points(cameras),
        "compound_entrances": _points(entrances),
    }
    frames = {
        **tables,
        "offices": offices,
        "houses": house,
        "compounds": compounds,
        "roads": roads,
        "incidents": incidents,
        "patrol_points": patrol,
        "cameras": cameras,
        "compound_entrances": entrances,
    }
    return DemoTown(
        **{layer: frame(frames[layer], geoms[layer], layer) for layer in LAYERS},
        people=people.sort_values("id", kind="stable").reset_index(drop=True),
        expected_findings=expected,
    )
